/* SPDX-License-Identifier: MIT */
/* bench/filter.c: see filter.h. */
#include <errno.h>
#include <stddef.h>

#include "filter.h"

static const char *const allow_list[] = {
        /* process start-up (ld.so, libc init) and exit */
        "execve", "brk", "arch_prctl", "mmap", "mprotect", "munmap", "mremap", "madvise",
        "set_tid_address", "set_robust_list", "rseq", "prlimit64", "getrandom", "exit", "exit_group",
        /* stdio */
        "read", "write", "readv", "writev", "pread64", "pwrite64", "close", "dup", "dup2", "dup3",
        "lseek", "fstat", "newfstatat", "statx", "fcntl", "ioctl", "pipe", "pipe2", "poll", "ppoll",
        "select", "pselect6", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
        "clock_gettime", "clock_nanosleep", "nanosleep", "gettimeofday", "getpid", "getppid",
        "gettid", "getuid", "geteuid", "getgid", "getegid", "getgroups", "getpgrp", "getrlimit",
        "getrusage", "uname", "futex", "sched_yield", "sched_getaffinity", "rt_sigaction",
        "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "socketpair", "sendto", "recvfrom",
        "sendmsg", "recvmsg", "shutdown", "umask", "wait4", "kill", "tgkill",
        /* rpath */
        "openat", "open", "access", "faccessat", "faccessat2", "readlink", "readlinkat", "getcwd",
        "chdir", "fchdir", "getdents64", "stat", "lstat", "fstatfs", "statfs",
};

static const char *const deny_list[] = {
        "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module",
        "finit_module", "init_module", "ioperm", "iopl", "kcmp", "kexec_file_load", "kexec_load",
        "keyctl", "lookup_dcookie", "mount", "move_pages", "open_by_handle_at", "perf_event_open",
        "personality", "pivot_root", "process_vm_readv", "process_vm_writev", "ptrace", "quotactl",
        "reboot", "request_key", "setns", "settimeofday", "swapoff", "swapon", "sysfs", "umount2",
        "unshare", "userfaultfd", "vhangup",
};

int bench_filter_new(BenchFilterKind kind, scmp_filter_ctx *ret) {
        bool allow = kind == BENCH_FILTER_ALLOW_LIST;
        const char *const *names = allow ? allow_list : deny_list;
        size_t n = allow ? sizeof(allow_list) / sizeof(allow_list[0]) : sizeof(deny_list) / sizeof(deny_list[0]);
        scmp_filter_ctx ctx = seccomp_init(allow ? SCMP_ACT_ERRNO(EPERM) : SCMP_ACT_ALLOW);
        if (!ctx)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                int nr = seccomp_syscall_resolve_name(names[i]);
                if (nr == __NR_SCMP_ERROR)
                        continue; /* not on this architecture */
                int r = seccomp_rule_add(ctx, allow ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(EPERM), nr, 0);
                if (r < 0) {
                        seccomp_release(ctx);
                        return r;
                }
        }
        *ret = ctx;
        return 0;
}
