/* SPDX-License-Identifier: MIT */
/* sandboxctl: the operator's CLI. `run` builds the sandbox in-process (no daemon) and is the way
 * to troubleshoot a job's promises and unveil paths by hand. */
#include <fcntl.h>
#include <stdarg.h>
#include <getopt.h>
#include <linux/openat2.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "config.h"
#include "macro.h"
#include "promises.h"
#include "spawn.h"

#define EXIT_USAGE 2
#define EXIT_SETUP 125

static const char *program_name = "sandboxctl";

_printf_(1, 2) static void error_line(const char *fmt, ...) {
        va_list ap;
        fprintf(stderr, "%s: ", program_name);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

static void help(void) {
        printf("Usage: %s COMMAND [OPTIONS]\n"
               "\n"
               "Commands:\n"
               "  run [OPTIONS] -- COMMAND [ARG]...   run COMMAND in the sandbox, wait, exit with its code\n"
               "\n"
               "Options for run:\n"
               "  --promises STRING        pledge promises (e.g. \"stdio rpath inet dns\"); without it, no\n"
               "                           syscall filter\n"
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
               "  --cwd DIR                working directory (default: the current one)\n"
               "  --env KEY=VALUE          add to the task's environment (repeatable)\n"
               "  --stdout FILE, --stderr FILE  append output to FILE (or write to a FIFO)\n"
               "\n"
               "Exit status: the command's, 128+N if killed by signal N, 125 if the sandbox could not be\n"
               "built, 126 if the command cannot be executed, 127 if it was not found, 2 on bad usage.\n"
               "See sandboxctl(1).\n",
               program_name);
}

/* Opens a log destination the way sandboxd opens Nomad's FIFOs: no symlink anywhere in the
 * path (a task must never be able to redirect a root open), O_NONBLOCK so a FIFO without a
 * reader fails instead of hanging (cleared afterwards). */
static int open_output(const char *path, int *ret_fd, SbxError *err) {
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
        {}
};

static const char *option_name(int c) {
        for (const struct option *o = run_options; o->name; o++)
                if (o->val == c)
                        return o->name;
        return "?";
}

typedef struct RunArgs {
        SandboxSpec spec;
        bool unveil_defaults;
        char **env_extra;
        const char *stdout_path, *stderr_path;
} RunArgs;

/* Returns 0, or an exit code. */
static int parse_run_args(int argc, char **argv, RunArgs *a) {
        SandboxSpec *s = &a->spec;
        SbxError err = {};
        int c, r = 0;

        a->unveil_defaults = true;
        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+h", run_options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
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
                case '?':
                        if (optopt)
                                error_line("--%s: missing argument", option_name(optopt));
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
                error_line("run: missing COMMAND (usage: sandboxctl run [OPTIONS] -- COMMAND [ARG]...)");
                return EXIT_USAGE;
        }
        s->argv = strv_copy(argv + optind);
        return 0;
}

static int forward_signals_and_wait(SandboxProcess *proc, const sigset_t *mask, SandboxResult *ret) {
        _cleanup_close_ int sfd = signalfd(-1, mask, SFD_CLOEXEC | SFD_NONBLOCK);
        bool have_result = false;
        SandboxResult res = {};

        if (sfd < 0)
                return -errno;
        for (;;) {
                struct pollfd pfd[2] = {
                        { .fd = proc->ctl_fd, .events = POLLIN },
                        { .fd = sfd, .events = POLLIN },
                };
                if (poll(pfd, 2, -1) < 0) {
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
                if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                        InitMsg m;
                        int r = sandbox_process_read(proc, &m);
                        if (r < 0)
                                return r;
                        if (r == 0)
                                break;
                        if (m.type == INIT_MSG_SETUP_FAILED || m.type == INIT_MSG_EXITED) {
                                sandbox_result_from_msg(&m, &res);
                                have_result = true;
                        }
                }
        }

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

static int verb_run(int argc, char **argv) {
        _cleanup_(sandbox_prepared_done) SandboxPrepared prep = { .landlock_fd = -1, .narrow_fd = -1 };
        _cleanup_close_ int out_fd = -1, err_fd = -1;
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

        if (!s->user) {
                char uid[16];
                snprintf(uid, sizeof(uid), "%u", (unsigned) getuid());
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

        r = spec_resolve_command(s, &err);
        if (r < 0) {
                error_line("%s", err.msg);
                code = r == -ENOENT ? 127 : 126;
                goto finish;
        }

        s->stdin_fd = STDIN_FILENO;
        s->stdout_fd = STDOUT_FILENO;
        s->stderr_fd = STDERR_FILENO;
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

        r = sandbox_prepare(s, &prep, &err);
        if (r < 0) {
                error_line("%s", err.msg);
                code = EXIT_SETUP;
                goto finish;
        }

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

        r = sandbox_spawn(s, &prep, SPAWN_DIE_WITH_PARENT, &proc, &err);
        if (r < 0) {
                error_line("%s", err.msg);
                code = EXIT_SETUP;
                goto finish;
        }

        r = forward_signals_and_wait(&proc, &mask, &res);
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

finish:
        strv_free(a.env_extra);
        sandbox_spec_done(s);
        return code;
}

int main(int argc, char **argv) {
        if (argc < 2) {
                help();
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
        if (streq(argv[1], "run"))
                return verb_run(argc - 1, argv + 1);

        error_line("'%s': unknown command (try --help)", argv[1]);
        return EXIT_USAGE;
}
