#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/root/test-learn.sh: `sandboxctl learn` and explained denials (docs/learn.md).
#   - learn on the probe, once per promise: the learned set is exactly that promise on top of
#     what the probe itself needs; static, dynamic and libc-free programs, threads, children;
#   - learn on python3 http.server: a config that serves a page under --verify;
#   - explained denials: a write without wpath names wpath (once per cause, rate-limited,
#     never changing what the task sees; off with --no-explain);
#   - the listener cannot be turned against its filter: the task finds no listener among its
#     fds, cannot take the init's, cannot load one of its own, and learning lets through only
#     what some promise allows;
#   - through sandboxd: inspect lists the denials; explain_denials = no turns them off; a task
#     that exits right after its refused calls loses none of them.
set -u
# shellcheck source=tests/root/lib.sh
. "$(dirname "$0")/lib.sh"

require_sandbox_host
: "${PROBE_DYN:?}" "${PROBE_RAW:?}"

EBUSY=16
T=$TEST_TMP
# What learn runs reads its files outside /tmp: the command gets a private /tmp, as under Nomad.
W=$(mktemp -d /var/tmp/sbxlearn.XXXXXX)
rm_w() { rm -rf -- "$W"; }
at_exit rm_w
chmod 755 "$W"
mkdir -p "$W/d" "$W/www"
echo data >"$W/d/file"
echo "<p>learned</p>" >"$W/www/index.html"
chmod -R a+rX "$W"
chmod a+w "$W/d"
mkdir -p "$T/d" "$T/www"
echo data >"$T/d/file"
echo data >"$T/d/wfile"
echo "<p>learned</p>" >"$T/www/index.html"
chmod -R a+rX "$T"
chmod a+w "$T/d/wfile"

sbx() { "$SANDBOXCTL" run "$@"; }

# learn_promises DESC WANT CMD...: `sandboxctl learn --json CMD...` suggests exactly WANT.
learn_promises() {
        local desc=$1 want=$2 got
        shift 2
        run "$SANDBOXCTL" learn --json --cwd / -- "$@"
        got=$(/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["promises"])' <<<"$OUT" 2>/dev/null)
        check "$([ "$got" = "$want" ]; echo $?)" "learn: $desc -> '$want'" \
                "got '$got' (exit $RC)"$'\n'"stdout: $OUT"$'\n'"stderr: $ERR"
}

# learn_exit WANT DESC CMD...: under `sandboxctl learn`, the command itself exits with WANT.
learn_exit() {
        local want=$1 desc=$2 got
        shift 2
        run "$SANDBOXCTL" learn --json --cwd / -- "$@"
        got=$(/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["exit_code"])' <<<"$OUT" 2>/dev/null)
        check "$([ "$RC" -eq 0 ] && [ "$got" = "$want" ]; echo $?)" "learn: $desc -> $(errno_name "$want")" \
                "the command exited with '$got' (learn: $RC)"$'\n'"stdout: $OUT"$'\n'"stderr: $ERR"
}

# ------------------------------------------------------------------------------------------
# Learning, one promise at a time. The static probe needs 'stdio rpath' itself (glibc's static
# start-up reads /proc/self/exe with readlink(2)); each command adds exactly its promise.

B="stdio rpath"
learn_promises "the static probe itself (exit 0)" "$B" "$PROBE" exit 0
learn_promises "stdio: the libc-free probe writes" "stdio" "$PROBE_RAW" write
learn_promises "rpath: the libc-free probe opens a file" "rpath" "$PROBE_RAW" open "$W/d/file"
learn_promises "wpath: openat(O_WRONLY)" "$B wpath" "$PROBE" syscall openat-wronly
learn_promises "cpath: mkdir" "$B cpath" "$PROBE" syscall mkdir
learn_promises "dpath: mknod" "$B dpath" "$PROBE" syscall mknod
learn_promises "flock: flock" "$B flock" "$PROBE" syscall flock
learn_promises "fattr: utimensat" "$B fattr" "$PROBE" syscall utimensat
learn_promises "chown: chown" "$B chown" "$PROBE" syscall chown
learn_promises "tty: ioctl(TCGETS)" "$B tty" "$PROBE" syscall ioctl-tcgets
learn_promises "inet: a TCP client and server (connect, listen)" "$B inet" "$PROBE" connect-self 18471
learn_promises "anet: a TCP server (listen without bind)" "$B anet" "$PROBE" listen-unbound inet
learn_promises "unix: a unix socket bound and connected" "$B unix" "$PROBE" abstract-self "sbxlearn-$$"
learn_promises "dns: a UDP datagram to an address" "$B dns" "$PROBE" udp-send 127.0.0.1:9
learn_promises "recvfd: recvmsg" "$B recvfd" "$PROBE" syscall recvmsg
learn_promises "sendfd: sendmsg" "$B sendfd" "$PROBE" syscall sendmsg
learn_promises "proc: fork" "$B proc" "$PROBE" fork
learn_promises "id: setuid" "$B id" "$PROBE" syscall setuid
learn_promises "settime: settimeofday" "$B settime" "$PROBE" syscall settimeofday
learn_promises "exec: execve" "$B exec" "$PROBE" syscall execve
learn_promises "prot_exec: an executable mapping" "$B prot_exec" "$PROBE" mmap-exec
learn_promises "unveil: landlock_create_ruleset" "$B unveil" "$PROBE" syscall landlock_create_ruleset
learn_promises "tmppath: unlink (tmppath is narrower than cpath)" "$B tmppath" "$PROBE" syscall unlink
# vminfo and thread grant nothing stdio does not: never learned
learn_promises "vminfo: sched_yield is stdio's" "$B" "$PROBE" syscall sched_yield
learn_promises "thread: threads come from stdio" "$B" "$PROBE" thread

# Dynamic programs: what ld.so does in the launch window is not counted; threads, children and
# the programs they exec are.
learn_promises "a dynamic program (the window is not counted)" "stdio" "$PROBE_DYN" exit 0
learn_promises "a dynamic program reads a file" "stdio rpath" "$PROBE_DYN" read "$W/d/file"
learn_promises "a dynamic program maps memory executable after its start" "stdio prot_exec" "$PROBE_DYN" mmap-exec
learn_promises "a dynamic program's thread" "stdio" "$PROBE_DYN" thread
learn_promises "sh forks and execs a dynamic program (its ld.so needs rpath prot_exec)" \
        "stdio rpath proc exec prot_exec" /bin/sh -c '/bin/true; exit 0'

learn_promises "a call no promise allows is no promise" "$B" "$PROBE" syscall mount
check "$(/usr/bin/python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["refused"] == ["mount"] else 1)' <<<"$OUT"; echo $?)" \
        "learn: ... it is listed as refused under any promises" "$OUT"
run "$SANDBOXCTL" learn --cwd / -- "$PROBE" syscall openat-wronly
check "$([ "$RC" -eq 0 ] && grep -qx '  promises = "stdio rpath wpath"' <<<"$OUT"; echo $?)" \
        "learn: the HCL config block names the promises" "$OUT"
check "$(grep -qx 'promises = stdio rpath wpath' <<<"$OUT"; echo $?)" "learn: ... and the sandboxd.conf line" "$OUT"

# Paths and ports
run "$SANDBOXCTL" learn --json --cwd / --fold 0 -- "$PROBE" read "$W/d/file"
check "$(/usr/bin/python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["config"]["unveil"] == ["r:'"$W"'/d/file"] else 1)' <<<"$OUT"; echo $?)" \
        "learn: a file read becomes r:FILE" "$OUT"
run "$SANDBOXCTL" learn --json --cwd / --fold 0 -- "$PROBE" create "$W/d/new"
check "$(/usr/bin/python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["config"]["unveil"] == ["wc:'"$W"'/d"] else 1)' <<<"$OUT"; echo $?)" \
        "learn: a file created becomes wc: on its directory" "$OUT"
rm -f "$W/d/new"
for f in a b c d e; do echo x >"$W/d/$f"; done
chmod a+r "$W"/d/*
run "$SANDBOXCTL" learn --json --cwd / -- /bin/sh -c "cat $W/d/a $W/d/b $W/d/c $W/d/d $W/d/e >/dev/null"
check "$(/usr/bin/python3 -c 'import json,sys; u=json.load(sys.stdin)["config"]["unveil"]; sys.exit(0 if u == ["r:'"$W"'/d"] else 1)' <<<"$OUT"; echo $?)" \
        "learn: five files read in one directory fold into r:DIR" "$OUT"
run "$SANDBOXCTL" learn --json --cwd / --private-tmp --task-dir "$W/d" -- /bin/cat "$W/d/file"
check "$(/usr/bin/python3 -c 'import json,sys; c=json.load(sys.stdin)["config"]; sys.exit(0 if c["args"] == ["${NOMAD_TASK_DIR}/file"] and c["unveil"] == [] else 1)' <<<"$OUT"; echo $?)" \
        "learn --task-dir: args name \${NOMAD_TASK_DIR}, and no rule for what lies beneath it" "$OUT"
run "$SANDBOXCTL" learn --json --cwd / -- "$PROBE" connect-self 18472
check "$(/usr/bin/python3 -c 'import json,sys; c=json.load(sys.stdin)["config"]; sys.exit(0 if c["tcp_bind"] == "18472" and c["tcp_connect"] == "18472" else 1)' <<<"$OUT"; echo $?)" \
        "learn: the TCP ports bound and connected to become tcp_bind and tcp_connect" "$OUT"

expect_stderr_match 2 "learn: --promises: learn finds it" "learn --promises: refused, saying why" -- \
        "$SANDBOXCTL" learn --promises stdio --cwd / -- "$PROBE" exit 0
check "$([ -z "$OUT" ]; echo $?)" "learn --promises: nothing on stdout"
expect_stderr_match 2 "learn: the command would start in $T, which its private /tmp hides" \
        "learn from a directory in /tmp: refused, saying why (the command's /tmp is private)" -- \
        "$SANDBOXCTL" learn -- "$PROBE" exit 0
expect_stderr_match 2 "learn: --timeout: 'x'" "learn --timeout x: refused" -- "$SANDBOXCTL" learn --timeout x --cwd / -- "$PROBE" exit 0

# --timeout stops a server; --verify runs it again under the suggestion.
run "$SANDBOXCTL" learn --timeout 1s --cwd / -- "$PROBE" sleep 100
check "$([ "$RC" -eq 0 ] && [[ $OUT == *"exited with code 143"* ]]; echo $?)" \
        "learn --timeout 1s: the command is stopped (SIGTERM: 143) and a suggestion printed" "$OUT"
expect_stdout_match 0 "# verify: run again under this suggestion: exit code 0 as learned, no call refused" \
        "learn --verify: sh forking a dynamic program behaves the same under the suggestion" -- \
        "$SANDBOXCTL" learn --verify --cwd / -- /bin/sh -c '/bin/true; exit 0'

# ------------------------------------------------------------------------------------------
# python3 http.server: learned in one run, and serving a page under --verify

if [ -x /usr/bin/python3 ]; then
        PORT=18473
        (
                # keep asking for the page until both runs are over
                for _ in $(seq 1 120); do
                        /usr/bin/python3 -c 'import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)' \
                                "http://127.0.0.1:$PORT/index.html" >/dev/null 2>&1
                        sleep 0.25
                        [ -e "$T/learn.done" ] && break
                done
        ) &
        track_pid $!
        run "$SANDBOXCTL" learn --verify --timeout 6s --net host --cwd / -- \
                /usr/bin/python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$W/www"
        touch "$T/learn.done"
        check "$([ "$RC" -eq 0 ] && [[ $OUT == *'promises = "stdio rpath anet prot_exec"'* ]]; echo $?)" \
                "learn http.server: 'stdio rpath anet prot_exec' (a TCP server, C extension modules)" "$OUT"$'\n'"$ERR"
        check "$([[ $OUT == *"tcp_bind = \"$PORT\""* ]]; echo $?)" "learn http.server: tcp_bind = \"$PORT\"" "$OUT"
        check "$([[ $OUT == *"# verify: run again under this suggestion: exit code 143 as learned, no call refused"* ]]; echo $?)" \
                "learn http.server --verify: the same exit (stopped by --timeout), no call refused" "$OUT"
        verify_log=${ERR#*learn: verify: running the command again under the suggestion}
        check "$([[ $ERR == *"learn: verify: running"* && $verify_log == *'"GET /index.html HTTP/1.1" 200'* ]]; echo $?)" \
                "learn http.server --verify: under the suggestion it serves the page (200)" "$ERR"
fi

# ------------------------------------------------------------------------------------------
# Explained denials

expect_stderr_match "$EPERM" "probe\\[2\\]: openat\\(flags O_WRONLY\\): refused, needs promise 'wpath'" \
        "run: a write without wpath: the task gets EPERM, stderr names wpath" -- \
        sbx --promises "stdio rpath" --unveil "rw:$T/d/wfile" -- "$PROBE" write "$T/d/wfile"
expect_stderr_match "$EPERM" "python3\\[2\\]: openat\\(flags O_WRONLY\\|O_CREAT\\|O_TRUNC\\): refused, needs promise 'cpath'" \
        "run: a dynamic program (python3) creating a file: EPERM, stderr names cpath" -- \
        sbx --promises "stdio rpath prot_exec" -- /usr/bin/python3 -c "import sys
try: open('$T/d/py', 'w')
except PermissionError: sys.exit(1)"
run sbx --no-explain --promises "stdio rpath" --unveil "rw:$T/d/wfile" -- "$PROBE" write "$T/d/wfile"
check "$([ "$RC" -eq "$EPERM" ] && [[ $ERR != *"refused, needs"* ]]; echo $?)" "run --no-explain: EPERM, nothing explained" "$ERR"
run sbx --promises "stdio rpath" -- "$PROBE" read "$T/d/file"
check "$([ "$RC" -eq "$EACCES" ] && [[ $ERR != *"refused, needs"* ]]; echo $?)" \
        "run: a path outside the unveil rules is Landlock's EACCES, no promise to explain" "$ERR"
run sbx --promises "stdio" -- "$PROBE" deny-flood 1000
lines=$(grep -c "refused" <<<"$ERR")
check "$([ "$RC" -eq 0 ] && [ "$(grep -c "mknodat" <<<"$ERR")" -eq 1 ] && [ "$lines" -ge 2 ] && [ "$lines" -le 8 ]; echo $?)" \
        "run: 1000 refused mknodat and 20 other refused calls: every one EPERM, mknodat explained once, at most 8 at once" \
        "exit $RC, $lines lines"$'\n'"$ERR"

# ------------------------------------------------------------------------------------------
# The listener cannot be turned against its filter (learning or explaining)

learn_exit 0 "the task holds no seccomp listener among its fds" "$PROBE" find-listener
expect_exit 0 "explain: the task holds no seccomp listener among its fds" -- \
        sbx --promises "stdio rpath" -- "$PROBE" find-listener
expect_exit 0 "explain, a dynamic program: no seccomp listener among its fds" -- \
        sbx --promises "stdio rpath" -- "$PROBE_DYN" find-listener
expect_exit 0 "explain with exec promised (the launch is not held up): no listener among its fds" -- \
        sbx --promises "stdio rpath exec" -- "$PROBE" find-listener
learn_exit "$EPERM" "taking the init's fds (pidfd_open, pidfd_getfd): EPERM, no promise allows them" "$PROBE" steal-fds 1
expect_exit "$EPERM" "no filter in the way (no promises, --no-baseline-filter, a listener for --tcp-bind): the kernel refuses the init's fds" -- \
        sbx --no-baseline-filter --tcp-bind 1 -- "$PROBE" steal-fds 1
run sbx --no-baseline-filter --tcp-bind 1 -- "$PROBE" steal-fds 3
check "$([ "$RC" -ne "$EEXIST" ]; echo $?)" \
        "no filter in the way: the process that hands the listener over gives nothing away (not dumpable, or gone)" "$(_details 1)"
learn_exit "$EPERM" "loading a filter with a listener of its own: EPERM (no promise allows seccomp)" "$PROBE" new-listener
expect_exit "$EBUSY" "no promises, a listener for --tcp-bind: a second listener is refused by the kernel (EBUSY)" -- \
        sbx --tcp-bind 1 -- "$PROBE" new-listener
learn_exit "$EPERM" "a call no promise allows is refused while learning (mount: EPERM, not run)" "$PROBE" syscall mount
learn_exit "$EPERM" "ptrace: EPERM while learning" "$PROBE" syscall ptrace
learn_exit "$EPERM" "unshare(CLONE_NEWUSER): EPERM while learning" "$PROBE" syscall unshare-newuser
learn_exit "$EACCES" "the init's fds through /proc/1/fd: EACCES" "$PROBE" ls /proc/1/fd
learn_exit "$EFAULT" "control: what a promise allows runs while learning (mknod with a bad pointer: the kernel's EFAULT)" "$PROBE" syscall mknod
expect_exit 0 "a thread's listen(2) under --tcp-bind is answered (the init finds the thread's process)" -- \
        sbx --promises "stdio inet" --tcp-bind 18474 -- "$PROBE" thread-listen 18474
expect_exit 0 "... and without explaining" -- \
        sbx --no-explain --promises "stdio inet" --tcp-bind 18475 -- "$PROBE" thread-listen 18475

# ------------------------------------------------------------------------------------------
# Through sandboxd: inspect lists the denials; explain_denials = no

if [ -z "${SANDBOXD:-}" ] || [ ! -x "$SANDBOXD" ]; then
        skip_test "sandboxd: inspect lists explained denials" "\$SANDBOXD is not set"
        done_testing
fi
S=$T/sandboxd.sock
CONF=$T/sandboxd.conf
CG_PARENT=sandboxd-learn-$$
mkdir -p "$T/nomad"
V=$(mktemp -d /var/tmp/sbxlearn.XXXXXX)
rm_v() { rm -rf -- "$V"; }
at_exit rm_v
chmod 755 "$V"
cp "$PROBE" "$V/probe"
echo data >"$V/wfile"
chmod 755 "$V/probe"
chmod 666 "$V/wfile"
cat >"$CONF" <<EOF
[daemon]
nomad_data_dir = $T/nomad
cgroup_backend = cgroupfs
cgroup_parent = $CG_PARENT
admin_policy = explained

# (the probe runs from \$V: x there, a launch rule within the ceiling)
[driver explained]
unveil = rwxc:$V

[driver quiet]
unveil = rwxc:$V
explain_denials = no
EOF
chmod 644 "$CONF"
"$SANDBOXD" --config "$CONF" --socket "$S" --state-dir "$T/state" 2>>"$T/sandboxd.log" &
DAEMON_PID=$!
track_pid "$DAEMON_PID"
stop_daemon() {
        local n
        if kill -0 "$DAEMON_PID" 2>/dev/null; then
                for n in den quiet; do
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

expect_stdout_match 0 "^den" "sandboxd: a task that writes without wpath starts" -- \
        "${CTL[@]}" start --name den --user nobody --promises "stdio rpath" --unveil "rw:$V/wfile" -- "$V/probe" write "$V/wfile"
expect_exit "$EPERM" "sandboxd: the task's write without wpath: EPERM" -- "${CTL[@]}" wait den
expect_stdout_match 0 "denied: +probe\\[2\\]: openat\\(flags O_WRONLY\\): refused, needs promise 'wpath'" \
        "sandboxd: inspect lists the explained denial" -- "${CTL[@]}" inspect den
run "${CTL[@]}" --json inspect den
check "$(/usr/bin/python3 -c 'import json,sys; d=[x for x in json.load(sys.stdin)["denials"] if x["syscall"] == "openat"]; sys.exit(0 if d and d[0]["promises"] == ["wpath"] else 1)' <<<"$OUT"; echo $?)" \
        "sandboxd: inspect --json: syscall openat, promises [wpath]" "$OUT"
check "$(grep -q "task 'den': probe\\[2\\]: openat(flags O_WRONLY): refused, needs promise 'wpath'" "$T/sandboxd.log"; echo $?)" \
        "sandboxd: the denial is logged" "$(tail -5 "$T/sandboxd.log")"
expect_stdout_match 0 "^quiet" "explain_denials = no: the same task starts" -- \
        "${CTL[@]}" --driver quiet start --name quiet --user nobody --promises "stdio rpath" --unveil "rw:$V/wfile" -- \
        "$V/probe" write "$V/wfile"
expect_exit "$EPERM" "explain_denials = no: the same write is EPERM" -- "${CTL[@]}" wait quiet
run "${CTL[@]}" inspect quiet
check "$([ "$RC" -eq 0 ] && [[ $OUT != *denied:* ]]; echo $?)" "explain_denials = no: inspect lists no denial" "$OUT"

# A task that exits right after its refused calls: its init's notes and its exit reach sandboxd
# together, and every note is read before the task is collected (none lost to the exit). The
# init explains the first 8 causes of deny-flood at once (sandboxctl run shows 8, above).
counts= short=0
for i in $(seq 1 30); do
        "${CTL[@]}" start --name "flood$i" --user nobody --promises stdio -- "$V/probe" deny-flood 1 >/dev/null
        "${CTL[@]}" wait "flood$i" >/dev/null 2>&1
        n=$(grep -c "task 'flood$i': .*refused" "$T/sandboxd.log")
        k=$("${CTL[@]}" inspect "flood$i" | grep -c "^denied:")
        counts+="$n/$k "
        [ "$n" -eq 8 ] && [ "$k" -eq 8 ] || short=$((short + 1))
        "${CTL[@]}" destroy "flood$i" >/dev/null 2>&1
done
check "$([ "$short" -eq 0 ]; echo $?)" \
        "sandboxd: 30 tasks that exit right after 8 explained refusals: all 8 logged and in inspect for each" \
        "logged/inspect per task: $counts"

done_testing
