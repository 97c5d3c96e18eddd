#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/root/test-faults.sh: sandboxd killed at each crash point between two persistent steps of
# start, stop and destroy (sandboxd-faults, SANDBOXD_CRASH_AT; see daemon/sandboxd/fault.h), then started
# again. After recovery, the client does what docs/driver.md says a client does with an unknown
# outcome (destroy --force) and the test asserts what the docs promise:
#   - a start that was not acknowledged is undone: "no task named" and nothing of it runs; a
#     start whose record says RUNNING is there, and destroy ends it;
#   - a recorded stop is finished (its signal, its deadline) without the client asking again;
#   - a recorded destroy is finished: the task is gone, nothing of it left;
#   - no task ran twice, no state directory or cgroup is left over;
#   - a call made to fail (SANDBOXD_FAIL_AT) refuses the start and leaves nothing, no restart needed.
# Both on cgroup v1 (this host) and on cgroup v2 (a private cgroup2 mount), where the task is
# cloned straight into its cgroup (CLONE_INTO_CGROUP).
set -u
# shellcheck source=tests/root/lib.sh
. "$(dirname "$0")/lib.sh"

require_sandbox_host
: "${SANDBOXD:?}" "${SANDBOXD_FAULTS:?}"
[ -x "$SANDBOXD_FAULTS" ] || skip_all "\$SANDBOXD_FAULTS ($SANDBOXD_FAULTS) is not an executable"
# shellcheck source=tests/root/faults-lib.sh
. "$(dirname "$0")/faults-lib.sh"
faults_setup

# ------------------------------------------------------------------------------------------
# The crash points exist only in the test binary

check "$(grep -q SANDBOXD_CRASH_AT "$SANDBOXD_FAULTS"; echo $?)" "sandboxd-faults has the crash points"
check "$(! grep -q -e SANDBOXD_CRASH_AT -e SANDBOXD_FAIL_AT "$SANDBOXD"; echo $?)" \
        "the installed sandboxd does not, nor the fail points (not even the variables' names)"
daemon_up "$SANDBOXD" SANDBOXD_CRASH_AT=start-intent
run "${CTL[@]}" start --name inert -- /bin/true
check "$([ "$RC" -eq 0 ] && kill -0 "$DPID"; echo $?)" "sandboxd ignores SANDBOXD_CRASH_AT" "rc $RC: $ERR"
ctl destroy --force inert >/dev/null 2>&1
daemon_down

# checks_clean WHAT: nothing of this run's tasks runs, no task dir, no cgroup below our parent
checks_clean() {
        local i left alive
        for i in $(seq 1 40); do
                alive=$(alive_marked "fault-$$-")
                left=$(leftovers)
                [ -z "$alive$left" ] && break
                sleep 0.05
        done
        check "$([ -z "$alive" ]; echo $?)" "$1: no task process left" "alive: $alive"
        check "$([ -z "$left" ]; echo $?)" "$1: no state directory or cgroup left" "$left"
}

runs_of() { grep -c -x "fault-$$-$1" "$MARKS"; }

# ------------------------------------------------------------------------------------------
# Start: every point between two persistent steps

START_POINTS="start-dir rules-tmp start-cgroup state-tmp:1 start-intent start-clone state-tmp:2 start-pid start-go state-tmp:3 start-running"

start_point() { # CGROUP POINT
        local cg=$1 p=$2 name rc
        name=s-$cg-${p/:/-}
        mapfile -t cmd < <(task_cmd "$name")
        FAULTS_CGROUP=$cg daemon_up "$SANDBOXD_FAULTS" SANDBOXD_CRASH_AT="$p" || { check 1 "$cg $p: daemon starts"; return; }
        run "${CTL[@]}" start --name "$name" --unveil "rw:$MARKS" -- "${cmd[@]}"
        rc=$RC
        daemon_dead_within 5
        check $? "$cg $p: sandboxd died at the crash point" "$(tail -3 "$T/sandboxd.log")"
        check "$([ "$rc" -eq 3 ] && [[ $ERR == *"outcome is unknown"* ]]; echo $?)" \
                "$cg $p: start exits 3, outcome unknown (not a refusal)" "rc $rc: $ERR"
        FAULTS_CGROUP=$cg daemon_up "$SANDBOXD" || { check 1 "$cg $p: daemon restarts"; return; }
        run "${CTL[@]}" inspect --json "$name"
        if [ "$p" = start-running ]; then
                # the record said RUNNING before the crash: the task is there, running
                check "$([ "$RC" -eq 0 ] && [[ $OUT == *'"running"'* ]]; echo $?)" \
                        "$cg $p: recorded RUNNING, so recovered as running" "rc $RC: $OUT $ERR"
        else
                check "$([ "$RC" -eq 1 ] && [[ $ERR == *"no task named"* ]] && [ -z "$(alive_marked "fault-$$-$name")" ]; echo $?)" \
                        "$cg $p: not acknowledged, so undone: no such task, and nothing of it runs" \
                        "inspect rc $RC: $OUT $ERR; alive: $(alive_marked "fault-$$-$name")"
        fi
        # the client's rule for an unknown outcome
        run "${CTL[@]}" destroy --force "$name"
        check "$([ "$RC" -eq 0 ] || [[ $ERR == *"no task named"* ]]; echo $?)" "$cg $p: destroy --force settles it" "rc $RC: $ERR"
        check "$([ "$(runs_of "$name")" -le 1 ]; echo $?)" "$cg $p: the task ran at most once" "$(runs_of "$name") runs"
        checks_clean "$cg $p"
        daemon_down
}

for p in $START_POINTS; do start_point v1 "$p"; done
for p in start-cgroup start-intent start-clone start-pid start-go start-running; do start_point v2 "$p"; done

# ------------------------------------------------------------------------------------------
# Stop: a recorded stop is finished by the restarted daemon; nobody sends it again

stop_point() { # CGROUP POINT TRAP EXPECTED-EXIT
        local cg=$1 p=$2 trap=$3 want=$4 name rc
        name=t-$cg-$p-$want
        FAULTS_CGROUP=$cg daemon_up "$SANDBOXD_FAULTS" SANDBOXD_CRASH_AT="$p" || { check 1 "$cg $p: daemon starts"; return; }
        ctl start --name "$name" --unveil "rw:$MARKS" -- /bin/sh -c "$trap"'; echo "$0" >>'"$MARKS"'; while :; do sleep 0.1; done' \
                "fault-$$-$name" >/dev/null
        sleep 0.3
        run "${CTL[@]}" stop --timeout 2s "$name"
        daemon_dead_within 10
        check $? "$cg $p: sandboxd died at the crash point" "stop rc $RC: $ERR"
        FAULTS_CGROUP=$cg daemon_up "$SANDBOXD" || { check 1 "$cg $p: daemon restarts"; return; }
        run timeout 10 "${CTL[@]}" wait "$name"
        check "$([ "$RC" -eq "$want" ]; echo $?)" "$cg $p: the stop is finished without being sent again: exit $want" \
                "wait rc $RC: $ERR"
        ctl destroy --force "$name" >/dev/null 2>&1
        checks_clean "$cg $p"
        daemon_down
}

stop_point v1 stop-intent : 143             # the signal did not go out: the new daemon sends it
stop_point v1 stop-intent "trap '' TERM" 137 # ... and kills at the recorded deadline
stop_point v1 stop-signal "trap '' TERM" 137
stop_point v1 stop-kill "trap '' TERM" 137   # killed, then crashed: reported as killed, not lost
stop_point v2 stop-intent "trap '' TERM" 137

# ------------------------------------------------------------------------------------------
# Destroy: acknowledged only once done; a recorded destroy is finished after a crash

destroy_point() { # CGROUP POINT RUNNING(1|0)
        local cg=$1 p=$2 running=$3 name rc
        name=d-$cg-$p-$running
        FAULTS_CGROUP=$cg daemon_up "$SANDBOXD_FAULTS" SANDBOXD_CRASH_AT="$p" || { check 1 "$cg $p: daemon starts"; return; }
        if [ "$running" = 1 ]; then
                mapfile -t cmd < <(task_cmd "$name")
                ctl start --name "$name" --unveil "rw:$MARKS" -- "${cmd[@]}" >/dev/null
                sleep 0.2
                run "${CTL[@]}" destroy --force "$name"
        else
                ctl start --name "$name" -- /bin/sh -c 'exit 3' >/dev/null
                ctl wait "$name" >/dev/null
                run "${CTL[@]}" destroy "$name"
        fi
        rc=$RC
        daemon_dead_within 10
        check $? "$cg $p: sandboxd died at the crash point" "destroy rc $rc: $ERR"
        check "$([ "$rc" -ne 0 ]; echo $?)" "$cg $p: the destroy was not acknowledged before it was done" "rc $rc"
        FAULTS_CGROUP=$cg daemon_up "$SANDBOXD" || { check 1 "$cg $p: daemon restarts"; return; }
        run "${CTL[@]}" inspect "$name"
        check "$([ "$RC" -eq 1 ] && [[ $ERR == *"no task named"* ]]; echo $?)" \
                "$cg $p: the recorded destroy was finished by the new daemon" "inspect rc $RC: $OUT $ERR"
        checks_clean "$cg $p"
        daemon_down
}

for p in destroy-intent destroy-killed exit-saved destroy-cgroup destroy-record destroy-removed; do
        destroy_point v1 "$p" 1
done
for p in destroy-intent destroy-cgroup destroy-record destroy-removed; do destroy_point v1 "$p" 0; done
for p in destroy-intent destroy-killed destroy-removed; do destroy_point v2 "$p" 1; done

# ------------------------------------------------------------------------------------------
# A start waiting for its log FIFO's reader (Nomad's log collector opens it only after the start
# was sent): nothing of it is recorded yet, but its stdout FIFO is open and its resolv.conf is on
# its way in the state dir. Killed there, the client learns that the outcome is unknown; after
# the restart there is no such task, it never ran, and nothing of it is left.

wait_point() { # CGROUP
        local cg=$1 name rc rd resolv
        name=w-$cg
        mapfile -t cmd < <(task_cmd "$name")
        mkfifo "$LOGS/$name.stdout" "$LOGS/$name.stderr"
        exec {rd}<>"$LOGS/$name.stdout" # stdout has its reader, stderr not (yet)
        FAULTS_CGROUP=$cg daemon_up "$SANDBOXD_FAULTS" SANDBOXD_CRASH_AT=start-wait || { check 1 "$cg start-wait: daemon starts"; return; }
        run "$START_LOGS" "$S" "$name" "$LOGS/$name.stdout" "$LOGS/$name.stderr" $'nameserver 127.0.0.1\n' "rw:$MARKS" "${cmd[@]}"
        rc=$RC
        daemon_dead_within 5
        check $? "$cg start-wait: sandboxd died at the crash point" "start rc $rc: $ERR $(tail -3 "$T/sandboxd.log")"
        check "$([ "$rc" -eq 3 ]; echo $?)" "$cg start-wait: the start's outcome is unknown to the client (not a refusal)" \
                "rc $rc: $OUT $ERR"
        resolv=$(find "$STATE/tasks" -mindepth 1 -maxdepth 1 -name '.resolv-*' | wc -l)
        check "$([ "$resolv" -eq 1 ]; echo $?)" "$cg start-wait: the crash left the start's resolv.conf on its way" \
                "$(find "$STATE/tasks" -mindepth 1)"
        FAULTS_CGROUP=$cg daemon_up "$SANDBOXD" || { check 1 "$cg start-wait: daemon restarts"; return; }
        run "${CTL[@]}" inspect "$name"
        check "$([ "$RC" -eq 1 ] && [[ $ERR == *"no task named"* ]]; echo $?)" "$cg start-wait: no such task after the restart" \
                "inspect rc $RC: $OUT $ERR"
        run "${CTL[@]}" destroy --force "$name"
        check "$([ "$RC" -eq 0 ] || [[ $ERR == *"no task named"* ]]; echo $?)" "$cg start-wait: destroy --force settles it" "rc $RC: $ERR"
        check "$([ "$(runs_of "$name")" -eq 0 ]; echo $?)" "$cg start-wait: the task never ran" "$(runs_of "$name") runs"
        checks_clean "$cg start-wait"
        exec {rd}<&-
        rm -f "$LOGS/$name.stdout" "$LOGS/$name.stderr"
        daemon_down
}

wait_point v1
wait_point v2

# ------------------------------------------------------------------------------------------
# A call that fails (SANDBOXD_FAIL_AT, not a crash): the start is refused with the reason, nothing
# of it is left, and sandboxd serves on. task-dir-open: the task directory was made, opening it
# failed.

fail_point() { # POINT MESSAGE
        local p=$1 want=$2 name=f-$1
        mapfile -t cmd < <(task_cmd "$name")
        daemon_up "$SANDBOXD_FAULTS" SANDBOXD_FAIL_AT="$p" || { check 1 "fail $p: daemon starts"; return; }
        run "${CTL[@]}" start --name "$name" --unveil "rw:$MARKS" -- "${cmd[@]}"
        check "$([ "$RC" -eq 1 ] && [[ $ERR == *"$want"* ]]; echo $?)" "fail $p: the start is refused with the reason" \
                "rc $RC: $OUT $ERR"
        check "$([ "$(runs_of "$name")" -eq 0 ]; echo $?)" "fail $p: the task never ran" "$(runs_of "$name") runs"
        checks_clean "fail $p (without a restart)"
        run "${CTL[@]}" start --name "$name" --unveil "rw:$MARKS" -- "${cmd[@]}"
        check "$([ "$RC" -eq 0 ]; echo $?)" "fail $p: sandboxd serves on: the same start then succeeds" "rc $RC: $ERR"
        ctl destroy --force "$name" >/dev/null 2>&1
        checks_clean "fail $p: destroyed"
        daemon_down
}

fail_point task-dir-open "creating the task directory: Input/output error"

check "$(! grep -q -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$T/sandboxd.log"; echo $?)" \
        "sandboxd's log has no sanitizer report" "$(grep -A15 -E 'ERROR: |runtime error:' "$T/sandboxd.log" | head -30)"

done_testing
