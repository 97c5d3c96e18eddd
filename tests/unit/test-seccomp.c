/* SPDX-License-Identifier: MIT */
/* tests/unit/test-seccomp.c: the promise compiler. Structure of the programs, and their effect:
 * each check forks a child that sets no_new_privs (no privilege needed), loads a compiled
 * filter and makes one syscall; the child's exit code is the errno it saw (0 = success).
 * The root suite (tests/root/test-promises.sh) runs the whole matrix inside the real sandbox. */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "promises.h"
#include "seccomp-program.h"
#include "tap.h"

#define B(p) PROMISE_BIT(PROMISE_##p)

typedef long (*Call)(void);

/* Runs call() in a child under the program. Returns the errno the call saw (0 if it
 * succeeded), or 1000 + N if the child was killed by signal N, or -1 on a harness failure.
 * With listener, the program is loaded with a listener that is closed at once: a notified call
 * then fails with ENOSYS, which shows what the program routes to the supervisor. */
static int under_program(const SeccompProgram *prog, bool listener, Call call) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                SeccompProgram p = seccomp_program_copy(prog);
                (void) seccomp_program_patch_pid(&p, getpid());
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                        _exit(250);
                int r = seccomp_program_load(&p, listener ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0);
                if (r < 0)
                        _exit(251);
                if (listener)
                        close(r);
                errno = 0;
                long x = call();
                syscall(SYS_exit, x < 0 ? (errno & 0xff) : 0); /* exit(2): allowed under any set */
        }
        int status;
        if (waitpid(pid, &status, 0) < 0)
                return -1;
        if (WIFSIGNALED(status))
                return 1000 + WTERMSIG(status);
        return WEXITSTATUS(status);
}

/* The same under the filter compiled for promises. */
static int under(uint64_t promises, unsigned flags, Call call) {
        SeccompProgram p = {};
        SbxError err = {};
        if (seccomp_compile_promises(promises, flags, &p, &err) < 0) {
                printf("# compile: %s\n", err.msg);
                return -1;
        }
        int r = under_program(&p, false, call);
        seccomp_program_done(&p);
        return r;
}

static char path_passwd[] = "/etc/passwd";

static long c_getpid(void) { return syscall(SYS_getpid); }
static long c_open_ro(void) { return syscall(SYS_openat, AT_FDCWD, path_passwd, O_RDONLY | O_CLOEXEC); }
static long c_open_wr(void) { return syscall(SYS_openat, AT_FDCWD, "/nonexistent-dir/x", O_WRONLY); }
static long c_open_trunc(void) { return syscall(SYS_openat, AT_FDCWD, path_passwd, O_RDONLY | O_TRUNC); }
static long c_open_dir(void) { return syscall(SYS_openat, AT_FDCWD, "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC); }
static long c_open_tmpfile(void) { return syscall(SYS_openat, AT_FDCWD, "/nonexistent-dir", O_TMPFILE | O_RDWR, 0600); }
static long c_open_creat_suid(void) { return syscall(SYS_openat, AT_FDCWD, "/nonexistent-dir/x", O_CREAT | O_WRONLY, 04755); }
static long c_open_creat(void) { return syscall(SYS_openat, AT_FDCWD, "/nonexistent-dir/x", O_CREAT | O_WRONLY, 0644); }
static long c_fstat_glibc(void) { struct stat st; return fstat(1, &st); }
static long c_stat_path(void) { struct stat st; return syscall(SYS_newfstatat, AT_FDCWD, path_passwd, &st, 0); }
static long c_clone3(void) { return syscall(SYS_clone3, NULL, 0); }
static long c_openat2(void) { return syscall(SYS_openat2, AT_FDCWD, NULL, NULL, 0); }
static long c_memfd(void) { return syscall(SYS_memfd_create, "x", 0); }
static long c_447(void) { return syscall(447, 0, 0, 0); }
static long c_999(void) { return syscall(999, 0, 0, 0); }
static long c_ptrace(void) { return syscall(SYS_ptrace, 0, 0, 0, 0); }
static long c_x32_getpid(void) { return syscall(0x40000000 | 39); }
static long c_kill_self(void) { return syscall(SYS_kill, syscall(SYS_getpid), 0); }
static long c_tgkill_self(void) { return syscall(SYS_tgkill, syscall(SYS_getpid), syscall(SYS_gettid), 0); }
static long c_tgkill_init(void) { return syscall(SYS_tgkill, 1, 1, 0); }
static long c_kill_init(void) { return syscall(SYS_kill, 1, 0); }
static long c_kill_self_hi(void) { return syscall(SYS_kill, (1L << 32) | syscall(SYS_getpid), 0); }
static long c_mmap_exec(void) {
        void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? -1 : 0;
}
static long c_mmap_rw(void) {
        void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? -1 : 0;
}
static long c_fcntl_getfl(void) { return syscall(SYS_fcntl, 1, F_GETFL); }
static long c_fcntl_setown(void) { return syscall(SYS_fcntl, 1, F_SETOWN, 0); }
static long c_fcntl_setlk(void) { return syscall(SYS_fcntl, -1, F_SETLK, NULL); }
static long c_ioctl_tiocsti(void) { return syscall(SYS_ioctl, 0, 0x5412 /* TIOCSTI */, ""); }
static long c_ioctl_tcgets_hi(void) { return syscall(SYS_ioctl, -1, (1L << 32) | 0x5401, NULL); }
static long c_ioctl_tcgets(void) { return syscall(SYS_ioctl, -1, 0x5401, NULL); }
static long c_socket_inet(void) { return syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); }
static long c_socket_udp(void) { return syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0); }
static long c_socket_unix(void) { return syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0); }
static long c_socket_raw(void) { return syscall(SYS_socket, AF_INET, SOCK_RAW, 1); }
static long c_sendto_addr(void) { char a[16] = {}; return syscall(SYS_sendto, -1, "", 0, 0, a, sizeof(a)); }
static long c_sendto_null(void) { return syscall(SYS_sendto, -1, "", 0, 0, NULL, 0); }
static long c_fork(void) {
        long r = syscall(SYS_fork);
        if (r == 0)
                syscall(SYS_exit, 0);
        return r;
}
static long c_clone_newuser(void) { return syscall(SYS_clone, 0x10000000 | SIGCHLD, (void *) -1, NULL, NULL, 0); }
static long c_execve(void) { return syscall(SYS_execve, "/nonexistent", NULL, NULL); }
static long c_exit_group(void) { return syscall(SYS_exit_group, 0); }
static long c_landlock(void) { return syscall(444, NULL, 0, 1 /* LANDLOCK_CREATE_RULESET_VERSION */); }
static long c_prctl_dumpable(void) { return syscall(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0); }
static long c_prctl_name(void) { return syscall(SYS_prctl, PR_SET_NAME, "t", 0, 0, 0); }
static long c_prlimit_set(void) { struct { unsigned long a, b; } l = { 1, 1 }; return syscall(SYS_prlimit64, 0, 99, &l, NULL); }
static long c_prlimit_get(void) { struct { unsigned long a, b; } l; return syscall(SYS_prlimit64, 0, 7, NULL, &l); }
static long c_mprotect_exec(void) {
        void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? -1 : syscall(SYS_mprotect, p, 4096, PROT_READ | PROT_EXEC);
}
static struct sock_filter allow_all[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
static struct sock_fprog allow_all_prog = { .len = 1, .filter = allow_all };
static long c_seccomp_tsync(void) {
        return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &allow_all_prog);
}
static long c_seccomp_listener(void) {
        return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &allow_all_prog);
}
static long c_confirm(void) { return syscall(SYS_prctl, SECCOMP_CONFIRM_OPTION, SECCOMP_CONFIRM_MAGIC, 0, 0, 0); }
static long c_confirm_other(void) { return syscall(SYS_prctl, SECCOMP_CONFIRM_OPTION, 1, 0, 0, 0); }
static long c_listen(void) { return syscall(SYS_listen, -1, 1); }
static long c_socket_mptcp(void) { return syscall(SYS_socket, AF_INET, SOCK_STREAM, 262 /* IPPROTO_MPTCP */); }
static long c_socket_mptcp_hi(void) { return syscall(SYS_socket, AF_INET, SOCK_STREAM, (1L << 32) | 262); }
static long c_socket_vsock(void) { return syscall(SYS_socket, 40 /* AF_VSOCK */, SOCK_STREAM, 0); }
static long c_socket_vsock_hi(void) { return syscall(SYS_socket, (1L << 32) | 40, SOCK_STREAM, 0); }
static long c_clone_newuser_hi(void) {
        return syscall(SYS_clone, (1L << 32) | 0x10000000 | SIGCHLD, (void *) -1, NULL, NULL, 0);
}
static long c_clone_newnet(void) { return syscall(SYS_clone, 0x40000000 | SIGCHLD, (void *) -1, NULL, NULL, 0); }
static long c_unshare_newuser(void) { return syscall(SYS_unshare, 0x10000000); }
static long c_unshare_newtime(void) { return syscall(SYS_unshare, 0x80); }
static long c_unshare_fs(void) { return syscall(SYS_unshare, 0x200 /* CLONE_FS */); }
static long c_setns(void) { return syscall(SYS_setns, -1, 0); }
static long c_bpf(void) { return syscall(SYS_bpf, 0, NULL, 0); }
static long c_perf(void) { return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0); }
static long c_userfaultfd(void) { return syscall(SYS_userfaultfd, 0); }
static long c_io_uring(void) { return syscall(SYS_io_uring_setup, 1, NULL); }
static long c_keyctl(void) { return syscall(SYS_keyctl, 9999, 0, 0, 0, 0); }
static long c_add_key(void) { return syscall(SYS_add_key, NULL, NULL, NULL, 0, 0); }
static long c_mount(void) { return syscall(SYS_mount, NULL, NULL, NULL, 0, NULL); }
static long c_fsopen(void) { return syscall(SYS_fsopen, NULL, 0); }
static long c_open_tree(void) { return syscall(SYS_open_tree, -1, NULL, 0); }
static long c_move_mount(void) { return syscall(SYS_move_mount, -1, NULL, -1, NULL, 0); }
static long c_kexec(void) { return syscall(SYS_kexec_load, 0, 0, NULL, 0); }
static long c_init_module(void) { return syscall(SYS_init_module, NULL, 0, NULL); }
static long c_open_by_handle(void) { return syscall(SYS_open_by_handle_at, -1, NULL, 0); }
static long c_syslog(void) { return syscall(SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0); }
static long c_personality_query(void) { return syscall(SYS_personality, 0xffffffffUL); }
static long c_personality_rie(void) { return syscall(SYS_personality, 0x0400000 /* READ_IMPLIES_EXEC */); }
static long c_personality_norandom(void) { return syscall(SYS_personality, 0x0040000 /* ADDR_NO_RANDOMIZE */); }
static long c_chmod_suid(void) { return syscall(SYS_chmod, "/nonexistent-dir/x", 04755); }
static long c_chmod_plain(void) { return syscall(SYS_chmod, "/nonexistent-dir/x", 0644); }
static long c_open_creat_sgid(void) { return syscall(SYS_open, "/nonexistent-dir/x", O_CREAT | O_WRONLY, 02755); }
static long c_open_ro_suidmode(void) { return syscall(SYS_openat, AT_FDCWD, "/nonexistent-dir/x", O_RDONLY, 04755); }
static long c_471(void) { return syscall(471, 0, 0, 0); }
static long c_469(void) { return syscall(469, -1, 0, 0, 0, 0); /* file_setattr */ }

#define EXPECT(promises, flags, call, want)                                                         \
        do {                                                                                        \
                int _got = under((promises), (flags), (call));                                      \
                tap_ok(_got == (want), "%-28s %-26s -> %s%d (got %d)", #promises, #call,            \
                       (want) >= 1000 ? "signal " : "errno ", (want) >= 1000 ? (want) - 1000 : (want), _got); \
        } while (0)

static void structure(void) {
        SbxError err = {};
        uint64_t all = PROMISE_BIT(_PROMISE_MAX) - 1;

        for (Promise p = 0; p < _PROMISE_MAX; p++) {
                SeccompProgram prog = {};
                int r = seccomp_compile_promises(B(STDIO) | PROMISE_BIT(p), 0, &prog, &err);
                tap_ok(r == 0 && prog.len > 8 && prog.len <= BPF_MAXINSNS, "stdio %s compiles (%zu instructions)",
                       promise_to_string(p), prog.len);
                seccomp_program_done(&prog);
        }
        uint64_t sets[] = { 0, B(STDIO), B(STDIO) | B(RPATH), B(STDIO) | B(RPATH) | B(INET) | B(DNS), all };
        const char *names[] = { "\"\"", "stdio", "stdio rpath", "stdio rpath inet dns", "every promise" };
        for (size_t i = 0; i < ELEMENTSOF(sets); i++) {
                SeccompProgram prog = {};
                int r = seccomp_compile_promises(sets[i], 0, &prog, &err);
                tap_ok(r == 0, "%s: %zu instructions", names[i], prog.len);
                seccomp_program_done(&prog);
        }

        SeccompProgram prog = {};
        tap_ok(seccomp_compile_promises(PROMISE_BIT(_PROMISE_MAX), 0, &prog, &err) == -EINVAL &&
                       strstr(err.msg, "unknown promise bits"),
               "an unknown promise bit is refused: %s", err.msg);

        /* The pid placeholder: stdio's kill and tgkill. */
        tap_ok(seccomp_compile_promises(B(STDIO), 0, &prog, &err) == 0, "stdio compiles");
        SeccompProgram copy = seccomp_program_copy(&prog);
        tap_ok(copy.len == prog.len && memcmp(copy.insns, prog.insns, prog.len * sizeof(*prog.insns)) == 0,
               "seccomp_program_copy copies");
        size_t n = seccomp_program_patch_pid(&copy, 4242);
        /* libseccomp may share one comparison block between kill and tgkill. */
        tap_ok(n >= 1 && n <= 2, "stdio has pid placeholders for kill and tgkill (%zu)", n);
        TAP_EQ_INT(seccomp_program_patch_pid(&copy, 4242), 0, "none left after patching");
        seccomp_program_done(&copy);

        /* The sealed memfd. */
        int fd = -1;
        tap_ok(seccomp_program_to_memfd(&prog, &fd, &err) == 0 && fd >= 0, "to_memfd");
        struct stat st;
        tap_ok(fstat(fd, &st) == 0 && (size_t) st.st_size == prog.len * sizeof(struct sock_filter), "memfd size");
        int seals = fcntl(fd, F_GET_SEALS);
        tap_ok(seals == (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL), "memfd sealed (0x%x)", seals);
        tap_ok(pwrite(fd, "x", 1, 0) < 0 && errno == EPERM, "memfd write refused");
        struct sock_filter first;
        tap_ok(pread(fd, &first, sizeof(first), 0) == sizeof(first) && memcmp(&first, prog.insns, sizeof(first)) == 0,
               "memfd content");
        tap_ok(fcntl(fd, F_GETFD) & FD_CLOEXEC, "memfd is close-on-exec");
        close(fd);
        seccomp_program_done(&prog);
        seccomp_program_done(&prog); /* idempotent */

        /* The hand-written programs. */
        static const unsigned what[] = { SUPERVISE_EXEC, SUPERVISE_CONFIRM, SUPERVISE_LISTEN,
                                         SUPERVISE_EXEC | SUPERVISE_CONFIRM | SUPERVISE_LISTEN };
        for (size_t i = 0; i < ELEMENTSOF(what); i++) {
                SeccompProgram sup = {};
                tap_ok(seccomp_supervisor_program(what[i], &sup) == 0 && sup.len > 4,
                       "supervisor program 0x%x (%zu instructions)", what[i], sup.len);
                seccomp_program_done(&sup);
        }
        static const unsigned base[] = { BASELINE_DENY, BASELINE_NO_MPTCP, BASELINE_DENY | BASELINE_NO_MPTCP };
        for (size_t i = 0; i < ELEMENTSOF(base); i++) {
                SeccompProgram b = {};
                tap_ok(seccomp_baseline_program(base[i], &b) == 0 && b.len > 4 && b.len <= BPF_MAXINSNS,
                       "baseline program 0x%x (%zu instructions)", base[i], b.len);
                seccomp_program_done(&b);
        }
}

#define EXPECT_PROG(prog, listener, call, want)                                                    \
        do {                                                                                        \
                int _got = under_program((prog), (listener), (call));                               \
                tap_ok(_got == (want), "%-28s %-26s -> %s%d (got %d)", #prog, #call,                \
                       (want) >= 1000 ? "signal " : "errno ", (want) >= 1000 ? (want) - 1000 : (want), _got); \
        } while (0)

/* The baseline filter of a task without promises, and the same calls under every promise at
 * once: what the baseline refuses, no promise allows (the promise filter carries it). */
static void baseline(void) {
        SeccompProgram deny = {}, deny_mptcp = {}, sup = {};
        uint64_t all = PROMISE_BIT(_PROMISE_MAX) - 1;
        (void) seccomp_baseline_program(BASELINE_DENY, &deny);
        (void) seccomp_baseline_program(BASELINE_DENY | BASELINE_NO_MPTCP, &deny_mptcp);

        static const struct {
                const char *name;
                Call call;
                int want;
        } refused[] = {
                { "clone(CLONE_NEWUSER)", c_clone_newuser, EPERM },
                { "clone(CLONE_NEWUSER | 1<<32)", c_clone_newuser_hi, EPERM },
                { "clone(CLONE_NEWNET)", c_clone_newnet, EPERM },
                { "unshare(CLONE_NEWUSER)", c_unshare_newuser, EPERM },
                { "unshare(CLONE_NEWTIME)", c_unshare_newtime, EPERM },
                { "clone3", c_clone3, ENOSYS },
                { "setns", c_setns, EPERM },
                { "bpf", c_bpf, EPERM },
                { "perf_event_open", c_perf, EPERM },
                { "userfaultfd", c_userfaultfd, EPERM },
                { "io_uring_setup", c_io_uring, EPERM },
                { "keyctl", c_keyctl, EPERM },
                { "add_key", c_add_key, EPERM },
                { "mount", c_mount, EPERM },
                { "fsopen", c_fsopen, EPERM },
                { "open_tree", c_open_tree, EPERM },
                { "move_mount", c_move_mount, EPERM },
                { "kexec_load", c_kexec, EPERM },
                { "init_module", c_init_module, EPERM },
                { "open_by_handle_at", c_open_by_handle, EPERM },
                { "syslog", c_syslog, EPERM },
                { "personality(READ_IMPLIES_EXEC)", c_personality_rie, EPERM },
                { "personality(ADDR_NO_RANDOMIZE)", c_personality_norandom, EPERM },
                { "socket(AF_VSOCK)", c_socket_vsock, EPERM },
                { "socket(AF_VSOCK | 1<<32)", c_socket_vsock_hi, EPERM },
                { "chmod(04755)", c_chmod_suid, EPERM },
                { "open(O_CREAT, 02755)", c_open_creat_sgid, EPERM },
                { "syscall 471 (unknown)", c_471, ENOSYS },
                { "x32 getpid", c_x32_getpid, 1000 + SIGSYS },
        };
        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                int got = under_program(&deny, false, refused[i].call);
                tap_ok(got == refused[i].want, "baseline: %s -> %d (got %d)", refused[i].name, refused[i].want, got);
                got = under(all, SECCOMP_COMPILE_ALLOW_EXEC, refused[i].call);
                tap_ok(got != 0 && got != -1, "every promise: %s refused too (got %d)", refused[i].name, got);
        }

        /* What stays allowed without promises: the kernel's own answer. */
        EXPECT_PROG(&deny, false, c_getpid, 0);
        EXPECT_PROG(&deny, false, c_fork, 0);
        EXPECT_PROG(&deny, false, c_unshare_fs, 0);
        EXPECT_PROG(&deny, false, c_personality_query, 0);
        EXPECT_PROG(&deny, false, c_chmod_plain, ENOENT);
        EXPECT_PROG(&deny, false, c_open_ro_suidmode, ENOENT); /* the mode counts with O_CREAT only */
        EXPECT_PROG(&deny, false, c_socket_inet, 0);
        EXPECT_PROG(&deny, false, c_socket_mptcp, 0);
        EXPECT_PROG(&deny, false, c_ptrace, 0); /* PTRACE_TRACEME: Docker allows ptrace too */
        EXPECT_PROG(&deny, false, c_mmap_exec, 0);
        EXPECT_PROG(&deny, false, c_469, EINVAL); /* numbers the table knows: the kernel's answer */
        /* Under TCP port rules: no MPTCP, whatever the high bits. */
        EXPECT_PROG(&deny_mptcp, false, c_socket_mptcp, EPROTONOSUPPORT);
        EXPECT_PROG(&deny_mptcp, false, c_socket_mptcp_hi, EPROTONOSUPPORT);
        EXPECT_PROG(&deny_mptcp, false, c_socket_inet, 0);
        EXPECT(B(STDIO) | B(INET), SECCOMP_COMPILE_NO_MPTCP, c_socket_mptcp, EPROTONOSUPPORT);
        EXPECT(B(STDIO) | B(INET), SECCOMP_COMPILE_NO_MPTCP, c_socket_mptcp_hi, EPROTONOSUPPORT);
        EXPECT(B(STDIO) | B(INET), SECCOMP_COMPILE_NO_MPTCP, c_socket_inet, 0);
        EXPECT(B(STDIO) | B(INET), 0, c_socket_mptcp, EPERM);

        /* The supervisor filter routes exactly its calls (to a closed listener: ENOSYS). */
        (void) seccomp_supervisor_program(SUPERVISE_EXEC | SUPERVISE_CONFIRM | SUPERVISE_LISTEN, &sup);
        EXPECT_PROG(&sup, true, c_getpid, 0);
        EXPECT_PROG(&sup, true, c_execve, ENOSYS);
        EXPECT_PROG(&sup, true, c_listen, ENOSYS);
        EXPECT_PROG(&sup, true, c_confirm, ENOSYS);
        EXPECT_PROG(&sup, true, c_confirm_other, EINVAL); /* another prctl: the kernel's answer */
        EXPECT_PROG(&sup, true, c_prctl_name, 0);
        EXPECT_PROG(&sup, true, c_x32_getpid, 1000 + SIGSYS);
        seccomp_program_done(&sup);
        (void) seccomp_supervisor_program(SUPERVISE_LISTEN, &sup);
        EXPECT_PROG(&sup, true, c_execve, ENOENT);
        EXPECT_PROG(&sup, true, c_confirm, EINVAL);
        EXPECT_PROG(&sup, true, c_listen, ENOSYS);
        seccomp_program_done(&sup);

        seccomp_program_done(&deny);
        seccomp_program_done(&deny_mptcp);
}

int main(void) {
        structure();

        /* Under valgrind the loaded filters would apply to valgrind's own syscalls: the memory
         * check covers the compiler (above); behaviour is checked natively and under ASan. */
        if (getenv("SANDBOX_TEST_COMPILE_ONLY")) {
                printf("# SANDBOX_TEST_COMPILE_ONLY set: not loading filters\n");
                return tap_done();
        }

        const uint64_t S = B(STDIO), SR = B(STDIO) | B(RPATH);

        /* Always closed / ENOSYS / killed. */
        EXPECT(S, 0, c_getpid, 0);
        EXPECT(0, 0, c_getpid, EPERM);
        EXPECT(0, 0, c_exit_group, EPERM);
        EXPECT(S, 0, c_clone3, ENOSYS);
        EXPECT(S, 0, c_openat2, ENOSYS);
        EXPECT(S, 0, c_memfd, ENOSYS);
        EXPECT(S, 0, c_447, ENOSYS);
        EXPECT(S, 0, c_999, ENOSYS);
        EXPECT(PROMISE_BIT(_PROMISE_MAX) - 1, 0, c_ptrace, EPERM);
        EXPECT(S, 0, c_x32_getpid, 1000 + SIGSYS);

        /* stdio */
        EXPECT(S, 0, c_fstat_glibc, 0);  /* glibc's fstat = newfstatat(fd, "", AT_EMPTY_PATH) */
        EXPECT(S, 0, c_stat_path, EPERM);
        EXPECT(S, 0, c_open_ro, EPERM);
        EXPECT(S, 0, c_kill_self, 0);
        EXPECT(S, 0, c_kill_init, EPERM);
        EXPECT(S, 0, c_tgkill_self, 0);
        EXPECT(S, 0, c_tgkill_init, EPERM);
        EXPECT(S, 0, c_kill_self_hi, EPERM);
        EXPECT(S, 0, c_mmap_rw, 0);
        EXPECT(S, 0, c_mmap_exec, EPERM);
        EXPECT(S, 0, c_fcntl_getfl, 0);
        EXPECT(S, 0, c_fcntl_setown, EPERM);
        EXPECT(S, 0, c_fcntl_setlk, EPERM);
        EXPECT(S, 0, c_sendto_null, EBADF);
        EXPECT(S, 0, c_sendto_addr, EPERM);
        EXPECT(S, 0, c_fork, EPERM);
        EXPECT(S, 0, c_execve, EPERM);
        EXPECT(S, 0, c_prctl_name, 0);
        EXPECT(S, 0, c_prctl_dumpable, EPERM);
        EXPECT(S, 0, c_prlimit_get, 0);
        EXPECT(S, 0, c_prlimit_set, EPERM);
        EXPECT(S, 0, c_socket_inet, EPERM);
        EXPECT(S, 0, c_landlock, EPERM);

        /* rpath, wpath */
        EXPECT(SR, 0, c_open_ro, 0);
        EXPECT(SR, 0, c_stat_path, 0);
        EXPECT(SR, 0, c_open_trunc, EPERM);
        EXPECT(SR, 0, c_open_dir, 0);
        EXPECT(SR, 0, c_open_tmpfile, EPERM);
        EXPECT(S | B(CPATH), 0, c_open_tmpfile, ENOENT);
        EXPECT(S | B(CPATH), 0, c_open_creat, ENOENT);
        EXPECT(S | B(CPATH), 0, c_open_creat_suid, EPERM);
        EXPECT(SR | B(WPATH), 0, c_open_creat, EPERM);
        EXPECT(SR, 0, c_open_wr, EPERM);
        EXPECT(S | B(WPATH), 0, c_open_wr, ENOENT);
        EXPECT(S | B(WPATH), 0, c_open_ro, EPERM);

        /* flock, tty */
        EXPECT(S | B(FLOCK), 0, c_fcntl_setlk, EBADF);
        EXPECT(S | B(TTY), 0, c_ioctl_tcgets, EBADF);
        EXPECT(S | B(TTY), 0, c_ioctl_tiocsti, EPERM);
        EXPECT(S | B(TTY), 0, c_ioctl_tcgets_hi, EPERM); /* high bits the kernel would drop */

        /* inet, anet, unix */
        EXPECT(S | B(INET), 0, c_socket_inet, 0);
        EXPECT(S | B(INET), 0, c_socket_udp, 0);
        EXPECT(S | B(INET), 0, c_socket_unix, EPERM);
        EXPECT(S | B(INET), 0, c_socket_raw, EPERM);
        EXPECT(S | B(INET), 0, c_sendto_addr, EBADF);
        EXPECT(S | B(ANET), 0, c_socket_inet, 0);
        EXPECT(S | B(ANET), 0, c_socket_udp, EPERM);
        EXPECT(S | B(UNIX), 0, c_socket_unix, 0);
        EXPECT(S | B(UNIX), 0, c_socket_inet, EPERM);

        /* proc: fork yes, namespaces no (stricter than Cosmopolitan: every CLONE_NEW*). */
        EXPECT(S | B(PROC), 0, c_fork, 0);
        EXPECT(S | B(PROC), 0, c_kill_init, 0);
        EXPECT(S | B(PROC), 0, c_clone_newuser, EPERM);
        EXPECT(S | B(PROC), 0, c_prlimit_set, EINVAL);

        /* exec, prot_exec, unveil */
        EXPECT(S, SECCOMP_COMPILE_ALLOW_EXEC, c_execve, ENOENT);
        EXPECT(S | B(EXEC), 0, c_execve, ENOENT);
        EXPECT(S | B(PROT_EXEC), 0, c_mmap_exec, 0);
        EXPECT(S | B(PROT_EXEC), 0, c_mprotect_exec, 0);
        EXPECT(S | B(UNVEIL), 0, c_landlock, 0);

        /* The launch window of a dynamic program: libraries mapped executable, never a mapping
         * made executable; the preload's TSYNC narrowing; the confirmation passes through. */
        EXPECT(SR, SECCOMP_COMPILE_LAUNCH, c_mmap_exec, 0);
        EXPECT(SR, SECCOMP_COMPILE_LAUNCH, c_mprotect_exec, EPERM);
        EXPECT(SR | B(PROT_EXEC), SECCOMP_COMPILE_LAUNCH, c_mprotect_exec, 0);
        EXPECT(SR, SECCOMP_COMPILE_LAUNCH, c_seccomp_tsync, 0);
        EXPECT(SR, SECCOMP_COMPILE_LAUNCH, c_seccomp_listener, EPERM);
        EXPECT(SR, 0, c_seccomp_tsync, EPERM);
        EXPECT(S, SECCOMP_COMPILE_CONFIRM, c_confirm, EINVAL); /* reaches the kernel: no such prctl */
        EXPECT(S, SECCOMP_COMPILE_CONFIRM, c_confirm_other, EPERM);
        EXPECT(S, 0, c_confirm, EPERM);

        baseline();

        return tap_done();
}
