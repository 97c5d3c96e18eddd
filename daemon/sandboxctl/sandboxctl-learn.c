/* SPDX-License-Identifier: MIT */
/* sandboxctl learn: runs a command in the sandbox `run` builds, with every call its (empty)
 * promises refuse sent to the sandbox's init, which records it and lets it run if any promise
 * would allow it; then prints the job's config block and the policy lines that allow it
 * (docs/learn.md). --verify runs the command again under the suggestion. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "explain.h"
#include "learn.h"
#include "macro.h"
#include "promises.h"
#include "sandboxctl.h"
#include "seccomp-program.h"
#include "util.h"

#define LEARN_FOLD_DEFAULT 4
#define LEARN_MAX_DENIALS 64

typedef enum { PHASE_LEARN, PHASE_VERIFY } Phase;

struct LearnRun {
        Phase phase;
        unsigned timeout_ms;
        bool json, verify, relay;
        LearnOptions opts;
        UnveilList granted;
        Learned learned;
        LearnResult result;
        bool dynamic, exec_stack;
        const char *user;
        NetMode net;
        char **argv;             /* the command as given */
        /* verify */
        InitNote *denials;
        size_t n_denials;
};

static void help(void) {
        printf("Usage: sandboxctl learn [OPTIONS] [RUN OPTIONS] -- COMMAND [ARG]...\n"
               "\n"
               "Runs COMMAND in the sandbox `sandboxctl run` would build (namespaces, user, network)\n"
               "while recording every system call its promises would have to allow, the paths it\n"
               "uses and the TCP ports it binds and connects to, until it exits, Ctrl-C or --timeout;\n"
               "then prints the job's config block (command, args, promises, unveil, tcp_bind,\n"
               "tcp_connect) and the sandboxd.conf lines its driver's policy needs.\n"
               "\n"
               "Options:\n"
               "  --timeout D              stop the command after D (5s, 2m, ...): SIGTERM, then SIGKILL 5s later\n"
               "  --verify                 run it again under the suggestion and say whether it behaves the\n"
               "                           same (exit code, no call refused)\n"
               "  --json                   the suggestion as JSON\n"
               "  --fold N                 a directory with N entries used becomes one rule (default %d;\n"
               "                           0: one rule per path)\n"
               "  --task-dir DIR, --alloc-dir DIR, --secrets-dir DIR   Nomad's directories: written as\n"
               "                           ${NOMAD_TASK_DIR} etc., and set in the command's environment\n"
               "  -h, --help               this help\n"
               "\n"
               "Run options as for `sandboxctl run` (--user, default nobody; --net; --env; --cwd; --mount;\n"
               "--private-tmp; ...), except --promises, --unveil, --tcp-bind, --tcp-connect and --no-landlock,\n"
               "which are what learn finds. The command's output goes to stderr; stdout has the suggestion.\n"
               "\n"
               "Exit status: 0 when a suggestion was printed (with --verify: and it held), 1 when --verify\n"
               "found a difference, 125 if the sandbox could not be built, 2 on bad usage.\n"
               "See docs/learn.md.\n",
               LEARN_FOLD_DEFAULT);
}

/* ---- hooks for run_sandbox ---- */

int learn_check_spec(LearnRun *l, SandboxSpec *s) {
        if (l->phase == PHASE_LEARN) {
                const char *given = s->has_promises ? "--promises"
                                    : s->unveil.n      ? "--unveil"
                                    : s->bind_tcp.set  ? "--tcp-bind"
                                    : s->connect_tcp.set ? "--tcp-connect"
                                    : !s->landlock     ? "--no-landlock"
                                                       : NULL;
                if (given) {
                        error_line("learn: %s: learn finds it (use `sandboxctl run` to try a value)", given);
                        return -EINVAL;
                }
                /* Every call goes to the init, which lets whatever some promise allows run; the
                 * filesystem is not restricted while learning (the paths are what we learn), the
                 * namespaces, the user and the network are those of the real run. */
                s->has_promises = true;
                s->promises = 0;
                s->learn = true;
                s->landlock = false;
        } else {
                s->has_promises = true;
                s->promises = l->result.promises;
                s->explain = true;
                for (size_t i = 0; i < l->result.unveil.n; i++)
                        (void) unveil_list_add(&s->unveil, l->result.unveil.rules[i].path, l->result.unveil.rules[i].perms,
                                               UNVEIL_ORIGIN_USER, NULL);
                s->bind_tcp = l->result.bind;
                s->connect_tcp = l->result.connect;
        }
        /* Nomad's directories: unveiled rwc for its tasks, named in their environment. */
        const char *dirs[] = { l->opts.task_dir, l->opts.alloc_dir, l->opts.secrets_dir };
        const char *vars[] = { "NOMAD_TASK_DIR", "NOMAD_ALLOC_DIR", "NOMAD_SECRETS_DIR" };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                if (dirs[i]) {
                        (void) unveil_list_add(&s->unveil, dirs[i], UNVEIL_R | UNVEIL_W | UNVEIL_C, UNVEIL_ORIGIN_NOMAD, NULL);
                        _cleanup_free_ char *e = xasprintf("%s=%s", vars[i], dirs[i]);
                        (void) spec_env_set(s, e, NULL);
                }
        l->net = s->net;
        return 0;
}

void learn_prepared(LearnRun *l, SandboxSpec *s, const SandboxPrepared *p) {
        if (l->phase != PHASE_LEARN)
                return;
        l->dynamic = p->dynamic;
        l->exec_stack = p->exec_stack;
        /* What the task gets anyway, so no rule of its own is needed: the default set (unless
         * turned off), a private /tmp and /dev/shm, the mounts, Nomad's directories, the launch
         * rules (the program, its loader and libraries, the preload helper). Learning runs
         * without Landlock, and a plan without Landlock lists no rules: these are the ones a
         * plan with Landlock lists, as the real run will get them. */
        _cleanup_(sandbox_prepared_done) SandboxPrepared with = SANDBOX_PREPARED_INIT;
        SbxError err = {};
        s->landlock = true;
        int r = sandbox_plan(s, &with, &err);
        s->landlock = false;
        const UnveilList *g = r >= 0 ? &with.unveil : &p->unveil;
        for (size_t i = 0; i < g->n; i++)
                (void) unveil_list_add(&l->granted, g->rules[i].path, g->rules[i].perms, g->rules[i].origin, NULL);
        (void) unveil_list_add(&l->granted, s->exec_path, UNVEIL_R | UNVEIL_X, UNVEIL_ORIGIN_LAUNCH, NULL);
}

void learn_note(LearnRun *l, const InitNote *n) {
        if (l->phase == PHASE_LEARN) {
                learned_add(&l->learned, n);
                return;
        }
        if (n->kind != NOTE_DENIED)
                return;
        char line[512];
        explain_note(n, line, sizeof(line));
        error_line("verify: %s", line);
        if (l->n_denials < LEARN_MAX_DENIALS) {
                l->denials = xrealloc(l->denials, (l->n_denials + 1) * sizeof(*l->denials));
                l->denials[l->n_denials++] = *n;
        }
}

unsigned learn_timeout_ms(const LearnRun *l) {
        return l->timeout_ms;
}

bool learn_relay_output(const LearnRun *l) {
        return l->relay;
}

/* ---- output ---- */

static void hcl_string(FILE *f, const char *s) {
        fputc('"', f);
        for (; *s; s++) {
                if (*s == '"' || *s == '\\')
                        fputc('\\', f);
                if (*s == '$' && s[1] == '{' && !startswith(s, "${NOMAD_"))
                        fputc('$', f); /* HCL would interpolate it */
                if (*s == '\n')
                        fputs("\\n", f);
                else
                        fputc(*s, f);
        }
        fputc('"', f);
}

static const char *net_policy_name(NetMode n) {
        return n == NET_HOST ? "host" : n == NET_JOIN ? "group" : "none";
}

/* The policy's promises must also hold the launch window of a dynamic program. */
static uint64_t policy_promises(const LearnRun *l) {
        uint64_t p = l->result.promises;
        if (l->dynamic && p)
                p |= PROMISE_BIT(PROMISE_RPATH) | PROMISE_BIT(PROMISE_PROT_EXEC);
        return p;
}

static bool verify_held(const LearnRun *l, int learned_code, int verify_code) {
        if (learned_code != verify_code)
                return false;
        for (size_t i = 0; i < l->n_denials; i++)
                /* a call that failed anyway while learning (isatty() on a pipe, glibc's probe for
                 * nscd) fails with EPERM now: no difference */
                if (!learned_futile(&l->learned, l->denials[i].nr, l->denials[i].sources))
                        return false;
        return true;
}

static void print_hcl(const LearnRun *l, int code, int verify_code) {
        const LearnResult *r = &l->result;
        _cleanup_free_ char *promises = promises_format(r->promises);
        _cleanup_free_ char *ceiling = promises_format(policy_promises(l));
        char ports[512];

        printf("# sandboxctl learn: %zu calls recorded; the command exited with code %d\n", l->learned.notes, code);
        for (size_t i = 0; i < r->n_refused; i++) {
                char call[128];
                explain_call(r->refused[i]->nr, r->refused[i]->args, call, sizeof(call));
                printf("# refused under any promises (EPERM while learning too): %s\n", call);
        }
        if (l->learned.odd_paths)
                printf("# %zu paths with control characters in their names were left out\n", l->learned.odd_paths);
        printf("config {\n  command  = ");
        hcl_string(stdout, l->argv[0]);
        printf("\n");
        if (l->argv[1]) {
                printf("  args     = [");
                for (size_t i = 1; l->argv[i]; i++) {
                        _cleanup_free_ char *a = learn_nomad_path(&l->opts, l->argv[i]);
                        printf("%s", i > 1 ? ", " : "");
                        hcl_string(stdout, a);
                }
                printf("]\n");
        }
        printf("  promises = ");
        hcl_string(stdout, promises);
        printf("\n");
        if (r->unveil.n) {
                printf("  unveil   = [");
                for (size_t i = 0; i < r->unveil.n; i++) {
                        char letters[5];
                        _cleanup_free_ char *p = learn_nomad_path(&l->opts, r->unveil.rules[i].path);
                        _cleanup_free_ char *e = xasprintf("%s:%s", unveil_perms_format(r->unveil.rules[i].perms, letters), p);
                        printf("%s", i ? ", " : "");
                        hcl_string(stdout, e);
                }
                printf("]\n");
        }
        if (r->bind.set) {
                port_list_format(&r->bind, ports, sizeof(ports));
                printf("  tcp_bind = \"%s\"\n", ports);
        }
        if (r->connect.set) {
                port_list_format(&r->connect, ports, sizeof(ports));
                printf("  tcp_connect = \"%s\"\n", ports);
        }
        printf("}\n\n");

        printf("# sandboxd.conf: the driver's policy must allow at least\n");
        printf("[driver sandbox]\n");
        printf("promises = %s\n", ceiling[0] ? ceiling : "stdio");
        if (l->dynamic && r->promises)
                printf("# (%s is dynamically linked: its loader runs with rpath prot_exec on top of its promises)\n",
                       l->argv[0]);
        if (r->unveil.n) {
                printf("unveil =");
                for (size_t i = 0; i < r->unveil.n; i++) {
                        char letters[5];
                        printf(" %s:%s", unveil_perms_format(r->unveil.rules[i].perms, letters), r->unveil.rules[i].path);
                }
                printf("\n");
        }
        if (l->net != NET_NONE)
                printf("networks = %s\n", net_policy_name(l->net));
        if (l->user && !streq(l->user, "nobody"))
                printf("users = %s\n", l->user);
        if (l->verify) {
                if (verify_held(l, code, verify_code))
                        printf("\n# verify: run again under this suggestion: exit code %d as learned, no call refused\n",
                               verify_code);
                else {
                        printf("\n# verify: FAILED: exit code %d (learned: %d)\n", verify_code, code);
                        for (size_t i = 0; i < l->n_denials; i++) {
                                char line[512];
                                if (learned_futile(&l->learned, l->denials[i].nr, l->denials[i].sources))
                                        continue;
                                explain_note(&l->denials[i], line, sizeof(line));
                                printf("#   refused now, not while learning: %s\n", line);
                        }
                }
        }
}

static void print_json(const LearnRun *l, int code, int verify_code) {
        const LearnResult *r = &l->result;
        _cleanup_free_ char *promises = promises_format(r->promises);
        _cleanup_free_ char *ceiling = promises_format(policy_promises(l));
        json_object *o = json_object_new_object(), *cfg = json_object_new_object(), *pol = json_object_new_object();
        json_object *args = json_object_new_array(), *unveil = json_object_new_array(), *punveil = json_object_new_array();
        json_object *refused = json_object_new_array();
        char ports[512];

        json_object_object_add(cfg, "command", json_object_new_string(l->argv[0]));
        for (size_t i = 1; l->argv[i]; i++) {
                _cleanup_free_ char *a = learn_nomad_path(&l->opts, l->argv[i]);
                json_object_array_add(args, json_object_new_string(a));
        }
        json_object_object_add(cfg, "args", args);
        json_object_object_add(cfg, "promises", json_object_new_string(promises));
        for (size_t i = 0; i < r->unveil.n; i++) {
                char letters[5];
                _cleanup_free_ char *p = learn_nomad_path(&l->opts, r->unveil.rules[i].path);
                _cleanup_free_ char *e = xasprintf("%s:%s", unveil_perms_format(r->unveil.rules[i].perms, letters), p);
                _cleanup_free_ char *raw = xasprintf("%s:%s", letters, r->unveil.rules[i].path);
                json_object_array_add(unveil, json_object_new_string(e));
                json_object_array_add(punveil, json_object_new_string(raw));
        }
        json_object_object_add(cfg, "unveil", unveil);
        if (r->bind.set) {
                port_list_format(&r->bind, ports, sizeof(ports));
                json_object_object_add(cfg, "tcp_bind", json_object_new_string(ports));
        }
        if (r->connect.set) {
                port_list_format(&r->connect, ports, sizeof(ports));
                json_object_object_add(cfg, "tcp_connect", json_object_new_string(ports));
        }
        json_object_object_add(o, "config", cfg);

        json_object_object_add(pol, "promises", json_object_new_string(ceiling));
        json_object_object_add(pol, "unveil", punveil);
        json_object_object_add(pol, "networks", json_object_new_string(net_policy_name(l->net)));
        json_object_object_add(pol, "users", json_object_new_string(l->user ? l->user : "nobody"));
        json_object_object_add(o, "policy", pol);

        for (size_t i = 0; i < r->n_refused; i++) {
                char name[32];
                json_object_array_add(refused, json_object_new_string(explain_syscall_name(r->refused[i]->nr, name)));
        }
        json_object_object_add(o, "refused", refused);
        /* what each recorded call needed: one of these promises */
        json_object *calls = json_object_new_array();
        for (size_t i = 0; i < l->learned.n_calls; i++) {
                char name[32];
                _cleanup_free_ char *p = promises_format(l->learned.calls[i].sources);
                json_object *c = json_object_new_object();
                json_object_object_add(c, "syscall", json_object_new_string(explain_syscall_name(l->learned.calls[i].nr, name)));
                json_object_object_add(c, "one_of", json_object_new_string(p));
                json_object_object_add(c, "count", json_object_new_int((int) l->learned.calls[i].count));
                json_object_array_add(calls, c);
        }
        json_object_object_add(o, "needs", calls);
        json_object_object_add(o, "calls", json_object_new_int64((int64_t) l->learned.notes));
        json_object_object_add(o, "exit_code", json_object_new_int(code));
        json_object_object_add(o, "dynamic", json_object_new_boolean(l->dynamic));
        if (l->verify) {
                json_object *v = json_object_new_object(), *d = json_object_new_array();
                json_object_object_add(v, "exit_code", json_object_new_int(verify_code));
                json_object_object_add(v, "held", json_object_new_boolean(verify_held(l, code, verify_code)));
                for (size_t i = 0; i < l->n_denials; i++) {
                        char line[512];
                        explain_note(&l->denials[i], line, sizeof(line));
                        json_object_array_add(d, json_object_new_string(line));
                }
                json_object_object_add(v, "refused", d);
                json_object_object_add(o, "verify", v);
        }
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
}

/* ---- the verb ---- */

/* learn --timeout: a duration (parse_duration_ms) from 1 ms to a day */
static int parse_timeout_ms(const char *s, unsigned *ret) {
        double ms;
        if (parse_duration_ms(s, &ms) < 0 || ms <= 0)
                return -EINVAL;
        if (ms < 1 || ms > 24.0 * 3600000)
                return -ERANGE;
        *ret = (unsigned) ms;
        return 0;
}

static int take_dir(const char *opt, const char *v, const char **ret) {
        if (!v || v[0] != '/') {
                error_line("learn: %s: '%s': must be an absolute path", opt, v ?: "");
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

int verb_learn(int argc, char **argv) {
        LearnRun l = { .relay = true, .opts = { .fold_min = LEARN_FOLD_DEFAULT } };
        _cleanup_free_ char **rest = xcalloc((size_t) argc + 1, sizeof(char *));
        size_t n = 0;
        int code, verify_code = 0;

        /* Our options, before the run options; the rest goes to run_sandbox. */
        rest[n++] = argv[0];
        int k;
        for (k = 1; k < argc; k++) {
                const char *o = argv[k], *v = k + 1 < argc ? argv[k + 1] : NULL;
                if (streq(o, "--"))
                        break;
                if (streq(o, "-h") || streq(o, "--help")) {
                        help();
                        return 0;
                } else if (streq(o, "--json"))
                        l.json = true;
                else if (streq(o, "--verify"))
                        l.verify = true;
                else if (streq(o, "--timeout")) {
                        if (!v || parse_timeout_ms(v, &l.timeout_ms) < 0) {
                                error_line("learn: --timeout: '%s': expected a duration like 5s, 500ms, 2m", v ?: "");
                                return EXIT_USAGE;
                        }
                        k++;
                } else if (streq(o, "--fold")) {
                        char *end;
                        long f = v ? strtol(v, &end, 10) : -1;
                        if (!v || *end || f < 0 || f > 1000) {
                                error_line("learn: --fold: '%s': expected a number, 0 to 1000", v ?: "");
                                return EXIT_USAGE;
                        }
                        l.opts.fold_min = (unsigned) f;
                        k++;
                } else if (streq(o, "--task-dir") || streq(o, "--alloc-dir") || streq(o, "--secrets-dir")) {
                        const char **d = streq(o, "--task-dir")    ? &l.opts.task_dir
                                         : streq(o, "--alloc-dir") ? &l.opts.alloc_dir
                                                                   : &l.opts.secrets_dir;
                        if (take_dir(o, v, d) < 0)
                                return EXIT_USAGE;
                        k++;
                } else {
                        if (streq(o, "--user") && v)
                                l.user = v;
                        else if (startswith(o, "--user="))
                                l.user = o + 7;
                        if ((streq(o, "--stdout") || streq(o, "--stderr")))
                                l.relay = false;
                        rest[n++] = argv[k];
                }
        }
        if (k >= argc || k + 1 >= argc) {
                error_line("learn: missing COMMAND (usage: sandboxctl learn [OPTIONS] -- COMMAND [ARG]...)");
                return EXIT_USAGE;
        }
        for (; k < argc; k++)
                rest[n++] = argv[k];
        for (size_t i = 0; i < n; i++)
                if (streq(rest[i], "--")) {
                        l.argv = rest + i + 1;
                        break;
                }

        /* Untouched unless the command ran: a bad option or a sandbox that could not be built
         * leaves nothing to suggest. */
        SandboxResult res = { .kind = RESULT_SETUP_FAILED };
        code = run_sandbox((int) n, rest, &l, &res);
        if (l.learned.notes == 0 && res.kind == RESULT_SETUP_FAILED) {
                learned_done(&l.learned);
                unveil_list_done(&l.granted);
                return code;
        }

        l.opts.granted = &l.granted;
        if (l.exec_stack)
                l.opts.forced |= PROMISE_BIT(PROMISE_PROT_EXEC);
        (void) learn_result(&l.learned, &l.opts, &l.result);

        if (l.verify) {
                l.phase = PHASE_VERIFY;
                error_line("learn: verify: running the command again under the suggestion");
                SandboxResult vres = {};
                verify_code = run_sandbox((int) n, rest, &l, &vres);
        }
        if (l.json)
                print_json(&l, code, verify_code);
        else
                print_hcl(&l, code, verify_code);

        bool held = !l.verify || verify_held(&l, code, verify_code);
        learned_done(&l.learned);
        learn_result_done(&l.result);
        unveil_list_done(&l.granted);
        free(l.denials);
        return held ? 0 : 1;
}
