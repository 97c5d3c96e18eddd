/* SPDX-License-Identifier: MIT */
/* bench/bench-daemon.c: tasks through sandboxd's socket.
 *
 *   bench-daemon [OPTIONS] SOCKET N [COMMAND...]      (default COMMAND: /bin/true)
 * Latency and throughput: C clients (processes, each with its own connection) each run up to N
 * cycles of start + wait + destroy; start + wait is timed per cycle. Prints the latency (median,
 * p10, p90 over every cycle of every client) and the cycles per second of all clients together.
 *   -c, --clients C        concurrent clients (default 1)
 *   -t, --time SECONDS     each client stops after SECONDS even if it made fewer than N cycles
 *   -p, --promises STRING  the task's promises (default none: no syscall filter)
 *   -u, --unveil L:PATH    an unveil rule for the task (repeatable); the default set is kept
 *   -r, --raw              one line: n=… median_us=… p10_us=… p90_us=… per_s=… clients=…
 * Scale: --scale starts N tasks named bench-scale-0 … bench-scale-(N-1) running COMMAND (e.g.
 * /bin/sleep 3600) and leaves them; --destroy-scale force-destroys those names (missing ones
 * are ignored). Both print the time taken. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "macro.h"
#include "util.h"

#define MAX_UNVEIL 16
#define MAX_CLIENTS 64

static const char *arg_promises;
static char *arg_unveil[MAX_UNVEIL];
static size_t arg_n_unveil;

static uint64_t now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static int cmp(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static int call(SandboxdClient *c, Sandboxd__V1__Request *req, const int *fds, size_t n, bool quiet) {
        SbxError err = {};
        Frame *f = NULL;
        int r = sandboxd_call(c, req, fds, n, &f, &err);
        if (r < 0 && !quiet)
                fprintf(stderr, "bench-daemon: %s\n", err.msg);
        frame_free(f);
        return r;
}

static int start_task(SandboxdClient *c, const char *name, char **cmd, const int fds[3]) {
        char *env[] = { (char *) "PATH=/usr/bin:/bin", NULL };
        Sandboxd__V1__StartRequest sr = SANDBOXD__V1__START_REQUEST__INIT;
        sr.name = (char *) name;
        sr.argv = cmd;
        sr.n_argv = strv_length(cmd);
        sr.env = env;
        sr.n_env = 1;
        sr.passed_fds = 3;
        sr.net = (char *) "none";
        if (arg_promises) {
                sr.has_promises = true;
                sr.promises = (char *) arg_promises;
        }
        sr.unveil = arg_unveil;
        sr.n_unveil = arg_n_unveil;
        Sandboxd__V1__Request req = SANDBOXD__V1__REQUEST__INIT;
        req.op_case = SANDBOXD__V1__REQUEST__OP_START;
        req.start = &sr;
        return call(c, &req, fds, 3, false);
}

static int wait_task(SandboxdClient *c, const char *name) {
        Sandboxd__V1__TaskRef ref = SANDBOXD__V1__TASK_REF__INIT;
        ref.name = (char *) name;
        Sandboxd__V1__Request req = SANDBOXD__V1__REQUEST__INIT;
        req.op_case = SANDBOXD__V1__REQUEST__OP_WAIT;
        req.wait = &ref;
        return call(c, &req, NULL, 0, false);
}

static int destroy_task(SandboxdClient *c, const char *name, bool force) {
        Sandboxd__V1__DestroyRequest dr = SANDBOXD__V1__DESTROY_REQUEST__INIT;
        dr.name = (char *) name;
        dr.force = force;
        Sandboxd__V1__Request req = SANDBOXD__V1__REQUEST__INIT;
        req.op_case = SANDBOXD__V1__REQUEST__OP_DESTROY;
        req.destroy = &dr;
        return call(c, &req, NULL, 0, force);
}

static int connect_or_complain(const char *socket_path, SandboxdClient *c) {
        SbxError err = {};
        if (sandboxd_connect(socket_path, "", "bench-daemon", c, &err) < 0) {
                fprintf(stderr, "bench-daemon: %s\n", err.msg);
                return -1;
        }
        return 0;
}

/* One client: waits for the go byte, runs its cycles, writes the count and the latencies to
 * out_fd. Returns the process exit code. */
static int client(const char *socket_path, int id, int n, double limit, char **cmd, int go_fd, int out_fd) {
        SandboxdClient c;
        if (connect_or_complain(socket_path, &c) < 0)
                return 1;
        uint64_t *lat = calloc((size_t) n, sizeof(uint64_t));
        int null_in = open("/dev/null", O_RDONLY | O_CLOEXEC), null_out = open("/dev/null", O_WRONLY | O_CLOEXEC);
        int fds[3] = { null_in, null_out, null_out };
        char go;
        if (!lat || null_in < 0 || null_out < 0 || read(go_fd, &go, 1) < 0)
                return 1;

        uint64_t deadline = limit > 0 ? now_us() + (uint64_t) (limit * 1e6) : 0;
        int done = 0, rc = 0;
        for (int i = 0; i < n; i++) {
                if (deadline && now_us() > deadline)
                        break;
                char name[64];
                snprintf(name, sizeof(name), "bench-%d-%d-%d", (int) getpid(), id, i);
                uint64_t a = now_us();
                if (start_task(&c, name, cmd, fds) < 0 || wait_task(&c, name) < 0) {
                        rc = 1;
                        break;
                }
                lat[done++] = now_us() - a;
                if (destroy_task(&c, name, false) < 0) {
                        rc = 1;
                        break;
                }
        }
        uint32_t count = (uint32_t) done;
        if (write(out_fd, &count, sizeof(count)) != sizeof(count) ||
            write(out_fd, lat, sizeof(uint64_t) * count) != (ssize_t) (sizeof(uint64_t) * count))
                rc = 1;
        sandboxd_disconnect(&c);
        free(lat);
        return rc;
}

static int read_full(int fd, void *buf, size_t size) {
        char *p = buf;
        while (size > 0) {
                ssize_t k = read(fd, p, size);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return -1;
                p += k;
                size -= (size_t) k;
        }
        return 0;
}

static int run_clients(const char *socket_path, int clients, int n, double limit, char **cmd, bool raw) {
        int go[2], out[MAX_CLIENTS][2];
        pid_t pids[MAX_CLIENTS];

        if (pipe2(go, O_CLOEXEC) < 0)
                return 1;
        /* One result pipe per client: two writes of several clients into one pipe could
         * interleave. */
        for (int k = 0; k < clients; k++) {
                if (pipe2(out[k], O_CLOEXEC) < 0)
                        return 1;
                pids[k] = fork();
                if (pids[k] < 0)
                        return 1;
                if (pids[k] == 0) {
                        (void) close(go[1]);
                        (void) close(out[k][0]);
                        _exit(client(socket_path, k, n, limit, cmd, go[0], out[k][1]));
                }
                (void) close(out[k][1]);
        }
        (void) close(go[0]);
        /* Every client has connected (or failed) before the clock starts: closing the go pipe
         * releases them all at once. Connecting is not part of the figure. */
        usleep(100000);
        uint64_t t0 = now_us();
        (void) close(go[1]);

        uint64_t *all = calloc((size_t) n * (size_t) clients, sizeof(uint64_t));
        size_t total = 0;
        int failed = 0;
        if (!all)
                return 1;
        for (int k = 0; k < clients; k++) {
                uint32_t count;
                if (read_full(out[k][0], &count, sizeof(count)) == 0 && count <= (uint32_t) n &&
                    read_full(out[k][0], all + total, sizeof(uint64_t) * count) == 0)
                        total += count;
                (void) close(out[k][0]);
        }
        for (int k = 0; k < clients; k++) {
                int st;
                if (waitpid(pids[k], &st, 0) < 0 || st != 0)
                        failed++;
        }
        uint64_t wall = now_us() - t0;
        if (total == 0) {
                fprintf(stderr, "bench-daemon: no cycle completed\n");
                free(all);
                return 1;
        }
        qsort(all, total, sizeof(uint64_t), cmp);
        double per_s = (double) total * 1e6 / (double) wall;
        if (raw)
                printf("n=%zu median_us=%" PRIu64 " p10_us=%" PRIu64 " p90_us=%" PRIu64 " per_s=%.1f clients=%d "
                       "failed_clients=%d\n",
                       total, all[total / 2], all[total / 10], all[total * 9 / 10], per_s, clients, failed);
        else
                printf("start+wait of %s, %d client(s): n=%zu median %.2f ms, p10 %.2f ms, p90 %.2f ms; "
                       "%.1f starts/s (start+wait+destroy)%s\n",
                       cmd[0], clients, total, all[total / 2] / 1000.0, all[total / 10] / 1000.0,
                       all[total * 9 / 10] / 1000.0, per_s, failed ? "; some clients failed" : "");
        free(all);
        return failed ? 1 : 0;
}

static int scale(const char *socket_path, int n, char **cmd, bool destroy) {
        SandboxdClient c;
        if (connect_or_complain(socket_path, &c) < 0)
                return 1;
        int null_in = open("/dev/null", O_RDONLY | O_CLOEXEC), null_out = open("/dev/null", O_WRONLY | O_CLOEXEC);
        int fds[3] = { null_in, null_out, null_out };
        int ok = 0;
        uint64_t t0 = now_us();
        for (int i = 0; i < n; i++) {
                char name[64];
                snprintf(name, sizeof(name), "bench-scale-%d", i);
                if (destroy)
                        ok += destroy_task(&c, name, true) == 0;
                else if (start_task(&c, name, cmd, fds) == 0)
                        ok++;
                else
                        break;
        }
        uint64_t t = now_us() - t0;
        printf("%s %d of %d tasks in %.3f s\n", destroy ? "destroyed" : "started", ok, n, t / 1e6);
        sandboxd_disconnect(&c);
        return !destroy && ok != n;
}

static void usage(void) {
        fprintf(stderr, "usage: bench-daemon [-c CLIENTS] [-t SECONDS] [-p PROMISES] [-u L:PATH]... [--raw]\n"
                        "                    [--scale|--destroy-scale] SOCKET N [COMMAND...]\n");
}

int main(int argc, char **argv) {
        enum { ARG_SCALE = 0x100, ARG_DESTROY_SCALE };
        static const struct option opts[] = {
                { "clients", required_argument, NULL, 'c' },
                { "time", required_argument, NULL, 't' },
                { "promises", required_argument, NULL, 'p' },
                { "unveil", required_argument, NULL, 'u' },
                { "raw", no_argument, NULL, 'r' },
                { "scale", no_argument, NULL, ARG_SCALE },
                { "destroy-scale", no_argument, NULL, ARG_DESTROY_SCALE },
                {}
        };
        int clients = 1, mode = 0, c;
        double limit = 0;
        bool raw = false;

        while ((c = getopt_long(argc, argv, "+c:t:p:u:r", opts, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        clients = atoi(optarg);
                        break;
                case 't':
                        limit = atof(optarg);
                        break;
                case 'p':
                        arg_promises = optarg;
                        break;
                case 'u':
                        if (arg_n_unveil >= MAX_UNVEIL) {
                                fprintf(stderr, "bench-daemon: at most %d --unveil\n", MAX_UNVEIL);
                                return 2;
                        }
                        arg_unveil[arg_n_unveil++] = optarg;
                        break;
                case 'r':
                        raw = true;
                        break;
                case ARG_SCALE:
                case ARG_DESTROY_SCALE:
                        mode = c;
                        break;
                default:
                        usage();
                        return 2;
                }
        }
        if (argc - optind < 2 || clients < 1 || clients > MAX_CLIENTS) {
                usage();
                return 2;
        }
        const char *socket_path = argv[optind];
        int n = atoi(argv[optind + 1]);
        if (n < 1) {
                usage();
                return 2;
        }
        char *def[] = { (char *) "/bin/true", NULL };
        char **cmd = argc - optind > 2 ? argv + optind + 2 : def;
        (void) signal(SIGPIPE, SIG_IGN);

        if (mode)
                return scale(socket_path, n, cmd, mode == ARG_DESTROY_SCALE);
        return run_clients(socket_path, clients, n, limit, cmd, raw);
}
