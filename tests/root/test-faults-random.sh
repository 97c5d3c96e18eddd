#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/root/test-faults-random.sh: sandboxd SIGKILLed at random moments, FAULTS_KILLS times
# (default 100) per cgroup hierarchy, while at least FAULTS_LIVE tasks (default 50) run and
# clients start, wait for, stop and destroy others (tests/root/faults-random.py). On cgroup v1
# (this host) and on cgroup v2 (a private cgroup2 mount). Asserts 0 lost tasks, 0 wrong exit
# codes, 0 orphans, 0 tasks run twice, 0 leftover state directories or cgroups.
# FAULTS_SEED makes a run repeatable (each run prints its seed).
set -u
# shellcheck source=tests/root/lib.sh
. "$(dirname "$0")/lib.sh"

require_sandbox_host
: "${SANDBOXD:?}"
[ -x /usr/bin/python3 ] || skip_all "/usr/bin/python3 is missing"
# shellcheck source=tests/root/faults-lib.sh
. "$(dirname "$0")/faults-lib.sh"
faults_setup

KILLS=${FAULTS_KILLS:-100}
LIVE=${FAULTS_LIVE:-50}

random_run() { # CGROUP
        local cg=$1 daemon=() line
        if [ "$cg" = v2 ]; then
                daemon=(unshare -m --propagation private sh -c 'mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec "$0" "$@"')
        fi
        daemon+=("$SANDBOXD" --config "$CONF" --socket "$S" --state-dir "$STATE")
        TEST_TIMEOUT=$((KILLS * 12 + 300)) run /usr/bin/python3 "$(dirname "$0")/faults-random.py" --ctl "$SANDBOXCTL" --socket "$S" --state "$STATE" \
                --cgroup-glob "/sys/fs/cgroup/*/$CG_PARENT" --marks "$MARKS" --prefix "$$-$cg" --log "$T/sandboxd.log" \
                --kills "$KILLS" --live "$LIVE" ${FAULTS_SEED:+--seed "$FAULTS_SEED"} -- "${daemon[@]}"
        line=$(printf '%s\n' "$OUT" | grep '^totals ' | tail -1)
        printf '%s\n' "$OUT" | grep '^# seed'
        printf '# %s %s\n' "$cg" "$line"
        local k v ok=0
        declare -A tot=()
        for kv in ${line#totals }; do
                tot[${kv%%=*}]=${kv#*=}
        done
        [ "$RC" -eq 0 ] && [ -n "$line" ] || ok=1
        check "$ok" "$cg: the random run finished" "rc $RC: $(printf '%s\n' "$OUT" "$ERR" | tail -15)"
        check "$([ "${tot[kills]:-0}" -ge "$KILLS" ]; echo $?)" "$cg: sandboxd SIGKILLed ${tot[kills]:-0} times under $LIVE+ live tasks"
        check "$([ "${tot[exits_checked]:-0}" -gt 0 ] && [ "${tot[unknown_starts]:-0}" -gt 0 ]; echo $?)" \
                "$cg: the run exercised it (${tot[exits_checked]:-0} exit codes checked, ${tot[unknown_starts]:-0} starts with an unknown outcome)"
        for k in lost wrong_exit orphans twice leftovers; do
                v=${tot[$k]:-?}
                check "$([ "$v" = 0 ]; echo $?)" "$cg: $k = 0" "$(printf '%s\n' "$OUT" | grep -E 'LOST|WRONG|ORPHAN|TWICE|LEFTOVER' | head -20)"
        done
}

random_run v1
random_run v2

check "$(! grep -q -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$T/sandboxd.log"; echo $?)" \
        "sandboxd's log has no sanitizer report" "$(grep -A15 -E 'ERROR: |runtime error:' "$T/sandboxd.log" | head -30)"

done_testing
