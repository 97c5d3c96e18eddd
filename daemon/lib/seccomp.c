/* SPDX-License-Identifier: MIT */
/* daemon/lib/seccomp.c: the promise compiler (libseccomp, in the parent) and the loader (no
 * allocation, no libseccomp: safe between fork and exec).
 *
 * The table follows Cosmopolitan's pledge-linux.c (see docs/promises.md for the table as we
 * implement it and the two places where we differ). Layout of a compiled program:
 *
 *   our prologue (8 insns): foreign arch or x32 -> kill the process; nr >= 447 -> ENOSYS
 *   libseccomp's program:   per-syscall rules (binary tree), default EPERM
 *
 * The prologue only jumps within itself or falls through, so prepending it leaves every relative
 * jump in libseccomp's program valid. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <linux/audit.h>
#include <netinet/in.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"
#include "promises.h"
#include "seccomp-program.h"
#include "util.h"

/* The first syscall number Cosmopolitan closes wholesale (memfd_secret on x86_64). */
#define SYSCALL_NR_NEW 447
#define X32_SYSCALL_BIT 0x40000000U

#ifndef AT_EMPTY_PATH
#  define AT_EMPTY_PATH 0x1000
#endif

/* clone(2) flags. Threads must share VM, FS, FILES, SIGHAND and THREAD. No clone may create a
 * namespace, be traced or untraced (Cosmopolitan forbids NEWNS, PTRACE and UNTRACED; we forbid
 * every CLONE_NEW* as well, since unshare and setns are closed anyway). */
#define CLONE_THREAD_REQUIRED 0x00010f00U
#define CLONE_FORBIDDEN 0x7e822000U

#define HAS(p) (promises & PROMISE_BIT(PROMISE_##p))

/* The table is code (the add_* functions below) that emits rules into a Compiler; compiling a
 * filter and explaining a call both read the rules it emits, so the two cannot drift. */
typedef struct Compiler {
        SeccompRule *rules;
        size_t n, cap;
        bool grow;      /* rules is ours to realloc; else a fixed buffer of cap entries */
        uint8_t source; /* what the rules added now belong to (a Promise or SECCOMP_SOURCE_*) */
        int error;
        int error_nr;
} Compiler;

static const uint8_t cmp_ops[] = {
        [SCMP_CMP_NE] = SECCOMP_CMP_NE, [SCMP_CMP_LT] = SECCOMP_CMP_LT, [SCMP_CMP_LE] = SECCOMP_CMP_LE,
        [SCMP_CMP_EQ] = SECCOMP_CMP_EQ, [SCMP_CMP_GE] = SECCOMP_CMP_GE, [SCMP_CMP_GT] = SECCOMP_CMP_GT,
        [SCMP_CMP_MASKED_EQ] = SECCOMP_CMP_MASKED_EQ,
};

static void add(Compiler *c, uint32_t action, int nr, unsigned n, const struct scmp_arg_cmp *cmp) {
        if (c->error)
                return;
        if (n > ELEMENTSOF(c->rules->cmp)) {
                c->error = -E2BIG;
                c->error_nr = nr;
                return;
        }
        if (c->n >= c->cap) {
                if (!c->grow) {
                        c->error = -ENOBUFS;
                        c->error_nr = nr;
                        return;
                }
                c->cap = c->cap ? c->cap * 2 : 512;
                c->rules = xrealloc(c->rules, c->cap * sizeof(*c->rules));
        }
        SeccompRule *r = &c->rules[c->n++];
        *r = (SeccompRule) { .nr = nr, .action = action, .source = c->source, .n_cmp = (uint8_t) n };
        for (unsigned i = 0; i < n; i++)
                r->cmp[i] = (SeccompCmp) { .arg = (uint8_t) cmp[i].arg, .op = cmp_ops[cmp[i].op],
                                           .a = cmp[i].datum_a, .b = cmp[i].datum_b };
}

static void allow(Compiler *c, int nr) {
        add(c, SCMP_ACT_ALLOW, nr, 0, NULL);
}

static void allow_list(Compiler *c, const int *nrs, size_t n) {
        for (size_t i = 0; i < n; i++)
                allow(c, nrs[i]);
}

#define ALLOW_LIST(c, ...)                                                                        \
        do {                                                                                      \
                static const int _l[] = { __VA_ARGS__ };                                          \
                allow_list((c), _l, ELEMENTSOF(_l));                                              \
        } while (0)

static void allow1(Compiler *c, int nr, struct scmp_arg_cmp a) {
        add(c, SCMP_ACT_ALLOW, nr, 1, &a);
}

static void allow2(Compiler *c, int nr, struct scmp_arg_cmp a, struct scmp_arg_cmp b) {
        struct scmp_arg_cmp v[] = { a, b };
        add(c, SCMP_ACT_ALLOW, nr, 2, v);
}

static void allow3(Compiler *c, int nr, struct scmp_arg_cmp a, struct scmp_arg_cmp b, struct scmp_arg_cmp d) {
        struct scmp_arg_cmp v[] = { a, b, d };
        add(c, SCMP_ACT_ALLOW, nr, 3, v);
}

/* Argument N equals one of the values. Comparisons are on the whole 64-bit register: a value
 * with high bits set never matches, so nothing the kernel truncates to 32 bits slips through. */
static void allow_arg_in(Compiler *c, int nr, unsigned arg, const uint64_t *vals, size_t n) {
        for (size_t i = 0; i < n; i++)
                allow1(c, nr, SCMP_CMP(arg, SCMP_CMP_EQ, vals[i]));
}

#define ALLOW_ARG_IN(c, nr, arg, ...)                                                             \
        do {                                                                                      \
                static const uint64_t _v[] = { __VA_ARGS__ };                                     \
                allow_arg_in((c), (nr), (arg), _v, ELEMENTSOF(_v));                               \
        } while (0)

/* ---------------------------------------------------------------------------------------- */
/* Argument-checked rules shared by several promises.                                         */

/* open(path, flags, mode) / openat(dirfd, path, flags, mode): flags are arg 1 / 2, mode 2 / 3.
 * The kernel's __O_TMPFILE bit alone (glibc's __O_TMPFILE also includes O_DIRECTORY, which must
 * stay allowed for rpath), and O_TMPFILE as a whole. */
#define O_TMPFILE_BIT 020000000
#define O_TMPFILE_FULL (O_TMPFILE_BIT | O_DIRECTORY)

static void open_rule(Compiler *c, uint64_t mask, uint64_t value) {
        allow1(c, SCMP_SYS(open), SCMP_A1(SCMP_CMP_MASKED_EQ, mask, value));
        allow1(c, SCMP_SYS(openat), SCMP_A2(SCMP_CMP_MASKED_EQ, mask, value));
}

static void open_rpath(Compiler *c) {
        /* Read-only: O_RDONLY, and none of O_CREAT, O_TRUNC, O_TMPFILE. */
        open_rule(c, O_ACCMODE | O_CREAT | O_TRUNC | O_TMPFILE_BIT, O_RDONLY);
}

static void open_wpath(Compiler *c) {
        /* Write: O_WRONLY or O_RDWR, O_TRUNC allowed, no O_CREAT or O_TMPFILE. */
        open_rule(c, O_ACCMODE | O_CREAT | O_TMPFILE_BIT, O_WRONLY);
        open_rule(c, O_ACCMODE | O_CREAT | O_TMPFILE_BIT, O_RDWR);
}

static void open_cpath(Compiler *c) {
        /* Create: O_CREAT, or the whole of O_TMPFILE; any access mode; no set-id or sticky mode. */
        const uint64_t suid = 07000;
        allow2(c, SCMP_SYS(open), SCMP_A1(SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT), SCMP_A2(SCMP_CMP_MASKED_EQ, suid, 0));
        allow2(c, SCMP_SYS(open), SCMP_A1(SCMP_CMP_MASKED_EQ, O_TMPFILE_FULL, O_TMPFILE_FULL),
               SCMP_A2(SCMP_CMP_MASKED_EQ, suid, 0));
        allow2(c, SCMP_SYS(openat), SCMP_A2(SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT), SCMP_A3(SCMP_CMP_MASKED_EQ, suid, 0));
        allow2(c, SCMP_SYS(openat), SCMP_A2(SCMP_CMP_MASKED_EQ, O_TMPFILE_FULL, O_TMPFILE_FULL),
               SCMP_A3(SCMP_CMP_MASKED_EQ, suid, 0));
        allow1(c, SCMP_SYS(creat), SCMP_A1(SCMP_CMP_MASKED_EQ, suid, 0));
}

static void chmod_rule(Compiler *c) {
        /* No setuid, setgid or sticky bit. */
        allow1(c, SCMP_SYS(chmod), SCMP_A1(SCMP_CMP_MASKED_EQ, 07000, 0));
        allow1(c, SCMP_SYS(fchmod), SCMP_A1(SCMP_CMP_MASKED_EQ, 07000, 0));
        allow1(c, SCMP_SYS(fchmodat), SCMP_A2(SCMP_CMP_MASKED_EQ, 07000, 0));
}

static void socket_rule(Compiler *c, const uint64_t *families, size_t nf, const uint64_t *types, size_t nt,
                        const uint64_t *protos, size_t np) {
        const uint64_t type_mask = 0xffffffffU & ~(uint64_t) (SOCK_CLOEXEC | SOCK_NONBLOCK);
        for (size_t f = 0; f < nf; f++)
                for (size_t t = 0; t < nt; t++)
                        for (size_t p = 0; p < np; p++)
                                allow3(c, SCMP_SYS(socket), SCMP_A0(SCMP_CMP_EQ, families[f]),
                                       SCMP_A1(SCMP_CMP_MASKED_EQ, type_mask, types[t]),
                                       SCMP_A2(SCMP_CMP_EQ, protos[p]));
}

static void sockopt_rules(Compiler *c) {
        /* As Cosmopolitan: any listed level with any listed option (not paired per level). */
        static const uint64_t set_levels[] = { 0 /* SOL_IP */, 1 /* SOL_SOCKET */, 6 /* SOL_TCP */, 41 /* SOL_IPV6 */ };
        static const uint64_t set_opts[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x09, 0x0b,
                                             0x0c, 0x0f, 0x13, 0x14, 0x15, 0x17, 0x1a, 0x1e };
        static const uint64_t get_levels[] = { 1 /* SOL_SOCKET */, 6 /* SOL_TCP */ };
        static const uint64_t get_opts[] = { 0x03 /* SO_TYPE */,      0x04 /* SO_ERROR */,   0x0f /* SO_REUSEPORT */,
                                             0x02 /* SO_REUSEADDR */, 0x09 /* SO_KEEPALIVE */, 0x14 /* SO_RCVTIMEO */,
                                             0x15 /* SO_SNDTIMEO */ };

        for (size_t l = 0; l < ELEMENTSOF(set_levels); l++)
                for (size_t o = 0; o < ELEMENTSOF(set_opts); o++)
                        allow2(c, SCMP_SYS(setsockopt), SCMP_A1(SCMP_CMP_EQ, set_levels[l]),
                               SCMP_A2(SCMP_CMP_EQ, set_opts[o]));
        for (size_t l = 0; l < ELEMENTSOF(get_levels); l++)
                for (size_t o = 0; o < ELEMENTSOF(get_opts); o++)
                        allow2(c, SCMP_SYS(getsockopt), SCMP_A1(SCMP_CMP_EQ, get_levels[l]),
                               SCMP_A2(SCMP_CMP_EQ, get_opts[o]));
        allow1(c, SCMP_SYS(ioctl), SCMP_A1(SCMP_CMP_EQ, 0x8905 /* SIOCATMARK */));
}

static const uint64_t inet_families[] = { AF_INET, AF_INET6 };
static const uint64_t stream_dgram[] = { SOCK_STREAM, SOCK_DGRAM };
static const uint64_t stream_only[] = { SOCK_STREAM };
static const uint64_t inet_protos[] = { 0, 1 /* ICMP */, 6 /* TCP */, 17 /* UDP */ };
static const uint64_t anet_protos[] = { 0, 1 /* ICMP */, 6 /* TCP */ };

/* ---------------------------------------------------------------------------------------- */
/* The promises.                                                                              */

static void add_stdio(Compiler *c) {
        ALLOW_LIST(c, SCMP_SYS(rt_sigreturn), SCMP_SYS(restart_syscall), SCMP_SYS(exit_group), SCMP_SYS(sched_yield),
                   SCMP_SYS(sched_getaffinity), SCMP_SYS(sched_setaffinity), SCMP_SYS(clock_getres),
                   SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep), SCMP_SYS(close),
                   SCMP_SYS(close_range), SCMP_SYS(read), SCMP_SYS(readv), SCMP_SYS(pread64), SCMP_SYS(preadv),
                   SCMP_SYS(preadv2), SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(pwrite64), SCMP_SYS(pwritev),
                   SCMP_SYS(pwritev2), SCMP_SYS(dup), SCMP_SYS(dup2), SCMP_SYS(dup3), SCMP_SYS(fchdir),
                   SCMP_SYS(fstat), SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(ftruncate), SCMP_SYS(sysinfo),
                   SCMP_SYS(getrandom), SCMP_SYS(getgroups), SCMP_SYS(getpgid), SCMP_SYS(getpgrp), SCMP_SYS(getpid),
                   SCMP_SYS(gettid), SCMP_SYS(getuid), SCMP_SYS(getgid), SCMP_SYS(geteuid), SCMP_SYS(getegid),
                   SCMP_SYS(getsid), SCMP_SYS(getppid), SCMP_SYS(getrlimit), SCMP_SYS(getresuid),
                   SCMP_SYS(getresgid), SCMP_SYS(getitimer), SCMP_SYS(setitimer), SCMP_SYS(alarm), SCMP_SYS(pause),
                   SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime), SCMP_SYS(timerfd_gettime),
                   SCMP_SYS(copy_file_range), SCMP_SYS(sendfile), SCMP_SYS(splice), SCMP_SYS(vmsplice),
                   SCMP_SYS(tee), SCMP_SYS(lseek), SCMP_SYS(gettimeofday), SCMP_SYS(brk), SCMP_SYS(msync),
                   SCMP_SYS(mlock), SCMP_SYS(mlock2), SCMP_SYS(munlock), SCMP_SYS(mremap), SCMP_SYS(munmap),
                   SCMP_SYS(mincore), SCMP_SYS(madvise), SCMP_SYS(fadvise64), SCMP_SYS(migrate_pages),
                   SCMP_SYS(sync_file_range), SCMP_SYS(set_tid_address), SCMP_SYS(membarrier), SCMP_SYS(pipe),
                   SCMP_SYS(pipe2), SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select), SCMP_SYS(pselect6),
                   SCMP_SYS(epoll_create), SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
                   SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_pwait2), SCMP_SYS(recvfrom), SCMP_SYS(shutdown),
                   SCMP_SYS(eventfd), SCMP_SYS(eventfd2), SCMP_SYS(signalfd), SCMP_SYS(signalfd4),
                   SCMP_SYS(rt_sigaction), SCMP_SYS(sigaltstack), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigsuspend),
                   SCMP_SYS(rt_sigpending), SCMP_SYS(rt_sigtimedwait), SCMP_SYS(tkill), SCMP_SYS(socketpair),
                   SCMP_SYS(getrusage), SCMP_SYS(times), SCMP_SYS(umask), SCMP_SYS(wait4), SCMP_SYS(uname),
                   SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(get_robust_list), SCMP_SYS(getcpu),
                   SCMP_SYS(rseq));

        /* mmap: prot within READ|WRITE, no MAP_LOCKED or MAP_NONBLOCK. mprotect: READ|WRITE. */
        allow2(c, SCMP_SYS(mmap), SCMP_A2(SCMP_CMP_MASKED_EQ, ~(uint64_t) (PROT_READ | PROT_WRITE), 0),
               SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_LOCKED | MAP_NONBLOCK, 0));
        allow1(c, SCMP_SYS(mprotect), SCMP_A2(SCMP_CMP_MASKED_EQ, ~(uint64_t) (PROT_READ | PROT_WRITE), 0));

        /* fcntl: F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC. */
        allow1(c, SCMP_SYS(fcntl), SCMP_A1(SCMP_CMP_LT, 5));
        allow1(c, SCMP_SYS(fcntl), SCMP_A1(SCMP_CMP_EQ, F_DUPFD_CLOEXEC));

        /* ioctl: FIONREAD, FIONBIO, FIOCLEX, FIONCLEX. */
        ALLOW_ARG_IN(c, SCMP_SYS(ioctl), 1, 0x541b, 0x5421, 0x5451, 0x5450);

        /* sendto on a connected socket only (no destination address). */
        allow1(c, SCMP_SYS(sendto), SCMP_A4(SCMP_CMP_EQ, 0));

        /* kill and tgkill: only the task itself (its pid, patched in before loading). */
        allow1(c, SCMP_SYS(kill), SCMP_A0(SCMP_CMP_EQ, SECCOMP_PID_PLACEHOLDER));
        allow1(c, SCMP_SYS(tgkill), SCMP_A0(SCMP_CMP_EQ, SECCOMP_PID_PLACEHOLDER));

        /* prctl: PR_SET_NAME, PR_GET_NAME, PR_GET_SECCOMP, PR_SET_SECCOMP, PR_CAPBSET_READ,
         * PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS. */
        ALLOW_ARG_IN(c, SCMP_SYS(prctl), 0, 15, 16, 21, 22, 23, 24, 38);

        /* clone: threads only. */
        allow1(c, SCMP_SYS(clone),
               SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD_REQUIRED | CLONE_FORBIDDEN, CLONE_THREAD_REQUIRED));

        /* prlimit64: read only (new_limit NULL). */
        allow1(c, SCMP_SYS(prlimit64), SCMP_A2(SCMP_CMP_EQ, 0));

        /* Our addition: glibc >= 2.33 implements fstat(fd) as newfstatat(fd, "", buf,
         * AT_EMPTY_PATH). Without this, plain stdio breaks fstat() in every glibc program. See
         * docs/promises.md for what it costs. */
        allow1(c, SCMP_SYS(newfstatat), SCMP_A3(SCMP_CMP_EQ, AT_EMPTY_PATH));
}

static void add_rpath(Compiler *c) {
        ALLOW_LIST(c, SCMP_SYS(chdir), SCMP_SYS(getcwd), SCMP_SYS(stat), SCMP_SYS(lstat), SCMP_SYS(fstat),
                   SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(access), SCMP_SYS(faccessat),
                   SCMP_SYS(faccessat2), SCMP_SYS(readlink), SCMP_SYS(readlinkat), SCMP_SYS(statfs),
                   SCMP_SYS(fstatfs), SCMP_SYS(getdents64), SCMP_SYS(getdents));
        open_rpath(c);
}

static void add_wpath(Compiler *c) {
        ALLOW_LIST(c, SCMP_SYS(getcwd), SCMP_SYS(stat), SCMP_SYS(lstat), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
                   SCMP_SYS(statx), SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2),
                   SCMP_SYS(readlinkat), SCMP_SYS(truncate));
        open_wpath(c);
        chmod_rule(c);
}

static void add_cpath(Compiler *c) {
        ALLOW_LIST(c, SCMP_SYS(rename), SCMP_SYS(renameat), SCMP_SYS(renameat2), SCMP_SYS(link), SCMP_SYS(linkat),
                   SCMP_SYS(symlink), SCMP_SYS(symlinkat), SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(rmdir),
                   SCMP_SYS(mkdir), SCMP_SYS(mkdirat));
        open_cpath(c);
}

static void add_inet_like(Compiler *c, bool anet) {
        if (anet) {
                ALLOW_LIST(c, SCMP_SYS(listen), SCMP_SYS(bind), SCMP_SYS(sendto), SCMP_SYS(accept),
                           SCMP_SYS(accept4), SCMP_SYS(getpeername), SCMP_SYS(getsockname));
                socket_rule(c, inet_families, ELEMENTSOF(inet_families), stream_only, ELEMENTSOF(stream_only),
                            anet_protos, ELEMENTSOF(anet_protos));
        } else {
                ALLOW_LIST(c, SCMP_SYS(listen), SCMP_SYS(bind), SCMP_SYS(connect), SCMP_SYS(accept),
                           SCMP_SYS(accept4), SCMP_SYS(sendto), SCMP_SYS(getpeername), SCMP_SYS(getsockname));
                socket_rule(c, inet_families, ELEMENTSOF(inet_families), stream_dgram, ELEMENTSOF(stream_dgram),
                            inet_protos, ELEMENTSOF(inet_protos));
        }
        sockopt_rules(c);
}

static void add_unix(Compiler *c) {
        static const uint64_t fam[] = { AF_UNIX }, proto[] = { 0 };
        ALLOW_LIST(c, SCMP_SYS(listen), SCMP_SYS(bind), SCMP_SYS(connect), SCMP_SYS(sendto), SCMP_SYS(accept),
                   SCMP_SYS(accept4), SCMP_SYS(getpeername), SCMP_SYS(getsockname));
        socket_rule(c, fam, 1, stream_dgram, ELEMENTSOF(stream_dgram), proto, 1);
        sockopt_rules(c);
}

static void add_dns(Compiler *c) {
        ALLOW_LIST(c, SCMP_SYS(bind), SCMP_SYS(sendto), SCMP_SYS(connect), SCMP_SYS(recvfrom),
                   SCMP_SYS(newfstatat), SCMP_SYS(read), SCMP_SYS(close), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg));
        socket_rule(c, inet_families, ELEMENTSOF(inet_families), stream_dgram, ELEMENTSOF(stream_dgram), inet_protos,
                    ELEMENTSOF(inet_protos));
        sockopt_rules(c);
        open_rpath(c);
}

static void add_proc(Compiler *c) {
        ALLOW_LIST(c, SCMP_SYS(fork), SCMP_SYS(vfork), SCMP_SYS(kill), SCMP_SYS(tgkill), SCMP_SYS(setsid),
                   SCMP_SYS(setpgid), SCMP_SYS(prlimit64), SCMP_SYS(setrlimit), SCMP_SYS(getpriority),
                   SCMP_SYS(setpriority), SCMP_SYS(ioprio_get), SCMP_SYS(ioprio_set), SCMP_SYS(sched_getscheduler),
                   SCMP_SYS(sched_setscheduler), SCMP_SYS(sched_get_priority_min),
                   SCMP_SYS(sched_get_priority_max), SCMP_SYS(sched_getparam), SCMP_SYS(sched_setparam));
        allow1(c, SCMP_SYS(clone), SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_FORBIDDEN, 0));
}

#define SOURCE(c, s) ((c)->source = (uint8_t) (s))

/* Emits the rules of a promise set, each tagged with the promise (or flag) it comes from. The
 * order and content are the table; see docs/promises.md. */
static void emit(Compiler *c, uint64_t promises, unsigned flags) {
        /* Always: exit (so that even the empty promise set can end), arch_prctl (x86_64 TLS). */
        SOURCE(c, SECCOMP_SOURCE_ALWAYS);
        allow(c, SCMP_SYS(exit));
        allow(c, SCMP_SYS(arch_prctl));

        /* Closed with ENOSYS so that libc falls back to the older calls we can check. */
        add(c, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0, NULL);
        add(c, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0, NULL);
        add(c, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(memfd_create), 0, NULL);

        if (HAS(STDIO)) {
                SOURCE(c, PROMISE_STDIO);
                add_stdio(c);
        }
        if (HAS(RPATH)) {
                SOURCE(c, PROMISE_RPATH);
                add_rpath(c);
        }
        if (HAS(WPATH)) {
                SOURCE(c, PROMISE_WPATH);
                add_wpath(c);
        }
        if (HAS(CPATH)) {
                SOURCE(c, PROMISE_CPATH);
                add_cpath(c);
        }
        if (HAS(DPATH)) {
                SOURCE(c, PROMISE_DPATH);
                ALLOW_LIST(c, SCMP_SYS(mknod), SCMP_SYS(mknodat));
        }
        if (HAS(FLOCK)) {
                SOURCE(c, PROMISE_FLOCK);
                allow(c, SCMP_SYS(flock));
                /* F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW */
                ALLOW_ARG_IN(c, SCMP_SYS(fcntl), 1, 5, 6, 7, 0x24, 0x25, 0x26);
        }
        if (HAS(FATTR)) {
                SOURCE(c, PROMISE_FATTR);
                ALLOW_LIST(c, SCMP_SYS(utime), SCMP_SYS(utimes), SCMP_SYS(futimesat), SCMP_SYS(utimensat));
                chmod_rule(c);
        }
        if (HAS(CHOWN)) {
                SOURCE(c, PROMISE_CHOWN);
                ALLOW_LIST(c, SCMP_SYS(chown), SCMP_SYS(fchown), SCMP_SYS(lchown), SCMP_SYS(fchownat));
        }
        if (HAS(TTY)) {
                SOURCE(c, PROMISE_TTY);
                /* TCGETS TCSETS TCSETSW TCSETSF TIOCGWINSZ TIOCSWINSZ TIOCSPGRP TIOCGPGRP TCFLSH
                 * TCXONC TCSBRK TIOCSBRK (never TIOCSTI) */
                ALLOW_ARG_IN(c, SCMP_SYS(ioctl), 1, 0x5401, 0x5402, 0x5403, 0x5404, 0x5413, 0x5414, 0x5410,
                             0x540f, 0x540b, 0x540a, 0x5409, 0x5427);
        }
        if (HAS(INET)) {
                SOURCE(c, PROMISE_INET);
                add_inet_like(c, false);
        }
        if (HAS(ANET)) {
                SOURCE(c, PROMISE_ANET);
                add_inet_like(c, true);
        }
        if (HAS(UNIX)) {
                SOURCE(c, PROMISE_UNIX);
                add_unix(c);
        }
        if (HAS(DNS)) {
                SOURCE(c, PROMISE_DNS);
                add_dns(c);
        }
        if (HAS(RECVFD)) {
                SOURCE(c, PROMISE_RECVFD);
                ALLOW_LIST(c, SCMP_SYS(recvmsg), SCMP_SYS(recvmmsg));
        }
        if (HAS(SENDFD)) {
                SOURCE(c, PROMISE_SENDFD);
                ALLOW_LIST(c, SCMP_SYS(sendmsg), SCMP_SYS(sendmmsg));
        }
        if (HAS(PROC)) {
                SOURCE(c, PROMISE_PROC);
                add_proc(c);
        }
        /* PROMISE_THREAD grants nothing: threads come from stdio's clone rule. */
        if (HAS(ID)) {
                SOURCE(c, PROMISE_ID);
                ALLOW_LIST(c, SCMP_SYS(setuid), SCMP_SYS(setreuid), SCMP_SYS(setresuid), SCMP_SYS(setgid),
                           SCMP_SYS(setregid), SCMP_SYS(setresgid), SCMP_SYS(setgroups), SCMP_SYS(setfsuid),
                           SCMP_SYS(setfsgid), SCMP_SYS(prlimit64), SCMP_SYS(setrlimit), SCMP_SYS(getpriority),
                           SCMP_SYS(setpriority));
        }
        if (HAS(SETTIME)) {
                SOURCE(c, PROMISE_SETTIME);
                ALLOW_LIST(c, SCMP_SYS(settimeofday), SCMP_SYS(clock_adjtime));
        }
        if (HAS(EXEC)) {
                SOURCE(c, PROMISE_EXEC);
                ALLOW_LIST(c, SCMP_SYS(execve), SCMP_SYS(execveat));
        }
        if (flags & SECCOMP_COMPILE_ALLOW_EXEC) {
                SOURCE(c, SECCOMP_SOURCE_ALLOW_EXEC);
                ALLOW_LIST(c, SCMP_SYS(execve), SCMP_SYS(execveat));
        }
        if (HAS(PROT_EXEC)) {
                SOURCE(c, PROMISE_PROT_EXEC);
                allow(c, SCMP_SYS(mprotect));
                allow1(c, SCMP_SYS(mmap), SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_LOCKED | MAP_NONBLOCK | MAP_HUGETLB, 0));
        }
        /* The launch of a dynamic program maps its libraries PROT_EXEC; only prot_exec lets an
         * existing mapping become executable (an executable-stack library makes ld.so ask for
         * that, and fails to load without it: docs/promises.md). The preload helper narrows every
         * thread at once: exactly TSYNC, no listener, no log. */
        if (flags & SECCOMP_COMPILE_LAUNCH) {
                SOURCE(c, SECCOMP_SOURCE_LAUNCH);
                allow1(c, SCMP_SYS(mmap), SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_LOCKED | MAP_NONBLOCK | MAP_HUGETLB, 0));
                allow2(c, SCMP_SYS(seccomp), SCMP_A0(SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER),
                       SCMP_A1(SCMP_CMP_EQ, SECCOMP_FILTER_FLAG_TSYNC));
        }
        if (flags & SECCOMP_COMPILE_CONFIRM) {
                SOURCE(c, SECCOMP_SOURCE_CONFIRM);
                add(c, (flags & SECCOMP_COMPILE_NOTIFY) ? SCMP_ACT_NOTIFY : SCMP_ACT_ALLOW, SCMP_SYS(prctl), 2,
                    (const struct scmp_arg_cmp[]) { SCMP_A0(SCMP_CMP_EQ, SECCOMP_CONFIRM_OPTION),
                                                    SCMP_A1(SCMP_CMP_EQ, SECCOMP_CONFIRM_MAGIC) });
        }
        /* The kernel reads the protocol as an int: compare the low 32 bits only. */
        if (flags & SECCOMP_COMPILE_NO_MPTCP) {
                SOURCE(c, SECCOMP_SOURCE_NO_MPTCP);
                add(c, SCMP_ACT_ERRNO(EPROTONOSUPPORT), SCMP_SYS(socket), 1,
                    &SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffffU, IPPROTO_MPTCP));
        }
        if (HAS(UNVEIL)) {
                SOURCE(c, PROMISE_UNVEIL);
                ALLOW_LIST(c, SCMP_SYS(landlock_create_ruleset), SCMP_SYS(landlock_add_rule),
                           SCMP_SYS(landlock_restrict_self));
        }
        if (HAS(VMINFO)) {
                SOURCE(c, PROMISE_VMINFO);
                allow(c, SCMP_SYS(sched_yield));
        }
        if (HAS(TMPPATH)) {
                SOURCE(c, PROMISE_TMPPATH);
                ALLOW_LIST(c, SCMP_SYS(lstat), SCMP_SYS(unlink), SCMP_SYS(unlinkat));
        }
        /* A filter that holds the listener (docs/learn.md): the calls the init answers. */
        if (flags & (SECCOMP_COMPILE_NOTIFY_EXEC | SECCOMP_COMPILE_NOTIFY_LISTEN)) {
                SOURCE(c, SECCOMP_SOURCE_SUPERVISE);
                if (flags & SECCOMP_COMPILE_NOTIFY_EXEC) {
                        add(c, SCMP_ACT_NOTIFY, SCMP_SYS(execve), 0, NULL);
                        add(c, SCMP_ACT_NOTIFY, SCMP_SYS(execveat), 0, NULL);
                }
                if (flags & SECCOMP_COMPILE_NOTIFY_LISTEN)
                        add(c, SCMP_ACT_NOTIFY, SCMP_SYS(listen), 0, NULL);
        }
}

/* The init answers listen(2) itself where TCP bind rules are set: the supervise rule replaces
 * every promise's allow. A rule whose action is the default one is the default (libseccomp
 * refuses it: EACCES). */
static bool superseded(const SeccompRule *r, unsigned flags, uint32_t def) {
        return r->action == def || ((flags & SECCOMP_COMPILE_NOTIFY_LISTEN) && r->nr == SCMP_SYS(listen) &&
                                    r->source != SECCOMP_SOURCE_SUPERVISE);
}

int seccomp_compile_promises(uint64_t promises, unsigned flags, SeccompProgram *ret, SbxError *err) {
        Compiler c = { .grow = true };
        scmp_filter_ctx ctx;
        int r;

        if (promises & ~(PROMISE_BIT(_PROMISE_MAX) - 1))
                return sbx_error(err, EINVAL, "seccomp: unknown promise bits 0x%" PRIx64, promises);

        emit(&c, promises, flags);
        if (c.error < 0) {
                char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, c.error_nr);
                r = sbx_error_errno(err, -c.error, "seccomp: rule for %s", name ?: "?");
                free(name);
                free(c.rules);
                return r;
        }

        /* With a listener, what no rule allows goes to the init (which answers EPERM and says
         * which promise was missing, or records it while learning); else it is EPERM. */
        uint32_t def = (flags & SECCOMP_COMPILE_NOTIFY) ? SCMP_ACT_NOTIFY : SCMP_ACT_ERRNO(EPERM);
        ctx = seccomp_init(def);
        if (!ctx) {
                free(c.rules);
                return sbx_error(err, ENOMEM, "seccomp: cannot create a filter context");
        }

        /* Our prologue already kills a foreign architecture before libseccomp's code runs; this
         * only keeps libseccomp's own check consistent. It fails where libseccomp cannot query the
         * kernel's seccomp API (e.g. under valgrind), which changes nothing. */
        (void) seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);

        /* A binary tree over syscall numbers instead of a linear list. libseccomp refuses it when
         * it cannot query the kernel's seccomp API (e.g. under valgrind); the linear program is
         * equivalent, only longer. */
        (void) seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);

        static const enum scmp_compare ops[] = {
                [SECCOMP_CMP_NE] = SCMP_CMP_NE, [SECCOMP_CMP_LT] = SCMP_CMP_LT, [SECCOMP_CMP_LE] = SCMP_CMP_LE,
                [SECCOMP_CMP_EQ] = SCMP_CMP_EQ, [SECCOMP_CMP_GE] = SCMP_CMP_GE, [SECCOMP_CMP_GT] = SCMP_CMP_GT,
                [SECCOMP_CMP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
        };
        for (size_t i = 0; i < c.n; i++) {
                const SeccompRule *x = &c.rules[i];
                struct scmp_arg_cmp cmp[ELEMENTSOF(x->cmp)];
                if (superseded(x, flags, def))
                        continue;
                for (unsigned k = 0; k < x->n_cmp; k++)
                        cmp[k] = (struct scmp_arg_cmp) { .arg = x->cmp[k].arg, .op = ops[x->cmp[k].op],
                                                         .datum_a = x->cmp[k].a, .datum_b = x->cmp[k].b };
                r = seccomp_rule_add_array(ctx, x->action, x->nr, x->n_cmp, cmp);
                if (r < 0) {
                        char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, x->nr);
                        r = sbx_error_errno(err, -r, "seccomp: rule for %s", name ?: "?");
                        free(name);
                        free(c.rules);
                        seccomp_release(ctx);
                        return r;
                }
        }
        free(c.rules);

        /* libseccomp 2.5 can only export to a file descriptor. */
        _cleanup_close_ int fd = memfd_create("sandbox-bpf", MFD_CLOEXEC);
        if (fd < 0) {
                r = sbx_error_errno(err, errno, "seccomp: memfd_create");
                seccomp_release(ctx);
                return r;
        }
        r = seccomp_export_bpf(ctx, fd);
        seccomp_release(ctx);
        if (r < 0)
                return sbx_error_errno(err, -r, "seccomp: export");

        off_t size = lseek(fd, 0, SEEK_END);
        if (size <= 0 || size % (off_t) sizeof(struct sock_filter) != 0)
                return sbx_error(err, EBADMSG, "seccomp: libseccomp exported %lld bytes", (long long) size);
        size_t body = (size_t) size / sizeof(struct sock_filter);

        /* Our prologue, see the top of this file. Offsets are relative to the next insn. */
        const struct sock_filter prologue[] = {
                /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
                /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 5),
                /* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                /* 3 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 3, 0),
                /* 4 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, SYSCALL_NR_NEW, 1, 0),
                /* 5 */ BPF_JUMP(BPF_JMP | BPF_JA, 2, 0, 0),
                /* 6 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
                /* 7 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        };
        size_t total = ELEMENTSOF(prologue) + body;
        if (total > BPF_MAXINSNS)
                return sbx_error(err, E2BIG, "seccomp: filter has %zu instructions (at most %d)", total, BPF_MAXINSNS);

        struct sock_filter *insns = xmalloc(total * sizeof(*insns));
        memcpy(insns, prologue, sizeof(prologue));
        size_t got = 0;
        while (got < (size_t) size) {
                ssize_t n = pread(fd, (char *) (insns + ELEMENTSOF(prologue)) + got, (size_t) size - got, (off_t) got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        free(insns);
                        return sbx_error_errno(err, n < 0 ? errno : EIO, "seccomp: reading the exported filter");
                }
                got += (size_t) n;
        }

        *ret = (SeccompProgram) { .insns = insns, .len = total };
        return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* The table read backwards: which promise would allow a call                                 */

/* Every rule, built once into static storage: the sandbox's init reads it without allocating
 * (it inherits it from its caller, which builds it before the clone; the init gives its brk
 * heap back, never its data segment). */
static SeccompRule table[SECCOMP_RULES_MAX];
static size_t table_n;

const SeccompRule *seccomp_rules_all(size_t *ret_n) {
        if (table_n == 0) {
                Compiler c = { .rules = table, .cap = ELEMENTSOF(table) };
                emit(&c, PROMISE_BIT(_PROMISE_MAX) - 1,
                     SECCOMP_COMPILE_ALLOW_EXEC | SECCOMP_COMPILE_LAUNCH | SECCOMP_COMPILE_CONFIRM |
                             SECCOMP_COMPILE_NO_MPTCP);
                if (c.error != 0)
                        abort(); /* SECCOMP_RULES_MAX too small: test-seccomp fails first */
                table_n = c.n;
        }
        if (ret_n)
                *ret_n = table_n;
        return table;
}

bool seccomp_rule_matches(const SeccompRule *r, const struct seccomp_data *d, uint32_t pid) {
        if (d->arch != AUDIT_ARCH_X86_64 || (int32_t) d->nr != r->nr)
                return false;
        for (unsigned i = 0; i < r->n_cmp; i++) {
                const SeccompCmp *k = &r->cmp[i];
                uint64_t v = d->args[k->arg], a = k->a;
                /* the filter is patched with the task's pid before it is loaded */
                if (k->op == SECCOMP_CMP_EQ && a == SECCOMP_PID_PLACEHOLDER)
                        a = pid;
                bool ok;
                switch (k->op) {
                case SECCOMP_CMP_NE:
                        ok = v != a;
                        break;
                case SECCOMP_CMP_LT:
                        ok = v < a;
                        break;
                case SECCOMP_CMP_LE:
                        ok = v <= a;
                        break;
                case SECCOMP_CMP_EQ:
                        ok = v == a;
                        break;
                case SECCOMP_CMP_GE:
                        ok = v >= a;
                        break;
                case SECCOMP_CMP_GT:
                        ok = v > a;
                        break;
                case SECCOMP_CMP_MASKED_EQ:
                        ok = (v & a) == k->b;
                        break;
                default:
                        ok = false;
                        break;
                }
                if (!ok)
                        return false;
        }
        return true;
}

uint64_t seccomp_sources_allowing(const struct seccomp_data *d, uint32_t pid) {
        size_t n;
        const SeccompRule *rules = seccomp_rules_all(&n);
        uint64_t m = 0;

        if (d->nr >= SYSCALL_NR_NEW)
                return 0; /* our prologue answers these: ENOSYS whatever the promises */
        for (size_t i = 0; i < n; i++)
                if (rules[i].action == SCMP_ACT_ALLOW && seccomp_rule_matches(&rules[i], d, pid))
                        m |= SECCOMP_SOURCE_BIT(rules[i].source);
        return m;
}

/* ---------------------------------------------------------------------------------------- */
/* Hand-written programs: the supervisor filter and the baseline filter.                      */

/* A tiny assembler: conditional jumps name labels, resolved when the program is finished. */
#define ASM_MAX 256
#define ASM_LABELS 32

typedef enum AsmLabel {
        L_NEXT, /* fall through (offset 0) */
        L_ALLOW,
        L_NOTIFY,
        L_KILL,
        L_EPERM,
        L_ENOSYS,
        L_EPROTONOSUPPORT,
        _L_FIXED, /* local labels from here on */
} AsmLabel;

typedef struct Asm {
        struct sock_filter insn[ASM_MAX];
        uint8_t jt[ASM_MAX], jf[ASM_MAX]; /* label of each conditional jump's targets */
        int at[ASM_LABELS];               /* instruction index of each placed label, -1 if not */
        unsigned next_label;
        size_t n;
        bool overflow;
} Asm;

static void asm_init(Asm *a) {
        *a = (Asm) { .next_label = _L_FIXED };
        for (size_t i = 0; i < ASM_LABELS; i++)
                a->at[i] = -1;
}

static unsigned asm_label(Asm *a) {
        if (a->next_label >= ASM_LABELS) {
                a->overflow = true;
                return L_NEXT;
        }
        return a->next_label++;
}

static void asm_place(Asm *a, unsigned label) {
        a->at[label] = (int) a->n;
}

static void asm_emit(Asm *a, struct sock_filter f, unsigned jt, unsigned jf) {
        if (a->n >= ASM_MAX) {
                a->overflow = true;
                return;
        }
        a->jt[a->n] = (uint8_t) jt;
        a->jf[a->n] = (uint8_t) jf;
        a->insn[a->n++] = f;
}

static void asm_stmt(Asm *a, uint16_t code, uint32_t k) {
        asm_emit(a, (struct sock_filter) BPF_STMT(code, k), L_NEXT, L_NEXT);
}

static void asm_jump(Asm *a, uint16_t op, uint32_t k, unsigned jt, unsigned jf) {
        asm_emit(a, (struct sock_filter) BPF_JUMP(BPF_JMP | op | BPF_K, k, 0, 0), jt, jf);
}

static void asm_ret(Asm *a, uint32_t action) {
        asm_stmt(a, BPF_RET | BPF_K, action);
}

static void asm_load_nr(Asm *a) {
        asm_stmt(a, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
}

/* The low 32 bits of argument i (x86_64 is little-endian): what the kernel reads of an int. */
static void asm_load_arg_lo(Asm *a, unsigned i) {
        asm_stmt(a, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args) + 8 * i);
}

static void asm_load_arg_hi(Asm *a, unsigned i) {
        asm_stmt(a, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args) + 8 * i + 4);
}

/* Wrong architecture or an x32 call: kill the process (as the promise prologue does). */
static void asm_prologue(Asm *a) {
        asm_stmt(a, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
        asm_jump(a, BPF_JEQ, AUDIT_ARCH_X86_64, L_NEXT, L_KILL);
        asm_load_nr(a);
        asm_jump(a, BPF_JGE, X32_SYSCALL_BIT, L_KILL, L_NEXT);
}

/* Appends the shared returns and resolves every jump. */
static int asm_finish(Asm *a, SeccompProgram *ret) {
        static const uint32_t actions[_L_FIXED] = {
                [L_ALLOW] = SECCOMP_RET_ALLOW,
                [L_NOTIFY] = SECCOMP_RET_USER_NOTIF,
                [L_KILL] = SECCOMP_RET_KILL_PROCESS,
                [L_EPERM] = SECCOMP_RET_ERRNO | EPERM,
                [L_ENOSYS] = SECCOMP_RET_ERRNO | ENOSYS,
                [L_EPROTONOSUPPORT] = SECCOMP_RET_ERRNO | EPROTONOSUPPORT,
        };
        for (unsigned l = L_ALLOW; l < _L_FIXED; l++) {
                asm_place(a, l);
                asm_ret(a, actions[l]);
        }
        if (a->overflow)
                return -E2BIG;
        for (size_t i = 0; i < a->n; i++) {
                if (BPF_CLASS(a->insn[i].code) != BPF_JMP || BPF_OP(a->insn[i].code) == BPF_JA)
                        continue;
                const unsigned labels[2] = { a->jt[i], a->jf[i] };
                uint8_t *fields[2] = { &a->insn[i].jt, &a->insn[i].jf };
                for (int k = 0; k < 2; k++) {
                        if (labels[k] == L_NEXT)
                                continue;
                        int to = a->at[labels[k]];
                        if (to <= (int) i || to - (int) i - 1 > 255)
                                return -EINVAL;
                        *fields[k] = (uint8_t) (to - (int) i - 1);
                }
        }
        ret->insns = xmalloc(a->n * sizeof(struct sock_filter));
        memcpy(ret->insns, a->insn, a->n * sizeof(struct sock_filter));
        ret->len = a->n;
        return 0;
}

int seccomp_supervisor_program(unsigned what, SeccompProgram *ret) {
        Asm a;
        asm_init(&a);
        asm_prologue(&a);
        if (what & SUPERVISE_EXEC) {
                asm_jump(&a, BPF_JEQ, __NR_execve, L_NOTIFY, L_NEXT);
                asm_jump(&a, BPF_JEQ, __NR_execveat, L_NOTIFY, L_NEXT);
        }
        if (what & SUPERVISE_LISTEN)
                asm_jump(&a, BPF_JEQ, __NR_listen, L_NOTIFY, L_NEXT);
        if (what & SUPERVISE_CONFIRM) {
                /* prctl(OPTION, MAGIC, ...), every 64-bit word compared whole */
                asm_jump(&a, BPF_JEQ, __NR_prctl, L_NEXT, L_ALLOW);
                asm_load_arg_lo(&a, 0);
                asm_jump(&a, BPF_JEQ, (uint32_t) SECCOMP_CONFIRM_OPTION, L_NEXT, L_ALLOW);
                asm_load_arg_hi(&a, 0);
                asm_jump(&a, BPF_JEQ, (uint32_t) (SECCOMP_CONFIRM_OPTION >> 32), L_NEXT, L_ALLOW);
                asm_load_arg_lo(&a, 1);
                asm_jump(&a, BPF_JEQ, (uint32_t) SECCOMP_CONFIRM_MAGIC, L_NEXT, L_ALLOW);
                asm_load_arg_hi(&a, 1);
                asm_jump(&a, BPF_JEQ, (uint32_t) (SECCOMP_CONFIRM_MAGIC >> 32), L_NOTIFY, L_ALLOW);
        }
        asm_ret(&a, SECCOMP_RET_ALLOW);
        return asm_finish(&a, ret);
}

#ifndef __NR_open_tree_attr
#  define __NR_open_tree_attr 467
#endif
#ifndef __NR_fchmodat2
#  define __NR_fchmodat2 452
#endif

/* Numbers from here on are newer than this table: ENOSYS until someone has looked at them
 * (listns, 470, is the last one Linux 6.18 knows). */
#define BASELINE_NR_UNKNOWN 471

/* Refused for every task (EPERM), Docker's default profile's class: what creates or reaches
 * namespaces, loads code into the kernel, exposes kernel attack surface an unprivileged user
 * can reach (bpf, perf, userfaultfd, io_uring, keyrings), or needs a capability no task has. */
static const int baseline_denied[] = {
        /* namespaces and the mount API */
        __NR_setns, __NR_mount, __NR_umount2, __NR_pivot_root, __NR_chroot, __NR_fsopen, __NR_fsconfig,
        __NR_fsmount, __NR_fspick, __NR_open_tree, __NR_open_tree_attr, __NR_move_mount, __NR_mount_setattr,
        /* kernel attack surface reachable without privilege */
        __NR_bpf, __NR_perf_event_open, __NR_userfaultfd, __NR_io_uring_setup, __NR_io_uring_enter,
        __NR_io_uring_register, __NR_keyctl, __NR_add_key, __NR_request_key, __NR_fanotify_init,
        __NR_modify_ldt,
        /* other processes (Docker allows them with CAP_SYS_PTRACE only) */
        __NR_kcmp, __NR_pidfd_getfd, __NR_process_madvise,
        /* the kernel, the machine, the clock */
        __NR_kexec_load, __NR_kexec_file_load, __NR_init_module, __NR_finit_module, __NR_delete_module,
        __NR_acct, __NR_swapon, __NR_swapoff, __NR_reboot, __NR_syslog, __NR_open_by_handle_at, __NR_quotactl,
        __NR_quotactl_fd, __NR_iopl, __NR_ioperm, __NR_settimeofday, __NR_clock_settime, __NR_vhangup,
        __NR_sethostname, __NR_setdomainname, __NR_lookup_dcookie,
        /* obsolete */
        __NR_uselib, __NR_ustat, __NR_sysfs,
};

/* clone(2), unshare(2): any namespace flag (NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID,
 * NEWNET; unshare also NEWTIME, which in clone's low byte is the exit signal instead). */
#define BASELINE_CLONE_NS 0x7e020000U
#define BASELINE_UNSHARE_NS (BASELINE_CLONE_NS | 0x80U)
#define SETID_BITS 06000U /* S_ISUID | S_ISGID */

/* personality(2): what Docker allows; never READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE and the like. */
static const uint32_t baseline_personalities[] = { 0x0, 0x8, 0x20000, 0x20008, 0xffffffffU };

/* Returns EPERM when the mode argument has a set-id bit (systemd's RestrictSUIDSGID=). */
static void asm_setid_mode(Asm *a, int nr, unsigned mode_arg) {
        unsigned skip = asm_label(a);
        asm_jump(a, BPF_JEQ, (uint32_t) nr, L_NEXT, skip);
        asm_load_arg_lo(a, mode_arg);
        asm_jump(a, BPF_JSET, SETID_BITS, L_EPERM, L_ALLOW);
        asm_place(a, skip);
}

/* open/openat: the mode only counts with O_CREAT or O_TMPFILE. */
static void asm_setid_open(Asm *a, int nr, unsigned flags_arg) {
        unsigned skip = asm_label(a);
        asm_jump(a, BPF_JEQ, (uint32_t) nr, L_NEXT, skip);
        asm_load_arg_lo(a, flags_arg);
        asm_jump(a, BPF_JSET, O_CREAT | O_TMPFILE_BIT, L_NEXT, L_ALLOW);
        asm_load_arg_lo(a, flags_arg + 1);
        asm_jump(a, BPF_JSET, SETID_BITS, L_EPERM, L_ALLOW);
        asm_place(a, skip);
}

int seccomp_baseline_program(unsigned what, SeccompProgram *ret) {
        Asm a;
        asm_init(&a);
        asm_prologue(&a);

        if (what & BASELINE_DENY) {
                /* number-only decisions first: they keep the kernel's action cache valid */
                asm_jump(&a, BPF_JGE, BASELINE_NR_UNKNOWN, L_ENOSYS, L_NEXT);
                asm_jump(&a, BPF_JEQ, __NR_clone3, L_ENOSYS, L_NEXT); /* libc falls back to clone */
                asm_jump(&a, BPF_JEQ, __NR_openat2, L_ENOSYS, L_NEXT); /* its mode is out of reach */
                for (size_t i = 0; i < ELEMENTSOF(baseline_denied); i++)
                        asm_jump(&a, BPF_JEQ, (uint32_t) baseline_denied[i], L_EPERM, L_NEXT);

                unsigned no_clone = asm_label(&a), no_unshare = asm_label(&a), no_pers = asm_label(&a);
                asm_jump(&a, BPF_JEQ, __NR_clone, L_NEXT, no_clone);
                asm_load_arg_lo(&a, 0);
                asm_jump(&a, BPF_JSET, BASELINE_CLONE_NS, L_EPERM, L_ALLOW);
                asm_place(&a, no_clone);
                asm_jump(&a, BPF_JEQ, __NR_unshare, L_NEXT, no_unshare);
                asm_load_arg_lo(&a, 0);
                asm_jump(&a, BPF_JSET, BASELINE_UNSHARE_NS, L_EPERM, L_ALLOW);
                asm_place(&a, no_unshare);
                asm_jump(&a, BPF_JEQ, __NR_personality, L_NEXT, no_pers);
                asm_load_arg_lo(&a, 0);
                for (size_t i = 0; i < ELEMENTSOF(baseline_personalities); i++)
                        asm_jump(&a, BPF_JEQ, baseline_personalities[i], L_ALLOW, L_NEXT);
                asm_ret(&a, SECCOMP_RET_ERRNO | EPERM);
                asm_place(&a, no_pers);

                asm_setid_mode(&a, __NR_chmod, 1);
                asm_setid_mode(&a, __NR_fchmod, 1);
                asm_setid_mode(&a, __NR_fchmodat, 2);
                asm_setid_mode(&a, __NR_fchmodat2, 2);
                asm_setid_mode(&a, __NR_creat, 1);
                asm_setid_mode(&a, __NR_mknod, 1);
                asm_setid_mode(&a, __NR_mknodat, 2);
                asm_setid_open(&a, __NR_open, 1);
                asm_setid_open(&a, __NR_openat, 2);
        }

        /* socket(2): AF_VSOCK reaches the hypervisor's host, whatever the network mode;
         * IPPROTO_MPTCP where TCP port rules are set. Both read as ints by the kernel. */
        if (what & (BASELINE_DENY | BASELINE_NO_MPTCP)) {
                unsigned no_socket = asm_label(&a);
                asm_jump(&a, BPF_JEQ, __NR_socket, L_NEXT, no_socket);
                if (what & BASELINE_DENY) {
                        asm_load_arg_lo(&a, 0);
                        asm_jump(&a, BPF_JEQ, AF_VSOCK, L_EPERM, L_NEXT);
                }
                if (what & BASELINE_NO_MPTCP) {
                        asm_load_arg_lo(&a, 2);
                        asm_jump(&a, BPF_JEQ, IPPROTO_MPTCP, L_EPROTONOSUPPORT, L_NEXT);
                }
                asm_ret(&a, SECCOMP_RET_ALLOW);
                asm_place(&a, no_socket);
        }
        asm_ret(&a, SECCOMP_RET_ALLOW);
        return asm_finish(&a, ret);
}

size_t seccomp_program_patch_pid(SeccompProgram *p, pid_t pid) {
        size_t n = 0;
        for (size_t i = 0; i < p->len; i++)
                if (BPF_CLASS(p->insns[i].code) == BPF_JMP && p->insns[i].k == SECCOMP_PID_PLACEHOLDER) {
                        p->insns[i].k = (uint32_t) pid;
                        n++;
                }
        return n;
}

int seccomp_program_load(const SeccompProgram *p, unsigned flags) {
        struct sock_fprog prog = { .len = (unsigned short) p->len, .filter = p->insns };
        long r;

        if (flags == 0)
                r = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
        else
                r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
        if (r < 0)
                return -errno;
        return (int) r;
}

int seccomp_program_to_memfd(const SeccompProgram *p, int *ret_fd, SbxError *err) {
        _cleanup_close_ int fd = memfd_create("sandbox-seccomp", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return sbx_error_errno(err, errno, "seccomp: memfd_create");
        size_t size = p->len * sizeof(struct sock_filter), done = 0;
        while (done < size) {
                ssize_t n = write(fd, (const char *) p->insns + done, size - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return sbx_error_errno(err, n < 0 ? errno : EIO, "seccomp: writing the filter memfd");
                done += (size_t) n;
        }
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
                return sbx_error_errno(err, errno, "seccomp: sealing the filter memfd");
        *ret_fd = TAKE_FD(fd);
        return 0;
}

void seccomp_program_done(SeccompProgram *p) {
        if (!p)
                return;
        free(p->insns);
        p->insns = NULL;
        p->len = 0;
}

SeccompProgram seccomp_program_copy(const SeccompProgram *p) {
        SeccompProgram c = { .len = p->len };
        if (p->len) {
                c.insns = xmalloc(p->len * sizeof(*p->insns));
                memcpy(c.insns, p->insns, p->len * sizeof(*p->insns));
        }
        return c;
}
