/* SPDX-License-Identifier: MIT */
/* bench/bench-spawn.c: the spawn library itself (libsandbox: sandbox_plan + sandbox_prepare +
 * sandbox_spawn + waiting for the init's report), N times in one process: the sandbox's cost without
 * sandboxctl's own process start or sandboxd's socket and cgroup work. What sandboxctl run does,
 * minus argument parsing and signal forwarding:
 *   5 namespaces (pid, mount, ipc, uts, net: an empty one), Landlock with the default unveil set,
 *   the seccomp filters for --promises (none without it), the task as --user.
 *
 *   bench-spawn [-p PROMISES] [-U USER] [-t SECONDS] [-H] [--raw] N [PROGRAM [ARG...]]
 * -H (--host-view): the host's /dev and /run instead of the task's own view (what the view costs).
 * Needs root. Prints median, p10 and p90 of a whole prepare + spawn + wait cycle. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "promises.h"
#include "spawn.h"
#include "timing.h"
#include "util.h"

static bool host_view;

/* One cycle; returns the task's shell-style exit code, or -1 with a message printed. */
static int cycle(const char *promises, const char *user, char **cmd, int null_fd) {
        _cleanup_(sandbox_prepared_done) SandboxPrepared prep = SANDBOX_PREPARED_INIT;
        SandboxProcess proc = { .pidfd = -1, .ctl_fd = -1 };
        SandboxSpec s;
        SbxError err = {};
        SandboxResult res = {};
        bool have = false;
        int r, code = -1;

        sandbox_spec_init(&s);
        if (promises) {
                if (promises_parse(promises, &s.promises, &err) < 0)
                        goto fail;
                s.has_promises = true;
        }
        if (spec_set_user(&s, user, &err) < 0)
                goto fail;
        strv_push(&s.env, "PATH=/usr/bin:/bin");
        s.cwd = xstrdup("/");
        s.host_view = host_view;
        unveil_list_add_defaults(&s.unveil);
        s.argv = strv_copy(cmd);
        if (spec_resolve_command(&s, &err) < 0)
                goto fail;
        s.stdin_fd = null_fd;
        s.stdout_fd = null_fd;
        s.stderr_fd = null_fd;
        if (sandbox_plan(&s, &prep, &err) < 0 || sandbox_prepare(&s, &prep, &err) < 0)
                goto fail;
        SpawnOptions opts = SPAWN_OPTIONS_INIT;
        opts.flags = SPAWN_DIE_WITH_PARENT;
        if (sandbox_spawn(&s, &prep, &opts, &proc, &err) < 0)
                goto fail;
        for (;;) {
                InitMsg m;
                r = sandbox_process_read(&proc, &m, NULL);
                if (r <= 0)
                        break;
                if (m.type == INIT_MSG_SETUP_FAILED || m.type == INIT_MSG_EXITED) {
                        sandbox_result_from_msg(&m, &res);
                        have = true;
                }
        }
        siginfo_t si = {};
        if (waitid((idtype_t) P_PIDFD, (id_t) proc.pidfd, &si, WEXITED) < 0) {
                perror("bench-spawn: waitid");
                goto done;
        }
        if (!have)
                sandbox_result_from_init_status(si.si_code == CLD_EXITED ? W_EXITCODE(si.si_status, 0) : si.si_status,
                                                &res);
        if (res.kind == RESULT_SETUP_FAILED) {
                char msg[SBX_ERROR_MAX + 128];
                sandbox_result_describe(&res, &s, &prep, msg, sizeof(msg));
                fprintf(stderr, "bench-spawn: %s\n", msg);
        }
        code = sandbox_result_exit_code(&res);
        goto done;
fail:
        fprintf(stderr, "bench-spawn: %s\n", err.msg);
done:
        sandbox_process_done(&proc);
        sandbox_spec_done(&s);
        return code;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "promises", required_argument, NULL, 'p' },
                { "user", required_argument, NULL, 'U' },
                { "time", required_argument, NULL, 't' },
                { "raw", no_argument, NULL, 'r' },
                { "host-view", no_argument, NULL, 'H' },
                {}
        };
        const char *promises = NULL, *user = "nobody";
        double limit = 0;
        bool raw = false;
        int c;

        while ((c = getopt_long(argc, argv, "+p:U:t:rH", opts, NULL)) >= 0) {
                switch (c) {
                case 'p':
                        promises = optarg;
                        break;
                case 'U':
                        user = optarg;
                        break;
                case 't':
                        limit = atof(optarg);
                        break;
                case 'r':
                        raw = true;
                        break;
                case 'H':
                        host_view = true;
                        break;
                default:
                        fprintf(stderr, "usage: bench-spawn [-p PROMISES] [-U USER] [-t SECONDS] [-H] [--raw] N "
                                        "[PROGRAM [ARG...]]\n");
                        return 2;
                }
        }
        if (optind >= argc || atoi(argv[optind]) < 1) {
                fprintf(stderr, "bench-spawn: missing N\n");
                return 2;
        }
        int n = atoi(argv[optind]);
        char *def[] = { (char *) "/bin/true", NULL };
        char **cmd = optind + 1 < argc ? argv + optind + 1 : def;
        int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        long long *lat = calloc((size_t) n, sizeof(long long));
        if (null_fd < 0 || !lat)
                return 1;

        long long deadline = limit > 0 ? now_ns() + (long long) (limit * 1e9) : 0;
        int ok = 0, failed = 0, first_status = 0;
        for (int i = 0; i < n; i++) {
                if (deadline && now_ns() > deadline)
                        break;
                long long t = now_ns();
                int code = cycle(promises, user, cmd, null_fd);
                long long d = now_ns() - t;
                if (code != 0) {
                        if (failed++ == 0)
                                first_status = code;
                        if (code < 0)
                                break;
                        continue;
                }
                lat[ok++] = d;
        }
        if (ok == 0) {
                printf(raw ? "n=0 median_us=0 p10_us=0 p90_us=0 failed=%d first_status=%d\n"
                           : "every run failed (%d, first exit status %d)\n",
                       failed, first_status);
                free(lat);
                return 1;
        }
        double med, p10, p90;
        latency_summary(lat, ok, &med, &p10, &p90);
        if (raw)
                latency_print_raw(ok, med, p10, p90, failed, first_status);
        else
                printf("spawn library, %s%s: n=%d median %.3f ms, p10 %.3f ms, p90 %.3f ms\n",
                       promises ? promises : "no filter", host_view ? ", host view" : "", ok, med / 1000, p10 / 1000,
                       p90 / 1000);
        free(lat);
        return 0;
}
