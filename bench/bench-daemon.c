/* SPDX-License-Identifier: MIT */
/* bench/bench-daemon.c: start + wait (+ destroy) of a task through sandboxd's socket, from one
 * connection, N times; prints per-iteration latency (median, p10, p90) and starts per second.
 *   bench-daemon SOCKET N [COMMAND...]     (default COMMAND: /bin/true)
 * Several processes in parallel measure throughput with concurrent clients. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "macro.h"

static uint64_t now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static int cmp(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static int call(SandboxdClient *c, Sandboxd__V1__Request *req, const int *fds, size_t n) {
        SbxError err = {};
        Frame *f = NULL;
        int r = sandboxd_call(c, req, fds, n, &f, &err);
        if (r < 0)
                fprintf(stderr, "bench-daemon: %s\n", err.msg);
        frame_free(f);
        return r;
}

int main(int argc, char **argv) {
        if (argc < 3) {
                fprintf(stderr, "usage: bench-daemon SOCKET N [COMMAND...]\n");
                return 2;
        }
        int n = atoi(argv[2]);
        char *def[] = { (char *) "/bin/true", NULL };
        char **cmd = argc > 3 ? argv + 3 : def;
        SandboxdClient c;
        SbxError err = {};
        if (sandboxd_connect(argv[1], "", "bench-daemon", &c, &err) < 0) {
                fprintf(stderr, "bench-daemon: %s\n", err.msg);
                return 1;
        }
        uint64_t *lat = calloc((size_t) n, sizeof(uint64_t));
        char *env[] = { (char *) "PATH=/usr/bin:/bin", NULL };
        int null_in = open("/dev/null", O_RDONLY | O_CLOEXEC), null_out = open("/dev/null", O_WRONLY | O_CLOEXEC);
        int fds[3] = { null_in, null_out, null_out };
        uint64_t t0 = now_us();
        for (int i = 0; i < n; i++) {
                char name[64];
                snprintf(name, sizeof(name), "bench-%d-%d", (int) getpid(), i);
                Sandboxd__V1__StartRequest sr = SANDBOXD__V1__START_REQUEST__INIT;
                sr.name = name;
                sr.argv = cmd;
                sr.n_argv = strv_length(cmd);
                sr.env = env;
                sr.n_env = 1;
                sr.passed_fds = 3;
                Sandboxd__V1__TaskRef ref = SANDBOXD__V1__TASK_REF__INIT;
                ref.name = name;
                Sandboxd__V1__DestroyRequest dr = SANDBOXD__V1__DESTROY_REQUEST__INIT;
                dr.name = name;
                Sandboxd__V1__Request req = SANDBOXD__V1__REQUEST__INIT;

                uint64_t a = now_us();
                req.op_case = SANDBOXD__V1__REQUEST__OP_START;
                req.start = &sr;
                if (call(&c, &req, fds, 3) < 0)
                        return 1;
                req = (Sandboxd__V1__Request) SANDBOXD__V1__REQUEST__INIT;
                req.op_case = SANDBOXD__V1__REQUEST__OP_WAIT;
                req.wait = &ref;
                if (call(&c, &req, NULL, 0) < 0)
                        return 1;
                lat[i] = now_us() - a;
                req = (Sandboxd__V1__Request) SANDBOXD__V1__REQUEST__INIT;
                req.op_case = SANDBOXD__V1__REQUEST__OP_DESTROY;
                req.destroy = &dr;
                if (call(&c, &req, NULL, 0) < 0)
                        return 1;
        }
        uint64_t total = now_us() - t0;
        qsort(lat, (size_t) n, sizeof(uint64_t), cmp);
        printf("start+wait of %s: n=%d median %.2f ms, p10 %.2f ms, p90 %.2f ms; %.1f starts/s (incl. destroy)\n", cmd[0],
               n, lat[n / 2] / 1000.0, lat[n / 10] / 1000.0, lat[n * 9 / 10] / 1000.0, n * 1e6 / (double) total);
        sandboxd_disconnect(&c);
        free(lat);
        return 0;
}
