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

# A private sandboxd (daemon_up/daemon_down; faults_cleanup kills what is left in our cgroups)
# shellcheck source=tests/root/faults-lib.sh
. "$(dirname "$0")/faults-lib.sh"
faults_setup
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

daemon_up "$SANDBOXD" || { check 1 "sandboxd starts and answers on its socket" "$(tail -20 "$T/sandboxd.log")"; done_testing; }

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
n=$(ctl list -q | wc -l)
check "$([ "$n" = 5 ]; echo $?)" "sandboxd holds 5 tasks, no more" "list: $n"

for n in s1 s3 o1 o2 o3; do "${CTL[@]}" destroy --force "$n" >/dev/null 2>&1; done
daemon_down # LeakSanitizer reports at sandboxd's exit
check "$(! grep -q -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$T/sandboxd.log"; echo $?)" \
        "sandboxd's log has no sanitizer report" "$(grep -A15 -E 'ERROR: |runtime error:' "$T/sandboxd.log" | head -30)"

done_testing
