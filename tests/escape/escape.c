/* SPDX-License-Identifier: MIT */
/* tests/escape/escape.c: the attacker inside the sandbox, for tests/escape/test-escape.sh.
 *
 *   escape CATEGORY...    runs every attempt of those categories (fs, priv, kernel, exec,
 *                         net, proc); "all" is every one
 *   escape euid           prints its effective uid (the setuid copy's check)
 *
 * Each attempt is a real operation a hostile task would make to reach something its rules
 * deny; it prints one line
 *
 *   CATEGORY NAME blocked ERRNO-NAME      the operation failed (the errno says who refused)
 *   CATEGORY NAME escaped WHAT            the operation succeeded: WHAT it got
 *
 * and the driver decides (a documented limit is printed as "limit" there). The targets come
 * from the environment, set by the driver: ESC_SECRET (a file outside every unveil rule, mode
 * 0644: only the sandbox keeps it from us), ESC_OUTSIDE (a directory outside, mode 0777),
 * ESC_WORK (our rwc directory), ESC_HOST_SOCK (a host unix socket under /run, mode 0777),
 * ESC_DAEMON_SOCK (sandboxd's socket), ESC_PORT_DENY (a loopback TCP port we may not use),
 * ESC_HOST_PID (a host process of our uid), ESC_ABSTRACT (a host abstract unix socket).
 * A missing variable is an attempt that cannot run: "error", which the driver fails.
 * Built static and without sanitizers: it runs inside the sandbox. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/netlink.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <grp.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_fsopen
#define SYS_fsopen 430
#define SYS_open_tree 428
#endif
#ifndef SYS_memfd_secret
#define SYS_memfd_secret 447
#endif
#define X32_SYSCALL_BIT 0x40000000

static const char *cat = "";
static int n_error;

static const char *ename(int e) {
        const char *n = strerrorname_np(e);
        return n ? n : "E?";
}

/* r < 0: blocked with errno; r >= 0: escaped, what says what it got. */
static void report(const char *name, long r, int e, const char *what) {
        if (r < 0)
                printf("%s %s blocked %s\n", cat, name, ename(e));
        else
                printf("%s %s escaped %s\n", cat, name, what && *what ? what : "success");
        fflush(stdout);
}

/* An attempt that could not be set up: neither blocked nor escaped. */
static void cannot(const char *name, const char *why) {
        printf("%s %s error %s\n", cat, name, why);
        fflush(stdout);
        n_error++;
}

#define TRY(name, expr)                                                                                                \
        do {                                                                                                           \
                errno = 0;                                                                                             \
                long r_ = (long) (expr);                                                                               \
                report(name, r_, errno, NULL);                                                                         \
        } while (0)

/* A file descriptor that opened is an escape; close it. */
#define TRY_FD(name, expr)                                                                                             \
        do {                                                                                                           \
                errno = 0;                                                                                             \
                long r_ = (long) (expr);                                                                               \
                int e_ = errno;                                                                                        \
                if (r_ >= 0)                                                                                           \
                        close((int) r_);                                                                               \
                report(name, r_, e_, "fd");                                                                            \
        } while (0)

static const char *env(const char *name) {
        const char *v = getenv(name);
        return v && *v ? v : NULL;
}

static char *path2(const char *dir, const char *leaf) {
        static char buf[8][4096];
        static int i;
        char *b = buf[i++ % 8];
        snprintf(b, 4096, "%s/%s", dir, leaf);
        return b;
}

/* Runs fn in a child (so an attempt that changes us, or kills us, does not end the run):
 * its exit code is 0 for success or the errno; a signal is reported as blocked by it. */
static void in_child(const char *name, int (*fn)(void *), void *arg) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
                cannot(name, "fork failed");
                return;
        }
        if (pid == 0) {
                int rc = fn(arg);
                _exit(rc);
        }
        int st;
        if (waitpid(pid, &st, 0) < 0) {
                cannot(name, "waitpid failed");
                return;
        }
        if (WIFSIGNALED(st))
                printf("%s %s blocked SIG%s\n", cat, name, sigabbrev_np(WTERMSIG(st)) ?: "?");
        else if (WEXITSTATUS(st) == 0)
                printf("%s %s escaped success\n", cat, name);
        else if (WEXITSTATUS(st) == 255)
                cannot(name, "setup failed in the child");
        else
                printf("%s %s blocked %s\n", cat, name, ename(WEXITSTATUS(st)));
        fflush(stdout);
}

#define RET_ERRNO(expr) return (expr) < 0 ? (errno ?: 255) : 0

/* ---------------------------------------------------------------------------------------- */
/* filesystem                                                                                 */

static void read_contains(const char *name, const char *path, const char *needle) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                report(name, -1, errno, NULL);
                return;
        }
        char buf[8192];
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        int e = errno;
        close(fd);
        if (n < 0) {
                report(name, -1, e, NULL);
                return;
        }
        buf[n] = 0;
        for (ssize_t i = 0; i < n; i++)
                if (!buf[i])
                        buf[i] = ' ';
        if (needle && !strstr(buf, needle)) {
                printf("%s %s blocked read-without-%s\n", cat, name, needle);
                fflush(stdout);
                return;
        }
        report(name, 0, 0, n ? "read" : "empty-read");
}

static void fs(void) {
        cat = "filesystem";
        const char *secret = env("ESC_SECRET"), *out = env("ESC_OUTSIDE"), *work = env("ESC_WORK");
        if (!secret || !out || !work) {
                cannot("setup", "ESC_SECRET, ESC_OUTSIDE or ESC_WORK unset");
                return;
        }
        char buf[4096];
        read_contains("read-secret", secret, "s3cret");
        TRY_FD("write-secret", open(secret, O_WRONLY | O_CLOEXEC));
        TRY("truncate-secret", truncate(secret, 0));
        TRY_FD("create-outside", open(path2(out, "new"), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
        TRY("mkdir-outside", mkdir(path2(out, "d"), 0755));
        TRY("mkfifo-outside", mkfifo(path2(out, "fifo"), 0644));
        TRY("symlink-outside", symlink("/", path2(out, "l")));
        TRY("unlink-outside", unlink(path2(out, "victim")));
        TRY("rename-out-of-work", rename(path2(out, "victim"), path2(work, "stolen")));
        TRY("link-secret-into-work", link(secret, path2(work, "hard")));
        TRY("chmod-secret", chmod(secret, 0666));
        TRY("chown-secret", chown(secret, getuid(), getgid()));
        TRY("utimes-secret", utimensat(AT_FDCWD, secret, NULL, 0));
        snprintf(buf, sizeof(buf), "%s/../%s", work, secret);
        read_contains("dotdot-from-work", buf, "s3cret");
        (void) unlink(path2(work, "sym"));
        if (symlink(secret, path2(work, "sym")) < 0)
                cannot("symlink-in-work-to-secret", "symlink in ESC_WORK failed");
        else
                read_contains("symlink-in-work-to-secret", path2(work, "sym"), "s3cret");
        snprintf(buf, sizeof(buf), "/proc/self/root%s", secret);
        read_contains("proc-self-root", buf, "s3cret");
        snprintf(buf, sizeof(buf), "/proc/1/root%s", secret);
        read_contains("proc-1-root", buf, "s3cret");
        read_contains("proc-1-cwd-secret", "/proc/1/cwd/etc/shadow", NULL);
        read_contains("etc-shadow", "/etc/shadow", NULL);
        read_contains("root-home", "/root/.bashrc", NULL);
        TRY_FD("opendir-root-home", open("/root", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        /* open_by_handle_at ignores the path: the classic container escape (shocker) */
        struct {
                struct file_handle h;
                unsigned char b[128];
        } fh = { .h.handle_bytes = 128 };
        int mnt = -1;
        if (name_to_handle_at(AT_FDCWD, work, &fh.h, &mnt, 0) < 0)
                report("name-to-handle", -1, errno, NULL);
        else
                TRY_FD("open-by-handle", open_by_handle_at(AT_FDCWD, &fh.h, O_RDONLY));
        TRY("mknod-char-in-work", mknod(path2(work, "mem"), S_IFCHR | 0666, makedev(1, 1)));
        read_contains("dev-mem", "/dev/mem", NULL);
        read_contains("dev-kmsg", "/dev/kmsg", NULL);
        TRY_FD("dev-port", open("/dev/port", O_RDONLY | O_CLOEXEC));
        TRY_FD("dev-sda", open("/dev/sda", O_RDONLY | O_CLOEXEC));
        TRY_FD("dev-vda", open("/dev/vda", O_RDONLY | O_CLOEXEC));
        TRY_FD("dev-loop-control", open("/dev/loop-control", O_RDWR | O_CLOEXEC));
        TRY_FD("dev-fuse", open("/dev/fuse", O_RDWR | O_CLOEXEC));
        TRY_FD("dev-net-tun", open("/dev/net/tun", O_RDWR | O_CLOEXEC));
        TRY_FD("dev-kvm", open("/dev/kvm", O_RDWR | O_CLOEXEC));
        read_contains("proc-kcore", "/proc/kcore", NULL);
        TRY_FD("proc-sysrq-trigger", open("/proc/sysrq-trigger", O_WRONLY | O_CLOEXEC));
        TRY_FD("proc-sys-write", open("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC));
        TRY_FD("proc-sys-core-pattern", open("/proc/sys/kernel/core_pattern", O_WRONLY | O_CLOEXEC));
        TRY_FD("sys-kernel-write", open("/sys/kernel/uevent_helper", O_WRONLY | O_CLOEXEC));
        TRY_FD("cgroup-procs-root", open("/sys/fs/cgroup/cgroup.procs", O_WRONLY | O_CLOEXEC));
        TRY_FD("cgroup-release-agent", open("/sys/fs/cgroup/release_agent", O_WRONLY | O_CLOEXEC));
        TRY_FD("run-dir", open("/run/systemd/private", O_RDONLY | O_CLOEXEC));
        TRY_FD("var-log", open("/var/log/syslog", O_RDONLY | O_CLOEXEC));
        TRY_FD("etc-write", open("/etc/hosts", O_WRONLY | O_CLOEXEC));
        TRY_FD("usr-write", open("/usr/bin/true", O_WRONLY | O_CLOEXEC));
}

/* ---------------------------------------------------------------------------------------- */
/* privileges                                                                                 */

static int c_setuid0(void *a) { RET_ERRNO(setuid(0)); }
static int c_setresuid0(void *a) { RET_ERRNO(setresuid(0, 0, 0)); }
static int c_setgid0(void *a) { RET_ERRNO(setgid(0)); }
static int c_setgroups(void *a) {
        gid_t g = 0;
        RET_ERRNO(setgroups(1, &g));
}
static int c_capset(void *a) {
        struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
        struct __user_cap_data_struct d[2] = { { ~0u, ~0u, ~0u }, { ~0u, ~0u, ~0u } };
        RET_ERRNO(syscall(SYS_capset, &h, d));
}
static int c_ambient(void *a) { RET_ERRNO(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN, 0, 0)); }
static int c_securebits(void *a) { RET_ERRNO(prctl(PR_SET_SECUREBITS, 0, 0, 0, 0)); }
static int c_chroot(void *a) { RET_ERRNO(chroot("/")); }
static int c_setuid_exec(void *a) {
        const char *p = a;
        int pfd[2];
        if (pipe(pfd) < 0)
                return 255;
        pid_t pid = fork();
        if (pid == 0) {
                dup2(pfd[1], 1);
                execl(p, p, "euid", (char *) NULL);
                _exit(errno);
        }
        close(pfd[1]);
        char b[32] = "";
        ssize_t n = read(pfd[0], b, sizeof(b) - 1);
        int st;
        waitpid(pid, &st, 0);
        if (n > 0 && atoi(b) == 0 && b[0] == '0')
                return 0;
        if (n > 0)
                return EPERM; /* ran, not as root: the kernel ignored the setuid bit */
        return WIFEXITED(st) && WEXITSTATUS(st) ? WEXITSTATUS(st) : EPERM;
}

/* what we hold, asked of the kernel (no /proc: a strict policy does not unveil it) */
static void caps_now(void) {
        struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
        struct __user_cap_data_struct d[2];
        char what[96];
        if (syscall(SYS_capget, &h, d) < 0) {
                report("capabilities-held", -1, errno, NULL); /* the filter refuses even the question */
                d[0] = d[1] = (struct __user_cap_data_struct) { 0 };
        } else {
        snprintf(what, sizeof(what), "CapEff=%x%08x,CapPrm=%x%08x", d[1].effective, d[0].effective, d[1].permitted,
                 d[0].permitted);
                bool held = d[0].effective || d[1].effective || d[0].permitted || d[1].permitted;
                report("capabilities-held", held ? 0 : -1, EPERM, what);
        }
        errno = 0;
        int nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
        report("no-new-privs-off", nnp == 0 ? 0 : -1, nnp < 0 ? errno : EPERM, "NoNewPrivs=0");
        int n = 0;
        for (int c = 0; c <= 63; c++)
                if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
                        n++;
        snprintf(what, sizeof(what), "%d-capabilities-in-the-bounding-set", n);
        report("bounding-set-kept", n ? 0 : -1, EPERM, what);
}

static void priv(void) {
        cat = "privileges";
        report("running-as-root", geteuid() == 0 ? 0 : -1, EPERM, "euid 0");
        caps_now();
        in_child("setuid-0", c_setuid0, NULL);
        in_child("setresuid-0", c_setresuid0, NULL);
        in_child("setgid-0", c_setgid0, NULL);
        in_child("setgroups-0", c_setgroups, NULL);
        in_child("capset-all", c_capset, NULL);
        in_child("ambient-raise", c_ambient, NULL);
        in_child("securebits", c_securebits, NULL);
        in_child("chroot", c_chroot, NULL);
        const char *su = env("ESC_SETUID");
        if (su)
                in_child("setuid-root-binary", c_setuid_exec, (void *) su);
        else
                cannot("setuid-root-binary", "ESC_SETUID unset");
        TRY("prctl-no-new-privs-clear", prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0 && prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0 ? 0 : -1);
}

/* ---------------------------------------------------------------------------------------- */
/* kernel surface                                                                             */

static int c_unshare(void *a) { RET_ERRNO(unshare((int) (long) a)); }
static int c_userns_nft(void *a) {
        /* item 7: a user namespace, then a network namespace with CAP_NET_ADMIN in it, and
         * nf_tables' netlink socket */
        if (unshare(CLONE_NEWUSER) < 0)
                return errno;
        if (unshare(CLONE_NEWNET) < 0)
                return errno;
        int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
        return s < 0 ? errno : 0;
}
static int c_clone_newuser(void *a) {
        pid_t p = (pid_t) syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
        if (p == 0)
                _exit(0);
        if (p < 0)
                return errno;
        waitpid(p, NULL, 0);
        return 0;
}
static int c_mount_tmpfs(void *a) { RET_ERRNO(mount("none", "/tmp", "tmpfs", 0, NULL)); }
static int c_umount_proc(void *a) { RET_ERRNO(umount2("/proc", MNT_DETACH)); }
static int c_pivot(void *a) { RET_ERRNO(syscall(SYS_pivot_root, "/", "/")); }
static int c_personality(void *a) {
        if (personality(READ_IMPLIES_EXEC | ADDR_NO_RANDOMIZE) < 0)
                return errno;
        return (personality(0xffffffff) & READ_IMPLIES_EXEC) ? 0 : EPERM;
}

static int c_x32(void *a) {
        /* a syscall the filter refuses (unshare) in the x32 ABI */
        RET_ERRNO(syscall(X32_SYSCALL_BIT | SYS_unshare, CLONE_NEWUSER));
}
static int c_int80(void *a) {
        long r;
        /* i386 unshare is 310 */
        __asm__ volatile("int $0x80" : "=a"(r) : "a"(310), "b"(CLONE_NEWUSER) : "memory");
        return r < 0 ? (int) -r : 0;
}

static void kernel(void) {
        cat = "kernel";
        in_child("unshare-user", c_unshare, (void *) (long) CLONE_NEWUSER);
        in_child("userns-netns-nftables", c_userns_nft, NULL);
        in_child("clone-newuser", c_clone_newuser, NULL);
        in_child("unshare-net", c_unshare, (void *) (long) CLONE_NEWNET);
        in_child("unshare-mount", c_unshare, (void *) (long) CLONE_NEWNS);
        in_child("unshare-pid", c_unshare, (void *) (long) CLONE_NEWPID);
        in_child("unshare-cgroup", c_unshare, (void *) (long) CLONE_NEWCGROUP);
        in_child("mount-tmpfs", c_mount_tmpfs, NULL);
        in_child("umount-proc", c_umount_proc, NULL);
        in_child("pivot-root", c_pivot, NULL);
        TRY_FD("fsopen-tmpfs", syscall(SYS_fsopen, "tmpfs", 0));
        TRY_FD("open-tree-clone", syscall(SYS_open_tree, AT_FDCWD, "/", 1 /* OPEN_TREE_CLONE */));
        union bpf_attr ba = { 0 };
        ba.map_type = BPF_MAP_TYPE_ARRAY;
        ba.key_size = 4;
        ba.value_size = 4;
        ba.max_entries = 1;
        TRY_FD("bpf-map-create", syscall(SYS_bpf, BPF_MAP_CREATE, &ba, sizeof(ba)));
        struct perf_event_attr pa = { .type = PERF_TYPE_SOFTWARE, .size = sizeof(pa), .config = PERF_COUNT_SW_CPU_CLOCK,
                                      .exclude_kernel = 1, .exclude_hv = 1 };
        TRY_FD("perf-event-open", syscall(SYS_perf_event_open, &pa, 0, -1, -1, 0));
        TRY_FD("userfaultfd", syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY));
        struct io_uring_params up = { 0 };
        TRY_FD("io-uring-setup", syscall(SYS_io_uring_setup, 4, &up));
        TRY("keyctl-join-session", syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "escape"));
        TRY("add-key", syscall(SYS_add_key, "user", "escape", "x", 1, KEY_SPEC_PROCESS_KEYRING));
        TRY("request-key", syscall(SYS_request_key, "user", "escape", NULL, KEY_SPEC_PROCESS_KEYRING));
        TRY("kexec-load", syscall(SYS_kexec_load, 0, 0, NULL, 0));
        TRY("init-module", syscall(SYS_init_module, "", 0, ""));
        TRY("finit-module", syscall(SYS_finit_module, 0, "", 0));
        TRY("delete-module", syscall(SYS_delete_module, "loop", O_NONBLOCK));
        TRY("reboot", syscall(SYS_reboot, 0xfee1dead, 672274793, 0x4321fedc, NULL)); /* RESTART2 w/o arg: EINVAL */
        TRY("swapon", syscall(SYS_swapon, "/nonexistent", 0));
        TRY("acct", syscall(SYS_acct, "/tmp/acct"));
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        TRY("clock-settime", clock_settime(CLOCK_REALTIME, &now));
        TRY("syslog-read", syscall(SYS_syslog, 3 /* READ_ALL */, (char[64]){ 0 }, 64));
        TRY("sethostname", sethostname("escaped", 7));
        TRY("iopl", syscall(SYS_iopl, 3));
        TRY("ioperm", syscall(SYS_ioperm, 0x80, 1, 1));
        TRY("quotactl", syscall(SYS_quotactl, 0, "/", 0, NULL) >= 0 ? 0 : -1);
        TRY("modify-ldt", syscall(SYS_modify_ldt, 1, (char[16]){ 0 }, 16));
        in_child("personality-read-implies-exec", c_personality, NULL);
        TRY_FD("fanotify-init", syscall(SYS_fanotify_init, 0, O_RDONLY));
        TRY_FD("packet-socket", socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
        TRY_FD("raw-ip-socket", socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW));
        TRY_FD("af-key-socket", socket(15 /* AF_KEY */, SOCK_RAW | SOCK_CLOEXEC, 2));
        TRY_FD("vsock-socket", socket(40 /* AF_VSOCK */, SOCK_STREAM | SOCK_CLOEXEC, 0));
        TRY("ioctl-tiocsti", ioctl(0, TIOCSTI, "x") < 0 && errno == ENOTTY ? (errno = ENOTTY, -1) : ioctl(0, TIOCSTI, "x"));
        /* the seccomp filter's arch check: an x32 and an i386 system call */
        in_child("x32-getpid", c_x32, NULL);
        in_child("int80-setuid", c_int80, NULL);
}

/* ---------------------------------------------------------------------------------------- */
/* exec-once: the task's own launch was its one exec; without "exec" no other                */

static int c_execve(void *a) {
        execl("/bin/true", "true", (char *) NULL);
        return errno ?: 255;
}
static int c_execveat(void *a) {
        int fd = open("/bin/true", O_PATH | O_CLOEXEC);
        if (fd < 0)
                return 255;
        char *argv[] = { "true", NULL };
        syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
        return errno ?: 255;
}
static int c_fexecve_memfd(void *a) {
        int in = open("/bin/true", O_RDONLY | O_CLOEXEC);
        int m = memfd_create("x", MFD_CLOEXEC);
        if (in < 0 || m < 0)
                return m < 0 ? errno : 255;
        char buf[65536];
        ssize_t n;
        while ((n = read(in, buf, sizeof(buf))) > 0)
                if (write(m, buf, (size_t) n) != n)
                        return 255;
        char *argv[] = { "true", NULL };
        fexecve(m, argv, environ);
        return errno ?: 255;
}
static int c_proc_self_exe(void *a) {
        execl("/proc/self/exe", "escape", "euid", (char *) NULL);
        return errno ?: 255;
}
static int c_script(void *a) {
        const char *p = path2(a, "script.sh");
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
        if (fd < 0 || write(fd, "#!/bin/sh\nexit 0\n", 17) != 17)
                return 255;
        close(fd);
        execl(p, p, (char *) NULL);
        return errno ?: 255;
}
static int c_vfork_exec(void *a) {
        pid_t p = vfork();
        if (p == 0) {
                execl("/bin/true", "true", (char *) NULL);
                _exit(errno ?: 255);
        }
        int st;
        if (p < 0 || waitpid(p, &st, 0) < 0)
                return errno ?: 255;
        return WIFEXITED(st) ? WEXITSTATUS(st) : EPERM;
}
static int c_thread_exec(void *a) {
        /* from a second thread of the process (CLONE_THREAD): the filter is process-wide */
        return c_execve(a);
}
static int c_mmap_exec(void *a) {
        void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? errno : 0;
}
static int c_mprotect_exec(void *a) {
        void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return 255;
        RET_ERRNO(mprotect(p, 4096, PROT_READ | PROT_EXEC));
}
static int c_file_exec_map(void *a) {
        int fd = open("/bin/true", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 255;
        void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
        return p == MAP_FAILED ? errno : 0;
}
static int c_stack_exec(void *a) {
        /* the stack made executable after the start */
        char here;
        uintptr_t pg = (uintptr_t) &here & ~(uintptr_t) 4095;
        RET_ERRNO(mprotect((void *) pg, 4096, PROT_READ | PROT_WRITE | PROT_EXEC));
}

static void exec_once(void) {
        cat = "exec-once";
        const char *work = env("ESC_WORK");
        in_child("execve", c_execve, NULL);
        if (!work)
                cannot("execveat-empty-path", "ESC_WORK unset");
        in_child("execveat-empty-path", c_execveat, NULL);
        in_child("fexecve-memfd", c_fexecve_memfd, NULL);
        in_child("proc-self-exe", c_proc_self_exe, NULL);
        if (work)
                in_child("script-in-work", c_script, (void *) work);
        in_child("vfork-exec", c_vfork_exec, NULL);
        in_child("thread-exec", c_thread_exec, NULL);
        in_child("mmap-rwx", c_mmap_exec, NULL);
        in_child("mprotect-exec", c_mprotect_exec, NULL);
        in_child("mmap-file-exec", c_file_exec_map, NULL);
        in_child("stack-mprotect-exec", c_stack_exec, NULL);
}

/* ---------------------------------------------------------------------------------------- */
/* network                                                                                    */

static int tcp_to(int proto, int port, int fastopen) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, proto);
        if (s < 0)
                return errno;
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int r = fastopen ? (int) sendto(s, "x", 1, MSG_FASTOPEN, (struct sockaddr *) &sa, sizeof(sa))
                         : connect(s, (struct sockaddr *) &sa, sizeof(sa));
        int e = errno;
        close(s);
        return r < 0 ? e : 0;
}

static int tcp_bind(int proto, int port, int do_listen) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, proto);
        if (s < 0)
                return errno;
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int r = port >= 0 ? bind(s, (struct sockaddr *) &sa, sizeof(sa)) : 0;
        if (r == 0 && do_listen)
                r = listen(s, 1);
        int e = errno;
        close(s);
        return r < 0 ? e : 0;
}

static void rep_rc(const char *name, int rc) {
        report(name, rc ? -1 : 0, rc, NULL);
}

static int unix_connect(const char *path, int abstract) {
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0)
                return errno;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t n = strlen(path);
        if (n + 2 > sizeof(sa.sun_path))
                return EINVAL;
        memcpy(sa.sun_path + (abstract ? 1 : 0), path, n);
        socklen_t len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n + (abstract ? 1 : 0));
        int r = connect(s, (struct sockaddr *) &sa, len);
        int e = errno;
        close(s);
        return r < 0 ? e : 0;
}

static void net(void) {
        cat = "network";
        const char *deny = env("ESC_PORT_DENY"), *hs = env("ESC_HOST_SOCK"), *ds = env("ESC_DAEMON_SOCK");
        const char *ab = env("ESC_ABSTRACT");
        if (deny) {
                int port = atoi(deny);
                rep_rc("tcp-connect-denied-port", tcp_to(0, port, 0));
                rep_rc("mptcp-connect-denied-port", tcp_to(IPPROTO_MPTCP, port, 0));
                rep_rc("tcp-fastopen-sendto-denied-port", tcp_to(0, port, 1));
                rep_rc("tcp-bind-denied-port", tcp_bind(0, port + 1, 0));
                rep_rc("mptcp-bind-denied-port", tcp_bind(IPPROTO_MPTCP, port + 1, 0));
                rep_rc("listen-without-bind", tcp_bind(0, -1, 1));
                rep_rc("mptcp-listen-without-bind", tcp_bind(IPPROTO_MPTCP, -1, 1));
                rep_rc("bind-port-0-listen", tcp_bind(0, 0, 1));
                int s6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
                struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t) port) };
                inet_pton(AF_INET6, "::ffff:127.0.0.1", &a6.sin6_addr);
                if (s6 < 0)
                        rep_rc("tcp6-v4mapped-denied-port", errno);
                else {
                        int r = connect(s6, (struct sockaddr *) &a6, sizeof(a6));
                        rep_rc("tcp6-v4mapped-denied-port", r < 0 ? errno : 0);
                        close(s6);
                }
                int su = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
                if (su < 0)
                        rep_rc("udp-sendto-denied-port", errno);
                else {
                        ssize_t r = sendto(su, "x", 1, 0, (struct sockaddr *) &sa, sizeof(sa));
                        rep_rc("udp-sendto-denied-port", r < 0 ? errno : 0);
                        close(su);
                }
                rep_rc("sctp-connect-denied-port", tcp_to(IPPROTO_SCTP, port, 0));
        } else
                cannot("tcp-connect-denied-port", "ESC_PORT_DENY unset");
        if (hs)
                rep_rc("host-unix-socket-under-run", unix_connect(hs, 0));
        else
                cannot("host-unix-socket-under-run", "ESC_HOST_SOCK unset");
        const char *hs2 = env("ESC_HOST_SOCK2");
        if (hs2)
                rep_rc("host-unix-socket-outside-run", unix_connect(hs2, 0));
        else
                cannot("host-unix-socket-outside-run", "ESC_HOST_SOCK2 unset");
        if (ds)
                rep_rc("sandboxd-socket", unix_connect(ds, 0));
        else
                cannot("sandboxd-socket", "ESC_DAEMON_SOCK unset");
        rep_rc("dbus-system-socket", unix_connect("/run/dbus/system_bus_socket", 0));
        rep_rc("var-run-host-socket", unix_connect(hs ? hs : "/var/run/x", 0) == 0 ? 0 : unix_connect("/var/run/dbus/system_bus_socket", 0));
        if (ab)
                rep_rc("host-abstract-unix-socket", unix_connect(ab, 1));
        else
                cannot("host-abstract-unix-socket", "ESC_ABSTRACT unset");
}

/* ---------------------------------------------------------------------------------------- */
/* signals and processes                                                                      */

static int c_kill_init(void *a) {
        if (kill(1, SIGKILL) < 0)
                return errno;
        usleep(50000);
        return EPERM; /* still here: the init ignored it (a pid namespace's init) */
}
static int c_ptrace_init(void *a) {
        if (ptrace(PTRACE_ATTACH, 1, NULL, NULL) < 0)
                return errno;
        /* got it (bubblewrap): let it go again, or the init stays stopped and never reaps us */
        usleep(20000);
        (void) ptrace(PTRACE_DETACH, 1, NULL, (void *) (long) SIGCONT);
        (void) kill(1, SIGCONT);
        return 0;
}
static int c_vm_readv(void *a) {
        char buf[16];
        struct iovec l = { buf, sizeof(buf) }, r = { (void *) 0x400000, sizeof(buf) };
        RET_ERRNO(process_vm_readv(1, &l, 1, &r, 1, 0));
}
static int c_nice(void *a) {
        errno = 0;
        int r = nice(-5);
        return r == -1 && errno ? errno : (getpriority(PRIO_PROCESS, 0) < 0 ? 0 : EPERM);
}
static int c_rlimit(void *a) {
        struct rlimit rl;
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_max == RLIM_INFINITY)
                return 0;
        rl.rlim_max += 1;
        RET_ERRNO(setrlimit(RLIMIT_NOFILE, &rl));
}
static int c_fifo(void *a) {
        struct sched_param sp = { .sched_priority = 1 };
        RET_ERRNO(sched_setscheduler(0, SCHED_FIFO, &sp));
}
static int c_oom(void *a) {
        int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return errno;
        RET_ERRNO(write(fd, "-1000", 5));
}

static void other_processes(void) {
        /* any process in our view that is not ours: sandboxd, another task, the host */
        int fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                report("foreign-processes-visible", -1, errno, NULL); /* not even /proc */
                return;
        }
        char buf[8192];
        int found = 0;
        char what[64] = "";
        long n;
        while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0)
                for (long o = 0; o < n;) {
                        struct {
                                unsigned long long ino;
                                long long off;
                                unsigned short reclen;
                                unsigned char type;
                                char name[];
                        } *d = (void *) (buf + o);
                        o += d->reclen;
                        int pid = atoi(d->name);
                        if (pid <= 0)
                                continue;
                        char p[64], st[4096];
                        snprintf(p, sizeof(p), "/proc/%d/status", pid);
                        int sf = open(p, O_RDONLY | O_CLOEXEC);
                        if (sf < 0)
                                continue;
                        ssize_t k = read(sf, st, sizeof(st) - 1);
                        close(sf);
                        if (k <= 0)
                                continue;
                        st[k] = 0;
                        char *u = strstr(st, "\nUid:");
                        unsigned uid = u ? (unsigned) strtoul(u + 5, NULL, 10) : 0;
                        if (uid != getuid() && pid != 1) {
                                found++;
                                snprintf(what, sizeof(what), "pid-%d-uid-%u", pid, uid);
                        }
                }
        close(fd);
        report("foreign-processes-visible", found ? 0 : -1, ESRCH, what);
}

static void procs(void) {
        cat = "processes";
        read_contains("proc-1-cmdline", "/proc/1/cmdline", "--");
        read_contains("proc-1-environ", "/proc/1/environ", NULL);
        read_contains("proc-1-maps", "/proc/1/maps", NULL);
        read_contains("proc-1-mem", "/proc/1/mem", NULL);
        TRY_FD("proc-1-fd-0", open("/proc/1/fd/0", O_RDONLY | O_CLOEXEC));
        other_processes();
        in_child("ptrace-attach-init", c_ptrace_init, NULL);
        in_child("process-vm-readv-init", c_vm_readv, NULL);
        in_child("kill-init", c_kill_init, NULL);
        int pfd = (int) syscall(SYS_pidfd_open, 1, 0);
        if (pfd < 0)
                report("pidfd-getfd-init", -1, errno, NULL);
        else {
                TRY_FD("pidfd-getfd-init", syscall(SYS_pidfd_getfd, pfd, 0, 0));
                close(pfd);
        }
        const char *hp = env("ESC_HOST_PID");
        if (hp) {
                TRY("kill-host-process", kill(atoi(hp), SIGKILL));
                TRY_FD("pidfd-open-host-process", syscall(SYS_pidfd_open, atoi(hp), 0));
                TRY("setpriority-host-process", setpriority(PRIO_PROCESS, (id_t) atoi(hp), 19));
        } else
                cannot("kill-host-process", "ESC_HOST_PID unset");
        TRY("kill-minus-1-sigcont", kill(-1, SIGCONT) == 0 ? 0 : -1);
        in_child("nice-negative", c_nice, NULL);
        in_child("raise-rlimit-hard", c_rlimit, NULL);
        in_child("sched-fifo", c_fifo, NULL);
        in_child("oom-score-adj-minus-1000", c_oom, NULL);
        struct rlimit rl = { 1 << 20, 1 << 20 };
        TRY("prlimit-init", prlimit(1, RLIMIT_NOFILE, &rl, NULL));
}

int main(int argc, char **argv) {
        if (argc == 2 && strcmp(argv[1], "euid") == 0) {
                printf("%u\n", (unsigned) geteuid());
                return 0;
        }
        if (argc < 2) {
                fprintf(stderr, "usage: escape all|fs|priv|kernel|exec|net|proc...\n");
                return 2;
        }
        for (int i = 1; i < argc; i++) {
                const char *c = argv[i];
                bool all = strcmp(c, "all") == 0;
                if (all || strcmp(c, "fs") == 0)
                        fs();
                if (all || strcmp(c, "priv") == 0)
                        priv();
                if (all || strcmp(c, "kernel") == 0)
                        kernel();
                if (all || strcmp(c, "exec") == 0)
                        exec_once();
                if (all || strcmp(c, "net") == 0)
                        net();
                if (all || strcmp(c, "proc") == 0)
                        procs();
        }
        return n_error ? 3 : 0;
}
