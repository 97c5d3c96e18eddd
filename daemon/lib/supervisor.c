/* SPDX-License-Identifier: MIT */
/* daemon/lib/supervisor.c: the sandbox init's answers to the task's supervisor filter (see
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
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "promises.h"
#include "supervisor.h"
#include "unveil.h"

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

static int open_pidfd(Supervisor *sv, pid_t pid) {
        int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0 && (errno == EINVAL || errno == ENOENT)) {
                /* Not a thread-group leader (PIDFD_THREAD needs Linux 6.9; 6.18 says ENOENT,
                 * older kernels EINVAL): its process. */
                pid_t tgid = read_tgid(sv->proc_fd, pid);
                pidfd = tgid > 0 ? (int) syscall(SYS_pidfd_open, tgid, 0) : -1;
        }
        return pidfd;
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
/* Explaining and learning (a listener filter that holds the promises)                        */

#define EXPLAIN_CAUSES 64      /* distinct causes told per sandbox; further ones are counted */
#define EXPLAIN_BURST 8        /* notes at once ... */
#define EXPLAIN_REFILL_MS 250  /* ... and one more per this much time */

static InitNote note; /* 4 KiB: static, so the init's stack stays small */
static struct {
        int32_t nr;
        uint64_t sources;
} causes[EXPLAIN_CAUSES];
static size_t n_causes;
static unsigned tokens = EXPLAIN_BURST;
static int64_t refilled_ms;
static uint32_t dropped;

static void note_start(const Supervisor *sv, const struct seccomp_notif *req, uint32_t kind, uint64_t sources) {
        char path[32];

        memset(&note, 0, offsetof(InitNote, path));
        note.path[0] = 0;
        note.type = INIT_MSG_NOTE;
        note.kind = kind;
        note.pid = (int32_t) req->pid;
        note.nr = req->data.nr;
        note.sources = sources;
        memcpy(note.args, req->data.args, sizeof(note.args));
        if (sv->window)
                note.flags |= NOTE_WINDOW;
        snprintf(path, sizeof(path), "%d/comm", (int) req->pid);
        int fd = openat(sv->proc_fd, path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                ssize_t n = read(fd, note.comm, sizeof(note.comm) - 1);
                if (n > 0 && note.comm[n - 1] == '\n')
                        n--;
                note.comm[n > 0 ? n : 0] = 0;
                (void) close(fd);
        }
}

/* Explaining never waits for the reader (a slow or restarting caller loses notes, the task never
 * stalls); learning does (nothing may be lost, and the task waits anyway). */
static void note_send(const Supervisor *sv) {
        if (sv->note_fd >= 0)
                (void) send(sv->note_fd, &note, sizeof(note),
                            MSG_NOSIGNAL | (sv->watch == WATCH_LEARN ? 0 : MSG_DONTWAIT));
}

/* Tells the caller which promise would have allowed a refused call: once per cause (the call
 * and the promises that allow it), at most EXPLAIN_CAUSES causes, at most EXPLAIN_BURST at once. */
static void explain(Supervisor *sv, const struct seccomp_notif *req, uint64_t sources) {
        sources &= SECCOMP_SOURCES_PROMISES;
        for (size_t i = 0; i < n_causes; i++)
                if (causes[i].nr == (int32_t) req->data.nr && causes[i].sources == sources)
                        return;
        int64_t t = now_ms();
        if (tokens < EXPLAIN_BURST && t - refilled_ms >= EXPLAIN_REFILL_MS) {
                int64_t add = (t - refilled_ms) / EXPLAIN_REFILL_MS;
                tokens = (unsigned) MIN((int64_t) EXPLAIN_BURST, (int64_t) tokens + add);
                refilled_ms = t;
        }
        if (n_causes >= EXPLAIN_CAUSES || tokens == 0) {
                dropped++;
                return;
        }
        if (tokens == EXPLAIN_BURST)
                refilled_ms = t;
        tokens--;
        causes[n_causes].nr = (int32_t) req->data.nr;
        causes[n_causes++].sources = sources;
        note_start(sv, req, NOTE_DENIED, sources);
        note.dropped = dropped;
        dropped = 0;
        note_send(sv);
}

/* A string in the task's memory (through /proc/PID/mem, page by page). */
static int read_string(const Supervisor *sv, pid_t pid, uint64_t addr, char *buf, size_t size) {
        char path[32];
        size_t have = 0;

        snprintf(path, sizeof(path), "%d/mem", (int) pid);
        int fd = openat(sv->proc_fd, path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        while (have + 1 < size) {
                size_t chunk = 4096 - (size_t) ((addr + have) & 4095);
                chunk = MIN(chunk, size - 1 - have);
                ssize_t n = pread(fd, buf + have, chunk, (off_t) (addr + have));
                if (n <= 0)
                        break;
                bool end = memchr(buf + have, 0, (size_t) n) != NULL;
                have += (size_t) n;
                if (end) {
                        (void) close(fd);
                        return 0;
                }
        }
        (void) close(fd);
        return -EFAULT;
}

static int read_mem(const Supervisor *sv, pid_t pid, uint64_t addr, void *buf, size_t size) {
        char path[32];
        snprintf(path, sizeof(path), "%d/mem", (int) pid);
        int fd = openat(sv->proc_fd, path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t n = pread(fd, buf, size, (off_t) addr);
        (void) close(fd);
        return n == (ssize_t) size ? 0 : -EFAULT;
}

/* Removes "." and empty components and resolves ".." lexically (a learned rule is a
 * suggestion; Landlock resolves the real path when it is used). */
static void normalize(char *p) {
        char *out = p, *in = p;
        while (*in) {
                while (*in == '/')
                        in++;
                char *e = in;
                while (*e && *e != '/')
                        e++;
                size_t len = (size_t) (e - in);
                if (len == 0 || (len == 1 && in[0] == '.')) {
                        in = e;
                        continue;
                }
                if (len == 2 && in[0] == '.' && in[1] == '.') {
                        while (out > p && *--out != '/')
                                ;
                        in = e;
                        continue;
                }
                *out++ = '/';
                memmove(out, in, len);
                out += len;
                in = e;
        }
        if (out == p)
                *out++ = '/';
        *out = 0;
}

/* The absolute path a call names, as the task sees it (relative to its cwd or to dirfd). */
static int task_path(const Supervisor *sv, pid_t pid, int dirfd, uint64_t addr, char *out, size_t size) {
        static char rel[NOTE_PATH_MAX], base[NOTE_PATH_MAX];
        char link[48];
        int r = read_string(sv, pid, addr, rel, sizeof(rel));
        if (r < 0)
                return r;
        if (rel[0] == '/')
                snprintf(out, size, "%s", rel);
        else {
                if (dirfd == AT_FDCWD)
                        snprintf(link, sizeof(link), "%d/cwd", (int) pid);
                else
                        snprintf(link, sizeof(link), "%d/fd/%d", (int) pid, dirfd);
                ssize_t n = readlinkat(sv->proc_fd, link, base, sizeof(base) - 1);
                if (n <= 0)
                        return -errno;
                base[n] = 0;
                if (base[0] != '/')
                        return -ENOTDIR; /* "socket:[...]", "anon_inode:..." */
                if (snprintf(out, size, "%s/%s", base, rel) >= (int) size)
                        return -ENAMETOOLONG;
        }
        normalize(out);
        return 0;
}

static void parent_dir(char *p) {
        char *s = strrchr(p, '/');
        if (s == p)
                p[1] = 0;
        else if (s)
                *s = 0;
}

/* Sends the current note for a path the call names: letters on the path itself, or with
 * `in_parent` (creating, removing, renaming an entry) UNVEIL_C and extra on its directory. */
static void learn_path(Supervisor *sv, const struct seccomp_notif *req, int dirfd, uint64_t addr, unsigned letters,
                       bool in_parent) {
        struct stat st;
        if (task_path(sv, (pid_t) req->pid, dirfd, addr, note.path, sizeof(note.path)) < 0)
                return;
        /* The path was read from memory the task controls: only if the call is still waiting
         * did that memory belong to it (and not to a recycled pid). */
        if (ioctl(sv->notify_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) < 0)
                return;
        if (in_parent)
                parent_dir(note.path);
        note.flags &= ~(uint32_t) (NOTE_EXISTED | NOTE_DIR);
        if (stat(note.path, &st) == 0)
                note.flags |= NOTE_EXISTED | (S_ISDIR(st.st_mode) ? NOTE_DIR : 0);
        note.letters = letters | (in_parent ? UNVEIL_C : 0);
        note_send(sv);
        note.path[0] = 0;
}

#ifndef O_TMPFILE_BIT
#  define O_TMPFILE_BIT 020000000
#endif

static void learn_open(Supervisor *sv, const struct seccomp_notif *req, int dirfd, uint64_t addr, uint64_t flags) {
        struct stat st;
        unsigned acc = (flags & O_ACCMODE) == O_RDONLY ? UNVEIL_R
                       : (flags & O_ACCMODE) == O_WRONLY ? UNVEIL_W
                                                          : UNVEIL_R | UNVEIL_W;
        if (flags & O_PATH)
                return; /* Landlock does not check O_PATH */
        if (flags & O_TRUNC)
                acc |= UNVEIL_W;
        if (flags & O_TMPFILE_BIT) {
                learn_path(sv, req, dirfd, addr, acc | UNVEIL_C, false); /* the directory itself */
                return;
        }
        if (task_path(sv, (pid_t) req->pid, dirfd, addr, note.path, sizeof(note.path)) < 0)
                return;
        bool exists = stat(note.path, &st) == 0;
        note.path[0] = 0;
        if (!exists && !(flags & O_CREAT))
                return; /* ENOENT, with a rule or without */
        learn_path(sv, req, dirfd, addr, acc, !exists);
}

/* bind(2)/connect(2): read the address before the call's note goes out, which says whether it
 * is a unix socket's (NOTE_UNIX) and whether the connect can only fail (no such socket:
 * NOTE_FUTILE, as glibc's probe for nscd in every name lookup). */
static struct sockaddr_storage sock_addr;
static size_t sock_len;

static void peek_socket(Supervisor *sv, const struct seccomp_notif *req, bool bind) {
        struct stat st;
        uint64_t len = req->data.args[2];

        sock_len = 0;
        memset(&sock_addr, 0, sizeof(sock_addr));
        if (len < sizeof(sa_family_t) || len > sizeof(sock_addr) ||
            read_mem(sv, (pid_t) req->pid, req->data.args[1], &sock_addr, (size_t) len) < 0)
                return;
        sock_len = (size_t) len;
        if (sock_addr.ss_family != AF_UNIX)
                return;
        note.flags |= NOTE_UNIX;
        struct sockaddr_un *u = (struct sockaddr_un *) &sock_addr;
        if (bind || len <= offsetof(struct sockaddr_un, sun_path) || u->sun_path[0] == 0)
                return;
        if (task_path(sv, (pid_t) req->pid, AT_FDCWD, req->data.args[1] + offsetof(struct sockaddr_un, sun_path),
                      note.path, sizeof(note.path)) == 0 &&
            stat(note.path, &st) < 0 && errno == ENOENT)
                note.flags |= NOTE_FUTILE;
        note.path[0] = 0;
}

/* ... and after it: a unix socket's path (binding creates it), or a TCP port. */
static void learn_socket(Supervisor *sv, const struct seccomp_notif *req, bool bind) {
        note.flags &= ~(uint32_t) (NOTE_UNIX | NOTE_FUTILE);
        if (sock_len == 0)
                return;
        if (sock_addr.ss_family == AF_UNIX) {
                struct sockaddr_un *u = (struct sockaddr_un *) &sock_addr;
                if (!bind || sock_len <= offsetof(struct sockaddr_un, sun_path) || u->sun_path[0] == 0)
                        return; /* connecting needs no rule; an abstract name is no path */
                learn_path(sv, req, AT_FDCWD, req->data.args[1] + offsetof(struct sockaddr_un, sun_path), 0, true);
                return;
        }
        if (sock_addr.ss_family != AF_INET && sock_addr.ss_family != AF_INET6)
                return;
        /* Landlock's port rules see TCP only: is it a TCP socket? */
        int pidfd = open_pidfd(sv, (pid_t) req->pid), fd = -1, proto = 0;
        socklen_t l = sizeof(proto);
        if (pidfd >= 0)
                fd = (int) syscall(SYS_pidfd_getfd, pidfd, (int) (uint32_t) req->data.args[0], 0);
        bool tcp = fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l) == 0 && proto == IPPROTO_TCP;
        safe_close(fd);
        safe_close(pidfd);
        if (!tcp)
                return;
        note.port = ntohs(sock_addr.ss_family == AF_INET ? ((struct sockaddr_in *) &sock_addr)->sin_port
                                                         : ((struct sockaddr_in6 *) &sock_addr)->sin6_port);
        note.flags |= bind ? NOTE_BIND : NOTE_CONNECT;
        note_send(sv);
        note.flags &= ~(uint32_t) (NOTE_BIND | NOTE_CONNECT);
}

/* Records one call for `sandboxctl learn`: a note for the call, and one for each path or port
 * it names, with what unveil letters or port rules it needs. */
void supervisor_learn(Supervisor *sv, const struct seccomp_notif *req, uint64_t sources) {
        const __u64 *a = req->data.args;
        int fd0 = (int) (uint32_t) a[0], fd2 = (int) (uint32_t) a[2], fd1 = (int) (uint32_t) a[1];

        note_start(sv, req, NOTE_LEARNED, sources);
        if (req->data.nr == __NR_ioctl && (sources & PROMISE_BIT(PROMISE_TTY))) {
                int pidfd = open_pidfd(sv, (pid_t) req->pid), fd = -1;
                if (pidfd >= 0)
                        fd = (int) syscall(SYS_pidfd_getfd, pidfd, fd0, 0);
                if (fd >= 0 && !isatty(fd))
                        note.flags |= NOTE_FUTILE;
                safe_close(fd);
                safe_close(pidfd);
        }
        if (req->data.nr == __NR_bind || req->data.nr == __NR_connect)
                peek_socket(sv, req, req->data.nr == __NR_bind);
        note_send(sv);
        note.flags &= ~(uint32_t) NOTE_FUTILE;
        switch (req->data.nr) {
        case __NR_open:
                learn_open(sv, req, AT_FDCWD, a[0], a[1]);
                break;
        case __NR_openat:
                learn_open(sv, req, fd0, a[1], a[2]);
                break;
        case __NR_creat:
                learn_open(sv, req, AT_FDCWD, a[0], O_CREAT | O_WRONLY | O_TRUNC);
                break;
        case __NR_execve:
                learn_path(sv, req, AT_FDCWD, a[0], UNVEIL_R | UNVEIL_X, false);
                break;
        case __NR_execveat:
                learn_path(sv, req, fd0, a[1], UNVEIL_R | UNVEIL_X, false);
                break;
        case __NR_truncate:
                learn_path(sv, req, AT_FDCWD, a[0], UNVEIL_W, false);
                break;
        case __NR_mkdir:
        case __NR_rmdir:
        case __NR_unlink:
        case __NR_mknod:
                learn_path(sv, req, AT_FDCWD, a[0], 0, true);
                break;
        case __NR_mkdirat:
        case __NR_unlinkat:
        case __NR_mknodat:
                learn_path(sv, req, fd0, a[1], 0, true);
                break;
        case __NR_rename:
                learn_path(sv, req, AT_FDCWD, a[0], 0, true);
                learn_path(sv, req, AT_FDCWD, a[1], 0, true);
                break;
        case __NR_renameat:
        case __NR_renameat2:
                learn_path(sv, req, fd0, a[1], 0, true);
                learn_path(sv, req, fd2, a[3], 0, true);
                break;
        case __NR_link:
        case __NR_symlink:
                learn_path(sv, req, AT_FDCWD, a[1], 0, true);
                break;
        case __NR_linkat:
                learn_path(sv, req, fd2, a[3], 0, true);
                break;
        case __NR_symlinkat:
                learn_path(sv, req, fd1, a[2], 0, true);
                break;
        case __NR_bind:
                learn_socket(sv, req, true);
                break;
        case __NR_connect:
                learn_socket(sv, req, false);
                break;
        default:
                break;
        }
}

/* A call the listener filter sent because the promises do not allow it. */
static void judge(Supervisor *sv, const struct seccomp_notif *req, struct seccomp_notif_resp *resp) {
        uint64_t sources = seccomp_sources_allowing(&req->data, (uint32_t) sv->task_ns_pid);
        /* ld.so and the libraries' constructors, before the preload helper confirms: what the
         * launch filter gives them (docs/promises.md, "The launch window"). */
        bool launch = sv->window &&
                      (sources & (PROMISE_BIT(PROMISE_RPATH) | SECCOMP_SOURCE_BIT(SECCOMP_SOURCE_LAUNCH)));

        if (sv->watch == WATCH_LEARN) {
                supervisor_learn(sv, req, sources);
                /* Whatever some promise allows runs (registers only decide, so CONTINUE is safe);
                 * what none allows fails as it would under any promises. */
                if ((sources & SECCOMP_SOURCES_PROMISES) || launch)
                        resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
                else
                        resp->error = -EPERM;
                return;
        }
        if (launch) {
                resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
                return;
        }
        resp->error = -EPERM;
        explain(sv, req, sources);
}

void supervisor_close_window(Supervisor *sv) {
        sv->window = false;
        sv->window_at_launch = false;
}

/* ---------------------------------------------------------------------------------------- */
/* The notifications                                                                          */

static void answer_confirm(Supervisor *sv, const struct seccomp_notif *req, struct seccomp_notif_resp *resp) {
        uint64_t code = req->data.args[2];

        resp->error = -EPERM;
        if (sv->watch) {
                /* The listener filter holds the promises: the launch window is ours to close.
                 * Whoever asks, closing it only takes rights away; once the deadline closed it,
                 * a late confirmation is answered all the same. */
                if (code != 0) {
                        supervisor_fail(sv, code < 4096 ? (int) code : EIO, NARROW_INDEX_PRELOAD);
                        return;
                }
                supervisor_close_window(sv);
                resp->error = 0;
                return;
        }
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

        pidfd = open_pidfd(sv, (pid_t) req->pid);
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

static bool is_confirm(const struct seccomp_notif *req) {
        return req->data.args[0] == SECCOMP_CONFIRM_OPTION && req->data.args[1] == SECCOMP_CONFIRM_MAGIC;
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
                } else if (sv->watch == WATCH_LEARN) {
                        supervisor_learn(sv, &req, seccomp_sources_allowing(&req.data, (uint32_t) sv->task_ns_pid));
                        resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
                } else {
                        resp.error = -EPERM; /* no `exec` promise: no further program */
                        if (sv->watch == WATCH_EXPLAIN)
                                explain(sv, &req, seccomp_sources_allowing(&req.data, (uint32_t) sv->task_ns_pid));
                }
                break;
        case __NR_listen:
                /* Here either because TCP bind rules are set, or because the promises refuse it. */
                if (sv->watch && !(seccomp_sources_allowing(&req.data, (uint32_t) sv->task_ns_pid) & sv->promises))
                        judge(sv, &req, &resp);
                else
                        answer_listen(sv, &req, &resp);
                break;
        case __NR_prctl:
                if (is_confirm(&req))
                        answer_confirm(sv, &req, &resp);
                else if (sv->watch)
                        judge(sv, &req, &resp);
                else
                        resp.error = -EPERM;
                break;
        default:
                if (sv->watch)
                        judge(sv, &req, &resp);
                else
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
