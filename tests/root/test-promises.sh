#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/root/test-promises.sh: every pledge promise, from inside the sandbox.
#
# For each promise: what it allows gets through the filter (the probe's bad-argument syscall
# then fails with the kernel's own EBADF/EFAULT/EINVAL/..., or a real operation succeeds), and
# representative calls it does not allow fail with EPERM. The reference is Cosmopolitan's
# pledge-linux.c (table in docs/promises.md). Plus: the ENOSYS set, foreign ABIs, no filter
# without --promises (the baseline filter), the empty promise set, exec-once, and the narrowing
# of dynamic programs.
set -u
# shellcheck source=tests/root/lib.sh
. "$(dirname "$0")/lib.sh"

require_sandbox_host
: "${PROBE_DYN:?}" "${PROBE_RAW:?}"

T=$TEST_TMP

# The test files are unveiled rwc, so that what fails here fails because of seccomp.
U=(--unveil "rwc:$T")

# pr ERRNO PROMISES PROBE-ARGS...: the probe, run under PROMISES, exits with ERRNO.
pr() {
        local want=$1 promises=$2
        shift 2
        expect_exit "$want" "'$promises': $* -> $(errno_name "$want")" -- \
                "$SANDBOXCTL" run "${U[@]}" --promises "$promises" -- "$PROBE" "$@"
}

# sc PROMISES ERRNO NAME...: several bad-argument syscalls with the same expected errno.
sc() {
        local promises=$1 want=$2 name
        shift 2
        for name in "$@"; do
                pr "$want" "$promises" syscall "$name"
        done
}

# Files the real-operation tests use.
mkdir -p "$T/d" "$T/c"
echo data >"$T/d/file"
echo data >"$T/d/wfile"

# ------------------------------------------------------------------------------------------
# No --promises: the baseline filter only (tests/root/test-launch.sh has its whole list), and
# no filter at all with --no-baseline-filter.

expect_output 0 2 "no --promises: the baseline filter (Seccomp: 2)" -- sbx -- "$PROBE" status Seccomp
expect_output 0 0 "no --promises, --no-baseline-filter: no filter (Seccomp: 0)" -- \
        sbx --no-baseline-filter -- "$PROBE" status Seccomp
pr_none() {
        local want=$1
        shift
        expect_exit "$want" "no promises, no baseline: $* -> $(errno_name "$want") (the kernel's answer, no filter)" -- \
                "$SANDBOXCTL" run --no-baseline-filter -- "$PROBE" "$@"
}
pr_none "$ESRCH" syscall ptrace
pr_none "$EFAULT" syscall mount
pr_none "$EFAULT" syscall bpf
pr_none "$EINVAL" syscall unshare
pr_none "$EBADF" syscall setns
pr_none "$EINVAL" syscall clone3
pr_none "$EINVAL" syscall openat2
pr_none "$EFAULT" syscall memfd_create
pr_none "$EFAULT" syscall fchmodat2
pr_none 0 exec /bin/true
pr_none 0 mmap-exec
pr_base() {
        local want=$1
        shift
        expect_exit "$want" "no promises: $* -> $(errno_name "$want") (the baseline filter)" -- \
                "$SANDBOXCTL" run -- "$PROBE" "$@"
}
pr_base "$ESRCH" syscall ptrace
pr_base "$EPERM" syscall mount
pr_base "$EPERM" syscall bpf
pr_base "$EINVAL" syscall unshare
pr_base "$EPERM" syscall setns
pr_base "$ENOSYS" syscall clone3
pr_base "$ENOSYS" syscall openat2
pr_base "$EFAULT" syscall memfd_create
pr_base "$EFAULT" syscall fchmodat2
pr_base 0 exec /bin/true
pr_base 0 mmap-exec

expect_stderr_match "$EINVAL" "probe: syscall: unknown name" "probe rejects an unknown syscall name (EINVAL)" -- \
        "$PROBE" syscall no-such-syscall

# ------------------------------------------------------------------------------------------
# Promise parsing.

expect_stderr_match 2 "^sandboxctl: --promises: unknown promise 'foo'$" \
        "--promises 'stdio foo': exit 2, message names the promise" -- sbx "${U[@]}" --promises "stdio foo" -- "$PROBE" exit 0
check "$([ -z "$OUT" ]; echo $?)" "--promises 'stdio foo': nothing on stdout"
expect_exit 0 "promise names are case-insensitive ('STDIO Rpath')" -- \
        sbx "${U[@]}" --promises "STDIO Rpath" -- "$PROBE" read "$T/d/file"
expect_exit 0 "promises may be separated by tabs and newlines" -- \
        sbx "${U[@]}" --promises $'stdio\trpath\nwpath' -- "$PROBE" read "$T/d/file"
expect_exit 0 "duplicate promises are accepted ('stdio stdio')" -- sbx "${U[@]}" --promises "stdio stdio" -- "$PROBE" exit 0
long=$(printf 'stdio %.0s' $(seq 1 50))
expect_stderr_match 2 "^sandboxctl: --promises: " "a promise string over 256 bytes is refused (exit 2)" -- \
        sbx "${U[@]}" --promises "$long" -- "$PROBE" exit 0

# ------------------------------------------------------------------------------------------
# The empty promise set: only exit(2). glibc cannot even start, so the libc-free probe-raw.

expect_output 0 "probe-raw" "'stdio': probe-raw writes to stdout" -- sbx "${U[@]}" --promises "stdio" -- "$PROBE_RAW" write
expect_output "$EPERM" "" "'': even write(2) fails with EPERM (probe-raw)" -- \
        sbx "${U[@]}" --promises "" -- "$PROBE_RAW" write
expect_exit "$EPERM" "'': exit_group(2) fails with EPERM, exit(2) still works (probe-raw)" -- \
        sbx "${U[@]}" --promises "" -- "$PROBE_RAW" exit-group 7
expect_exit 7 "'stdio': exit_group(7) works (probe-raw)" -- sbx "${U[@]}" --promises "stdio" -- "$PROBE_RAW" exit-group 7

# ------------------------------------------------------------------------------------------
# stdio

expect_output 0 "hello" "'stdio': the static probe runs and writes" -- sbx "${U[@]}" --promises stdio -- "$PROBE" echo hello
sc stdio "$EBADF" read write close dup dup2 dup3 lseek fstat fsync ftruncate recvfrom sendto shutdown \
        fcntl-getfd fcntl-dupfd-cloexec ioctl-fionread ioctl-fionbio ioctl-fioclex
sc stdio "$EFAULT" pipe2 uname getrandom sysinfo nanosleep socketpair getrlimit
sc stdio "$EINVAL" clock_gettime madvise munmap mprotect epoll_create1 eventfd2 timerfd_create rt_sigaction
# The probe's clone-thread is the thread flags plus CLONE_NEWUSER (which the kernel refuses with
# EINVAL). Cosmopolitan lets it through; we close every CLONE_NEW* (docs/promises.md).
sc stdio "$EPERM" clone-thread
sc stdio "$ECHILD" wait4
sc stdio "$ESRCH" tkill tgkill-self
sc stdio 0 getpid sched_yield umask kill-self prlimit64-get prctl-set-name prctl-get-seccomp
pr 0 stdio thread
pr 0 stdio kill-self 0
# what stdio does not allow
sc stdio "$EPERM" open openat stat newfstatat getcwd mkdir unlink chmod chown utimensat mknod flock \
        socket-inet-stream socket-unix-stream connect bind sendmsg recvmsg sendto-addr \
        fcntl-setown fcntl-setlk ioctl-tcgets mprotect-exec mmap-locked prctl-set-dumpable \
        kill tgkill clone-proc setpgid getpriority setuid settimeofday execve landlock_create_ruleset
pr "$EPERM" stdio fork
pr "$EPERM" stdio mmap-exec
pr "$EPERM" stdio read "$T/d/file"

# ------------------------------------------------------------------------------------------
# rpath

sc "stdio rpath" "$EFAULT" open openat stat lstat newfstatat statx access faccessat readlink readlinkat \
        getcwd chdir statfs
sc "stdio rpath" "$EBADF" fchdir getdents64 getdents fstatfs
pr 0 "stdio rpath" read "$T/d/file"
pr 0 "stdio rpath" ls "$T/d"
sc "stdio rpath" "$EPERM" openat-wronly openat-rdwr openat-creat openat-rdonly-trunc openat-tmpfile truncate \
        mkdir unlink rename
pr "$EPERM" "stdio rpath" write "$T/d/file"

# ------------------------------------------------------------------------------------------
# wpath

sc "stdio wpath" "$EFAULT" openat-wronly openat-rdwr openat-trunc truncate chmod getcwd stat access
sc "stdio wpath" "$EBADF" fchmod
sc "stdio wpath" "$EPERM" openat open openat-creat mkdir unlink chmod-setuid fchmod-setgid
expect_exit 0 "'stdio wpath' + w:FILE: write FILE works" -- \
        sbx "${U[@]}" --promises "stdio wpath" --unveil "w:$T/d/wfile" -- "$PROBE" write "$T/d/wfile"
expect_exit "$EPERM" "'stdio wpath' + rw:FILE: read FILE is EPERM (wpath does not imply rpath)" -- \
        sbx "${U[@]}" --promises "stdio wpath" --unveil "rw:$T/d/wfile" -- "$PROBE" read "$T/d/wfile"

# ------------------------------------------------------------------------------------------
# cpath

sc "stdio cpath" "$EFAULT" openat-creat creat openat-tmpfile mkdir mkdirat rmdir unlink unlinkat rename \
        renameat renameat2 link linkat symlink symlinkat
sc "stdio cpath" "$EPERM" openat-creat-setuid openat openat-wronly mknod truncate
expect_exit 0 "'stdio cpath' + c:DIR: mkdir DIR/sub works" -- \
        sbx "${U[@]}" --promises "stdio cpath" --unveil "c:$T/c" -- "$PROBE" mkdir "$T/c/sub"
expect_exit 0 "'stdio cpath' + wc:DIR: create DIR/new works" -- \
        sbx "${U[@]}" --promises "stdio cpath" --unveil "wc:$T/c" -- "$PROBE" create "$T/c/new"
expect_exit "$EPERM" "'stdio' + wc:DIR: create DIR/new2 is EPERM" -- \
        sbx "${U[@]}" --promises "stdio" --unveil "wc:$T/c" -- "$PROBE" create "$T/c/new2"
expect_exit 0 "'stdio cpath' + c:DIR: unlink DIR/new works" -- \
        sbx "${U[@]}" --promises "stdio cpath" --unveil "c:$T/c" -- "$PROBE" unlink "$T/c/new"

# ------------------------------------------------------------------------------------------
# dpath

sc "stdio dpath" "$EFAULT" mknod mknodat
sc "stdio" "$EPERM" mknodat
expect_exit 0 "'stdio dpath' + c:DIR: mkfifo DIR/fifo works" -- \
        sbx "${U[@]}" --promises "stdio dpath" --unveil "c:$T/c" -- "$PROBE" mkfifo "$T/c/fifo"
expect_exit "$EPERM" "'stdio cpath' + c:DIR: mkfifo is EPERM (mknod needs dpath)" -- \
        sbx "${U[@]}" --promises "stdio cpath" --unveil "c:$T/c" -- "$PROBE" mkfifo "$T/c/fifo2"

# ------------------------------------------------------------------------------------------
# flock

sc "stdio flock" "$EBADF" flock fcntl-getlk fcntl-setlk fcntl-setlkw fcntl-ofd-setlk
sc "stdio" "$EPERM" fcntl-getlk fcntl-setlkw fcntl-ofd-setlk
pr 0 "stdio rpath flock" flock "$T/d/file"
pr 0 "stdio rpath flock" fcntl-lock "$T/d/file"
pr "$EPERM" "stdio rpath" flock "$T/d/file"
pr "$EPERM" "stdio rpath" fcntl-lock "$T/d/file"

# ------------------------------------------------------------------------------------------
# fattr

sc "stdio fattr" "$EFAULT" utimensat utimes utime futimesat chmod fchmodat
sc "stdio fattr" "$EBADF" fchmod
sc "stdio fattr" "$EPERM" chmod-setuid chmod-sticky fchmod-setgid
sc "stdio" "$EPERM" utimes fchmod
pr 0 "stdio fattr" chmod "$T/d/file" 600
pr "$EPERM" "stdio fattr" chmod "$T/d/file" 4755
pr 0 "stdio fattr" utime "$T/d/file"
check "$([ "$(stat -c %a "$T/d/file")" = 600 ]; echo $?)" "'stdio fattr': the chmod 600 really happened, the 4755 did not"

# ------------------------------------------------------------------------------------------
# chown

sc "stdio chown" "$EFAULT" chown lchown fchownat
sc "stdio chown" "$EBADF" fchown
sc "stdio" "$EPERM" lchown fchownat fchown
pr 0 "stdio chown" chown "$T/d/file" 0 0
pr "$EPERM" "stdio" chown "$T/d/file" 0 0

# ------------------------------------------------------------------------------------------
# tty

sc "stdio tty" "$EBADF" ioctl-tcgets ioctl-tiocgwinsz
sc "stdio tty" "$EPERM" ioctl-tiocsti ioctl-tiocsti-high
sc "stdio" "$EPERM" ioctl-tiocgwinsz
pr "$ENOTTY" "stdio tty" ioctl tcgets
pr "$ENOTTY" "stdio tty" ioctl tiocgwinsz
pr "$EPERM" "stdio" ioctl tcgets
pr "$EPERM" "stdio tty" ioctl tiocsti
pr "$EPERM" "stdio tty" ioctl tiocsti-high
pr 0 "stdio" ioctl fionread

# ------------------------------------------------------------------------------------------
# inet

sc "stdio inet" 0 socket-inet-stream socket-inet-dgram
sc "stdio inet" "$EBADF" connect bind listen accept accept4 getsockname getpeername sendto-addr setsockopt \
        getsockopt ioctl-siocatmark
sc "stdio inet" "$EPERM" socket-unix-stream socket-netlink socket-inet-badproto setsockopt-bindtodevice \
        getsockopt-ip recvmsg sendmsg
pr 0 "stdio inet" socket inet6 stream
pr "$EPERM" "stdio inet" socket inet raw 1
pr "$EPERM" "stdio inet" socket inet seqpacket
pr "$ECONNREFUSED" "stdio inet" connect 127.0.0.1:1
pr 0 "stdio inet" connect-self 18080
pr 0 "stdio inet" udp-send 127.0.0.1:9
pr "$EPERM" "stdio" connect 127.0.0.1:1

# ------------------------------------------------------------------------------------------
# anet: TCP servers only

sc "stdio anet" 0 socket-inet-stream
sc "stdio anet" "$EBADF" bind listen accept accept4 getsockname
sc "stdio anet" "$EPERM" socket-inet-dgram connect socket-unix-stream
pr 0 "stdio anet" bind 18081
pr "$EPERM" "stdio anet" connect 127.0.0.1:1
pr "$EPERM" "stdio anet" udp-send 127.0.0.1:9

# ------------------------------------------------------------------------------------------
# unix

sc "stdio unix" 0 socket-unix-stream
sc "stdio unix" "$EBADF" connect bind listen accept accept4
sc "stdio unix" "$EPERM" socket-inet-stream socket-inet-dgram socket-netlink recvmsg
pr 0 "stdio unix" socket unix dgram
pr "$EPERM" "stdio unix" socket unix seqpacket
pr 0 "stdio unix" abstract-self "sbxtest-$$"
pr "$EPERM" "stdio" abstract-self "sbxtest-$$"

# ------------------------------------------------------------------------------------------
# dns

sc "stdio dns" 0 socket-inet-dgram
sc "stdio dns" "$EBADF" connect bind sendto-addr recvfrom recvmsg sendmsg
sc "stdio dns" "$EFAULT" openat newfstatat
sc "stdio dns" "$EPERM" socket-unix-stream listen openat-wronly openat-creat
pr 0 "stdio dns" udp-send 127.0.0.1:53
pr 0 "stdio dns" read /etc/hosts

# ------------------------------------------------------------------------------------------
# recvfd / sendfd

sc "stdio recvfd" "$EBADF" recvmsg recvmmsg
sc "stdio recvfd" "$EPERM" sendmsg sendmmsg
sc "stdio sendfd" "$EBADF" sendmsg sendmmsg
sc "stdio sendfd" "$EPERM" recvmsg recvmmsg
sc "stdio" "$EPERM" recvmmsg sendmmsg

# ------------------------------------------------------------------------------------------
# proc

pr 0 "stdio proc" fork
pr 0 "stdio proc" kill-child
expect_output 0 3 "'stdio proc': forkbomb 3 starts 3 children" -- sbx "${U[@]}" --promises "stdio proc" -- "$PROBE" forkbomb 3
sc "stdio proc" "$ESRCH" kill tgkill
sc "stdio proc" "$EINVAL" setpgid getpriority setpriority ioprio_get ioprio_set sched_getscheduler \
        sched_setscheduler sched_getparam sched_get_priority_max prlimit64-set setrlimit clone-proc
sc "stdio proc" "$EPERM" clone-newns clone-untraced unshare setns ptrace
sc "stdio" "$EPERM" setpriority ioprio_set sched_setscheduler prlimit64-set setrlimit clone-untraced
pr "$EPERM" "stdio" kill-child

# ------------------------------------------------------------------------------------------
# thread: accepted for pledge-driver jobs, grants nothing (threads come from stdio)

pr 0 "stdio thread" thread
pr 0 "stdio" thread
pr "$EPERM" "stdio thread" fork
sc "stdio thread" "$EPERM" clone-proc openat

# ------------------------------------------------------------------------------------------
# id

sc "stdio id" "$EINVAL" setuid setgid getpriority prlimit64-set
sc "stdio id" 0 setreuid setresuid setresgid setfsuid
sc "stdio" "$EPERM" setgid setreuid setresuid setresgid setfsuid

# ------------------------------------------------------------------------------------------
# settime

sc "stdio settime" "$EFAULT" settimeofday clock_adjtime
sc "stdio" "$EPERM" clock_adjtime

# ------------------------------------------------------------------------------------------
# exec (and exec-once without it)

sc "stdio exec" "$EFAULT" execve execveat
sc "stdio rpath" "$EPERM" execve execveat
pr 0 "stdio rpath prot_exec exec" exec /bin/true
pr "$EPERM" "stdio rpath prot_exec" exec /bin/true
# A dynamic program started from inside gets no preload: it runs under the task's own filter,
# so ld.so needs rpath and prot_exec among the promises (as with pledge(2) and execpromises).
expect_stderr_match 127 "/bin/true: error while loading shared libraries" \
        "'stdio rpath exec': a dynamic program exec'd from inside cannot map its libraries without prot_exec" -- \
        sbx "${U[@]}" --promises "stdio rpath exec" -- "$PROBE" exec /bin/true
pr 5 "stdio exec" exec "$PROBE" exit 5
pr "$EPERM" "stdio" exec "$PROBE" exit 5
expect_output 0 "hi" "'stdio': the first (launch) exec is allowed without the exec promise" -- \
        sbx "${U[@]}" --promises "stdio" -- "$PROBE" echo hi
expect_stderr_match 126 "/bin/true: Operation not permitted" \
        "'stdio rpath proc': /bin/sh -c /bin/true cannot start true (EPERM, sh exits 126)" -- \
        sbx "${U[@]}" --promises "stdio rpath proc" -- /bin/sh -c /bin/true
expect_stderr_match 0 "/bin/true: Operation not permitted" \
        "'stdio rpath proc': a forked child of sh cannot exec either" -- \
        sbx "${U[@]}" --promises "stdio rpath proc" -- /bin/sh -c '/bin/true; exit 0'
expect_exit 0 "'stdio rpath proc exec prot_exec': /bin/sh -c /bin/true works" -- \
        sbx "${U[@]}" --promises "stdio rpath proc exec prot_exec" -- /bin/sh -c /bin/true
expect_exit 3 "'stdio rpath proc exec': sh forks and execs the static probe, returns its code" -- \
        sbx "${U[@]}" --unveil "rx:$PROBE" --promises "stdio rpath proc exec" -- /bin/sh -c "$PROBE exit 3; exit \$?"
expect_exit "$EPERM" "'stdio rpath prot_exec': dynamic probe-dyn cannot exec /bin/true" -- \
        sbx "${U[@]}" --promises "stdio rpath prot_exec" -- "$PROBE_DYN" exec /bin/true
expect_exit 0 "'stdio rpath prot_exec exec': dynamic probe-dyn can exec /bin/true" -- \
        sbx "${U[@]}" --promises "stdio rpath prot_exec exec" -- "$PROBE_DYN" exec /bin/true

# ------------------------------------------------------------------------------------------
# prot_exec, and the narrowing of dynamic programs

pr 0 "stdio prot_exec" mmap-exec
pr 0 "stdio prot_exec" mprotect-exec
sc "stdio prot_exec" "$EINVAL" mprotect-exec
sc "stdio prot_exec" "$EPERM" mmap-locked
pr "$EPERM" "stdio" mprotect-exec
expect_output 0 "hi" "'stdio': dynamic probe-dyn starts (ld.so got rpath+prot_exec) and writes" -- \
        sbx "${U[@]}" --promises "stdio" -- "$PROBE_DYN" echo hi
expect_exit "$EPERM" "'stdio rpath': dynamic probe-dyn: mmap PROT_EXEC is EPERM after start-up" -- \
        sbx "${U[@]}" --promises "stdio rpath" -- "$PROBE_DYN" mmap-exec
expect_exit "$EPERM" "'stdio rpath': dynamic probe-dyn: mprotect PROT_EXEC is EPERM after start-up" -- \
        sbx "${U[@]}" --promises "stdio rpath" -- "$PROBE_DYN" mprotect-exec
expect_exit 0 "'stdio rpath prot_exec': dynamic probe-dyn: mmap PROT_EXEC works" -- \
        sbx "${U[@]}" --promises "stdio rpath prot_exec" -- "$PROBE_DYN" mmap-exec
expect_exit "$EPERM" "'stdio': dynamic probe-dyn: openat is EPERM (the implied rpath is gone)" -- \
        sbx "${U[@]}" --promises "stdio" -- "$PROBE_DYN" syscall openat
expect_exit "$EPERM" "'stdio': dynamic probe-dyn: reading a file is EPERM" -- \
        sbx "${U[@]}" --promises "stdio" -- "$PROBE_DYN" read "$T/d/file"
expect_exit 0 "'stdio rpath': dynamic probe-dyn reads a file" -- \
        sbx "${U[@]}" --promises "stdio rpath" -- "$PROBE_DYN" read "$T/d/file"
expect_output 0 2 "'stdio rpath': dynamic probe-dyn runs under the filter (Seccomp: 2)" -- \
        sbx "${U[@]}" --promises "stdio rpath" -- "$PROBE_DYN" status Seccomp
expect_stdout_match 0 "PATH=/" "'stdio rpath': dynamic probe-dyn prints its environment" -- \
        sbx "${U[@]}" --promises "stdio rpath" -- "$PROBE_DYN" env
check "$([[ $OUT != *LD_PRELOAD* && $OUT != *SANDBOX_SECCOMP_FD* ]]; echo $?)" \
        "'stdio rpath': dynamic probe-dyn's main() sees no LD_PRELOAD / SANDBOX_SECCOMP_FD" "env: $OUT"
expect_output 0 "0 1 2" "'stdio rpath': dynamic probe-dyn has only fds 0 1 2 (the filter memfd is closed)" -- \
        sbx "${U[@]}" --promises "stdio rpath" -- "$PROBE_DYN" fds

# ------------------------------------------------------------------------------------------
# unveil

sc "stdio unveil" 0 landlock_create_ruleset
sc "stdio unveil" "$EBADF" landlock_add_rule landlock_restrict_self
sc "stdio" "$EPERM" landlock_add_rule landlock_restrict_self

# ------------------------------------------------------------------------------------------
# vminfo, tmppath

pr 0 "stdio rpath vminfo" read /proc/meminfo
sc "stdio vminfo" 0 sched_yield
sc "stdio vminfo" "$EPERM" openat
sc "stdio tmppath" "$EFAULT" lstat unlink unlinkat
sc "stdio tmppath" "$EPERM" openat mkdir
sc "stdio" "$EPERM" lstat unlinkat

# ------------------------------------------------------------------------------------------
# Closed under any promises: ENOSYS for clone3/openat2/memfd_create and everything numbered
# >= 447, EPERM for what no promise grants, a kill for foreign ABIs.

all="stdio rpath wpath cpath dpath flock fattr chown tty inet anet unix dns recvfd sendfd proc thread id"
all+=" settime exec prot_exec unveil vminfo tmppath"
for p in stdio "$all"; do
        sc "$p" "$ENOSYS" clone3 openat2 memfd_create memfd_secret process_mrelease futex_waitv cachestat fchmodat2
done
sc "$all" "$EPERM" ptrace mount umount2 fsopen chroot unshare setns bpf perf_event_open userfaultfd personality \
        seccomp add_key keyctl io_uring_setup pidfd_open kcmp process_vm_readv name_to_handle_at syncfs \
        set_mempolicy clone-newns
pr 0 "$all" thread
pr 0 "$all" fork
# reboot and kexec_load need CAP_SYS_BOOT, which the task never has: EPERM either way.
sc "$all" "$EPERM" reboot kexec_load

host_x32=0
"$PROBE" x32 2>/dev/null || host_x32=$?
expect_exit "$host_x32" "no promises, no baseline: x32 syscall gets the kernel's answer ($(errno_name "$host_x32"), as on the host)" -- \
        sbx --no-baseline-filter -- "$PROBE" x32
expect_exit 159 "no promises: x32 syscall kills the task with SIGSYS (the baseline filter)" -- \
        sbx -- "$PROBE" x32
expect_exit 159 "'stdio': x32 syscall kills the task with SIGSYS (exit 128+31)" -- \
        sbx "${U[@]}" --promises stdio -- "$PROBE" x32
expect_exit 159 "'$all': x32 syscall kills the task with SIGSYS (exit 128+31)" -- \
        sbx "${U[@]}" --promises "$all" -- "$PROBE" x32

done_testing
