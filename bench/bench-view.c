/* SPDX-License-Identifier: MIT */
/* bench/bench-view.c: what each step of the task's view costs (docs/task-view.md), as the
 * sandbox init makes them: in a fresh mount and pid namespace, N times, each step timed on its
 * own. The same system calls as init_view() in daemon/lib/spawn.c, without the rest of a sandbox;
 * bench-spawn -H against bench-spawn gives the whole view's share of a start.
 *
 *   bench-view [N]        (default 200; needs root)
 * Prints the median of each step and of their sum, in µs, and of the whole child from clone to
 * reaped (the namespace's teardown included) against a child that mounts only /proc. */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "timing.h"

enum { S_PROC, S_DEV, S_NODES, S_DEVPTS, S_SHM, S_LINKS, S_DEV_RO, S_MASKS, S_SYS_RO, S_RUN, S_TMP, S_MAX };
static const char *const step_name[S_MAX] = {
        [S_PROC] = "mount /proc",
        [S_DEV] = "tmpfs on /dev",
        [S_NODES] = "7 device nodes (mknod)",
        [S_DEVPTS] = "devpts on /dev/pts",
        [S_SHM] = "tmpfs on /dev/shm",
        [S_LINKS] = "4 links (fd, stdin...)",
        [S_DEV_RO] = "/dev read-only",
        [S_MASKS] = "masked /proc files (binds)",
        [S_SYS_RO] = "/proc/sys read-only (2)",
        [S_RUN] = "tmpfs on /run",
        [S_TMP] = "tmpfs on /tmp (private)",
};

static long long step_start;
static void step(long long *t, int s) {
        long long now = now_ns();
        t[s] = now - step_start;
        step_start = now_ns();
}

/* In the child: every step, each timed; -1 on a failure. */
static int view(long long *t) {
        static const struct {
                const char *name;
                unsigned major, minor;
        } nodes[] = { { "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },   { "random", 1, 8 },
                      { "urandom", 1, 9 }, { "tty", 5, 0 }, { "ptmx", 5, 2 } };
        static const char *const links[][2] = {
                { "/proc/self/fd", "/dev/fd" }, { "/proc/self/fd/0", "/dev/stdin" },
                { "/proc/self/fd/1", "/dev/stdout" }, { "/proc/self/fd/2", "/dev/stderr" } };
        static const char *const masked[] = { "/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sysrq-trigger",
                                              "/proc/sched_debug", "/proc/latency_stats" };
        char path[64];

        (void) umask(0);
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                return -1;
        step_start = now_ns();
        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                return -1;
        step(t, S_PROC);
        if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k,nr_inodes=64") < 0)
                return -1;
        step(t, S_DEV);
        for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
                snprintf(path, sizeof(path), "/dev/%s", nodes[i].name);
                if (mknod(path, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)) < 0)
                        return -1;
        }
        step(t, S_NODES);
        if (mkdir("/dev/pts", 0755) < 0 ||
            mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0000,mode=0620") < 0)
                return -1;
        step(t, S_DEVPTS);
        if (mkdir("/dev/shm", 01777) < 0 || mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
                return -1;
        step(t, S_SHM);
        for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
                if (symlink(links[i][0], links[i][1]) < 0)
                        return -1;
        step(t, S_LINKS);
        if (mount(NULL, "/dev", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL) < 0)
                return -1;
        step(t, S_DEV_RO);
        for (size_t i = 0; i < sizeof(masked) / sizeof(masked[0]); i++)
                if (access(masked[i], F_OK) == 0 && mount("/dev/null", masked[i], NULL, MS_BIND, NULL) < 0)
                        return -1;
        step(t, S_MASKS);
        if (mount("/proc/sys", "/proc/sys", NULL, MS_BIND | MS_REC, NULL) < 0 ||
            mount(NULL, "/proc/sys", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                return -1;
        step(t, S_SYS_RO);
        if (mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k,nr_inodes=256") < 0)
                return -1;
        step(t, S_RUN);
        if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
                return -1;
        step(t, S_TMP);
        return 0;
}

/* A child that mounts only /proc (what a sandbox without the view does), clone to reaped. */
static long long baseline_child(void) {
        long long t = now_ns();
        pid_t pid = (pid_t) syscall(SYS_clone, CLONE_NEWNS | CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, 0);
        if (pid == 0)
                _exit(mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0 ||
                      mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0);
        int st;
        if (pid < 0 || waitpid(pid, &st, 0) < 0 || st != 0)
                return -1;
        return now_ns() - t;
}

int main(int argc, char **argv) {
        int n = argc > 1 ? atoi(argv[1]) : 200;
        if (n < 1) {
                fprintf(stderr, "usage: bench-view [N]\n");
                return 2;
        }
        long long *all = calloc((size_t) n * (S_MAX + 3), sizeof(long long));
        if (!all)
                return 1;
        for (int i = 0; i < n; i++) {
                int p[2];
                long long t[S_MAX] = {};
                all[(size_t) (S_MAX + 2) * n + i] = baseline_child();
                if (all[(size_t) (S_MAX + 2) * n + i] < 0) {
                        fprintf(stderr, "bench-view: the baseline child failed (run as root)\n");
                        return 1;
                }
                long long t0 = now_ns();
                if (pipe(p) < 0)
                        return 1;
                pid_t pid = (pid_t) syscall(SYS_clone, CLONE_NEWNS | CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, 0);
                if (pid < 0) {
                        perror("bench-view: clone");
                        return 1;
                }
                if (pid == 0) {
                        int r = view(t);
                        _exit(r < 0 || write(p[1], t, sizeof(t)) != sizeof(t) ? 1 : 0);
                }
                (void) close(p[1]);
                ssize_t k = read(p[0], t, sizeof(t));
                (void) close(p[0]);
                int st;
                (void) waitpid(pid, &st, 0);
                all[(size_t) (S_MAX + 1) * n + i] = now_ns() - t0;
                if (k != sizeof(t)) {
                        fprintf(stderr, "bench-view: a step failed (run as root)\n");
                        return 1;
                }
                long long sum = 0;
                for (int s = 0; s < S_MAX; s++) {
                        all[(size_t) s * n + i] = t[s];
                        sum += t[s];
                }
                all[(size_t) S_MAX * n + i] = sum;
        }
        static const char *const total_name[] = { "all of them", "the child, clone to reaped",
                                                  "... with /proc only (baseline)" };
        for (int s = 0; s < S_MAX + 3; s++) {
                double med, p10, p90;
                latency_summary(all + (size_t) s * n, n, &med, &p10, &p90);
                printf("%-30s median %7.1f us  p10 %7.1f  p90 %7.1f\n", s < S_MAX ? step_name[s] : total_name[s - S_MAX],
                       med, p10, p90);
        }
        free(all);
        return 0;
}
