/* SPDX-License-Identifier: MIT */
/* sandboxd: the root daemon. Authenticates each peer (SO_PEERCRED), checks every request against
 * the operator's policy, spawns tasks in their sandbox and cgroup, supervises them, persists
 * what it must keep under the state directory, and finds every task again after a restart.
 *
 * One thread, one sd-event loop (no threads: we clone()). Per task: a directory
 * <state_dir>/tasks/<id>/ with state.json (ours) and exit (written by the sandbox's init when the
 * task ends, so the outcome survives our own death). Where this sits between Nomad and the task,
 * and the trust boundary: docs/architecture.md.
 *
 * Its files, one concern each (what they share: sandboxd-internal.h):
 *   sandboxd-main.c   options, startup, reload and exit signals, the socket, request dispatch
 *   sandboxd-conn.c   connections: accept, hello, frames in and out, replies, pending answers
 *   sandboxd-tasks.c  the task table: records, supervision, exit, stop, denials, recovery
 *   sandboxd-start.c  start: the request checked, Nomad's directories, logs, cgroup, spawn
 *   sandboxd-exec.c   exec sessions: a command inside a running task's sandbox
 *   sandboxd-list.c   list and stats */
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include "config.h"
#include "fault.h"
#include "landlock.h"
#include "log.h"
#include "macro.h"
#include "sandboxd-internal.h"
#include "signals.h"
#include "util.h"

#define DEFAULT_CONFIG SYSCONFDIR "/sandboxd/sandboxd.conf"
#define STOP_DEFAULT_TIMEOUT_MS 5000
#define STOP_MAX_TIMEOUT_MS (24ull * 3600 * 1000)

void handle_request(Conn *c, const Sandboxd__V1__Request *req, int *fds, size_t n_fds) {
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
