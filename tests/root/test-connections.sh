#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/root/test-connections.sh: sandboxd's socket against local users and slow clients.
#   - the socket's mode and group (the build's default when sandboxd binds it itself);
#   - lock-out: hundreds of connections held by a peer the policy refuses, or by an allowed peer
#     up to its own limit, never keep root's sandboxctl or another allowed peer out; the refusal
#     reaches the client as a message (not a reset); silent connections go at the hello timeout;
#   - backpressure: 600 waits pending on one connection whose reader pauses get 600 answers;
#     a peer whose unread replies pass the hard limit is disconnected, with a logged reason;
#     so is a subscriber that does not read while tasks' refused calls are explained (events);
#   - reload: an empty policy is refused; keys that need a restart are reported as such.
set -u
# shellcheck source=tests/root/lib.sh
. "$(dirname "$0")/lib.sh"

require_sandbox_host
: "${SANDBOXD:?}" "${SANDBOXD_FAULTS:?}" "${SLOW_READER:?}"
[ -x /usr/bin/python3 ] || skip_all "/usr/bin/python3 is missing"

T=$TEST_TMP
S=$T/sandboxd.sock
CONF=$T/sandboxd.conf
CG_PARENT=sandboxd-conn-$$
CTL=("$SANDBOXCTL" --socket "$S")
ctl() { "${CTL[@]}" "$@"; }
AS65533=(setpriv --reuid 65533 --regid 65533 --clear-groups --inh-caps=-all)
AS65534=(setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps=-all)

write_conf() { # EXTRA-DAEMON-LINES
        cat >"$CONF" <<EOF
[daemon]
allowed_uids = 65533
cgroup_backend = cgroupfs
cgroup_parent = $CG_PARENT
admin_policy = sandbox
max_connections_per_uid = 16
$1

[driver sandbox]
users = nobody
networks = none
EOF
        chmod 644 "$CONF"
}

DPID=
start_daemon() { # BINARY [ENV...]
        local bin=$1 i
        shift
        env "$@" "$bin" --config "$CONF" --socket "$S" --state-dir "$T/state" 2>>"$T/sandboxd.log" &
        DPID=$!
        track_pid "$DPID"
        for i in $(seq 1 100); do
                [ -S "$S" ] && ctl list >/dev/null 2>&1 && return 0
                sleep 0.05
        done
        return 1
}
stop_daemon() {
        local n
        for n in $(ctl list --json 2>/dev/null | /usr/bin/python3 -c 'import json,sys; [print(t["name"]) for t in json.load(sys.stdin)]'); do
                ctl destroy --force "$n" >/dev/null 2>&1
        done
        kill "$DPID" 2>/dev/null
        wait "$DPID" 2>/dev/null
        DPID=
}
cleanup() {
        [ -n "$DPID" ] && stop_daemon
        find /sys/fs/cgroup/*/"$CG_PARENT" -depth -type d -exec rmdir {} + 2>/dev/null
        true
}
at_exit cleanup

# hold N USER...: N connections held open without a word, until the returned pid is killed
hold() {
        local n=$1
        shift
        "$@" /usr/bin/python3 -c '
import socket, sys, time
held = []
for i in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        s.connect(sys.argv[1])
    except OSError:
        pass
    held.append(s)
print(len(held), flush=True)
time.sleep(120)' "$S" "$n" >"$T/hold.out" 2>&1 &
        HOLD_PID=$!
        track_pid "$HOLD_PID"
        local i
        for i in $(seq 1 100); do
                [ -s "$T/hold.out" ] && return 0
                sleep 0.05
        done
}

# ------------------------------------------------------------------------------------------
# The socket's mode and group

write_conf ""
start_daemon "$SANDBOXD" || { check 1 "sandboxd starts" "$(tail "$T/sandboxd.log")"; done_testing; }
mode=$(stat -c %a "$S")
check "$([ "$mode" = 660 ]; echo $?)" "without socket_mode the socket has the build's mode (0660), not 0666" "mode $mode"
expect_stderr_match 1 "Permission denied" "so a user outside its group cannot even connect" -- \
        "${AS65533[@]}" "$SANDBOXCTL" --socket "$S" --driver sandbox list
stop_daemon
write_conf "socket_mode = 0666"
start_daemon "$SANDBOXD"
check "$([ "$(stat -c %a "$S")" = 666 ]; echo $?)" "socket_mode = 0666 is applied"

# ------------------------------------------------------------------------------------------
# Lock-out

hold 300 "${AS65534[@]}"
check "$([ "$(cat "$T/hold.out")" = 300 ]; echo $?)" "nobody (not an allowed peer) opened 300 connections" "$(cat "$T/hold.out")"
expect_exit 0 "root's sandboxctl list still gets in" -- "${CTL[@]}" list
expect_exit 0 "an allowed peer (uid 65533) still gets in" -- "${AS65533[@]}" "$SANDBOXCTL" --socket "$S" --driver sandbox list
expect_stderr_match 1 "not allowed" "a refused peer reads why (not a reset)" -- \
        "${AS65534[@]}" "$SANDBOXCTL" --socket "$S" --driver sandbox list
kill "$HOLD_PID"
wait "$HOLD_PID" 2>/dev/null

hold 40 "${AS65533[@]}"
expect_stderr_match 1 "too many connections from uid 65533 \(max_connections_per_uid = 16\)" \
        "an allowed peer over its own limit gets the message" -- "${AS65533[@]}" "$SANDBOXCTL" --socket "$S" --driver sandbox list
expect_exit 0 "... and root still gets in" -- "${CTL[@]}" list
sleep 6
expect_exit 0 "its silent connections are closed at the hello timeout (5 s): it gets in again" -- \
        "${AS65533[@]}" "$SANDBOXCTL" --socket "$S" --driver sandbox list
kill "$HOLD_PID"
wait "$HOLD_PID" 2>/dev/null
stop_daemon

# ------------------------------------------------------------------------------------------
# Backpressure: 600 waits, the reader paused while the 20 tasks exit

slow_run() { # DAEMON-BINARY [ENV...]: starts the tasks, runs the slow reader, sets OUT
        local i names=()
        start_daemon "$@"
        for i in $(seq 1 20); do
                ctl start --name "slow$i" -- /bin/sleep 1 >/dev/null
                names+=("slow$i")
        done
        run "$SLOW_READER" "$S" 6000 30 "${names[@]}"
}

slow_run "$SANDBOXD"
check "$([ "$OUT" = "sent 600 answered 600 duplicates 0 closed 0" ]; echo $?)" \
        "600 waits pending, reader paused 6 s while the tasks exit: 600 answers, none lost" "$OUT $ERR"
expect_exit 0 "sandboxd serves on" -- "${CTL[@]}" list
stop_daemon

: >"$T/sandboxd.log"
slow_run "$SANDBOXD_FAULTS" SANDBOXD_CONN_OUT_MAX=16384
check "$([[ $OUT == *"closed 1"* ]]; echo $?)" \
        "past the limit of unread replies (lowered to 16 KiB) the connection is closed: the client knows" "$OUT $ERR"
check "$(grep -q "does not read its replies .*closing the connection" "$T/sandboxd.log"; echo $?)" \
        "... and sandboxd logs why" "$(tail -5 "$T/sandboxd.log")"
stop_daemon

# ------------------------------------------------------------------------------------------
# Backpressure on events: tasks' refused calls, explained, flood a subscriber that does not read.
# The denial events go through the same queue and bound as replies: the silent subscriber is
# closed at the (lowered) limit, with the logged reason; one that reads gets them all; sandboxd
# serves on.

V=$(mktemp -d /var/tmp/sbxconn.XXXXXX)
rm_v() { rm -rf -- "$V"; }
at_exit rm_v
chmod 755 "$V"
cp "$PROBE" "$V/probe"
chmod 755 "$V/probe"
echo "unveil = rx:$V" >>"$CONF" # the [driver sandbox] section is the last
: >"$T/sandboxd.log"
start_daemon "$SANDBOXD_FAULTS" SANDBOXD_CONN_OUT_MAX=16384
"$SLOW_READER" "$S" 600000 subscribe >"$T/sub-slow.out" 2>&1 &
SUB_SLOW=$!
track_pid "$SUB_SLOW"
"$SLOW_READER" "$S" 0 subscribe >"$T/sub-fast.out" 2>&1 &
SUB_FAST=$!
track_pid "$SUB_FAST"
for _ in $(seq 1 100); do
        grep -q subscribed "$T/sub-slow.out" && grep -q subscribed "$T/sub-fast.out" && break
        sleep 0.05
done
# Each task's init explains at most 8 refused calls at once (deny-flood makes 21 distinct ones):
# a few hundred events fill the kernel's socket buffer and then the 16 KiB queue.
floods=0
for i in $(seq 1 150); do
        ctl start --name "flood$i" --user nobody --promises stdio -- "$V/probe" deny-flood 100 >/dev/null || break
        ctl wait "flood$i" >/dev/null 2>&1
        floods=$i
        grep -q "does not read its replies" "$T/sandboxd.log" && break
done
kill -USR1 "$SUB_SLOW"
wait "$SUB_SLOW"
wait "$SUB_FAST"
SLOW_OUT=$(cat "$T/sub-slow.out")
FAST_OUT=$(cat "$T/sub-fast.out")
check "$(grep -q "does not read its replies .*closing the connection" "$T/sandboxd.log"; echo $?)" \
        "a subscriber that does not read while $floods tasks' denials are explained: closed at the limit, the reason logged" \
        "$(tail -5 "$T/sandboxd.log")"
check "$([[ $SLOW_OUT =~ denials\ [1-9][0-9]*\ closed\ 1 ]]; echo $?)" \
        "... it reads the denials sent before the limit, then the close: it knows" "$SLOW_OUT"
fast_denials=$(sed -n 's/.*denials \([0-9]*\) closed 0$/\1/p' <<<"$FAST_OUT")
logged=$(grep -c "task 'flood[0-9]*': .*refused" "$T/sandboxd.log")
check "$([ -n "$fast_denials" ] && [ "$logged" -ge "$floods" ] && [ "$fast_denials" -eq "$logged" ]; echo $?)" \
        "a subscriber that reads is not closed and gets every denial sandboxd explained" \
        "$FAST_OUT; logged: $logged denials of $floods tasks"
expect_exit 0 "sandboxd serves on" -- "${CTL[@]}" list
stop_daemon

# ------------------------------------------------------------------------------------------
# Reload

start_daemon "$SANDBOXD"
cp "$CONF" "$T/good.conf"
printf '# nothing but a comment\n\n' >"$CONF"
: >"$T/sandboxd.log"
kill -HUP "$DPID"
sleep 0.5
check "$(grep -q "reload: .*no \[daemon\] or \[driver NAME\] section.*keeping the configuration in force" "$T/sandboxd.log"; echo $?)" \
        "a reload of a comments-only file is refused" "$(cat "$T/sandboxd.log")"
expect_exit 0 "... and the drivers stay" -- "${AS65533[@]}" "$SANDBOXCTL" --socket "$S" --driver sandbox list
sed "s|^cgroup_parent = .*|cgroup_parent = $CG_PARENT-new|; s|^socket_mode = .*|socket_mode = 0600|" "$T/good.conf" >"$CONF"
: >"$T/sandboxd.log"
kill -HUP "$DPID"
sleep 0.5
check "$(grep -q "reloaded .*except cgroup_parent, socket_mode: changed, applied only when sandboxd restarts" "$T/sandboxd.log"; echo $?)" \
        "a reload that changes cgroup_parent and socket_mode says they wait for a restart" "$(cat "$T/sandboxd.log")"
stop_daemon

check "$(! grep -q -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$T/sandboxd.log"; echo $?)" \
        "sandboxd's log has no sanitizer report"

done_testing
