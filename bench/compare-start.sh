#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/compare-start.sh: the start latency of two builds, measured in one run, alternating:
#   - `sandboxctl run --user nobody [--promises P] -- /bin/true`, wall clock per run;
#   - sandboxd start+wait over its socket (bench-daemon, 1 client, /bin/true), each build's
#     sandboxd with the same policy.
# Prints the median (and p10/p90) of all rounds per build and the ratio new/old. Reports only.
#
#   sudo bench/compare-start.sh OLD_BUILD NEW_BUILD [ROUNDS] [RUNS_PER_ROUND] [DAEMON_SECONDS]
# Each build dir needs sandboxctl, sandboxd, libsandbox-preload.so (given as SANDBOX_PRELOAD, as
# the root tests do: a build dir is not installed); bench-daemon is taken from
# NEW_BUILD/bench (the protocol is the same). Temp files under /var/tmp, removed on exit; the
# sandboxds it starts are stopped by pid.
set -u
OLD=${1:?usage: compare-start.sh OLD_BUILD NEW_BUILD [ROUNDS] [RUNS] [SECONDS]}
NEW=${2:?usage: compare-start.sh OLD_BUILD NEW_BUILD [ROUNDS] [RUNS] [SECONDS]}
ROUNDS=${3:-3}
RUNS=${4:-40}
SECS=${5:-6}
[ "$(id -u)" = 0 ] || { echo "compare-start.sh: needs root" >&2; exit 1; }
BD=$NEW/bench/bench-daemon
TMP=$(mktemp -d /var/tmp/compare-start.XXXXXX)
PIDS=()
cleanup() {
        local p
        for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
        find /sys/fs/cgroup -maxdepth 3 -type d -name "compare-start-$$-*" 2>/dev/null |
                while read -r d; do find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done
        rm -rf -- "$TMP"
}
trap cleanup EXIT

now_us() { local t; t=$(date +%s%N); echo $((t / 1000)); }

# time_runs BUILD TAG OUT [run options...]: appends the wall clock of `sandboxctl run` (µs) to $TMP/run.<build>.<tag>
time_runs() {
        local build=$1 tag=$2 out=$3
        shift 3
        local i t0 t1
        for ((i = 0; i < RUNS; i++)); do
                t0=$(now_us)
                SANDBOX_PRELOAD=$build/libsandbox-preload.so "$build/sandboxctl" run --user nobody "$@" -- /bin/true \
                        >/dev/null 2>&1 || echo "run failed: $build $*" >&2
                t1=$(now_us)
                echo $((t1 - t0)) >>"$out"
        done
}

start_daemon() { # BUILD NAME -> SOCK printed
        local build=$1 name=$2 d=$TMP/$2
        mkdir -p "$d/nomad"
        cat >"$d/conf" <<EOF
[daemon]
nomad_data_dir = $d/nomad
cgroup_backend = cgroupfs
cgroup_parent = compare-start-$$-$name
admin_policy = sandbox

[driver sandbox]
users = nobody
promises = stdio rpath wpath cpath proc exec prot_exec inet dns
unveil = r:/etc r:/usr r:/bin r:/lib r:/lib64 rx:$build
networks = none
EOF
        SANDBOX_PRELOAD=$build/libsandbox-preload.so "$build/sandboxd" --config "$d/conf" --socket "$d/sock" --state-dir "$d/state" 2>>"$d/log" &
        PIDS+=($!)
        for _ in $(seq 1 100); do
                [ -S "$d/sock" ] && "$build/sandboxctl" --socket "$d/sock" list >/dev/null 2>&1 && return 0
                sleep 0.05
        done
        echo "compare-start.sh: sandboxd of $build did not start: $(tail -3 "$d/log")" >&2
        exit 1
}

start_daemon "$OLD" old
start_daemon "$NEW" new
for ((r = 0; r < ROUNDS; r++)); do
        for which in old new; do
                b=$OLD
                [ $which = new ] && b=$NEW
                time_runs "$b" promises "$TMP/run.$which.promises" --promises "stdio rpath"
                time_runs "$b" none "$TMP/run.$which.none"
                "$BD" --raw -t "$SECS" -p "stdio rpath" -u r:/etc/hostname "$TMP/$which/sock" 5000 /bin/true \
                        2>>"$TMP/bd.err" | sed -n 's/.*median_us=\([0-9]*\).*/\1/p' >>"$TMP/daemon.$which"
        done
done

stats() { # FILE -> "median (p10, p90; n)" in ms
        sort -n "$1" | awk '{ v[NR] = $1 } END {
                if (NR == 0) { print "n/a"; exit }
                i10 = int(NR * 0.1) + 1; i90 = int(NR * 0.9); if (i90 < 1) i90 = 1
                printf "%.2f ms (p10 %.2f, p90 %.2f; n=%d)", v[int((NR + 1) / 2)] / 1000, v[i10] / 1000, v[i90] / 1000, NR }'
}
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : 0) }'; }
ratio() { awk -v a="$(median "$1")" -v b="$(median "$2")" 'BEGIN { printf "%.3f", a ? b / a : 0 }'; }

echo "sandboxctl run --user nobody --promises 'stdio rpath' -- /bin/true"
echo "  old: $(stats "$TMP/run.old.promises")"
echo "  new: $(stats "$TMP/run.new.promises")   new/old $(ratio "$TMP/run.old.promises" "$TMP/run.new.promises")"
echo "sandboxctl run --user nobody -- /bin/true (no promises: the baseline filter)"
echo "  old: $(stats "$TMP/run.old.none")"
echo "  new: $(stats "$TMP/run.new.none")   new/old $(ratio "$TMP/run.old.none" "$TMP/run.new.none")"
echo "sandboxd start+wait (bench-daemon, 1 client, 'stdio rpath', r:/etc/hostname): median of each round's median"
echo "  old: $(stats "$TMP/daemon.old")"
echo "  new: $(stats "$TMP/daemon.new")   new/old $(ratio "$TMP/daemon.old" "$TMP/daemon.new")"
