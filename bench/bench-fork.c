/* SPDX-License-Identifier: MIT */
/* bench/bench-fork.c: fork (or vfork) + execve + wait of a command, N times, from one process;
 * prints median, p10 and p90. Without --vfork and with /bin/true this is the floor every
 * sandbox is compared with; with a sandboxer as the command (bwrap, unshare, sandboxctl run,
 * the pledge/exec2 chain) it times that sandboxer the same way, without a shell in between.
 *
 *   bench-fork [OPTIONS] N [PROGRAM [ARG...]]       (default PROGRAM: /bin/true)
 *     --vfork          vfork() instead of fork()
 *     --time LIMIT     stop after LIMIT seconds even if fewer than N runs were made
 *     --fd N:PATH      the child opens PATH read-only as fd N before the exec (bwrap --seccomp N:
 *                      a fresh open file description per run, so every run reads from offset 0)
 *     --quiet          the command's stdout goes to /dev/null (stderr is kept: why a run failed)
 *     --raw            one line: n=… median_us=… p10_us=… p90_us=… failed=… first_status=…
 * A run whose command exits non-zero counts as failed; the figures include only successful
 * runs. Nothing is asserted: the exit code is 0 whenever the loop ran. */
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "timing.h"

extern char **environ;

/* The fork (or vfork) and the child's side, in a frame of its own: nothing in main() is live
 * across a vfork(). The child only calls async-signal-safe functions. */
static pid_t start_child(bool use_vfork, int null_fd, int child_fd, const char *child_fd_path, char **cmd) {
        pid_t p = use_vfork ? vfork() : fork();
        if (p == 0) {
                if (null_fd >= 0 && dup2(null_fd, 1) < 0)
                        _exit(126);
                if (child_fd >= 0) {
                        int fd = open(child_fd_path, O_RDONLY);
                        if (fd < 0 || (fd != child_fd && dup2(fd, child_fd) < 0))
                                _exit(126);
                }
                execvp(cmd[0], cmd);
                _exit(127);
        }
        return p;
}

static void usage(void) {
        fprintf(stderr, "usage: bench-fork [--vfork] [--time SECONDS] [--fd N:PATH] [--quiet] [--raw] N "
                        "[PROGRAM [ARG...]]\n");
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "vfork", no_argument, NULL, 'v' },
                { "time", required_argument, NULL, 't' },
                { "fd", required_argument, NULL, 'f' },
                { "quiet", no_argument, NULL, 'q' },
                { "raw", no_argument, NULL, 'r' },
                {}
        };
        bool use_vfork = false, quiet = false, raw = false;
        double limit = 0;
        int child_fd = -1;
        const char *child_fd_path = NULL;
        int c;

        while ((c = getopt_long(argc, argv, "+", opts, NULL)) >= 0) {
                switch (c) {
                case 'v':
                        use_vfork = true;
                        break;
                case 't':
                        limit = atof(optarg);
                        break;
                case 'f': {
                        char *colon = strchr(optarg, ':');
                        if (!colon || colon == optarg || !colon[1]) {
                                fprintf(stderr, "bench-fork: --fd '%s': expected N:PATH\n", optarg);
                                return 2;
                        }
                        child_fd = atoi(optarg);
                        child_fd_path = colon + 1;
                        break;
                }
                case 'q':
                        quiet = true;
                        break;
                case 'r':
                        raw = true;
                        break;
                default:
                        usage();
                        return 2;
                }
        }
        if (optind >= argc) {
                usage();
                return 2;
        }
        int n = atoi(argv[optind]);
        if (n < 1) {
                fprintf(stderr, "bench-fork: N must be at least 1\n");
                return 2;
        }
        char *def[] = { (char *) "/bin/true", NULL };
        char **cmd = optind + 1 < argc ? argv + optind + 1 : def;

        int null_fd = quiet ? open("/dev/null", O_WRONLY | O_CLOEXEC) : -1;
        long long *lat = calloc((size_t) n, sizeof(long long));
        if (!lat)
                return 1;
        int ok = 0, failed = 0, first_status = 0;
        long long deadline = limit > 0 ? now_ns() + (long long) (limit * 1e9) : 0;

        for (int i = 0; i < n; i++) {
                if (deadline && now_ns() > deadline)
                        break;
                long long t = now_ns();
                pid_t p = start_child(use_vfork, null_fd, child_fd, child_fd_path, cmd);
                if (p < 0) {
                        perror("bench-fork: fork");
                        break;
                }
                int st;
                if (waitpid(p, &st, 0) < 0) {
                        perror("bench-fork: waitpid");
                        break;
                }
                long long d = now_ns() - t;
                if (st != 0) {
                        if (failed++ == 0)
                                first_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                        continue;
                }
                lat[ok++] = d;
        }

        if (ok == 0) {
                if (raw)
                        printf("n=0 median_us=0 p10_us=0 p90_us=0 failed=%d first_status=%d\n", failed, first_status);
                else
                        printf("%s: every run failed (%d, first exit status %d)\n", cmd[0], failed, first_status);
                free(lat);
                return 0;
        }
        double med, p10, p90;
        latency_summary(lat, ok, &med, &p10, &p90);
        if (raw)
                latency_print_raw(ok, med, p10, p90, failed, first_status);
        else
                printf("%s+exec+wait of %s: n=%d median %.3f ms, p10 %.3f ms, p90 %.3f ms%s\n",
                       use_vfork ? "vfork" : "fork", cmd[0], ok, med / 1000, p10 / 1000, p90 / 1000,
                       failed ? " (some runs failed)" : "");
        free(lat);
        return 0;
}
