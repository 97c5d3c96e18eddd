#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/root/test-view.sh: what a task can reach of the host beyond its unveil rules, tried the
# way a hostile job would, through `sandboxctl run` and through a sandboxd with a strict policy
# (the ceiling covers only the alloc dirs, the system's programs and the probe):
# - an unveil rule cannot be redirected through a symlink, at start (the policy checks where it
#   leads) or in an exec session (the rules are pinned at start; a planted symlink or a swapped
#   directory refuses the exec, in the host's view and in the task's own /tmp);
# - every launch rule (program, loader) is checked against the ceiling, named when refused;
# - no host unix socket is reachable: /run and /var/run are empty, sandboxd's own socket is
#   covered, with network none, with and without promises;
# - /dev holds only the minimal set; /proc/1/cmdline and ps show no sandboxd command line;
# - Nomad's directories under /tmp (the dev agent's layout) stay visible with a private /tmp.
set -u
# shellcheck source=tests/root/lib.sh
. "$(dirname "$0")/lib.sh"

require_sandbox_host
: "${SANDBOXD:?}" "${PROBE_DYN:?}" "${SANDBOX_PRELOAD:?}"
[ -x "$SANDBOXD" ] || skip_all "\$SANDBOXD ($SANDBOXD) is not an executable"

T=$TEST_TMP
# Outside /tmp, so daemon tasks (private /tmp) see it: the probes, Nomad's data dir, the secret.
V=$(mktemp -d /var/tmp/sbxview.XXXXXX)
rm_v() { rm -rf -- "$V"; }
at_exit rm_v
chmod 755 "$V"
mkdir -p "$V/bin" "$V/outside" "$V/nomad/alloc/A/alloc" "$V/nomad/alloc/A/web/local" "$V/nomad/alloc/A/web/secrets" \
        "$V/secret"
cp "$PROBE" "$V/bin/probe"
cp "$PROBE_DYN" "$V/bin/probe-dyn"
cp "$PROBE" "$V/outside/probe"
echo s3cret >"$V/secret/data"
chmod -R a+rX "$V"
chmod 755 "$V/bin/probe" "$V/bin/probe-dyn" "$V/outside/probe"
ALLOC=$V/nomad/alloc/A/alloc
PRELOAD_DIR=$(dirname "$SANDBOX_PRELOAD")
P=$V/bin/probe

S=$T/sandboxd.sock
CONF=$T/sandboxd.conf
CG_PARENT=sandboxd-view-$$
# The dev agent keeps its data dir under /tmp (/tmp/NomadClient123456789).
DEV=$T/NomadClient$$
mkdir -p "$DEV/alloc/B/alloc/logs" "$DEV/alloc/B/app/local" "$DEV/alloc/B/app/secrets"
chmod -R 755 "$DEV"
chmod 777 "$DEV/alloc/B/alloc"

cat >"$CONF" <<EOF
[daemon]
allowed_uids = 65534
nomad_data_dir = $V/nomad $DEV
cgroup_backend = cgroupfs
cgroup_parent = $CG_PARENT
admin_policy = sandbox

# strict: the alloc dirs, the system's programs and libraries, the probe; no /etc beyond the
# loader's cache; no default set
[driver sandbox]
users = nobody
unveil = rwxc:$V/nomad/alloc rwxc:$DEV/alloc rx:/usr rx:$V/bin rx:$PRELOAD_DIR r:/etc/ld.so.cache
unveil_defaults = no
networks = none

# only its own program directory: a dynamic program's loader is outside
[driver nolib]
users = nobody
unveil = rx:$V/bin
unveil_defaults = no
networks = none

[driver priv]
allow_root = yes
users = root
unveil = rwxc:/
networks = none
EOF
chmod 644 "$CONF"

at_exit cleanup_daemon
CTL=("$SANDBOXCTL" --socket "$S")
ctl() { "${CTL[@]}" "$@"; }
if ! start_daemon; then
        check 1 "sandboxd starts" "$(tail -20 "$T/sandboxd.log")"
        done_testing
fi

# ------------------------------------------------------------------------------------------
# Unveil rules cannot be redirected: at start

ln -s /etc "$ALLOC/etc"
ln -s "$V/secret" "$ALLOC/secret"
expect_stderr_match 1 "policy: policy 'sandbox': unveil 'r:/etc' is not beneath an allowed prefix" \
        "control: r:/etc is outside the strict ceiling" -- \
        "${CTL[@]}" start --name s0 --no-unveil-defaults --unveil r:/etc -- "$P" read /etc/passwd
expect_stderr_match 1 "unveil 'r:$ALLOC/etc' leads to /etc, which is not beneath an allowed prefix" \
        "a rule through a symlink in the alloc dir to /etc is refused, naming the rule and where it leads" -- \
        "${CTL[@]}" start --name s1 --no-unveil-defaults --unveil "r:$ALLOC/etc" -- "$P" read /etc/passwd
expect_stderr_match 1 "unveil 'r:$ALLOC/secret' leads to $V/secret" \
        "... and so is one to a host directory outside the ceiling" -- \
        "${CTL[@]}" start --name s2 --no-unveil-defaults --unveil "r:$ALLOC/secret" -- "$P" read "$V/secret/data"
check "$(! ctl list | grep -q '^s[12] '; echo $?)" "nothing was started by the refused requests" "$(ctl list)"
rm -f "$ALLOC/etc" "$ALLOC/secret"

# ------------------------------------------------------------------------------------------
# ... and in exec sessions: the task's rules are pinned at its start

mkdir -p "$ALLOC/data"
echo mine >"$ALLOC/data/f"
chmod -R 777 "$ALLOC"
ctl start --name pin --no-unveil-defaults --user nobody --alloc-id A --alloc-dir "$ALLOC" --unveil rx:/usr --unveil "r:$ALLOC/data" -- \
        /bin/sh -c "while [ ! -e $ALLOC/go ]; do sleep 0.1; done; mv $ALLOC/data $ALLOC/data.old && ln -s /etc $ALLOC/data && touch $ALLOC/planted && sleep 1000" \
        >/dev/null
expect_output 0 mine "exec: the pinned rule reads the task's data before the swap" -- \
        "${CTL[@]}" exec pin -- "$P" cat "$ALLOC/data/f"
touch "$ALLOC/go"
for _ in $(seq 1 50); do [ -e "$ALLOC/planted" ] && break; sleep 0.1; done
check "$([ -L "$ALLOC/data" ]; echo $?)" "the task replaced its unveiled directory by a symlink to /etc"
run "${CTL[@]}" exec pin -- "$P" read /etc/passwd
check "$([ "$RC" -ne 0 ] && [[ $ERR == *"unveil 'r:$ALLOC/data'"* ]] && [[ $ERR == *pinned* ]]; echo $?)" \
        "exec after the task planted a symlink: refused, naming the rule (not r:/etc)" "rc $RC: $OUT $ERR"
ctl destroy --force pin >/dev/null 2>&1

# A deferred rule (resolved in the task's view): the dev agent's layout, alloc dir under /tmp,
# hidden by the task's private /tmp and bound back; the task swaps a directory there.
BA=$DEV/alloc/B/alloc
mkdir -p "$BA/data"
echo mine >"$BA/data/f"
chmod -R 777 "$BA"
ctl start --name dpin --no-unveil-defaults --user nobody --alloc-id B --alloc-dir "$BA" --unveil rx:/usr --unveil "r:$BA/data" -- \
        /bin/sh -c "while [ ! -e $BA/go ]; do sleep 0.1; done; mv $BA/data $BA/data.old && ln -s /etc $BA/data && touch $BA/planted && sleep 1000" \
        >/dev/null
expect_output 0 mine "exec, alloc dir under /tmp with a private /tmp: the deferred rule reads the task's data" -- \
        "${CTL[@]}" exec dpin -- "$P" cat "$BA/data/f"
touch "$BA/go"
for _ in $(seq 1 50); do [ -e "$BA/planted" ] && break; sleep 0.1; done
run "${CTL[@]}" exec dpin -- "$P" read /etc/passwd
check "$([ "$RC" -ne 0 ] && [[ $ERR == *"r:$BA/data"* ]]; echo $?)" \
        "exec after a symlink was planted for a deferred rule: refused, naming the rule" "rc $RC: $OUT $ERR"
ctl destroy --force dpin >/dev/null 2>&1

# A deferred rule is never resolved through a symlink: one planted in a writable volume (by an
# earlier task, or the job's artifact) does not lead the rule out of it.
mkdir -p "$T/vol" "$T/volmnt"
ln -s /etc "$T/vol/link"
chmod 755 "$T/vol" "$T/volmnt"
expect_stderr_match 125 "unveil 'r:$T/volmnt/link': $T/volmnt/link passes through a symbolic link" \
        "run: a rule in a volume naming a planted symlink to /etc is refused, not followed" -- \
        sbx --mount "$T/vol:$T/volmnt:rw" --unveil "r:$T/volmnt/link" -- "$P" read /etc/passwd
expect_stderr_match 125 "passes through a symbolic link" \
        "run: so is one through /dev/stdin (a link into /proc) in the task's /dev" -- \
        sbx --unveil r:/dev/stdin -- "$P" read /etc/passwd

# ------------------------------------------------------------------------------------------
# Launch rules are the policy's too

expect_stderr_match 1 "policy 'sandbox': the program $V/outside/probe \(a launch rule, rx\) is outside the unveil ceiling" \
        "a program outside the ceiling is refused, named as the program" -- \
        "${CTL[@]}" start --name l1 --no-unveil-defaults -- "$V/outside/probe" exit 0
expect_exit 0 "control: the static probe inside the ceiling starts (driver nolib)" -- \
        "${CTL[@]}" --driver nolib start --name l2 --no-unveil-defaults -- "$P" exit 0
expect_exit 0 "... and exits 0" -- "${CTL[@]}" --driver nolib wait l2
ctl --driver nolib destroy l2 >/dev/null 2>&1
expect_stderr_match 1 "policy 'nolib': the program's loader /[^ ]*/ld-linux-x86-64\.so\.2 \(a launch rule, rx\) is outside the unveil ceiling" \
        "a dynamic program whose loader lies outside the ceiling is refused, naming the loader" -- \
        "${CTL[@]}" --driver nolib start --name l3 --no-unveil-defaults -- "$V/bin/probe-dyn" exit 0
expect_exit 0 "the strict policy runs a dynamic system program (/usr/bin: loader and libraries in rx:/usr)" -- \
        "${CTL[@]}" start --name l4 --no-unveil-defaults -- /bin/true
expect_exit 0 "... and it exits 0" -- "${CTL[@]}" wait l4
ctl destroy l4 >/dev/null 2>&1

# ------------------------------------------------------------------------------------------
# No host unix socket: /run, /var/run, sandboxd's own socket

SOCK=/run/sbxtest-view-$$.sock
python3 -c '
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
s.listen(64)
open(sys.argv[2], "w").close()
s.settimeout(1)
end = time.time() + 240
while time.time() < end:
    try:
        c, _ = s.accept()
        c.close()
    except socket.timeout:
        pass
' "$SOCK" "$T/sock.ready" &
listener=$!
track_pid "$listener"
rm_sock() { rm -f "$SOCK"; }
at_exit rm_sock
for _ in $(seq 1 100); do [ -e "$T/sock.ready" ] && break; sleep 0.05; done
if [ -e "$T/sock.ready" ]; then
        expect_exit 0 "control: the host listener at $SOCK accepts the probe outside a sandbox" -- \
                "$P" unix-connect "$SOCK"
        u_sock() { # u_sock DESC ARGS... -- PATH
                local desc=$1
                shift
                run "$@"
                check "$([ "$RC" -ne 0 ] && [ "$RC" -ne 125 ]; echo $?)" "$desc -> $(errno_name "$RC")" \
                        "$(_details "not 0")"
        }
        u_sock "run, network none, no promises: a host socket under /run is unreachable" \
                sbx --net none --user nobody -- "$P" unix-connect "$SOCK"
        u_sock "run, network none, promises 'stdio rpath unix': unreachable" \
                sbx --net none --user nobody --promises "stdio rpath unix" -- "$P" unix-connect "$SOCK"
        u_sock "run as root, no Landlock: unreachable through /var/run too" \
                sbx --net none --no-landlock -- "$P" unix-connect "/var/run/${SOCK#/run/}"
        expect_exit 0 "run --host-view keeps the host's /run (control: the socket is there)" -- \
                sbx --net none --host-view --no-landlock -- "$P" unix-connect "$SOCK"
        ctl start --name sk --no-unveil-defaults --no-private-tmp --stdout "$T/sk.out" -- "$P" unix-connect "$SOCK" >/dev/null
        run "${CTL[@]}" wait sk
        check "$([ "$RC" -ne 0 ] && [ "$RC" -ne 125 ]; echo $?)" \
                "daemon task, no promises: a host socket under /run is unreachable -> $(errno_name "$RC")" "rc $RC $ERR"
        ctl destroy sk >/dev/null 2>&1
else
        check 1 "start a listener under /run (python3)"
fi
# sandboxd's own socket lives in $T here (under /tmp): without a private /tmp it is in the view
ctl start --name own --no-unveil-defaults --no-private-tmp -- "$P" unix-connect "$S" >/dev/null
run "${CTL[@]}" wait own
check "$([ "$RC" -ne 0 ] && [ "$RC" -ne 125 ]; echo $?)" \
        "daemon task without a private /tmp: sandboxd's own socket is unreachable -> $(errno_name "$RC")" "rc $RC $ERR"
ctl destroy own >/dev/null 2>&1
ctl start --name ownp --no-unveil-defaults --no-private-tmp --promises "stdio rpath unix" -- "$P" unix-connect "$S" >/dev/null
run "${CTL[@]}" wait ownp
check "$([ "$RC" -ne 0 ] && [ "$RC" -ne 125 ]; echo $?)" \
        "... with promises 'stdio rpath unix' too -> $(errno_name "$RC")" "rc $RC $ERR"
ctl destroy ownp >/dev/null 2>&1

# ------------------------------------------------------------------------------------------
# /dev and /proc

echo volume-data >"$T/vol/f"
chmod 644 "$T/vol/f"
expect_output 0 volume-data "a volume mounted under /run: its mount point is made in the task's /run" -- \
        sbx --mount "$T/vol:/run/sbxview-vol" -- "$P" cat /run/sbxview-vol/f
check "$([ ! -e /run/sbxview-vol ]; echo $?)" "... not on the host"
expect_output 0 "$(printf '%s\n' fd full null ptmx pts random shm stderr stdin stdout tty urandom zero)" \
        "/dev holds only null zero full random urandom tty ptmx pts shm and the fd links" -- \
        sbx --unveil r:/dev -- "$P" ls /dev
u_dev() { expect_exit "$1" "$2 -> $(errno_name "$1")" -- sbx --user nobody -- "$P" "${@:3}"; }
u_dev 0 "/dev/null is writable" write /dev/null
u_dev "$ENOENT" "no /dev/log (journald's socket)" unix-connect /dev/log
u_dev "$ENOENT" "no host disk in /dev" stat /dev/vda
expect_stdout_match 0 "^[0-9]+ [0-9]+$" "the private /dev/pts gives a terminal (ptmx)" -- \
        sbx --unveil rw:/dev/ptmx --unveil rw:/dev/pts -- /usr/bin/python3 -c \
        'import os; m, s = os.openpty(); print(m, s)'
expect_exit 0 "/dev/shm is the task's own and writable (POSIX shared memory)" -- \
        sbx --user nobody -- "$P" create /dev/shm/x
run sbx -- /bin/cat /proc/1/cmdline
check "$([ "$RC" -eq 0 ] && [ "$(printf '%s' "$OUT" | tr -d '\0')" = sandbox-init ]; echo $?)" \
        "run as root: /proc/1/cmdline says sandbox-init, not sandboxctl's command line" "rc $RC: $(printf '%s' "$OUT" | tr '\0' ' ')"
ctl --driver priv start --name root1 --user root --stdout "$T/root1.out" -- \
        /bin/sh -c 'tr "\0" " " </proc/1/cmdline; echo; ps -eo user,args' >/dev/null
ctl --driver priv wait root1 >/dev/null 2>&1
check "$(grep -q -- "--config\|$CONF\|sandboxd" "$T/root1.out"; [ $? -ne 0 ] && grep -q sandbox-init "$T/root1.out"; echo $?)" \
        "daemon task as root: /proc/1/cmdline and ps show sandbox-init, none of sandboxd's command line" \
        "$(cat "$T/root1.out" 2>&1)"
ctl --driver priv destroy root1 >/dev/null 2>&1
u_dev "$EACCES" "the init's environment is not readable (nobody)" read /proc/1/environ
expect_exit "$EACCES" "... nor by a root task -> EACCES" -- sbx -- "$P" read /proc/1/environ
expect_output 0 0 "/proc/timer_list (every timer on the host) is masked: root without Landlock reads nothing" -- \
        sbx --no-landlock -- /bin/sh -c 'head -c 1 /proc/timer_list | wc -c'
expect_stderr_match 2 "Read-only file system" "/proc/sys is read-only, even for root without Landlock" -- \
        sbx --no-landlock -- /bin/sh -c 'echo sbx >/proc/sys/kernel/domainname'

# ------------------------------------------------------------------------------------------
# The dev agent: Nomad's directories under /tmp stay visible under the private /tmp

ctl start --name dev --no-unveil-defaults --unveil rx:/usr --user nomad-80001 --cwd "$DEV/alloc/B/app" --alloc-id B --task-name app --task-dir "$DEV/alloc/B/app" \
        --secrets-dir "$DEV/alloc/B/app/secrets" --alloc-dir "$DEV/alloc/B/alloc" --stdout "$T/dev.out" -- \
        /bin/sh -c "echo token >secrets/t && cat secrets/t && echo x >local/f && echo shared >../alloc/s && pwd && ls -A $T" \
        >/dev/null
run "${CTL[@]}" wait dev
check "$([ "$RC" -eq 0 ] && [ "$(sed -n 1p "$T/dev.out")" = token ] && [ "$(sed -n 2p "$T/dev.out")" = "$DEV/alloc/B/app" ] &&
        [ -f "$DEV/alloc/B/app/local/f" ] && [ -f "$DEV/alloc/B/alloc/s" ]; echo $?)" \
        "dev agent layout (alloc dirs under /tmp), private /tmp: the task starts in its dir and writes its dirs" \
        "rc $RC: $ERR; out: $(cat "$T/dev.out" 2>&1)"
check "$([ "$(sed -n '3,$p' "$T/dev.out")" = "NomadClient$$" ]; echo $?)" \
        "... and its /tmp shows only the path to them, nothing else of the host's /tmp" "$(cat "$T/dev.out")"
ctl destroy dev >/dev/null 2>&1
expect_stderr_match 1 "chdir: /nonexistent-sbxview: No such file or directory" \
        "a cwd that is not there fails the start, naming the path" -- \
        "${CTL[@]}" start --name nocwd --no-unveil-defaults --cwd /nonexistent-sbxview -- /bin/true

cleanup_daemon
check "$(! grep -q -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$T/sandboxd.log"; echo $?)" \
        "sandboxd's log has no sanitizer report" "$(grep -A15 -E 'ERROR: |runtime error:' "$T/sandboxd.log" | head -30)"
done_testing
