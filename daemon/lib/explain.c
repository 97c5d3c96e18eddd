/* SPDX-License-Identifier: MIT */
/* daemon/lib/explain.c: see explain.h. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "explain.h"
#include "macro.h"
#include "promises.h"
#include "seccomp-program.h"

const char *explain_syscall_name(int nr, char buf[static 32]) {
        char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
        if (name && strlen(name) < 32)
                snprintf(buf, 32, "%s", name);
        else
                snprintf(buf, 32, "syscall %d", nr);
        free(name);
        return buf;
}

static const char *family_name(uint64_t f) {
        switch (f) {
        case AF_UNIX:
                return "AF_UNIX";
        case AF_INET:
                return "AF_INET";
        case AF_INET6:
                return "AF_INET6";
        case AF_NETLINK:
                return "AF_NETLINK";
        case AF_PACKET:
                return "AF_PACKET";
        default:
                return NULL;
        }
}

static void open_flags(uint64_t f, char *buf, size_t size) {
        const char *acc = (f & O_ACCMODE) == O_RDONLY ? "O_RDONLY" : (f & O_ACCMODE) == O_WRONLY ? "O_WRONLY" : "O_RDWR";
        snprintf(buf, size, "%s%s%s%s", acc, (f & O_CREAT) ? "|O_CREAT" : "", (f & O_TRUNC) ? "|O_TRUNC" : "",
                 (f & 020000000) ? "|O_TMPFILE" : "");
}

void explain_call(int nr, const uint64_t args[6], char *buf, size_t size) {
        char name[32], fl[64];
        explain_syscall_name(nr, name);

        switch (nr) {
        case __NR_open:
                open_flags(args[1], fl, sizeof(fl));
                snprintf(buf, size, "%s(flags %s)", name, fl);
                break;
        case __NR_openat:
                open_flags(args[2], fl, sizeof(fl));
                snprintf(buf, size, "%s(flags %s)", name, fl);
                break;
        case __NR_socket: {
                const char *fam = family_name(args[0]);
                uint64_t type = args[1] & ~(uint64_t) (SOCK_CLOEXEC | SOCK_NONBLOCK);
                const char *t = type == SOCK_STREAM ? "SOCK_STREAM" : type == SOCK_DGRAM ? "SOCK_DGRAM"
                                : type == SOCK_RAW                        ? "SOCK_RAW"
                                : type == SOCK_SEQPACKET                  ? "SOCK_SEQPACKET"
                                                                          : NULL;
                char fb[24], tb[24];
                snprintf(fb, sizeof(fb), "%" PRIu64, args[0]);
                snprintf(tb, sizeof(tb), "%" PRIu64, type);
                snprintf(buf, size, "%s(%s, %s, %" PRIu64 ")", name, fam ?: fb, t ?: tb, args[2]);
                break;
        }
        case __NR_ioctl:
                snprintf(buf, size, "%s(request 0x%" PRIx64 ")", name, args[1]);
                break;
        case __NR_fcntl:
                snprintf(buf, size, "%s(cmd %" PRIu64 ")", name, args[1]);
                break;
        case __NR_prctl:
                snprintf(buf, size, "%s(option %" PRIu64 ")", name, args[0]);
                break;
        case __NR_mmap:
        case __NR_mprotect:
                snprintf(buf, size, "%s(prot %s%s%s)", name, (args[2] & PROT_READ) ? "R" : "",
                         (args[2] & PROT_WRITE) ? "W" : "", (args[2] & PROT_EXEC) ? "X" : "");
                break;
        case __NR_clone:
                snprintf(buf, size, "%s(flags 0x%" PRIx64 ")", name, args[0]);
                break;
        case __NR_kill:
        case __NR_tgkill:
                snprintf(buf, size, "%s(pid %" PRId64 ")", name, (int64_t) args[0]);
                break;
        case __NR_setsockopt:
        case __NR_getsockopt:
                snprintf(buf, size, "%s(level %" PRIu64 ", option %" PRIu64 ")", name, args[1], args[2]);
                break;
        case __NR_sendto:
                snprintf(buf, size, "%s(%s)", name, args[4] ? "to an address" : "connected");
                break;
        case __NR_newfstatat:
                snprintf(buf, size, "%s(flags 0x%" PRIx64 ")", name, args[3]);
                break;
        case __NR_prlimit64:
                snprintf(buf, size, "%s(%s)", name, args[2] ? "set" : "get");
                break;
        default:
                snprintf(buf, size, "%s", name);
                break;
        }
}

/* What each promise gives away, roughly: how many calls, and how far they reach (a network
 * client beyond a file reader, dns beyond rpath since it also opens files, inet beyond anet and
 * dns). Learning picks the set that costs least; a call several promises allow is explained
 * with the cheapest first. thread grants nothing, and is never needed. */
static const unsigned weight[_PROMISE_MAX] = {
        [PROMISE_STDIO] = 1,  [PROMISE_VMINFO] = 1, [PROMISE_TMPPATH] = 2, [PROMISE_RECVFD] = 2,
        [PROMISE_SENDFD] = 2, [PROMISE_FLOCK] = 2,  [PROMISE_RPATH] = 3,   [PROMISE_FATTR] = 3,
        [PROMISE_TTY] = 3,    [PROMISE_WPATH] = 4,  [PROMISE_DPATH] = 4,   [PROMISE_CHOWN] = 4,
        [PROMISE_CPATH] = 5,  [PROMISE_UNVEIL] = 6, [PROMISE_UNIX] = 8,    [PROMISE_ANET] = 8,
        [PROMISE_DNS] = 9,    [PROMISE_INET] = 10,  [PROMISE_PROC] = 10,   [PROMISE_ID] = 10,
        [PROMISE_PROT_EXEC] = 10, [PROMISE_EXEC] = 12, [PROMISE_SETTIME] = 12, [PROMISE_THREAD] = 50,
};

/* The promises by weight, lightest first (ties: in enum order). */
static void preference(Promise out[static _PROMISE_MAX]) {
        for (int p = 0; p < _PROMISE_MAX; p++)
                out[p] = p;
        for (int i = 1; i < _PROMISE_MAX; i++)
                for (int j = i; j > 0 && weight[out[j - 1]] > weight[out[j]]; j--) {
                        Promise t = out[j];
                        out[j] = out[j - 1];
                        out[j - 1] = t;
                }
}

int explain_pick(uint64_t mask) {
        Promise order[_PROMISE_MAX];
        preference(order);
        for (size_t i = 0; i < _PROMISE_MAX; i++)
                if (mask & PROMISE_BIT(order[i]))
                        return order[i];
        return -1;
}

/* Lower is better: the weight of the set, then fewer promises. */
static uint64_t cost(uint64_t set) {
        uint64_t w = 0;
        for (int p = 0; p < _PROMISE_MAX; p++)
                if (set & PROMISE_BIT(p))
                        w += weight[p];
        return (w << 8) | (uint64_t) __builtin_popcountll(set);
}

uint64_t explain_minimal(const uint64_t *constraints, size_t n, uint64_t forced) {
        uint64_t chosen = forced, open_union = 0;
        uint64_t open[256];
        size_t n_open = 0;

        /* A call only one promise allows decides that promise. */
        for (size_t i = 0; i < n; i++)
                if (constraints[i] && __builtin_popcountll(constraints[i]) == 1)
                        chosen |= constraints[i];
        /* The rest: each distinct one not met yet. */
        for (size_t i = 0; i < n; i++) {
                uint64_t c = constraints[i];
                if (!c || (c & chosen))
                        continue;
                bool dup = false;
                for (size_t k = 0; k < n_open && !dup; k++)
                        dup = open[k] == c;
                if (dup)
                        continue;
                if (n_open == ELEMENTSOF(open)) {
                        /* More distinct choices than we search exactly: greedily. */
                        chosen |= PROMISE_BIT(explain_pick(c));
                        continue;
                }
                open[n_open++] = c;
                open_union |= c;
        }
        if (n_open == 0)
                return chosen;

        /* Exact search over subsets of the promises the open constraints name (a handful). */
        Promise order[_PROMISE_MAX];
        int cand[_PROMISE_MAX], n_cand = 0;
        preference(order);
        for (size_t i = 0; i < _PROMISE_MAX; i++)
                if (open_union & PROMISE_BIT(order[i]))
                        cand[n_cand++] = order[i];
        if (n_cand > 16) {
                for (size_t k = 0; k < n_open; k++)
                        if (!(open[k] & chosen))
                                chosen |= PROMISE_BIT(explain_pick(open[k]));
                return chosen;
        }
        uint64_t best = 0, best_cost = UINT64_MAX;
        for (uint32_t sub = 1; sub < (UINT32_C(1) << n_cand); sub++) {
                uint64_t set = 0;
                for (int b = 0; b < n_cand; b++)
                        if (sub & (UINT32_C(1) << b))
                                set |= PROMISE_BIT(cand[b]);
                bool ok = true;
                for (size_t k = 0; k < n_open && ok; k++)
                        ok = (open[k] & set) != 0;
                if (ok && cost(set) < best_cost) {
                        best = set;
                        best_cost = cost(set);
                }
        }
        return chosen | best;
}

void explain_note(const InitNote *n, char *buf, size_t size) {
        char call[128], need[256] = "";
        uint64_t m = n->sources & SECCOMP_SOURCES_PROMISES;

        explain_call(n->nr, n->args, call, sizeof(call));
        if (m == 0)
                snprintf(need, sizeof(need), "no promise allows it");
        else if (__builtin_popcountll(m) == 1)
                snprintf(need, sizeof(need), "needs promise '%s'", promise_to_string(explain_pick(m)));
        else {
                Promise order[_PROMISE_MAX];
                preference(order);
                size_t off = (size_t) snprintf(need, sizeof(need), "needs one of the promises");
                for (size_t i = 0; i < _PROMISE_MAX && off < sizeof(need); i++)
                        if (m & PROMISE_BIT(order[i]))
                                off += (size_t) snprintf(need + off, sizeof(need) - off, " '%s'",
                                                         promise_to_string(order[i]));
        }
        /* The name is the task's to choose (PR_SET_NAME): no control characters reach a terminal,
         * the journal or Nomad through it. */
        char comm[sizeof(n->comm)];
        size_t i;
        for (i = 0; i + 1 < sizeof(comm) && n->comm[i]; i++)
                comm[i] = (unsigned char) n->comm[i] < 0x20 || (unsigned char) n->comm[i] >= 0x7f ? '?' : n->comm[i];
        comm[i] = 0;
        int k = snprintf(buf, size, "%s[%d]: %s: refused, %s", comm[0] ? comm : "?", (int) n->pid, call, need);
        if (n->dropped > 0 && k > 0 && (size_t) k < size)
                snprintf(buf + k, size - (size_t) k, " (%u more refusals not reported)", n->dropped);
}
