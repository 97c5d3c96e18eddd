/* SPDX-License-Identifier: MIT */
/* bench/bench-syscall.c: the cost of a syscall under whatever seccomp filters the process
 * runs with. Run it bare for the baseline and under `sandboxctl run --promises ...` for the
 * filter a task gets (a static build sees the exact promises from the start; a dynamic one
 * also carries the launch filter and the preload's narrowing filter, as dynamic tasks do).
 *   bench-syscall [-n CALLS] [-r ROUNDS] [-c]
 * -c: the thread's CPU time (CLOCK_THREAD_CPUTIME_ID) instead of the wall clock, so time the
 * process spends preempted on a busy machine does not count.
 * For each call: ROUNDS rounds of CALLS calls (mmap+munmap: CALLS/10); prints per line
 *   NAME median_ns=… min_ns=… max_ns=…   (ns per call over the rounds)
 * getppid and read(fd, buf, 0) are plain calls every promise set allows; fcntl(F_GETFD) and
 * mmap+munmap of one page are argument-checked by the pledge filters (command, prot flags);
 * openat+close of /dev/null is argument-checked by the baseline filter too (set-id modes with
 * O_CREAT), so the kernel's seccomp action cache cannot skip it. mknodat with a bad pointer is
 * refused by most promise sets (EPERM): in the kernel without explaining (--no-explain), with a
 * round trip to the sandbox's init that explains it otherwise (CALLS/100). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "timing.h"

typedef enum Call { CALL_GETPPID, CALL_READ0, CALL_FCNTL, CALL_MMAP, CALL_OPEN, CALL_DENIED, _CALL_MAX } Call;

static const char *const call_names[_CALL_MAX] = {
        [CALL_GETPPID] = "getppid",
        [CALL_READ0] = "read0",
        [CALL_FCNTL] = "fcntl_getfd",
        [CALL_MMAP] = "mmap_munmap",
        [CALL_OPEN] = "open_close",
        [CALL_DENIED] = "denied_mknodat",
};

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

/* Returns the number of failed calls (expected 0). */
static long run(Call c, long n, int fd) {
        long failed = 0;
        char buf[1];

        for (long i = 0; i < n; i++) {
                switch (c) {
                case CALL_GETPPID:
                        if (getppid() < 0)
                                failed++;
                        break;
                case CALL_READ0:
                        if (read(fd, buf, 0) < 0)
                                failed++;
                        break;
                case CALL_FCNTL:
                        if (fcntl(fd, F_GETFD) < 0)
                                failed++;
                        break;
                case CALL_MMAP: {
                        void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                        if (p == MAP_FAILED || munmap(p, 4096) < 0)
                                failed++;
                        break;
                }
                case CALL_OPEN: {
                        int f = open("/dev/null", O_RDONLY | O_CLOEXEC);
                        if (f < 0 || close(f) < 0)
                                failed++;
                        break;
                }
                case CALL_DENIED:
                        /* EPERM from a filter, EFAULT from the kernel without one */
                        if (syscall(SYS_mknodat, -1, (void *) 1, 0, 0) == 0 || (errno != EPERM && errno != EFAULT))
                                failed++;
                        break;
                case _CALL_MAX:
                default:
                        abort();
                }
        }
        return failed;
}

static clockid_t clock_id = CLOCK_MONOTONIC;

static long long clock_ns(void) {
        struct timespec t;
        clock_gettime(clock_id, &t);
        return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv) {
        long n = 200000;
        int rounds = 9, c;

        while ((c = getopt(argc, argv, "n:r:c")) >= 0) {
                switch (c) {
                case 'n':
                        n = atol(optarg);
                        break;
                case 'r':
                        rounds = atoi(optarg);
                        break;
                case 'c':
                        clock_id = CLOCK_THREAD_CPUTIME_ID;
                        break;
                default:
                        fprintf(stderr, "usage: bench-syscall [-n CALLS] [-r ROUNDS] [-c]\n");
                        return 2;
                }
        }
        if (n < 1 || rounds < 1 || rounds > 1000) {
                fprintf(stderr, "bench-syscall: bad -n or -r\n");
                return 2;
        }
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) {
                perror("bench-syscall: pipe2");
                return 1;
        }
        double ns[1000];
        for (Call k = 0; k < _CALL_MAX; k++) {
                /* mmap+munmap and open+close cost some 10-20 plain calls: a tenth of the iterations */
                long calls = k == CALL_MMAP || k == CALL_OPEN ? (n / 10 > 0 ? n / 10 : 1) : n;
                if (k == CALL_DENIED) /* a round trip to the init when explained */
                        calls = n / 100 > 0 ? n / 100 : 1;
                long failed = run(k, calls / 10, p[0]); /* warm-up */
                for (int r = 0; r < rounds; r++) {
                        long long t = clock_ns();
                        failed += run(k, calls, p[0]);
                        ns[r] = (double) (clock_ns() - t) / (double) calls;
                }
                qsort(ns, (size_t) rounds, sizeof(double), cmp_double);
                printf("%s median_ns=%.1f min_ns=%.1f max_ns=%.1f failed=%ld\n", call_names[k], ns[rounds / 2], ns[0],
                       ns[rounds - 1], failed);
        }
        return 0;
}
