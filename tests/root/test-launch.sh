#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/root/test-launch.sh: the launch of a program, attacked. Each check is a regression test
# for a way a job's own binary got more than its rules allowed:
#   - ELF and "#!" read as the kernel reads them: a second PT_INTERP naming "/", program headers
#     past 4 KiB, a relative "#!" interpreter, too many "#!" levels;
#   - an executable stack (the program's PT_GNU_STACK, or a library's) needs prot_exec;
#   - the narrowing of a dynamic program's filter is verified from outside: a DT_NEEDED
#     constructor, a DT_PREINIT_ARRAY entry or an IFUNC resolver that keeps the preload helper
#     from narrowing, fakes its confirmation, forks past it or stalls gets the sandbox killed,
#     the reason recorded, main() never run;
#   - TCP port rules: no MPTCP around --tcp-connect, no listen(2) without bind(2) around
#     --tcp-bind;
#   - the baseline filter of a task without promises, and the policy's view of all this
#     (a dynamic program's launch set, baseline_filter = no) through sandboxd.
set -u
# shellcheck source=tests/root/lib.sh
. "$(dirname "$0")/lib.sh"

require_sandbox_host
: "${PROBE_RAW:?}" "${LAUNCH_HELPER_EVIL:?}" "${LAUNCH_HELPER_IFUNC:?}" "${LAUNCH_HELPER_EXECSTACK:?}"
: "${LAUNCH_HELPER_STATIC_X:?}" "${LAUNCH_HELPER_STATIC:?}" "${LAUNCH_LIB_DIR:?}"

T=$TEST_TMP
mkdir -p "$T/d" "$T/bin"
echo data >"$T/d/file"
# The helpers and their libraries, readable and executable by the task.
L=(--unveil "rx:$LAUNCH_LIB_DIR")


# ------------------------------------------------------------------------------------------
# ELF: the first PT_INTERP, and only a regular file is unveiled as an interpreter

patch_elf second-interp /bin/cat "$T/bin/cat2"
check "$(readelf -lW "$T/bin/cat2" 2>/dev/null | grep -c 'INTERP' | grep -qx 2; echo $?)" \
        "the crafted cat has two PT_INTERP (the second names '/')"
expect_output 0 data "the crafted cat runs (ld.so is happy with it) and reads an unveiled file" -- \
        sbx --user nobody --promises "stdio rpath" --unveil "r:$T/d" -- "$T/bin/cat2" "$T/d/file"
for extra in "" "--no-unveil-defaults"; do
        # shellcheck disable=SC2086
        expect_stderr_match 1 "/etc/passwd: Permission denied" \
                "crafted cat (second PT_INTERP '/') cannot read /etc/passwd (promises stdio rpath${extra:+, $extra})" -- \
                sbx --user nobody --promises "stdio rpath" $extra -- "$T/bin/cat2" /etc/passwd
        check "$([[ $OUT != *root:* ]]; echo $?)" "... and printed none of it" "$OUT"
        # shellcheck disable=SC2086
        expect_stderr_match 1 "/etc/passwd: Permission denied" \
                "crafted cat cannot read /etc/passwd (no promises${extra:+, $extra})" -- \
                sbx --user nobody $extra -- "$T/bin/cat2" /etc/passwd
done
expect_stderr_match 1 "/etc/shadow: Permission denied" "crafted cat cannot read /etc/shadow either (as root)" -- \
        sbx --promises "stdio rpath" -- "$T/bin/cat2" /etc/shadow

# Program headers past the first 4 KiB of a static program: still static, exact promises.
patch_elf far-phdrs "$PROBE_RAW" "$T/bin/raw-far"
check "$(readelf -hW "$T/bin/raw-far" | grep -q 'Start of program headers: *[0-9]\{4,\} '; echo $?)" \
        "raw-far has its program headers at 8 KiB or more"
expect_exit 0 "raw-far runs (the kernel reads headers wherever e_phoff says)" -- \
        sbx --unveil "r:$T/d" --promises "stdio rpath" -- "$T/bin/raw-far" open "$T/d/file"
expect_exit "$EPERM" "raw-far under 'stdio': open is EPERM (static: no launch window, no rpath)" -- \
        sbx --unveil "r:$T/d" --promises "stdio" -- "$T/bin/raw-far" open "$T/d/file"

# ------------------------------------------------------------------------------------------
# "#!" like binfmt_script: a relative interpreter is found from the task's working directory

cp "$PROBE" "$T/bin/probe"
printf '#!bin/probe read\n' >"$T/rel.sh"
chmod 755 "$T/rel.sh" "$T/bin/probe"
expect_exit 0 "relative '#!bin/probe', cwd $T: the static interpreter runs ('stdio rpath')" -- \
        sbx --cwd "$T" --unveil "rx:$T" --promises "stdio rpath" -- "$T/rel.sh"
expect_exit "$EPERM" "relative '#!bin/probe' under 'stdio': EPERM (a static interpreter: no launch window)" -- \
        sbx --cwd "$T" --unveil "rx:$T" --promises "stdio" -- "$T/rel.sh"
expect_stderr_match 125 "interpreter 'bin/probe': No such file or directory" \
        "relative '#!bin/probe' from cwd /: refused, naming the interpreter" -- \
        sbx --cwd / --unveil "rx:$T" --promises "stdio" -- "$T/rel.sh"
printf '#!/\n' >"$T/slash.sh"
chmod 755 "$T/slash.sh"
expect_stderr_match 125 "interpreter '/': Is a directory" "'#!/': refused (a directory is never unveiled)" -- \
        sbx --promises "stdio rpath" -- "$T/slash.sh"

# Five rewrites are what execve allows; the sixth is refused (ELOOP) before anything runs.
printf '#!%s echo\n' "$T/bin/probe" >"$T/s1"
for i in 2 3 4 5 6; do printf '#!%s/s%d\n' "$T" $((i - 1)) >"$T/s$i"; done
chmod 755 "$T"/s[1-6]
expect_stdout_match 0 "s1" "five levels of '#!' run" -- sbx --unveil "rx:$T" --promises "stdio" -- "$T/s5"
expect_stderr_match 125 "more than 5 levels" "six levels of '#!': refused" -- \
        sbx --unveil "rx:$T" --promises "stdio" -- "$T/s6"

# ------------------------------------------------------------------------------------------
# Executable stacks need prot_exec

expect_stderr_match 125 "asks for an executable stack .* prot_exec" \
        "a program with PT_GNU_STACK RWX under 'stdio': refused" -- \
        sbx --promises "stdio" -- "$LAUNCH_HELPER_STATIC_X" stack-exec
check "$([[ $OUT != *"main ran"* ]]; echo $?)" "... and it never ran" "$OUT"
expect_stdout_match 0 "stack code returned 42" "... runs code on its stack with 'stdio prot_exec'" -- \
        sbx --promises "stdio prot_exec" -- "$LAUNCH_HELPER_STATIC_X" stack-exec
expect_stdout_match 0 "stack code returned 42" "... and without promises (no filter to refuse it)" -- \
        sbx -- "$LAUNCH_HELPER_STATIC_X" stack-exec
expect_exit 139 "control: without PF_X, code on the stack faults even with prot_exec (SIGSEGV)" -- \
        sbx --promises "stdio prot_exec" -- "$LAUNCH_HELPER_STATIC" stack-exec
# A library linked -z execstack: ld.so would make the stack executable (mprotect PROT_EXEC),
# which the launch window does not allow without prot_exec.
expect_stderr_match 127 "cannot enable executable stack" \
        "a library with an executable stack under 'stdio rpath': ld.so cannot load it" -- \
        sbx "${L[@]}" --promises "stdio rpath" -- "$LAUNCH_HELPER_EXECSTACK" stack-exec
check "$([[ $OUT != *"main ran"* ]]; echo $?)" "... and main never ran" "$OUT"
expect_stdout_match 0 "stack code returned 42" "... with 'stdio rpath prot_exec' it loads (and the stack is executable)" -- \
        sbx "${L[@]}" --promises "stdio rpath prot_exec" -- "$LAUNCH_HELPER_EXECSTACK" stack-exec
expect_exit "$EPERM" "the launch window maps libraries executable, yet main() cannot (mmap PROT_EXEC: EPERM)" -- \
        sbx "${L[@]}" --promises "stdio rpath" -- "$LAUNCH_HELPER_EVIL" mmap-exec

# ------------------------------------------------------------------------------------------
# The narrowing, verified from outside

expect_stdout_match 0 "read ok" "control: the evil helper without an attack reads with 'stdio rpath'" -- \
        sbx "${L[@]}" --unveil "r:$T/d" --promises "stdio rpath" -- "$LAUNCH_HELPER_EVIL" read "$T/d/file"
expect_stdout_match "$EPERM" "main ran" "control: ... and is narrowed to 'stdio' (read: EPERM)" -- \
        sbx "${L[@]}" --unveil "r:$T/d" --promises "stdio" -- "$LAUNCH_HELPER_EVIL" read "$T/d/file"

# narrowed ATTACK DESC [sandboxctl options...] -- PROGRAM: killed with REASON, main() never ran.
# Without explaining (--no-explain), the preload helper stacks the narrow filter and the init
# verifies it on every thread; explaining, the task's one filter holds the promises and the init
# keeps the window itself (checked below).
narrowed() {
        local reason=$1 desc=$2
        shift 2
        expect_stderr_match 125 "narrow: $reason \\(the sandbox was killed\\)" "$desc: killed, reason recorded" -- \
                sbx "${L[@]}" --no-explain --unveil "r:$T/d" "$@"
        check "$([[ $OUT != *"main ran"* && $OUT != *"un-narrowed"* ]]; echo $?)" \
                "$desc: main() never ran, nothing ran un-narrowed" "stdout: $OUT"
}
narrowed "the preload helper could not narrow the seccomp filter: No such file or directory" \
        "DT_NEEDED constructor renames SANDBOX_SECCOMP_FD" \
        --promises "stdio" --env SBXTEST_EVIL=rename -- "$LAUNCH_HELPER_EVIL" read "$T/d/file"
narrowed "the preload helper could not narrow the seccomp filter: No such file or directory" \
        "DT_PREINIT_ARRAY renames SANDBOX_SECCOMP_FD" \
        --promises "stdio" --env SBXTEST_EVIL_PREINIT=1 -- "$LAUNCH_HELPER_EVIL" read "$T/d/file"
narrowed "the preload helper could not narrow the seccomp filter: No such file or directory" \
        "an IFUNC resolver renames SANDBOX_SECCOMP_FD on the stack" \
        --promises "stdio" -- "$LAUNCH_HELPER_IFUNC" read "$T/d/file"
narrowed "a thread of the program does not carry the seccomp filter of its promises" \
        "a constructor stacks an allow-all filter and confirms by itself" \
        --promises "stdio" --env SBXTEST_EVIL=allowall -- "$LAUNCH_HELPER_EVIL" read "$T/d/file"
narrowed "another process was started before the seccomp filter was narrowed" \
        "a constructor forks a child that keeps the launch filter" \
        --promises "stdio proc" --env SBXTEST_EVIL=fork -- "$LAUNCH_HELPER_EVIL" sleep
narrowed "the program did not confirm a narrowed seccomp filter within 1000 ms of its launch" \
        "a constructor stalls past the deadline" \
        --narrow-timeout 1000 --promises "stdio" --env SBXTEST_EVIL=stall -- "$LAUNCH_HELPER_EVIL" read "$T/d/file"
expect_stdout_match 0 "thread: narrowed" "a thread started before the narrowing is narrowed too (TSYNC), and verified" -- \
        sbx "${L[@]}" --no-explain --promises "stdio" --env SBXTEST_EVIL=thread -- "$LAUNCH_HELPER_EVIL" sleep
check "$([[ $OUT != *un-narrowed* ]]; echo $?)" "... it never maps memory executable" "$OUT"

# Explaining (the default): the init holds the window open until the preload helper confirms or
# the deadline passes, for every process and thread at once; whatever a constructor does, the
# window only closes earlier, and main() has the promises alone.
windowed() { # windowed DESC WANT-EXIT [options...]: the program's output has no "un-narrowed"
        local desc=$1 want=$2
        shift 2
        expect_exit "$want" "explaining: $desc" -- sbx "${L[@]}" --unveil "r:$T/d" "$@"
        check "$([[ $OUT != *"un-narrowed"* ]]; echo $?)" "explaining: $desc: nothing ran with the window's rights after it" \
                "stdout: $OUT"
}
windowed "a DT_NEEDED constructor renames SANDBOX_SECCOMP_FD: the helper refuses to go on (125), main() never ran" 125 \
        --promises "stdio" --env SBXTEST_EVIL=rename -- "$LAUNCH_HELPER_EVIL" read "$T/d/file"
check "$([[ $OUT != *"main ran"* ]]; echo $?)" "explaining: ... main() never ran" "$OUT"
windowed "a constructor stacks an allow-all filter and confirms by itself: the window closes, main() reads nothing" 125 \
        --promises "stdio" --env SBXTEST_EVIL=allowall -- "$LAUNCH_HELPER_EVIL" read "$T/d/file"
check "$([[ $OUT != *"read ok"* ]]; echo $?)" "explaining: ... no read succeeded" "$OUT"
expect_stdout_match 0 "child: narrowed" \
        "explaining: a constructor's child that outlives the window has the promises only (mmap PROT_EXEC refused)" -- \
        sbx "${L[@]}" --promises "stdio proc" --env SBXTEST_EVIL=fork -- "$LAUNCH_HELPER_EVIL" sleep
check "$([[ $OUT != *"un-narrowed"* ]]; echo $?)" "explaining: ... it never maps memory executable" "$OUT"
expect_stdout_match "$EPERM" "main ran" \
        "explaining: a constructor stalls past the deadline: the window closes, main() runs with the promises (read: EPERM)" -- \
        sbx "${L[@]}" --unveil "r:$T/d" --narrow-timeout 1000 --promises "stdio" --env SBXTEST_EVIL=stall -- \
        "$LAUNCH_HELPER_EVIL" read "$T/d/file"
expect_stdout_match 0 "thread: narrowed" "explaining: a thread started in the window has the promises only after it" -- \
        sbx "${L[@]}" --promises "stdio" --env SBXTEST_EVIL=thread -- "$LAUNCH_HELPER_EVIL" sleep
expect_stdout_match 0 "read ok" "explaining: a slow start within the deadline is fine" -- \
        sbx "${L[@]}" --unveil "r:$T/d" --narrow-timeout 20000 --promises "stdio rpath" --env SBXTEST_EVIL=stall -- \
        "$LAUNCH_HELPER_EVIL" read "$T/d/file"
expect_stdout_match 0 "read ok" "a slow start within the deadline is fine (3 s stall, 20 s deadline)" -- \
        sbx "${L[@]}" --unveil "r:$T/d" --narrow-timeout 20000 --promises "stdio rpath" --env SBXTEST_EVIL=stall -- \
        "$LAUNCH_HELPER_EVIL" read "$T/d/file"

# ------------------------------------------------------------------------------------------
# TCP port rules: what Landlock does not see

expect_exit "$EACCES" "control: --tcp-connect 9: TCP connect to 8081 is EACCES (Landlock)" -- \
        sbx --tcp-bind 8081 --tcp-connect 9 -- "$PROBE" connect-self 8081
expect_exit "$EPROTONOSUPPORT" "--tcp-connect 9: an MPTCP socket is refused (EPROTONOSUPPORT), no way around it" -- \
        sbx --tcp-bind 8081 --tcp-connect 9 -- "$PROBE" connect-self-mptcp 8081
expect_exit "$EPROTONOSUPPORT" "--tcp-connect 9 with 'stdio inet': MPTCP refused (EPROTONOSUPPORT)" -- \
        sbx --tcp-bind 8081 --tcp-connect 9 --promises "stdio inet" -- "$PROBE" connect-self-mptcp 8081
expect_exit 0 "no port rules: MPTCP works (nothing to get around)" -- sbx -- "$PROBE" connect-self-mptcp 8081

expect_exit "$EACCES" "--tcp-bind 8082: listen(2) on an unbound TCP socket is refused (EACCES)" -- \
        sbx --tcp-bind 8082 -- "$PROBE" listen-unbound inet
check "$([ -z "$OUT" ]; echo $?)" "... no ephemeral port was listened on" "$OUT"
expect_exit "$EACCES" "--tcp-bind 8082: the same over IPv6" -- sbx --tcp-bind 8082 -- "$PROBE" listen-unbound inet6
expect_exit "$EACCES" "--tcp-bind 8082 with 'stdio inet': the same" -- \
        sbx --tcp-bind 8082 --promises "stdio inet" -- "$PROBE" listen-unbound inet
expect_exit 0 "--tcp-bind 8082: bind to 8082 and listen works (the init listens for the task)" -- \
        sbx --tcp-bind 8082 --tcp-connect 8082 -- "$PROBE" connect-self 8082
expect_exit 0 "--tcp-bind 8082 with 'stdio inet': bind, listen, connect" -- \
        sbx --tcp-bind 8082 --tcp-connect 8082 --promises "stdio inet" -- "$PROBE" connect-self 8082
expect_exit "$EINVAL" "--tcp-bind 8082: listen on an unbound unix socket gets the kernel's answer (EINVAL)" -- \
        sbx --tcp-bind 8082 -- "$PROBE" listen-unbound unix
expect_exit 0 "--tcp-bind 8082: a unix socket still listens" -- sbx --tcp-bind 8082 -- "$PROBE" abstract-self sbxtest
expect_stdout_match 0 "^[1-9][0-9]*$" "no --tcp-bind: listen without bind gets an ephemeral port" -- \
        sbx -- "$PROBE" listen-unbound inet

# ------------------------------------------------------------------------------------------
# The baseline filter (no promises), as --user nobody

# base ERRNO NAME...: the bad-argument syscall as a task without promises.
base() {
        local want=$1 name
        shift
        for name in "$@"; do
                expect_exit "$want" "no promises: $name -> $(errno_name "$want") (baseline)" -- \
                        sbx --user nobody -- "$PROBE" syscall "$name"
        done
}
base "$EPERM" unshare-newuser unshare-newnet clone-thread setns bpf perf_event_open userfaultfd \
        io_uring_setup io_uring_enter io_uring_register keyctl add_key request_key \
        mount umount2 pivot_root chroot fsopen fsconfig fsmount fspick open_tree move_mount mount_setattr \
        kexec_load kexec_file_load init_module finit_module delete_module acct swapon swapoff reboot syslog \
        open_by_handle_at kcmp pidfd_getfd fanotify_init modify_ldt personality-read-implies-exec socket-vsock \
        chmod-setuid-bad
base "$ENOSYS" clone3 openat2 syscall-471
base 0 personality getpid
base "$ESRCH" ptrace
base "$EFAULT" chmod memfd_create
base 0 socket-mptcp
expect_exit 0 "--no-baseline-filter: unshare(CLONE_NEWUSER) gets the kernel's answer (a user namespace)" -- \
        sbx --user nobody --no-baseline-filter -- "$PROBE" syscall unshare-newuser

# ------------------------------------------------------------------------------------------
# Through sandboxd: the launch set against the policy, baseline_filter per driver

if [ -z "${SANDBOXD:-}" ] || [ ! -x "$SANDBOXD" ]; then
        skip_test "sandboxd: the policy sees the launch set" "\$SANDBOXD is not set"
        done_testing
fi
S=$T/sandboxd.sock
CONF=$T/sandboxd.conf
CG_PARENT=sandboxd-launch-$$
mkdir -p "$T/nomad"
# Daemon tasks get a private /tmp: what they run and read lives outside it.
V=$(mktemp -d /var/tmp/sbxlaunch.XXXXXX)
rm_v() { rm -rf -- "$V"; }
at_exit rm_v
chmod 755 "$V"
mkdir -p "$V/d"
cp "$PROBE" "$V/probe"
echo data >"$V/d/file"
chmod 755 "$V/probe"
chmod 644 "$V/d/file"
cat >"$CONF" <<EOF
[daemon]
nomad_data_dir = $T/nomad
cgroup_backend = cgroupfs
cgroup_parent = $CG_PARENT
admin_policy = wide

[driver wide]
unveil = r:/ rx:$LAUNCH_LIB_DIR rwxc:$V rx:$(dirname "$SANDBOX_PRELOAD")

[driver strict]
promises = stdio rpath
unveil = r:/ rx:$LAUNCH_LIB_DIR rwxc:$V rx:$(dirname "$SANDBOX_PRELOAD")

# (the launch rules, the probe's rx among them, are the policy's to allow)
[driver nobase]
baseline_filter = no
unveil = rx:$V

[driver verified]
unveil = r:/ rx:$LAUNCH_LIB_DIR rwxc:$V rx:$(dirname "$SANDBOX_PRELOAD")
explain_denials = no
EOF
chmod 644 "$CONF"
DAEMON_PID=
"$SANDBOXD" --config "$CONF" --socket "$S" --state-dir "$T/state" 2>>"$T/sandboxd.log" &
DAEMON_PID=$!
track_pid "$DAEMON_PID"
stop_daemon() {
        local n
        if kill -0 "$DAEMON_PID" 2>/dev/null; then
                for n in $("$SANDBOXCTL" --socket "$S" list --json 2>/dev/null |
                        /usr/bin/python3 -c 'import json,sys; [print(t["name"]) for t in json.load(sys.stdin)]' 2>/dev/null); do
                        "$SANDBOXCTL" --socket "$S" destroy --force "$n" >/dev/null 2>&1
                done
                kill "$DAEMON_PID" 2>/dev/null
                wait "$DAEMON_PID" 2>/dev/null
        fi
        find /sys/fs/cgroup -maxdepth 3 -type d -name "$CG_PARENT" 2>/dev/null |
                while read -r d; do find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done
        true
}
at_exit stop_daemon
for _ in $(seq 1 100); do
        [ -S "$S" ] && "$SANDBOXCTL" --socket "$S" list >/dev/null 2>&1 && break
        sleep 0.05
done
check "$("$SANDBOXCTL" --socket "$S" list >/dev/null 2>&1; echo $?)" "sandboxd starts" "$(tail -5 "$T/sandboxd.log")"
CTL=("$SANDBOXCTL" --socket "$S")

expect_stderr_match 1 "policy 'strict': '[^']*/cat' is dynamically linked: .* '(stdio )?rpath prot_exec'.*'prot_exec' is not allowed" \
        "policy without prot_exec: a dynamic program with promises is refused, naming why" -- \
        "${CTL[@]}" --driver strict start --name dyn --user nobody --promises "stdio rpath" -- /bin/cat /etc/hostname
expect_output 0 st "policy without prot_exec: a static program with the same promises starts" -- \
        "${CTL[@]}" --driver strict start --name st --user nobody --promises "stdio rpath" -- "$V/probe" getpid
expect_exit 0 "... and runs" -- "${CTL[@]}" wait st
"${CTL[@]}" destroy st >/dev/null 2>&1

"${CTL[@]}" --driver nobase start --name nb --user nobody -- "$V/probe" syscall unshare-newuser >/dev/null
expect_exit 0 "baseline_filter = no: unshare(CLONE_NEWUSER) gets the kernel's answer" -- "${CTL[@]}" wait nb
"${CTL[@]}" destroy nb >/dev/null 2>&1
"${CTL[@]}" --driver wide start --name wb --user nobody -- "$V/probe" syscall unshare-newuser >/dev/null
expect_exit "$EPERM" "baseline_filter default (yes): unshare(CLONE_NEWUSER) is EPERM" -- "${CTL[@]}" wait wb
"${CTL[@]}" destroy wb >/dev/null 2>&1

# An exec session is narrowed and checked the same way.
"${CTL[@]}" --driver wide start --name ex --user nobody --promises "stdio rpath proc" "${L[@]}" --unveil "r:$V/d" -- \
        "$V/probe" sleep 1000 >/dev/null
sleep 0.3
expect_stdout_match 0 "read ok" "exec: a dynamic command is narrowed and runs" -- \
        "${CTL[@]}" --driver wide exec ex -- "$LAUNCH_HELPER_EVIL" read "$V/d/file"
expect_stderr_match 125 "narrow: the preload helper could not narrow the seccomp filter" \
        "exec: a command whose constructor renames SANDBOX_SECCOMP_FD is killed, reason given" -- \
        "${CTL[@]}" --driver wide exec ex --env SBXTEST_EVIL=rename -- "$LAUNCH_HELPER_EVIL" read "$V/d/file"
check "$([[ $OUT != *"main ran"* ]]; echo $?)" "exec: ... its main() never ran" "$OUT"
expect_stdout_match 0 "child: narrowed" \
        "exec: a command whose constructor forks: the child has the promises only after the window" -- \
        "${CTL[@]}" --driver wide exec ex --env SBXTEST_EVIL=fork -- "$LAUNCH_HELPER_EVIL" sleep
check "$([[ $OUT != *"un-narrowed"* ]]; echo $?)" "exec: ... it never maps memory executable" "$OUT"
expect_stdout_match 0 "RUNNING|running" "exec: the task itself keeps running" -- "${CTL[@]}" --driver wide inspect ex
"${CTL[@]}" destroy --force ex >/dev/null 2>&1
# explain_denials = no: the narrowing, verified
"${CTL[@]}" --driver verified start --name exv --user nobody --promises "stdio rpath proc" "${L[@]}" --unveil "r:$V/d" -- \
        "$V/probe" sleep 1000 >/dev/null
sleep 0.3
expect_stderr_match 125 "narrow: another process was started" \
        "exec, explain_denials = no: a command whose constructor forks past the narrowing is killed" -- \
        "${CTL[@]}" --driver verified exec exv --env SBXTEST_EVIL=fork -- "$LAUNCH_HELPER_EVIL" read "$V/d/file"
"${CTL[@]}" destroy --force exv >/dev/null 2>&1

"${CTL[@]}" --driver strict start --name sx --user nobody --promises "stdio rpath" -- "$V/probe" sleep 1000 >/dev/null
sleep 0.3
expect_stderr_match 1 "policy 'strict': .* is dynamically linked" \
        "exec: the policy sees the launch set of the command too" -- \
        "${CTL[@]}" --driver strict exec sx -- /bin/cat /etc/hostname
"${CTL[@]}" destroy --force sx >/dev/null 2>&1

done_testing
