/* SPDX-License-Identifier: MIT */
/* tests/unit/test-seccomp.c: the promise compiler. Structure of the programs, and their effect:
 * each check forks a child that sets no_new_privs (no privilege needed), loads a compiled
 * filter and makes one syscall; the child's exit code is the errno it saw (0 = success).
 * The root suite (tests/root/test-promises.sh) runs the whole matrix inside the real sandbox. */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
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

/* Runs call() in a child under the filter for promises. Returns the errno the call saw (0 if it
 * succeeded), or 1000 + N if the child was killed by signal N, or -1 on a harness failure. */
static int under(uint64_t promises, unsigned flags, Call call) {
        SeccompProgram p = {};
        SbxError err = {};
        if (seccomp_compile_promises(promises, flags, &p, &err) < 0) {
                printf("# compile: %s\n", err.msg);
                return -1;
        }
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                (void) seccomp_program_patch_pid(&p, getpid());
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                        _exit(250);
                if (seccomp_program_load(&p, 0) < 0)
                        _exit(251);
                errno = 0;
                long r = call();
                syscall(SYS_exit, r < 0 ? (errno & 0xff) : 0); /* exit(2): allowed under any set */
        }
        seccomp_program_done(&p);
        int status;
        if (waitpid(pid, &status, 0) < 0)
                return -1;
        if (WIFSIGNALED(status))
                return 1000 + WTERMSIG(status);
        return WEXITSTATUS(status);
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

        SeccompProgram once = {};
        tap_ok(seccomp_exec_once_program(&once, &err) == 0 && once.len == 10, "exec-once program (%zu insns)", once.len);
        seccomp_program_done(&once);
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
        EXPECT(S | B(UNVEIL), 0, c_landlock, 0);

        return tap_done();
}
