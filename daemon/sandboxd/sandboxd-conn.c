/* SPDX-License-Identifier: MIT */
/* sandboxd's connections: accept (the peer checked and counted), hello, frames in and out with
 * the queue of replies a peer has not read yet, the replies, and the answers a peer waits for
 * (Pending). */
#include <stdio.h>
#include <sys/socket.h>

#include "config.h"
#include "landlock.h"
#include "log.h"
#include "macro.h"
#include "sandboxd-internal.h"
#include "util.h"

/* Connections (docs/sandboxd.conf.md, "Connections"): max_connections_per_uid per peer uid,
 * hello'd or not; MAX_CONNECTIONS in all, root's not counted, so no other peer can keep root out
 * and no uid can keep another out. A peer the policy refuses is answered and closed at once. */
#define MAX_CONNECTIONS 4096
#define HELLO_TIMEOUT_USEC (5 * 1000000ULL)
#define MAX_PENDING_PER_CONN 8192 /* waits/stops a single peer may have outstanding */
/* A peer that does not read its replies: at CONN_OUT_PAUSE_BYTES queued we stop reading its
 * requests until the queue is empty; at CONN_OUT_MAX_BYTES (its pending waits alone can get
 * there, or events if it subscribed: exits, explained denials) the connection is closed with a
 * logged reason. Never a reply dropped with the connection left open. */
#define CONN_OUT_PAUSE_BYTES (256u * 1024u)

size_t conn_out_max = CONN_OUT_MAX_BYTES;

static int on_conn_deferred_close(sd_event_source *s, void *userdata) {
        conn_close(userdata);
        return 0;
}

/* Closes the connection from the event loop, not from under the caller (which may still use it). */
static void conn_close_later(Conn *c) {
        if (c->close_src)
                return;
        (void) sd_event_source_set_enabled(c->src, SD_EVENT_OFF);
        if (sd_event_add_defer(c->d->event, &c->close_src, on_conn_deferred_close, c) < 0)
                c->close_src = NULL; /* out of memory: the next read sees the error instead */
}

/* Which events to wait for: requests unless paused, the socket's room while replies queue. */
static void conn_update_events(Conn *c) {
        uint32_t ev = (c->paused ? 0 : EPOLLIN) | (c->out ? EPOLLOUT : 0);
        (void) sd_event_source_set_io_events(c->src, ev);
        (void) sd_event_source_set_enabled(c->src, ev ? SD_EVENT_ON : SD_EVENT_OFF);
}

/* Sends what is queued, in order, until the socket is full. 0, or -errno when the peer is gone. */
static int conn_flush(Conn *c) {
        while (c->out) {
                OutFrame *o = c->out;
                ssize_t n = send(c->fd, o->data, o->len, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return errno == EAGAIN ? 0 : -errno;
                c->out = o->next;
                if (!c->out)
                        c->out_tail = &c->out;
                c->out_bytes -= o->len;
                free(o);
        }
        return 0;
}

void conn_send(Conn *c, const Frame *f) {
        if (c->close_src)
                return;
        size_t len = sandboxd__v1__frame__get_packed_size(f);
        if (len > FRAME_MAX && f->kind_case == SANDBOXD__V1__FRAME__KIND_RESPONSE) {
                /* The peer could not receive it: tell it so instead (a task's description that
                 * outgrew a frame). */
                char msg[128];
                snprintf(msg, sizeof(msg), "the reply (%zu bytes) does not fit in one frame (%u)", len, FRAME_MAX);
                Sandboxd__V1__Error e = SANDBOXD__V1__ERROR__INIT;
                Sandboxd__V1__Response resp = SANDBOXD__V1__RESPONSE__INIT;
                Frame ef = SANDBOXD__V1__FRAME__INIT;
                e.code = EMSGSIZE;
                e.field = (char *) "";
                e.message = msg;
                resp.id = f->response->id;
                resp.error = &e;
                ef.kind_case = SANDBOXD__V1__FRAME__KIND_RESPONSE;
                ef.response = &resp;
                conn_send(c, &ef);
                return;
        }
        OutFrame *o = xmalloc(sizeof(OutFrame) + (len ? len : 1));
        o->next = NULL;
        o->len = len;
        sandboxd__v1__frame__pack(f, o->data);
        if (!c->out_tail)
                c->out_tail = &c->out;
        *c->out_tail = o;
        c->out_tail = &o->next;
        c->out_bytes += len;
        int r = conn_flush(c);
        if (r < 0) {
                log_debug("peer pid %d: send failed: %s", (int) c->pid, strerror(-r));
                conn_close_later(c);
                return;
        }
        if (c->out_bytes > conn_out_max) {
                log_warning("peer pid %d uid %u does not read its replies (%zu bytes queued): closing the connection; "
                            "it must reconnect and ask again",
                            (int) c->pid, (unsigned) c->uid, c->out_bytes);
                conn_close_later(c);
                return;
        }
        if (c->out_bytes >= CONN_OUT_PAUSE_BYTES && !c->paused) {
                log_debug("peer pid %d: %zu bytes of replies queued, not reading its requests until they are sent",
                          (int) c->pid, c->out_bytes);
                c->paused = true;
        }
        conn_update_events(c);
}

void reply_error(Conn *c, uint64_t id, int code, const char *field, const char *msg) {
        Sandboxd__V1__Error e = SANDBOXD__V1__ERROR__INIT;
        Sandboxd__V1__Response resp = SANDBOXD__V1__RESPONSE__INIT;
        Frame f = SANDBOXD__V1__FRAME__INIT;

        e.code = code < 0 ? -code : code;
        e.field = (char *) (field ? field : "");
        e.message = (char *) msg;
        resp.id = id;
        resp.error = &e;
        f.kind_case = SANDBOXD__V1__FRAME__KIND_RESPONSE;
        f.response = &resp;
        conn_send(c, &f);
}

void task_info_fill(const Task *t, Sandboxd__V1__TaskInfo *i, Sandboxd__V1__ExitResult *e,
                    Sandboxd__V1__NomadMeta *n) {
        const TaskRecord *r = &t->rec;
        sandboxd__v1__task_info__init(i);
        sandboxd__v1__exit_result__init(e);
        sandboxd__v1__nomad_meta__init(n);
        i->name = r->name;
        i->driver = r->driver;
        i->state = r->state;
        i->pid = r->pid;
        i->started_at_ns = r->started_at_ns;
        i->finished_at_ns = r->finished_at_ns;
        i->user = r->user ? r->user : (char *) "";
        i->uid = r->uid;
        i->gid = r->gid;
        i->n_argv = strv_length(r->argv);
        i->argv = r->argv;
        i->has_promises = r->has_promises;
        i->promises = r->promises ? r->promises : (char *) "";
        i->n_unveil = strv_length(r->unveil);
        i->unveil = r->unveil;
        i->net = r->net ? r->net : (char *) "";
        i->cgroup = r->cgroup ? r->cgroup : (char *) "";
        i->landlock_abi = r->landlock_abi;
        n->alloc_id = r->alloc_id ? r->alloc_id : (char *) "";
        n->task_name = r->task_name ? r->task_name : (char *) "";
        n->job_id = r->job_id ? r->job_id : (char *) "";
        n->namespace_ = r->nomad_namespace ? r->nomad_namespace : (char *) "";
        n->task_group = r->task_group ? r->task_group : (char *) "";
        i->nomad = n;
        if (r->state == SANDBOXD__V1__TASK_STATE__TASK_STATE_EXITED) {
                e->exit_code = r->exit_code;
                e->signal = r->exit_signal;
                e->oom_killed = r->oom_killed;
                e->error = r->exit_error ? r->exit_error : (char *) "";
                i->exit = e;
        }
}

/* A request that succeeded with nothing to return (cancel). */
void reply_ok(Conn *c, uint64_t id) {
        Sandboxd__V1__Response resp = SANDBOXD__V1__RESPONSE__INIT;
        Frame f = SANDBOXD__V1__FRAME__INIT;
        resp.id = id;
        f.kind_case = SANDBOXD__V1__FRAME__KIND_RESPONSE;
        f.response = &resp;
        conn_send(c, &f);
}

void reply_task(Conn *c, uint64_t id, const Task *t) {
        Sandboxd__V1__TaskInfo i;
        Sandboxd__V1__ExitResult e;
        Sandboxd__V1__NomadMeta n;
        Sandboxd__V1__Response resp = SANDBOXD__V1__RESPONSE__INIT;
        Frame f = SANDBOXD__V1__FRAME__INIT;

        task_info_fill(t, &i, &e, &n);
        i.n_denials = t->n_denials;
        i.denials = (Sandboxd__V1__Denial **) t->denials_order;
        resp.id = id;
        resp.result_case = SANDBOXD__V1__RESPONSE__RESULT_TASK;
        resp.task = &i;
        f.kind_case = SANDBOXD__V1__FRAME__KIND_RESPONSE;
        f.response = &resp;
        conn_send(c, &f);
}

bool pending_full(Conn *c, uint64_t id) {
        if (c->n_pending < MAX_PENDING_PER_CONN)
                return false;
        reply_error(c, id, EAGAIN, "", "too many outstanding requests on this connection");
        return true;
}

void pending_free(Pending *p) {
        p->conn->n_pending--;
        free(p);
}

void pending_add(Task *t, Conn *c, uint64_t id, int kind) {
        c->n_pending++;
        Pending *p = xcalloc(1, sizeof(Pending));
        *p = (Pending) { .conn = c, .id = id, .kind = kind, .next = t->pending };
        t->pending = p;
}

bool conn_may_see(const Conn *c, const Task *t) {
        return c->driver[0] == 0 || streq(c->driver, t->rec.driver);
}

void conn_close(Conn *c) {
        Daemon *d = c->d;
        exec_sessions_drop_conn(d, c);
        start_waits_drop_conn(d, c);
        /* Forget what this peer was waiting for. */
        for (Task *t = d->tasks; t; t = t->next)
                for (Pending **p = &t->pending; *p;) {
                        if ((*p)->conn == c) {
                                Pending *x = *p;
                                *p = x->next;
                                pending_free(x);
                        } else
                                p = &(*p)->next;
                }
        for (Conn **i = &d->conns; *i; i = &(*i)->next)
                if (*i == c) {
                        *i = c->next;
                        d->n_conns--;
                        d->n_root_conns -= c->uid == 0;
                        break;
                }
        sd_event_source_disable_unref(c->src);
        sd_event_source_disable_unref(c->hello_timer);
        sd_event_source_disable_unref(c->close_src);
        for (OutFrame *o = c->out, *n; o; o = n) {
                n = o->next;
                free(o);
        }
        safe_close(c->fd);
        free(c->driver);
        free(c);
}

/* Reads and drops whatever the peer sent (fds in it are closed with the datagrams). */
static void drain(int fd) {
        char buf[256];
        for (;;) {
                ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return;
        }
}

/* After an error reply: the peer may have sent more, which must not reset its connection before
 * it reads our answer (see refuse_fd). */
static void conn_shutdown_close(Conn *c) {
        (void) conn_flush(c);
        (void) shutdown(c->fd, SHUT_RDWR);
        drain(c->fd);
        conn_close(c);
}

static void handle_hello(Conn *c, const Sandboxd__V1__Hello *h) {
        SbxError err = {};
        Daemon *d = c->d;
        char msg[256];

        if (h->protocol != SANDBOXD_PROTOCOL_VERSION) {
                snprintf(msg, sizeof(msg), "protocol %u not supported (this daemon speaks %u)", h->protocol,
                         SANDBOXD_PROTOCOL_VERSION);
                reply_error(c, 0, EPROTONOSUPPORT, "protocol", msg);
                conn_shutdown_close(c);
                return;
        }
        /* An empty driver name is the admin view (sandboxctl); it needs root. */
        if (!h->driver[0] && c->uid != 0) {
                reply_error(c, 0, EPERM, "driver", "only root may connect without a driver name");
                conn_shutdown_close(c);
                return;
        }
        const char *drv = h->driver[0] ? h->driver : policy_admin_driver(d->policy);
        if (h->driver[0] && !policy_driver(d->policy, h->driver)) {
                snprintf(msg, sizeof(msg), "no policy for driver '%.64s' in %s", h->driver, d->config_path);
                reply_error(c, 0, EPERM, "driver", msg);
                conn_shutdown_close(c);
                return;
        }
        if (h->driver[0] && policy_check_driver_peer(policy_driver(d->policy, h->driver), c->uid, c->gid, &err) < 0) {
                log_warning("refused peer pid %d uid %u for driver '%.64s': %s", (int) c->pid, (unsigned) c->uid,
                            h->driver, err.msg);
                reply_error(c, 0, EPERM, "driver", err.msg);
                conn_shutdown_close(c);
                return;
        }
        free(c->driver);
        c->driver = xstrdup(h->driver[0] ? h->driver : "");
        c->hello = true;
        c->hello_timer = sd_event_source_disable_unref(c->hello_timer);

        Sandboxd__V1__DaemonInfo info = SANDBOXD__V1__DAEMON_INFO__INIT;
        const char *limits[8];
        info.landlock_abi = landlock_abi() > 0 ? landlock_abi() : 0;
        info.seccomp = true;
        info.cgroup_backend = (char *) cgroup_manager_backend(d->cgroups);
        info.n_enforced_limits = cgroup_manager_enforced(d->cgroups, limits, ELEMENTSOF(limits));
        info.enforced_limits = (char **) limits;
        info.driver = (char *) (drv ? drv : "");
        info.tasks = (uint32_t) d->n_tasks;
        info.log_reader_timeout_ms = policy_log_reader_timeout_ms(d->policy);
        Sandboxd__V1__HelloReply hr = SANDBOXD__V1__HELLO_REPLY__INIT;
        hr.protocol = SANDBOXD_PROTOCOL_VERSION;
        hr.daemon_version = (char *) PACKAGE_VERSION;
        hr.info = &info;
        Frame f = SANDBOXD__V1__FRAME__INIT;
        f.kind_case = SANDBOXD__V1__FRAME__KIND_HELLO_REPLY;
        f.hello_reply = &hr;
        conn_send(c, &f);
}

static int on_conn(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Conn *c = userdata;
        int fds[FRAME_MAX_FDS];
        size_t n_fds = 0;
        Frame *f = NULL;

        if (revents & EPOLLOUT) {
                if (conn_flush(c) < 0) {
                        conn_close(c);
                        return 0;
                }
                if (!c->out && c->paused) {
                        log_debug("peer pid %d: its replies are out, reading its requests again", (int) c->pid);
                        c->paused = false;
                }
                conn_update_events(c);
        }
        if (c->paused && (revents & (EPOLLHUP | EPOLLERR))) {
                conn_close(c); /* gone while we waited for it to read: nobody to answer */
                return 0;
        }
        if (!(revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) || c->paused)
                return 0;

        int r = frame_recv(fd, &f, fds, &n_fds);
        if (r == -EAGAIN)
                return 0;
        if (r == -EMSGSIZE || r == -EBADMSG) {
                reply_error(c, 0, -r, "", r == -EMSGSIZE ? "frame larger than 128 KiB" : "malformed frame");
                conn_shutdown_close(c);
                return 0;
        }
        if (r <= 0) {
                conn_close(c);
                return 0;
        }

        if (!c->hello) {
                if (f->kind_case != SANDBOXD__V1__FRAME__KIND_HELLO) {
                        reply_error(c, 0, EPROTO, "", "the first frame must be hello");
                        conn_shutdown_close(c);
                } else
                        handle_hello(c, f->hello);
        } else if (f->kind_case != SANDBOXD__V1__FRAME__KIND_REQUEST || !f->request ||
                   f->request->op_case == SANDBOXD__V1__REQUEST__OP__NOT_SET) {
                reply_error(c, 0, EPROTO, "", "expected a request");
                conn_shutdown_close(c);
        } else {
                /* Every op message must be present (protobuf-c leaves an absent oneof NULL). */
                handle_request(c, f->request, fds, n_fds);
        }
        for (size_t i = 0; i < n_fds; i++)
                safe_close(fds[i]);
        frame_free(f);
        return 0;
}

/* Answers a peer we will not serve and closes its connection at once. The peer stops being able
 * to send first (SHUT_RD), then what it had sent is drained: a SEQPACKET socket closed with
 * unread data resets the peer's connection before it could read our answer. */
static void refuse_fd(int fd, int code, const char *msg) {
        Sandboxd__V1__Error e = SANDBOXD__V1__ERROR__INIT;
        Sandboxd__V1__Response resp = SANDBOXD__V1__RESPONSE__INIT;
        Frame f = SANDBOXD__V1__FRAME__INIT;
        e.code = code;
        e.field = (char *) "";
        e.message = (char *) msg;
        resp.error = &e;
        f.kind_case = SANDBOXD__V1__FRAME__KIND_RESPONSE;
        f.response = &resp;
        (void) frame_send(fd, &f, NULL, 0);
        (void) shutdown(fd, SHUT_RDWR);
        drain(fd);
        safe_close(fd);
}

static int on_hello_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Conn *c = userdata;
        log_debug("peer pid %d uid %u: no hello within %llu s, closing", (int) c->pid, (unsigned) c->uid,
                  HELLO_TIMEOUT_USEC / 1000000);
        c->src = sd_event_source_disable_unref(c->src);
        refuse_fd(TAKE_FD(c->fd), ETIMEDOUT, "no hello in time");
        conn_close(c);
        return 0;
}

int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Daemon *d = userdata;
        struct ucred cred;
        socklen_t len = sizeof(cred);
        SbxError err = {};
        char msg[SBX_ERROR_MAX + 64];

        int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd < 0)
                return 0;
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
                safe_close(cfd);
                return 0;
        }
        /* Not allowed at all: answered and closed now, never counted. */
        if (policy_check_peer(d->policy, cred.uid, cred.gid, &err) < 0) {
                log_warning("refused peer pid %d uid %u gid %u: %s", (int) cred.pid, (unsigned) cred.uid,
                            (unsigned) cred.gid, err.msg);
                refuse_fd(cfd, EPERM, err.msg);
                return 0;
        }
        /* Each uid has its own share: one peer's connections never keep another uid out. */
        size_t same = 0, max_uid = policy_max_connections_per_uid(d->policy);
        for (Conn *i = d->conns; i; i = i->next)
                same += i->uid == cred.uid;
        size_t others = d->n_conns - d->n_root_conns;
        if (same >= max_uid || (cred.uid != 0 && others >= MAX_CONNECTIONS)) {
                if (same >= max_uid)
                        snprintf(msg, sizeof(msg), "too many connections from uid %u (max_connections_per_uid = %zu)",
                                 (unsigned) cred.uid, max_uid);
                else
                        snprintf(msg, sizeof(msg), "too many connections (%d)", MAX_CONNECTIONS);
                log_warning("refused peer pid %d uid %u: %s", (int) cred.pid, (unsigned) cred.uid, msg);
                refuse_fd(cfd, EMFILE, msg);
                return 0;
        }
        Conn *c = xcalloc(1, sizeof(Conn));
        *c = (Conn) { .d = d, .fd = cfd, .uid = cred.uid, .gid = cred.gid, .pid = cred.pid, .driver = xstrdup("") };
        c->out_tail = &c->out;
        if (sd_event_add_io(d->event, &c->src, cfd, EPOLLIN, on_conn, c) < 0 ||
            sd_event_add_time_relative(d->event, &c->hello_timer, CLOCK_MONOTONIC, HELLO_TIMEOUT_USEC, 0,
                                       on_hello_timeout, c) < 0) {
                sd_event_source_disable_unref(c->src);
                safe_close(cfd);
                free(c->driver);
                free(c);
                return 0;
        }
        c->next = d->conns;
        d->conns = c;
        d->n_conns++;
        d->n_root_conns += c->uid == 0;
        return 0;
}
