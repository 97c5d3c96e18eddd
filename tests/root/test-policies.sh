#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/root/test-policies.sh: the policies we ship run what they say they run. systemd/sandboxd.conf
# (the default policy the package and meson install) and systemd/sandboxd.conf.example, each read
# by a sandboxd as installed: the files' driver sections unchanged, Nomad's data_dir at
# /opt/nomad/data, the nomad-sandbox user, the preload helper at the package's path. Through each
# a dynamically linked program with promises starts in Nomad's directories: its launch rules (the
# program, its loader and libraries, the preload helper) must lie within the driver's ceiling,
# its launch set within the driver's promises, and its narrowing be verified, or the task fails.
# --check-config alone checks none of that.
#
# The whole file runs in a mount namespace of its own: /opt, /usr/libexec, /etc/passwd and
# /etc/group are replaced there (tmpfs and bind mounts), never on the host.
set -u
# shellcheck source=tests/root/lib.sh
. "$(dirname "$0")/lib.sh"

SRC=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${SBX_POLICIES_NS:-}" ]; then
        [ "$(id -u)" -eq 0 ] || skip_all "not root"
        SBX_POLICIES_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
        skip_all "cannot create a mount namespace"
fi
require_sandbox_host
[ -n "${SANDBOXD:-}" ] && [ -x "$SANDBOXD" ] || skip_all "\$SANDBOXD is not set"
: "${SANDBOX_PRELOAD:?}"
T=$TEST_TMP

# ------------------------------------------------------------------------------------------
# The installed layout, in this mount namespace only

mount -t tmpfs -o mode=0755 sbx-test-opt /opt || { echo "Bail out! cannot mount a tmpfs on /opt"; exit 1; }
mkdir -p /opt/nomad/data/alloc /opt/nomad/alloc_mounts /opt/tools
chmod 711 /opt/nomad/data
# The package's path of the helper (LIBEXECDIR/nomad-driver-sandbox with --prefix=/usr).
mount -t tmpfs -o mode=0755 sbx-test-libexec /usr/libexec || { echo "Bail out! cannot mount /usr/libexec"; exit 1; }
mkdir -p /usr/libexec/nomad-driver-sandbox
install -m 0644 "$SANDBOX_PRELOAD" /usr/libexec/nomad-driver-sandbox/libsandbox-preload.so
export SANDBOX_PRELOAD=/usr/libexec/nomad-driver-sandbox/libsandbox-preload.so
# The plugin's system user, as sysusers.d creates it.
if ! getent passwd nomad-sandbox >/dev/null; then
        uid=
        for u in $(seq 999 -1 900); do
                getent passwd "$u" >/dev/null || getent group "$u" >/dev/null || { uid=$u; break; }
        done
        cp /etc/passwd "$T/passwd"
        cp /etc/group "$T/group"
        echo "nomad-sandbox:x:$uid:$uid:nomad-driver-sandbox:/nonexistent:/usr/sbin/nologin" >>"$T/passwd"
        echo "nomad-sandbox:x:$uid:" >>"$T/group"
        chmod 644 "$T/passwd" "$T/group"
        mount --bind "$T/passwd" /etc/passwd && mount --bind "$T/group" /etc/group ||
                { echo "Bail out! cannot bind a passwd file with nomad-sandbox"; exit 1; }
fi
check "$(getent passwd nomad-sandbox >/dev/null; echo $?)" "the nomad-sandbox user exists (here)"

# Nomad's allocation directory (client/allocdir): DATA/alloc/<alloc id>/{alloc,<task>}.
ALLOC=$(cat /proc/sys/kernel/random/uuid)
A=/opt/nomad/data/alloc/$ALLOC
mkdir -p "$A/alloc/logs" "$A/alloc/tmp" "$A/alloc/data" "$A/web/local" "$A/web/secrets" "$A/web/tmp" "$A/web/private"
chmod 755 "$A" "$A/web" && chmod 777 "$A/alloc" "$A/alloc/logs" "$A/alloc/tmp" "$A/alloc/data"
NOMAD_DIRS=(--alloc-id "$ALLOC" --task-name web --task-dir "$A/web" --secrets-dir "$A/web/secrets" --alloc-dir "$A/alloc" --cwd "$A/web")

DAEMON_PID=
S=$T/sandboxd.sock
CG_PARENT=
stop_daemon() {
        local n
        if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
                for n in $("$SANDBOXCTL" --socket "$S" list -q 2>/dev/null); do
                        "$SANDBOXCTL" --socket "$S" destroy --force "$n" >/dev/null 2>&1
                done
                kill "$DAEMON_PID" 2>/dev/null
                wait "$DAEMON_PID" 2>/dev/null
        fi
        DAEMON_PID=
        [ -n "$CG_PARENT" ] && find /sys/fs/cgroup -maxdepth 3 -type d -name "$CG_PARENT" 2>/dev/null |
                while read -r d; do find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done
        true
}
at_exit stop_daemon

# start_daemon FILE: sandboxd with the shipped FILE; [daemon] gets this host's cgroup settings
# (a parent of this test's own), nothing else changes.
start_daemon() {
        local name
        name=$(basename "$1")
        CG_PARENT=sandboxd-policies-$$-${name%%.*}
        sed "/^\[daemon\]\$/a cgroup_backend = cgroupfs\\ncgroup_parent = $CG_PARENT" "$1" >"$T/$name"
        chmod 644 "$T/$name"
        check "$(cmp -s <(grep -v '^cgroup_' "$T/$name") "$1"; echo $?)" "$name: only cgroup_backend and cgroup_parent added"
        expect_output 0 "$1: OK" "$name as shipped: sandboxd --check-config" -- "$SANDBOXD" --check-config --config "$1"
        rm -f "$S"
        "$SANDBOXD" --config "$T/$name" --socket "$S" --state-dir "$T/state-${name%%.*}" 2>>"$T/sandboxd.log" &
        DAEMON_PID=$!
        track_pid "$DAEMON_PID"
        for _ in $(seq 1 100); do
                [ -S "$S" ] && "$SANDBOXCTL" --socket "$S" list >/dev/null 2>&1 && break
                sleep 0.05
        done
        check "$("$SANDBOXCTL" --socket "$S" list >/dev/null 2>&1; echo $?)" "$name: sandboxd starts with it" \
                "$(tail -5 "$T/sandboxd.log")"
}

# task DRIVER NAME DESC START-ARGS... -- COMMAND...: started through the daemon, its stdout in
# $T/NAME.out and stderr in $T/NAME.err, waited for; the wait's exit code in RC.
task() {
        local driver=$1 name=$2 desc=$3 rc
        shift 3
        rm -f "$A/web/local/out"
        timeout 30 "$SANDBOXCTL" --socket "$S" --driver "$driver" start --name "$name" \
                --stdout "$T/$name.out" --stderr "$T/$name.err" "$@" </dev/null >"$T/$name.ctl" 2>&1
        rc=$?
        check "$rc" "$desc: accepted" "exit $rc: $(cat "$T/$name.ctl")"
        RC=$rc
        [ "$rc" -eq 0 ] || return
        timeout 30 "$SANDBOXCTL" --socket "$S" wait "$name" >/dev/null 2>&1
        RC=$?
        "$SANDBOXCTL" --socket "$S" destroy "$name" >/dev/null 2>&1
}

HOSTNAME_FILE=$(cat /etc/hostname)
[ -n "$HOSTNAME_FILE" ] || { echo "Bail out! /etc/hostname is empty"; exit 1; }

# ------------------------------------------------------------------------------------------
# systemd/sandboxd.conf: the package's and meson's default policy

start_daemon "$SRC/systemd/sandboxd.conf"
task sandbox dyn "default policy: /bin/sh with 'stdio rpath wpath cpath proc exec prot_exec' in its task dir" \
        --user nobody --promises "stdio rpath wpath cpath proc exec prot_exec" "${NOMAD_DIRS[@]}" -- \
        /bin/sh -c 'cat /etc/hostname >local/out && cat local/out'
check "$([ "$RC" -eq 0 ] && [ "$(cat "$T/dyn.out")" = "$HOSTNAME_FILE" ] &&
        [ "$(stat -c %U "$A/web/local/out")" = nobody ]; echo $?)" \
        "... it runs (narrowing verified), reads /etc/hostname and writes its task dir as nobody" \
        "exit $RC, stdout: $(cat "$T/dyn.out"), stderr: $(cat "$T/dyn.err"); $(tail -3 "$T/sandboxd.log")"
task sandbox echo "default policy: a dynamic program with only 'stdio' (its launch needs rpath and prot_exec)" \
        --user nobody --promises "stdio" "${NOMAD_DIRS[@]}" -- /bin/echo hello
check "$([ "$RC" -eq 0 ] && [ "$(cat "$T/echo.out")" = hello ]; echo $?)" \
        "... runs: the launch set is within the driver's promises" "exit $RC, stdout: $(cat "$T/echo.out"), stderr: $(cat "$T/echo.err")"
expect_stderr_match 1 "require_promises" "default policy: a task without promises is refused, naming require_promises" -- \
        "$SANDBOXCTL" --socket "$S" --driver sandbox start --name nop --user nobody "${NOMAD_DIRS[@]}" -- /bin/true
expect_stderr_match 1 "unveil .*/home" "default policy: unveil r:/home is refused" -- \
        "$SANDBOXCTL" --socket "$S" --driver sandbox start --name home --user nobody --promises stdio \
        --unveil r:/home -- /bin/true
stop_daemon

# ------------------------------------------------------------------------------------------
# systemd/sandboxd.conf.example: [driver sandbox], and the exec2 and pledge drop-ins

start_daemon "$SRC/systemd/sandboxd.conf.example"
task sandbox ex "example, sandbox: /bin/sh with 'stdio rpath wpath cpath proc exec prot_exec' in its task dir" \
        --user nobody --promises "stdio rpath wpath cpath proc exec prot_exec" "${NOMAD_DIRS[@]}" -- \
        /bin/sh -c 'cat /etc/hostname >local/out && cat local/out'
check "$([ "$RC" -eq 0 ] && [ "$(cat "$T/ex.out")" = "$HOSTNAME_FILE" ]; echo $?)" \
        "... it runs, reads /etc/hostname and writes its task dir" "exit $RC, stdout: $(cat "$T/ex.out"), stderr: $(cat "$T/ex.err")"
task pledge pl "example, pledge: /bin/cat without promises gets default_promises 'stdio rpath'" \
        --user nobody "${NOMAD_DIRS[@]}" -- /bin/cat /etc/hostname
check "$([ "$RC" -eq 0 ] && [ "$(cat "$T/pl.out")" = "$HOSTNAME_FILE" ]; echo $?)" "... it runs and reads" \
        "exit $RC, stdout: $(cat "$T/pl.out"), stderr: $(cat "$T/pl.err")"
task pledge plc "example, pledge: /bin/cp without promises" --user nobody "${NOMAD_DIRS[@]}" -- /bin/cp /etc/hostname local/out
check "$([ "$RC" -ne 0 ] && [ ! -e "$A/web/local/out" ]; echo $?)" "... cannot create a file (no cpath: exit $RC)" \
        "stderr: $(cat "$T/plc.err")"
task exec2 e2 "example, exec2: /bin/sh without promises (the baseline filter only)" \
        --user nobody "${NOMAD_DIRS[@]}" -- /bin/sh -c 'echo x >local/out && cat local/out'
check "$([ "$RC" -eq 0 ] && [ "$(cat "$T/e2.out")" = x ]; echo $?)" "... it runs and writes its task dir" \
        "exit $RC, stdout: $(cat "$T/e2.out"), stderr: $(cat "$T/e2.err")"
stop_daemon

done_testing
