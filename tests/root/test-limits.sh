#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/root/test-limits.sh: sandboxd's task limits. A driver's max_tasks: N tasks of it start,
# the N+1th is refused with a message naming max_tasks and the driver, a task that exited but
# was not destroyed still counts, one destroy makes room again; another driver's tasks are not
# counted against it, and [daemon] max_tasks still bounds them all.
set -u
# shellcheck source=tests/root/lib.sh
. "$(dirname "$0")/lib.sh"

require_sandbox_host
: "${SANDBOXD:?}"
[ -x "$SANDBOXD" ] || skip_all "\$SANDBOXD ($SANDBOXD) is not an executable"
[ -x /usr/bin/python3 ] || skip_all "/usr/bin/python3 is missing"

T=$TEST_TMP
S=$T/sandboxd.sock
CONF=$T/sandboxd.conf
CG_PARENT=sandboxd-limits-$$

# Only root connects (root may use any driver name), so the socket keeps the build's mode.
cat >"$CONF" <<EOF
[daemon]
cgroup_backend = cgroupfs
cgroup_parent = $CG_PARENT
admin_policy = sandbox
max_tasks = 5

[driver sandbox]
users = nobody
networks = none
max_tasks = 2

[driver other]
users = nobody
networks = none
EOF
chmod 644 "$CONF"

CTL=("$SANDBOXCTL" --socket "$S")
ctl() { "${CTL[@]}" "$@"; }

DPID=
start_daemon() {
        "$SANDBOXD" --config "$CONF" --socket "$S" --state-dir "$T/state" 2>>"$T/sandboxd.log" &
        DPID=$!
        track_pid "$DPID"
        for _ in $(seq 1 100); do
                [ -S "$S" ] && ctl list >/dev/null 2>&1 && return 0
                sleep 0.05
        done
        return 1
}
cleanup() {
        local n
        if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
                for n in $(ctl list --json 2>/dev/null |
                        /usr/bin/python3 -c 'import json,sys; [print(t["name"]) for t in json.load(sys.stdin)]' 2>/dev/null); do
                        ctl destroy --force "$n" >/dev/null 2>&1
                done
                kill "$DPID" 2>/dev/null
                wait "$DPID" 2>/dev/null
        fi
        find /sys/fs/cgroup -maxdepth 3 -type d -name "$CG_PARENT" 2>/dev/null |
                while read -r d; do find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done
        true
}
at_exit cleanup

if ! start_daemon; then
        check 1 "sandboxd starts and answers on its socket" "$(tail -20 "$T/sandboxd.log")"
        done_testing
fi

# ------------------------------------------------------------------------------------------
# [driver sandbox] max_tasks = 2

expect_exit 0 "driver sandbox: task 1 of max_tasks = 2 starts" -- \
        "${CTL[@]}" --driver sandbox start --name s1 -- /bin/sleep 1000
expect_exit 0 "driver sandbox: task 2 of max_tasks = 2 starts" -- \
        "${CTL[@]}" --driver sandbox start --name s2 -- /bin/true
expect_stderr_match 1 "max_tasks.*driver 'sandbox'|driver 'sandbox'.*max_tasks" \
        "driver sandbox: task 3 is refused, naming max_tasks and the driver" -- \
        "${CTL[@]}" --driver sandbox start --name s3 -- /bin/sleep 1000
expect_stderr_match 1 "max_tasks" "the admin connection (admin_policy = sandbox) is held to the same limit" -- \
        "${CTL[@]}" start --name s3 -- /bin/sleep 1000
expect_exit 0 "task s2 has exited (waited for)" -- "${CTL[@]}" wait s2
expect_stderr_match 1 "max_tasks" "an exited task that was not destroyed still counts" -- \
        "${CTL[@]}" --driver sandbox start --name s3 -- /bin/sleep 1000
expect_exit 0 "another driver's tasks are not counted against it: driver other starts one" -- \
        "${CTL[@]}" --driver other start --name o1 -- /bin/sleep 1000
expect_exit 0 "the exited task s2 is destroyed" -- "${CTL[@]}" destroy s2
expect_exit 0 "... and then a third task of driver sandbox starts" -- \
        "${CTL[@]}" --driver sandbox start --name s3 -- /bin/sleep 1000
expect_stderr_match 1 "max_tasks" "... and a fourth is refused again" -- \
        "${CTL[@]}" --driver sandbox start --name s4 -- /bin/sleep 1000

# ------------------------------------------------------------------------------------------
# [daemon] max_tasks = 5 bounds every driver (driver other has no limit of its own)

expect_exit 0 "driver other: a second task starts (5 held: the daemon's max_tasks)" -- \
        "${CTL[@]}" --driver other start --name o2 -- /bin/sleep 1000
expect_exit 0 "driver other: a third" -- "${CTL[@]}" --driver other start --name o3 -- /bin/sleep 1000
expect_stderr_match 1 "maximum of 5 tasks" "driver other: the sixth task of the daemon is refused by [daemon] max_tasks" -- \
        "${CTL[@]}" --driver other start --name o4 -- /bin/sleep 1000
n=$(ctl list --json | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
check "$([ "$n" = 5 ]; echo $?)" "sandboxd holds 5 tasks, no more" "list: $n"

cleanup # destroys the tasks, stops sandboxd: LeakSanitizer reports at its exit
DPID=
check "$(! grep -q -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$T/sandboxd.log"; echo $?)" \
        "sandboxd's log has no sanitizer report" "$(grep -A15 -E 'ERROR: |runtime error:' "$T/sandboxd.log" | head -30)"

done_testing
