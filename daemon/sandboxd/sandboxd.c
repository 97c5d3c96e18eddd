/* SPDX-License-Identifier: MIT */
/* sandboxd: the root daemon. Authenticates each peer (SO_PEERCRED), checks every request against
 * the operator's policy, spawns tasks in their sandbox and cgroup, supervises them, persists
 * what it must keep under the state directory, and finds every task again after a restart.
 *
 * One thread, one sd-event loop (no threads: we clone()). Per task: a directory
 * <state_dir>/tasks/<id>/ with state.json (ours) and exit (written by the sandbox's init when the
 * task ends, so the outcome survives our own death). Where this sits between Nomad and the task,
 * and the trust boundary: docs/architecture.md. */
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <dirent.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stddef.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "cgroup.h"
#include "config.h"
#include "explain.h"
#include "fault.h"
#include "frame.h"
#include "landlock.h"
#include "log.h"
#include "macro.h"
#include "policy.h"
#include "promises.h"
#include "request.h"
#include "seccomp-program.h"
#include "signals.h"
#include "spawn.h"
#include "task.h"
#include "util.h"

#define DEFAULT_CONFIG SYSCONFDIR "/sandboxd/sandboxd.conf"
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
#define CONN_OUT_MAX_BYTES (32u * 1024u * 1024u)
#define STOP_DEFAULT_TIMEOUT_MS 5000
#define STOP_MAX_TIMEOUT_MS (24ull * 3600 * 1000)
#define TASK_DENIALS 16 /* explained denials kept per task (inspect) */

typedef struct Daemon Daemon;
typedef struct Conn Conn;
typedef struct Task Task;

typedef struct Pending {
        Conn *conn;
        uint64_t id;
        int kind; /* PENDING_* */
        struct Pending *next;
} Pending;

enum { PENDING_WAIT, PENDING_STOP, PENDING_DESTROY, PENDING_START };

struct Task {
        Daemon *d;
        TaskRecord rec;
        int dir_fd;
        int pidfd;
        sd_event_source *pid_src;
        SandboxProcess proc;       /* ctl_fd valid while we are the spawner and the init lives */
        sd_event_source *ctl_src;
        Cgroup *cg;
        sd_event_source *stop_timer;
        bool killed; /* we sent SIGKILL to the sandbox (stop timeout, destroy --force, signal KILL) */
        bool start_failed; /* its RUNNING record could not be written: killed, the start fails */
        Pending *pending;
        /* Until the task runs: what it was built from, so a failed setup step can be described
         * with its path ("chdir: /x: No such file or directory"). */
        SandboxSpec *start_spec;
        SandboxPrepared *start_prep;
        /* The most recent explained denials (a ring), and pointers to them oldest first. */
        Sandboxd__V1__Denial denials[TASK_DENIALS];
        Sandboxd__V1__Denial *denials_order[TASK_DENIALS];
        size_t n_denials, next_denial;
        Task *next;
};

typedef struct OutFrame {
        struct OutFrame *next;
        size_t len;
        uint8_t data[];
} OutFrame;

struct Conn {
        Daemon *d;
        int fd;
        sd_event_source *src;
        sd_event_source *hello_timer; /* until hello */
        sd_event_source *close_src;   /* a deferred close (set when sending failed for good) */
        OutFrame *out, **out_tail;    /* replies the socket did not take yet, in order */
        size_t out_bytes;
        bool paused;                  /* not reading its requests until out drains */
        uid_t uid;
        gid_t gid;
        pid_t pid;
        bool hello;
        bool subscribed;
        size_t n_pending;
        char *driver;              /* "" for an admin connection (sees every task) */
        Conn *next;
};

struct Daemon {
        sd_event *event;
        char *config_path;
        char *socket_path;
        char *state_dir;
        char **hide_paths;         /* kept from every task: our socket and state, resolved */
        int state_fd;
        int tasks_fd;
        int listen_fd;
        bool socket_activated;
        Policy *policy;
        CgroupManager *cgroups;
        Task *tasks;
        size_t n_tasks;
        Conn *conns;
        size_t n_conns, n_root_conns;
        struct ExecSession *sessions;
        struct StartWait *start_waits;
        SeccompProgram cache_prog[16];
        uint64_t cache_key[16];
};

static int64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t now_mono_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* ---------------------------------------------------------------------------------------- */
/* Replies                                                                                    */

static void conn_close(Conn *c);
static void save_request(Task *t, const Sandboxd__V1__StartRequest *req);
static int task_signal(Task *t, int sig);

static size_t conn_out_max = CONN_OUT_MAX_BYTES;

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

static void conn_send(Conn *c, const Frame *f) {
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

static void reply_error(Conn *c, uint64_t id, int code, const char *field, const char *msg) {
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

static void task_info_fill(const Task *t, Sandboxd__V1__TaskInfo *i, Sandboxd__V1__ExitResult *e,
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
static void reply_ok(Conn *c, uint64_t id) {
        Sandboxd__V1__Response resp = SANDBOXD__V1__RESPONSE__INIT;
        Frame f = SANDBOXD__V1__FRAME__INIT;
        resp.id = id;
        f.kind_case = SANDBOXD__V1__FRAME__KIND_RESPONSE;
        f.response = &resp;
        conn_send(c, &f);
}

static void reply_task(Conn *c, uint64_t id, const Task *t) {
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

static bool pending_full(Conn *c, uint64_t id) {
        if (c->n_pending < MAX_PENDING_PER_CONN)
                return false;
        reply_error(c, id, EAGAIN, "", "too many outstanding requests on this connection");
        return true;
}

static void pending_free(Pending *p) {
        p->conn->n_pending--;
        free(p);
}

static void pending_add(Task *t, Conn *c, uint64_t id, int kind) {
        c->n_pending++;
        Pending *p = xcalloc(1, sizeof(Pending));
        *p = (Pending) { .conn = c, .id = id, .kind = kind, .next = t->pending };
        t->pending = p;
}

/* ---------------------------------------------------------------------------------------- */
/* Tasks                                                                                      */

static Task *task_find(Daemon *d, const char *name) {
        for (Task *t = d->tasks; t; t = t->next)
                if (streq(t->rec.name, name))
                        return t;
        return NULL;
}

static bool conn_may_see(const Conn *c, const Task *t) {
        return c->driver[0] == 0 || streq(c->driver, t->rec.driver);
}

static int task_save(Task *t) {
        SbxError err = {};
        int r = task_record_save(t->dir_fd, &t->rec, &err);
        if (r < 0)
                log_task(LOG_ERR, &t->rec, "task '%s': %s", t->rec.name, err.msg);
        return r;
}

/* The task runs (or ended): its setup is history. */
static void task_forget_start(Task *t) {
        if (t->start_spec) {
                sandbox_spec_done(t->start_spec);
                free(t->start_spec);
                t->start_spec = NULL;
        }
        if (t->start_prep) {
                sandbox_prepared_done(t->start_prep);
                free(t->start_prep);
                t->start_prep = NULL;
        }
}

static void task_denials_free(Task *t);

static void task_free(Task *t) {
        task_forget_start(t);
        task_denials_free(t);
        for (Pending *p = t->pending, *n; p; p = n) {
                n = p->next;
                pending_free(p);
        }
        sd_event_source_disable_unref(t->pid_src);
        sd_event_source_disable_unref(t->ctl_src);
        sd_event_source_disable_unref(t->stop_timer);
        sandbox_process_done(&t->proc);
        safe_close(t->pidfd);
        safe_close(t->dir_fd);
        cgroup_free(t->cg);
        task_record_done(&t->rec);
        free(t);
}

static void task_unlink(Task *t) {
        Daemon *d = t->d;
        for (Task **i = &d->tasks; *i; i = &(*i)->next)
                if (*i == t) {
                        *i = t->next;
                        d->n_tasks--;
                        break;
                }
}

/* Deletes every file sandboxd or the init keeps for a task, then its directory. state.json goes
 * first: a directory without one is what recovery removes as the leftover of an unfinished start
 * or destroy. */
static void task_files_remove(Daemon *d, int dir_fd, const char *id) {
        static const char *const files[] = {
                TASK_FILE_STATE,       TASK_FILE_STATE TASK_FILE_TMP,
                SANDBOX_STATUS_EXIT,   SANDBOX_STATUS_EXIT SANDBOX_STATUS_TMP,
                TASK_FILE_RESOLV_CONF, TASK_FILE_REQUEST,
                TASK_FILE_RULES,       TASK_FILE_RULES TASK_FILE_TMP,
                SANDBOX_STATUS_PINS,   SANDBOX_STATUS_PINS SANDBOX_STATUS_TMP,
        };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                (void) unlinkat(dir_fd, files[i], 0);
                if (i == 0)
                        fault_point("destroy-record");
        }
        (void) unlinkat(d->tasks_fd, id, AT_REMOVEDIR);
}

static void task_dir_remove(Task *t) {
        task_files_remove(t->d, t->dir_fd, t->rec.id);
}

/* Removes the task's cgroup and directory, answers the destroys waiting for that (only now: a
 * destroy acknowledged before its removal could come back after a crash), and forgets it. */
static void task_remove(Task *t) {
        if (t->cg)
                (void) cgroup_destroy(t->cg);
        else /* gone with the task's exit, or what a crash in the middle of that left */
                (void) cgroup_remove_orphan(t->d->cgroups, t->rec.id);
        fault_point("destroy-cgroup");
        task_dir_remove(t);
        fault_point("destroy-removed");
        log_task(LOG_INFO, &t->rec, "task '%s' removed", t->rec.name);
        for (Pending *p = t->pending; p; p = p->next)
                reply_task(p->conn, p->id, t);
        task_unlink(t);
        task_free(t);
}

static void broadcast_exit(Daemon *d, const Task *t) {
        Sandboxd__V1__TaskInfo i;
        Sandboxd__V1__ExitResult e;
        Sandboxd__V1__NomadMeta n;
        Sandboxd__V1__Event ev = SANDBOXD__V1__EVENT__INIT;
        Frame f = SANDBOXD__V1__FRAME__INIT;

        task_info_fill(t, &i, &e, &n);
        ev.exited = &i;
        f.kind_case = SANDBOXD__V1__FRAME__KIND_EVENT;
        f.event = &ev;
        for (Conn *c = d->conns; c; c = c->next)
                if (c->subscribed && conn_may_see(c, t))
                        conn_send(c, &f);
}

static void denial_done(Sandboxd__V1__Denial *x) {
        free(x->task);
        free(x->message);
        free(x->syscall);
        free(x->comm);
        strv_free(x->promises);
        sandboxd__v1__denial__init(x);
}

static void task_denials_free(Task *t) {
        for (size_t i = 0; i < TASK_DENIALS; i++)
                denial_done(&t->denials[i]);
        t->n_denials = t->next_denial = 0;
}

/* A call the task's promises refused, explained by its init: kept (the last TASK_DENIALS, for
 * inspect), logged, and sent to subscribers (the shim makes it a Nomad task event). */
static void task_denied(Daemon *d, Task *t, const InitNote *note, bool exec_session) {
        char line[512], name[32];
        Sandboxd__V1__Denial *x = &t->denials[t->next_denial];

        explain_note(note, line, sizeof(line));
        denial_done(x);
        x->task = xstrdup(t->rec.name);
        x->time_ns = now_ns();
        x->message = xstrdup(line);
        x->syscall = xstrdup(explain_syscall_name(note->nr, name));
        x->comm = xstrndup(note->comm, sizeof(note->comm));
        for (char *c = x->comm; *c; c++)
                if ((unsigned char) *c < 0x20 || (unsigned char) *c >= 0x7f)
                        *c = '?'; /* the task's to choose: no control characters (nor bad UTF-8) */
        x->pid = note->pid;
        x->exec_session = exec_session;
        x->dropped = note->dropped;
        _cleanup_free_ char *p = promises_format(note->sources & SECCOMP_SOURCES_PROMISES);
        for (const char *w = p; w && *w;) {
                size_t len = strcspn(w, " ");
                strv_consume(&x->promises, xstrndup(w, len));
                x->n_promises++;
                w += len + (w[len] == ' ');
        }
        t->next_denial = (t->next_denial + 1) % TASK_DENIALS;
        if (t->n_denials < TASK_DENIALS)
                t->n_denials++;
        for (size_t i = 0; i < t->n_denials; i++)
                t->denials_order[i] = &t->denials[(t->next_denial + TASK_DENIALS - t->n_denials + i) % TASK_DENIALS];
        log_task(LOG_NOTICE, &t->rec, "task '%s'%s: %s", t->rec.name, exec_session ? " (exec)" : "", line);

        Sandboxd__V1__TaskInfo i;
        Sandboxd__V1__ExitResult e;
        Sandboxd__V1__NomadMeta n;
        Sandboxd__V1__Event ev = SANDBOXD__V1__EVENT__INIT;
        Frame f = SANDBOXD__V1__FRAME__INIT;
        task_info_fill(t, &i, &e, &n);
        ev.denial = x;
        ev.nomad = &n;
        f.kind_case = SANDBOXD__V1__FRAME__KIND_EVENT;
        f.event = &ev;
        for (Conn *c = d->conns; c; c = c->next)
                if (c->subscribed && conn_may_see(c, t))
                        conn_send(c, &f);
}

/* The outcome is known: record it, answer whoever waits, tidy up. */
static void task_finish(Task *t, const InitMsg *m, const char *lost) {
        TaskRecord *r = &t->rec;
        SandboxResult res;

        if (r->state == SANDBOXD__V1__TASK_STATE__TASK_STATE_EXITED)
                return;
        r->finished_at_ns = now_ns();
        free(r->exit_error);
        r->exit_error = NULL;
        if (lost) {
                r->exit_code = -1;
                r->exit_signal = 0;
                r->exit_error = xstrdup(lost);
        } else {
                sandbox_result_from_msg(m, &res);
                r->exit_code = sandbox_result_exit_code(&res);
                r->exit_signal = res.kind == RESULT_SIGNALED ? res.code : 0;
                if (res.kind == RESULT_SETUP_FAILED) {
                        char buf[SBX_ERROR_MAX];
                        sandbox_result_describe(&res, t->start_spec, t->start_prep, buf, sizeof(buf));
                        r->exit_error = xstrdup(buf);
                }
        }
        if (t->start_failed && !r->exit_error)
                r->exit_error = xstrdup("state: the task's record could not be written (see sandboxd's log); killed");
        if (m && m->type == INIT_MSG_EXITED && m->oom_kills > 0)
                r->oom_killed = true;
        if (t->cg) {
                r->oom_killed = r->oom_killed || cgroup_oom_killed(t->cg);
                (void) cgroup_kill(t->cg);
        }
        r->state = SANDBOXD__V1__TASK_STATE__TASK_STATE_EXITED;
        r->stop_deadline_us = 0;
        (void) task_save(t);
        fault_point("exit-saved");
        log_task(LOG_INFO, r, "task '%s' exited: code %d%s%s%s", r->name, r->exit_code,
                 r->oom_killed ? " (OOM killed)" : "", r->exit_error ? ", " : "", r->exit_error ?: "");

        t->pid_src = sd_event_source_disable_unref(t->pid_src);
        t->ctl_src = sd_event_source_disable_unref(t->ctl_src);
        t->stop_timer = sd_event_source_disable_unref(t->stop_timer);
        sandbox_process_done(&t->proc);
        t->pidfd = safe_close(t->pidfd);
        task_forget_start(t);
        if (t->cg)
                (void) cgroup_destroy(t->cg);

        broadcast_exit(t->d, t);
        bool destroy = r->destroying;
        /* Destroys are answered by task_remove(), once the task is gone for good. */
        Pending *destroys = NULL;
        for (Pending *p = t->pending, *n; p; p = n) {
                n = p->next;
                if (p->kind == PENDING_DESTROY) {
                        p->next = destroys;
                        destroys = p;
                        continue;
                }
                if (p->kind == PENDING_START && r->exit_error) {
                        /* Setup failed before the task ran: a start error, with the step. (A task
                         * that merely finished before we read its RUNNING started fine.) */
                        char msg[SBX_ERROR_MAX + 32];
                        snprintf(msg, sizeof(msg), "%s", r->exit_error);
                        reply_error(p->conn, p->id, exec_errno_from_exit_code(r->exit_code),
                                    "", msg);
                        destroy = true;
                } else
                        reply_task(p->conn, p->id, t);
                pending_free(p);
        }
        t->pending = destroys;
        if (destroy)
                task_remove(t);
}

/* Whether we sent the sandbox SIGKILL, also as a daemon before a restart: a recorded destroy, or
 * a recorded stop whose deadline has passed. */
static bool task_killed_by_us(const Task *t) {
        return t->killed || t->rec.destroying || (t->rec.stop_deadline_us && now_mono_us() >= t->rec.stop_deadline_us);
}

/* A note of a task's init: a refused call explained. */
static InitNote init_note;

/* The notes still queued in the control socket of an init that has exited. Its exit (the pidfd
 * event) and the notes it sent just before arrive together, and on_ctl reads one message per
 * event: collected first, a task that exits right after refused calls lost their denials. The
 * init's files are closed before its pidfd becomes readable, so this ends at EOF, never waits. */
static void task_drain_notes(Task *t) {
        InitMsg m;
        if (!t->ctl_src)
                return;
        while (sandbox_process_read(&t->proc, &m, &init_note) > 0)
                if (m.type == INIT_MSG_NOTE && init_note.kind == NOTE_DENIED)
                        task_denied(t->d, t, &init_note, false);
        /* RUNNING, EXITED, SETUP_FAILED: the exit record below says the same. */
}

static void task_collect(Task *t) {
        InitMsg m;
        siginfo_t si = {};

        /* Reap if it is our child (not after a restart: then it was reparented). */
        (void) waitid((idtype_t) P_PIDFD, (id_t) t->pidfd, &si, WEXITED | WNOHANG);
        task_drain_notes(t);
        if (sandbox_read_exit_record(t->dir_fd, &m) == 0)
                task_finish(t, &m, NULL);
        else if (task_killed_by_us(t) || (t->cg && cgroup_oom_killed(t->cg))) {
                /* Our SIGKILL (or the OOM killer, for the whole cgroup) ended the init (PID 1)
                 * before it could write the record; the pid namespace died with it. */
                InitMsg k = { .type = INIT_MSG_EXITED, .status = SIGKILL };
                task_finish(t, &k, NULL);
        } else
                task_finish(t, NULL, "the sandbox init ended without reporting the task's exit (killed?)");
}

static int on_pidfd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        task_collect(userdata);
        return 0;
}

static int on_ctl(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Task *t = userdata;
        InitMsg m;
        int r = sandbox_process_read(&t->proc, &m, &init_note);

        if (r <= 0) {
                /* EOF: the init exited; the pidfd event finishes the task. */
                t->ctl_src = sd_event_source_disable_unref(t->ctl_src);
                return 0;
        }
        if (m.type == INIT_MSG_NOTE && init_note.kind == NOTE_DENIED)
                task_denied(t->d, t, &init_note, false);
        if (m.type == INIT_MSG_RUNNING) {
                task_forget_start(t);
                t->rec.state = SANDBOXD__V1__TASK_STATE__TASK_STATE_RUNNING;
                /* The start is acknowledged only once its record says RUNNING: recovery undoes a
                 * STARTING one, whose client never heard of it. Without that record, no ack. */
                if (task_save(t) < 0) {
                        t->rec.state = SANDBOXD__V1__TASK_STATE__TASK_STATE_STARTING;
                        t->start_failed = true;
                        if (t->cg)
                                (void) cgroup_kill(t->cg);
                        (void) task_signal(t, SIGKILL);
                        return 0;
                }
                fault_point("start-running");
                log_task(LOG_INFO, &t->rec, "task '%s' running (init pid %d)", t->rec.name, (int) t->rec.pid);
                for (Pending **p = &t->pending; *p;) {
                        if ((*p)->kind == PENDING_START) {
                                Pending *x = *p;
                                reply_task(x->conn, x->id, t);
                                *p = x->next;
                                pending_free(x);
                        } else
                                p = &(*p)->next;
                }
        }
        /* SETUP_FAILED/EXITED: the same report is in the exit record; the pidfd event reads it. */
        return 0;
}

static int task_watch(Task *t) {
        int r = sd_event_add_io(t->d->event, &t->pid_src, t->pidfd, EPOLLIN, on_pidfd, t);
        if (r < 0)
                return r;
        if (t->proc.ctl_fd >= 0) {
                r = sd_event_add_io(t->d->event, &t->ctl_src, t->proc.ctl_fd, EPOLLIN, on_ctl, t);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int on_stop_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Task *t = userdata;
        log_task(LOG_NOTICE, &t->rec, "task '%s' did not stop in time, killing it", t->rec.name);
        t->killed = true;
        if (t->cg)
                (void) cgroup_kill(t->cg);
        (void) syscall(SYS_pidfd_send_signal, t->pidfd, SIGKILL, NULL, 0);
        fault_point("stop-kill");
        t->stop_timer = sd_event_source_disable_unref(t->stop_timer);
        return 0;
}

static int task_arm_stop_timer(Task *t) {
        return sd_event_add_time(t->d->event, &t->stop_timer, CLOCK_MONOTONIC, t->rec.stop_deadline_us, 0, on_stop_timer,
                                 t);
}

static int task_signal(Task *t, int sig) {
        if (t->pidfd < 0)
                return -ESRCH;
        /* The init forwards it to the task's process group; SIGKILL ends the whole sandbox. */
        if (sig == SIGKILL)
                t->killed = true;
        return syscall(SYS_pidfd_send_signal, t->pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

/* The stop's signal and deadline are recorded before the signal goes out: a daemon restarted in
 * between sends it again and still kills the task at the deadline. */
static int task_stop(Task *t, int sig, uint64_t timeout_ms) {
        if (t->rec.state == SANDBOXD__V1__TASK_STATE__TASK_STATE_EXITED)
                return 0;
        if (!t->stop_timer) {
                t->rec.stop_signal = sig;
                t->rec.stop_deadline_us = now_mono_us() + timeout_ms * 1000;
                (void) task_save(t); /* logged; the stop still happens, its deadline just would not survive a crash */
                fault_point("stop-intent");
                int r = task_arm_stop_timer(t);
                if (r < 0)
                        return r;
        }
        (void) task_signal(t, sig);
        fault_point("stop-signal");
        return 1;
}

/* ---------------------------------------------------------------------------------------- */
/* Start                                                                                      */

/* Opens a task's stdout or stderr for writing: /dev/null, or a FIFO (Nomad's log collector,
 * logmon, reads it) or a regular file directly inside one of Nomad's alloc log directories
 * (policy log_dirs). No symlink anywhere: a task that can write to its alloc directory must not
 * be able to redirect this root open (exec2's CVE-2026-8052). No device but /dev/null and no
 * file with a second name, so no hard link in the task's reach makes sandboxd append to a file
 * the task could not write itself. Mount points on the way are fine: Nomad's data_dir is often
 * a disk or a tmpfs of its own, and /dev/null lives on devtmpfs.
 * A FIFO whose reader has not opened it yet gives -ENXIO (O_NONBLOCK: sandboxd never blocks in
 * open); the caller tries again later (start_open_logs). */
static int open_log_path(Daemon *d, const char *path, const char *alloc_id, int *ret_fd, SbxError *err) {
        int r = policy_check_log_path(d->policy, path, alloc_id, err);
        if (r < 0)
                return r;
        struct open_how how = {
                .flags = O_WRONLY | O_APPEND | O_NOCTTY | O_CLOEXEC | O_NONBLOCK,
                .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        struct stat st;
        _cleanup_close_ int fd = (int) syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
        if (fd < 0 && errno == ENXIO) {
                /* A FIFO without a reader, or a socket (which no open reaches). */
                how.flags = O_PATH | O_CLOEXEC;
                _cleanup_close_ int pfd = (int) syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
                if (pfd >= 0 && fstat(pfd, &st) == 0 && S_ISFIFO(st.st_mode))
                        return sbx_error(err, ENXIO, "'%s': opening it for writing: the FIFO has no reader yet", path);
                return sbx_error(err, EINVAL, "'%s': opening it for writing: not a FIFO, regular file or /dev/null",
                                 path);
        }
        if (fd < 0)
                return sbx_error_errno(err, errno, "'%s': opening it for writing", path);
        if (fstat(fd, &st) < 0)
                return sbx_error_errno(err, errno, "'%s': fstat", path);
        bool dev_null = S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
        if (!dev_null && !S_ISFIFO(st.st_mode) && !S_ISREG(st.st_mode))
                return sbx_error(err, EINVAL, "'%s': not a FIFO, regular file or /dev/null", path);
        if (!dev_null && st.st_nlink != 1)
                return sbx_error(err, EPERM, "'%s': has %ju names (hard links); refused", path, (uintmax_t) st.st_nlink);
        int fl = fcntl(fd, F_GETFL);
        (void) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* A start whose log FIFO has no reader yet. Nomad's logmon creates each FIFO before the start
 * request, but its reader opens it only afterwards, and Nomad does not wait for that (its own
 * executor just blocks in open). So the request waits here, without blocking the event loop:
 * handle_start() runs again from a timer (1 ms, doubling to 50 ms) until every log path opens
 * or log_reader_timeout passes. A FIFO already opened stays open: logmon reads until the first
 * EOF and never reopens. The task starts only once both are open, so nothing it writes is lost
 * (the pipe holds it until logmon reads). */
#define START_WAIT_FIRST_MS 1
#define START_WAIT_MAX_MS 50

typedef struct StartWait {
        Daemon *d;
        Conn *conn;
        uint64_t id;
        Sandboxd__V1__StartRequest *req; /* a copy: the frame is gone */
        int fds[3];
        size_t n_fds;
        int log_fds[2];                  /* stdout, stderr opened so far */
        const char *waiting_for;         /* the field whose path has no reader yet */
        uint64_t deadline;               /* CLOCK_MONOTONIC, µs */
        uint64_t delay_ms;
        bool again;                      /* the last run re-armed the wait */
        sd_event_source *timer;
        struct StartWait *next;
} StartWait;

static void start_wait_free(StartWait *w) {
        if (!w)
                return;
        for (StartWait **i = &w->d->start_waits; *i; i = &(*i)->next)
                if (*i == w) {
                        *i = w->next;
                        break;
                }
        if (w->conn)
                w->conn->n_pending--;
        sd_event_source_disable_unref(w->timer);
        for (size_t i = 0; i < w->n_fds; i++)
                safe_close(w->fds[i]);
        safe_close(w->log_fds[0]);
        safe_close(w->log_fds[1]);
        sandboxd__v1__start_request__free_unpacked(w->req, NULL);
        free(w);
}

static void handle_start(Conn *c, uint64_t id, const Sandboxd__V1__StartRequest *req, int *fds, size_t n_fds,
                         StartWait *w);

static int on_start_wait(sd_event_source *s, uint64_t usec, void *userdata) {
        StartWait *w = userdata;
        w->again = false;
        handle_start(w->conn, w->id, w->req, w->fds, w->n_fds, w);
        if (!w->again)
                start_wait_free(w);
        return 0;
}

/* Opens the request's stdout_path and stderr_path (those set). 0: *ret_out and *ret_err hold
 * them (-1 where unset); 1: a FIFO has no reader yet and the start waits (see StartWait; w is
 * the wait of this run, NULL on the first); < 0: refused, *ret_field names the field. */
static int start_open_logs(Conn *c, uint64_t id, const Sandboxd__V1__StartRequest *req, const int *fds, size_t n_fds,
                           StartWait *w, int *ret_out, int *ret_err, const char **ret_field, SbxError *err) {
        Daemon *d = c->d;
        const char *const paths[2] = { req->stdout_path, req->stderr_path };
        static const char *const fields[2] = { "stdout_path", "stderr_path" };
        int got[2] = { -1, -1 }, r;
        const char *waiting = NULL;

        if (w) {
                got[0] = TAKE_FD(w->log_fds[0]);
                got[1] = TAKE_FD(w->log_fds[1]);
        }
        for (int i = 0; i < 2; i++) {
                if (!paths[i][0] || got[i] >= 0)
                        continue;
                r = open_log_path(d, paths[i], req->nomad ? req->nomad->alloc_id : NULL, &got[i], err);
                if (r == -ENXIO && !waiting)
                        waiting = fields[i];
                else if (r < 0 && r != -ENXIO) {
                        safe_close(got[0]);
                        safe_close(got[1]);
                        *ret_field = fields[i];
                        return r;
                }
        }
        if (!waiting) {
                *ret_out = got[0];
                *ret_err = got[1];
                return 0;
        }

        uint64_t now = now_mono_us();
        if (!w) {
                if (pending_full(c, id)) {
                        safe_close(got[0]);
                        safe_close(got[1]);
                        return 1; /* answered */
                }
                w = xcalloc(1, sizeof(StartWait));
                *w = (StartWait) { .d = d, .conn = c, .id = id, .log_fds = { -1, -1 }, .delay_ms = START_WAIT_FIRST_MS,
                                   .deadline = now + (uint64_t) policy_log_reader_timeout_ms(d->policy) * 1000 };
                size_t len = sandboxd__v1__start_request__get_packed_size(req);
                _cleanup_free_ uint8_t *buf = xmalloc(len ? len : 1);
                sandboxd__v1__start_request__pack(req, buf);
                w->req = sandboxd__v1__start_request__unpack(NULL, len, buf);
                for (size_t i = 0; i < n_fds && i < ELEMENTSOF(w->fds); i++)
                        if ((w->fds[w->n_fds] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3)) >= 0)
                                w->n_fds++;
                if (!w->req || w->n_fds != n_fds ||
                    sd_event_add_time_relative(d->event, &w->timer, CLOCK_MONOTONIC, 0, 1000, on_start_wait, w) < 0) {
                        sandboxd__v1__start_request__free_unpacked(w->req, NULL);
                        for (size_t i = 0; i < w->n_fds; i++)
                                safe_close(w->fds[i]);
                        free(w);
                        safe_close(got[0]);
                        safe_close(got[1]);
                        *ret_field = waiting;
                        return sbx_error(err, ENOMEM, "waiting for the log FIFO's reader: out of resources");
                }
                c->n_pending++;
                w->next = d->start_waits;
                d->start_waits = w;
                log_debug("start '%s': %s; waiting up to %u ms for it", req->name, err->msg,
                          policy_log_reader_timeout_ms(d->policy));
        } else if (now >= w->deadline) {
                safe_close(got[0]);
                safe_close(got[1]);
                *ret_field = waiting;
                /* EAGAIN: a temporary failure (Nomad restarts the task under its restart policy). */
                return sbx_error(err, EAGAIN, "'%s': opening it for writing: no reader opened the FIFO within %u ms "
                                              "(log_reader_timeout; Nomad's log collector is not running?)",
                                 streq(waiting, "stdout_path") ? req->stdout_path : req->stderr_path,
                                 policy_log_reader_timeout_ms(d->policy));
        }
        w->log_fds[0] = got[0];
        w->log_fds[1] = got[1];
        w->waiting_for = waiting;
        uint64_t delay = w->delay_ms * 1000, left = w->deadline > now ? w->deadline - now : 0;
        (void) sd_event_source_set_time_relative(w->timer, delay < left ? delay : left);
        (void) sd_event_source_set_enabled(w->timer, SD_EVENT_ONESHOT);
        w->delay_ms = w->delay_ms * 2 > START_WAIT_MAX_MS ? START_WAIT_MAX_MS : w->delay_ms * 2;
        w->again = true;
        /* Nothing of a waiting start is recorded: its directory, the start's intent, comes only
         * once its logs are open. A crash now leaves the resolv.conf on its way (.resolv-*,
         * removed at startup) and the log FIFOs closed; the client learns that the outcome is
         * unknown, and after a restart "no such task" is true. */
        fault_point("start-wait");
        return 1;
}

/* The starts of a connection that closes: they wait no longer (nobody would be answered). */
static void start_waits_drop_conn(Daemon *d, Conn *c) {
        for (StartWait *w = d->start_waits, *n; w; w = n) {
                n = w->next;
                if (w->conn == c)
                        start_wait_free(w);
        }
}

/* A cancel for a start of this connection still waiting for its log reader. 1: found. */
static int start_wait_cancel(Conn *c, uint64_t id) {
        for (StartWait *w = c->d->start_waits; w; w = w->next)
                if (w->conn == c && w->id == id) {
                        reply_error(c, id, ECANCELED, w->waiting_for, "cancelled while waiting for the log FIFO's reader");
                        start_wait_free(w);
                        return 1;
                }
        return 0;
}

/* Whether every nameserver in a resolv.conf text is a loopback address (127.0.0.0/8, ::1). */
static bool resolv_only_loopback(const char *text) {
        bool any = false;
        for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                const char *v = startswith(l, "nameserver");
                if (!v || (*v != ' ' && *v != '\t'))
                        continue;
                v += strspn(v, " \t");
                any = true;
                if (!startswith(v, "127.") && !startswith(v, "::1"))
                        return false;
        }
        return any;
}

static char *read_small_file(const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        char *buf = xmalloc(SPEC_RESOLV_CONF_MAX + 1);
        ssize_t n = read(fd, buf, SPEC_RESOLV_CONF_MAX);
        if (n < 0) {
                free(buf);
                return NULL;
        }
        buf[n] = 0;
        return buf;
}

/* A task in a group network namespace cannot reach a stub resolver on the host's loopback
 * (systemd-resolved's 127.0.0.53). Then it gets the host's real upstream servers, which
 * systemd-resolved lists in /run/systemd/resolve/resolv.conf. NULL: keep the host's file. */
static char *host_upstream_resolv_conf(void) {
        _cleanup_free_ char *host = read_small_file("/etc/resolv.conf");
        if (!host || !resolv_only_loopback(host))
                return NULL;
        char *up = read_small_file("/run/systemd/resolve/resolv.conf");
        if (up && !resolv_only_loopback(up) && strstr(up, "nameserver"))
                return up;
        free(up);
        return NULL;
}

/* Nomad's directories for a task. Each must be the request's own allocation's (and task's) in
 * one of nomad_data_dir (policy_check_nomad_dir, lexically) and is opened without following
 * symlinks; the task's own ones become its user's, mode 0700, so the task of
 * another (dynamic) user cannot even traverse into them; all are unveiled rwc for the task. */
static int prepare_nomad_dir(Daemon *d, SandboxSpec *s, const Sandboxd__V1__StartRequest *req, PolicyNomadDir which,
                             const char *path, bool own, SbxError *err) {
        int r = policy_check_nomad_dir(d->policy, which, path, req->nomad ? req->nomad->alloc_id : NULL,
                                       req->nomad ? req->nomad->task_name : NULL, err);
        if (r < 0)
                return r;
        struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                                .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
        _cleanup_close_ int fd = (int) syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
        if (fd < 0)
                return sbx_error_errno(err, errno, "'%s'", path);
        if (own && (fchown(fd, s->uid, s->gid) < 0 || fchmod(fd, 0700) < 0))
                return sbx_error_errno(err, errno, "'%s': giving it to uid %u", path, (unsigned) s->uid);
        if (own) {
                /* Its subdirectories too (Nomad's local/, tmp/, private/ ...), one level, never
                 * through a symlink: the task works in them. */
                int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
                struct dirent *de;
                if (!dir && dfd >= 0)
                        safe_close(dfd);
                while (dir && (de = readdir(dir))) {
                        if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
                                continue;
                        _cleanup_close_ int sub = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub >= 0 && fchown(sub, s->uid, s->gid) < 0) {
                                r = sbx_error_errno(err, errno, "'%s/%s': giving it to uid %u", path, de->d_name,
                                                    (unsigned) s->uid);
                                closedir(dir);
                                return r;
                        }
                }
                if (dir)
                        closedir(dir);
        }
        (void) unveil_list_append(&s->unveil, path, UNVEIL_R | UNVEIL_W | UNVEIL_C, UNVEIL_ORIGIN_NOMAD);
        return 0;
}

/* The task's resolv.conf: written to a root-only file and opened; sandbox_prepare() makes a
 * detached mount of it for the init to attach over /etc/resolv.conf. The file must stay linked
 * until then: the kernel refuses to attach a mount whose root was unlinked (move_mount fails
 * with ENOENT). handle_start() moves it into the task's directory, task_remove() deletes it. */
typedef struct ResolvFile {
        int dir_fd;
        char name[32]; /* "" once it is the task's */
} ResolvFile;

static void resolv_file_unlink(ResolvFile *f) {
        if (f->name[0])
                (void) unlinkat(f->dir_fd, f->name, 0);
}

static int resolv_conf_open(Daemon *d, const char *content, ResolvFile *ret_file, int *ret_fd, SbxError *err) {
        char name[32];
        uint64_t v;
        if (getrandom(&v, sizeof(v), 0) != sizeof(v))
                v = (uint64_t) now_ns();
        snprintf(name, sizeof(name), ".resolv-%016llx", (unsigned long long) v);
        _cleanup_close_ int fd = openat(d->tasks_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return sbx_error_errno(err, errno, "creating the file");
        size_t n = strlen(content);
        bool nl = n > 0 && content[n - 1] != '\n';
        if (write(fd, content, n) != (ssize_t) n || (nl && write(fd, "\n", 1) != 1)) {
                int e = errno ?: EIO;
                (void) unlinkat(d->tasks_fd, name, 0);
                return sbx_error_errno(err, e, "writing the file");
        }
        int pfd = openat(d->tasks_fd, name, O_PATH | O_CLOEXEC | O_NOFOLLOW);
        if (pfd < 0) {
                int e = errno;
                (void) unlinkat(d->tasks_fd, name, 0);
                return sbx_error_errno(err, e, "opening the file");
        }
        ret_file->dir_fd = d->tasks_fd;
        memcpy(ret_file->name, name, sizeof(name));
        *ret_fd = pfd;
        return 0;
}

static char *new_task_id(void) {
        uint64_t v;
        if (getrandom(&v, sizeof(v), 0) != sizeof(v))
                v = (uint64_t) now_ns() ^ (uint64_t) getpid();
        return xasprintf("%016llx", (unsigned long long) v);
}

static void limits_from_request(const Sandboxd__V1__Resources *res, CgroupLimits *l) {
        *l = (CgroupLimits) {};
        if (!res)
                return;
        l->memory_max = res->memory_max_bytes;
        l->memory_low = res->memory_low_bytes;
        l->cpu_weight = res->cpu_weight;
        l->cpu_quota_us = res->cpu_quota_us;
        l->cpu_period_us = res->cpu_period_us;
        snprintf(l->allowed_cpus, sizeof(l->allowed_cpus), "%s", res->allowed_cpus);
        l->tasks_max = res->tasks_max;
}

/* Names of the limits asked for that the cgroup backend cannot enforce here. */
static size_t limits_unenforced(Daemon *d, const CgroupLimits *l, const char **out, size_t n) {
        const char *enforced[16];
        size_t ne = cgroup_manager_enforced(d->cgroups, enforced, ELEMENTSOF(enforced)), k = 0;
        const struct {
                const char *name;
                bool asked;
        } asked[] = {
                { "memory_max", l->memory_max > 0 },     { "memory_low", l->memory_low > 0 },
                { "cpu_weight", l->cpu_weight > 0 },     { "cpu_quota", l->cpu_quota_us > 0 },
                { "allowed_cpus", l->allowed_cpus[0] }, { "tasks_max", l->tasks_max > 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(asked); i++) {
                if (!asked[i].asked)
                        continue;
                bool ok = false;
                for (size_t j = 0; j < ne && !ok; j++)
                        ok = streq(enforced[j], asked[i].name);
                if (!ok && k < n)
                        out[k++] = asked[i].name;
        }
        return k;
}

static void limits_clear(CgroupLimits *l, const char *name) {
        if (streq(name, "memory_max"))
                l->memory_max = 0;
        else if (streq(name, "memory_low"))
                l->memory_low = 0;
        else if (streq(name, "cpu_weight"))
                l->cpu_weight = 0;
        else if (streq(name, "cpu_quota"))
                l->cpu_quota_us = 0;
        else if (streq(name, "allowed_cpus"))
                l->allowed_cpus[0] = 0;
        else if (streq(name, "tasks_max"))
                l->tasks_max = 0;
}

/* RLIMIT_NOFILE as sandboxd was started (its soft limit is raised for itself). */
static struct rlimit saved_nofile = { 1024, 4096 };

static void on_cgroup_attached(Cgroup *cg, int error, const char *msg, void *userdata) {
        Task *t = userdata;
        if (error < 0) {
                log_task(LOG_ERR, &t->rec, "task '%s': cgroup: %s", t->rec.name, msg ? msg : strerror(-error));
                /* The init holds: kill it, the pidfd event reports the failure. */
                (void) syscall(SYS_pidfd_send_signal, t->pidfd, SIGKILL, NULL, 0);
                return;
        }
        (void) sandbox_process_go(&t->proc);
        fault_point("start-go");
}

/* What a dynamically linked program does before its filter is narrowed counts against the
 * policy too (docs/promises.md, "The launch window"). */
static int check_launch(const PolicyDriver *pd, const SandboxSpec *s, const char **field, SbxError *err) {
        uint64_t launch;
        int r;
        if (!s->has_promises)
                return 0;
        if ((r = sandbox_launch_promises(s, &launch, NULL, err)) < 0) {
                *field = "command";
                return r;
        }
        *field = "policy";
        return policy_check_launch_promises(pd, s->exec_path, s->promises, launch, err);
}

/* The tasks held under the policy pd, for its max_tasks: a task counts from its start until it
 * is destroyed, exited or not (its record, logs and cgroup are held until then); one an admin
 * connection started counts against the admin policy it ran under. */
static size_t tasks_of_policy(const Daemon *d, const PolicyDriver *pd) {
        size_t n = 0;
        for (const Task *t = d->tasks; t; t = t->next)
                n += policy_driver(d->policy, t->rec.driver) == pd;
        return n;
}

/* w: the wait this run belongs to (see StartWait), NULL for a new request. */
static void handle_start(Conn *c, uint64_t id, const Sandboxd__V1__StartRequest *req, int *fds, size_t n_fds,
                         StartWait *w) {
        Daemon *d = c->d;
        _cleanup_(sandbox_spec_done) SandboxSpec s;
        _cleanup_(sandbox_prepared_done) SandboxPrepared prep = SANDBOX_PREPARED_INIT;
        _cleanup_close_ int out_fd = -1, err_fd = -1, resolv_fd = -1;
        _cleanup_(resolv_file_unlink) ResolvFile resolv_file = { .dir_fd = -1 };
        const char *field = "";
        char msg[SBX_ERROR_MAX + 64];
        SbxError err = {};
        int r;

        sandbox_spec_init(&s);
        const PolicyDriver *pd = policy_driver(d->policy, c->driver);
        if (!pd) {
                reply_error(c, id, EPERM, "driver", "no policy for this connection's driver");
                return;
        }
        /* A task that names no promises gets the policy's default_promises (the pledge driver's
         * tool applies "stdio rpath"), kept in the saved request so its exec sessions get them. */
        Sandboxd__V1__StartRequest effective = *req;
        _cleanup_free_ char *default_promises = NULL;
        uint64_t dp;
        if (!req->has_promises && policy_default_promises(pd, &dp)) {
                effective.has_promises = true;
                effective.promises = default_promises = promises_format(dp);
                req = &effective;
        }
        if (d->n_tasks >= policy_max_tasks(d->policy)) {
                snprintf(msg, sizeof(msg), "the daemon holds its maximum of %zu tasks", policy_max_tasks(d->policy));
                reply_error(c, id, EAGAIN, "", msg);
                return;
        }
        size_t driver_max = policy_driver_max_tasks(pd);
        if (driver_max && tasks_of_policy(d, pd) >= driver_max) {
                snprintf(msg, sizeof(msg), "driver '%s' holds its maximum of %zu tasks (max_tasks of [driver %s])",
                         policy_driver_name(pd), driver_max, policy_driver_name(pd));
                reply_error(c, id, EAGAIN, "", msg);
                return;
        }
        if (task_name_valid(req->name) == 0 && task_find(d, req->name)) {
                snprintf(msg, sizeof(msg), "a task named '%s' already exists", req->name);
                reply_error(c, id, EEXIST, "name", msg);
                return;
        }
        if (req->passed_fds != n_fds) {
                snprintf(msg, sizeof(msg), "%u announced, %zu received", req->passed_fds, n_fds);
                reply_error(c, id, EINVAL, "passed_fds", msg);
                return;
        }
        r = request_to_spec(req, policy_default_user(pd), &s, &field, &err);
        if (r < 0) {
                reply_error(c, id, r, field, err.msg);
                return;
        }
        PolicyTaskMeta meta = {
                .driver = c->driver,
                .nomad_namespace = req->nomad ? req->nomad->namespace_ : "",
                .job_id = req->nomad ? req->nomad->job_id : "",
        };
        r = policy_check_task(pd, &s, &meta, &err);
        if (r < 0) {
                reply_error(c, id, EPERM, "policy", err.msg);
                return;
        }
        if ((r = check_launch(pd, &s, &field, &err)) < 0) {
                reply_error(c, id, r, field, err.msg);
                return;
        }
        s.baseline = policy_baseline_filter(pd);
        s.explain = policy_explain_denials(pd);
        /* A volume's source is reached through the mount as if unveiled r (rw: rwc). */
        for (size_t i = 0; i < s.n_mounts; i++) {
                unsigned perms = s.mounts[i].readonly ? UNVEIL_R : UNVEIL_R | UNVEIL_W | UNVEIL_C;
                if (policy_check_unveil(pd, s.mounts[i].source, perms, &err) < 0) {
                        reply_error(c, id, EPERM, "mounts", err.msg);
                        return;
                }
        }
        static const struct {
                const char *field;
                size_t offset;
                PolicyNomadDir which;
                bool own;
        } nomad_dirs[] = {
                { "task_dir", offsetof(Sandboxd__V1__StartRequest, task_dir), POLICY_NOMAD_TASK_DIR, true },
                { "secrets_dir", offsetof(Sandboxd__V1__StartRequest, secrets_dir), POLICY_NOMAD_SECRETS_DIR, true },
                { "alloc_dir", offsetof(Sandboxd__V1__StartRequest, alloc_dir), POLICY_NOMAD_ALLOC_DIR, false },
        };
        for (size_t i = 0; i < ELEMENTSOF(nomad_dirs); i++) {
                const char *dir = *(char *const *) ((const char *) req + nomad_dirs[i].offset);
                if (dir && dir[0] && (r = prepare_nomad_dir(d, &s, req, nomad_dirs[i].which, dir, nomad_dirs[i].own, &err)) < 0) {
                        reply_error(c, id, r, nomad_dirs[i].field, err.msg);
                        return;
                }
        }

        _cleanup_free_ char *upstream = NULL;
        const char *resolv = req->resolv_conf;
        if (!resolv[0] && s.net == NET_JOIN && (upstream = host_upstream_resolv_conf()))
                resolv = upstream;
        if (resolv[0] && (r = resolv_conf_open(d, resolv, &resolv_file, &resolv_fd, &err)) < 0) {
                reply_error(c, id, r, "resolv_conf", err.msg);
                return;
        }
        s.resolv_conf_fd = resolv_fd;

        /* Not a request of the task's, so not checked against the policy's ceilings:
         * sandboxd raised its own soft NOFILE limit to hold thousands of tasks' fds; a task
         * that asks for nothing gets the limits sandboxd was started with, not ours. */
        bool has_nofile = false;
        for (size_t i = 0; i < s.n_rlimits; i++)
                has_nofile = has_nofile || s.rlimits[i].resource == RLIMIT_NOFILE;
        if (!has_nofile && s.n_rlimits < SPEC_MAX_RLIMITS)
                s.rlimits[s.n_rlimits++] = (SpecRlimit) { .resource = RLIMIT_NOFILE, .limit = saved_nofile };


        /* Resource limits this host cannot enforce are refused unless the policy allows them;
         * a cgroup Nomad created must lie beneath nomad_cgroup_parent. */
        CgroupLimits limits;
        limits_from_request(req->resources, &limits);
        /* Every task is bounded in processes, also when its request (Nomad's) names no limit. */
        bool default_processes = limits.tasks_max == 0;
        if (policy_check_processes(pd, &limits.tasks_max, &err) < 0) {
                reply_error(c, id, EPERM, "resources.tasks_max", err.msg);
                return;
        }
        const char *unenforced[8];
        size_t n_unenforced = limits_unenforced(d, &limits, unenforced, ELEMENTSOF(unenforced));
        if (policy_check_limits(pd, unenforced, n_unenforced, &err) < 0) {
                snprintf(msg, sizeof(msg), "%s%s", err.msg,
                         default_processes && limits.tasks_max ? " (tasks_max: the policy's default_processes)" : "");
                reply_error(c, id, EPERM, "resources", msg);
                return;
        }
        /* The policy lets these run unenforced: not asked of the backend, which would fail. */
        for (size_t i = 0; i < n_unenforced; i++)
                limits_clear(&limits, unenforced[i]);
        if (req->resources && req->resources->cgroup_path[0] &&
            policy_check_cgroup_path(d->policy, req->resources->cgroup_path, &err) < 0) {
                reply_error(c, id, EPERM, "resources.cgroup_path", err.msg);
                return;
        }

        if (n_fds == 3) {
                s.stdin_fd = fds[0];
                s.stdout_fd = fds[1];
                s.stderr_fd = fds[2];
        }
        r = start_open_logs(c, id, req, fds, n_fds, w, &out_fd, &err_fd, &field, &err);
        if (r > 0)
                return; /* waiting for a log FIFO's reader (or answered) */
        if (r < 0) {
                reply_error(c, id, r, field, err.msg);
                return;
        }
        if (out_fd >= 0)
                s.stdout_fd = out_fd;
        if (err_fd >= 0)
                s.stderr_fd = err_fd;

        /* The task's view: the policy may give it the host's /dev and /run; it never reaches
         * our socket or our state. */
        s.host_view = policy_host_view(pd);
        s.hide_paths = strv_copy(d->hide_paths);

        /* Every rule the task gets, resolved once, is checked where it really leads before
         * anything is built from it. */
        r = sandbox_plan(&s, &prep, &err);
        if (r < 0) {
                reply_error(c, id, r, "", err.msg);
                return;
        }
        r = policy_check_rules(pd, &prep.unveil, &err);
        if (r < 0) {
                reply_error(c, id, r, "policy", err.msg);
                return;
        }
        r = sandbox_prepare(&s, &prep, &err);
        if (r < 0) {
                reply_error(c, id, r, "", err.msg);
                return;
        }

        Task *t = xcalloc(1, sizeof(Task));
        t->d = d;
        t->pidfd = -1;
        t->dir_fd = -1;
        t->proc = (SandboxProcess) { .pidfd = -1, .ctl_fd = -1 };
        TaskRecord *rec = &t->rec;
        rec->id = new_task_id();
        rec->name = xstrdup(req->name);
        rec->driver = xstrdup(c->driver);
        rec->state = SANDBOXD__V1__TASK_STATE__TASK_STATE_STARTING;
        rec->argv = strv_copy(s.argv);
        rec->user = xstrdup(s.user);
        rec->uid = s.uid;
        rec->gid = s.gid;
        rec->has_promises = s.has_promises;
        rec->promises = s.has_promises ? promises_format(s.promises) : NULL;
        /* protobuf-c's repeated fields are counted, not NULL-terminated. */
        rec->unveil = xcalloc(req->n_unveil + 1, sizeof(char *));
        for (size_t i = 0; i < req->n_unveil; i++)
                rec->unveil[i] = xstrdup(req->unveil[i]);
        rec->unveil_defaults = !req->no_unveil_defaults;
        rec->net = xstrdup(s.net == NET_JOIN ? s.netns_path : net_mode_to_string(s.net));
        rec->landlock_abi = prep.landlock_fd >= 0 ? prep.landlock_info.abi : 0;
        rec->host_view = s.host_view;
        if (req->nomad) {
                rec->alloc_id = xstrdup(req->nomad->alloc_id);
                rec->task_name = xstrdup(req->nomad->task_name);
                rec->job_id = xstrdup(req->nomad->job_id);
                rec->nomad_namespace = xstrdup(req->nomad->namespace_);
                rec->task_group = xstrdup(req->nomad->task_group);
        }

        /* Every step from here on is ordered for a crash of sandboxd at any instant (see "Task
         * states and crash consistency" in docs/architecture.md): the directory is the intent
         * (recovery removes one without a record, and the cgroup named after it); the record
         * names the cgroup before anything runs in it, and the init's pid before the init may
         * start the task; the start is acknowledged once the record says RUNNING. */
        if (mkdirat(d->tasks_fd, rec->id, 0700) < 0) {
                r = -errno;
                snprintf(msg, sizeof(msg), "state: creating the task directory: %s", strerror(-r));
                reply_error(c, id, r, "", msg);
                task_free(t);
                return;
        }
        t->dir_fd = fault_fail("task-dir-open") ? (errno = EIO, -1)
                                                : openat(d->tasks_fd, rec->id, O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (t->dir_fd < 0) {
                r = -errno;
                /* Made, still empty: removed now, not left for the next recovery to find. */
                (void) unlinkat(d->tasks_fd, rec->id, AT_REMOVEDIR);
                snprintf(msg, sizeof(msg), "state: creating the task directory: %s", strerror(-r));
                reply_error(c, id, r, "", msg);
                task_free(t);
                return;
        }
        fault_point("start-dir");

        save_request(t, req);
        /* Pinned: an exec into the task gets exactly these (not the launch rules of the task's
         * own command), never re-resolved from paths the task can change since. Before the
         * spawn (after it, every heap page written is a COW fault), inside the directory that is
         * the start's intent: recovery removes it with the directory if no record follows. */
        if (s.landlock && task_rules_save(t->dir_fd, &prep.unveil, prep.n_task_rules, &err) < 0)
                log_task(LOG_WARNING, rec, "task '%s': saving its unveil rules: %s (exec into it will fail)", rec->name,
                         err.msg);

        r = cgroup_create(d->cgroups, rec->id, req->resources ? req->resources->cgroup_path : "", &limits, &t->cg, &err);
        if (r < 0) {
                reply_error(c, id, r, "resources", err.msg);
                task_dir_remove(t);
                task_free(t);
                return;
        }
        fault_point("start-cgroup");
        if (t->cg)
                rec->cgroup = xstrdup(cgroup_id(t->cg));
        if (task_record_save(t->dir_fd, rec, &err) < 0) {
                reply_error(c, id, EIO, "", err.msg);
                goto fail_cgroup;
        }
        fault_point("start-intent");

        /* Held on every backend until the record has the init's pid: an init that loses us
         * before that exits by itself (its control socket closes), so nothing runs that no
         * record names. */
        SpawnOptions opts = SPAWN_OPTIONS_INIT;
        opts.status_dir_fd = t->dir_fd;
        opts.cgroup_fd = t->cg ? cgroup_clone_fd(t->cg) : -1;
        opts.flags |= SPAWN_HOLD;
        bool attach = t->cg && opts.cgroup_fd < 0;

        r = sandbox_spawn(&s, &prep, &opts, &t->proc, &err);
        if (r < 0) {
                reply_error(c, id, r, "", err.msg);
                goto fail_cgroup;
        }
        fault_point("start-clone");
        /* Renamed, not copied: the init may be attaching it right now (see resolv_conf_open). */
        if (resolv_file.name[0] && renameat(d->tasks_fd, resolv_file.name, t->dir_fd, TASK_FILE_RESOLV_CONF) < 0)
                log_task(LOG_WARNING, rec, "task '%s': keeping %s/tasks/%s: %s", req->name, d->state_dir,
                         resolv_file.name, strerror(errno));
        resolv_file.name[0] = 0;
        t->pidfd = t->proc.pidfd;
        t->proc.pidfd = -1;
        rec->pid = t->proc.pid;
        (void) proc_start_ticks(rec->pid, &rec->start_ticks);
        rec->started_at_ns = now_ns();
        if (task_record_save(t->dir_fd, rec, &err) < 0) {
                reply_error(c, id, EIO, "", err.msg);
                (void) syscall(SYS_pidfd_send_signal, t->pidfd, SIGKILL, NULL, 0);
                (void) waitid((idtype_t) P_PIDFD, (id_t) t->pidfd, &(siginfo_t) {}, WEXITED);
                goto fail_cgroup;
        }
        fault_point("start-pid");

        /* Kept until the task runs, to describe a failed setup step; the caller's fds stay ours. */
        s.stdin_fd = s.stdout_fd = s.stderr_fd = s.resolv_conf_fd = -1;
        t->start_spec = xmalloc(sizeof(SandboxSpec));
        *t->start_spec = s;
        sandbox_spec_init(&s);
        t->start_prep = xmalloc(sizeof(SandboxPrepared));
        *t->start_prep = prep;
        prep = SANDBOX_PREPARED_INIT;

        t->next = d->tasks;
        d->tasks = t;
        d->n_tasks++;
        pending_add(t, c, id, PENDING_START);
        r = task_watch(t);
        if (r < 0)
                log_task(LOG_ERR, rec, "watching task '%s': %s", rec->name, strerror(-r));
        log_task(LOG_INFO, rec, "task '%s' starting: %s (user %s, promises %s)", rec->name, t->start_spec->exec_path, rec->user,
                 rec->promises ? rec->promises : "none");

        if (attach) {
                r = cgroup_attach(t->cg, rec->pid, on_cgroup_attached, t, &err);
                if (r < 0) {
                        log_task(LOG_ERR, rec, "task '%s': %s", rec->name, err.msg);
                        (void) syscall(SYS_pidfd_send_signal, t->pidfd, SIGKILL, NULL, 0);
                }
        } else
                on_cgroup_attached(t->cg, 0, NULL, t);
        return;

fail_cgroup:
        if (t->cg)
                (void) cgroup_destroy(t->cg);
        task_dir_remove(t);
        task_free(t);
}

/* ---------------------------------------------------------------------------------------- */
/* Other requests                                                                             */

static Task *lookup(Conn *c, uint64_t id, const char *name) {
        Task *t = task_find(c->d, name);
        if (!t || !conn_may_see(c, t)) {
                char msg[TASK_NAME_MAX + 64];
                snprintf(msg, sizeof(msg), "no task named '%s'", name);
                reply_error(c, id, ENOENT, "name", msg);
                return NULL;
        }
        return t;
}

static int task_name_cmp(const void *a, const void *b) {
        return strcmp((*(Task *const *) a)->rec.name, (*(Task *const *) b)->rec.name);
}

static bool listed(const Conn *c, const Task *t, const char *after) {
        return conn_may_see(c, t) && (!after || strcmp(t->rec.name, after) > 0);
}

/* One page of the task list: the tasks named after `after`, sorted by name, as many as fit in
 * one frame (a thousand tasks with their unveil lists do not). */
static void handle_list(Conn *c, uint64_t id, const char *after) {
        Daemon *d = c->d;
        size_t n = 0, i = 0;
        for (Task *t = d->tasks; t; t = t->next)
                if (listed(c, t, after))
                        n++;
        Task **sorted = xcalloc(n ? n : 1, sizeof(*sorted));
        for (Task *t = d->tasks; t; t = t->next)
                if (listed(c, t, after))
                        sorted[i++] = t;
        qsort(sorted, n, sizeof(*sorted), task_name_cmp);

        Sandboxd__V1__TaskInfo *infos = xcalloc(n ? n : 1, sizeof(*infos));
        Sandboxd__V1__TaskInfo **ptrs = xcalloc(n ? n : 1, sizeof(*ptrs));
        Sandboxd__V1__ExitResult *exits = xcalloc(n ? n : 1, sizeof(*exits));
        Sandboxd__V1__NomadMeta *metas = xcalloc(n ? n : 1, sizeof(*metas));
        /* room for the frame, response and list headers, the id and the `more` flag */
        size_t budget = FRAME_MAX - 256, used = 0, k = 0;
        for (; k < n; k++) {
                task_info_fill(sorted[k], &infos[k], &exits[k], &metas[k]);
                size_t sz = sandboxd__v1__task_info__get_packed_size(&infos[k]);
                sz += 1 + 5; /* the field's tag and length */
                if (used + sz > budget && k > 0)
                        break;
                used += sz;
                ptrs[k] = &infos[k];
        }
        Sandboxd__V1__TaskList list = SANDBOXD__V1__TASK_LIST__INIT;
        list.n_tasks = k;
        list.tasks = ptrs;
        list.more = k < n;
        Sandboxd__V1__Response resp = SANDBOXD__V1__RESPONSE__INIT;
        resp.id = id;
        resp.result_case = SANDBOXD__V1__RESPONSE__RESULT_LIST;
        resp.list = &list;
        Frame f = SANDBOXD__V1__FRAME__INIT;
        f.kind_case = SANDBOXD__V1__FRAME__KIND_RESPONSE;
        f.response = &resp;
        if (sandboxd__v1__frame__get_packed_size(&f) > FRAME_MAX)
                reply_error(c, id, EMSGSIZE, "", "a task's description does not fit in one reply");
        else
                conn_send(c, &f);
        free(sorted);
        free(infos);
        free(ptrs);
        free(exits);
        free(metas);
}

static void handle_stats(Conn *c, uint64_t id, Task *t) {
        Sandboxd__V1__TaskStats st = SANDBOXD__V1__TASK_STATS__INIT;
        CgroupStats cs = {};
        char *measured[16];
        size_t nm = 0;

        st.name = t->rec.name;
        st.timestamp_ns = now_ns();
        if (t->cg && t->rec.state != SANDBOXD__V1__TASK_STATE__TASK_STATE_EXITED && cgroup_stats(t->cg, &cs) == 0) {
                st.cpu_user_us = cs.cpu_user_us;
                st.cpu_system_us = cs.cpu_system_us;
                st.cpu_usage_us = cs.cpu_usage_us;
                st.throttled_periods = cs.nr_throttled;
                st.throttled_us = cs.throttled_us;
                st.memory_current = cs.memory_current;
                st.memory_rss = cs.memory_rss;
                st.memory_cache = cs.memory_cache;
                st.memory_swap = cs.memory_swap;
                st.memory_peak = cs.memory_peak;
                st.pids_current = cs.pids_current;
                nm = cgroup_stats_measured(&cs, (const char **) measured, ELEMENTSOF(measured));
        }
        st.n_measured = nm;
        st.measured = measured;
        Sandboxd__V1__Response resp = SANDBOXD__V1__RESPONSE__INIT;
        resp.id = id;
        resp.result_case = SANDBOXD__V1__RESPONSE__RESULT_STATS;
        resp.stats = &st;
        Frame f = SANDBOXD__V1__FRAME__INIT;
        f.kind_case = SANDBOXD__V1__FRAME__KIND_RESPONSE;
        f.response = &resp;
        conn_send(c, &f);
}

/* ---------------------------------------------------------------------------------------- */
/* Exec sessions: a command inside a running task's sandbox                                   */

typedef struct ExecSession {
        Daemon *d;
        Conn *conn; /* NULL once the client left: the command is killed, nobody is answered */
        uint64_t id;
        SandboxSpec spec;
        SandboxPrepared prep;
        SandboxProcess proc;
        sd_event_source *pid_src, *ctl_src;
        InitMsg msg; /* the last report of the session's supervisor */
        bool have_msg;
        char *task; /* the task's name: its explained denials are the task's */
        struct ExecSession *next;
} ExecSession;

/* The task's StartRequest, so an exec session can rebuild exactly its sandbox, also after a
 * daemon restart. Root-only, in the task's state directory. */
static void save_request(Task *t, const Sandboxd__V1__StartRequest *req) {
        size_t len = sandboxd__v1__start_request__get_packed_size(req);
        _cleanup_free_ uint8_t *buf = xmalloc(len ? len : 1);
        sandboxd__v1__start_request__pack(req, buf);
        _cleanup_close_ int fd = openat(t->dir_fd, TASK_FILE_REQUEST, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 || write(fd, buf, len) != (ssize_t) len)
                log_task(LOG_WARNING, &t->rec, "task '%s': saving its request: %s (exec into it will fail)", t->rec.name,
                         strerror(errno ?: EIO));
}

static Sandboxd__V1__StartRequest *load_request(Task *t) {
        _cleanup_close_ int fd = openat(t->dir_fd, TASK_FILE_REQUEST, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0 || st.st_size > FRAME_MAX)
                return NULL;
        _cleanup_free_ uint8_t *buf = xmalloc((size_t) st.st_size + 1);
        if (read(fd, buf, (size_t) st.st_size) != st.st_size)
                return NULL;
        return sandboxd__v1__start_request__unpack(NULL, (size_t) st.st_size, buf);
}

static void exec_session_free(ExecSession *x) {
        for (ExecSession **i = &x->d->sessions; *i; i = &(*i)->next)
                if (*i == x) {
                        *i = x->next;
                        break;
                }
        sd_event_source_disable_unref(x->pid_src);
        sd_event_source_disable_unref(x->ctl_src);
        sandbox_process_done(&x->proc);
        sandbox_prepared_done(&x->prep);
        sandbox_spec_done(&x->spec);
        free(x->task);
        free(x);
}

/* Ends a session's command and its process group; its supervisor then reports how it ended
 * (on_exec_exit). If the supervisor cannot be told, it is killed (the command dies with it). */
static void exec_session_kill(ExecSession *x) {
        if (x->proc.ctl_fd < 0 || sandbox_process_kill(&x->proc) < 0)
                if (x->proc.pidfd >= 0)
                        (void) syscall(SYS_pidfd_send_signal, x->proc.pidfd, SIGKILL, NULL, 0);
}

static void exec_sessions_drop_conn(Daemon *d, Conn *c) {
        for (ExecSession *x = d->sessions; x; x = x->next)
                if (x->conn == c) {
                        x->conn = NULL;
                        exec_session_kill(x);
                }
}

/* A cancel for one of this connection's execs. 1: found (the exec's own answer follows). */
static int exec_session_cancel(Conn *c, uint64_t id) {
        for (ExecSession *x = c->d->sessions; x; x = x->next)
                if (x->conn == c && x->id == id) {
                        log_debug("peer pid %d: exec request %" PRIu64 " cancelled", (int) c->pid, id);
                        exec_session_kill(x);
                        return 1;
                }
        return 0;
}

static void exec_denied(ExecSession *x, const InitMsg *m) {
        Task *t = m->type == INIT_MSG_NOTE && init_note.kind == NOTE_DENIED ? task_find(x->d, x->task) : NULL;
        if (t)
                task_denied(x->d, t, &init_note, true);
}

static int on_exec_ctl(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ExecSession *x = userdata;
        InitMsg m;
        int r = sandbox_process_read(&x->proc, &m, &init_note);
        if (r <= 0) {
                x->ctl_src = sd_event_source_disable_unref(x->ctl_src);
                return 0;
        }
        exec_denied(x, &m);
        if (m.type != INIT_MSG_RUNNING && m.type != INIT_MSG_NOTE) {
                x->msg = m;
                x->have_msg = true;
        }
        return 0;
}

static int on_exec_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ExecSession *x = userdata;
        siginfo_t si = {};
        SandboxResult res;
        char error[SBX_ERROR_MAX + 128] = "";

        (void) waitid((idtype_t) P_PIDFD, (id_t) x->proc.pidfd, &si, WEXITED);
        /* A report may still sit in the control socket. */
        InitMsg m;
        while (x->ctl_src && sandbox_process_read(&x->proc, &m, &init_note) > 0)
                if ((exec_denied(x, &m), m.type != INIT_MSG_RUNNING && m.type != INIT_MSG_NOTE)) {
                        x->msg = m;
                        x->have_msg = true;
                }
        if (x->have_msg)
                sandbox_result_from_msg(&x->msg, &res);
        else {
                int status = si.si_code == CLD_EXITED ? W_EXITCODE(si.si_status, 0) : si.si_status;
                sandbox_result_from_init_status(status, &res);
        }
        if (res.kind == RESULT_SETUP_FAILED)
                sandbox_result_describe(&res, &x->spec, &x->prep, error, sizeof(error));

        if (x->conn) {
                Sandboxd__V1__ExitResult e = SANDBOXD__V1__EXIT_RESULT__INIT;
                e.exit_code = sandbox_result_exit_code(&res);
                e.signal = res.kind == RESULT_SIGNALED ? res.code : 0;
                e.error = error;
                Sandboxd__V1__Response resp = SANDBOXD__V1__RESPONSE__INIT;
                resp.id = x->id;
                resp.result_case = SANDBOXD__V1__RESPONSE__RESULT_EXEC;
                resp.exec = &e;
                Frame f = SANDBOXD__V1__FRAME__INIT;
                f.kind_case = SANDBOXD__V1__FRAME__KIND_RESPONSE;
                f.response = &resp;
                conn_send(x->conn, &f);
                x->conn->n_pending--;
        }
        exec_session_free(x);
        return 0;
}

static void reply_exec_result(Conn *c, uint64_t id, int exit_code, const char *error) {
        Sandboxd__V1__ExitResult e = SANDBOXD__V1__EXIT_RESULT__INIT;
        e.exit_code = exit_code;
        e.error = (char *) error;
        Sandboxd__V1__Response resp = SANDBOXD__V1__RESPONSE__INIT;
        resp.id = id;
        resp.result_case = SANDBOXD__V1__RESPONSE__RESULT_EXEC;
        resp.exec = &e;
        Frame f = SANDBOXD__V1__FRAME__INIT;
        f.kind_case = SANDBOXD__V1__FRAME__KIND_RESPONSE;
        f.response = &resp;
        conn_send(c, &f);
}

static void on_exec_attached(Cgroup *cg, int error, const char *msg, void *userdata) {
        ExecSession *x = userdata;
        if (error < 0) {
                (void) syscall(SYS_pidfd_send_signal, x->proc.pidfd, SIGKILL, NULL, 0);
                return;
        }
        (void) sandbox_process_go(&x->proc);
}

static void handle_exec(Conn *c, uint64_t id, const Sandboxd__V1__ExecRequest *req, int *fds, size_t n_fds) {
        Daemon *d = c->d;
        const char *field = "";
        SbxError err = {};
        char msg[SBX_ERROR_MAX + 64];
        Task *t;
        int r;

        if (req->n_argv == 0 || !req->argv[0][0]) {
                reply_error(c, id, EINVAL, "command", "must not be empty");
                return;
        }
        if (req->passed_fds != 3 || n_fds != 3) {
                reply_error(c, id, EINVAL, "passed_fds", "exec needs stdin, stdout and stderr (3 descriptors)");
                return;
        }
        if (!(t = lookup(c, id, req->name)))
                return;
        if (t->rec.state != SANDBOXD__V1__TASK_STATE__TASK_STATE_RUNNING || t->pidfd < 0) {
                snprintf(msg, sizeof(msg), "task '%s' is not running", t->rec.name);
                reply_error(c, id, ESRCH, "name", msg);
                return;
        }
        Sandboxd__V1__StartRequest *orig = load_request(t);
        if (!orig) {
                snprintf(msg, sizeof(msg), "task '%s': its request is not on record (started by an older sandboxd?)",
                         t->rec.name);
                reply_error(c, id, ENOENT, "name", msg);
                return;
        }

        ExecSession *x = xcalloc(1, sizeof(ExecSession));
        *x = (ExecSession) { .d = d, .conn = c, .id = id, .prep = SANDBOX_PREPARED_INIT,
                             .proc = { .pidfd = -1, .ctl_fd = -1 } };
        x->task = xstrdup(t->rec.name);
        x->next = d->sessions;
        d->sessions = x;
        sandbox_spec_init(&x->spec);
        SandboxSpec *s = &x->spec;

        /* The task's own sandbox, for a different command: same user (as resolved at start),
         * promises, limits; the task's environment plus the session's. */
        r = request_to_spec(orig, t->rec.user, s, &field, &err);
        sandboxd__v1__start_request__free_unpacked(orig, NULL);
        if (r < 0)
                goto fail;
        /* The unveil rules are the ones the task got at its start, pinned: each must still be the
         * object it was (a task that can write along a rule's path must not redirect it for us). */
        field = "unveil";
        unveil_list_done(&s->unveil);
        r = task_rules_load(t->dir_fd, &s->unveil, &err);
        if (r == -ENOENT) {
                r = sbx_error(&err, ENOENT, "task '%s': its unveil rules were not pinned at its start (started by an "
                                            "older sandboxd?); restart the task to exec into it", t->rec.name);
                goto fail;
        }
        if (r < 0)
                goto fail;
        r = sandbox_read_pins(t->dir_fd, s->unveil.rules, s->unveil.n);
        if (r < 0) {
                r = sbx_error_errno(&err, r, "task '%s': the pins of its unveil rules in the task's view (%s/tasks/%s/pins)",
                                    t->rec.name, d->state_dir, t->rec.id);
                goto fail;
        }
        for (size_t i = 0; i < s->unveil.n; i++)
                if (!s->unveil.rules[i].pinned) {
                        char rule[UNVEIL_MAX_PATH + 8];
                        r = sbx_error(&err, ENOENT, "task '%s': unveil '%s': not pinned at the task's start", t->rec.name,
                                      unveil_rule_format(&s->unveil.rules[i], rule, sizeof(rule)));
                        goto fail;
                }
        s->unveil_pinned = true;
        s->host_view = t->rec.host_view;
        strv_free(s->argv);
        s->argv = xcalloc(req->n_argv + 1, sizeof(char *));
        for (size_t i = 0; i < req->n_argv; i++)
                s->argv[i] = xstrdup(req->argv[i]);
        field = "env";
        for (size_t i = 0; i < req->n_env; i++)
                if ((r = spec_env_set(s, req->env[i], &err)) < 0)
                        goto fail;
        field = "command";
        free(s->exec_path);
        s->exec_path = NULL;
        if ((r = spec_resolve_command(s, &err)) < 0) {
                /* Not a request error: the command's own outcome, as the shell reports it. */
                reply_exec_result(c, id, exit_code_from_exec_errno(-r), err.msg);
                exec_session_free(x);
                return;
        }
        s->stdin_fd = fds[0];
        s->stdout_fd = fds[1];
        s->stderr_fd = fds[2];
        if (req->tty) {
                if (!isatty(fds[0])) {
                        r = sbx_error(&err, ENOTTY, "stdin is not a terminal");
                        field = "tty";
                        goto fail;
                }
                s->tty = true;
        }
        /* The task's driver policy: the command's launch window, the baseline filter. */
        const PolicyDriver *pd = policy_driver(d->policy, t->rec.driver);
        if (!pd) {
                r = sbx_error(&err, EPERM, "policy '%s' is gone", t->rec.driver);
                field = "policy";
                goto fail;
        }
        if ((r = check_launch(pd, s, &field, &err)) < 0)
                goto fail;
        s->baseline = policy_baseline_filter(pd);
        s->explain = policy_explain_denials(pd);
        field = "";
        if ((r = sandbox_plan(s, &x->prep, &err)) < 0)
                goto fail;
        /* The policy in force now, for the pinned rules and the command's own launch rules. */
        field = "policy";
        if ((r = policy_check_rules(pd, &x->prep.unveil, &err)) < 0)
                goto fail;
        field = "";
        if ((r = sandbox_prepare(s, &x->prep, &err)) < 0)
                goto fail;

        SpawnOptions opts = SPAWN_OPTIONS_INIT;
        opts.flags = SPAWN_DIE_WITH_PARENT;
        opts.join_pidfd = t->pidfd;
        opts.cgroup_fd = t->cg ? cgroup_clone_fd(t->cg) : -1;
        bool attach = t->cg && opts.cgroup_fd < 0;
        if (attach)
                opts.flags |= SPAWN_HOLD;
        r = sandbox_spawn(s, &x->prep, &opts, &x->proc, &err);
        if (r < 0)
                goto fail;
        if (sd_event_add_io(d->event, &x->pid_src, x->proc.pidfd, EPOLLIN, on_exec_exit, x) < 0 ||
            sd_event_add_io(d->event, &x->ctl_src, x->proc.ctl_fd, EPOLLIN, on_exec_ctl, x) < 0) {
                (void) syscall(SYS_pidfd_send_signal, x->proc.pidfd, SIGKILL, NULL, 0);
                r = sbx_error(&err, EIO, "watching the session");
                goto fail;
        }
        c->n_pending++;
        log_task(LOG_INFO, &t->rec, "task '%s': exec %s (supervisor pid %d)", t->rec.name, s->exec_path,
                 (int) x->proc.pid);
        if (attach && cgroup_attach(t->cg, x->proc.pid, on_exec_attached, x, &err) < 0)
                (void) syscall(SYS_pidfd_send_signal, x->proc.pidfd, SIGKILL, NULL, 0);
        return;

fail:
        s->stdin_fd = s->stdout_fd = s->stderr_fd = -1;
        reply_error(c, id, r, field, err.msg);
        exec_session_free(x);
}

static void handle_request(Conn *c, const Sandboxd__V1__Request *req, int *fds, size_t n_fds) {
        uint64_t id = req->id;
        Task *t;
        int r, sig;
        char msg[256];

        if (req->op_case != SANDBOXD__V1__REQUEST__OP_START && req->op_case != SANDBOXD__V1__REQUEST__OP_EXEC &&
            n_fds > 0) {
                reply_error(c, id, EINVAL, "", "file descriptors are only accepted with start and exec");
                return;
        }
        switch (req->op_case) {
        case SANDBOXD__V1__REQUEST__OP_EXEC:
                handle_exec(c, id, req->exec, fds, n_fds);
                return;
        case SANDBOXD__V1__REQUEST__OP_START:
                handle_start(c, id, req->start, fds, n_fds, NULL);
                return;
        case SANDBOXD__V1__REQUEST__OP_CANCEL:
                if (exec_session_cancel(c, req->cancel->id) || start_wait_cancel(c, req->cancel->id))
                        reply_ok(c, id);
                else {
                        snprintf(msg, sizeof(msg), "no request %" PRIu64 " of this connection is waiting", req->cancel->id);
                        reply_error(c, id, ENOENT, "id", msg);
                }
                return;
        case SANDBOXD__V1__REQUEST__OP_WAIT:
                if (!(t = lookup(c, id, req->wait->name)))
                        return;
                if (t->rec.state == SANDBOXD__V1__TASK_STATE__TASK_STATE_EXITED)
                        reply_task(c, id, t);
                else if (!pending_full(c, id))
                        pending_add(t, c, id, PENDING_WAIT);
                return;
        case SANDBOXD__V1__REQUEST__OP_STOP: {
                Sandboxd__V1__StopRequest *s = req->stop;
                if (!(t = lookup(c, id, s->name)))
                        return;
                sig = s->signal[0] ? signal_from_string(s->signal) : SIGTERM;
                if (sig <= 0) {
                        snprintf(msg, sizeof(msg), "'%.64s': unknown signal", s->signal);
                        reply_error(c, id, EINVAL, "signal", msg);
                        return;
                }
                if (pending_full(c, id))
                        return;
                uint64_t timeout = s->timeout_ms ? s->timeout_ms : STOP_DEFAULT_TIMEOUT_MS;
                if (timeout > STOP_MAX_TIMEOUT_MS)
                        timeout = STOP_MAX_TIMEOUT_MS;
                r = task_stop(t, sig, timeout);
                if (r < 0)
                        reply_error(c, id, r, "", "arming the stop timer failed");
                else if (r == 0)
                        reply_task(c, id, t);
                else
                        pending_add(t, c, id, PENDING_STOP);
                return;
        }
        case SANDBOXD__V1__REQUEST__OP_DESTROY:
                if (!(t = lookup(c, id, req->destroy->name)))
                        return;
                bool exited = t->rec.state == SANDBOXD__V1__TASK_STATE__TASK_STATE_EXITED;
                if (!exited && !req->destroy->force) {
                        reply_error(c, id, EBUSY, "force", "the task is running; stop it first or destroy with force");
                        return;
                }
                if (pending_full(c, id))
                        return;
                /* The intent first: a restarted daemon finishes a destroy it finds recorded. The
                 * answer comes from task_remove(), after the removal. */
                t->rec.destroying = true;
                (void) task_save(t);
                fault_point("destroy-intent");
                pending_add(t, c, id, PENDING_DESTROY);
                if (exited) {
                        task_remove(t);
                        return;
                }
                if (t->cg)
                        (void) cgroup_kill(t->cg);
                (void) task_signal(t, SIGKILL);
                fault_point("destroy-killed");
                return;
        case SANDBOXD__V1__REQUEST__OP_SIGNAL:
                if (!(t = lookup(c, id, req->signal->name)))
                        return;
                sig = signal_from_string(req->signal->signal);
                if (sig <= 0) {
                        snprintf(msg, sizeof(msg), "'%.64s': unknown signal", req->signal->signal);
                        reply_error(c, id, EINVAL, "signal", msg);
                        return;
                }
                if (t->rec.state == SANDBOXD__V1__TASK_STATE__TASK_STATE_EXITED) {
                        reply_error(c, id, ESRCH, "name", "the task has exited");
                        return;
                }
                r = task_signal(t, sig);
                if (r < 0)
                        reply_error(c, id, r, "", "sending the signal failed");
                else
                        reply_task(c, id, t);
                return;
        case SANDBOXD__V1__REQUEST__OP_INSPECT:
                if ((t = lookup(c, id, req->inspect->name)))
                        reply_task(c, id, t);
                return;
        case SANDBOXD__V1__REQUEST__OP_STATS:
                if ((t = lookup(c, id, req->stats->name)))
                        handle_stats(c, id, t);
                return;
        case SANDBOXD__V1__REQUEST__OP_LIST:
                handle_list(c, id, req->list->after[0] ? req->list->after : NULL);
                return;
        case SANDBOXD__V1__REQUEST__OP_SUBSCRIBE:
                c->subscribed = true;
                reply_task(c, id, &(Task) { .rec = { .name = (char *) "", .driver = c->driver } });
                return;
        default:
                reply_error(c, id, EOPNOTSUPP, "", "unknown request");
                return;
        }
}

/* ---------------------------------------------------------------------------------------- */
/* Connections                                                                                */

static void exec_sessions_drop_conn(Daemon *d, Conn *c);

static void conn_close(Conn *c) {
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

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
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

/* ---------------------------------------------------------------------------------------- */
/* Recovery                                                                                   */

static void recover_one(Daemon *d, const char *id) {
        SbxError err = {};
        Task *t = xcalloc(1, sizeof(Task));
        t->d = d;
        t->pidfd = -1;
        t->proc = (SandboxProcess) { .pidfd = -1, .ctl_fd = -1 };
        t->dir_fd = openat(d->tasks_fd, id, O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        int r = t->dir_fd < 0 ? -errno : task_record_load(t->dir_fd, &t->rec, &err);
        if (r == -ENOENT && t->dir_fd >= 0) {
                /* No record: a start that died before its first one (nothing ran: the init
                 * waits for a record with its pid), or a destroy that had removed it. */
                int k = cgroup_remove_orphan(d->cgroups, id);
                task_files_remove(d, t->dir_fd, id);
                log_info("state: removed '%s', left by an unfinished start or destroy%s", id,
                         k > 0 ? ", and its cgroup" : "");
                task_free(t);
                return;
        }
        if (r < 0) {
                log_error("state: task directory '%s' unreadable, ignoring: %s", id, err.msg[0] ? err.msg : strerror(-r));
                task_free(t);
                return;
        }
        if (!streq(t->rec.id, id)) {
                log_error("state: task directory '%s' holds the state of '%s', ignoring", id, t->rec.id);
                task_free(t);
                return;
        }
        /* An exited task's cgroup went with its exit; a crash in the middle of removing it may
         * have left some of it (cgroup v1: one directory per hierarchy). */
        if (t->rec.state == SANDBOXD__V1__TASK_STATE__TASK_STATE_EXITED)
                (void) cgroup_remove_orphan(d->cgroups, id);
        else if (t->rec.cgroup && cgroup_open(d->cgroups, t->rec.cgroup, &t->cg, &err) < 0)
                log_task(LOG_WARNING, &t->rec, "task '%s': cgroup '%s' not found again: %s", t->rec.name, t->rec.cgroup,
                         err.msg);

        /* Same process? pidfd first, then the start time: if it matches now, the pidfd is pinned
         * to the right process (a reused pid would have a later start time). */
        if (t->rec.state != SANDBOXD__V1__TASK_STATE__TASK_STATE_EXITED && t->rec.pid > 0) {
                uint64_t ticks = 0;
                t->pidfd = (int) syscall(SYS_pidfd_open, t->rec.pid, 0);
                if (t->pidfd >= 0 && (proc_start_ticks(t->rec.pid, &ticks) < 0 || ticks != t->rec.start_ticks))
                        t->pidfd = safe_close(t->pidfd);
        }

        if (t->rec.state == SANDBOXD__V1__TASK_STATE__TASK_STATE_STARTING) {
                /* Never acknowledged: its client was told nothing, or that the outcome is
                 * unknown, and will not wait for it. Undone, so that "no such task" is true. */
                log_task(LOG_NOTICE, &t->rec, "task '%s': its start was never acknowledged, undoing it", t->rec.name);
                (void) task_signal(t, SIGKILL);
                if (!t->cg)
                        (void) cgroup_remove_orphan(d->cgroups, id);
                task_remove(t);
                return;
        }

        t->next = d->tasks;
        d->tasks = t;
        d->n_tasks++;

        if (t->rec.state == SANDBOXD__V1__TASK_STATE__TASK_STATE_EXITED) {
                if (t->rec.destroying)
                        task_remove(t);
                return;
        }
        if (t->pidfd < 0) {
                task_collect(t);
                return;
        }
        if (task_watch(t) < 0)
                log_task(LOG_ERR, &t->rec, "task '%s': cannot watch pid %d", t->rec.name, (int) t->rec.pid);
        log_task(LOG_INFO, &t->rec, "task '%s' recovered (init pid %d)", t->rec.name, (int) t->rec.pid);
        if (t->rec.destroying) {
                /* A destroy that did not finish: finish it (the exit removes the task). */
                if (t->cg)
                        (void) cgroup_kill(t->cg);
                (void) task_signal(t, SIGKILL);
        } else if (t->rec.stop_deadline_us) {
                /* A stop in progress: its signal again (it may not have gone out), same deadline. */
                if (t->rec.stop_signal > 0 && now_mono_us() < t->rec.stop_deadline_us)
                        (void) task_signal(t, t->rec.stop_signal);
                if (task_arm_stop_timer(t) < 0)
                        log_task(LOG_ERR, &t->rec, "task '%s': cannot re-arm its stop timer", t->rec.name);
        }
}

static int recover(Daemon *d) {
        _cleanup_closedir_ DIR *dir = NULL;
        int fd = fcntl(d->tasks_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0 || !(dir = fdopendir(fd))) {
                safe_close(fd);
                return -errno;
        }
        size_t n = 0;
        for (struct dirent *de; (de = readdir(dir));) {
                /* A task's resolv.conf waits here until its start moves it in (resolv_conf_open). */
                if (startswith(de->d_name, ".resolv-"))
                        (void) unlinkat(d->tasks_fd, de->d_name, 0);
                if (de->d_name[0] == '.')
                        continue;
                recover_one(d, de->d_name);
                n++;
        }
        if (n)
                log_info("recovered %zu task(s) from %s/tasks", n, d->state_dir);
        return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Startup                                                                                    */

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Daemon *d = userdata;
        Policy *p = NULL;
        SbxError err = {};

        (void) sd_notify(0, "RELOADING=1");
        if (policy_load(d->config_path, &p, &err) < 0)
                log_error("reload: %s; keeping the configuration in force", err.msg);
        else {
                /* What sandboxd set up once at its start: the new values wait for a restart. */
                const struct {
                        const char *key, *old, *new;
                } once[] = {
                        { "socket", policy_socket_path(d->policy), policy_socket_path(p) },
                        { "state_dir", policy_state_dir(d->policy), policy_state_dir(p) },
                        { "cgroup_backend", cgroup_backend_to_string(policy_cgroup_backend(d->policy)),
                          cgroup_backend_to_string(policy_cgroup_backend(p)) },
                        { "cgroup_parent", policy_cgroup_parent(d->policy), policy_cgroup_parent(p) },
                        { "socket_group", policy_socket_group(d->policy), policy_socket_group(p) },
                };
                char later[256] = "";
                for (size_t i = 0; i < ELEMENTSOF(once); i++)
                        if (!streq(once[i].old ?: "", once[i].new ?: ""))
                                snprintf(later + strlen(later), sizeof(later) - strlen(later), "%s%s", later[0] ? ", " : "",
                                         once[i].key);
                if (policy_socket_mode(d->policy) != policy_socket_mode(p))
                        snprintf(later + strlen(later), sizeof(later) - strlen(later), "%ssocket_mode", later[0] ? ", " : "");
                policy_free(d->policy);
                d->policy = p;
                if (later[0])
                        log_warning("reloaded %s, except %s: changed, applied only when sandboxd restarts (tasks keep "
                                    "running across a restart)",
                                    d->config_path, later);
                else
                        log_info("reloaded %s", d->config_path);
        }
        (void) sd_notify(0, "READY=1");
        return 0;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Daemon *d = userdata;
        (void) sd_notify(0, "STOPPING=1");
        log_info("exiting on %s; tasks keep running", sigabbrev_np((int) si->ssi_signo) ?: "signal");
        return sd_event_exit(d->event, 0);
}

static int on_status_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Daemon *d = userdata;
        size_t running = 0;
        for (Task *t = d->tasks; t; t = t->next)
                if (t->rec.state != SANDBOXD__V1__TASK_STATE__TASK_STATE_EXITED)
                        running++;
        (void) sd_notifyf(0, "STATUS=%zu task(s) running, %zu exited, %zu client(s)", running, d->n_tasks - running,
                          d->n_conns);
        (void) sd_event_source_set_time_relative(s, 10 * 1000000ULL);
        return 0;
}

static int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = xstrdup(path);
        for (char *s = p + 1; *s; s++)
                if (*s == '/') {
                        *s = 0;
                        if (mkdir(p, 0755) < 0 && errno != EEXIST)
                                return -errno;
                        *s = '/';
                }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int setup_listen(Daemon *d) {
        int n = sd_listen_fds(1);
        if (n > 1)
                return log_error_errno(-EINVAL, "expected at most one socket from systemd, got %d", n);
        if (n == 1) {
                d->listen_fd = SD_LISTEN_FDS_START;
                d->socket_activated = true;
                (void) fcntl(d->listen_fd, F_SETFL, fcntl(d->listen_fd, F_GETFL) | O_NONBLOCK);
                return 0;
        }
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(d->socket_path) >= sizeof(sa.sun_path))
                return log_error_errno(-ENAMETOOLONG, "socket path '%s' too long", d->socket_path);
        strcpy(sa.sun_path, d->socket_path);
        _cleanup_free_ char *dir = xstrdup(d->socket_path);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = 0;
                (void) mkdir_p(dir, 0755);
        }
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return log_error_errno(-errno, "socket: %m");
        (void) unlink(d->socket_path);
        /* Who may connect at all: root and the socket's group (the shim's user; sandboxd.socket
         * says the same under systemd). Peers that get through are then checked against the
         * policy by SO_PEERCRED. Bound 0600, then given its group and mode. */
        mode_t mode = policy_socket_mode(d->policy) ?: SOCKET_MODE;
        const char *group = policy_socket_group(d->policy) ?: SOCKET_GROUP;
        gid_t gid = 0;
        if (group[0] && strspn(group, "0123456789") == strlen(group))
                gid = (gid_t) strtoul(group, NULL, 10);
        else if (group[0]) {
                struct group *g = getgrnam(group);
                if (g)
                        gid = g->gr_gid;
                else if (policy_socket_group(d->policy)) {
                        safe_close(fd);
                        return log_error_errno(-ENOENT, "socket_group: no such group '%s'", group);
                } else
                        log_warning("the socket's group '%s' does not exist: only root may connect (socket_group in %s)",
                                    group, d->config_path);
        }
        mode_t old = umask(0177);
        int r = bind(fd, (struct sockaddr *) &sa, sizeof(sa));
        umask(old);
        if (r >= 0 && (chown(d->socket_path, 0, gid) < 0 || chmod(d->socket_path, mode) < 0))
                r = -1;
        if (r < 0 || listen(fd, 128) < 0) {
                r = -errno;
                safe_close(fd);
                return log_error_errno(r, "listening on '%s': %m", d->socket_path);
        }
        d->listen_fd = fd;
        return 0;
}

/* What every task's view covers where it is not hidden already (docs/task-view.md): the socket we
 * listen on (the one systemd passed us, wherever that is) and our state directory. The only
 * check that stops a task talking to us otherwise is the peer check. */
static void hide_paths_init(Daemon *d) {
        struct sockaddr_un sa = {};
        socklen_t len = sizeof(sa);
        char *real;
        if (getsockname(d->listen_fd, (struct sockaddr *) &sa, &len) == 0 && sa.sun_family == AF_UNIX &&
            sa.sun_path[0] == '/' && (real = realpath(sa.sun_path, NULL)))
                strv_consume(&d->hide_paths, real);
        if ((real = realpath(d->state_dir, NULL)))
                strv_consume(&d->hide_paths, real);
}

static void help(void) {
        printf("Usage: sandboxd [--config FILE] [--socket PATH] [--state-dir DIR] [--check-config]\n"
               "\n"
               "The nomad-driver-sandbox root daemon. Normally started by systemd (sandboxd.socket).\n"
               "  --config FILE     policy and settings (default %s)\n"
               "  --socket PATH     listen here unless socket-activated (default %s)\n"
               "  --state-dir DIR   where task state lives (default %s)\n"
               "  --check-config    parse the configuration, report, and exit\n"
               "See sandboxd(8), sandboxd.conf(5).\n",
               DEFAULT_CONFIG, SANDBOXD_SOCKET, SANDBOXD_STATE_DIR);
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },     { "version", no_argument, NULL, 'V' },
                { "config", required_argument, NULL, 'c' }, { "socket", required_argument, NULL, 's' },
                { "state-dir", required_argument, NULL, 'd' }, { "check-config", no_argument, NULL, 'C' },
                {}
        };
        Daemon d = { .listen_fd = -1, .state_fd = -1, .tasks_fd = -1 };
        const char *config = DEFAULT_CONFIG, *sock = NULL, *state = NULL;
        bool check_only = false;
        SbxError err = {};
        int c, r;

        opterr = 0;
        while ((c = getopt_long(argc, argv, ":hVc:s:d:C", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case 'V':
                        printf("sandboxd %s\n", PACKAGE_VERSION);
                        return 0;
                case 'c':
                        config = optarg;
                        break;
                case 's':
                        sock = optarg;
                        break;
                case 'd':
                        state = optarg;
                        break;
                case 'C':
                        check_only = true;
                        break;
                case ':':
                        fprintf(stderr, "sandboxd: %s: missing argument (try sandboxd --help)\n", argv[optind - 1]);
                        return 2;
                default:
                        if (optopt)
                                fprintf(stderr, "sandboxd: -%c: unknown option (try sandboxd --help)\n", optopt);
                        else
                                fprintf(stderr, "sandboxd: %s: unknown option (try sandboxd --help)\n", argv[optind - 1]);
                        return 2;
                }
        if (optind < argc) {
                fprintf(stderr, "sandboxd: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }

        log_setup("sandboxd");
        if (check_only)
                log_set_plain();

        /* Every task holds a pidfd, a control socket and its state directory open. */
        if (getrlimit(RLIMIT_NOFILE, &saved_nofile) == 0 && saved_nofile.rlim_cur < saved_nofile.rlim_max) {
                struct rlimit raised = { saved_nofile.rlim_max, saved_nofile.rlim_max };
                (void) setrlimit(RLIMIT_NOFILE, &raised);
        }
        conn_out_max = fault_param("SANDBOXD_CONN_OUT_MAX", CONN_OUT_MAX_BYTES);
        r = policy_load(config, &d.policy, &err);
        if (r < 0) {
                log_error("%s", err.msg);
                return 1;
        }
        d.config_path = xstrdup(config);
        if (check_only) {
                printf("%s: OK\n", config);
                policy_free(d.policy);
                free(d.config_path);
                return 0;
        }
        if (geteuid() != 0) {
                log_error("must run as root");
                return 1;
        }
        d.socket_path = xstrdup(sock ? sock : policy_socket_path(d.policy) ?: SANDBOXD_SOCKET);
        d.state_dir = xstrdup(state ? state : policy_state_dir(d.policy) ?: SANDBOXD_STATE_DIR);

        /* The task directories: root only. */
        _cleanup_free_ char *tasks_dir = xasprintf("%s/tasks", d.state_dir);
        if ((r = mkdir_p(tasks_dir, 0700)) < 0)
                return log_error_errno(r, "creating '%s': %m", tasks_dir), 1;
        d.tasks_fd = open(tasks_dir, O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (d.tasks_fd < 0)
                return log_error_errno(-errno, "opening '%s': %m", tasks_dir), 1;

        r = sd_event_default(&d.event);
        if (r < 0)
                return log_error_errno(r, "sd_event_default: %m"), 1;

        CgroupManagerConfig cc = {
                .backend = policy_cgroup_backend(d.policy),
                .parent = policy_cgroup_parent(d.policy),
                .event = d.event,
        };
        r = cgroup_manager_new(&cc, &d.cgroups, &err);
        if (r < 0) {
                log_error("%s", err.msg);
                return 1;
        }

        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGPIPE);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);
        (void) sd_event_add_signal(d.event, NULL, SIGTERM, on_exit_signal, &d);
        (void) sd_event_add_signal(d.event, NULL, SIGINT, on_exit_signal, &d);
        (void) sd_event_add_signal(d.event, NULL, SIGHUP, on_sighup, &d);

        (void) recover(&d);

        if (setup_listen(&d) < 0)
                return 1;
        r = sd_event_add_io(d.event, NULL, d.listen_fd, EPOLLIN, on_accept, &d);
        if (r < 0)
                return log_error_errno(r, "watching the socket: %m"), 1;
        hide_paths_init(&d);
        (void) sd_event_add_time_relative(d.event, NULL, CLOCK_MONOTONIC, 0, 0, on_status_timer, &d);

        log_info("sandboxd %s ready on %s%s (state %s, cgroups %s, Landlock ABI %d)", PACKAGE_VERSION, d.socket_path,
                 d.socket_activated ? " (socket-activated)" : "", d.state_dir, cgroup_manager_backend(d.cgroups),
                 landlock_abi());
        (void) sd_notify(0, "READY=1");

        r = sd_event_loop(d.event);

        /* Tasks are not touched: they keep running and are recovered at the next start. */
        while (d.conns)
                conn_close(d.conns);
        while (d.tasks) {
                Task *t = d.tasks;
                d.tasks = t->next;
                task_free(t);
        }
        if (!d.socket_activated) {
                safe_close(d.listen_fd);
                (void) unlink(d.socket_path);
        }
        cgroup_manager_free(d.cgroups);
        sd_event_unref(d.event);
        policy_free(d.policy);
        safe_close(d.tasks_fd);
        free(d.config_path);
        free(d.socket_path);
        free(d.state_dir);
        strv_free(d.hide_paths);
        return r < 0 ? 1 : 0;
}
