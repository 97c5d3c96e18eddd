/* SPDX-License-Identifier: MIT */
/* tests/root/slow-reader.c: a client that asks and then does not read.
 *
 *   slow-reader SOCKET PAUSE_MS WAITS_PER_TASK NAME...
 * Sends WAITS_PER_TASK wait requests for each task NAME on one connection (as root, admin view),
 * sleeps PAUSE_MS without reading (the tasks exit meanwhile and sandboxd's replies pile up),
 * then reads until every wait is answered, the connection closes, or 30 s pass without a frame.
 * Prints "sent N answered M duplicates D closed C" (C: 1 if sandboxd closed the connection).
 *
 *   slow-reader SOCKET PAUSE_MS subscribe
 * Subscribes to sandboxd's events (as root: every task's), prints "subscribed", then does not
 * read for PAUSE_MS or until SIGUSR1 (the events pile up), then reads until the connection closes
 * or 5 s pass without a frame. Prints "events E denials D closed C". */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "macro.h"
#include "util.h"

static void on_usr1(int sig) {
        (void) sig; /* only interrupts the pause */
}

static int subscriber(const char *socket, long pause_ms) {
        SandboxdClient c;
        SbxError err = {};
        Sandboxd__V1__SubscribeRequest sub = SANDBOXD__V1__SUBSCRIBE_REQUEST__INIT;
        Sandboxd__V1__Request req = SANDBOXD__V1__REQUEST__INIT;
        Frame *f = NULL;
        size_t events = 0, denials = 0;
        int closed = 0;

        if (sandboxd_connect(socket, "", "slow-reader", &c, &err) < 0) {
                fprintf(stderr, "slow-reader: %s\n", err.msg);
                return 1;
        }
        req.op_case = SANDBOXD__V1__REQUEST__OP_SUBSCRIBE;
        req.subscribe = &sub;
        if (sandboxd_call(&c, &req, NULL, 0, &f, &err) < 0) {
                fprintf(stderr, "slow-reader: subscribe: %s\n", err.msg);
                return 1;
        }
        frame_free(f);
        struct sigaction sa = { .sa_handler = on_usr1 };
        (void) sigaction(SIGUSR1, &sa, NULL);
        printf("subscribed\n");
        fflush(stdout);
        struct timespec ts = { pause_ms / 1000, (pause_ms % 1000) * 1000000 };
        nanosleep(&ts, NULL);
        for (;;) {
                struct pollfd p = { c.fd, POLLIN, 0 };
                if (poll(&p, 1, 5000) <= 0)
                        break;
                int r = frame_recv(c.fd, &f, NULL, NULL);
                if (r <= 0) {
                        closed = r == 0;
                        break;
                }
                if (f->kind_case == SANDBOXD__V1__FRAME__KIND_EVENT) {
                        events++;
                        denials += f->event->denial != NULL;
                }
                frame_free(f);
        }
        printf("events %zu denials %zu closed %d\n", events, denials, closed);
        sandboxd_disconnect(&c);
        return 0;
}

int main(int argc, char **argv) {
        if (argc == 4 && strcmp(argv[3], "subscribe") == 0)
                return subscriber(argv[1], strtol(argv[2], NULL, 10));
        if (argc < 5) {
                fprintf(stderr, "usage: slow-reader SOCKET PAUSE_MS WAITS_PER_TASK NAME... | slow-reader SOCKET PAUSE_MS subscribe\n");
                return 2;
        }
        long pause_ms = strtol(argv[2], NULL, 10), per = strtol(argv[3], NULL, 10);
        size_t n_names = (size_t) argc - 4, sent = 0, answered = 0, dup = 0;
        int closed = 0;
        SandboxdClient c;
        SbxError err = {};
        if (sandboxd_connect(argv[1], "", "slow-reader", &c, &err) < 0) {
                fprintf(stderr, "slow-reader: %s\n", err.msg);
                return 1;
        }
        size_t total = n_names * (size_t) per;
        bool *seen = xcalloc(total + 1, sizeof(bool));
        for (long k = 0; k < per; k++)
                for (size_t i = 0; i < n_names; i++) {
                        Sandboxd__V1__TaskRef ref = SANDBOXD__V1__TASK_REF__INIT;
                        Sandboxd__V1__Request req = SANDBOXD__V1__REQUEST__INIT;
                        Frame f = SANDBOXD__V1__FRAME__INIT;
                        ref.name = argv[4 + i];
                        req.id = ++sent;
                        req.op_case = SANDBOXD__V1__REQUEST__OP_WAIT;
                        req.wait = &ref;
                        f.kind_case = SANDBOXD__V1__FRAME__KIND_REQUEST;
                        f.request = &req;
                        int r = frame_send(c.fd, &f, NULL, 0);
                        if (r < 0) {
                                fprintf(stderr, "slow-reader: sending wait %zu: %s\n", sent, strerror(-r));
                                return 1;
                        }
                }
        struct timespec ts = { pause_ms / 1000, (pause_ms % 1000) * 1000000 };
        nanosleep(&ts, NULL);
        while (answered < total) {
                struct pollfd p = { c.fd, POLLIN, 0 };
                if (poll(&p, 1, 30000) <= 0)
                        break;
                Frame *f = NULL;
                int r = frame_recv(c.fd, &f, NULL, NULL);
                if (r <= 0) {
                        closed = r == 0;
                        break;
                }
                if (f->kind_case == SANDBOXD__V1__FRAME__KIND_RESPONSE && f->response->id >= 1 &&
                    f->response->id <= total) {
                        if (seen[f->response->id])
                                dup++;
                        else if (f->response->error)
                                fprintf(stderr, "slow-reader: wait %llu: %s\n", (unsigned long long) f->response->id,
                                        f->response->error->message);
                        else {
                                seen[f->response->id] = true;
                                answered++;
                        }
                }
                frame_free(f);
        }
        printf("sent %zu answered %zu duplicates %zu closed %d\n", sent, answered, dup, closed);
        free(seen);
        sandboxd_disconnect(&c);
        return 0;
}
