#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/root/test-process.sh: the task's process environment, from inside the sandbox.
#
# Namespaces (pid, mount, ipc, uts, net none/host/path), user and groups, nice, oom_score_adj,
# rlimits, cwd, environment, inherited fds, output files, exit codes and signals,
# no_new_privs and capabilities.
set -u
# shellcheck source=tests/root/lib.sh
. "$(dirname "$0")/lib.sh"

require_sandbox_host
: "${PROBE_DYN:?}"

T=$TEST_TMP

# A copy of the probe every user can execute (the build tree may not be reachable for them).
mkdir -p "$T/bin"
cp "$PROBE" "$T/bin/probe"
chmod 755 "$T/bin" "$T/bin/probe"
P=$T/bin/probe

has_cap() { # has_cap BIT: the test runner has this capability in its effective set
        local eff
        eff=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
        (((16#$eff >> $1) & 1))
}
CAP_SYS_RESOURCE=24

# ------------------------------------------------------------------------------------------
# pid and mount namespaces

expect_output 0 "1 2" "pid ns: /proc lists only the init (1) and the task (2)" -- sbx -- "$P" ps
expect_output 0 2 "pid ns: the task is PID 2" -- sbx -- "$P" getpid
expect_output 0 1 "pid ns: its parent is the sandbox init, PID 1" -- sbx -- "$P" getppid
expect_output 0 "1 2" "pid ns: also with --net host" -- sbx --net host -- "$P" ps
mountinfo_before=$(wc -l </proc/self/mountinfo)
expect_output 0 "1 2" "mount ns: the sandbox mounts its own /proc" -- sbx -- "$P" ps
mountinfo_after=$(wc -l </proc/self/mountinfo)
check "$([ "$mountinfo_before" = "$mountinfo_after" ] && [ -d "/proc/$$" ]; echo $?)" \
        "mount ns: no mount leaked to the host (mountinfo $mountinfo_before -> $mountinfo_after lines)"

for ns in pid mnt ipc uts net; do
        host_ns=$(readlink "/proc/self/ns/$ns")
        expect_exit 0 "ns $ns: readable from inside" -- sbx -- "$P" readlink "/proc/self/ns/$ns"
        check "$([ -n "$OUT" ] && [ "$OUT" != "$host_ns" ]; echo $?)" "ns $ns: differs from the host's ($host_ns)" \
                "inside: $OUT"
done
host_net=$(readlink /proc/self/ns/net)
expect_output 0 "$host_net" "ns net: --net host shares the host's" -- sbx --net host -- "$P" readlink /proc/self/ns/net

# ------------------------------------------------------------------------------------------
# Network

expect_output 0 "lo" "--net none: only lo" -- sbx --net none -- "$P" netdev
expect_output 0 "lo" "default network is none: only lo" -- sbx -- "$P" netdev
host_devs=$("$PROBE" netdev)
expect_output 0 "$host_devs" "--net host: the host's interfaces" -- sbx --net host -- "$P" netdev

netns=sbxtest$$
# shellcheck disable=SC2317 # called through at_exit
cleanup_netns() {
        ip netns delete "$netns" 2>/dev/null
}
if ip netns add "$netns" 2>/dev/null; then
        at_exit cleanup_netns
        # A device only that namespace has: dummy if the module exists, else a veth pair.
        if ip -n "$netns" link add sbxdummy0 type dummy 2>/dev/null; then
                devs="lo sbxdummy0"
        elif ip -n "$netns" link add sbxveth0 type veth peer name sbxveth1 2>/dev/null; then
                devs="lo sbxveth0 sbxveth1"
        else
                devs="lo"
        fi
        expect_output 0 "$devs" "--net /run/netns/NAME: that namespace's interfaces ($devs)" -- \
                sbx --net "/run/netns/$netns" -- "$P" netdev
        expect_output 0 "net:[$(stat -L -c %i "/run/netns/$netns")]" "--net /run/netns/NAME: joins that namespace" -- \
                sbx --net "/run/netns/$netns" -- "$P" readlink /proc/self/ns/net
        ip netns delete "$netns"
else
        skip_test "--net /run/netns/NAME: that namespace's interfaces" "ip netns add failed"
fi
expect_stderr_match 125 "^sandboxctl: netns: /nonexistent-sbxtest: No such file or directory$" \
        "--net /nonexistent: exit 125, one line naming the step" -- sbx --net /nonexistent-sbxtest -- "$P" exit 0
expect_stderr_match 2 "^sandboxctl: --net: " "--net bogus: exit 2" -- sbx --net bogus -- "$P" exit 0

portfile=$T/port
python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.settimeout(1)
end = time.time() + 120
while time.time() < end:
    try:
        c, _ = s.accept()
        c.close()
    except socket.timeout:
        pass
' "$portfile" &
listener=$!
track_pid "$listener"
for _ in $(seq 1 100); do
        [ -s "$portfile" ] && break
        sleep 0.05
done
if [ -s "$portfile" ]; then
        port=$(cat "$portfile")
        expect_exit 0 "--net host: connect to a host listener on 127.0.0.1:$port" -- \
                sbx --net host -- "$P" connect "127.0.0.1:$port"
        expect_exit "$ECONNREFUSED" "--net none: the host's 127.0.0.1:$port is not reachable (ECONNREFUSED)" -- \
                sbx --net none -- "$P" connect "127.0.0.1:$port"
else
        check 1 "start a host TCP listener (python3)" "no port file"
fi
kill "$listener" 2>/dev/null
wait "$listener" 2>/dev/null

# ------------------------------------------------------------------------------------------
# uts

host_name=$(uname -n)
expect_output 0 "sbx-test-host" "--hostname sbx-test-host" -- sbx --hostname sbx-test-host -- "$P" hostname
check "$([ "$(uname -n)" = "$host_name" ]; echo $?)" "--hostname does not change the host's name ($host_name)"
expect_output 0 "$host_name" "without --hostname the task sees the host's name" -- sbx -- "$P" hostname
expect_stderr_match 2 "^sandboxctl: --hostname: " "--hostname '': exit 2" -- sbx --hostname "" -- "$P" exit 0

# ------------------------------------------------------------------------------------------
# Users and groups

groups_of() { # sorted, comma separated gids of a named user
        id -G "$1" | tr ' ' '\n' | sort -n | paste -sd, -
}

expect_output 0 "uid=0 gid=0 euid=0 egid=0 groups=$(groups_of root)" "default user: root (as invoked)" -- \
        sbx -- "$P" id
expect_output 0 "uid=65534 gid=65534 euid=65534 egid=65534 groups=$(groups_of nobody)" "--user nobody" -- \
        sbx --user nobody -- "$P" id
expect_output 0 "uid=65534 gid=65534 euid=65534 egid=65534 groups=$(groups_of nobody)" "--user 65534" -- \
        sbx --user 65534 -- "$P" id
expect_output 0 "uid=80000 gid=80000 euid=80000 egid=80000 groups=" \
        "--user nomad-80000: dynamic workload user, no supplementary groups" -- sbx --user nomad-80000 -- "$P" id
unknown_uid=4242
while getent passwd "$unknown_uid" >/dev/null; do
        unknown_uid=$((unknown_uid + 1))
done
expect_output 0 "uid=$unknown_uid gid=$unknown_uid euid=$unknown_uid egid=$unknown_uid groups=" \
        "--user $unknown_uid (no passwd entry): gid = uid, no groups" -- sbx --user "$unknown_uid" -- "$P" id
expect_stderr_match 2 "^sandboxctl: --user: " "--user no-such-user: exit 2" -- \
        sbx --user sbx-no-such-user -- "$P" exit 0

# shellcheck disable=SC2317 # called through at_exit
cleanup_user() {
        userdel "sbxu$$" 2>/dev/null
        groupdel "sbxg$$" 2>/dev/null
}
# A user with a supplementary group: one from the system if there is one, else a temporary one.
sup_user=
while IFS=: read -r _ _ _ members; do
        for m in ${members//,/ }; do
                if getent passwd "$m" >/dev/null; then
                        sup_user=$m
                        break 2
                fi
        done
done < <(getent group)
if [ -z "$sup_user" ] && command -v useradd >/dev/null; then
        at_exit cleanup_user
        groupadd "sbxg$$" && useradd -M -N -g nogroup -G "sbxg$$" -s /usr/sbin/nologin "sbxu$$" && sup_user=sbxu$$
fi
if [ -n "$sup_user" ]; then
        expect_output 0 "uid=$(id -u "$sup_user") gid=$(id -g "$sup_user") euid=$(id -u "$sup_user") egid=$(id -g "$sup_user") groups=$(groups_of "$sup_user")" \
                "--user $sup_user: supplementary groups from /etc/group" -- sbx --user "$sup_user" -- "$P" id
else
        skip_test "--user with supplementary groups" "no such user and useradd unavailable"
fi

expect_stdout_match 0 "(^|[[:space:]])USER=nobody([[:space:]]|$)" "--user nobody: USER=nobody" -- \
        sbx --user nobody -- "$P" env
check "$([[ $OUT == *"LOGNAME=nobody"* && $OUT == *"HOME=$(getent passwd nobody | cut -d: -f6)"* ]]; echo $?)" \
        "--user nobody: LOGNAME and HOME of nobody" "env: $OUT"
expect_stdout_match 0 "(^|[[:space:]])USER=nomad-80000([[:space:]]|$)" "--user nomad-80000: USER=nomad-80000" -- \
        sbx --user nomad-80000 -- "$P" env
check "$([[ $OUT == *"HOME=/nonexistent"* ]]; echo $?)" "--user nomad-80000: HOME=/nonexistent" "env: $OUT"
echo secret >"$T/rootonly"
chmod 600 "$T/rootonly"
expect_exit "$EACCES" "--user nobody: cannot read a root-only (0600) file even when unveiled" -- \
        sbx --user nobody --unveil "r:$T/rootonly" -- "$P" read "$T/rootonly"
expect_exit 0 "default user root: reads the same file" -- sbx --unveil "r:$T/rootonly" -- "$P" read "$T/rootonly"

# ------------------------------------------------------------------------------------------
# Scheduling, OOM, rlimits

for pair in lowest:19 low:10 normal:0 high:-10 highest:-20; do
        expect_output 0 "${pair#*:}" "--importance ${pair%%:*}: nice ${pair#*:}" -- \
                sbx --importance "${pair%%:*}" -- "$P" nice
done
expect_output 0 "$("$PROBE" nice)" "no --importance: the nice value is inherited" -- sbx -- "$P" nice
expect_stderr_match 2 "^sandboxctl: --importance: " "--importance bogus: exit 2" -- \
        sbx --importance bogus -- "$P" exit 0

expect_output 0 500 "--oom-score-adj 500" -- sbx --oom-score-adj 500 -- "$P" oom
expect_output 0 "$(cat /proc/self/oom_score_adj)" "no --oom-score-adj: inherited" -- sbx -- "$P" oom
expect_stderr_match 2 "^sandboxctl: --oom-score-adj: " "--oom-score-adj 1001: exit 2" -- \
        sbx --oom-score-adj 1001 -- "$P" exit 0
if has_cap $CAP_SYS_RESOURCE; then
        expect_output 0 -100 "--oom-score-adj -100 (with CAP_SYS_RESOURCE)" -- sbx --oom-score-adj -100 -- "$P" oom
else
        expect_stderr_match 125 "^sandboxctl: oom_score_adj: -100: Permission denied$" \
                "--oom-score-adj -100 without CAP_SYS_RESOURCE: exit 125, one line" -- \
                sbx --oom-score-adj -100 -- "$P" oom
fi

expect_output 0 "64 128" "--rlimit NOFILE=64:128" -- sbx --rlimit NOFILE=64:128 -- "$P" rlimit NOFILE
expect_output 0 "32 32" "--rlimit rlimit_nofile=32 (prefix, any case; hard = soft)" -- \
        sbx --rlimit rlimit_nofile=32 -- "$P" rlimit NOFILE
expect_output 0 "$("$PROBE" rlimit NOFILE)" "no --rlimit: NOFILE inherited" -- sbx -- "$P" rlimit NOFILE
expect_exit 0 "--rlimit AS=256M: memhog 16 MB works" -- sbx --rlimit AS=268435456 -- "$P" memhog 16
expect_exit "$ENOMEM" "--rlimit AS=256M: memhog 512 MB fails with ENOMEM" -- \
        sbx --rlimit AS=268435456 -- "$P" memhog 512
expect_output "$EAGAIN" 2 "--rlimit NPROC=3 as nomad-80000: 2 forks, then EAGAIN" -- \
        sbx --user nomad-80000 --rlimit NPROC=3 -- "$P" forkbomb 10
expect_stderr_match 2 "^sandboxctl: --rlimit: " "--rlimit FOO=1: exit 2" -- sbx --rlimit FOO=1 -- "$P" exit 0
expect_stderr_match 2 "^sandboxctl: --rlimit: " "--rlimit NOFILE=10:5 (soft > hard): exit 2" -- \
        sbx --rlimit NOFILE=10:5 -- "$P" exit 0
if ! has_cap $CAP_SYS_RESOURCE; then
        hard=$(ulimit -Hn)
        expect_stderr_match 125 "^sandboxctl: rlimit: .*Operation not permitted$" \
                "--rlimit NOFILE above the hard limit ($hard) without CAP_SYS_RESOURCE: exit 125" -- \
                sbx --rlimit "NOFILE=$((hard + 1)):$((hard + 1))" -- "$P" exit 0
fi

# ------------------------------------------------------------------------------------------
# cwd and environment

mkdir -p "$T/work dir"
expect_output 0 "$T/work dir" "--cwd DIR" -- sbx --cwd "$T/work dir" -- "$P" cwd
# shellcheck disable=SC2016
expect_output 0 "$T/work dir" "default cwd: sandboxctl's own" -- \
        bash -c 'cd "$1" && exec "$2" run -- "$3" cwd' _ "$T/work dir" "$SANDBOXCTL" "$P"
expect_stderr_match 2 "^sandboxctl: --cwd: " "--cwd relative: exit 2" -- sbx --cwd tmp -- "$P" cwd
expect_stderr_match 125 "^sandboxctl: chdir: /nonexistent-sbxtest: No such file or directory$" \
        "--cwd /nonexistent: exit 125, one line naming the step" -- sbx --cwd /nonexistent-sbxtest -- "$P" cwd

expect_exit 0 "environment: clean, plus --env" -- env -i PATH=/usr/bin:/bin TERM=sbx-term SBX_HOST_SECRET=1 \
        LD_LIBRARY_PATH=/nonexistent "$SANDBOXCTL" run --env A=B --env C=D=E -- "$P" env
keys=$(printf '%s\n' "$OUT" | cut -d= -f1 | sort | paste -sd' ' -)
check "$([ "$keys" = "A C HOME LOGNAME PATH TERM USER" ]; echo $?)" \
        "environment: exactly A C HOME LOGNAME PATH TERM USER (no host variables, no LD_*)" "keys: $keys"
check "$([[ $'\n'$OUT$'\n' == *$'\nA=B\n'* && $'\n'$OUT$'\n' == *$'\nC=D=E\n'* && $'\n'$OUT$'\n' == *$'\nTERM=sbx-term\n'* && $'\n'$OUT$'\n' == *$'\nUSER=root\n'* && $'\n'$OUT$'\n' == *$'\nHOME=/root\n'* ]]; echo $?)" \
        "environment: A=B, C=D=E, TERM passed, USER=root, HOME=/root" "env: $OUT"
expect_stdout_match 0 "(^|[[:space:]])PATH=/custom/bin([[:space:]]|$)" "--env PATH=/custom/bin overrides PATH" -- \
        sbx --env PATH=/custom/bin -- "$P" env
expect_output 2 "" "--env LD_PRELOAD=x: refused (exit 2, nothing on stdout)" -- sbx --env LD_PRELOAD=x -- "$P" env
check "$([[ $ERR =~ ^sandboxctl:\ --env:\ .*LD_PRELOAD ]] && [ "$(printf '%s\n' "$ERR" | wc -l)" -eq 1 ]; echo $?)" \
        "--env LD_PRELOAD=x: one line naming --env and LD_PRELOAD" "stderr: $ERR"
expect_stderr_match 2 "^sandboxctl: --env: .*LD_LIBRARY_PATH" "--env LD_LIBRARY_PATH=/x: refused" -- \
        sbx --env LD_LIBRARY_PATH=/x -- "$P" env
expect_stderr_match 2 "^sandboxctl: --env: " "--env without '=': exit 2" -- sbx --env NOEQUALS -- "$P" env

# ------------------------------------------------------------------------------------------
# File descriptors and output files

expect_output 0 "0 1 2" "fds: only 0, 1, 2 are open in the task" -- sbx -- "$P" fds
expect_output 0 "0 1 2" "fds: fds 7 and 9 open in sandboxctl's caller are not inherited" -- \
        bash -c 'exec 7</dev/null 9>/dev/null; exec "$@"' _ "$SANDBOXCTL" run -- "$P" fds
expect_output 0 "0 1 2" "fds: also with promises" -- sbx --promises "stdio rpath" -- "$P" fds

expect_output 0 "" "--stdout FILE --stderr FILE: nothing reaches the terminal" -- \
        sbx --stdout "$T/out" --stderr "$T/err" -- "$P" echo to-stdout
expect_exit 0 "--stderr FILE: stderr output" -- sbx --stdout "$T/out" --stderr "$T/err" -- "$P" echo-err to-stderr
check "$([ "$(cat "$T/out")" = to-stdout ] && [ "$(cat "$T/err")" = to-stderr ]; echo $?)" \
        "--stdout/--stderr: the files got the output" "out: $(cat "$T/out") err: $(cat "$T/err")"
expect_exit 0 "--stdout FILE again" -- sbx --stdout "$T/out" -- "$P" echo second
check "$([ "$(cat "$T/out")" = $'to-stdout\nsecond' ]; echo $?)" "--stdout appends" "out: $(cat "$T/out")"
echo keep >"$T/real"
ln -s "$T/real" "$T/outlink"
expect_output 125 "" "--stdout through a symlink: refused, the task does not run" -- \
        sbx --stdout "$T/outlink" -- "$P" echo leaked
check "$([[ $ERR =~ ^sandboxctl:\ --stdout:\ .*$T/outlink ]] && [ "$(cat "$T/real")" = keep ]; echo $?)" \
        "--stdout through a symlink: message names --stdout and the path; the target is untouched" "stderr: $ERR"
mkdir "$T/realdir"
ln -s "$T/realdir" "$T/dirlink"
expect_exit 125 "--stderr through a symlinked directory: refused" -- \
        sbx --stderr "$T/dirlink/err" -- "$P" echo-err leaked
check "$([ ! -e "$T/realdir/err" ]; echo $?)" "--stderr through a symlinked directory: nothing created"

# ------------------------------------------------------------------------------------------
# Exit codes and signals

expect_exit 7 "exit 7 -> 7" -- sbx -- "$P" exit 7
expect_exit 0 "exit 0 -> 0" -- sbx -- "$P" exit 0
expect_exit 255 "exit 255 -> 255" -- sbx -- "$P" exit 255
expect_exit 143 "killed by SIGTERM -> 143" -- sbx -- "$P" signal-self 15
expect_exit 137 "killed by SIGKILL -> 137" -- sbx -- "$P" signal-self 9
expect_stderr_match 127 "^sandboxctl: exec: /nonexistent-sbxtest: No such file or directory$" \
        "command not found (absolute): 127, one line" -- sbx -- /nonexistent-sbxtest
expect_stderr_match 127 "^sandboxctl: exec: sbx-no-such-command: No such file or directory$" \
        "command not found (PATH): 127, one line" -- sbx -- sbx-no-such-command
cp "$PROBE" "$T/noexec"
chmod 644 "$T/noexec"
expect_stderr_match 126 "^sandboxctl: exec: $T/noexec: Permission denied$" "command not executable: 126" -- \
        sbx -- "$T/noexec" exit 0
expect_exit 126 "command is a directory: 126" -- sbx -- "$T/bin"
expect_output 2 "" "run without a command: exit 2, nothing on stdout" -- sbx --promises stdio
expect_stderr_match 2 "^sandboxctl: --bogus: unknown option$|^sandboxctl: .*--bogus" "unknown option: exit 2" -- \
        sbx --bogus -- "$P" exit 0

# Signals to sandboxctl. A python wrapper starts it and records how it ended, so "exited 143"
# (forwarded: the task died of SIGTERM) is told apart from "killed by 15" (sandboxctl itself).
start_bg() { # start_bg STATUSFILE CMD...: sets BG_WRAPPER and BG_PID (the command's pid)
        local st=$1
        shift
        python3 -c '
import os, subprocess, sys
p = subprocess.Popen(sys.argv[2:])
open(sys.argv[1] + ".pid", "w").write(str(p.pid))
p.wait()
r = "exited %d" % p.returncode if p.returncode >= 0 else "killed by %d" % -p.returncode
open(sys.argv[1], "w").write(r)
' "$st" "$@" &
        BG_WRAPPER=$!
        track_pid "$BG_WRAPPER"
        BG_PID=
        for _ in $(seq 1 100); do
                [ -s "$st.pid" ] && BG_PID=$(cat "$st.pid") && break
                sleep 0.05
        done
        [ -n "$BG_PID" ] && track_pid "$BG_PID"
}
task_of() { # task_of SANDBOXCTL-PID: host pid of the task (its grandchild), or nothing
        local init kids
        init=$(cat "/proc/$1/task/$1/children" 2>/dev/null)
        init=${init%% *}
        [ -n "$init" ] || return 0
        kids=$(cat "/proc/$init/task/$init/children" 2>/dev/null)
        printf '%s' "${kids%% *}"
}
wait_task() { # wait_task SANDBOXCTL-PID: sets TASK once the task runs the probe
        local _i
        TASK=
        [ -n "$1" ] || return 1
        for _i in $(seq 1 100); do
                TASK=$(task_of "$1")
                if [ -n "$TASK" ] && [ "$(readlink "/proc/$TASK/exe" 2>/dev/null)" = "$P" ]; then
                        return 0
                fi
                sleep 0.05
        done
        TASK=
        return 1
}

for sig in TERM:15 INT:2 HUP:1; do
        start_bg "$T/status.${sig%%:*}" "$SANDBOXCTL" run -- "$P" sleep 20
        if wait_task "$BG_PID"; then
                kill "-${sig%%:*}" "$BG_PID"
                wait "$BG_WRAPPER"
                want="exited $((128 + ${sig#*:}))"
                got=$(cat "$T/status.${sig%%:*}" 2>/dev/null)
                check "$([ "$got" = "$want" ]; echo $?)" \
                        "SIG${sig%%:*} to sandboxctl: forwarded to the task (PID 2, no handler), sandboxctl $want" \
                        "sandboxctl: $got"
        else
                check 1 "SIG${sig%%:*} to sandboxctl: forwarded to the task" "the task did not start"
        fi
done

start_bg "$T/status.KILL" "$SANDBOXCTL" run -- "$P" sleep 20
if wait_task "$BG_PID"; then
        task=$TASK
        kill -KILL "$BG_PID"
        wait "$BG_WRAPPER"
        gone=1
        for _ in $(seq 1 100); do
                if [ ! -e "/proc/$task" ] || [ "$(readlink "/proc/$task/exe" 2>/dev/null)" != "$P" ]; then
                        gone=0
                        break
                fi
                sleep 0.05
        done
        check "$gone" "SIGKILL to sandboxctl run: the task dies with it"
else
        check 1 "SIGKILL to sandboxctl run: the task dies with it" "the task did not start"
fi

# ------------------------------------------------------------------------------------------
# no_new_privs, seccomp, capabilities

expect_output 0 1 "no_new_privs is set (no promises)" -- sbx -- "$P" status NoNewPrivs
expect_output 0 1 "no_new_privs is set (promises)" -- sbx --promises "stdio rpath" -- "$P" status NoNewPrivs
expect_output 0 2 "no promises: Seccomp 2 (the baseline filter)" -- sbx -- "$P" status Seccomp
expect_output 0 0 "no promises, --no-baseline-filter: Seccomp 0 (no filter)" -- \
        sbx --no-baseline-filter -- "$P" status Seccomp
expect_output 0 2 "promises: Seccomp 2 (filter mode)" -- sbx --promises "stdio rpath" -- "$P" status Seccomp
expect_output 0 2 "promises with exec: Seccomp 2" -- sbx --promises "stdio rpath exec" -- "$P" status Seccomp
for cap in CapInh CapPrm CapEff CapBnd CapAmb; do
        expect_output 0 0000000000000000 "root task: $cap is empty" -- sbx -- "$P" status "$cap"
done
expect_output 0 0000000000000000 "--user nobody: CapBnd is empty" -- sbx --user nobody -- "$P" status CapBnd
expect_exit "$EPERM" "root task without capabilities: chown to another user fails (EPERM)" -- \
        sbx --unveil "rw:$T/real" -- "$P" chown "$T/real" 1 1

done_testing
