#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/escape/test-escape.sh: the escape suite. A hostile job tries to get out, the way a job
# runs: as nobody, with the default unveil set and typical promises, through `sandboxctl run`
# and through a private sandboxd with a strict policy. Then the same in-sandbox attempts run
# under bubblewrap (--unshare-all, no seccomp) for comparison.
#
# Categories: filesystem, privileges, kernel, exec-once, elf-loader, network, processes,
# daemon-policy. Every attempt prints one TAP line "[PROFILE] CATEGORY NAME OUTCOME WHAT":
#   blocked   the operation failed; WHAT is its errno (or the signal, or the refusal)
#   escaped   it got what it must not get: a failure of this test
#   limit     it got it, and that is a documented limit (LIMITS below, docs/security.md)
#   error     the attempt could not run (a probe did not build, a setup step failed): a failure
# bubblewrap's lines are a report: escaped there is not a failure, error is.
# At the end: per category, attempts / blocked / escaped / limit, for us and for bubblewrap.
#
# Environment (tests/escape/meson.build): SANDBOXCTL, SANDBOXD, ESCAPE (tests/escape/escape.c),
# PROBE, PROBE_RAW, START_LOGS, SANDBOX_PRELOAD, LAUNCH_HELPER_*, LAUNCH_LIB_DIR; BWRAP (default:
# bwrap on PATH); ESCAPE_RESULTS: a file that gets the raw results; SANDBOXCTL_CLIENT (below).
set -u
# shellcheck source=tests/root/lib.sh
. "$(dirname "$0")/../root/lib.sh"

require_sandbox_host
: "${SANDBOXD:?}" "${START_LOGS:?}" "${ESCAPE:?}" "${PROBE:?}" "${SANDBOX_PRELOAD:?}" "${LAUNCH_LIB_DIR:?}"
: "${LAUNCH_HELPER_EVIL:?}" "${LAUNCH_HELPER_IFUNC:?}" "${LAUNCH_HELPER_EXECSTACK:?}"
: "${LAUNCH_HELPER_STATIC_X:?}" "${LAUNCH_HELPER_STATIC:?}" "${PROBE_RAW:?}"
BWRAP=${BWRAP:-$(command -v bwrap || true)}

# What the kernel cannot enforce here (docs/security.md, "Limits"): an attempt named here that
# gets through is printed as "limit", not "escaped". PROFILE:CATEGORY/NAME, * = any profile.
LIMITS=(
        # Landlock has no UDP rules: --tcp-connect/--tcp-bind cover TCP only; UDP is all or
        # nothing (the inet promise, the network mode).
        "*:network/udp-sendto-denied-port"
        # Landlock has no right for connect(2) on a unix socket's path (ABI 7): a host socket
        # outside /run, /var/run and the private /tmp, in a directory the task may traverse,
        # accepts the task. The view hides the host's runtime state; elsewhere it is the
        # socket's own permissions.
        "run:network/host-unix-socket-outside-run"
        "run-nopromises:network/host-unix-socket-outside-run"
        "sandboxd:network/host-unix-socket-outside-run"
        # A peer may name another allocation's shared alloc dir as an unveil rule when the
        # policy's ceiling allows rwc beneath the alloc tree: the ceiling is the policy's.
        "sandboxd:daemon-policy/unveil-other-alloc-shared-dir"
)

T=$TEST_TMP
# Outside /tmp, so daemon tasks (private /tmp) see it.
V=$(mktemp -d /var/tmp/sbxescape.XXXXXX)
rm_v() { rm -rf -- "$V"; }
at_exit rm_v
chmod 755 "$V"
mkdir -p "$V/bin" "$V/work" "$V/outside" "$V/secret" "$V/nomad/alloc/A/alloc/logs" "$V/nomad/alloc/A/web/secrets" \
        "$V/nomad/alloc/A/web/local" "$V/nomad/alloc/B/alloc/logs" "$V/nomad/alloc/B/db/secrets" "$V/ctl"
cp "$ESCAPE" "$V/bin/escape"
cp "$ESCAPE" "$V/bin/escape-suid"
cp "$PROBE" "$V/bin/probe"
echo s3cret >"$V/secret/data"
echo "db password" >"$V/nomad/alloc/B/db/secrets/token"
touch "$V/outside/victim"
chmod -R a+rX "$V"
chmod 777 "$V/work" "$V/outside" "$V/nomad/alloc/A/alloc" "$V/nomad/alloc/A/web/local"
chmod 4755 "$V/bin/escape-suid"
chmod 700 "$V/nomad/alloc/B/db/secrets"
chmod 600 "$V/nomad/alloc/B/db/secrets/token"
chown 65534 "$V/nomad/alloc/B/db/secrets" "$V/nomad/alloc/B/db/secrets/token" # B's task runs as nobody too
SECRET=$V/secret/data
ALLOC=$V/nomad/alloc/A/alloc
A_WEB=$V/nomad/alloc/A/web
echo local >"$A_WEB/local/file"
chmod 644 "$A_WEB/local/file"
# How Nomad (the shim) starts task "web" of allocation A
NOMAD_A=(--alloc-id A --task-name web --task-dir "$A_WEB" --secrets-dir "$A_WEB/secrets" --alloc-dir "$ALLOC" --cwd "$A_WEB")
PRELOAD_DIR=$(dirname "$SANDBOX_PRELOAD")

# ------------------------------------------------------------------------------------------
# Results

RESULTS=$T/results
: >"$RESULTS"
is_limit() { # PROFILE CAT NAME
        local l
        for l in "${LIMITS[@]}"; do
                [[ $l == "$1:$2/$3" || $l == "*:$2/$3" ]] && return 0
        done
        return 1
}
# verdict PROFILE CAT NAME OUTCOME WHAT: one TAP line, recorded for the totals
verdict() {
        local prof=$1 c=$2 name=$3 out=$4 what=${5:-}
        if [ "$out" = escaped ] && is_limit "$prof" "$c" "$name"; then
                out=limit
        fi
        printf '%s %s %s %s\n' "$prof" "$c" "$name" "$out" >>"$RESULTS"
        local line="[$prof] $c $name $out $what" bad=0
        case $out in
        error) bad=1 ;;
        escaped) [ "$prof" = bwrap ] || bad=1 ;;
        esac
        _report "$bad" "$line" "$([ "$bad" -eq 0 ] || _details 0)"
}
# parse PROFILE FILE: the escape program's lines (PARSED: how many)
parse() {
        local prof=$1 file=$2 c name out what n=0
        while read -r c name out what; do
                case $out in
                blocked | escaped | error) ;;
                *) continue ;;
                esac
                case $c in
                filesystem | privileges | kernel | exec-once | network | processes) ;;
                *) continue ;;
                esac
                verdict "$prof" "$c" "$name" "$out" "$what"
                n=$((n + 1))
        done <"$file"
        PARSED=$n
}
# expect_lines PROFILE N MIN: the run printed at least MIN attempts (a run that died early fails)
expect_lines() {
        check "$([ "$2" -ge "$3" ]; echo $?)" "[$1] the escape program ran its attempts ($2, at least $3)" \
                "$(tail -20 "$T/$1.out" 2>/dev/null)"
}

# ------------------------------------------------------------------------------------------
# Host targets: a unix socket under /run, an abstract one, loopback TCP ports, a host process

HOST_SOCK=/run/sbxescape-$$.sock
# A host socket outside /run (Landlock has no right for connect(2) on a path socket)
HOST_SOCK2=$V/outside-sock/host.sock
mkdir -p "$V/outside-sock"
chmod 755 "$V/outside-sock"
ABSTRACT=sbxescape-$$
rm_sock() { rm -f -- "$HOST_SOCK"; }
at_exit rm_sock
PORTS=$(/usr/bin/python3 - <<'EOF'
import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(('127.0.0.1', 0))
print(' '.join(str(x.getsockname()[1]) for x in s))
EOF
)
read -r PORT_OK PORT_DENY _ <<<"$PORTS"
/usr/bin/python3 - "$HOST_SOCK" "$ABSTRACT" "$PORT_OK" "$PORT_DENY" "$HOST_SOCK2" <<'EOF' &
import os, socket, sys, threading
path, abstract, ok, deny, path2 = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
socks = []
for p in (path2, path):
    u = socket.socket(socket.AF_UNIX); u.bind(p); os.chmod(p, 0o777); socks.append(u)
a = socket.socket(socket.AF_UNIX); a.bind('\0' + abstract); socks.append(a)
for p in (ok, deny):
    t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind(('127.0.0.1', p)); socks.append(t)
def serve(s):
    s.listen(64)
    while True:
        c, _ = s.accept(); c.close()
for s in socks:
    threading.Thread(target=serve, args=(s,), daemon=True).start()
open(path + '.ready', 'w').close()
threading.Event().wait()
EOF
track_pid $!
for _ in $(seq 1 100); do [ -e "$HOST_SOCK.ready" ] && break; sleep 0.05; done
rm -f "$HOST_SOCK.ready"
check "$([ -S "$HOST_SOCK" ]; echo $?)" "setup: host listeners (unix $HOST_SOCK, @$ABSTRACT, tcp $PORT_OK, $PORT_DENY)"
setpriv --reuid=65534 --regid=65534 --clear-groups sleep 600 &
HOST_PID=$!
track_pid "$HOST_PID"

# ------------------------------------------------------------------------------------------
# A private sandboxd with a strict policy

# Where a real sandboxd's socket is: under /run (the task's view hides /run).
SD=/run/sbxescape-d$$
mkdir -p "$SD"
rm_sd() { rm -rf -- "$SD"; }
at_exit rm_sd
S=$SD/sandboxd.sock
CONF=$T/sandboxd.conf
CG_PARENT=sandboxd-escape-$$
cat >"$CONF" <<EOF
[daemon]
nomad_data_dir = $V/nomad
cgroup_backend = cgroupfs
cgroup_parent = $CG_PARENT
admin_policy = job

# strict: the alloc dirs, the system's programs, the escape program; typical promises at most
[driver job]
users = nobody
promises = stdio rpath wpath cpath fattr inet unix dns proc exec prot_exec
unveil = rwxc:$V/nomad/alloc rx:/usr rx:$V/bin rx:$PRELOAD_DIR r:/etc/ld.so.cache rwc:$V/work
unveil_defaults = no
networks = none
EOF
chmod 644 "$CONF"
at_exit cleanup_daemon
start_daemon
check $? "setup: the private sandboxd starts" "$(tail -20 "$T/sandboxd.log" 2>/dev/null)"
# SANDBOXCTL_CLIENT: the sandboxctl that talks to sandboxd (default SANDBOXCTL); set to run this
# suite against an older sandboxd and `sandboxctl run` with today's client options.
CTL=("${SANDBOXCTL_CLIENT:-$SANDBOXCTL}" --socket "$S")
TASK_N=0
# start_task NAME OUTFILE [start options...] -- COMMAND...: starts through the private sandboxd,
# waits for it (RC = its exit code, or 1000 + the start's exit code if it was refused)
start_task() {
        local name=$1 out=$2
        shift 2
        : >"$out"
        chmod 666 "$out"
        run "${CTL[@]}" start --name "$name" --no-unveil-defaults --stdout "$out" --stderr "$out.err" "$@"
        if [ "$RC" -ne 0 ]; then
                RC=$((1000 + RC))
                return
        fi
        run "${CTL[@]}" wait "$name"
        local rc=$RC
        "${CTL[@]}" destroy --force "$name" >/dev/null 2>&1
        _slurp OUT "$out"
        RC=$rc
}

# ------------------------------------------------------------------------------------------
# The in-sandbox attempts

TYPICAL="stdio rpath wpath cpath inet unix dns proc"
ENVS=(--env "ESC_SECRET=$SECRET" --env "ESC_OUTSIDE=$V/outside" --env "ESC_WORK=$V/work"
        --env "ESC_HOST_SOCK=$HOST_SOCK" --env "ESC_HOST_SOCK2=$HOST_SOCK2" --env "ESC_DAEMON_SOCK=$S" --env "ESC_PORT_DENY=$PORT_DENY"
        --env "ESC_HOST_PID=$HOST_PID" --env "ESC_ABSTRACT=$ABSTRACT" --env "ESC_SETUID=$V/bin/escape-suid")
reset_targets() {
        rm -rf "${V:?}/work/"* "$V/outside/"*
        touch "$V/outside/victim"
        chmod 644 "$SECRET"
}

reset_targets
TEST_TIMEOUT=120
run sbx --user nobody --promises "$TYPICAL" --net host --tcp-connect "$PORT_OK" --tcp-bind "$PORT_OK" \
        --unveil "rwc:$V/work" --unveil "rx:$V/bin" "${ENVS[@]}" --cwd / -- "$V/bin/escape" all
printf '%s\n' "$OUT" >"$T/run.out"
parse run "$T/run.out"
expect_lines run "$PARSED" 140

reset_targets
run sbx --user nobody --net host --tcp-connect "$PORT_OK" --tcp-bind "$PORT_OK" \
        --unveil "rwc:$V/work" --unveil "rx:$V/bin" "${ENVS[@]}" --cwd / -- "$V/bin/escape" fs priv kernel net proc
printf '%s\n' "$OUT" >"$T/run-nopromises.out"
parse run-nopromises "$T/run-nopromises.out"
expect_lines run-nopromises "$PARSED" 125

reset_targets
start_task esc-all "$V/ctl/all.out" --promises "$TYPICAL" --tcp-connect "$PORT_OK" --tcp-bind "$PORT_OK" \
        --unveil "rwc:$V/work" --unveil "rx:/usr" "${ENVS[@]}" -- "$V/bin/escape" all
printf '%s\n' "$OUT" >"$T/sandboxd.out"
parse sandboxd "$T/sandboxd.out"
expect_lines sandboxd "$PARSED" 140
TEST_TIMEOUT=30

# The host process of our uid survived every kill(-1) and kill(pid) above.
if kill -0 "$HOST_PID" 2>/dev/null; then
        verdict host processes host-process-survives blocked alive
else
        verdict host processes host-process-survives escaped killed
fi

# ------------------------------------------------------------------------------------------
# ELF and loader tricks (run as nobody, default unveil set; the secret is never unveiled)

E=elf-loader
L=(--unveil "rx:$LAUNCH_LIB_DIR")
echo data >"$V/work/file"
chmod 644 "$V/work/file"
setup_ok=0
patch_elf second-interp /bin/cat "$V/bin/cat2" && patch_elf far-phdrs "$PROBE_RAW" "$V/bin/raw-far" &&
        printf '#!bin/probe read\n' >"$V/bin/rel.sh" && chmod 755 "$V/bin/rel.sh" || setup_ok=1
check "$setup_ok" "setup: crafted ELF files and scripts"

# judge PROFILE CAT NAME ESCAPED-IF-0 WHAT-IF-ESCAPED: from the last run
judge() {
        local prof=$1 c=$2 name=$3 esc=$4 what=$5 how
        if [ "$esc" -eq 0 ]; then
                verdict "$prof" "$c" "$name" escaped "$what"
                return
        fi
        local why=${ERR##*$'\n'}
        why=${why//[[:space:]]/_}
        if [ "$RC" -ge 1000 ]; then
                how="start-refused:${why:0:160}"
        elif [ "$RC" -eq 125 ]; then
                how="refused-or-killed:${why:0:160}"
        elif [ "$RC" -ge 128 ]; then
                how="signal-$((RC - 128))"
        else
                how=$(errno_name "$RC")
        fi
        verdict "$prof" "$c" "$name" blocked "$how"
}
got_secret() { [[ $OUT == *s3cret* ]]; echo $?; }
rc_zero() { [ "$RC" -eq 0 ]; echo $?; }

for extra in "" --no-unveil-defaults; do
        # shellcheck disable=SC2086
        run sbx --user nobody --promises "stdio rpath" $extra -- "$V/bin/cat2" "$SECRET"
        judge run $E "second-pt-interp-slash${extra:+-no-defaults}" "$(got_secret)" "read the secret"
done
start_task elf-interp "$V/ctl/interp.out" --promises "stdio rpath" -- "$V/bin/cat2" "$SECRET"
judge sandboxd $E second-pt-interp-slash "$(got_secret)" "read the secret"
# controls: the same programs run and read where their rules allow it
expect_exit 0 "control: the static far-phdrs program opens an unveiled file under 'stdio rpath'" -- \
        sbx --user nobody --unveil "r:$V/work" --promises "stdio rpath" -- "$V/bin/raw-far" open "$V/work/file"
run sbx --user nobody --unveil "r:$V/work" --promises "stdio" -- "$V/bin/raw-far" open "$V/work/file"
judge run $E static-phdrs-past-4k "$(rc_zero)" "rpath kept under stdio (taken as dynamic)"
expect_exit 0 "control: relative '#!bin/probe read' runs under 'stdio rpath'" -- \
        sbx --user nobody --cwd "$V" --unveil "rx:$V/bin" --promises "stdio rpath" -- "$V/bin/rel.sh"
run sbx --user nobody --cwd "$V" --unveil "rx:$V/bin" --promises "stdio" -- "$V/bin/rel.sh"
judge run $E relative-shebang-interpreter "$(rc_zero)" "rpath kept under stdio (taken as dynamic)"
expect_stdout_match 0 "main ran" "control: the evil launch helper without its attack reads an unveiled file ('stdio rpath')" -- \
        sbx --user nobody "${L[@]}" --unveil "r:$V/work" --promises "stdio rpath" -- "$LAUNCH_HELPER_EVIL" read "$V/work/file"
for attack in rename preinit allowall; do
        envs=(--env SBXTEST_EVIL=$attack)
        [ $attack = preinit ] && envs=(--env SBXTEST_EVIL_PREINIT=1)
        run sbx --user nobody "${L[@]}" --unveil "r:$V/work" --promises "stdio" "${envs[@]}" -- \
                "$LAUNCH_HELPER_EVIL" read "$V/work/file"
        judge run $E "launch-$attack-seccomp-fd" "$(rc_zero)" "rpath kept under stdio"
done
run sbx --user nobody "${L[@]}" --unveil "r:$V/work" --promises "stdio" -- "$LAUNCH_HELPER_IFUNC" read "$V/work/file"
judge run $E launch-ifunc-rename-seccomp-fd "$(rc_zero)" "rpath kept under stdio"
run sbx --user nobody "${L[@]}" --promises "stdio rpath" -- "$LAUNCH_HELPER_EVIL" mmap-exec
judge run $E launch-window-prot-exec-kept "$(rc_zero)" "PROT_EXEC after the narrowing"
run sbx --user nobody --promises "stdio" -- "$LAUNCH_HELPER_STATIC_X" stack-exec
judge run $E execstack-static-without-prot-exec "$(rc_zero)" "ran code on the stack"
run sbx --user nobody "${L[@]}" --promises "stdio rpath" -- "$LAUNCH_HELPER_EXECSTACK" stack-exec
judge run $E execstack-library-without-prot-exec "$(rc_zero)" "ran code on the stack"
cp "$LAUNCH_HELPER_STATIC_X" "$V/bin/static-x"
chmod 755 "$V/bin/static-x"
start_task elf-xs "$V/ctl/xs.out" --promises "stdio" -- "$V/bin/static-x" stack-exec
judge sandboxd $E execstack-static-without-prot-exec "$(rc_zero)" "ran code on the stack"
printf '#!/\n' >"$V/bin/slash.sh"
chmod 755 "$V/bin/slash.sh"
run sbx --user nobody --promises "stdio rpath" -- "$V/bin/slash.sh" "$SECRET"
judge run $E shebang-slash "$(got_secret)" "read the secret"
run sbx --user nobody --promises "stdio rpath" --env "LD_PRELOAD=$V/work/evil.so" -- /bin/cat "$SECRET"
judge run $E ld-preload-from-work "$(got_secret)" "read the secret"
run sbx --user nobody --promises "stdio rpath exec prot_exec" -- /lib64/ld-linux-x86-64.so.2 /bin/cat "$SECRET"
judge run $E ld-so-direct "$(got_secret)" "read the secret"

# ------------------------------------------------------------------------------------------
# Daemon and policy (the private sandboxd, the strict policy [driver job])

D=daemon-policy
CAT=(--promises "stdio rpath" -- /bin/cat)
# controls: the policy lets the job run what its rules allow, as Nomad starts it
echo "alloc data" >"$ALLOC/data"
chmod 644 "$ALLOC/data"
start_task dp0 "$V/ctl/dp0.out" --unveil "r:$ALLOC" "${CAT[@]}" "$ALLOC/data"
check "$([[ $RC -eq 0 && $OUT == "alloc data" ]]; echo $?)" "control: the strict policy runs cat of an unveiled alloc file" "$(_details 0)"
start_task dp0 "$V/ctl/dp0.out" "${NOMAD_A[@]}" "${CAT[@]}" "$A_WEB/local/file"
check "$([[ $RC -eq 0 && $OUT == "local" ]]; echo $?)" "control: a start with Nomad's directories of its own allocation runs" "$(_details 0)"
start_task dp1 "$V/ctl/dp1.out" --unveil "r:/etc" "${CAT[@]}" /etc/hostname
judge sandboxd $D unveil-over-ceiling "$([ "$RC" -lt 1000 ]; echo $?)" "started with r:/etc"
start_task dp1 "$V/ctl/dp1.out" --unveil "r:$V/secret" "${CAT[@]}" "$SECRET"
judge sandboxd $D unveil-secret-dir "$(got_secret)" "read the secret"
ln -sfn "$V/secret" "$ALLOC/etc"
start_task dp2 "$V/ctl/dp2.out" --unveil "r:$ALLOC/etc" "${CAT[@]}" "$ALLOC/etc/data"
judge sandboxd $D unveil-symlink-beneath-ceiling "$(got_secret)" "read the secret"
rm -f "$ALLOC/etc"
# A running task plants the symlink in its own alloc dir, then an exec session (nomad alloc exec,
# script checks) comes in.
mkdir -p "$ALLOC/plant"
chmod 777 "$ALLOC/plant"
run "${CTL[@]}" start --name dp3 --no-unveil-defaults --stdout /dev/null --stderr /dev/null --unveil "rx:/usr" \
        --unveil "rwc:$ALLOC" --unveil "r:$ALLOC/plant" \
        --promises "stdio rpath wpath cpath proc exec prot_exec" -- \
        /bin/sh -c "rmdir $ALLOC/plant && ln -s $V/secret $ALLOC/plant && exec sleep 60"
planted=1
for _ in $(seq 1 100); do [ -L "$ALLOC/plant" ] && planted=0 && break; sleep 0.05; done
if [ "$planted" -ne 0 ]; then
        verdict sandboxd $D exec-after-planted-symlink error "the task did not plant the symlink (start: $RC $ERR)"
else
        run "${CTL[@]}" exec dp3 -- /bin/cat "$ALLOC/plant/data"
        judge sandboxd $D exec-after-planted-symlink "$(got_secret)" "read the secret"
fi
"${CTL[@]}" destroy --force dp3 >/dev/null 2>&1
rm -rf "$ALLOC/plant"
# Nomad's directories named by the peer: another allocation's, the data dir itself, a symlink
B=$V/nomad/alloc/B
start_task dp4 "$V/ctl/dp4.out" --alloc-id A --task-name web --task-dir "$B/db" "${CAT[@]}" "$B/db/secrets/token"
judge sandboxd $D task-dir-of-another-alloc "$([[ $OUT == *password* ]]; echo $?)" "read B's secret"
start_task dp5 "$V/ctl/dp5.out" --alloc-id A --task-name web --secrets-dir "$B/db/secrets" "${CAT[@]}" "$B/db/secrets/token"
judge sandboxd $D secrets-dir-of-another-alloc "$([[ $OUT == *password* ]]; echo $?)" "read B's secret"
start_task dp6 "$V/ctl/dp6.out" --alloc-id A --task-name web --alloc-dir "$V/nomad" "${CAT[@]}" "$B/db/secrets/token"
judge sandboxd $D alloc-dir-is-the-data-dir "$([[ $OUT == *password* ]]; echo $?)" "read B's secret"
# the right name for task "evil" of A, a symlink to the secret (planted by a task of A in ... its
# alloc dir: here by hand)
ln -sfn "$V/secret" "$V/nomad/alloc/A/evil"
start_task dp7 "$V/ctl/dp7.out" --alloc-id A --task-name evil --task-dir "$V/nomad/alloc/A/evil" "${CAT[@]}" "$V/nomad/alloc/A/evil/data"
judge sandboxd $D task-dir-symlink "$(got_secret)" "read the secret"
check "$([ "$(stat -c %u "$V/secret")" = 0 ]; echo $?)" "... and the secret's directory was not given away"
rm -f "$V/nomad/alloc/A/evil"
# Log paths: outside log_dirs, a symlink, a hard link
cp "$SECRET" "$V/secret/log"
chmod 600 "$V/secret/log"
# (as the plugin sends them: sandboxd opens the paths itself; sandboxctl would open its own)
export START_LOGS_NO_DEFAULTS=1
run "$START_LOGS" "$S" dp8 "$V/secret/log" /dev/null "" "" /bin/echo PWNED
sleep 0.3
"${CTL[@]}" destroy --force dp8 >/dev/null 2>&1
judge sandboxd $D stdout-path-outside-log-dirs "$(grep -q PWNED "$V/secret/log"; echo $?)" "appended to a root file"
ln -sfn "$V/secret/log" "$ALLOC/logs/web.stdout.0"
run "$START_LOGS" "$S" dp9 "$ALLOC/logs/web.stdout.0" /dev/null "" "" /bin/echo PWNED
sleep 0.3
"${CTL[@]}" destroy --force dp9 >/dev/null 2>&1
judge sandboxd $D stdout-path-symlink "$(grep -q PWNED "$V/secret/log"; echo $?)" "appended to a root file"
rm -f "$ALLOC/logs/web.stdout.0"
ln "$V/secret/log" "$ALLOC/logs/web.stdout.0" 2>/dev/null
run "$START_LOGS" "$S" dp10 "$ALLOC/logs/web.stdout.0" /dev/null "" "" /bin/echo PWNED
sleep 0.3
"${CTL[@]}" destroy --force dp10 >/dev/null 2>&1
judge sandboxd $D stdout-path-hard-link "$(grep -q PWNED "$V/secret/log"; echo $?)" "appended to a root file"
rm -f "$ALLOC/logs/web.stdout.0"
# A start for allocation A that names B's log file (a log directory by log_dirs' pattern)
echo "db log" >"$B/alloc/logs/db.stdout.0"
chmod 644 "$B/alloc/logs/db.stdout.0"
START_LOGS_ALLOC_ID=A run "$START_LOGS" "$S" dp10b "$B/alloc/logs/db.stdout.0" /dev/null "" "" /bin/echo PWNED
sleep 0.3
"${CTL[@]}" destroy --force dp10b >/dev/null 2>&1
judge sandboxd $D stdout-path-of-another-alloc "$(grep -q PWNED "$B/alloc/logs/db.stdout.0"; echo $?)" \
        "appended to another allocation's log"
# control: its own allocation's log directory works
echo "web log" >"$ALLOC/logs/web.stdout.0"
chmod 644 "$ALLOC/logs/web.stdout.0"
START_LOGS_ALLOC_ID=A run "$START_LOGS" "$S" dp10c "$ALLOC/logs/web.stdout.0" /dev/null "" "" /bin/echo hello
sleep 0.3
"${CTL[@]}" destroy --force dp10c >/dev/null 2>&1
check "$(grep -q hello "$ALLOC/logs/web.stdout.0"; echo $?)" "control: a start for A writes A's log file" "$(_details 0)"
rm -f "$ALLOC/logs/web.stdout.0"
# Requests over the policy
start_task dp11 "$V/ctl/dp11.out" --user root --promises "stdio" -- /usr/bin/id -u
judge sandboxd $D user-root "$([ "$RC" -lt 1000 ]; echo $?)" "started as root"
start_task dp12 "$V/ctl/dp12.out" --promises "stdio rpath id" -- /usr/bin/id -u
judge sandboxd $D promise-over-ceiling "$([ "$RC" -lt 1000 ]; echo $?)" "started with 'id'"
start_task dp13 "$V/ctl/dp13.out" --net host --promises "stdio" -- /bin/true
judge sandboxd $D network-host "$([ "$RC" -lt 1000 ]; echo $?)" "started in the host's network"
start_task dp14 "$V/ctl/dp14.out" --mount "$V/secret:/mnt:ro" "${CAT[@]}" /mnt/data
judge sandboxd $D mount-source-over-ceiling "$(got_secret)" "read the secret"
start_task dp15 "$V/ctl/dp15.out" --host-view --promises "stdio rpath" -- /usr/bin/test -S "$HOST_SOCK"
judge sandboxd $D host-view-not-allowed "$(rc_zero)" "saw the host's /run"
# a task's name is not a path: nothing is made of it outside the state directory
start_task "../../dp16" "$V/ctl/dp16.out" --promises "stdio" -- /bin/true
judge sandboxd $D task-name-traversal "$([ -e "$T/dp16" ] || [ -e "$SD/dp16" ]; echo $?)" "made ../../dp16"
run "${CTL[@]}" --driver nosuch start --name dp17 --no-unveil-defaults --promises "stdio" -- /bin/true
"${CTL[@]}" destroy --force dp17 >/dev/null 2>&1
judge sandboxd $D driver-without-policy "$(rc_zero)" "started under an unknown driver"
start_task dp18 "$V/ctl/dp18.out" --no-unveil-defaults "${CAT[@]}" /etc/passwd
judge sandboxd $D read-etc-under-strict-policy "$([[ $OUT == *root:* ]]; echo $?)" "read /etc/passwd"
run setpriv --reuid=65534 --regid=65534 --clear-groups "${CTL[@]}" start --name dp19 --no-unveil-defaults --promises "stdio" -- /bin/true
"${CTL[@]}" destroy --force dp19 >/dev/null 2>&1
judge sandboxd $D unlisted-uid-starts-task "$(rc_zero)" "nobody started a task"
echo shared >"$B/alloc/shared"
chmod 644 "$B/alloc/shared"
start_task dp20 "$V/ctl/dp20.out" --unveil "r:$B/alloc" "${CAT[@]}" "$B/alloc/shared"
judge sandboxd $D unveil-other-alloc-shared-dir "$([[ $OUT == *shared* ]]; echo $?)" "read B's shared alloc dir"

# ------------------------------------------------------------------------------------------
# The same in-sandbox attempts under bubblewrap, for comparison (a report, not a gate):
# --unshare-all, --die-with-parent, run as nobody, /usr and /etc read-only, the work and program
# directories bound, /proc, /dev and /tmp of its own, no seccomp filter.

if [ -z "$BWRAP" ] || [ ! -x "$BWRAP" ]; then
        verdict bwrap setup bwrap-present error "bwrap not found (scripts/install-deps.sh installs bubblewrap)"
else
        reset_targets
        BW_ENVS=()
        for ((i = 0; i < ${#ENVS[@]}; i += 2)); do
                kv=${ENVS[i + 1]}
                BW_ENVS+=(--setenv "${kv%%=*}" "${kv#*=}")
        done
        TEST_TIMEOUT=120
        # run by nobody itself (bubblewrap's unprivileged mode, a user namespace): run by root
        # with --uid, the sandbox's nobody would be the host's root
        run setpriv --reuid=65534 --regid=65534 --clear-groups "$BWRAP" --unshare-all --die-with-parent --new-session \
                --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/sbin /sbin --symlink usr/lib /lib \
                --symlink usr/lib64 /lib64 --ro-bind /etc /etc --proc /proc --dev /dev --tmpfs /tmp \
                --bind "$V/work" "$V/work" --ro-bind "$V/bin" "$V/bin" "${BW_ENVS[@]}" -- "$V/bin/escape" all
        TEST_TIMEOUT=30
        printf '%s\n' "$OUT" >"$T/bwrap.out"
        parse bwrap "$T/bwrap.out"
        expect_lines bwrap "$PARSED" 140
fi

# ------------------------------------------------------------------------------------------
# Totals per category: attempts / blocked / escaped / limit (error counts as an attempt)

totals() { # WHO SEL: per category, then all of them
        local f=$T/totals.$1
        awk -v sel="$2" '(sel == "bwrap") == ($1 == "bwrap")' "$RESULTS" >"$f"
        awk -v who="$1" '
                { n[$2]++; o[$2 "," $4]++ }
                END {
                        for (c in n)
                                printf "# %-6s %-14s attempts %3d  blocked %3d  escaped %3d  limit %2d  error %d\n", who, c, n[c],
                                        o[c ",blocked"], o[c ",escaped"], o[c ",limit"], o[c ",error"]
                }' "$f" | sort -k3,3
        awk -v who="$1" '
                { N++; O[$4]++ }
                END {
                        printf "# %-6s %-14s attempts %3d  blocked %3d  escaped %3d  limit %2d  error %d\n", who, "TOTAL", N,
                                O["blocked"], O["escaped"], O["limit"], O["error"]
                }' "$f"
}
echo "# totals (ours: sandboxctl run with and without promises, the private sandboxd; bwrap: the in-sandbox attempts)"
totals ours ours
totals bwrap bwrap
[ -n "${ESCAPE_RESULTS:-}" ] && cp "$RESULTS" "$ESCAPE_RESULTS"

done_testing
