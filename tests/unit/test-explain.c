/* SPDX-License-Identifier: MIT */
/* tests/unit/test-explain.c: the promise table read backwards (which promise allows a call)
 * agrees with the filters the same table compiles to.
 *
 * For every rule of the table: a call that satisfies the rule is attributed to the rule's own
 * promise; the promise learning would choose for it is one whose compiled filter lets the call
 * through; and the filter of every promise the reverse map does not name refuses it. The
 * compiled programs are run by a small classic-BPF interpreter here, on the same seccomp_data
 * the kernel would give them, so nothing is loaded and no privilege is needed. Random calls
 * then compare the reverse map with every single-promise filter, and the listener filters
 * (SECCOMP_COMPILE_NOTIFY) are checked to let every allowed call pass without a notification. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "explain.h"
#include "macro.h"
#include "promises.h"
#include "seccomp-program.h"
#include "tap.h"

#define ALL_PROMISES (PROMISE_BIT(_PROMISE_MAX) - 1)

/* ---- a classic BPF interpreter (the subset seccomp accepts) ---- */
static uint32_t bpf_run(const SeccompProgram *p, const struct seccomp_data *d) {
        uint32_t A = 0, X = 0, M[BPF_MEMWORDS] = {};
        const uint8_t *data = (const uint8_t *) d;
        for (size_t pc = 0; pc < p->len; pc++) {
                const struct sock_filter *f = &p->insns[pc];
                uint32_t k = f->k;
                switch (BPF_CLASS(f->code)) {
                case BPF_LD:
                        if (BPF_MODE(f->code) == BPF_ABS && BPF_SIZE(f->code) == BPF_W && k + 4 <= sizeof(*d))
                                memcpy(&A, data + k, 4);
                        else if (BPF_MODE(f->code) == BPF_IMM)
                                A = k;
                        else if (BPF_MODE(f->code) == BPF_MEM && k < BPF_MEMWORDS)
                                A = M[k];
                        else if (BPF_MODE(f->code) == BPF_LEN)
                                A = sizeof(*d);
                        else
                                return 0xdeadbeef;
                        break;
                case BPF_LDX:
                        if (BPF_MODE(f->code) == BPF_IMM)
                                X = k;
                        else if (BPF_MODE(f->code) == BPF_MEM && k < BPF_MEMWORDS)
                                X = M[k];
                        else if (BPF_MODE(f->code) == BPF_LEN)
                                X = sizeof(*d);
                        else
                                return 0xdeadbeef;
                        break;
                case BPF_ST:
                        if (k >= BPF_MEMWORDS)
                                return 0xdeadbeef;
                        M[k] = A;
                        break;
                case BPF_STX:
                        if (k >= BPF_MEMWORDS)
                                return 0xdeadbeef;
                        M[k] = X;
                        break;
                case BPF_ALU: {
                        uint32_t v = BPF_SRC(f->code) == BPF_X ? X : k;
                        switch (BPF_OP(f->code)) {
                        case BPF_ADD: A += v; break;
                        case BPF_SUB: A -= v; break;
                        case BPF_MUL: A *= v; break;
                        case BPF_DIV: A = v ? A / v : 0; break;
                        case BPF_MOD: A = v ? A % v : 0; break;
                        case BPF_AND: A &= v; break;
                        case BPF_OR: A |= v; break;
                        case BPF_XOR: A ^= v; break;
                        case BPF_LSH: A <<= (v & 31); break;
                        case BPF_RSH: A >>= (v & 31); break;
                        case BPF_NEG: A = -A; break;
                        default: return 0xdeadbeef;
                        }
                        break;
                }
                case BPF_JMP: {
                        uint32_t v = BPF_SRC(f->code) == BPF_X ? X : k;
                        bool t;
                        switch (BPF_OP(f->code)) {
                        case BPF_JA: pc += k; continue;
                        case BPF_JEQ: t = A == v; break;
                        case BPF_JGT: t = A > v; break;
                        case BPF_JGE: t = A >= v; break;
                        case BPF_JSET: t = (A & v) != 0; break;
                        default: return 0xdeadbeef;
                        }
                        pc += t ? f->jt : f->jf;
                        break;
                }
                case BPF_RET:
                        return BPF_RVAL(f->code) == BPF_A ? A : k;
                case BPF_MISC:
                        if (BPF_MISCOP(f->code) == BPF_TAX)
                                X = A;
                        else
                                A = X;
                        break;
                default:
                        return 0xdeadbeef;
                }
        }
        return 0xdeadbeef; /* fell off the end */
}

/* ---- compiled programs, cached by (promises, flags) ---- */
static struct {
        uint64_t promises;
        unsigned flags;
        SeccompProgram prog;
} cache[256];
static size_t n_cache;

static const SeccompProgram *program(uint64_t promises, unsigned flags) {
        for (size_t i = 0; i < n_cache; i++)
                if (cache[i].promises == promises && cache[i].flags == flags)
                        return &cache[i].prog;
        if (n_cache == 256)
                abort();
        SbxError err = {};
        if (seccomp_compile_promises(promises, flags, &cache[n_cache].prog, &err) < 0) {
                printf("# compile 0x%llx/%u: %s\n", (unsigned long long) promises, flags, err.msg);
                abort();
        }
        cache[n_cache].promises = promises;
        cache[n_cache].flags = flags;
        return &cache[n_cache++].prog;
}

static bool allows(uint64_t promises, unsigned flags, const struct seccomp_data *d) {
        return bpf_run(program(promises, flags), d) == SECCOMP_RET_ALLOW;
}

/* A call that satisfies every comparison of the rule (false if none can). */
static bool witness(const SeccompRule *r, struct seccomp_data *d) {
        *d = (struct seccomp_data) { .nr = r->nr, .arch = AUDIT_ARCH_X86_64 };
        for (unsigned i = 0; i < r->n_cmp; i++) {
                const SeccompCmp *c = &r->cmp[i];
                uint64_t *v = (uint64_t *) &d->args[c->arg];
                switch (c->op) {
                case SECCOMP_CMP_EQ:
                case SECCOMP_CMP_LE:
                case SECCOMP_CMP_GE:
                        *v = c->a;
                        break;
                case SECCOMP_CMP_LT:
                        if (c->a == 0)
                                return false;
                        *v = c->a - 1;
                        break;
                case SECCOMP_CMP_GT:
                        *v = c->a + 1;
                        break;
                case SECCOMP_CMP_NE:
                        *v = c->a + 1;
                        break;
                case SECCOMP_CMP_MASKED_EQ:
                        *v = (*v & ~c->a) | c->b;
                        break;
                default:
                        return false;
                }
        }
        return seccomp_rule_matches(r, d, SECCOMP_PID_PLACEHOLDER);
}

static const char *src_name(unsigned s) {
        static const char *const pseudo[] = { "always", "allow_exec", "launch", "confirm", "no_mptcp", "supervise" };
        return s < _PROMISE_MAX ? promise_to_string(s) : pseudo[s - _PROMISE_MAX];
}

static unsigned flag_of(unsigned source) {
        switch (source) {
        case SECCOMP_SOURCE_ALLOW_EXEC:
                return SECCOMP_COMPILE_ALLOW_EXEC;
        case SECCOMP_SOURCE_LAUNCH:
                return SECCOMP_COMPILE_LAUNCH;
        case SECCOMP_SOURCE_CONFIRM:
                return SECCOMP_COMPILE_CONFIRM;
        case SECCOMP_SOURCE_NO_MPTCP:
                return SECCOMP_COMPILE_NO_MPTCP;
        default:
                return 0;
        }
}

/* Every rule: its witness is attributed to its promise, learned as a promise whose filter lets it
 * through, and refused by the filter of all the promises the reverse map leaves out. */
static void walk_rules(void) {
        size_t n;
        const SeccompRule *rules = seccomp_rules_all(&n);
        unsigned bad_attr = 0, bad_learn = 0, bad_compile = 0, bad_rest = 0, checked = 0, skipped = 0;
        unsigned per_source[_SECCOMP_SOURCE_MAX] = {};

        tap_ok(n > 500 && n < SECCOMP_RULES_MAX, "the table has %zu rules (room for %d)", n, SECCOMP_RULES_MAX);
        for (size_t i = 0; i < n; i++) {
                const SeccompRule *r = &rules[i];
                struct seccomp_data d;
                char name[32];
                if (!witness(r, &d)) {
                        skipped++;
                        continue;
                }
                per_source[r->source]++;
                uint64_t sources = seccomp_sources_allowing(&d, SECCOMP_PID_PLACEHOLDER);
                if (r->action != SCMP_ACT_ALLOW) {
                        /* ENOSYS / EPROTONOSUPPORT rules: what no promise overrides */
                        bool ok = bpf_run(program(r->source < _PROMISE_MAX ? PROMISE_BIT(r->source) : 0,
                                                  flag_of(r->source)),
                                          &d) == (SECCOMP_RET_ERRNO | (r->action & 0xffff));
                        if (!ok) {
                                bad_compile++;
                                printf("# %s rule %zu (%s): the compiled filter does not answer %u\n",
                                       src_name(r->source), i, explain_syscall_name(r->nr, name), r->action & 0xffff);
                        }
                        checked++;
                        continue;
                }
                if (!(sources & SECCOMP_SOURCE_BIT(r->source))) {
                        bad_attr++;
                        printf("# rule %zu (%s of %s): its witness is not attributed to it\n", i,
                               explain_syscall_name(r->nr, name), src_name(r->source));
                }
                if (r->source >= _PROMISE_MAX) {
                        /* a flag's rule: the flag's filter compiles it */
                        if (r->source != SECCOMP_SOURCE_ALWAYS && !allows(0, flag_of(r->source), &d)) {
                                bad_compile++;
                                printf("# rule %zu (%s of %s): not in the compiled filter\n", i,
                                       explain_syscall_name(r->nr, name), src_name(r->source));
                        }
                        checked++;
                        continue;
                }
                uint64_t m = sources & ALL_PROMISES;
                uint64_t learned = explain_minimal(&m, 1, 0);
                bool one = __builtin_popcountll(learned) == 1 && (learned & m);
                if (!one || (__builtin_popcountll(m) == 1 && learned != PROMISE_BIT(r->source))) {
                        bad_learn++;
                        printf("# rule %zu (%s of %s): learned 0x%llx from 0x%llx\n", i, explain_syscall_name(r->nr, name),
                               src_name(r->source), (unsigned long long) learned, (unsigned long long) m);
                }
                if (!allows(PROMISE_BIT(r->source), 0, &d) || !allows(learned, 0, &d)) {
                        bad_compile++;
                        printf("# rule %zu (%s of %s): the filter of its promise or of the learned one refuses it\n", i,
                               explain_syscall_name(r->nr, name), src_name(r->source));
                }
                if (allows(ALL_PROMISES & ~m, 0, &d)) {
                        bad_rest++;
                        printf("# rule %zu (%s of %s): a promise outside 0x%llx allows it too\n", i,
                               explain_syscall_name(r->nr, name), src_name(r->source), (unsigned long long) m);
                }
                checked++;
        }
        tap_ok(bad_attr == 0, "every rule's call is attributed to the rule's own promise (%u rules, %u failed)",
               checked, bad_attr);
        tap_ok(bad_learn == 0, "the learned promise for every rule is the rule's, or one of several that allow it "
               "(%u failed)", bad_learn);
        tap_ok(bad_compile == 0, "the learned promise's compiled filter lets every rule's call through (%u failed)",
               bad_compile);
        tap_ok(bad_rest == 0, "the filter of the promises the reverse map leaves out refuses every rule's call "
               "(%u failed)", bad_rest);
        tap_ok(skipped == 0, "every rule can be satisfied (%u cannot)", skipped);
        for (unsigned s = 0; s < _PROMISE_MAX; s++)
                if (s != PROMISE_THREAD)
                        tap_ok(per_source[s] > 0, "promise '%s' has rules in the table (%u)", src_name(s), per_source[s]);
}

/* A random 64-bit value, biased towards the constants the rules compare with. */
static uint64_t rnd(void) {
        return ((uint64_t) random() << 33) ^ ((uint64_t) random() << 2) ^ (uint64_t) random();
}

static void random_calls(void) {
        size_t n;
        const SeccompRule *rules = seccomp_rules_all(&n);
        unsigned mismatch = 0, notified = 0, calls = 0;
        srandom(1234);

        for (unsigned iter = 0; iter < 20000; iter++) {
                const SeccompRule *r = &rules[(size_t) random() % n];
                struct seccomp_data d = { .nr = r->nr, .arch = AUDIT_ARCH_X86_64 };
                if (r->nr == __NR_exit || r->nr == __NR_arch_prctl)
                        continue;
                for (int a = 0; a < 6; a++) {
                        const SeccompRule *o = &rules[(size_t) random() % n];
                        switch (random() % 4) {
                        case 0:
                                d.args[a] = o->n_cmp ? o->cmp[0].a : 0;
                                break;
                        case 1:
                                d.args[a] = o->n_cmp ? (o->cmp[0].b | (rnd() & ~o->cmp[0].a)) : 1;
                                break;
                        case 2:
                                d.args[a] = rnd() & 0xffff;
                                break;
                        default:
                                d.args[a] = rnd();
                                break;
                        }
                }
                if (random() % 2 && r->n_cmp)
                        (void) witness(r, &d);
                calls++;
                uint64_t m = seccomp_sources_allowing(&d, SECCOMP_PID_PLACEHOLDER) & ALL_PROMISES;
                for (unsigned p = 0; p < _PROMISE_MAX; p++) {
                        bool says = m & PROMISE_BIT(p), compiled = allows(PROMISE_BIT(p), 0, &d);
                        if (says != compiled && mismatch++ < 10) {
                                char name[32];
                                printf("# %s(0x%llx, 0x%llx, 0x%llx, 0x%llx): '%s' reverse map %d, filter %d\n",
                                       explain_syscall_name((int) d.nr, name), (unsigned long long) d.args[0],
                                       (unsigned long long) d.args[1], (unsigned long long) d.args[2],
                                       (unsigned long long) d.args[3], promise_to_string(p), says, compiled);
                        }
                }
                /* The listener filter of a promise set: what the set allows passes, never notified. */
                static const uint64_t sets[] = {
                        PROMISE_BIT(PROMISE_STDIO),
                        PROMISE_BIT(PROMISE_STDIO) | PROMISE_BIT(PROMISE_RPATH),
                        PROMISE_BIT(PROMISE_STDIO) | PROMISE_BIT(PROMISE_RPATH) | PROMISE_BIT(PROMISE_INET) |
                                PROMISE_BIT(PROMISE_DNS),
                        0,
                };
                for (size_t s = 0; s < ELEMENTSOF(sets); s++) {
                        uint32_t ret = bpf_run(program(sets[s], SECCOMP_COMPILE_NOTIFY | SECCOMP_COMPILE_NOTIFY_EXEC), &d);
                        bool allowed = (m & sets[s]) != 0;
                        bool ok = allowed ? ret == SECCOMP_RET_ALLOW
                                          : (ret == SECCOMP_RET_USER_NOTIF || (ret & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_ERRNO);
                        if (!ok && notified++ < 10)
                                printf("# listener filter 0x%llx: nr %u -> 0x%x, promises allow: %d\n",
                                       (unsigned long long) sets[s], d.nr, ret, allowed);
                }
        }
        tap_ok(mismatch == 0, "%u random calls: the reverse map and every single-promise filter agree (%u mismatches)",
               calls, mismatch);
        tap_ok(notified == 0, "... and a listener filter lets what its promises allow pass, notifies the rest (%u wrong)",
               notified);
}

static void notify_filters(void) {
        struct seccomp_data d = { .arch = AUDIT_ARCH_X86_64 };
        const uint64_t S = PROMISE_BIT(PROMISE_STDIO);

        d.nr = __NR_getpid;
        tap_ok(allows(S, SECCOMP_COMPILE_NOTIFY | SECCOMP_COMPILE_NOTIFY_EXEC, &d), "listener filter 'stdio': getpid passes");
        d.nr = __NR_execve;
        tap_ok(bpf_run(program(S, SECCOMP_COMPILE_NOTIFY | SECCOMP_COMPILE_NOTIFY_EXEC), &d) == SECCOMP_RET_USER_NOTIF,
               "listener filter 'stdio': execve is notified (exec-once)");
        tap_ok(allows(S | PROMISE_BIT(PROMISE_EXEC), SECCOMP_COMPILE_NOTIFY, &d),
               "listener filter 'stdio exec': execve passes");
        d.nr = __NR_listen;
        uint64_t SI = S | PROMISE_BIT(PROMISE_INET);
        tap_ok(allows(SI, SECCOMP_COMPILE_NOTIFY, &d), "listener filter 'stdio inet': listen passes");
        tap_ok(bpf_run(program(SI, SECCOMP_COMPILE_NOTIFY | SECCOMP_COMPILE_NOTIFY_LISTEN), &d) == SECCOMP_RET_USER_NOTIF,
               "... with TCP bind rules, listen is notified");
        d.nr = __NR_prctl;
        d.args[0] = SECCOMP_CONFIRM_OPTION;
        d.args[1] = SECCOMP_CONFIRM_MAGIC;
        tap_ok(bpf_run(program(S, SECCOMP_COMPILE_NOTIFY | SECCOMP_COMPILE_CONFIRM), &d) == SECCOMP_RET_USER_NOTIF,
               "listener filter: the confirmation is notified");
        d.nr = __NR_clone3;
        tap_ok(bpf_run(program(S, SECCOMP_COMPILE_NOTIFY), &d) == (SECCOMP_RET_ERRNO | ENOSYS),
               "listener filter: clone3 is ENOSYS (not notified)");
        d.nr = 460;
        tap_ok(bpf_run(program(S, SECCOMP_COMPILE_NOTIFY), &d) == (SECCOMP_RET_ERRNO | ENOSYS),
               "listener filter: a syscall numbered 460 is ENOSYS (the prologue)");
        d.nr = __NR_getpid;
        d.arch = AUDIT_ARCH_I386;
        tap_ok(bpf_run(program(S, SECCOMP_COMPILE_NOTIFY), &d) == SECCOMP_RET_KILL_PROCESS,
               "listener filter: a foreign architecture is killed");
}

static uint64_t parse(const char *s) {
        uint64_t m = 0;
        SbxError err = {};
        if (promises_parse(s, &m, &err) < 0)
                abort();
        return m;
}

static void minimal(void) {
        char *t;
        uint64_t c1[] = { parse("stdio"), parse("rpath wpath dns"), parse("rpath dns") };
        t = promises_format(explain_minimal(c1, ELEMENTSOF(c1), 0));
        TAP_EQ_STR(t, "stdio rpath", "stdio + newfstatat(path) + open(O_RDONLY): 'stdio rpath'");
        free(t);
        /* curl: socket(INET, STREAM) {inet anet dns}, connect {inet unix dns}, getsockname {inet anet unix} */
        uint64_t c2[] = { parse("stdio"), parse("inet anet dns"), parse("inet unix dns"), parse("inet anet unix") };
        t = promises_format(explain_minimal(c2, ELEMENTSOF(c2), 0));
        TAP_EQ_STR(t, "stdio inet", "an HTTP client's sockets: 'inet' alone, not 'anet unix dns'");
        free(t);
        /* curl reads files too: open {rpath dns}; 'rpath inet', not 'unix dns' (dns opens files
         * and connects anywhere; unix is no network client) */
        uint64_t c2b[] = { parse("stdio"), parse("rpath dns"), parse("inet anet dns"), parse("inet unix dns"),
                           parse("inet anet unix") };
        t = promises_format(explain_minimal(c2b, ELEMENTSOF(c2b), 0));
        TAP_EQ_STR(t, "stdio rpath inet", "an HTTP client that reads files: 'rpath inet'");
        free(t);
        /* a TCP server reading files: 'rpath anet' (anet has no connect, no UDP) */
        uint64_t c2c[] = { parse("rpath dns"), parse("inet anet dns"), parse("inet anet unix") };
        t = promises_format(explain_minimal(c2c, ELEMENTSOF(c2c), 0));
        TAP_EQ_STR(t, "rpath anet", "a TCP server that reads files: 'rpath anet'");
        free(t);
        /* a DNS client: socket(INET, DGRAM) {inet dns}, connect {inet unix dns} */
        uint64_t c3[] = { parse("stdio"), parse("inet dns"), parse("inet unix dns") };
        t = promises_format(explain_minimal(c3, ELEMENTSOF(c3), 0));
        TAP_EQ_STR(t, "stdio dns", "a DNS client: 'dns', the narrower of the two");
        free(t);
        /* lstat {rpath tmppath} and unlink {cpath tmppath}: tmppath alone */
        uint64_t c4[] = { parse("rpath tmppath"), parse("cpath tmppath") };
        t = promises_format(explain_minimal(c4, ELEMENTSOF(c4), 0));
        TAP_EQ_STR(t, "tmppath", "lstat + unlink: 'tmppath' (one promise beats two)");
        free(t);
        uint64_t c5[] = { 0, parse("stdio") };
        t = promises_format(explain_minimal(c5, ELEMENTSOF(c5), parse("prot_exec")));
        TAP_EQ_STR(t, "stdio prot_exec", "a call no promise allows is no constraint; forced promises stay");
        free(t);
        TAP_EQ_INT(explain_pick(parse("inet dns")), PROMISE_DNS, "pick: dns before inet");
        TAP_EQ_INT(explain_pick(parse("cpath tmppath")), PROMISE_TMPPATH, "pick: tmppath before cpath");
        TAP_EQ_INT(explain_pick(0), -1, "pick: nothing from nothing");
}

static void words(void) {
        InitNote n = { .type = INIT_MSG_NOTE, .kind = NOTE_DENIED, .pid = 7, .nr = __NR_openat };
        char buf[512];
        n.args[2] = 01; /* O_WRONLY */
        snprintf(n.comm, sizeof(n.comm), "python3");
        struct seccomp_data d = { .nr = __NR_openat, .arch = AUDIT_ARCH_X86_64 };
        memcpy(d.args, n.args, sizeof(d.args));
        n.sources = seccomp_sources_allowing(&d, 7);
        explain_note(&n, buf, sizeof(buf));
        TAP_EQ_STR(buf, "python3[7]: openat(flags O_WRONLY): refused, needs promise 'wpath'",
                   "a write without wpath names wpath");
        n.nr = __NR_mount;
        d.nr = __NR_mount;
        n.sources = seccomp_sources_allowing(&d, 7);
        n.dropped = 3;
        explain_note(&n, buf, sizeof(buf));
        TAP_EQ_STR(buf, "python3[7]: mount: refused, no promise allows it (3 more refusals not reported)",
                   "mount: no promise allows it, and what was dropped");
        n.nr = __NR_newfstatat;
        n.dropped = 0;
        d.nr = __NR_newfstatat;
        memset(d.args, 0, sizeof(d.args));
        memset(n.args, 0, sizeof(n.args));
        n.sources = seccomp_sources_allowing(&d, 7);
        explain_note(&n, buf, sizeof(buf));
        TAP_EQ_STR(buf, "python3[7]: newfstatat(flags 0x0): refused, needs one of the promises 'rpath' 'wpath' 'dns'",
                   "stat(path): one of rpath wpath dns, narrowest first");
        snprintf(n.comm, sizeof(n.comm), "\x1b]0;x\x07\xff");
        explain_note(&n, buf, sizeof(buf));
        tap_ok(strncmp(buf, "?]0;x??[7]: ", 12) == 0, "a process name's control characters and bytes >= 0x7f are not passed on (%s)", buf);
        d.nr = __NR_kill;
        d.args[0] = 7;
        tap_ok(seccomp_sources_allowing(&d, 7) & PROMISE_BIT(PROMISE_STDIO), "kill(own pid) is stdio's (the pid placeholder)");
        d.args[0] = 8;
        tap_ok(!(seccomp_sources_allowing(&d, 7) & PROMISE_BIT(PROMISE_STDIO)), "kill(another pid) is not stdio's");
        tap_ok(seccomp_sources_allowing(&d, 7) & PROMISE_BIT(PROMISE_PROC), "... but proc's");
}

int main(void) {
        walk_rules();
        random_calls();
        notify_filters();
        minimal();
        words();
        for (size_t i = 0; i < n_cache; i++)
                seccomp_program_done(&cache[i].prog);
        return tap_done();
}
