/* SPDX-License-Identifier: MIT */
/* sandboxd's exec sessions: a command inside a running task's sandbox, rebuilt from the task's
 * saved request and its pinned unveil rules, answered with the command's exit. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "log.h"
#include "macro.h"
#include "request.h"
#include "sandboxd-internal.h"
#include "util.h"

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

void exec_sessions_drop_conn(Daemon *d, Conn *c) {
        for (ExecSession *x = d->sessions; x; x = x->next)
                if (x->conn == c) {
                        x->conn = NULL;
                        exec_session_kill(x);
                }
}

/* A cancel for one of this connection's execs. 1: found (the exec's own answer follows). */
int exec_session_cancel(Conn *c, uint64_t id) {
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

void handle_exec(Conn *c, uint64_t id, const Sandboxd__V1__ExecRequest *req, int *fds, size_t n_fds) {
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
