/* SPDX-License-Identifier: MIT */
/* sandboxctl: the operator's CLI. `run` builds the sandbox in-process (no daemon) and is the way
 * to troubleshoot a job's promises and unveil paths by hand. This file: the help, `run` and main;
 * the verbs that talk to sandboxd are in sandboxctl-daemon.c, `learn` in sandboxctl-learn.c. */
#include <fcntl.h>
#include <getopt.h>
#include <linux/openat2.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#include "config.h"
#include "explain.h"
#include "macro.h"
#include "promises.h"
#include "sandboxctl.h"
#include "spawn.h"
#include "util.h"

static const char *program_name = "sandboxctl";

void error_line(const char *fmt, ...) {
        va_list ap;
        fprintf(stderr, "%s: ", program_name);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

/* The whole help. A command's own help (help_verb) prints sections of it, each a block that ends
 * with a blank line, so that an option added here shows up there too. */
static void help_to(FILE *out) {
        fprintf(out,
               "Usage: %s COMMAND [OPTIONS]\n"
               "\n"
               "Commands:\n"
               "  run [OPTIONS] -- COMMAND [ARG]...   run COMMAND in the sandbox here, wait, exit with its code\n"
               "  learn [OPTIONS] -- COMMAND [ARG]...  run COMMAND in the sandbox here, recording what it does;\n"
               "                           print the job's config block for it (learn --help)\n"
               "  start --name NAME [OPTIONS] -- COMMAND [ARG]...   start a task through sandboxd\n"
               "  exec NAME [-t] [--env K=V] -- COMMAND [ARG]...   run COMMAND inside the task's sandbox\n"
               "                           (-t: in a new terminal, as `nomad alloc exec -t`)\n"
               "  wait NAME                wait for the task, exit with its exit code\n"
               "  list [-q]                list the daemon's tasks (-q: only their names)\n"
               "  inspect NAME             show a task\n"
               "  stats NAME               cpu, memory and pids of a task's cgroup\n"
               "  signal NAME SIGNAL       send a signal to the task's process group\n"
               "  stop NAME [--timeout D] [--signal SIG]   signal, wait D (default 5s), then kill\n"
               "  destroy NAME [--force]   forget an exited task (--force: kill it first)\n"
               "\n"
               "`sandboxctl COMMAND --help` shows one command's options.\n"
               "\n"
               "Daemon commands take --socket PATH (default " SANDBOXD_SOCKET "), --driver NAME\n"
               "(the policy to use; default: root's admin view) and --json.\n"
               "\n"
               "Options for run:\n"
               "  --promises STRING        pledge promises (e.g. \"stdio rpath inet dns\"); without it, only\n"
               "                           the baseline filter\n"
               "  --no-baseline-filter     run: no baseline filter for a task without promises (start:\n"
               "                           the daemon's policy decides)\n"
               "  --narrow-timeout MS      run: how long the launch window of a dynamically linked program\n"
               "                           with promises may last (default 10000)\n"
               "  --no-explain             run: do not say which promise a refused call needed\n"
               "  --unveil LETTERS:PATH    allow PATH with r, w, x, c (repeatable)\n"
               "  --no-unveil-defaults     do not add the default unveil set\n"
               "  --no-landlock            no Landlock at all (unveil ignored)\n"
               "  --tcp-bind PORTS         only these TCP ports may be bound (80,443,8000-8010 or none)\n"
               "  --tcp-connect PORTS      only these TCP ports may be connected to\n"
               "  --user NAME|UID          run as this user (nomad-N: dynamic workload user N)\n"
               "  --net none|host|PATH     network: new empty namespace (default), host, or join PATH\n"
               "  --hostname NAME          hostname inside the sandbox\n"
               "  --importance LEVEL       lowest, low, normal, high, highest (nice 19, 10, 0, -10, -20)\n"
               "  --oom-score-adj N        -1000..1000\n"
               "  --rlimit NAME=SOFT[:HARD]  e.g. NOFILE=1024:4096 (repeatable)\n"
               "  --cwd DIR                working directory (run: the current one; start: /)\n"
               "  --env KEY=VALUE          add to the task's environment (repeatable)\n"
               "  --stdout FILE, --stderr FILE  append output to FILE (or write to a FIFO)\n"
               "  --private-tmp            a fresh tmpfs on /tmp, TMPDIR=/tmp (default for start;\n"
               "                           --no-private-tmp turns it off)\n"
               "  --mount SRC:DST[:ro|rw]  bind mount SRC at DST (must exist) for the task, unveiled at DST\n"
               "  --resolv-conf FILE       the task sees FILE's content as /etc/resolv.conf\n"
               "  --host-view              keep the host's /dev and /run (the task gets a minimal /dev and\n"
               "                           an empty /run by default; for start, the policy's host_view)\n"
               "\n"
               "Resource options for start (the task's cgroup):\n"
               "  --memory-max SIZE        hard memory limit (bytes, or with K, M, G suffix)\n"
               "  --memory-low SIZE        memory protection (soft limit on cgroup v1)\n"
               "  --cpu-weight N           1..10000 (cgroup v2 cpu.weight; 100 is the default share)\n"
               "  --cpu-quota PERCENT      CPU time per period, e.g. 50%% or 150%% (period 100ms)\n"
               "  --allowed-cpus LIST      cpuset, e.g. 0-1,3\n"
               "  --tasks-max N            at most N processes and threads\n"
               "  --task-dir DIR, --secrets-dir DIR   Nomad's task and secrets directories: given to the\n"
               "                           task's user (0700) and unveiled rwc\n"
               "  --alloc-dir DIR          the alloc's shared directory, unveiled rwc\n"
               "  --alloc-id ID, --task-name NAME   the Nomad allocation and task the start is for, as the\n"
               "                           plugin sends them: Nomad's directories must be theirs\n"
               "\n"
               "Exit status: the command's, 128+N if killed by signal N, 125 if the sandbox could not be\n"
               "built (or run is not root), 126 if the command cannot be executed, 127 if it was not found,\n"
               "2 on bad usage.\n"
               "start: 0 started, 1 refused (nothing runs), 3 outcome unknown (the connection broke).\n"
               "See sandboxctl(1).\n",
               program_name);
}

static void help(void) {
        help_to(stdout);
}

/* Prints the block of the whole help that starts with a line beginning with `header`, up to
 * its blank line. */
static void help_section(const char *text, const char *header) {
        for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                if (startswith(p, header)) {
                        const char *e = strstr(p, "\n\n");
                        if (e)
                                printf("%.*s\n\n", (int) (e - p), p);
                        else
                                fputs(p, stdout);
                        return;
                }
}

/* One command's help: its usage, what it does, its options. */
void help_verb(const char *verb) {
        static const struct {
                const char *verb, *usage, *what, *options;
        } verbs[] = {
                { "run", "[OPTIONS] -- COMMAND [ARG]...",
                  "Runs COMMAND in a sandbox built here, without sandboxd, and exits with its code: the\n"
                  "way to try a job's promises and unveil paths by hand. Needs root.\n",
                  NULL },
                { "start", "--name NAME [OPTIONS] -- COMMAND [ARG]...",
                  "Starts a task through sandboxd, under the policy of --driver (root: the admin policy).\n",
                  NULL },
                { "exec", "NAME [-t] [--env KEY=VALUE]... -- COMMAND [ARG]...",
                  "Runs COMMAND inside the running task's sandbox (namespaces, user, Landlock, seccomp)\n"
                  "with this terminal's stdin, stdout and stderr; exits with its code.\n",
                  "  -t, --tty                in a new terminal, as `nomad alloc exec -t`\n"
                  "  --env KEY=VALUE          add to the command's environment (repeatable; not LD_*)\n" },
                { "wait", "NAME", "Waits for the task to exit and exits with its exit code.\n", NULL },
                { "list", "[-q]", "Lists the daemon's tasks.\n",
                  "  -q, --quiet              only the names, one per line\n" },
                { "inspect", "NAME", "Shows a task: state, user, command, promises, unveil rules, cgroup.\n", NULL },
                { "stats", "NAME", "Shows the cpu, memory and pids of a task's cgroup.\n", NULL },
                { "signal", "NAME SIGNAL", "Sends SIGNAL (a name or number) to the task's process group.\n", NULL },
                { "stop", "NAME [--timeout D] [--signal SIG]",
                  "Sends SIG (default SIGTERM), waits D (default 5s), then kills the task's cgroup.\n",
                  "  --timeout D              the grace period: 5s, 500ms, 2m, or seconds\n"
                  "  --signal SIG             the first signal\n" },
                { "destroy", "NAME [--force]", "Forgets an exited task.\n",
                  "  --force                  kill the task first if it still runs\n" },
        };

        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                if (!streq(verbs[i].verb, verb))
                        continue;
                _cleanup_free_ char *text = NULL;
                size_t size = 0;
                FILE *f = open_memstream(&text, &size);
                if (!f)
                        oom();
                help_to(f);
                fclose(f);

                printf("Usage: sandboxctl %s %s\n\n%s\n", verb, verbs[i].usage, verbs[i].what);
                if (verbs[i].options)
                        printf("Options:\n%s  -h, --help               this help\n\n", verbs[i].options);
                if (streq(verb, "run") || streq(verb, "start"))
                        help_section(text, "Options for run:");
                if (streq(verb, "start"))
                        help_section(text, "Resource options for start");
                if (!streq(verb, "run"))
                        help_section(text, "Daemon commands take");
                if (streq(verb, "run") || streq(verb, "start"))
                        help_section(text, "Exit status:");
                else
                        printf("See sandboxctl(1).\n");
                return;
        }
        help();
}

/* Opens a log destination the way sandboxd opens Nomad's FIFOs: no symlink anywhere in the
 * path (a task must never be able to redirect a root open), O_NONBLOCK so a FIFO without a
 * reader fails instead of hanging (cleared afterwards). */
int open_output(const char *path, int *ret_fd, SbxError *err) {
        struct open_how how = {
                .flags = O_WRONLY | O_CREAT | O_APPEND | O_NOCTTY | O_CLOEXEC | O_NONBLOCK,
                .mode = 0644,
                .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        int fd = (int) syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
        if (fd < 0)
                return sbx_error_errno(err, errno, "%s", path);
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
                int e = errno;
                (void) close(fd);
                return sbx_error_errno(err, e, "%s", path);
        }
        *ret_fd = fd;
        return 0;
}

static void env_pass(SandboxSpec *s, const char *key) {
        const char *v = getenv(key);
        if (v)
                strv_consume(&s->env, xasprintf("%s=%s", key, v));
}

static void build_default_env(SandboxSpec *s) {
        struct passwd *pw = getpwuid(s->uid);
        const char *name = s->user && !pw ? s->user : pw ? pw->pw_name : "root";

        strv_push(&s->env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        strv_consume(&s->env, xasprintf("HOME=%s", s->home ? s->home : "/"));
        strv_consume(&s->env, xasprintf("USER=%s", name));
        strv_consume(&s->env, xasprintf("LOGNAME=%s", name));
        env_pass(s, "TERM");
        env_pass(s, "LANG");
        for (char **e = environ; *e; e++)
                if (startswith(*e, "LC_"))
                        strv_push(&s->env, *e);
}

enum {
        ARG_PROMISES = 0x100,
        ARG_UNVEIL,
        ARG_NO_UNVEIL_DEFAULTS,
        ARG_NO_LANDLOCK,
        ARG_TCP_BIND,
        ARG_TCP_CONNECT,
        ARG_USER,
        ARG_NET,
        ARG_HOSTNAME,
        ARG_IMPORTANCE,
        ARG_OOM_SCORE_ADJ,
        ARG_RLIMIT,
        ARG_CWD,
        ARG_ENV,
        ARG_STDOUT,
        ARG_STDERR,
        ARG_PRIVATE_TMP,
        ARG_HOST_VIEW,
        ARG_NO_PRIVATE_TMP,
        ARG_MOUNT,
        ARG_RESOLV_CONF,
        ARG_NO_BASELINE_FILTER,
        ARG_NARROW_TIMEOUT,
        ARG_NO_EXPLAIN,
        /* start's own */
        ARG_NAME,
        ARG_SOCKET,
        ARG_DRIVER,
        ARG_JSON,
        ARG_TASK_DIR,
        ARG_SECRETS_DIR,
        ARG_ALLOC_DIR,
        ARG_ALLOC_ID,
        ARG_TASK_NAME,
        ARG_RESOURCE, /* --memory-max and the others: parse_resource() tells them apart */
        ARG_START_FIRST = ARG_NAME,
};

static const struct option run_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "promises", required_argument, NULL, ARG_PROMISES },
        { "unveil", required_argument, NULL, ARG_UNVEIL },
        { "no-unveil-defaults", no_argument, NULL, ARG_NO_UNVEIL_DEFAULTS },
        { "no-landlock", no_argument, NULL, ARG_NO_LANDLOCK },
        { "tcp-bind", required_argument, NULL, ARG_TCP_BIND },
        { "tcp-connect", required_argument, NULL, ARG_TCP_CONNECT },
        { "user", required_argument, NULL, ARG_USER },
        { "net", required_argument, NULL, ARG_NET },
        { "hostname", required_argument, NULL, ARG_HOSTNAME },
        { "importance", required_argument, NULL, ARG_IMPORTANCE },
        { "oom-score-adj", required_argument, NULL, ARG_OOM_SCORE_ADJ },
        { "rlimit", required_argument, NULL, ARG_RLIMIT },
        { "cwd", required_argument, NULL, ARG_CWD },
        { "env", required_argument, NULL, ARG_ENV },
        { "stdout", required_argument, NULL, ARG_STDOUT },
        { "stderr", required_argument, NULL, ARG_STDERR },
        { "private-tmp", no_argument, NULL, ARG_PRIVATE_TMP },
        { "host-view", no_argument, NULL, ARG_HOST_VIEW },
        { "no-private-tmp", no_argument, NULL, ARG_NO_PRIVATE_TMP },
        { "mount", required_argument, NULL, ARG_MOUNT },
        { "resolv-conf", required_argument, NULL, ARG_RESOLV_CONF },
        { "no-baseline-filter", no_argument, NULL, ARG_NO_BASELINE_FILTER },
        { "narrow-timeout", required_argument, NULL, ARG_NARROW_TIMEOUT },
        { "no-explain", no_argument, NULL, ARG_NO_EXPLAIN },
        { "name", required_argument, NULL, ARG_NAME },
        { "socket", required_argument, NULL, ARG_SOCKET },
        { "driver", required_argument, NULL, ARG_DRIVER },
        { "json", no_argument, NULL, ARG_JSON },
        { "task-dir", required_argument, NULL, ARG_TASK_DIR },
        { "secrets-dir", required_argument, NULL, ARG_SECRETS_DIR },
        { "alloc-dir", required_argument, NULL, ARG_ALLOC_DIR },
        { "alloc-id", required_argument, NULL, ARG_ALLOC_ID },
        { "task-name", required_argument, NULL, ARG_TASK_NAME },
        { "memory-max", required_argument, NULL, ARG_RESOURCE },
        { "memory-low", required_argument, NULL, ARG_RESOURCE },
        { "cpu-weight", required_argument, NULL, ARG_RESOURCE },
        { "cpu-quota", required_argument, NULL, ARG_RESOURCE },
        { "allowed-cpus", required_argument, NULL, ARG_RESOURCE },
        { "tasks-max", required_argument, NULL, ARG_RESOURCE },
        {}
};

static const char *option_name(int c) {
        for (const struct option *o = run_options; o->name; o++)
                if (o->val == c)
                        return o->name;
        return "?";
}

/* Returns 0, or an exit code. */
/* start's own options, kept as written */
static int parse_start_option(int c, const char *opt, const char *v, StartArgs *st) {
        switch (c) {
        case ARG_NAME:
                st->name = v;
                break;
        case ARG_SOCKET:
                arg_socket = v;
                break;
        case ARG_DRIVER:
                arg_driver = v;
                break;
        case ARG_JSON:
                arg_json = true;
                break;
        case ARG_TASK_DIR:
                st->task_dir = v;
                break;
        case ARG_SECRETS_DIR:
                st->secrets_dir = v;
                break;
        case ARG_ALLOC_DIR:
                st->alloc_dir = v;
                break;
        case ARG_ALLOC_ID:
                st->alloc_id = v;
                break;
        case ARG_TASK_NAME:
                st->task_name = v;
                break;
        case ARG_RESOURCE: {
                _cleanup_free_ char *o = xasprintf("--%s", opt);
                if (parse_resource(o, v, &st->res) < 0)
                        return -EINVAL;
                st->has_res = true;
                break;
        }
        }
        return 0;
}

/* what start sends for the options sandboxd checks against its policy */
static void keep_for_daemon(int c, const char *v, StartArgs *st) {
        switch (c) {
        case ARG_PROMISES:
                st->promises = v;
                break;
        case ARG_USER:
                st->user = v;
                break;
        case ARG_NET:
                st->net = v;
                break;
        case ARG_HOSTNAME:
                st->hostname = v;
                break;
        case ARG_IMPORTANCE:
                st->importance = v;
                break;
        case ARG_CWD:
                st->cwd = v;
                break;
        case ARG_TCP_BIND:
                st->tcp_bind = v;
                break;
        case ARG_TCP_CONNECT:
                st->tcp_connect = v;
                break;
        case ARG_OOM_SCORE_ADJ:
                st->oom_score_adj = v;
                break;
        case ARG_UNVEIL:
                strv_push(&st->unveil, v);
                break;
        case ARG_RLIMIT:
                strv_push(&st->rlimits, v);
                break;
        case ARG_MOUNT:
                strv_push(&st->mounts, v);
                break;
        }
}

void run_args_free(RunArgs *a) {
        strv_free(a->env_extra);
        strv_free(a->start.unveil);
        strv_free(a->start.rlimits);
        strv_free(a->start.mounts);
        sandbox_spec_done(&a->spec);
}

int parse_run_args(int argc, char **argv, RunArgs *a) {
        SandboxSpec *s = &a->spec;
        SbxError err = {};
        int c, r = 0, index = 0;

        a->unveil_defaults = true;
        a->private_tmp = -1;
        sandboxd__v1__resources__init(&a->start.res);
        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+h", run_options, &index)) >= 0) {
                if (c >= ARG_START_FIRST) {
                        if (!a->for_daemon) {
                                error_line("--%s: only for sandboxctl start", run_options[index].name);
                                return EXIT_USAGE;
                        }
                        if (parse_start_option(c, run_options[index].name, optarg, &a->start) < 0)
                                return EXIT_USAGE;
                        continue;
                }
                if (a->for_daemon)
                        keep_for_daemon(c, optarg, &a->start);
                switch (c) {
                case 'h':
                        help_verb(a->for_daemon ? "start" : "run");
                        return -1;
                case ARG_PROMISES:
                        r = promises_parse(optarg, &s->promises, &err);
                        s->has_promises = true;
                        break;
                case ARG_UNVEIL:
                        r = unveil_list_add_entry(&s->unveil, optarg, &err);
                        break;
                case ARG_NO_UNVEIL_DEFAULTS:
                        a->unveil_defaults = false;
                        break;
                case ARG_NO_LANDLOCK:
                        s->landlock = false;
                        break;
                case ARG_NO_BASELINE_FILTER:
                        if (a->for_daemon)
                                r = sbx_error(&err, EINVAL, "the daemon's policy decides (baseline_filter in sandboxd.conf)");
                        s->baseline = false;
                        break;
                case ARG_NARROW_TIMEOUT: {
                        char *end;
                        errno = 0;
                        unsigned long ms = strtoul(optarg, &end, 10);
                        if (a->for_daemon)
                                r = sbx_error(&err, EINVAL, "only for run (sandboxd uses %d ms)", SANDBOX_NARROW_TIMEOUT_MS);
                        else if (errno || end == optarg || *end || ms < 1 || ms > 600000)
                                r = sbx_error(&err, EINVAL, "'%s': milliseconds, 1 to 600000", optarg);
                        else
                                s->narrow_timeout_ms = (unsigned) ms;
                        break;
                }
                case ARG_NO_EXPLAIN:
                        if (a->for_daemon)
                                r = sbx_error(&err, EINVAL, "the daemon's policy decides (explain_denials in sandboxd.conf)");
                        s->explain = false;
                        break;
                case ARG_TCP_BIND:
                        r = port_list_parse(optarg, &s->bind_tcp, &err);
                        break;
                case ARG_TCP_CONNECT:
                        r = port_list_parse(optarg, &s->connect_tcp, &err);
                        break;
                case ARG_USER:
                        r = spec_set_user(s, optarg, &err);
                        break;
                case ARG_NET:
                        r = spec_set_net(s, optarg, &err);
                        break;
                case ARG_HOSTNAME:
                        if (!optarg[0] || strlen(optarg) > 64)
                                r = sbx_error(&err, EINVAL, "'%s': must be 1 to 64 characters", optarg);
                        else {
                                free(s->hostname);
                                s->hostname = xstrdup(optarg);
                        }
                        break;
                case ARG_IMPORTANCE:
                        s->importance = importance_from_string(optarg);
                        s->has_importance = true;
                        if ((int) s->importance < 0)
                                r = sbx_error(&err, EINVAL, "'%s': expected lowest, low, normal, high or highest",
                                              optarg);
                        break;
                case ARG_OOM_SCORE_ADJ:
                        r = spec_set_oom_score_adj(s, optarg, &err);
                        break;
                case ARG_RLIMIT:
                        r = spec_add_rlimit(s, optarg, &err);
                        break;
                case ARG_CWD:
                        if (optarg[0] != '/')
                                r = sbx_error(&err, EINVAL, "'%s': must be an absolute path", optarg);
                        else {
                                free(s->cwd);
                                s->cwd = xstrdup(optarg);
                        }
                        break;
                case ARG_ENV:
                        if (startswith(optarg, "LD_"))
                                r = spec_env_set(s, optarg, &err); /* gives the LD_* message */
                        else if (!strchr(optarg, '=') || optarg[0] == '=')
                                r = sbx_error(&err, EINVAL, "'%s': expected KEY=VALUE", optarg);
                        else
                                strv_push(&a->env_extra, optarg);
                        break;
                case ARG_STDOUT:
                        a->stdout_path = optarg;
                        break;
                case ARG_STDERR:
                        a->stderr_path = optarg;
                        break;
                case ARG_PRIVATE_TMP:
                        a->private_tmp = 1;
                        break;
                case ARG_NO_PRIVATE_TMP:
                        a->private_tmp = 0;
                        break;
                case ARG_HOST_VIEW:
                        if (a->for_daemon)
                                r = sbx_error(&err, EINVAL, "for start, the driver's policy decides (host_view in "
                                                            "sandboxd.conf)");
                        s->host_view = true;
                        break;
                case ARG_MOUNT:
                        if (!a->for_daemon)
                                r = spec_add_mount_entry(s, optarg, &err);
                        else {
                                const char *t = strchr(optarg, ':'), *m = t ? strchr(t + 1, ':') : NULL;
                                if (!t || optarg[0] != '/' || t[1] != '/' || (m && !streq(m, ":ro") && !streq(m, ":rw")))
                                        r = sbx_error(&err, EINVAL, "'%s': expected SOURCE:TARGET[:ro|rw], absolute paths",
                                                      optarg);
                        }
                        break;
                case ARG_RESOLV_CONF:
                        if (optarg[0] != '/')
                                r = sbx_error(&err, EINVAL, "'%s': must be an absolute path", optarg);
                        a->resolv_conf = optarg;
                        break;
                case '?':
                        if (optopt)
                                error_line("%s: missing argument", argv[optind - 1]);
                        else
                                error_line("%s: unknown option", argv[optind - 1]);
                        return EXIT_USAGE;
                default:
                        error_line("unexpected option");
                        return EXIT_USAGE;
                }
                if (r < 0) {
                        error_line("--%s: %s", option_name(c), err.msg);
                        return EXIT_USAGE;
                }
        }
        if (optind >= argc) {
                if (a->for_daemon)
                        error_line("start: missing COMMAND (usage: sandboxctl start --name NAME [OPTIONS] -- COMMAND [ARG]...)");
                else
                        error_line("run: missing COMMAND (usage: sandboxctl run [OPTIONS] -- COMMAND [ARG]...)");
                return EXIT_USAGE;
        }
        s->argv = strv_copy(argv + optind);
        return 0;
}

/* Explained denials go to stderr as they come; learning, every note goes to learn. */
static InitNote note;

/* Copies what the task wrote to the relay pipe to our stderr. */
static void relay(int *fd) {
        char buf[8192];
        ssize_t n = read(*fd, buf, sizeof(buf));
        if (n <= 0) {
                if (n == 0 || (errno != EINTR && errno != EAGAIN))
                        *fd = safe_close(*fd);
                return;
        }
        (void) !write(STDERR_FILENO, buf, (size_t) n);
}

static int forward_signals_and_wait(SandboxProcess *proc, const sigset_t *mask, LearnRun *learn, int relay_fd,
                                    SandboxResult *ret) {
        _cleanup_close_ int sfd = signalfd(-1, mask, SFD_CLOEXEC | SFD_NONBLOCK), timer_fd = -1;
        bool have_result = false;
        unsigned timeouts = 0;
        SandboxResult res = {};

        if (sfd < 0)
                return -errno;
        /* learn --timeout: SIGTERM when it is up, SIGKILL 5 s later. */
        unsigned timeout = learn ? learn_timeout_ms(learn) : 0;
        if (timeout) {
                struct itimerspec its = { .it_value = { .tv_sec = timeout / 1000, .tv_nsec = (long) (timeout % 1000) * 1000000 },
                                          .it_interval = { .tv_sec = 5 } };
                timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
                if (timer_fd < 0 || timerfd_settime(timer_fd, 0, &its, NULL) < 0)
                        return -errno;
        }
        for (;;) {
                struct pollfd pfd[4] = {
                        { .fd = proc->ctl_fd, .events = POLLIN },
                        { .fd = sfd, .events = POLLIN },
                        { .fd = timer_fd, .events = POLLIN },
                        { .fd = relay_fd, .events = POLLIN },
                };
                if (poll(pfd, ELEMENTSOF(pfd), -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (pfd[1].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        while (read(sfd, &si, sizeof(si)) == sizeof(si))
                                if (si.ssi_signo != SIGCHLD)
                                        (void) syscall(SYS_pidfd_send_signal, proc->pidfd, si.ssi_signo, NULL, 0);
                }
                if (pfd[2].revents & POLLIN) {
                        uint64_t ticks;
                        (void) !read(timer_fd, &ticks, sizeof(ticks));
                        (void) syscall(SYS_pidfd_send_signal, proc->pidfd, timeouts++ ? SIGKILL : SIGTERM, NULL, 0);
                }
                if (pfd[3].revents & (POLLIN | POLLHUP))
                        relay(&relay_fd);
                if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                        InitMsg m;
                        int r = sandbox_process_read(proc, &m, &note);
                        if (r < 0)
                                return r;
                        if (r == 0)
                                break;
                        if (m.type == INIT_MSG_NOTE && learn)
                                learn_note(learn, &note);
                        else if (m.type == INIT_MSG_NOTE && note.kind == NOTE_DENIED) {
                                char line[512];
                                explain_note(&note, line, sizeof(line));
                                error_line("%s", line);
                        }
                        if (m.type == INIT_MSG_SETUP_FAILED || m.type == INIT_MSG_EXITED) {
                                sandbox_result_from_msg(&m, &res);
                                have_result = true;
                        }
                }
        }
        while (relay_fd >= 0)
                relay(&relay_fd);

        siginfo_t si = {};
        if (waitid((idtype_t) P_PIDFD, (id_t) proc->pidfd, &si, WEXITED) < 0)
                return -errno;
        if (!have_result) {
                /* The init died without a report (killed): use its own status. */
                int st = si.si_code == CLD_EXITED ? W_EXITCODE(si.si_status, 0) : si.si_status;
                sandbox_result_from_init_status(st, &res);
        }
        *ret = res;
        return 0;
}

int run_sandbox(int argc, char **argv, LearnRun *learn, SandboxResult *ret_result) {
        _cleanup_(sandbox_prepared_done) SandboxPrepared prep = SANDBOX_PREPARED_INIT;
        _cleanup_close_ int out_fd = -1, err_fd = -1, resolv_fd = -1, relay_r = -1, relay_w = -1;
        SandboxProcess proc = { .pidfd = -1, .ctl_fd = -1 };
        RunArgs a = {};
        SbxError err = {};
        SandboxResult res;
        char msg[SBX_ERROR_MAX + 128];
        int r, code;

        sandbox_spec_init(&a.spec);
        SandboxSpec *s = &a.spec;

        r = parse_run_args(argc, argv, &a);
        if (r != 0) {
                code = r < 0 ? 0 : r;
                goto finish;
        }
        if (learn && learn_check_spec(learn, s) < 0) {
                code = EXIT_USAGE;
                goto finish;
        }
        /* New namespaces, another user, a cgroup: clone() would say only "Operation not
         * permitted". */
        if (geteuid() != 0) {
                const char *verb = learn ? "learn" : "run";
                error_line("%s: needs root (it builds the sandbox itself: namespaces, the task's user); "
                           "try sudo sandboxctl %s ...",
                           verb, verb);
                code = EXIT_SETUP;
                goto finish;
        }

        if (!s->user) {
                char uid[16];
                /* learn: the user a Nomad task gets by default, not the caller (root) */
                snprintf(uid, sizeof(uid), learn ? "nobody" : "%u", (unsigned) getuid());
                r = spec_set_user(s, uid, &err);
                if (r < 0) {
                        error_line("--user: %s", err.msg);
                        code = EXIT_USAGE;
                        goto finish;
                }
        }
        build_default_env(s);
        for (char **e = a.env_extra; e && *e; e++)
                (void) spec_env_set(s, *e, NULL);
        if (!s->cwd) {
                s->cwd = getcwd(NULL, 0);
                if (!s->cwd)
                        s->cwd = xstrdup("/");
        }
        if (a.unveil_defaults)
                unveil_list_add_defaults(&s->unveil);
        /* learn: a private /tmp by default, as every Nomad task of the driver has */
        s->private_tmp = a.private_tmp == 1 || (learn && a.private_tmp == -1);
        if (learn && s->private_tmp && path_beneath(s->cwd, "/tmp")) {
                error_line("learn: the command would start in %s, which its private /tmp hides (as under Nomad): "
                           "pass --cwd DIR, or --no-private-tmp",
                           s->cwd);
                code = EXIT_USAGE;
                goto finish;
        }
        if (a.resolv_conf) {
                resolv_fd = open(a.resolv_conf, O_PATH | O_CLOEXEC);
                if (resolv_fd < 0) {
                        error_line("--resolv-conf: '%s': %s", a.resolv_conf, strerror(errno));
                        code = EXIT_SETUP;
                        goto finish;
                }
                s->resolv_conf_fd = resolv_fd;
        }

        r = spec_resolve_command(s, &err);
        if (r < 0) {
                error_line("%s", err.msg);
                code = exit_code_from_exec_errno(-r);
                goto finish;
        }

        s->stdin_fd = STDIN_FILENO;
        s->stdout_fd = STDOUT_FILENO;
        s->stderr_fd = STDERR_FILENO;
        if (learn && learn_relay_output(learn)) {
                /* As under Nomad: no terminal (stdin /dev/null, output into a pipe we copy to our
                 * stderr), and our stdout keeps only the suggestion. */
                int pfd[2];
                if (pipe2(pfd, O_CLOEXEC) < 0) {
                        error_line("learn: pipe: %s", strerror(errno));
                        code = EXIT_SETUP;
                        goto finish;
                }
                relay_r = pfd[0];
                relay_w = pfd[1];
                s->stdin_fd = -1;
                s->stdout_fd = s->stderr_fd = relay_w;
        }
        if (a.stdout_path) {
                r = open_output(a.stdout_path, &out_fd, &err);
                if (r < 0) {
                        error_line("--stdout: %s", err.msg);
                        code = EXIT_SETUP;
                        goto finish;
                }
                s->stdout_fd = out_fd;
        }
        if (a.stderr_path) {
                r = open_output(a.stderr_path, &err_fd, &err);
                if (r < 0) {
                        error_line("--stderr: %s", err.msg);
                        code = EXIT_SETUP;
                        goto finish;
                }
                s->stderr_fd = err_fd;
        }

        r = sandbox_plan(s, &prep, &err);
        if (r >= 0)
                r = sandbox_prepare(s, &prep, &err);
        if (r < 0) {
                error_line("%s", err.msg);
                code = EXIT_SETUP;
                goto finish;
        }
        if (learn)
                learn_prepared(learn, s, &prep);

        /* Block the signals we forward before the clone, so none is lost in between. */
        sigset_t mask, old;
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGQUIT);
        sigaddset(&mask, SIGUSR1);
        sigaddset(&mask, SIGUSR2);
        sigaddset(&mask, SIGWINCH);
        (void) sigprocmask(SIG_BLOCK, &mask, &old);

        SpawnOptions opts = SPAWN_OPTIONS_INIT;
        opts.flags = SPAWN_DIE_WITH_PARENT;
        r = sandbox_spawn(s, &prep, &opts, &proc, &err);
        if (r < 0) {
                error_line("%s", err.msg);
                code = EXIT_SETUP;
                goto finish;
        }

        relay_w = safe_close(relay_w);
        r = forward_signals_and_wait(&proc, &mask, learn, TAKE_FD(relay_r), &res);
        sandbox_process_done(&proc);
        if (r < 0) {
                error_line("waiting for the sandbox: %s", strerror(-r));
                code = EXIT_SETUP;
                goto finish;
        }
        if (res.kind == RESULT_SETUP_FAILED) {
                sandbox_result_describe(&res, s, &prep, msg, sizeof(msg));
                error_line("%s", msg);
        }
        code = sandbox_result_exit_code(&res);
        if (ret_result)
                *ret_result = res;

finish:
        run_args_free(&a);
        return code;
}

static int verb_run(int argc, char **argv) {
        return run_sandbox(argc, argv, NULL, NULL);
}

int main(int argc, char **argv) {
        if (argc < 2) {
                error_line("missing command (try sandboxctl --help)");
                return EXIT_USAGE;
        }
        if (streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
                help();
                return 0;
        }
        if (streq(argv[1], "--version")) {
                printf("sandboxctl %s\n", PACKAGE_VERSION);
                return 0;
        }
        /* The daemon options may also come before the command: sandboxctl --socket S list. */
        while (argc > 1 && startswith(argv[1], "--")) {
                const char *o = argv[1], *v = NULL;
                int used = 1;
                if (streq(o, "--json"))
                        arg_json = true;
                else if (streq(o, "--socket") || streq(o, "--driver")) {
                        if (argc < 3) {
                                error_line("%s: missing argument", o);
                                return EXIT_USAGE;
                        }
                        v = argv[2];
                        used = 2;
                } else if (startswith(o, "--socket=") || startswith(o, "--driver="))
                        v = strchr(o, '=') + 1;
                else
                        break;
                if (v && startswith(o, "--socket"))
                        arg_socket = v;
                else if (v)
                        arg_driver = v;
                argc -= used;
                argv += used;
        }
        if (argc < 2) {
                error_line("missing command (try sandboxctl --help)");
                return EXIT_USAGE;
        }
        if (streq(argv[1], "run"))
                return verb_run(argc - 1, argv + 1);
        if (streq(argv[1], "learn"))
                return verb_learn(argc - 1, argv + 1);
        if (streq(argv[1], "start"))
                return verb_start(argc - 1, argv + 1);
        if (streq(argv[1], "exec"))
                return verb_exec(argc - 1, argv + 1);
        static const char *const simple[] = { "wait", "list", "inspect", "stats", "signal", "stop", "destroy" };
        for (size_t i = 0; i < ELEMENTSOF(simple); i++)
                if (streq(argv[1], simple[i]))
                        return verb_simple(argc - 1, argv + 1);

        error_line("'%s': unknown command (try sandboxctl --help)", argv[1]);
        return EXIT_USAGE;
}
