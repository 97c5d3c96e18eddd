/* SPDX-License-Identifier: MIT */
/* bench/bench-fork.c: the floor: fork + execve + wait of a program, N times, in one process;
 * prints median, p10 and p90.   bench-fork N [PROGRAM] (default /bin/true) */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long now_us(void) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

static int cmp(const void *a, const void *b) {
        long long x = *(const long long *) a, y = *(const long long *) b;
        return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
        if (argc < 2) {
                fprintf(stderr, "usage: bench-fork N [PROGRAM]\n");
                return 2;
        }
        int n = atoi(argv[1]);
        char *prog = argc > 2 ? argv[2] : (char *) "/bin/true";
        char *args[] = { prog, NULL };
        long long *lat = calloc((size_t) n, sizeof(long long));
        for (int i = 0; i < n; i++) {
                long long t = now_us();
                pid_t p = fork();
                if (p == 0) {
                        execve(prog, args, environ);
                        _exit(127);
                }
                int st;
                waitpid(p, &st, 0);
                lat[i] = now_us() - t;
        }
        qsort(lat, (size_t) n, sizeof(long long), cmp);
        printf("fork+exec+wait of %s: n=%d median %.2f ms, p10 %.2f ms, p90 %.2f ms\n", prog, n, lat[n / 2] / 1000.0,
               lat[n / 10] / 1000.0, lat[n * 9 / 10] / 1000.0);
        free(lat);
        return 0;
}
