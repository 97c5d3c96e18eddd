/* SPDX-License-Identifier: MIT */
/* shim/sbx.c: the reactor thread (timers, fd watches) and the one sandboxd connection.
 *
 * Requests are multiplexed on one SOCK_SEQPACKET connection by id; sandboxd answers long ones
 * (wait, stop, exec) when they complete. While sandboxd is unreachable (restarting, not yet
 * started) requests queue and the reactor reconnects every 500 ms; idempotent ones (SBX_RESEND:
 * wait, inspect, stop, destroy, recover) are sent again on the new connection, the others fail
 * with ECONNRESET. Each request may carry a deadline. Sending never blocks the reactor: when the
 * socket is full (sandboxd stops reading a peer whose replies pile up) the rest waits for POLLOUT
 * while replies keep being read; if sandboxd gives up on us and closes, we reconnect and re-send. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "macro.h"
#include "shim.h"
#include "util.h"

#define RECONNECT_MS 500
#define MAX_TIMERS_WATCHES 4096

int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t now_ns_realtime(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int wake_fd = -1;

/* ---- timers and watches: small arrays scanned linearly (a few per stream, not per task) */
static Timer **timers;
static size_t n_timers, cap_timers;
static Watch **watches;
static size_t n_watches, cap_watches;

void reactor_wake(void) {
        uint64_t one = 1;
        ssize_t _unused_ w = write(wake_fd, &one, sizeof one);
}

void timer_arm(Timer *t, int64_t delay_ms) {
        bool listed = false;
        for (size_t i = 0; i < n_timers; i++)
                if (timers[i] == t)
                        listed = true;
        if (!listed) {
                if (n_timers == cap_timers) {
                        cap_timers = cap_timers ? cap_timers * 2 : 16;
                        timers = xrealloc(timers, cap_timers * sizeof *timers);
                }
                timers[n_timers++] = t;
        }
        /* at least 1 ms ahead, so a timer re-armed from its own callback waits for the next loop */
        t->when = now_ms() + (delay_ms > 1 ? delay_ms : 1);
        reactor_wake();
}

void timer_cancel(Timer *t) {
        t->when = 0;
        for (size_t i = 0; i < n_timers; i++)
                if (timers[i] == t) {
                        timers[i] = timers[--n_timers];
                        break;
                }
}

void watch_add(Watch *w) {
        if (n_watches == cap_watches) {
                cap_watches = cap_watches ? cap_watches * 2 : 16;
                watches = xrealloc(watches, cap_watches * sizeof *watches);
        }
        watches[n_watches++] = w;
        w->active = true;
        reactor_wake();
}

void watch_remove(Watch *w) {
        w->active = false;
        for (size_t i = 0; i < n_watches; i++)
                if (watches[i] == w) {
                        watches[i] = watches[--n_watches];
                        break;
                }
        /* The reactor may sit in poll() on this fd, which keeps the file open even after the
         * caller closes it (a pty master would then not hang up its slave): wake it to drop it. */
        reactor_wake();
}

/* ---- the sandboxd connection */
struct SbxReq {
        uint64_t id;
        uint8_t *body; /* the packed Request without its id */
        size_t len;
        int fds[FRAME_MAX_FDS];
        size_t n_fds;
        int flags;
        int64_t deadline; /* monotonic ms, 0 = none */
        bool sent;
        bool cancelled;   /* a cancel went to sandboxd */
        SbxDone done;
        void *ud;
        SbxReq *next;
};

static SandboxdClient client = { .fd = -1 };
static bool connected;
static bool send_blocked; /* the socket is full: flush_queue() again on POLLOUT */
static uint64_t next_id = 1;
static SbxReq *reqs; /* unsent and in flight */
static Timer reconnect_timer, deadline_timer;
static char last_error[SBX_ERROR_MAX + 64] = "not connected yet";

bool sbx_connected(void) {
        return connected;
}

const Sandboxd__V1__DaemonInfo *sbx_info(void) {
        return connected && client.hello ? client.hello->info : NULL;
}

const char *sbx_daemon_version(void) {
        return connected && client.hello ? client.hello->daemon_version : "";
}

const char *sbx_last_error(void) {
        return last_error;
}

static void req_close_fds(SbxReq *r) {
        for (size_t i = 0; i < r->n_fds; i++)
                if (r->fds[i] >= 0)
                        close(r->fds[i]);
        r->n_fds = 0;
}

static void req_free(SbxReq *r) {
        req_close_fds(r);
        free(r->body);
        free(r);
}

static void unlink_req(SbxReq *r) {
        for (SbxReq **p = &reqs; *p; p = &(*p)->next)
                if (*p == r) {
                        *p = r->next;
                        return;
                }
}

static void req_fail(SbxReq *r, int code, const char *msg) {
        SbxError err;
        sbx_error(&err, code, "%s", msg);
        unlink_req(r);
        req_close_fds(r);
        r->done(r->ud, NULL, &err);
        req_free(r);
}

static size_t put_varint(uint8_t *p, uint64_t v) {
        size_t n = 0;
        do {
                p[n++] = (uint8_t) ((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
                v >>= 7;
        } while (v);
        return n;
}

/* Frame{request(3) = Request{id(1) = id, <body>}}, composed without copying into messages */
static int send_req(SbxReq *r) {
        uint8_t idb[11], lenb[11];
        uint8_t hdr = 0x1a; /* field 3, length-delimited */
        idb[0] = 0x08;      /* field 1, varint */
        size_t idn = 1 + put_varint(idb + 1, r->id);
        size_t inner = idn + r->len;
        size_t lenn = put_varint(lenb, inner);
        if (1 + lenn + inner > FRAME_MAX)
                return -EMSGSIZE;
        struct iovec iov[4] = {
                { &hdr, 1 }, { lenb, lenn }, { idb, idn }, { r->body, r->len },
        };
        union {
                char buf[CMSG_SPACE(sizeof(int) * FRAME_MAX_FDS)];
                struct cmsghdr align;
        } u;
        struct msghdr mh = { .msg_iov = iov, .msg_iovlen = r->len ? 4 : 3 };
        if (r->n_fds > 0) {
                memset(&u, 0, sizeof u);
                mh.msg_control = u.buf;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * r->n_fds);
                struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
                if (!cm)
                        return -EINVAL;
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(int) * r->n_fds);
                memcpy(CMSG_DATA(cm), r->fds, sizeof(int) * r->n_fds);
        }
        for (;;) {
                if (sendmsg(client.fd, &mh, MSG_NOSIGNAL) >= 0)
                        break;
                if (errno == EINTR)
                        continue;
                return -errno; /* -EAGAIN: sandboxd is behind, the caller waits for POLLOUT */
        }
        req_close_fds(r);
        r->sent = true;
        return 0;
}

static void disconnect(const char *why) {
        if (!connected)
                return;
        connected = false;
        send_blocked = false;
        snprintf(last_error, sizeof last_error, "%s", why);
        hclog_warn("lost the connection to sandboxd", "reason", why);
        sandboxd_disconnect(&client);
        client.fd = -1;
        /* in-flight requests: resendable ones go back to the queue, the rest fail */
        for (SbxReq *r = reqs, *n; r; r = n) {
                n = r->next;
                if (!r->sent)
                        continue;
                if (r->flags & SBX_RESEND) {
                        r->sent = false;
                        r->cancelled = false;
                }
                else
                {
                        char msg[SBX_ERROR_MAX];
                        snprintf(msg, sizeof msg, "sandboxd: connection lost (%s); the request's outcome is unknown", why);
                        req_fail(r, ECONNRESET, msg);
                }
        }
        timer_arm(&reconnect_timer, RECONNECT_MS);
        driver_health_changed();
}

static void flush_queue(void) {
        send_blocked = false;
        for (SbxReq *r = reqs, *n; r && connected; r = n) {
                n = r->next;
                if (r->sent)
                        continue;
                r->id = next_id++;
                int k = send_req(r);
                if (k == -EAGAIN) {
                        /* in order: this one and the rest go out on POLLOUT */
                        send_blocked = true;
                        reactor_wake();
                        return;
                }
                if (k == -EMSGSIZE)
                        req_fail(r, EMSGSIZE, "request larger than sandboxd's 128 KiB frame limit");
                else if (k < 0) {
                        disconnect(strerror(-k));
                        return;
                }
        }
}

static void subscribed(void *ud, const Sandboxd__V1__Response *resp, const SbxError *err) {
        if (err)
                hclog_warn("cannot subscribe to sandboxd's events: no task events for denials", "error", err->msg);
}

/* Every connection: the denials sandboxd explains reach Nomad as task events. */
static void subscribe(void) {
        Sandboxd__V1__Request r = SANDBOXD__V1__REQUEST__INIT;
        Sandboxd__V1__SubscribeRequest sub = SANDBOXD__V1__SUBSCRIBE_REQUEST__INIT;
        r.op_case = SANDBOXD__V1__REQUEST__OP_SUBSCRIBE;
        r.subscribe = &sub;
        sbx_submit(&r, NULL, 0, 0, 30000, subscribed, NULL);
}

bool sbx_try_connect(void) {
        if (connected)
                return true;
        if (!shim.config.socket)
                return false;
        SbxError err = { 0 };
        SandboxdClient c;
        char name[64];
        snprintf(name, sizeof name, "nomad-driver-sandbox/%s", PACKAGE_VERSION);
        if (sandboxd_connect(shim.config.socket, shim.driver_name, name, &c, &err) < 0) {
                char msg[SBX_ERROR_MAX + 64];
                snprintf(msg, sizeof msg, "sandboxd at %s: %s", shim.config.socket, err.msg);
                if (strcmp(msg, last_error) != 0)
                        hclog_warn("cannot reach sandboxd", "socket", shim.config.socket, "error", err.msg);
                snprintf(last_error, sizeof last_error, "%s", msg);
                return false;
        }
        int fl = fcntl(c.fd, F_GETFL);
        fcntl(c.fd, F_SETFL, fl | O_NONBLOCK);
        client = c;
        connected = true;
        last_error[0] = 0;
        hclog_info("connected to sandboxd", "socket", shim.config.socket, "daemon_version", c.hello->daemon_version);
        timer_cancel(&reconnect_timer);
        subscribe();
        flush_queue();
        reactor_wake();
        driver_health_changed();
        return connected;
}

void sbx_reset(void) {
        if (connected)
                disconnect("the plugin configuration changed");
        sbx_try_connect();
}

static void arm_deadlines(void) {
        int64_t first = 0;
        for (SbxReq *r = reqs; r; r = r->next)
                if (r->deadline && (!first || r->deadline < first))
                        first = r->deadline;
        if (first)
                timer_arm(&deadline_timer, first - now_ms());
        else
                timer_cancel(&deadline_timer);
}

static void on_deadline(void *ud) {
        int64_t now = now_ms();
        for (SbxReq *r = reqs, *n; r; r = n) {
                n = r->next;
                if (r->deadline && r->deadline <= now) {
                        char msg[SBX_ERROR_MAX + 160];
                        snprintf(msg, sizeof msg, "sandboxd did not answer in time (%.400s)",
                                 connected ? "connected" : last_error);
                        req_fail(r, ETIMEDOUT, msg);
                }
        }
        arm_deadlines();
}

static void on_reconnect(void *ud) {
        if (!sbx_try_connect())
                timer_arm(&reconnect_timer, RECONNECT_MS);
}

SbxReq *sbx_submit(Sandboxd__V1__Request *req, const int *fds, size_t n_fds, int flags, int64_t timeout_ms,
                   SbxDone done, void *ud) {
        SbxReq *r = xcalloc(1, sizeof *r);
        req->id = 0; /* not packed: proto3 default */
        r->len = sandboxd__v1__request__get_packed_size(req);
        r->body = xmalloc(r->len ? r->len : 1);
        sandboxd__v1__request__pack(req, r->body);
        for (size_t i = 0; i < n_fds && i < FRAME_MAX_FDS; i++)
                r->fds[r->n_fds++] = fds[i];
        r->flags = flags;
        r->deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
        r->done = done;
        r->ud = ud;
        /* append: requests go out in submission order */
        SbxReq **p = &reqs;
        while (*p)
                p = &(*p)->next;
        *p = r;
        if (r->deadline)
                arm_deadlines();
        if (!connected) {
                if (!sbx_try_connect())
                        timer_arm(&reconnect_timer, RECONNECT_MS);
                return r;
        }
        flush_queue();
        return r;
}

static void cancel_done(void *ud, const Sandboxd__V1__Response *resp, const SbxError *err) {
        /* ENOENT: the request was answered meanwhile; its answer is on its way */
        if (err && err->code != ENOENT && err->code != ECONNRESET)
                hclog_debug("sandboxd refused a cancel", "error", err->msg);
}

void sbx_cancel(SbxReq *r) {
        bool listed = false;
        for (SbxReq *i = reqs; i && !listed; i = i->next)
                listed = i == r;
        if (!listed || r->cancelled)
                return;
        if (!r->sent) { /* never reached sandboxd: nothing to stop there */
                req_fail(r, ECANCELED, "cancelled before it was sent to sandboxd");
                return;
        }
        r->cancelled = true;
        Sandboxd__V1__CancelRequest c = SANDBOXD__V1__CANCEL_REQUEST__INIT;
        Sandboxd__V1__Request cr = SANDBOXD__V1__REQUEST__INIT;
        c.id = r->id;
        cr.op_case = SANDBOXD__V1__REQUEST__OP_CANCEL;
        cr.cancel = &c;
        sbx_submit(&cr, NULL, 0, 0, 0, cancel_done, NULL);
}

static void on_frame(Frame *f) {
        /* Events: explained denials become Nomad task events; exits the shim asks for with wait. */
        if (f->kind_case == SANDBOXD__V1__FRAME__KIND_EVENT && f->event && f->event->denial) {
                driver_task_denied(f->event->denial, f->event->nomad);
                return;
        }
        if (f->kind_case != SANDBOXD__V1__FRAME__KIND_RESPONSE || !f->response)
                return;
        const Sandboxd__V1__Response *resp = f->response;
        for (SbxReq *r = reqs; r; r = r->next) {
                if (!r->sent || r->id != resp->id)
                        continue;
                unlink_req(r);
                if (resp->error) {
                        SbxError err;
                        if (resp->error->field && resp->error->field[0])
                                sbx_error(&err, resp->error->code ? resp->error->code : EIO, "%s: %s",
                                          resp->error->field, resp->error->message);
                        else
                                sbx_error(&err, resp->error->code ? resp->error->code : EIO, "%s",
                                          resp->error->message);
                        r->done(r->ud, NULL, &err);
                } else
                        r->done(r->ud, resp, NULL);
                bool had_deadline = r->deadline != 0;
                req_free(r);
                if (had_deadline)
                        arm_deadlines();
                return;
        }
}

static void read_frames(void) {
        for (int i = 0; i < 256 && connected; i++) {
                Frame *f = NULL;
                int k = frame_recv(client.fd, &f, NULL, NULL);
                if (k == -EAGAIN || k == -EINTR)
                        return;
                if (k == 0) {
                        disconnect("sandboxd closed the connection");
                        return;
                }
                if (k < 0) {
                        if (k == -EBADMSG || k == -EMSGSIZE) {
                                hclog_warn("dropped a malformed frame from sandboxd");
                                continue;
                        }
                        disconnect(strerror(-k));
                        return;
                }
                on_frame(f);
                frame_free(f);
        }
}

/* ---- the reactor loop */
static void *reactor_main(void *arg) {
        struct pollfd *pfd = NULL;
        Watch **pw = NULL;
        size_t cap = 0;

        pthread_mutex_lock(&shim_lock);
        for (;;) {
                size_t n = 2 + n_watches;
                if (n > cap) {
                        cap = n * 2;
                        pfd = xrealloc(pfd, cap * sizeof *pfd);
                        pw = xrealloc(pw, cap * sizeof *pw);
                }
                pfd[0] = (struct pollfd) { wake_fd, POLLIN, 0 };
                pfd[1] = (struct pollfd) { connected ? client.fd : -1, POLLIN | (send_blocked ? POLLOUT : 0), 0 };
                for (size_t i = 0; i < n_watches; i++) {
                        pw[2 + i] = watches[i];
                        pfd[2 + i] = (struct pollfd) { watches[i]->fd, watches[i]->events, 0 };
                }
                int64_t now = now_ms(), timeout = -1;
                for (size_t i = 0; i < n_timers; i++) {
                        int64_t d = timers[i]->when - now;
                        if (d < 0)
                                d = 0;
                        if (timeout < 0 || d < timeout)
                                timeout = d;
                }
                pthread_mutex_unlock(&shim_lock);
                int k = poll(pfd, n, timeout > INT32_MAX ? INT32_MAX : (int) timeout);
                pthread_mutex_lock(&shim_lock);
                if (k < 0 && errno != EINTR) {
                        hclog_error("poll failed", "error", strerror(errno));
                        continue;
                }
                if (k > 0 && (pfd[0].revents & POLLIN)) {
                        uint64_t v;
                        ssize_t _unused_ r = read(wake_fd, &v, sizeof v);
                }
                if (k > 0 && connected && pfd[1].fd == client.fd && pfd[1].revents) {
                        read_frames();
                        if (connected && send_blocked && (pfd[1].revents & POLLOUT))
                                flush_queue();
                }
                for (size_t i = 2; k > 0 && i < n; i++) {
                        if (!pfd[i].revents)
                                continue;
                        /* the watch may have been removed by an earlier callback */
                        bool live = false;
                        for (size_t j = 0; j < n_watches; j++)
                                if (watches[j] == pw[i])
                                        live = true;
                        if (live && pw[i]->active)
                                pw[i]->fn(pw[i]->ud, pfd[i].revents);
                }
                now = now_ms();
                for (bool again = true; again;) {
                        again = false;
                        for (size_t i = 0; i < n_timers; i++) {
                                Timer *t = timers[i];
                                if (t->when && t->when <= now) {
                                        timer_cancel(t);
                                        t->fn(t->ud);
                                        again = true; /* the list changed */
                                        break;
                                }
                        }
                }
                if (shim.shutting_down)
                        break;
        }
        pthread_mutex_unlock(&shim_lock);
        return NULL;
}

void reactor_start(void) {
        wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (wake_fd < 0) {
                hclog_error("eventfd failed", "error", strerror(errno));
                exit(1);
        }
        reconnect_timer = (Timer) { 0, on_reconnect, NULL };
        deadline_timer = (Timer) { 0, on_deadline, NULL };
        pthread_t th;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        int r = pthread_create(&th, &a, reactor_main, NULL);
        if (r != 0) {
                hclog_error("cannot start the reactor thread", "error", strerror(r));
                exit(1);
        }
        pthread_attr_destroy(&a);
}
