/* SPDX-License-Identifier: MIT */
/* daemon/lib/spawn-init.c: the sandbox's side of the recipe (see spawn.c): the init, PID 1 of the
 * sandbox, which sets up the task's view and forks the task, then supervises it; and the task,
 * from fork to execve, async-signal-safe only. */
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "landlock-compat.h"
#include "macro.h"
#include "spawn-internal.h"
#include "spawn.h"
#include "supervisor.h"
#include "util.h"

/* What the task tells its init before execve, on a SOCK_SEQPACKET socket whose end in the
 * task is close-on-exec (so EOF means the execve succeeded): a failed step, or the supervisor
 * filter's listener (SCM_RIGHTS) with the task's pid as it sees it. */
typedef struct TaskReport {
        int32_t step;
        int32_t err_no;
        int32_t index;
} TaskReport;

#define TASK_REPORT_LISTENER (-1)

/* Sent by the handover process: the task's pid as it sees itself in index, the sender's own
 * (which the init reaps at once) in err_no. */
static int send_listener(int report_fd, int listener, pid_t task) {
        TaskReport m = { .step = TASK_REPORT_LISTENER, .err_no = (int32_t) syscall(SYS_getpid), .index = (int32_t) task };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } cm = {};
        struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf) };
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &listener, sizeof(int));
        return sendmsg(report_fd, &mh, MSG_NOSIGNAL) == sizeof(m) ? 0 : -errno;
}

_noreturn_ static void task_fail(int report_fd, SpawnStep step, int err_no, int index) {
        TaskReport m = { .step = step, .err_no = err_no > 0 ? err_no : EIO, .index = index };
        (void) !write(report_fd, &m, sizeof(m));
        _exit(EXIT_SETUP);
}

static void reset_signals(void) {
        sigset_t empty;
        struct sigaction sa = { .sa_handler = SIG_DFL };

        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) sigaction(sig, &sa, NULL);
        sigemptyset(&empty);
        (void) sigprocmask(SIG_SETMASK, &empty, NULL);
}

static int drop_bounding_set(void) {
        for (unsigned long cap = 0; cap <= 63; cap++)
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                        return -errno;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return -errno;
        return 0;
}

static int clear_capabilities(void) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
        struct __user_cap_data_struct d[2] = {};
        return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

static int setup_stdio(const int src[3]) {
        int fds[3];

        /* Move every source above 2 first so a later dup2 cannot clobber an earlier source. */
        for (int i = 0; i < 3; i++) {
                int fd = src[i];
                if (fd < 0) {
                        fd = open("/dev/null", i == 0 ? O_RDONLY : O_WRONLY);
                        if (fd < 0)
                                return -errno;
                }
                fds[i] = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (fds[i] < 0)
                        return -errno;
        }
        for (int i = 0; i < 3; i++)
                if (dup2(fds[i], i) < 0)
                        return -errno;
        return 0;
}

/* Set in an exec session's supervisor before it forks the command (which inherits it). */
static bool exec_session;

/* Handing the listener over. Once the task has loaded a filter that sends everything its
 * promises refuse to the init (SECCOMP_COMPILE_NOTIFY), it cannot send the listener itself: its
 * next call would wait for an init that does not have it yet. So a helper process started
 * before the load carries it: it shares the task's memory and file table (CLONE_VM,
 * CLONE_FILES) but not its filter (a filter belongs to the thread that loads it and to what that
 * thread starts afterwards), waits for the listener's number and sends it. It is the init's
 * child (CLONE_PARENT), so the program never sees it, and it keeps the task's old file table
 * when the task's execve unshares it: the listener stays alive until the init has it, however
 * early the program's first refused call comes. The same path serves the supervisor filter
 * that allows everything but a few calls. */
static struct {
        int fd;         /* -1: not loaded yet; -2: the load failed (the task reports it) */
        int report_fd;
        pid_t task;     /* the task's pid as it sees itself */
} handover = { .fd = -1, .report_fd = -1 };

static char handover_stack[64 * 1024] __attribute__((aligned(16)));

static int handover_main(void *arg) {
        int fd;
        while ((fd = __atomic_load_n(&handover.fd, __ATOMIC_ACQUIRE)) == -1)
                (void) syscall(SYS_sched_yield);
        if (fd >= 0 && send_listener(handover.report_fd, fd, handover.task) < 0) {
                /* Without the listener the task's refused calls would fail ENOSYS: end it, saying
                 * why. */
                TaskReport m = { .step = STEP_EXEC_ONCE, .err_no = errno ?: EIO, .index = -1 };
                (void) !write(handover.report_fd, &m, sizeof(m));
                (void) syscall(SYS_kill, handover.task, SIGKILL);
        }
        (void) syscall(SYS_exit, 0);
        return 0;
}

static int start_handover(int report_fd) {
        handover.report_fd = report_fd;
        handover.fd = -1;
        handover.task = getpid();
        /* The helper keeps this memory after the task's execve: no process of the task's user
         * may ptrace it or take its fds (pidfd_getfd), not even a root task without
         * capabilities (the program's own memory, after the execve, is dumpable as usual). */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return -1;
        return clone(handover_main, handover_stack + sizeof(handover_stack),
                     CLONE_VM | CLONE_FILES | CLONE_PARENT | SIGCHLD, NULL) < 0
                       ? -1
                       : 0;
}

_noreturn_ static void task_main(const SandboxSpec *s, const SandboxPrepared *p, int report_fd, LandlockPin *pins) {
        size_t index = 0;
        int r;

        reset_signals();

        if (setsid() < 0)
                task_fail(report_fd, STEP_SETSID, errno, -1);

        for (size_t i = 0; i < s->n_rlimits; i++)
                if (setrlimit(s->rlimits[i].resource, &s->rlimits[i].limit) < 0)
                        task_fail(report_fd, STEP_RLIMIT, errno, (int) i);

        if (s->has_importance && setpriority(PRIO_PROCESS, 0, importance_to_nice(s->importance)) < 0)
                task_fail(report_fd, STEP_NICE, errno, -1);

        /* Set while still privileged and before execve, so nothing the task forks escapes it. */
        if (s->has_oom_score_adj) {
                char buf[16];
                int n = snprintf(buf, sizeof(buf), "%d", s->oom_score_adj);
                int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
                if (fd < 0 || write(fd, buf, n) != n)
                        task_fail(report_fd, STEP_OOM_SCORE_ADJ, errno, -1);
                (void) close(fd);
        }

        /* PR_CAPBSET_DROP needs CAP_SETPCAP, so before the uid changes. */
        r = drop_bounding_set();
        if (r < 0)
                task_fail(report_fd, STEP_CAPABILITIES, -r, -1);
        if (setgroups(s->n_groups, s->groups) < 0)
                task_fail(report_fd, STEP_GROUPS, errno, -1);
        if (setresgid(s->gid, s->gid, s->gid) < 0)
                task_fail(report_fd, STEP_SETGID, errno, -1);
        if (setresuid(s->uid, s->uid, s->uid) < 0)
                task_fail(report_fd, STEP_SETUID, errno, -1);
        /* An exec session's command dies with its supervisor (set after the id change, which
         * clears it). If the supervisor is already gone, so are we. */
        if (exec_session) {
                pid_t parent = getppid();
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
                if (parent == 1 || getppid() != parent)
                        _exit(137);
        }
        /* A root task keeps uid 0 but no capability; for others setresuid already cleared them. */
        r = clear_capabilities();
        if (r < 0)
                task_fail(report_fd, STEP_CAPABILITIES, -r, -1);

        int src[3] = { s->stdin_fd, s->stdout_fd, s->stderr_fd };
        r = setup_stdio(src);
        if (r < 0)
                task_fail(report_fd, STEP_STDIO, -r, -1);
        /* A terminal session (exec -t): stdin is the pty's slave; make it our controlling
         * terminal (we are a new session since setsid above). */
        if (s->tty && ioctl(STDIN_FILENO, TIOCSCTTY, 0) < 0)
                task_fail(report_fd, STEP_STDIO, errno, -1);

        /* Nothing but 0-2 survives execve, except the narrowing filter for the preload. */
        if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                task_fail(report_fd, STEP_FDS, errno, -1);
        if (p->preload_fd >= 0 && fcntl(p->preload_fd, F_SETFD, 0) < 0)
                task_fail(report_fd, STEP_FDS, errno, -1);
        if (p->narrow_fd >= 0 && fcntl(p->narrow_fd, F_SETFD, 0) < 0)
                task_fail(report_fd, STEP_FDS, errno, -1);

        /* The usual umask, whatever the caller's (sandboxd runs with UMask=0077). */
        (void) umask(0022);
        if (chdir(s->cwd ? s->cwd : "/") < 0)
                task_fail(report_fd, STEP_CHDIR, errno, -1);

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                task_fail(report_fd, STEP_NO_NEW_PRIVS, errno, -1);

        if (p->landlock_fd >= 0) {
                r = landlock_add_deferred(p->landlock_fd, &p->unveil, &p->landlock_info, pins, &index);
                if (r < 0)
                        task_fail(report_fd, STEP_LANDLOCK, -r, (int) index);
                if (sbx_landlock_restrict_self(p->landlock_fd, 0) < 0)
                        task_fail(report_fd, STEP_LANDLOCK, errno, -1);
        }

        /* Fail closed: if ld.so cannot load the preload helper in this mount namespace (a
         * private /tmp hiding a development build, say), it would only warn and run the program
         * under the wider launch filter. */
        char self_fd[64];
        snprintf(self_fd, sizeof(self_fd), "/proc/self/fd/%d", p->preload_fd);
        if (p->preload_fd >= 0 && access(self_fd, R_OK) < 0)
                task_fail(report_fd, STEP_SECCOMP, errno, -1);

        /* The supervisor filter goes first, so the launch filter need not allow seccomp(2). Its
         * listener goes to the init, which stays free of filters (it could not verify the
         * narrowing under one); without the init answering, a notified call fails ENOSYS.
         * The handover thread carries the listener over (see handover_main). */
        if (p->supervise || p->watch) {
                if (start_handover(report_fd) < 0)
                        task_fail(report_fd, STEP_EXEC_ONCE, errno, -1);
                SeccompProgram prog = p->supervisor;
                (void) seccomp_program_patch_pid(&prog, getpid());
                int listener = seccomp_program_load(&prog, SECCOMP_FILTER_FLAG_NEW_LISTENER);
                __atomic_store_n(&handover.fd, listener < 0 ? -2 : listener, __ATOMIC_RELEASE);
                if (listener < 0)
                        task_fail(report_fd, STEP_EXEC_ONCE, -listener, -1);
        }

        /* Last before execve, so the filter has to allow nothing but execve itself. The program
         * is our own copy (fork), so patching it does not touch the parent's. */
        if (p->filter) {
                SeccompProgram prog = p->launch;
                (void) seccomp_program_patch_pid(&prog, getpid());
                r = seccomp_program_load(&prog, 0);
                if (r < 0)
                        task_fail(report_fd, STEP_SECCOMP, -r, -1);
        }

        execve(s->exec_path, s->argv, p->envp);
        task_fail(report_fd, STEP_EXEC, errno, -1);
}

/* Writes the final report where a restarted daemon finds it: "exit.tmp" then rename, so a
 * reader sees either nothing or the whole record. No fsync: the record matters only while this
 * kernel runs (see task_record_save). */
static void write_exit_record(int dir_fd, const InitMsg *m) {
        char buf[96];
        int n;

        if (dir_fd < 0)
                return;
        if (m->type == INIT_MSG_SETUP_FAILED)
                n = snprintf(buf, sizeof(buf), "failed %d %d %d\n", m->step, m->err_no, m->index);
        else
                n = snprintf(buf, sizeof(buf), "exited %d oom %d\n", m->status, m->oom_kills);
        int fd = openat(dir_fd, SANDBOX_STATUS_EXIT SANDBOX_STATUS_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return;
        bool ok = write(fd, buf, n) == n;
        (void) close(fd);
        if (ok)
                (void) renameat(dir_fd, SANDBOX_STATUS_EXIT SANDBOX_STATUS_TMP, dir_fd, SANDBOX_STATUS_EXIT);
}

_noreturn_ static void init_report_and_exit(int ctl_fd, int dir_fd, const InitMsg *m, int code) {
        write_exit_record(dir_fd, m);
        (void) !send(ctl_fd, m, sizeof(*m), MSG_NOSIGNAL);
        _exit(code);
}

/* Reads "KEY N" from a small file; -1 if absent. No allocation (the init runs this last). */
static long read_key(const char *path, const char *key) {
        char buf[2048];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        (void) close(fd);
        if (n <= 0)
                return -1;
        buf[n] = 0;
        size_t kl = strlen(key);
        for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
                if (strncmp(l, key, kl) == 0 && l[kl] == ' ')
                        return strtol(l + kl + 1, NULL, 10);
        return -1;
}

/* How many OOM kills the sandbox's memory cgroup counted. The init asks while it is still in
 * the cgroup: once it exits, systemd may remove an emptied scope before the caller can look. */
static int32_t init_oom_kills(void) {
        char buf[4096], path[PATH_MAX];
        int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        (void) close(fd);
        if (n <= 0)
                return 0;
        buf[n] = 0;
        const char *v1 = NULL, *v2 = NULL;
        for (char *l = buf; *l;) {
                char *e = strchr(l, '\n');
                if (e)
                        *e = 0; /* each path stays NUL-terminated for use below */
                char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (c1 && c2 && c2 - c1 == 7 && strncmp(c1 + 1, "memory", 6) == 0)
                        v1 = c2 + 1;
                else if (strncmp(l, "0::", 3) == 0)
                        v2 = l + 3;
                if (!e)
                        break;
                l = e + 1;
        }
        long k = -1;
        if (v1) {
                snprintf(path, sizeof(path), "/sys/fs/cgroup/memory%s/memory.oom_control", v1);
                k = read_key(path, "oom_kill");
        } else if (v2) {
                snprintf(path, sizeof(path), "/sys/fs/cgroup%s/memory.events", v2);
                k = read_key(path, "oom_kill");
        }
        return k > 0 ? (int32_t) k : 0;
}

/* Where the caller's brk heap starts (0: unknown), found by the parent before clone. */
static uintptr_t heap_start;

void find_heap_start(void) {
        if (heap_start)
                return;
        _cleanup_fclose_ FILE *f = fopen("/proc/self/maps", "re");
        char line[512];
        while (f && fgets(line, sizeof(line), f))
                if (strstr(line, "[heap]")) {
                        heap_start = (uintptr_t) strtoull(line, NULL, 16);
                        break;
                }
}

/* The init is a copy of a long-lived caller (sandboxd): every heap page the caller writes
 * after the clone becomes a private copy here, hundreds of KiB per task. Once the task runs, the
 * init needs nothing from the heap (its loop lives on the stack and never allocates), so it
 * gives those pages back. Not the stack, TLS or data segments: only the brk heap. */
static void drop_inherited_heap(void) {
        uintptr_t end = (uintptr_t) sbrk(0);
        long page = sysconf(_SC_PAGESIZE);
        if (!heap_start || end <= heap_start || page <= 0)
                return;
        uintptr_t start = (heap_start + (uintptr_t) page - 1) & ~((uintptr_t) page - 1);
        if (end > start)
                (void) madvise((void *) start, end - start, MADV_DONTNEED);
}

/* Async-signal-safe: closes every fd >= 3 not in keep (negative entries are ignored). */
static void close_all_fds_but(int *keep, size_t n) {
        /* insertion sort: n is small */
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
                        int t = keep[j];
                        keep[j] = keep[j - 1];
                        keep[j - 1] = t;
                }
        unsigned from = 3;
        for (size_t i = 0; i < n; i++) {
                if (keep[i] < (int) from)
                        continue;
                if ((unsigned) keep[i] > from)
                        (void) syscall(SYS_close_range, from, (unsigned) keep[i] - 1, 0);
                from = (unsigned) keep[i] + 1;
        }
        (void) syscall(SYS_close_range, from, ~0U, 0);
}

_noreturn_ static void init_fail_index(int ctl_fd, int dir_fd, SpawnStep step, int err_no, int index) {
        InitMsg m = { .type = INIT_MSG_SETUP_FAILED, .step = step, .err_no = err_no > 0 ? err_no : EIO, .index = index };
        init_report_and_exit(ctl_fd, dir_fd, &m, EXIT_SETUP);
}

_noreturn_ static void init_fail(int ctl_fd, int dir_fd, SpawnStep step, int err_no) {
        init_fail_index(ctl_fd, dir_fd, step, err_no, -1);
}

static int loopback_up(void) {
        _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr = {};

        if (fd < 0)
                return -errno;
        strncpy(ifr.ifr_name, "lo", sizeof(ifr.ifr_name) - 1);
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return -errno;
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                return -errno;
        return 0;
}

static int init_exit_code(int wstatus) {
        if (WIFEXITED(wstatus))
                return WEXITSTATUS(wstatus);
        if (WIFSIGNALED(wstatus))
                return 128 + WTERMSIG(wstatus);
        return 255;
}

/* Where the caller's argument strings lie: sandboxd's command line (config, socket, state dir),
 * which the init, a copy of the caller, would show every task as its /proc/1/cmdline. */
static uintptr_t arg_start, arg_end;

void find_arg_area(void) {
        char buf[1024];
        if (arg_start)
                return;
        _cleanup_close_ int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
        if (n <= 0)
                return;
        buf[n] = 0;
        char *c = strrchr(buf, ')'), *save = NULL;
        if (!c)
                return;
        /* fields 48 and 49 (arg_start, arg_end); the one after ')' is field 3 */
        int field = 3;
        for (char *t = strtok_r(c + 1, " ", &save); t; t = strtok_r(NULL, " ", &save), field++)
                if (field == 48)
                        arg_start = (uintptr_t) strtoull(t, NULL, 10);
                else if (field == 49) {
                        arg_end = (uintptr_t) strtoull(t, NULL, 10);
                        break;
                }
        if (arg_end <= arg_start)
                arg_start = arg_end = 0;
}

/* Our copy of the caller's argument area now reads NAME. The area cannot shrink without
 * CAP_SYS_RESOURCE (PR_SET_MM), so the rest is NUL bytes, which ps shows as nothing. */
static void hide_cmdline(const char *name) {
        size_t len = arg_end - arg_start, n = strlen(name);
        if (!arg_start || len < 2)
                return;
        memset((void *) arg_start, 0, len);
        memcpy((void *) arg_start, name, n < len - 1 ? n : len - 1);
        (void) prctl(PR_SET_MM, PR_SET_MM_ARG_END, arg_start + (n < len - 1 ? n + 1 : len), 0, 0);
}

/* Creates path and its missing parents inside a tmpfs the init just mounted (root, 0755); the
 * last component is a directory, or an empty file if !dir. Never through a symlink. Returns an
 * O_PATH fd of it or -errno. Async-signal-safe. */
static int view_mkpath(const char *path, bool dir) {
        int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        char comp[NAME_MAX + 1];

        for (const char *c = path; fd >= 0;) {
                while (*c == '/')
                        c++;
                if (!*c)
                        return fd;
                const char *e = strchrnul(c, '/');
                size_t n = (size_t) (e - c);
                bool last = e[strspn(e, "/")] == 0;
                if (n > NAME_MAX) {
                        (void) close(fd);
                        return -ENAMETOOLONG;
                }
                memcpy(comp, c, n);
                comp[n] = 0;
                int r = 0;
                if (last && !dir) {
                        int f = openat(fd, comp, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
                        r = f < 0 ? -errno : close(f);
                } else if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST)
                        r = -errno;
                int next = r < 0 ? r : openat(fd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC | (last && !dir ? 0 : O_DIRECTORY));
                if (r == 0 && next < 0)
                        r = -errno;
                (void) close(fd);
                if (r < 0)
                        return r;
                fd = next;
                c = e;
        }
        return -errno;
}

/* Opens path in the view without following any symlink, O_PATH. */
static int view_open(const char *path) {
        struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
        int fd = (int) syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
        return fd < 0 ? -errno : fd;
}

/* Covers what fd names with nothing: an empty read-only tmpfs over a directory, /dev/null over
 * anything else. */
static int view_cover(int fd) {
        struct stat st;
        char path[64];
        if (fstat(fd, &st) < 0)
                return -errno;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        if (S_ISDIR(st.st_mode) ? mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                        "mode=000,size=4k,nr_inodes=1") < 0
                                : mount("/dev/null", path, NULL, MS_BIND, NULL) < 0)
                return -errno;
        return 0;
}

/* /proc entries Docker masks too: kernel memory, every key the kernel lists, timers of every
 * process on the host, and the sysrq trigger (which only file modes guard). */
static const char *const proc_masked[] = { "/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sysrq-trigger",
                                           "/proc/sched_debug", "/proc/latency_stats" };

static int view_dev(void) {
        static const struct {
                const char *name;
                unsigned major, minor;
        } nodes[] = {
                { "null", 1, 3 },    { "zero", 1, 5 }, { "full", 1, 7 }, { "random", 1, 8 },
                { "urandom", 1, 9 }, { "tty", 5, 0 },
                /* opens the devpts instance at "pts" beside it (Linux >= 4.7): the task's own */
                { "ptmx", 5, 2 },
        };
        static const struct {
                const char *name, *target;
        } links[] = {
                { "fd", "/proc/self/fd" },
                { "stdin", "/proc/self/fd/0" },
                { "stdout", "/proc/self/fd/1" },
                { "stderr", "/proc/self/fd/2" },
        };
        char path[64];

        if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k,nr_inodes=64") < 0)
                return -errno;
        for (size_t i = 0; i < ELEMENTSOF(nodes); i++) {
                snprintf(path, sizeof(path), "/dev/%s", nodes[i].name);
                if (mknod(path, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)) < 0)
                        return -errno;
        }
        for (size_t i = 0; i < ELEMENTSOF(links); i++) {
                snprintf(path, sizeof(path), "/dev/%s", links[i].name);
                if (symlink(links[i].target, path) < 0)
                        return -errno;
        }
        /* Terminals of its own (a devpts instance: none of the host's), and POSIX shared memory. */
        if (mkdir("/dev/pts", 0755) < 0 || mkdir("/dev/shm", 01777) < 0 ||
            mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0000,mode=0620") < 0 ||
            mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
                return -errno;
        /* Nothing more goes into /dev; a root task (no capabilities, still the owner) cannot add to it. */
        if (mount(NULL, "/dev", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL) < 0)
                return -errno;
        return 0;
}

/* The task's view of the host's file system (docs/task-view.md), built by the init in the new
 * mount namespace before the task exists, so nothing the task plants is there yet. In order:
 * /proc for the pid namespace; unless host_view, a minimal /dev, masked /proc entries, a
 * read-only /proc/sys and empty /run and /var/run (no host unix socket, no runtime state); the
 * private /tmp; Nomad's directories these tmpfs mounts would hide, bound back; the volumes;
 * resolv.conf; sandboxd's own socket and state covered. */
static void init_view(const SandboxSpec *s, const SandboxPrepared *p, int ctl_fd, int dir_fd) {
        int fd, r;

        /* Device nodes and mount points get exactly the modes asked for (sandboxd's umask is
         * 0077; the task sets its own). */
        (void) umask(0);

        /* Our mounts must not propagate back to the host; host mounts still propagate in. */
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                init_fail(ctl_fd, dir_fd, STEP_MOUNT, errno);
        /* The pid namespace's own /proc. Not hidepid: it decides by the ptrace check, and Landlock
         * makes an exec session (a domain of its own) and the task strangers to each other, so ps
         * and pgrep in `nomad alloc exec` and script checks would find nothing. What hidepid would
         * hide behind that check (environ, maps, fds of the init and of other domains) is behind it
         * anyway; the init's cmdline is rewritten (hide_cmdline). */
        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                init_fail(ctl_fd, dir_fd, STEP_PROC, errno);

        if (!s->host_view) {
                r = view_dev();
                if (r < 0)
                        init_fail(ctl_fd, dir_fd, STEP_DEV, -r);
                for (size_t i = 0; i < ELEMENTSOF(proc_masked); i++) {
                        fd = view_open(proc_masked[i]);
                        if (fd == -ENOENT)
                                continue;
                        if (fd < 0 || (r = view_cover(fd)) < 0)
                                init_fail(ctl_fd, dir_fd, STEP_PROC, fd < 0 ? -fd : -r);
                        (void) close(fd);
                }
                if (mount("/proc/sys", "/proc/sys", NULL, MS_BIND | MS_REC, NULL) < 0 ||
                    mount(NULL, "/proc/sys", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                          NULL) < 0)
                        init_fail(ctl_fd, dir_fd, STEP_PROC, errno);
                /* Landlock has no right for connect() on a path socket: D-Bus, container runtimes,
                 * journald, nscd, sandboxd itself all listen here, so the task gets empty ones. */
                if (mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k,nr_inodes=256") < 0)
                        init_fail_index(ctl_fd, dir_fd, STEP_RUN, errno, 0);
                if (p->var_run_dir &&
                    mount("tmpfs", "/var/run", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k,nr_inodes=256") < 0)
                        init_fail_index(ctl_fd, dir_fd, STEP_RUN, errno, 1);
        }

        /* The task's own /tmp: a fresh tmpfs (charged to the task's cgroup). */
        if (s->private_tmp && mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
                init_fail(ctl_fd, dir_fd, STEP_TMP, errno);

        /* Nomad's directories beneath those tmpfs mounts, at their own paths, parents first. */
        for (size_t i = 0; i < p->n_binds; i++) {
                fd = view_mkpath(p->binds[i].path, true);
                if (fd < 0 || move_mount(p->binds[i].tree_fd, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                        init_fail_index(ctl_fd, dir_fd, STEP_KEEP, fd < 0 ? -fd : errno, (int) i);
                (void) close(fd);
        }

        /* Volumes: bind mounts through the fd the caller opened without following symlinks;
         * the target is opened the same way (made, if a tmpfs of the view holds it). Never
         * setuid or device files. */
        for (size_t i = 0; i < s->n_mounts; i++) {
                const SpecMount *m = &s->mounts[i];
                struct stat st;
                fd = view_open(m->target);
                if (fd == -ENOENT && view_replaces(s, p->var_run_dir, m->target) && fstat(m->source_fd, &st) == 0) {
                        bool in_bind = false;
                        for (size_t j = 0; j < p->n_binds && !in_bind; j++)
                                in_bind = path_beneath(m->target, p->binds[j].path);
                        if (!in_bind)
                                fd = view_mkpath(m->target, S_ISDIR(st.st_mode));
                }
                if (fd < 0 || move_mount(m->source_fd, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                        init_fail_index(ctl_fd, dir_fd, STEP_BIND, fd < 0 ? -fd : errno, (int) i);
                (void) close(fd);
        }
        /* Landlock rules belong to inodes, and the mount shares the source's: the rule for the
         * target would also open the raw host path. So the task does not get to see that path
         * (if the view has not hidden it already). */
        for (size_t i = 0; i < s->n_mounts; i++) {
                fd = view_open(s->mounts[i].source);
                if (fd == -ENOENT)
                        continue;
                if (fd < 0 || (r = view_cover(fd)) < 0)
                        init_fail_index(ctl_fd, dir_fd, STEP_BIND, fd < 0 ? -fd : -r, (int) i);
                (void) close(fd);
        }

        /* DNS: the resolv.conf the caller built (from the job's dns block, or the host's real
         * upstream servers when the host points at a local stub such as 127.0.0.53), or the
         * host's file that /etc/resolv.conf leads to inside /run. Mounted over /etc/resolv.conf
         * itself (a symlink is not followed), so the task sees a plain file. */
        if (p->resolv_tree_fd >= 0 &&
            move_mount(p->resolv_tree_fd, "", AT_FDCWD, "/etc/resolv.conf", MOVE_MOUNT_F_EMPTY_PATH) < 0)
                init_fail(ctl_fd, dir_fd, STEP_RESOLV_CONF, errno);

        /* What the caller must keep from every task (sandboxd: its socket and its state), where
         * the view has not hidden it already. */
        for (size_t i = 0; s->hide_paths && s->hide_paths[i]; i++) {
                fd = view_open(s->hide_paths[i]);
                if (fd == -ENOENT)
                        continue;
                if (fd < 0 || (r = view_cover(fd)) < 0)
                        init_fail_index(ctl_fd, dir_fd, STEP_HIDE, fd < 0 ? -fd : -r, (int) i);
                (void) close(fd);
        }
}

/* An exec session with a terminal, in the task's mount namespace: the terminal is the caller's
 * (a pty of the host), which the task's own devpts does not show, so ttyname() and tty(1) would
 * find nothing at the name /proc/self/fd/0 gives. The session gets a mount namespace of its own
 * with that one pty node at its name. tree: the caller's pty slave, cloned before joining. */
static int exec_tty_view(int tree, const char *name) {
        const char *leaf = startswith(name, "/dev/pts/");
        if (tree < 0 || !leaf || !*leaf || strchr(leaf, '/'))
                return 0;
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0 ||
            mount("tmpfs", "/dev/pts", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=4k,nr_inodes=4") < 0)
                return -errno;
        int fd = view_mkpath(name, false);
        if (fd < 0)
                return fd;
        int r = move_mount(tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0 ? -errno : 0;
        (void) close(fd);
        return r;
}

/* The deferred rules' pins, as the task resolved them (in a shared page): "pins" in the status
 * directory, for exec sessions to compare against, also after a daemon restart. */
static void write_pins(int dir_fd, const LandlockPin *pins, size_t n) {
        char line[96];
        int fd = openat(dir_fd, SANDBOX_STATUS_PINS SANDBOX_STATUS_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        bool ok = fd >= 0;
        for (size_t i = 0; ok && i < n; i++) {
                int k;
                if (pins[i].state == 1)
                        k = snprintf(line, sizeof(line), "%zu %llu %llu\n", i, (unsigned long long) pins[i].dev,
                                     (unsigned long long) pins[i].ino);
                else if (pins[i].state == 2)
                        k = snprintf(line, sizeof(line), "%zu absent\n", i);
                else
                        continue;
                ok = write(fd, line, (size_t) k) == k;
        }
        if (fd >= 0)
                (void) close(fd);
        if (ok)
                (void) renameat(dir_fd, SANDBOX_STATUS_PINS SANDBOX_STATUS_TMP, dir_fd, SANDBOX_STATUS_PINS);
}

/* The init (init_main): what it was given, and its state while it supervises the task. */
typedef struct Init {
        const SandboxSpec *s;
        const SandboxPrepared *p;
        unsigned flags;
        int ctl_fd, dir_fd;
        int sfd;        /* SIGCHLD and the signals we forward */
        int proc_fd;
        pid_t task;
        int report_fd;  /* the task's reports until its execve */
        int timer_fd;   /* the launch window's deadline, once the program runs */
        LandlockPin *pins; /* where the task notes what its deferred rules resolved to */
        size_t pins_size;
        Supervisor sv;
        unsigned narrow_ms;
        bool task_done, reported, watch_ctl;
        int task_status;
        InitMsg failure;
} Init;

/* We are a copy of the caller, fd table included: in sandboxd that is its listening socket, its
 * clients' connections, other tasks' pidfds. Keep only what this sandbox needs, or a client
 * could queue on a dead daemon's socket that we keep alive. */
static void init_close_inherited(const Init *in, int netns_fd, int join_fd) {
        const SandboxSpec *s = in->s;
        const SandboxPrepared *p = in->p;
        int keep[16 + SPEC_MAX_MOUNTS + SANDBOX_MAX_BINDS];
        size_t n = 0;
        keep[n++] = in->ctl_fd;
        keep[n++] = in->dir_fd;
        keep[n++] = netns_fd;
        keep[n++] = join_fd;
        keep[n++] = s->stdin_fd;
        keep[n++] = s->stdout_fd;
        keep[n++] = s->stderr_fd;
        keep[n++] = p->landlock_fd;
        keep[n++] = p->narrow_fd;
        keep[n++] = p->preload_fd;
        keep[n++] = p->resolv_tree_fd;
        for (size_t i = 0; i < s->n_mounts; i++)
                keep[n++] = s->mounts[i].source_fd;
        for (size_t i = 0; i < p->n_binds && i < SANDBOX_MAX_BINDS; i++)
                keep[n++] = p->binds[i].tree_fd;
        close_all_fds_but(keep, n);
}

/* An exec session: the running task's namespaces, all set up already. Our children are born in
 * its pid namespace, but we are not in it: our /proc (the caller's) is the one that shows our
 * children under the pids we know them by. As a subreaper we stay the ancestor of everything the
 * command starts, which the narrowing check and a kill need. */
static void init_join_task(Init *in, int join_fd) {
        const SandboxSpec *s = in->s;
        int r;

        in->proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
        (void) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        char tty_name[64] = "";
        int tty_tree = -1;
        if (s->tty && !s->host_view) {
                char self[64];
                snprintf(self, sizeof(self), "/proc/self/fd/%d", s->stdin_fd);
                ssize_t k = readlink(self, tty_name, sizeof(tty_name) - 1);
                tty_name[k > 0 ? k : 0] = 0;
                tty_tree = open_tree(s->stdin_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
        }
        if (setns(join_fd, CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWPID) < 0)
                init_fail(in->ctl_fd, in->dir_fd, STEP_JOIN, errno);
        (void) close(join_fd);
        if (tty_tree >= 0) {
                r = exec_tty_view(tty_tree, tty_name);
                if (r < 0)
                        init_fail(in->ctl_fd, in->dir_fd, STEP_TTY, -r);
                (void) close(tty_tree);
        }
        exec_session = true;
}

/* A task's own sandbox: its network namespace, its view, loopback, hostname. */
static void init_setup(Init *in, int netns_fd) {
        const SandboxSpec *s = in->s;
        int r;

        if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) < 0)
                init_fail(in->ctl_fd, in->dir_fd, STEP_NETNS, errno);
        (void) safe_close(netns_fd);

        init_view(s, in->p, in->ctl_fd, in->dir_fd);

        if (s->net == NET_NONE) {
                r = loopback_up();
                if (r < 0)
                        init_fail(in->ctl_fd, in->dir_fd, STEP_LOOPBACK, -r);
        }

        if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
                init_fail(in->ctl_fd, in->dir_fd, STEP_HOSTNAME, errno);
}

/* Signals we forward, and SIGCHLD, arrive through a signalfd. Blocked signals are not dropped by
 * the "init ignores signals it has no handler for" rule, so this also works for signals sent
 * from the parent namespace. */
static void init_signals(Init *in) {
        sigset_t mask;
        sigemptyset(&mask);
        static const int forwarded[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH,
                                         SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU, SIGPWR, SIGABRT, SIGTRAP };
        for (size_t i = 0; i < ELEMENTSOF(forwarded); i++)
                sigaddset(&mask, forwarded[i]);
        sigaddset(&mask, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                init_fail(in->ctl_fd, in->dir_fd, STEP_SIGNALS, errno);
        in->sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (in->sfd < 0)
                init_fail(in->ctl_fd, in->dir_fd, STEP_SIGNALS, errno);
}

/* SPAWN_HOLD: wait until the caller has put us into the task's cgroup. */
static void init_wait_go(const Init *in) {
        char go;
        ssize_t n;
        do
                n = recv(in->ctl_fd, &go, 1, 0);
        while (n < 0 && errno == EINTR);
        if (n != 1 || go != CTL_GO)
                _exit(n == 1 ? 128 + SIGKILL : EXIT_SETUP); /* killed before it began, or the caller gave up on us */
}

/* Forks the task (task_main), with the socket it reports on until its execve. */
static void init_fork_task(Init *in, int join_fd) {
        const SandboxPrepared *p = in->p;
        int report[2];

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, report) < 0)
                init_fail(in->ctl_fd, in->dir_fd, STEP_FORK, errno);
        /* Where the task notes what its deferred rules resolved to (a task's start only). */
        in->pins = NULL;
        in->pins_size = p->unveil.n * sizeof(LandlockPin);
        if (join_fd < 0 && in->dir_fd >= 0 && p->landlock_fd >= 0 && in->pins_size > 0) {
                in->pins = mmap(NULL, in->pins_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
                if (in->pins == MAP_FAILED)
                        init_fail(in->ctl_fd, in->dir_fd, STEP_FORK, errno);
        }

        in->task = fork();
        if (in->task < 0)
                init_fail(in->ctl_fd, in->dir_fd, STEP_FORK, errno);
        if (in->task == 0) {
                (void) close(report[0]);
                (void) close(in->ctl_fd);
                task_main(in->s, p, report[1], in->pins);
        }
        (void) close(report[1]);
        in->report_fd = report[0];
}

/* The task's reports until its execve: a failed step, the supervisor filter's listener, and EOF
 * once the execve closed its end. */
static void init_read_reports(Init *in, short revents) {
        Supervisor *sv = &in->sv;
        while (in->report_fd >= 0 && (revents & (POLLIN | POLLHUP))) {
                TaskReport m;
                union {
                        struct cmsghdr h;
                        char buf[CMSG_SPACE(sizeof(int))];
                } cm;
                struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
                                     .msg_controllen = sizeof(cm.buf) };
                ssize_t n = recvmsg(in->report_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        break; /* EAGAIN: all read */
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                if (n == sizeof(m) && m.step == TASK_REPORT_LISTENER && c && c->cmsg_type == SCM_RIGHTS) {
                        memcpy(&sv->notify_fd, CMSG_DATA(c), sizeof(int));
                        sv->task_ns_pid = m.index;
                        /* The handover process is done: reap it now, so that the
                         * narrowing check finds the program alone beneath us. */
                        if (m.err_no > 0)
                                (void) waitpid(m.err_no, NULL, __WALL);
                        /* Until now only our own code ran in the task; the program's
                         * launch window opens before its first call can reach us. */
                        if (sv->window_at_launch) {
                                sv->window = true;
                        }
                        continue;
                }
                if (n == sizeof(m)) {
                        in->failure = (InitMsg) { .type = INIT_MSG_SETUP_FAILED, .step = m.step,
                                                  .err_no = m.err_no, .index = m.index };
                } else if (n == 0 && in->failure.type != INIT_MSG_SETUP_FAILED) {
                        InitMsg running = { .type = INIT_MSG_RUNNING };
                        if (in->pins) {
                                write_pins(in->dir_fd, in->pins, in->p->n_task_rules);
                                (void) munmap(in->pins, in->pins_size);
                                in->pins = NULL;
                        }
                        (void) !send(in->ctl_fd, &running, sizeof(running), MSG_NOSIGNAL);
                        in->reported = true;
                        drop_inherited_heap();
                        /* The program runs: until the init has verified its narrowing (or
                         * closed the window itself), it has the launch window's rights, and
                         * only for so long. */
                        if (sv->narrow || sv->window_at_launch) {
                                struct itimerspec its = { .it_value = { .tv_sec = in->narrow_ms / 1000,
                                                                        .tv_nsec = (long) (in->narrow_ms % 1000) * 1000000 } };
                                in->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
                                if (in->timer_fd < 0 || timerfd_settime(in->timer_fd, 0, &its, NULL) < 0)
                                        supervisor_fail(sv, errno, -1);
                        }
                }
                in->report_fd = safe_close(in->report_fd);
        }
}

/* The launch window's deadline: closed, or the program killed for not narrowing in time. */
static void init_on_timer(Init *in, short revents) {
        Supervisor *sv = &in->sv;
        if ((revents & POLLIN) && sv->watch)
                supervisor_close_window(sv); /* the program runs on, with its promises only */
        else if ((revents & POLLIN) && !sv->verified)
                supervisor_fail(sv, ETIMEDOUT, (int) in->narrow_ms);
        if (in->timer_fd >= 0 && (sv->verified || sv->failure.type || (sv->watch && !sv->window_at_launch)))
                in->timer_fd = safe_close(in->timer_fd);
}

/* The control socket. An exec session's caller cancels it (CTL_KILL) or is gone: its command and
 * everything in the command's process group go now. We are not the init of the task's pid
 * namespace, so our leaving alone would not end them (the command dies of PDEATHSIG, its children
 * would live on). Without SPAWN_DIE_WITH_PARENT a closed control socket only means the daemon
 * restarts: we keep supervising (not watched); the exit record tells it the outcome later. */
static void init_on_ctl(Init *in, short revents) {
        if (!(revents & (POLLIN | POLLHUP | POLLERR)))
                return;
        char c = 0;
        bool kill_only = exec_session && (revents & POLLIN) && recv(in->ctl_fd, &c, 1, MSG_DONTWAIT) == 1 &&
                         c == CTL_KILL;
        if (exec_session && kill(-in->task, SIGKILL) < 0)
                (void) kill(in->task, SIGKILL);
        if (!kill_only)
                _exit(137); /* the parent is gone; PID 1 leaving kills the namespace */
        in->watch_ctl = false; /* reap the command below and report its end */
}

/* Signals forwarded, children reaped: done once the task is. */
static void init_reap(Init *in, short revents) {
        Supervisor *sv = &in->sv;
        if (sv->task_exited) {
                /* reaped while the narrowing check had it traced */
                in->task_status = sv->task_status;
                in->task_done = true;
        }
        if ((revents & POLLIN) || sv->reap) {
                struct signalfd_siginfo si;
                sv->reap = false;
                while (read(in->sfd, &si, sizeof(si)) == sizeof(si))
                        if (si.ssi_signo != SIGCHLD)
                                supervisor_forward_signal(sv, (int) si.ssi_signo);
                for (;;) {
                        int st;
                        pid_t w = waitpid(-1, &st, WNOHANG);
                        if (w <= 0)
                                break;
                        if (w == in->task) {
                                in->task_status = st;
                                in->task_done = true;
                        }
                }
        }
}

/* Supervises the task until it ends: its reports, the supervisor filter's notifications, the
 * launch window's deadline, the control socket, signals and children. */
static void init_supervise(Init *in) {
        Supervisor *sv = &in->sv;

        in->sv = (Supervisor) {
                .self = getpid(),
                .task = in->task,
                .notify_fd = -1,
                .proc_fd = in->proc_fd,
                .sfd = in->sfd,
                .watch = in->p->watch,
                .promises = in->s->promises,
                .window_at_launch = in->p->watch && (in->p->supervise & SUPERVISE_CONFIRM),
                .note_fd = in->ctl_fd,
        };
        if (in->p->narrow_fd >= 0 && supervisor_expect_narrow(sv, &in->p->narrow_prog) < 0)
                supervisor_fail(sv, E2BIG, -1);
        in->narrow_ms = in->s->narrow_timeout_ms ? in->s->narrow_timeout_ms : SANDBOX_NARROW_TIMEOUT_MS;
        in->watch_ctl = in->flags & SPAWN_DIE_WITH_PARENT;
        in->timer_fd = -1;

        while (!in->task_done) {
                struct pollfd pfd[5] = {
                        { .fd = in->sfd, .events = POLLIN },
                        { .fd = in->report_fd, .events = POLLIN },
                        { .fd = sv->notify_fd, .events = POLLIN },
                        { .fd = in->watch_ctl ? in->ctl_fd : -1, .events = exec_session ? POLLIN : 0 },
                        { .fd = in->timer_fd, .events = POLLIN },
                };
                if (!sv->reap && poll(pfd, ELEMENTSOF(pfd), -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        _exit(EXIT_SETUP);
                }

                if (pfd[2].revents & POLLIN)
                        supervisor_handle(sv);
                else if (pfd[2].revents & (POLLHUP | POLLERR))
                        sv->notify_fd = safe_close(sv->notify_fd); /* no process uses the filter any more */
                init_read_reports(in, pfd[1].revents);
                init_on_timer(in, pfd[4].revents);
                init_on_ctl(in, pfd[3].revents);
                init_reap(in, pfd[0].revents);
        }
}

/* Reports how the task ended, on the control socket and in the exit record, and exits. */
_noreturn_ static void init_finish(Init *in) {
        /* A failure report may still sit in the socket if the task died before we read it. */
        if (in->report_fd >= 0 && !in->reported) {
                TaskReport m;
                if (recv(in->report_fd, &m, sizeof(m), MSG_DONTWAIT) == sizeof(m) && m.step != TASK_REPORT_LISTENER)
                        in->failure = (InitMsg) { .type = INIT_MSG_SETUP_FAILED, .step = m.step, .err_no = m.err_no,
                                                  .index = m.index };
        }
        /* We killed it: say why, whatever it died of. */
        if (in->sv.failure.type == INIT_MSG_SETUP_FAILED)
                in->failure = in->sv.failure;
        if (in->failure.type == INIT_MSG_SETUP_FAILED) {
                SandboxResult res;
                sandbox_result_from_msg(&in->failure, &res);
                init_report_and_exit(in->ctl_fd, in->dir_fd, &in->failure, sandbox_result_exit_code(&res));
        }
        InitMsg done = { .type = INIT_MSG_EXITED, .status = in->task_status, .oom_kills = init_oom_kills() };
        init_report_and_exit(in->ctl_fd, in->dir_fd, &done, init_exit_code(in->task_status));
}

/* PID 1 of the sandbox (an exec session's supervisor with join_fd): its setup, the task, its
 * supervision, its report. Every failing step ends in init_fail(). */
_noreturn_ void init_main(const SandboxSpec *s, const SandboxPrepared *p, unsigned flags, int ctl_fd,
                          int netns_fd, int dir_fd, int join_fd) {
        Init in = { .s = s, .p = p, .flags = flags, .ctl_fd = ctl_fd, .dir_fd = dir_fd, .proc_fd = -1 };

        (void) prctl(PR_SET_NAME, join_fd >= 0 ? "sandbox-exec" : "sandbox-init", 0, 0, 0);
        hide_cmdline(join_fd >= 0 ? "sandbox-exec" : "sandbox-init");
        if (flags & SPAWN_DIE_WITH_PARENT)
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        init_close_inherited(&in, netns_fd, join_fd);
        if (join_fd >= 0)
                init_join_task(&in, join_fd);
        else
                init_setup(&in, netns_fd);
        init_signals(&in);
        if (in.proc_fd < 0)
                in.proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (flags & SPAWN_HOLD)
                init_wait_go(&in);
        init_fork_task(&in, join_fd);
        init_supervise(&in);
        init_finish(&in);
}
