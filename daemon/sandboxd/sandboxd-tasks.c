/* SPDX-License-Identifier: MIT */
/* sandboxd's task table: the tasks, their records in the state directory, their supervision
 * (the init's control socket and pidfd), exit, stop, signals and explained denials, and recovery
 * of every task after a restart. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "explain.h"
#include "fault.h"
#include "log.h"
#include "macro.h"
#include "promises.h"
#include "sandboxd-internal.h"
#include "util.h"

int64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint64_t now_mono_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

Task *task_find(Daemon *d, const char *name) {
        for (Task *t = d->tasks; t; t = t->next)
                if (streq(t->rec.name, name))
                        return t;
        return NULL;
}

int task_save(Task *t) {
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

void task_free(Task *t) {
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

void task_dir_remove(Task *t) {
        task_files_remove(t->d, t->dir_fd, t->rec.id);
}

/* Removes the task's cgroup and directory, answers the destroys waiting for that (only now: a
 * destroy acknowledged before its removal could come back after a crash), and forgets it. */
void task_remove(Task *t) {
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
void task_denied(Daemon *d, Task *t, const InitNote *note, bool exec_session) {
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
InitNote init_note;

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

int task_watch(Task *t) {
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

int task_signal(Task *t, int sig) {
        if (t->pidfd < 0)
                return -ESRCH;
        /* The init forwards it to the task's process group; SIGKILL ends the whole sandbox. */
        if (sig == SIGKILL)
                t->killed = true;
        return syscall(SYS_pidfd_send_signal, t->pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

/* The stop's signal and deadline are recorded before the signal goes out: a daemon restarted in
 * between sends it again and still kills the task at the deadline. */
int task_stop(Task *t, int sig, uint64_t timeout_ms) {
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

/* The task's StartRequest, so an exec session can rebuild exactly its sandbox, also after a
 * daemon restart. Root-only, in the task's state directory. */
void save_request(Task *t, const Sandboxd__V1__StartRequest *req) {
        size_t len = sandboxd__v1__start_request__get_packed_size(req);
        _cleanup_free_ uint8_t *buf = xmalloc(len ? len : 1);
        sandboxd__v1__start_request__pack(req, buf);
        _cleanup_close_ int fd = openat(t->dir_fd, TASK_FILE_REQUEST, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 || write(fd, buf, len) != (ssize_t) len)
                log_task(LOG_WARNING, &t->rec, "task '%s': saving its request: %s (exec into it will fail)", t->rec.name,
                         strerror(errno ?: EIO));
}

Sandboxd__V1__StartRequest *load_request(Task *t) {
        _cleanup_close_ int fd = openat(t->dir_fd, TASK_FILE_REQUEST, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0 || st.st_size > FRAME_MAX)
                return NULL;
        _cleanup_free_ uint8_t *buf = xmalloc((size_t) st.st_size + 1);
        if (read(fd, buf, (size_t) st.st_size) != st.st_size)
                return NULL;
        return sandboxd__v1__start_request__unpack(NULL, (size_t) st.st_size, buf);
}

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

int recover(Daemon *d) {
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
