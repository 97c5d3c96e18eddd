/* SPDX-License-Identifier: MIT */
/* sandboxd's start: a StartRequest checked against the policy, Nomad's directories, the log
 * paths (with the wait for a log FIFO's reader), resolv.conf, resource limits, the task's
 * directory and record, its cgroup, and the spawn, each step ordered for a crash at any instant. */
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "fault.h"
#include "log.h"
#include "macro.h"
#include "promises.h"
#include "request.h"
#include "sandboxd-internal.h"
#include "util.h"

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
void start_waits_drop_conn(Daemon *d, Conn *c) {
        for (StartWait *w = d->start_waits, *n; w; w = n) {
                n = w->next;
                if (w->conn == c)
                        start_wait_free(w);
        }
}

/* A cancel for a start of this connection still waiting for its log reader. 1: found. */
int start_wait_cancel(Conn *c, uint64_t id) {
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
struct rlimit saved_nofile = { 1024, 4096 };

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
int check_launch(const PolicyDriver *pd, const SandboxSpec *s, const char **field, SbxError *err) {
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

/* One start, built step by step (handle_start). Each step returns 0 to go on, 1 when the start
 * waits for a log FIFO's reader (or was answered already), or < 0 when it is refused: code,
 * field and msg are then the reply. What the steps built is undone by start_done(). */
typedef struct Start {
        Conn *c;
        Daemon *d;
        uint64_t id;
        const Sandboxd__V1__StartRequest *req; /* the request, with the policy's default promises */
        Sandboxd__V1__StartRequest effective;
        char *default_promises;
        int *fds;
        size_t n_fds;
        StartWait *w; /* the wait this run belongs to (see StartWait), NULL for a new request */
        const PolicyDriver *pd;
        SandboxSpec s;
        SandboxPrepared prep;
        CgroupLimits limits;
        int out_fd, err_fd, resolv_fd;
        ResolvFile resolv_file;
        Task *t;     /* from start_task_dir() until the task table has it */
        bool attach; /* the init joins its cgroup by cgroup_attach(), not by clone */
        int code;
        const char *field;
        char msg[SBX_ERROR_MAX + 64];
        SbxError err;
} Start;

/* A refusal: the reply's code, field and message. Returns < 0. */
static int start_refuse(Start *st, int code, const char *field, const char *msg) {
        st->code = code < 0 ? -code : code;
        st->field = field;
        snprintf(st->msg, sizeof(st->msg), "%s", msg);
        return -1;
}

static void start_done(Start *st) {
        Task *t = st->t;
        if (t) { /* refused after the task was created: its init, cgroup and directory go with it */
                if (t->pidfd >= 0) { /* its record does not have the init's pid: it never runs the task */
                        (void) syscall(SYS_pidfd_send_signal, t->pidfd, SIGKILL, NULL, 0);
                        (void) waitid((idtype_t) P_PIDFD, (id_t) t->pidfd, &(siginfo_t) {}, WEXITED);
                }
                if (t->cg)
                        (void) cgroup_destroy(t->cg);
                if (t->dir_fd >= 0)
                        task_dir_remove(t);
                task_free(t);
        }
        resolv_file_unlink(&st->resolv_file);
        safe_close(st->resolv_fd);
        safe_close(st->err_fd);
        safe_close(st->out_fd);
        sandbox_prepared_done(&st->prep);
        sandbox_spec_done(&st->s);
        free(st->default_promises);
}

/* The connection's driver policy, the policy's default promises, room in the task table (the
 * daemon's and the driver's max_tasks), the name, the passed fds. */
static int start_check_request(Start *st) {
        Daemon *d = st->d;
        const Sandboxd__V1__StartRequest *req = st->req;
        char msg[SBX_ERROR_MAX + 64];

        st->pd = policy_driver(d->policy, st->c->driver);
        if (!st->pd)
                return start_refuse(st, EPERM, "driver", "no policy for this connection's driver");
        /* A task that names no promises gets the policy's default_promises (the pledge driver's
         * tool applies "stdio rpath"), kept in the saved request so its exec sessions get them. */
        st->effective = *req;
        uint64_t dp;
        if (!req->has_promises && policy_default_promises(st->pd, &dp)) {
                st->effective.has_promises = true;
                st->effective.promises = st->default_promises = promises_format(dp);
                st->req = req = &st->effective;
        }
        if (d->n_tasks >= policy_max_tasks(d->policy)) {
                snprintf(msg, sizeof(msg), "the daemon holds its maximum of %zu tasks", policy_max_tasks(d->policy));
                return start_refuse(st, EAGAIN, "", msg);
        }
        size_t driver_max = policy_driver_max_tasks(st->pd);
        if (driver_max && tasks_of_policy(d, st->pd) >= driver_max) {
                snprintf(msg, sizeof(msg), "driver '%s' holds its maximum of %zu tasks (max_tasks of [driver %s])",
                         policy_driver_name(st->pd), driver_max, policy_driver_name(st->pd));
                return start_refuse(st, EAGAIN, "", msg);
        }
        if (task_name_valid(req->name) == 0 && task_find(d, req->name)) {
                snprintf(msg, sizeof(msg), "a task named '%s' already exists", req->name);
                return start_refuse(st, EEXIST, "name", msg);
        }
        if (req->passed_fds != st->n_fds) {
                snprintf(msg, sizeof(msg), "%u announced, %zu received", req->passed_fds, st->n_fds);
                return start_refuse(st, EINVAL, "passed_fds", msg);
        }
        return 0;
}

/* The request as a sandbox spec, checked against the driver's policy: the task, its launch
 * window, its volumes. */
static int start_check_policy(Start *st) {
        const Sandboxd__V1__StartRequest *req = st->req;
        SandboxSpec *s = &st->s;
        const char *field = "";
        int r;

        r = request_to_spec(req, policy_default_user(st->pd), s, &field, &st->err);
        if (r < 0)
                return start_refuse(st, r, field, st->err.msg);
        PolicyTaskMeta meta = {
                .driver = st->c->driver,
                .nomad_namespace = req->nomad ? req->nomad->namespace_ : "",
                .job_id = req->nomad ? req->nomad->job_id : "",
        };
        r = policy_check_task(st->pd, s, &meta, &st->err);
        if (r < 0)
                return start_refuse(st, EPERM, "policy", st->err.msg);
        if ((r = check_launch(st->pd, s, &field, &st->err)) < 0)
                return start_refuse(st, r, field, st->err.msg);
        s->baseline = policy_baseline_filter(st->pd);
        s->explain = policy_explain_denials(st->pd);
        /* A volume's source is reached through the mount as if unveiled r (rw: rwc). */
        for (size_t i = 0; i < s->n_mounts; i++) {
                unsigned perms = s->mounts[i].readonly ? UNVEIL_R : UNVEIL_R | UNVEIL_W | UNVEIL_C;
                if (policy_check_unveil(st->pd, s->mounts[i].source, perms, &st->err) < 0)
                        return start_refuse(st, EPERM, "mounts", st->err.msg);
        }
        return 0;
}

/* Nomad's task, secrets and alloc directories (prepare_nomad_dir). */
static int start_nomad_dirs(Start *st) {
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
        int r;
        for (size_t i = 0; i < ELEMENTSOF(nomad_dirs); i++) {
                const char *dir = *(char *const *) ((const char *) st->req + nomad_dirs[i].offset);
                if (dir && dir[0] &&
                    (r = prepare_nomad_dir(st->d, &st->s, st->req, nomad_dirs[i].which, dir, nomad_dirs[i].own,
                                           &st->err)) < 0)
                        return start_refuse(st, r, nomad_dirs[i].field, st->err.msg);
        }
        return 0;
}

/* The task's resolv.conf: the request's, or the host's upstream servers for a task in a group
 * network namespace whose host file names only a loopback stub (host_upstream_resolv_conf). */
static int start_resolv_conf(Start *st) {
        _cleanup_free_ char *upstream = NULL;
        const char *resolv = st->req->resolv_conf;
        int r;
        if (!resolv[0] && st->s.net == NET_JOIN && (upstream = host_upstream_resolv_conf()))
                resolv = upstream;
        if (resolv[0] && (r = resolv_conf_open(st->d, resolv, &st->resolv_file, &st->resolv_fd, &st->err)) < 0)
                return start_refuse(st, r, "resolv_conf", st->err.msg);
        st->s.resolv_conf_fd = st->resolv_fd;
        return 0;
}

/* The task's resource limits: its RLIMIT_NOFILE, and its cgroup's limits checked against what
 * this host enforces and what the policy allows. */
static int start_limits(Start *st) {
        const Sandboxd__V1__StartRequest *req = st->req;
        SandboxSpec *s = &st->s;
        CgroupLimits *limits = &st->limits;
        char msg[SBX_ERROR_MAX + 64];

        /* Not a request of the task's, so not checked against the policy's ceilings:
         * sandboxd raised its own soft NOFILE limit to hold thousands of tasks' fds; a task
         * that asks for nothing gets the limits sandboxd was started with, not ours. */
        bool has_nofile = false;
        for (size_t i = 0; i < s->n_rlimits; i++)
                has_nofile = has_nofile || s->rlimits[i].resource == RLIMIT_NOFILE;
        if (!has_nofile && s->n_rlimits < SPEC_MAX_RLIMITS)
                s->rlimits[s->n_rlimits++] = (SpecRlimit) { .resource = RLIMIT_NOFILE, .limit = saved_nofile };

        /* Resource limits this host cannot enforce are refused unless the policy allows them;
         * a cgroup Nomad created must lie beneath nomad_cgroup_parent. */
        limits_from_request(req->resources, limits);
        /* Every task is bounded in processes, also when its request (Nomad's) names no limit. */
        bool default_processes = limits->tasks_max == 0;
        if (policy_check_processes(st->pd, &limits->tasks_max, &st->err) < 0)
                return start_refuse(st, EPERM, "resources.tasks_max", st->err.msg);
        const char *unenforced[8];
        size_t n_unenforced = limits_unenforced(st->d, limits, unenforced, ELEMENTSOF(unenforced));
        if (policy_check_limits(st->pd, unenforced, n_unenforced, &st->err) < 0) {
                snprintf(msg, sizeof(msg), "%s%s", st->err.msg,
                         default_processes && limits->tasks_max ? " (tasks_max: the policy's default_processes)" : "");
                return start_refuse(st, EPERM, "resources", msg);
        }
        /* The policy lets these run unenforced: not asked of the backend, which would fail. */
        for (size_t i = 0; i < n_unenforced; i++)
                limits_clear(limits, unenforced[i]);
        if (req->resources && req->resources->cgroup_path[0] &&
            policy_check_cgroup_path(st->d->policy, req->resources->cgroup_path, &st->err) < 0)
                return start_refuse(st, EPERM, "resources.cgroup_path", st->err.msg);
        return 0;
}

/* The task's stdin, stdout and stderr: the fds passed, or its log paths opened. 1: waiting for
 * a log FIFO's reader (or answered). */
static int start_logs(Start *st) {
        SandboxSpec *s = &st->s;
        const char *field = "";
        int r;

        if (st->n_fds == 3) {
                s->stdin_fd = st->fds[0];
                s->stdout_fd = st->fds[1];
                s->stderr_fd = st->fds[2];
        }
        r = start_open_logs(st->c, st->id, st->req, st->fds, st->n_fds, st->w, &st->out_fd, &st->err_fd, &field,
                            &st->err);
        if (r > 0)
                return 1; /* waiting for a log FIFO's reader (or answered) */
        if (r < 0)
                return start_refuse(st, r, field, st->err.msg);
        if (st->out_fd >= 0)
                s->stdout_fd = st->out_fd;
        if (st->err_fd >= 0)
                s->stderr_fd = st->err_fd;
        return 0;
}

/* The task's view, its rules resolved and checked against the policy, the sandbox prepared. */
static int start_plan(Start *st) {
        SandboxSpec *s = &st->s;
        int r;

        /* The task's view: the policy may give it the host's /dev and /run; it never reaches
         * our socket or our state. */
        s->host_view = policy_host_view(st->pd);
        s->hide_paths = strv_copy(st->d->hide_paths);

        /* Every rule the task gets, resolved once, is checked where it really leads before
         * anything is built from it. */
        r = sandbox_plan(s, &st->prep, &st->err);
        if (r < 0)
                return start_refuse(st, r, "", st->err.msg);
        r = policy_check_rules(st->pd, &st->prep.unveil, &st->err);
        if (r < 0)
                return start_refuse(st, r, "policy", st->err.msg);
        r = sandbox_prepare(s, &st->prep, &st->err);
        if (r < 0)
                return start_refuse(st, r, "", st->err.msg);
        return 0;
}

/* The task and its record, STARTING, from the request and the sandbox built for it. */
static Task *start_new_task(Start *st) {
        const Sandboxd__V1__StartRequest *req = st->req;
        const SandboxSpec *s = &st->s;
        Task *t = xcalloc(1, sizeof(Task));
        t->d = st->d;
        t->pidfd = -1;
        t->dir_fd = -1;
        t->proc = (SandboxProcess) { .pidfd = -1, .ctl_fd = -1 };
        TaskRecord *rec = &t->rec;
        rec->id = new_task_id();
        rec->name = xstrdup(req->name);
        rec->driver = xstrdup(st->c->driver);
        rec->state = SANDBOXD__V1__TASK_STATE__TASK_STATE_STARTING;
        rec->argv = strv_copy(s->argv);
        rec->user = xstrdup(s->user);
        rec->uid = s->uid;
        rec->gid = s->gid;
        rec->has_promises = s->has_promises;
        rec->promises = s->has_promises ? promises_format(s->promises) : NULL;
        /* protobuf-c's repeated fields are counted, not NULL-terminated. */
        rec->unveil = xcalloc(req->n_unveil + 1, sizeof(char *));
        for (size_t i = 0; i < req->n_unveil; i++)
                rec->unveil[i] = xstrdup(req->unveil[i]);
        rec->unveil_defaults = !req->no_unveil_defaults;
        rec->net = xstrdup(s->net == NET_JOIN ? s->netns_path : net_mode_to_string(s->net));
        rec->landlock_abi = st->prep.landlock_fd >= 0 ? st->prep.landlock_info.abi : 0;
        rec->host_view = s->host_view;
        if (req->nomad) {
                rec->alloc_id = xstrdup(req->nomad->alloc_id);
                rec->task_name = xstrdup(req->nomad->task_name);
                rec->job_id = xstrdup(req->nomad->job_id);
                rec->nomad_namespace = xstrdup(req->nomad->namespace_);
                rec->task_group = xstrdup(req->nomad->task_group);
        }
        return t;
}

/* Every step from here on is ordered for a crash of sandboxd at any instant (see "Task states
 * and crash consistency" in docs/architecture.md): the directory is the intent (recovery removes
 * one without a record, and the cgroup named after it); the record names the cgroup before
 * anything runs in it, and the init's pid before the init may start the task; the start is
 * acknowledged once the record says RUNNING. */

/* The task's directory, the start's intent, with its request and its pinned unveil rules. */
static int start_task_dir(Start *st) {
        Daemon *d = st->d;
        char msg[SBX_ERROR_MAX + 64];

        Task *t = st->t = start_new_task(st);
        TaskRecord *rec = &t->rec;
        int r;
        if (mkdirat(d->tasks_fd, rec->id, 0700) < 0) {
                r = -errno;
                snprintf(msg, sizeof(msg), "state: creating the task directory: %s", strerror(-r));
                return start_refuse(st, r, "", msg);
        }
        t->dir_fd = fault_fail("task-dir-open") ? (errno = EIO, -1)
                                                : openat(d->tasks_fd, rec->id, O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (t->dir_fd < 0) {
                r = -errno;
                /* Made, still empty: removed now, not left for the next recovery to find. */
                (void) unlinkat(d->tasks_fd, rec->id, AT_REMOVEDIR);
                snprintf(msg, sizeof(msg), "state: creating the task directory: %s", strerror(-r));
                return start_refuse(st, r, "", msg);
        }
        fault_point("start-dir");

        save_request(t, st->req);
        /* Pinned: an exec into the task gets exactly these (not the launch rules of the task's
         * own command), never re-resolved from paths the task can change since. Before the
         * spawn (after it, every heap page written is a COW fault), inside the directory that is
         * the start's intent: recovery removes it with the directory if no record follows. */
        if (st->s.landlock && task_rules_save(t->dir_fd, &st->prep.unveil, st->prep.n_task_rules, &st->err) < 0)
                log_task(LOG_WARNING, rec, "task '%s': saving its unveil rules: %s (exec into it will fail)", rec->name,
                         st->err.msg);
        return 0;
}

/* The task's cgroup, and the record that names it. */
static int start_cgroup(Start *st) {
        const Sandboxd__V1__StartRequest *req = st->req;
        Task *t = st->t;
        TaskRecord *rec = &t->rec;
        int r;

        r = cgroup_create(st->d->cgroups, rec->id, req->resources ? req->resources->cgroup_path : "", &st->limits,
                          &t->cg, &st->err);
        if (r < 0)
                return start_refuse(st, r, "resources", st->err.msg);
        fault_point("start-cgroup");
        if (t->cg)
                rec->cgroup = xstrdup(cgroup_id(t->cg));
        if (task_record_save(t->dir_fd, rec, &st->err) < 0)
                return start_refuse(st, EIO, "", st->err.msg);
        fault_point("start-intent");
        return 0;
}

/* The sandbox's init, held, and the record with its pid. */
static int start_spawn(Start *st) {
        Daemon *d = st->d;
        Task *t = st->t;
        TaskRecord *rec = &t->rec;
        int r;

        /* Held on every backend until the record has the init's pid: an init that loses us
         * before that exits by itself (its control socket closes), so nothing runs that no
         * record names. */
        SpawnOptions opts = SPAWN_OPTIONS_INIT;
        opts.status_dir_fd = t->dir_fd;
        opts.cgroup_fd = t->cg ? cgroup_clone_fd(t->cg) : -1;
        opts.flags |= SPAWN_HOLD;
        st->attach = t->cg && opts.cgroup_fd < 0;

        r = sandbox_spawn(&st->s, &st->prep, &opts, &t->proc, &st->err);
        if (r < 0)
                return start_refuse(st, r, "", st->err.msg);
        fault_point("start-clone");
        /* Renamed, not copied: the init may be attaching it right now (see resolv_conf_open). */
        if (st->resolv_file.name[0] && renameat(d->tasks_fd, st->resolv_file.name, t->dir_fd, TASK_FILE_RESOLV_CONF) < 0)
                log_task(LOG_WARNING, rec, "task '%s': keeping %s/tasks/%s: %s", st->req->name, d->state_dir,
                         st->resolv_file.name, strerror(errno));
        st->resolv_file.name[0] = 0;
        t->pidfd = t->proc.pidfd;
        t->proc.pidfd = -1;
        rec->pid = t->proc.pid;
        (void) proc_start_ticks(rec->pid, &rec->start_ticks);
        rec->started_at_ns = now_ns();
        if (task_record_save(t->dir_fd, rec, &st->err) < 0)
                return start_refuse(st, EIO, "", st->err.msg); /* start_done() kills the init */
        fault_point("start-pid");
        return 0;
}

/* The task in the table, watched, its start answered once it runs (on_ctl); the init let go
 * once it is in its cgroup. */
static void start_run(Start *st) {
        Daemon *d = st->d;
        Task *t = TAKE_PTR(st->t);
        TaskRecord *rec = &t->rec;
        SandboxSpec *s = &st->s;
        int r;

        /* Kept until the task runs, to describe a failed setup step; the caller's fds stay ours. */
        s->stdin_fd = s->stdout_fd = s->stderr_fd = s->resolv_conf_fd = -1;
        t->start_spec = xmalloc(sizeof(SandboxSpec));
        *t->start_spec = *s;
        sandbox_spec_init(s);
        t->start_prep = xmalloc(sizeof(SandboxPrepared));
        *t->start_prep = st->prep;
        st->prep = SANDBOX_PREPARED_INIT;

        t->next = d->tasks;
        d->tasks = t;
        d->n_tasks++;
        pending_add(t, st->c, st->id, PENDING_START);
        r = task_watch(t);
        if (r < 0)
                log_task(LOG_ERR, rec, "watching task '%s': %s", rec->name, strerror(-r));
        log_task(LOG_INFO, rec, "task '%s' starting: %s (user %s, promises %s)", rec->name, t->start_spec->exec_path, rec->user,
                 rec->promises ? rec->promises : "none");

        if (st->attach) {
                r = cgroup_attach(t->cg, rec->pid, on_cgroup_attached, t, &st->err);
                if (r < 0) {
                        log_task(LOG_ERR, rec, "task '%s': %s", rec->name, st->err.msg);
                        (void) syscall(SYS_pidfd_send_signal, t->pidfd, SIGKILL, NULL, 0);
                }
        } else
                on_cgroup_attached(t->cg, 0, NULL, t);
}

/* w: the wait this run belongs to (see StartWait), NULL for a new request. */
void handle_start(Conn *c, uint64_t id, const Sandboxd__V1__StartRequest *req, int *fds, size_t n_fds,
                  StartWait *w) {
        _cleanup_(start_done) Start st = {
                .c = c, .d = c->d, .id = id, .req = req, .fds = fds, .n_fds = n_fds, .w = w,
                .prep = SANDBOX_PREPARED_INIT, .out_fd = -1, .err_fd = -1, .resolv_fd = -1,
                .resolv_file = { .dir_fd = -1 },
        };
        int r;

        sandbox_spec_init(&st.s);
        if ((r = start_check_request(&st)) == 0 && (r = start_check_policy(&st)) == 0 &&
            (r = start_nomad_dirs(&st)) == 0 && (r = start_resolv_conf(&st)) == 0 && (r = start_limits(&st)) == 0 &&
            (r = start_logs(&st)) == 0 && (r = start_plan(&st)) == 0 && (r = start_task_dir(&st)) == 0 &&
            (r = start_cgroup(&st)) == 0 && (r = start_spawn(&st)) == 0)
                start_run(&st);
        if (r < 0)
                reply_error(c, id, st.code, st.field, st.msg);
}
