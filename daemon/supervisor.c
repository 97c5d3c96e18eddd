/* SPDX-License-Identifier: MIT */
/* daemon/supervisor.c: the sandbox init's answers to the task's supervisor filter (see
 * supervisor.h). Everything here runs in the init (or an exec session's supervisor), a clone
 * of the caller: fixed buffers, no allocation, /proc read with getdents64 and read(2). */
#include <fcntl.h>
#include <linux/ptrace.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "supervisor.h"

#ifndef PTRACE_SECCOMP_GET_FILTER
#  define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif

#define MAX_THREADS 512      /* threads of the program stopped for the check; more: refused */
#define MAX_PIDS 4096        /* processes the kill walks */
#define STOP_TIMEOUT_MS 2000 /* for every thread to reach its ptrace-stop */
#define MIN(a, b) ((a) < (b) ? (a) : (b))

static long xptrace(long request, pid_t pid, unsigned long addr, void *data) {
        return syscall(SYS_ptrace, request, (long) pid, addr, data);
}

static int64_t now_ms(void) {
        struct timespec ts;
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------------------------------- */
/* /proc                                                                                      */

/* The numeric entries of a /proc directory (relative to proc_fd). Returns the count or -errno. */
static int list_numeric(int proc_fd, const char *path, pid_t *out, size_t max) {
        static char buf[8192];
        int fd = openat(proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        size_t n = 0;
        if (fd < 0)
                return -errno;
        for (;;) {
                long got = syscall(SYS_getdents64, fd, buf, sizeof(buf));
                if (got < 0) {
                        int e = errno;
                        (void) close(fd);
                        return -e;
                }
                if (got == 0)
                        break;
                for (long off = 0; off < got;) {
                        struct {
                                uint64_t ino;
                                int64_t off;
                                unsigned short reclen;
                                unsigned char type;
                                char name[];
                        } *d = (void *) (buf + off);
                        off += d->reclen;
                        char *end;
                        long v = strtol(d->name, &end, 10);
                        if (*end || v <= 0)
                                continue;
                        if (n >= max) {
                                (void) close(fd);
                                return -E2BIG;
                        }
                        out[n++] = (pid_t) v;
                }
        }
        (void) close(fd);
        return (int) n;
}

/* The children of one thread ("PID/task/TID/children"). Returns the count or -errno. */
static int list_children(int proc_fd, pid_t pid, pid_t tid, pid_t *out, size_t max) {
        char path[64], buf[4096];
        snprintf(path, sizeof(path), "%d/task/%d/children", (int) pid, (int) tid);
        int fd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t len = read(fd, buf, sizeof(buf) - 1);
        int e = errno;
        (void) close(fd);
        if (len < 0)
                return -e;
        buf[len] = 0;
        size_t n = 0;
        for (char *p = buf; *p;) {
                char *end;
                long v = strtol(p, &end, 10);
                if (end == p)
                        break;
                if (n >= max)
                        return -E2BIG;
                out[n++] = (pid_t) v;
                p = end;
        }
        return (int) n;
}

/* The thread group of tid, from "TID/status". */
static pid_t read_tgid(int proc_fd, pid_t tid) {
        char path[64], buf[2048];
        snprintf(path, sizeof(path), "%d/status", (int) tid);
        int fd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        ssize_t len = read(fd, buf, sizeof(buf) - 1);
        (void) close(fd);
        if (len <= 0)
                return -1;
        buf[len] = 0;
        const char *t = strstr(buf, "\nTgid:");
        return t ? (pid_t) strtol(t + 6, NULL, 10) : -1;
}

/* ---------------------------------------------------------------------------------------- */
/* Failing: kill everything beneath the init                                                 */

static bool in_list(const pid_t *l, size_t n, pid_t v) {
        for (size_t i = 0; i < n; i++)
                if (l[i] == v)
                        return true;
        return false;
}

/* SIGKILL every descendant. A killed process can no longer fork (a pending fatal signal fails
 * copy_process), and one whose parent died is reparented to us (the pid namespace's init, or
 * an exec session's supervisor, a child subreaper): so rounds of "kill, then look at the
 * children" until a round finds nobody new reach everything. */
static void kill_tree(Supervisor *sv) {
        static pid_t killed[MAX_PIDS], stack[MAX_PIDS], threads[MAX_THREADS], kids[1024];
        size_t n_killed = 0;

        for (int round = 0; round < 64; round++) {
                size_t sp = 0;
                bool fresh = false;
                int k = list_children(sv->proc_fd, sv->self, sv->self, kids, ELEMENTSOF(kids));
                for (int i = 0; i < k && sp < MAX_PIDS; i++)
                        stack[sp++] = kids[i];
                if (sv->task > 0 && sp < MAX_PIDS)
                        stack[sp++] = sv->task;
                while (sp > 0) {
                        pid_t p = stack[--sp];
                        if (!in_list(killed, n_killed, p)) {
                                (void) kill(p, SIGKILL);
                                fresh = true;
                                if (n_killed < MAX_PIDS)
                                        killed[n_killed++] = p;
                        }
                        char path[32];
                        snprintf(path, sizeof(path), "%d/task", (int) p);
                        int nt = list_numeric(sv->proc_fd, path, threads, ELEMENTSOF(threads));
                        for (int t = 0; t < nt; t++) {
                                int nc = list_children(sv->proc_fd, p, threads[t], kids, ELEMENTSOF(kids));
                                for (int c = 0; c < nc && sp < MAX_PIDS; c++)
                                        if (!in_list(killed, n_killed, kids[c]))
                                                stack[sp++] = kids[c];
                        }
                }
                if (!fresh)
                        break;
        }
}

void supervisor_fail(Supervisor *sv, int err_no, int index) {
        if (sv->failure.type != INIT_MSG_SETUP_FAILED)
                sv->failure = (InitMsg) { .type = INIT_MSG_SETUP_FAILED, .step = STEP_NARROW,
                                          .err_no = err_no > 0 && err_no < 4096 ? err_no : EIO, .index = index };
        kill_tree(sv);
}

void supervisor_forward_signal(const Supervisor *sv, int signo) {
        if (sv->task <= 0)
                return;
        if (kill(-sv->task, signo) < 0)
                (void) kill(sv->task, signo);
}

/* ---------------------------------------------------------------------------------------- */
/* The narrowing check                                                                        */

typedef struct Traced {
        pid_t tid;
        bool stopped;
        bool gone;
        int sig; /* a signal-delivery-stop's signal, re-injected when detaching */
} Traced;

static Traced traced[MAX_THREADS];
static size_t n_traced;
static struct sock_filter expected[BPF_MAXINSNS], got[BPF_MAXINSNS];
static size_t expected_len;
static bool expected_patched;

int supervisor_expect_narrow(Supervisor *sv, const SeccompProgram *narrow) {
        if (narrow->len == 0 || narrow->len > BPF_MAXINSNS)
                return -E2BIG;
        memcpy(expected, narrow->insns, narrow->len * sizeof(expected[0]));
        expected_len = narrow->len;
        expected_patched = false;
        sv->narrow = true;
        return 0;
}

/* Reads whatever sfd holds: forwarded signals go on to the task, SIGCHLD is left for the init
 * to reap (we only note it). */
static void drain_signals(Supervisor *sv) {
        struct signalfd_siginfo si;
        while (read(sv->sfd, &si, sizeof(si)) == sizeof(si)) {
                if (si.ssi_signo == SIGCHLD)
                        sv->reap = true;
                else
                        supervisor_forward_signal(sv, (int) si.ssi_signo);
        }
}

/* Seizes and interrupts every thread of the task not traced yet. Returns how many were new,
 * or -errno. */
static int seize_new_threads(Supervisor *sv) {
        static pid_t tids[MAX_THREADS];
        char path[32];
        int fresh = 0;

        snprintf(path, sizeof(path), "%d/task", (int) sv->task);
        int n = list_numeric(sv->proc_fd, path, tids, ELEMENTSOF(tids));
        if (n < 0)
                return n == -E2BIG ? -EPERM : n;
        for (int i = 0; i < n; i++) {
                bool known = false;
                for (size_t k = 0; k < n_traced && !known; k++)
                        known = traced[k].tid == tids[i];
                if (known)
                        continue;
                if (n_traced >= MAX_THREADS)
                        return -EPERM;
                if (xptrace(PTRACE_SEIZE, tids[i], 0, NULL) < 0) {
                        if (errno == ESRCH)
                                continue; /* exited meanwhile */
                        return -errno;
                }
                traced[n_traced++] = (Traced) { .tid = tids[i] };
                (void) xptrace(PTRACE_INTERRUPT, tids[i], 0, NULL);
                fresh++;
        }
        return fresh;
}

/* Waits until every traced thread is in a ptrace-stop (or gone). */
static int wait_stopped(Supervisor *sv, int64_t deadline) {
        for (;;) {
                bool pending = false;
                for (size_t i = 0; i < n_traced; i++) {
                        Traced *t = &traced[i];
                        if (t->stopped || t->gone)
                                continue;
                        int st;
                        pid_t w = waitpid(t->tid, &st, WNOHANG | __WALL);
                        if (w == 0 || (w < 0 && errno == EINTR)) {
                                pending = true;
                                continue;
                        }
                        if (w < 0) {
                                t->gone = true;
                                continue;
                        }
                        if (WIFSTOPPED(st)) {
                                t->stopped = true;
                                t->sig = (st >> 16) == PTRACE_EVENT_STOP ? 0 : WSTOPSIG(st);
                        } else {
                                t->gone = true; /* exited: reaped here, as its tracer */
                                if (t->tid == sv->task) {
                                        sv->task_exited = true;
                                        sv->task_status = st;
                                }
                        }
                }
                if (!pending)
                        return 0;
                int64_t left = deadline - now_ms();
                if (left <= 0)
                        return -ETIMEDOUT;
                /* A tracee's stop sends SIGCHLD to its tracer: wait for one. */
                struct pollfd pfd = { .fd = sv->sfd, .events = POLLIN };
                if (poll(&pfd, 1, (int) MIN(left, 100)) > 0)
                        drain_signals(sv);
        }
}

static void detach_all(void) {
        for (size_t i = 0; i < n_traced; i++)
                if (!traced[i].gone)
                        (void) xptrace(PTRACE_DETACH, traced[i].tid, 0, (void *) (long) traced[i].sig);
        n_traced = 0;
}

/* 1 if the thread's filter stack holds the expected program, 0 if not, -errno if the kernel
 * would not say. Filters only ever stack: one that matches is in force whatever lies above. */
static int thread_has_narrow(pid_t tid) {
        for (unsigned long i = 0;; i++) {
                long n = xptrace(PTRACE_SECCOMP_GET_FILTER, tid, i, NULL);
                if (n < 0) {
                        if (errno == ENOENT)
                                return 0; /* past the last filter */
                        if (errno == EMEDIUMTYPE)
                                continue; /* not a classic BPF filter: not ours */
                        return -errno;
                }
                if ((size_t) n != expected_len)
                        continue;
                n = xptrace(PTRACE_SECCOMP_GET_FILTER, tid, i, got);
                if ((size_t) n == expected_len && memcmp(got, expected, expected_len * sizeof(got[0])) == 0)
                        return 1;
        }
}

/* With every thread of the program stopped: is the narrow program on each, and is the program
 * the only process beneath us? */
static int check_stopped(Supervisor *sv) {
        static pid_t kids[64];
        int r;

        for (size_t i = 0; i < n_traced; i++) {
                if (traced[i].gone)
                        continue;
                r = thread_has_narrow(traced[i].tid);
                if (r < 0)
                        return r == -EPERM ? -EACCES : r;
                if (r == 0)
                        return -EPERM;
                if (list_children(sv->proc_fd, sv->task, traced[i].tid, kids, ELEMENTSOF(kids)) != 0)
                        return -EEXIST;
        }
        r = list_children(sv->proc_fd, sv->self, sv->self, kids, ELEMENTSOF(kids));
        if (r != 1 || kids[0] != sv->task)
                return -EEXIST;
        return 0;
}

static int verify(Supervisor *sv, pid_t tid) {
        char path[64];
        int r;

        /* The confirmation must come from a thread of the program itself. */
        snprintf(path, sizeof(path), "%d/task/%d", (int) sv->task, (int) tid);
        if (faccessat(sv->proc_fd, path, F_OK, 0) < 0)
                return -ESRCH;

        if (!expected_patched) {
                /* The preload put in the pid the program sees for itself, as task_main did. */
                SeccompProgram e = { .insns = expected, .len = expected_len };
                (void) seccomp_program_patch_pid(&e, sv->task_ns_pid);
                expected_patched = true;
        }

        /* Stop every thread, then look again: a thread that was running could have started
         * another; once all are stopped, none can. */
        int64_t deadline = now_ms() + STOP_TIMEOUT_MS;
        n_traced = 0;
        for (;;) {
                r = seize_new_threads(sv);
                if (r < 0)
                        goto out;
                if (r == 0)
                        break;
                r = wait_stopped(sv, deadline);
                if (r < 0)
                        goto out;
        }
        r = sv->task_exited ? -ESRCH : check_stopped(sv);
out:
        detach_all();
        return r;
}

/* ---------------------------------------------------------------------------------------- */
/* The notifications                                                                          */

static void answer_confirm(Supervisor *sv, const struct seccomp_notif *req, struct seccomp_notif_resp *resp) {
        uint64_t code = req->data.args[2];

        resp->error = -EPERM;
        if (!sv->narrow || sv->failure.type == INIT_MSG_SETUP_FAILED)
                return;
        if (sv->verified) {
                /* The confirming call restarts after the check stopped it: answer it now. */
                char path[64];
                snprintf(path, sizeof(path), "%d/task/%d", (int) sv->task, (int) req->pid);
                if (code == 0 && faccessat(sv->proc_fd, path, F_OK, 0) == 0)
                        resp->error = 0;
                return;
        }
        if (code != 0) {
                supervisor_fail(sv, code < 4096 ? (int) code : EIO, NARROW_INDEX_PRELOAD);
                return;
        }
        int r = verify(sv, (pid_t) req->pid);
        if (r < 0) {
                supervisor_fail(sv, -r, -1);
                return;
        }
        sv->verified = true;
        resp->error = 0;
}

static void answer_listen(Supervisor *sv, const struct seccomp_notif *req, struct seccomp_notif_resp *resp) {
        int pidfd, fd = -1;

        pidfd = (int) syscall(SYS_pidfd_open, (pid_t) req->pid, 0);
        if (pidfd < 0 && errno == EINVAL) {
                /* Not a thread-group leader (PIDFD_THREAD needs Linux 6.9): its process. */
                pid_t tgid = read_tgid(sv->proc_fd, (pid_t) req->pid);
                pidfd = tgid > 0 ? (int) syscall(SYS_pidfd_open, tgid, 0) : -1;
        }
        if (pidfd < 0) {
                resp->error = -ESRCH;
                return;
        }
        /* The pid still names the thread that asked (not a recycled one). */
        if (ioctl(sv->notify_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) < 0) {
                resp->error = -ESRCH;
                goto out;
        }
        fd = (int) syscall(SYS_pidfd_getfd, pidfd, (int) (uint32_t) req->data.args[0], 0);
        if (fd < 0) {
                resp->error = -errno;
                goto out;
        }
        /* A TCP socket nobody bound: listen(2) would bind it to an ephemeral port without
         * asking Landlock. Refused the way Landlock refuses a bind. */
        int domain = 0, proto = 0;
        socklen_t l = sizeof(int);
        if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l) == 0 && (domain == AF_INET || domain == AF_INET6) &&
            (l = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l)) == 0 && proto == IPPROTO_TCP) {
                struct sockaddr_storage ss = {};
                socklen_t sl = sizeof(ss);
                if (getsockname(fd, (struct sockaddr *) &ss, &sl) < 0) {
                        resp->error = -errno;
                        goto out;
                }
                in_port_t port = domain == AF_INET ? ((struct sockaddr_in *) &ss)->sin_port
                                                   : ((struct sockaddr_in6 *) &ss)->sin6_port;
                if (port == 0) {
                        resp->error = -EACCES;
                        goto out;
                }
        }
        /* Ours is the same open file: listening on it is listening on the task's socket. */
        if (listen(fd, (int) (uint32_t) req->data.args[1]) < 0)
                resp->error = -errno;
out:
        safe_close(fd);
        safe_close(pidfd);
}

void supervisor_handle(Supervisor *sv) {
        struct seccomp_notif req;
        struct seccomp_notif_resp resp;

        memset(&req, 0, sizeof(req)); /* the kernel insists on a zeroed buffer */
        if (ioctl(sv->notify_fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
                return; /* ENOENT: the notifying thread died meanwhile */
        memset(&resp, 0, sizeof(resp));
        resp.id = req.id;

        switch (req.data.nr) {
        case __NR_execve:
        case __NR_execveat:
                if (!sv->first_exec_done && (pid_t) req.pid == sv->task) {
                        /* The launch of the task itself. Nothing is checked, so CONTINUE is safe. */
                        resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
                        sv->first_exec_done = true;
                } else
                        resp.error = -EPERM; /* no `exec` promise: no further program */
                break;
        case __NR_listen:
                answer_listen(sv, &req, &resp);
                break;
        case __NR_prctl:
                answer_confirm(sv, &req, &resp);
                break;
        default:
                resp.error = -ENOSYS;
                break;
        }
        /* ENOENT when the caller is gone, or restarted its call (the check interrupted it). */
        (void) ioctl(sv->notify_fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

void supervisor_describe_failure(int err_no, int index, char *buf, size_t size) {
        const char *why;
        char tmp[160];

        if (index == NARROW_INDEX_PRELOAD) {
                snprintf(tmp, sizeof(tmp), "the preload helper could not narrow the seccomp filter: %s",
                         strerror(err_no));
                why = tmp;
        } else
                switch (err_no) {
                case ETIMEDOUT:
                        snprintf(tmp, sizeof(tmp),
                                 "the program did not confirm a narrowed seccomp filter within %d ms of its launch",
                                 index);
                        why = tmp;
                        break;
                case EPERM:
                        why = "a thread of the program does not carry the seccomp filter of its promises";
                        break;
                case EEXIST:
                        why = "another process was started before the seccomp filter was narrowed";
                        break;
                case ESRCH:
                        why = "the narrowing confirmation did not come from the program itself";
                        break;
                default:
                        snprintf(tmp, sizeof(tmp), "cannot verify the narrowed seccomp filter: %s", strerror(err_no));
                        why = tmp;
                        break;
                }
        snprintf(buf, size, "narrow: %s (the sandbox was killed)", why);
}
