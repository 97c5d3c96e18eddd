#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/run.sh: every layer of nomad-driver-sandbox side by side with its peers, in one run, on
# this machine. Prints a Markdown table (median, p10/p90, ratio to the fork+exec floor, the
# issue's goal and pass/miss) and writes it with a CSV to bench/results/<date>-<host>.{md,csv}.
# It reports and never asserts: a goal missed is a row marked "miss", a peer that cannot run is
# "n/a" with the reason, and the exit code is 0 unless the run itself could not be set up.
#
#   sudo bench/run.sh [--budget SECONDS] [--out PREFIX] [--build-dir DIR] [--tasks N]
#                     [--no-install] [--no-shim] [--remove-build]
#     --budget S      bound on the whole run, build included (default 540); every timed row gets
#                     a slice of it and rows that no longer fit are reported as skipped
#     --out PREFIX    write PREFIX.md and PREFIX.csv (default bench/results/<date>-<host>)
#     --build-dir D   meson build directory (default build-bench: -Dbuildtype=release, no tests)
#     --tasks N       tasks for the scale rows (default 1000)
#     --no-install    do not apt-get install the peers (bubblewrap, firejail, ...)
#     --no-shim       skip the shim layer (tests/e2e/run.sh in its measurement modes)
#     --remove-build  remove the build directory at the end
#
# Needs root: sandboxd, namespaces, netns. It starts its own sandboxd (config, socket and state
# under a temp dir in /var/tmp, its own cgroup parent) and stops it by pid; every task, netns
# and temp dir it made is gone when it exits, also on ^C.
set -u

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUDGET=540
OUT=
BUILD=$SRC/build-bench
TASKS=1000
INSTALL=1
SHIM_LAYER=1
REMOVE_BUILD=0

die() {
        echo "bench/run.sh: $*" >&2
        exit 1
}

while [ $# -gt 0 ]; do
        case $1 in
        --budget) BUDGET=${2:?}; shift ;;
        --out) OUT=${2:?}; shift ;;
        --build-dir) BUILD=${2:?}; shift ;;
        --tasks) TASKS=${2:?}; shift ;;
        --no-install) INSTALL=0 ;;
        --no-shim) SHIM_LAYER=0 ;;
        --remove-build) REMOVE_BUILD=1 ;;
        -h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option '$1' (see --help)" ;;
        esac
        shift
done
[[ $BUDGET =~ ^[0-9]+$ ]] && [ "$BUDGET" -ge 60 ] || die "--budget: whole seconds, at least 60"
[[ $TASKS =~ ^[0-9]+$ ]] && [ "$TASKS" -ge 1 ] || die "--tasks: a positive number"
[ "$(id -u)" = 0 ] || die "needs root (sandboxd, namespaces, network namespaces)"

T_START=$SECONDS
elapsed() { echo $((SECONDS - T_START)); }
left() { echo $((BUDGET - (SECONDS - T_START))); }
log() { printf '[%3ds] %s\n' "$(elapsed)" "$*" >&2; }

# ---------------------------------------------------------------------------------------------
# Peers and tools from Debian

need=()
command -v bwrap >/dev/null || need+=(bubblewrap)
command -v firejail >/dev/null || need+=(firejail)
command -v nsenter >/dev/null || need+=(util-linux)
command -v ip >/dev/null || need+=(iproute2)
command -v meson >/dev/null || need+=(meson)
command -v ninja >/dev/null || need+=(ninja-build)
if [ ${#need[@]} -gt 0 ]; then
        if [ $INSTALL = 1 ]; then
                log "installing ${need[*]}"
                DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >&2 ||
                        log "apt-get install failed; the rows that need ${need[*]} will say n/a"
        else
                log "not installing ${need[*]} (--no-install); the rows that need them will say n/a"
        fi
fi

# ---------------------------------------------------------------------------------------------
# Build (release, own directory)

if [ ! -f "$BUILD/build.ninja" ]; then
        log "meson setup $BUILD (release)"
        meson setup "$BUILD" "$SRC" -Dbuildtype=release -Dtests=false -Dbench=true >&2 || die "meson setup failed"
fi
log "ninja -C $BUILD"
ninja -C "$BUILD" >/dev/null || die "build failed (ninja -C $BUILD)"
B=$BUILD/bench
SANDBOXD=$BUILD/sandboxd
SANDBOXCTL=$BUILD/sandboxctl
SHIM=$BUILD/nomad-driver-sandbox
export SANDBOX_PRELOAD=$BUILD/libsandbox-preload.so
for f in "$SANDBOXD" "$SANDBOXCTL" "$SANDBOX_PRELOAD" "$B/bench-fork" "$B/bench-daemon" "$B/bench-spawn" \
        "$B/bench-syscall" "$B/bpf-gen" "$B/chain-wrapper"; do
        [ -e "$f" ] || die "'$f' was not built"
done
BUILDTYPE=$(meson introspect --buildoptions "$BUILD" 2>/dev/null |
        python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="buildtype"][0])' 2>/dev/null)
[ "$BUILDTYPE" = release ] || log "warning: $BUILD is buildtype '$BUILDTYPE', not release"

# ---------------------------------------------------------------------------------------------
# Temp dir, private sandboxd, netns; all removed on exit

TMP=$(mktemp -d /var/tmp/sandbox-bench.XXXXXX) # not /tmp: tasks get a private /tmp
chmod 755 "$TMP"
CG_PARENT=sandboxd-bench-$$
NETNS=sbxbench-$$
SOCK=$TMP/sandboxd.sock
DAEMON_PID=

destroy_all_tasks() {
        [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null || return 0
        "$B/bench-daemon" --destroy-scale "$SOCK" "$TASKS" >/dev/null 2>&1
        local n
        for n in $("$SANDBOXCTL" --socket "$SOCK" list --json 2>/dev/null |
                python3 -c 'import json,sys; [print(t["name"]) for t in json.load(sys.stdin)]' 2>/dev/null); do
                "$SANDBOXCTL" --socket "$SOCK" destroy --force "$n" >/dev/null 2>&1
        done
}

stop_daemon() {
        if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
                kill "$DAEMON_PID" 2>/dev/null
                wait "$DAEMON_PID" 2>/dev/null
        fi
        DAEMON_PID=
}

cleanup() {
        destroy_all_tasks
        stop_daemon
        # tasks a SIGKILLed daemon left behind are in our cgroup parent: kill them by pid
        local d pid
        find /sys/fs/cgroup -maxdepth 3 -type d -name "$CG_PARENT" 2>/dev/null |
                while read -r d; do find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null; done |
                while read -r pid; do kill -KILL "$pid" 2>/dev/null; done
        sleep 0.2
        find /sys/fs/cgroup -maxdepth 3 -type d -name "$CG_PARENT" 2>/dev/null |
                while read -r d; do find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done
        ip netns del "$NETNS" 2>/dev/null
        umount "$TMP/state" 2>/dev/null
        rm -rf -- "$TMP"
        if [ $REMOVE_BUILD = 1 ]; then
                rm -rf -- "$BUILD"
        fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$TMP/nomad" "$TMP/state" "$TMP/bin"
# sandboxd's state on tmpfs, as its default /run/sandboxd is on a systemd host (this machine's
# /run may be on disk)
mount -t tmpfs -o mode=0700,size=64m sbx-bench-state "$TMP/state" || die "cannot mount a tmpfs for the state dir"
chmod 755 "$TMP/nomad" "$TMP/bin"
cat >"$TMP/sandboxd.conf" <<EOF
[daemon]
nomad_data_dir = $TMP/nomad
cgroup_backend = cgroupfs
cgroup_parent = $CG_PARENT
max_tasks = $((TASKS + 100))
admin_policy = sandbox

[driver sandbox]
users = nobody
promises = stdio rpath wpath cpath proc exec prot_exec inet dns
unveil = r:/etc r:/usr r:/bin r:/lib r:/lib64
# launch rules outside the default set: this build's preload helper
unveil = rx:$(dirname "$SANDBOX_PRELOAD")
networks = none
EOF
chmod 644 "$TMP/sandboxd.conf"

start_daemon() {
        "$SANDBOXD" --config "$TMP/sandboxd.conf" --socket "$SOCK" --state-dir "$TMP/state" \
                2>>"$TMP/sandboxd.log" &
        DAEMON_PID=$!
        local i
        for i in $(seq 1 200); do
                [ -S "$SOCK" ] && "$SANDBOXCTL" --socket "$SOCK" list >/dev/null 2>&1 && return 0
                kill -0 "$DAEMON_PID" 2>/dev/null || break
                sleep 0.05
        done
        return 1
}

# ---------------------------------------------------------------------------------------------
# Rows: kept in arrays, printed at the end

R_SEC=() R_WHAT=() R_N=() R_MED=() R_SPREAD=() R_X=() R_GOAL=() R_RES=() R_NOTE=()
CSV_ROWS=()

# add SECTION WHAT N MEDIAN SPREAD XFLOOR GOAL RESULT NOTE UNIT MED_RAW P10_RAW P90_RAW
add() {
        R_SEC+=("$1") R_WHAT+=("$2") R_N+=("$3") R_MED+=("$4") R_SPREAD+=("$5") R_X+=("$6")
        R_GOAL+=("$7") R_RES+=("$8") R_NOTE+=("$9")
        local what=${2//\"/\"\"} note=${9//\"/\"\"}
        CSV_ROWS+=("\"$1\",\"$what\",$3,${11:-},${12:-},${13:-},${10:-},${6:-},\"$7\",$8,\"$note\"")
}

calc() { awk "BEGIN { printf \"%s\", $* }"; }
fmt2() { awk -v v="$1" 'BEGIN { printf "%.2f", v }'; }
# field KEY LINE: the value of KEY=VALUE in LINE
field() { sed -n "s/.*[[:space:]]$1=\\([^[:space:]]*\\).*/\\1/p" <<<" $2" | head -1; }
# verdict VALUE OP LIMIT -> pass/miss
verdict() { awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN { ok = op == "<=" ? v <= l : v >= l; print ok ? "pass" : "miss" }'; }

FLOOR_US=

# Slice of the budget for one timed row: what is left, minus what the untimed sections still
# need (RESERVE: the scale rows, the syscall rows, the shim's e2e runs), over the rows to come.
ROWS_LEFT=17
RESERVE_SCALE=$((TASKS * 60 / 1000 + 20))
RESERVE_SYSCALLS=30
RESERVE_SHIM=$((SHIM_LAYER == 1 ? 200 : 0))
slice() {
        local s=$(( ($(left) - RESERVE_SCALE - RESERVE_SYSCALLS - RESERVE_SHIM) / (ROWS_LEFT > 0 ? ROWS_LEFT : 1) ))
        [ $s -gt 15 ] && s=15
        [ $s -lt 2 ] && s=2
        echo $s
}

# timed SECTION WHAT GOALSPEC NOTE -- BENCH-PROGRAM ARGS...
# Runs a bench program that prints the --raw line (n= median_us= p10_us= p90_us= failed=
# first_status=), with a time slice, and adds the row. GOALSPEC: "" or "X<=1.5" (ratio to the
# floor) or "REF<=0.5:NAME:US" (ratio to another row's median).
timed() {
        local sec=$1 what=$2 goalspec=$3 note=$4
        shift 5
        ROWS_LEFT=$((ROWS_LEFT - 1))
        if [ "$(left)" -lt 5 ]; then
                add "$sec" "$what" 0 "n/a" "" "" "" "skipped" "time budget used up" us
                return
        fi
        local t out
        t=$(slice)
        log "$what (${t}s)"
        out=$(timeout $((t * 3 + 30)) "$@" 2>"$TMP/err") || true
        local n med p10 p90 failed st
        n=$(field n "$out") med=$(field median_us "$out") p10=$(field p10_us "$out") p90=$(field p90_us "$out")
        failed=$(field failed "$out") st=$(field first_status "$out")
        if [ -z "$n" ] || [ "$n" = 0 ]; then
                local why
                why=$(grep -v '^$' "$TMP/err" | tail -2 | tr '\n' ' ' | cut -c1-200)
                add "$sec" "$what" 0 "n/a" "" "" "" "n/a" "every run failed (exit ${st:-?}): ${why:-no message}" us
                return
        fi
        [ "${failed:-0}" != 0 ] && note="${note:+$note; }$failed runs failed (first exit $st)"
        local x="" goal="" res=""
        [ -n "$FLOOR_US" ] && x=$(calc "$med / $FLOOR_US")
        case $goalspec in
        X\<=*)
                local lim=${goalspec#X<=}
                goal="≤ ${lim}× floor"
                res=$(verdict "$x" "<=" "$lim")
                ;;
        REF\<=*)
                local rest=${goalspec#REF<=} lim ref refus
                lim=${rest%%:*} rest=${rest#*:} ref=${rest%%:*} refus=${rest#*:}
                if [ -n "$refus" ] && [ "$refus" != n/a ]; then
                        goal="≤ ${lim}× $ref"
                        res="$(verdict "$(calc "$med / $refus")" "<=" "$lim") ($(fmt2 "$(calc "$med / $refus")")×)"
                else
                        goal="≤ ${lim}× $ref"
                        res="n/a ($ref not measured)"
                fi
                ;;
        esac
        add "$sec" "$what" "$n" "$(fmt2 "$(calc "$med / 1000")") ms" \
                "$(fmt2 "$(calc "$p10 / 1000")") / $(fmt2 "$(calc "$p90 / 1000")") ms" \
                "$( [ -n "$x" ] && fmt2 "$x")" "$goal" "$res" "$note" us "$med" "$p10" "$p90"
        LAST_US=$med
}

# ---------------------------------------------------------------------------------------------
# 1. Floor

LAST_US=
timed floor "fork+exec+wait /bin/true" "" "bench-fork" -- \
        "$B/bench-fork" --raw --time "$(slice)" 5000 /bin/true
FLOOR_US=$LAST_US
[ -n "$FLOOR_US" ] || die "the floor could not be measured: $(cat "$TMP/err")"
R_X[0]=1.00
timed floor "vfork+exec+wait /bin/true" "" "bench-fork --vfork" -- \
        "$B/bench-fork" --raw --vfork --time "$(slice)" 5000 /bin/true

# ---------------------------------------------------------------------------------------------
# 2. Peers (each timed by bench-fork: fork+exec of the sandboxer, no shell)

LAST_US=
timed peers "unshare --pid --fork --mount --ipc --uts --net true" "" "util-linux $(unshare --version 2>/dev/null | awk '{print $NF}')" -- \
        "$B/bench-fork" --raw --quiet --time "$(slice)" 2000 unshare --pid --fork --mount --ipc --uts --net true

timed peers "unshare --pid --fork --mount --ipc --uts true (no --net)" "" "what the network namespace costs" -- \
        "$B/bench-fork" --raw --quiet --time "$(slice)" 2000 unshare --pid --fork --mount --ipc --uts true

BWRAP=(bwrap --unshare-all --die-with-parent --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib
        --symlink usr/lib64 /lib64 --proc /proc --dev /dev)
BWRAP_VER=$(bwrap --version 2>/dev/null | awk '{print $NF}')
timed peers "bwrap --unshare-all, /usr read-only, no seccomp" "" "bubblewrap $BWRAP_VER" -- \
        "$B/bench-fork" --raw --quiet --time "$(slice)" 2000 "${BWRAP[@]}" true
"$B/bpf-gen" "$TMP/allow.bpf" 2>"$TMP/err" || log "bpf-gen failed: $(cat "$TMP/err")"
LAST_US=
timed peers "bwrap --unshare-all + --seccomp (pledge-like allow list)" "" \
        "filter from bench/bpf-gen ($(stat -c %s "$TMP/allow.bpf" 2>/dev/null) bytes BPF)" -- \
        "$B/bench-fork" --raw --quiet --fd "9:$TMP/allow.bpf" --time "$(slice)" 2000 "${BWRAP[@]}" --seccomp 9 true
BWRAP_SECCOMP_US=${LAST_US:-n/a}

# firejail refuses to run in some environments (nested sandboxes, no suid, ...): n/a with why
timed peers "firejail --noprofile --net=none true" "" "firejail $(firejail --version 2>/dev/null | awk 'NR==1{print $NF}')" -- \
        "$B/bench-fork" --raw --quiet --time "$(slice)" 500 firejail --quiet --noprofile --net=none true

# The pledge/exec2 launch chain: exec2 runs nsenter --net=<alloc netns> unshare --ipc --pid
# --mount-proc --fork --kill-child=SIGKILL --setuid N --setgid N <nomad exec2-shim> (Landlock,
# then exec); the pledge driver's pledge.com adds a seccomp filter. chain-wrapper does both.
LAST_US=
if ip netns add "$NETNS" 2>"$TMP/err"; then
        timed peers "pledge/exec2 chain: nsenter --net unshare ... --setuid chain-wrapper true" "" \
                "Landlock (4 read-only rules) + libseccomp allow list, loaded in the wrapper" -- \
                "$B/bench-fork" --raw --quiet --time "$(slice)" 2000 \
                nsenter --no-fork --net="/run/netns/$NETNS" -- \
                unshare --ipc --pid --mount-proc --fork --kill-child=SIGKILL --setuid 65534 --setgid 65534 -- \
                "$B/chain-wrapper" -- true
else
        ROWS_LEFT=$((ROWS_LEFT - 1))
        add peers "pledge/exec2 chain" 0 n/a "" "" "" n/a "ip netns add failed: $(head -1 "$TMP/err")" us
fi
CHAIN_US=${LAST_US:-n/a}

# ---------------------------------------------------------------------------------------------
# 3. Ours, at every layer: spawn library, sandboxctl run, sandboxd, shim

PROMISES="stdio rpath"
timed ours "spawn library (bench-spawn): 5 ns, Landlock, \"$PROMISES\", user nobody" "X<=1.5" \
        "libsandbox called directly; no cgroup (the daemon makes it)" -- \
        "$B/bench-spawn" --raw -p "$PROMISES" --time "$(slice)" 2000 /bin/true
timed ours "sandboxctl run --promises \"$PROMISES\" --user nobody -- /bin/true" "REF<=0.5:bwrap+seccomp:$BWRAP_SECCOMP_US" \
        "5 ns, Landlock defaults, launch filter + preload; no cgroup (run has no option for one)" -- \
        "$B/bench-fork" --raw --quiet --time "$(slice)" 2000 \
        "$SANDBOXCTL" run --promises "$PROMISES" --user nobody --cwd / -- /bin/true

DAEMON_OK=0
if start_daemon; then
        DAEMON_OK=1
else
        log "sandboxd did not start: $(tail -3 "$TMP/sandboxd.log")"
fi
DAEMON_ARGS=(-p "$PROMISES" -u r:/etc/hostname)
daemon_row() { # WHAT CLIENTS NOTE
        local what=$1 clients=$2 note=$3 t out
        ROWS_LEFT=$((ROWS_LEFT - 1))
        if [ $DAEMON_OK = 0 ]; then
                add "$4" "$what" 0 n/a "" "" "" n/a "sandboxd did not start" us
                return
        fi
        if [ "$(left)" -lt 5 ]; then
                add "$4" "$what" 0 n/a "" "" "" skipped "time budget used up" us
                return
        fi
        t=$(slice)
        log "$what (${t}s)"
        out=$(timeout $((t * 3 + 60)) "$B/bench-daemon" --raw -c "$clients" -t "$t" "${DAEMON_ARGS[@]}" \
                "$SOCK" 5000 /bin/true 2>"$TMP/err") || true
        local n med p10 p90 per
        n=$(field n "$out") med=$(field median_us "$out") p10=$(field p10_us "$out") p90=$(field p90_us "$out")
        per=$(field per_s "$out")
        if [ -z "$n" ]; then
                add "$4" "$what" 0 n/a "" "" "" n/a "$(tail -1 "$TMP/err" | cut -c1-200)" us
                return
        fi
        if [ "$4" = ours ]; then
                add ours "$what" "$n" "$(fmt2 "$(calc "$med / 1000")") ms" \
                        "$(fmt2 "$(calc "$p10 / 1000")") / $(fmt2 "$(calc "$p90 / 1000")") ms" \
                        "$(fmt2 "$(calc "$med / $FLOOR_US")")" "" "" "$note; $per starts/s" us "$med" "$p10" "$p90"
        else
                add throughput "$what" "$n" "$per /s" \
                        "latency $(fmt2 "$(calc "$med / 1000")") ms ($(fmt2 "$(calc "$p10 / 1000")") / $(fmt2 "$(calc "$p90 / 1000")"))" \
                        "" "≥ 200 /s" "$(verdict "$per" ">=" 200)" "$note" starts_per_s "$per" "" ""
        fi
}
daemon_row "sandboxd start+wait over the socket (bench-daemon, 1 client)" 1 \
        "5 ns, Landlock, \"$PROMISES\", unveil r:/etc/hostname, own cgroup (cgroupfs), user nobody" ours

SHIM_LINES=
if [ $SHIM_LAYER = 1 ] && [ -x "$SHIM" ] && grep -qs E2E_MODE "$SRC"/tests/e2e/*.go; then
        ROWS_LEFT=$((ROWS_LEFT - 1))
        if [ "$(left)" -gt 60 ]; then
                log "shim: tests/e2e/run.sh E2E_MODE=latency (builds the Go client)"
                E2E_MODE=latency E2E_RUNS=200 E2E_CACHE=/var/tmp/nomad-driver-sandbox-e2e-cache \
                        SHIM=$SHIM SANDBOXD=$SANDBOXD SANDBOXCTL=$SANDBOXCTL \
                        timeout -k 10 $(( $(left) / 2 )) "$SRC/tests/e2e/run.sh" >"$TMP/e2e-latency.out" 2>&1
                SHIM_LINES+=$(grep '^# bench:' "$TMP/e2e-latency.out")$'\n'
                RESERVE_SHIM=$((RESERVE_SHIM / 2))
        fi
        l=$(grep ' shim_start_wait ' <<<"$SHIM_LINES")
        if [ -n "$l" ]; then
                med=$(calc "$(field median_ms "$l") * 1000") p10=$(calc "$(field p10_ms "$l") * 1000")
                p90=$(calc "$(field p90_ms "$l") * 1000")
                if [ "$CHAIN_US" != n/a ]; then
                        r=$(calc "$med / $CHAIN_US")
                        res="$(verdict "$r" "<=" 0.33) ($(fmt2 "$r")×)"
                else
                        res="n/a (chain not measured)"
                fi
                add ours "shim StartTask→WaitTask through gRPC (e2e client, E2E_MODE=latency)" "$(field n "$l")" \
                        "$(fmt2 "$(calc "$med / 1000")") ms" \
                        "$(fmt2 "$(calc "$p10 / 1000")") / $(fmt2 "$(calc "$p90 / 1000")") ms" \
                        "$(fmt2 "$(calc "$med / $FLOOR_US")")" "≤ 0.33× pledge/exec2 chain" "$res" \
                        "Go go-plugin client; promises \"$PROMISES\"" us "$med" "$p10" "$p90"
        else
                add ours "shim StartTask→WaitTask through gRPC" 0 n/a "" "" "≤ 0.33× pledge/exec2 chain" n/a \
                        "e2e latency mode gave no figure: $(grep -E 'Bail out|not ok|SKIP' "$TMP/e2e-latency.out" 2>/dev/null | head -1 | cut -c1-150)" us
        fi
else
        # Hook: the shim layer needs tests/e2e's measurement modes (E2E_MODE) and a built shim.
        ROWS_LEFT=$((ROWS_LEFT - 1))
        add ours "shim StartTask→WaitTask through gRPC" 0 n/a "" "" "≤ 0.33× pledge/exec2 chain" n/a \
                "n/a (shim modes not available$([ -x "$SHIM" ] || echo '; shim not built')$([ $SHIM_LAYER = 1 ] || echo '; --no-shim'))" us
fi

# ---------------------------------------------------------------------------------------------
# 4. Throughput: start+wait+destroy cycles per second, C clients each with its own connection

for c in 1 2 8; do
        daemon_row "sandboxd starts/s, $c concurrent client(s)" "$c" "start+wait+destroy of /bin/true" throughput
done
for c in 1 2 8; do
        l=$(grep " shim_throughput clients=$c " <<<"$SHIM_LINES")
        [ -n "$l" ] || continue
        per=$(field starts_per_s "$l")
        add throughput "shim starts/s (gRPC), $c concurrent client(s)" "$(field starts "$l")" "$per /s" "" "" \
                "≥ 200 /s" "$(verdict "$per" ">=" 200)" "StartTask+WaitTask+DestroyTask, e2e client" starts_per_s "$per" "" ""
done

# ---------------------------------------------------------------------------------------------
# 5. Scale: TASKS sleeping tasks through sandboxd

kib() { awk -v k="$1" '/^Pss:/ && k == "Pss" { print $2 } /^VmRSS:/ && k == "VmRSS" { print $2 }'; }
scale_rows() {
        if [ $DAEMON_OK = 0 ]; then
                add scale "$TASKS sleeping tasks" 0 n/a "" "" "" n/a "sandboxd did not start" ""
                return
        fi
        if [ "$(left)" -lt $((TASKS * 30 / 1000 + 10)) ]; then
                add scale "$TASKS sleeping tasks" 0 n/a "" "" "" skipped "time budget used up" ""
                return
        fi
        log "scale: starting $TASKS sleeping tasks"
        local out
        out=$(timeout "$(left)" "$B/bench-daemon" --scale "${DAEMON_ARGS[@]}" "$SOCK" "$TASKS" /bin/sleep 3600 2>"$TMP/err")
        log "$out"
        local started secs
        started=$(awk '{print $2}' <<<"$out") secs=$(awk '{print $(NF-1)}' <<<"$out")
        if [ -z "$started" ] || [ "$started" = 0 ]; then
                add scale "$TASKS sleeping tasks" 0 n/a "" "" "" n/a "no task started: $(tail -1 "$TMP/err")" ""
                return
        fi
        add scale "start $started sleeping tasks, one client" "$started" "$(fmt2 "$secs") s" "" "" "" "" \
                "$(fmt2 "$(calc "$started / $secs")") starts/s" s "$secs" "" ""
        sleep 2
        # The sandbox inits are sandboxd's children (the tasks are theirs).
        local pids pss=0 p v
        pids=$(pgrep -P "$DAEMON_PID")
        local ninit=0
        for p in $pids; do
                v=$(kib Pss </proc/"$p"/smaps_rollup 2>/dev/null)
                [ -n "$v" ] && pss=$((pss + v)) && ninit=$((ninit + 1))
        done
        local per
        per=$(calc "$pss / ($ninit > 0 ? $ninit : 1)")
        add scale "supervisor (sandbox init) PSS per task" "$ninit" "$(fmt2 "$per") KiB" "" "" "≤ 256 KiB" \
                "$(verdict "$per" "<=" 256)" "sum of the inits' Pss (smaps_rollup) / $ninit" KiB "$per" "" ""
        local rss
        rss=$(kib VmRSS </proc/"$DAEMON_PID"/status)
        add scale "sandboxd RSS with $started tasks" 1 "$(fmt2 "$(calc "$rss / 1024")") MiB" "" "" "≤ 20 MiB" \
                "$(verdict "$rss" "<=" 20480)" "VmRSS" KiB "$rss" "" ""
        out=$("$B/bench-fork" --raw --quiet 10 "$SANDBOXCTL" --socket "$SOCK" list)
        add scale "sandboxctl list with $started tasks" "$(field n "$out")" \
                "$(fmt2 "$(calc "$(field median_us "$out") / 1000")") ms" \
                "$(fmt2 "$(calc "$(field p10_us "$out") / 1000")") / $(fmt2 "$(calc "$(field p90_us "$out") / 1000")") ms" \
                "" "" "" "whole command: process start + list + print" us "$(field median_us "$out")" \
                "$(field p10_us "$out")" "$(field p90_us "$out")"
        # Restart: SIGKILL, start again, time until it answers with every task recovered.
        log "scale: kill -9 sandboxd, restart, recover $started tasks"
        kill -KILL "$DAEMON_PID"
        wait "$DAEMON_PID" 2>/dev/null
        local t0 t1 cnt=0
        t0=$(date +%s%N)
        "$SANDBOXD" --config "$TMP/sandboxd.conf" --socket "$SOCK" --state-dir "$TMP/state" 2>>"$TMP/sandboxd.log" &
        DAEMON_PID=$!
        for _ in $(seq 1 1000); do
                cnt=$("$SANDBOXCTL" --socket "$SOCK" list 2>/dev/null | grep -c '^bench-scale-')
                [ "$cnt" -ge "$started" ] && break
                kill -0 "$DAEMON_PID" 2>/dev/null || break
                sleep 0.01
        done
        t1=$(date +%s%N)
        local ms
        ms=$(calc "($t1 - $t0) / 1e6")
        add scale "sandboxd restart (SIGKILL) until all $started tasks listed" "$cnt" "$(fmt2 "$ms") ms" "" "" \
                "≤ 1 s (shim RecoverTask goal)" "$(verdict "$ms" "<=" 1000)" \
                "daemon-side recovery; includes sandboxd's process start and polling every 10 ms" ms "$ms" "" ""
        log "scale: destroying $started tasks"
        out=$(timeout 300 "$B/bench-daemon" --destroy-scale "$SOCK" "$TASKS" 2>/dev/null)
        log "$out"
}
scale_rows
RESERVE_SCALE=0

# The shim at scale (e2e client with its own sandboxd): shim RSS, RecoverTask of every task.
RESERVE_SHIM=0
if [ $SHIM_LAYER = 1 ] && [ -x "$SHIM" ] && grep -qs E2E_MODE "$SRC"/tests/e2e/*.go; then
        if [ "$(left)" -gt 60 ]; then
                log "shim: tests/e2e/run.sh E2E_MODE=scale E2E_TASKS=$TASKS"
                E2E_MODE=scale E2E_TASKS=$TASKS E2E_CACHE=/var/tmp/nomad-driver-sandbox-e2e-cache \
                        SHIM=$SHIM SANDBOXD=$SANDBOXD SANDBOXCTL=$SANDBOXCTL \
                        timeout -k 10 $(( $(left) - RESERVE_SYSCALLS )) "$SRC/tests/e2e/run.sh" >"$TMP/e2e-scale.out" 2>&1
                SCALE_LINES=$(grep '^# bench:' "$TMP/e2e-scale.out")
                SHIM_LINES+=$SCALE_LINES$'\n'
                l=$(grep ' loaded ' <<<"$SCALE_LINES")
                if [ -n "$l" ]; then
                        v=$(field shim_rss_kib "$l")
                        add scale "shim RSS with $(field tasks "$l") tasks (WaitTask pending each)" 1 \
                                "$(fmt2 "$(calc "$v / 1024")") MiB" "" "" "≤ 20 MiB" "$(verdict "$v" "<=" 20480)" \
                                "e2e scale mode; its sandboxd: $(fmt2 "$(calc "$(field sandboxd_rss_kib "$l") / 1024")") MiB" KiB "$v" "" ""
                fi
                while read -r l; do
                        [ -n "$l" ] || continue
                        v=$(field ms "$l")
                        add scale "shim RecoverTask of $(field tasks "$l") tasks, $(field clients "$l") client(s)" \
                                "$(field tasks "$l")" "$(fmt2 "$v") ms" "" "" "≤ 1 s" "$(verdict "$v" "<=" 1000)" \
                                "fresh shim after kill -9; failed=$(field failed "$l")" ms "$v" "" ""
                done < <(grep ' recover ' <<<"$SCALE_LINES")
                [ -n "$SCALE_LINES" ] || add scale "shim at scale" 0 n/a "" "" "" n/a \
                        "e2e scale mode gave no figure: $(grep -E 'Bail out|not ok|SKIP' "$TMP/e2e-scale.out" | head -1 | cut -c1-150)" ""
        else
                add scale "shim at scale" 0 n/a "" "" "" skipped "time budget used up" ""
        fi
else
        add scale "shim RSS, RecoverTask at scale" 0 n/a "" "" "" n/a "n/a (shim modes not available)" ""
fi

# ---------------------------------------------------------------------------------------------
# 6. Syscall cost: bare, and under "stdio rpath inet" as tasks get it (sandboxctl run)

SYS_PROMISES="stdio rpath inet"
# Bare and sandboxed runs alternate (3 pairs of 5 rounds each), so drift on a shared machine
# hits both sides; the figure is the median of each side's 3 per-run medians.
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
# syscall_rows LABEL PROGRAM FILTER-NAME WRAPPER...: PROGRAM bare versus under WRAPPER.
syscall_rows() {
        local label=$1 prog=$2 fname=$3
        shift 3
        log "syscalls: $label, $fname"
        local bare="" sand="" i
        for i in 1 2 3; do
                bare+=$(timeout 120 "$prog" -n 200000 -r 5 2>&1)$'\n'
                sand+=$(timeout 120 "$@" "$prog" -n 200000 -r 5 2>&1)$'\n'
        done
        local call lim b s r bmin bmax smin smax
        for call in getppid read0 fcntl_getfd mmap_munmap open_close; do
                case $call in getppid | read0) lim=1.05 ;; *) lim=1.2 ;; esac
                b=$(grep "^$call " <<<"$bare" | while read -r l; do field median_ns "$l"; done | median)
                s=$(grep "^$call " <<<"$sand" | while read -r l; do field median_ns "$l"; done | median)
                if [ -z "$b" ] || [ -z "$s" ]; then
                        add syscalls "$call, $label" 0 n/a "" "" "" n/a "$(tail -1 <<<"$sand" | cut -c1-150)" ns
                        continue
                fi
                smin=$(grep "^$call " <<<"$sand" | while read -r l; do field min_ns "$l"; done | sort -g | head -1)
                smax=$(grep "^$call " <<<"$sand" | while read -r l; do field max_ns "$l"; done | sort -g | tail -1)
                bmin=$(grep "^$call " <<<"$bare" | while read -r l; do field min_ns "$l"; done | sort -g | head -1)
                bmax=$(grep "^$call " <<<"$bare" | while read -r l; do field max_ns "$l"; done | sort -g | tail -1)
                r=$(calc "$s / $b")
                add syscalls "$call, $label: no filter → $fname" 15 \
                        "$b → $s ns" "no filter $bmin–$bmax; filtered $smin–$smax ns" "" "≤ ${lim}× no filter" \
                        "$(verdict "$r" "<=" "$lim") ($(fmt2 "$r")×)" \
                        "3 alternating pairs of runs, 5 rounds of 200,000 calls each (mmap, open: 20,000); min–max of rounds" \
                        ns "$s" "$smin" "$smax"
        done
}
if [ "$(left)" -gt 20 ]; then
        SANDBOXED=("$SANDBOXCTL" run --promises "$SYS_PROMISES" --cwd / --)
        if [ -x "$B/bench-syscall-static" ]; then
                syscall_rows "static" "$B/bench-syscall-static" "\"$SYS_PROMISES\" (sandboxctl run)" "${SANDBOXED[@]}"
        fi
        syscall_rows "dynamic" "$B/bench-syscall" "\"$SYS_PROMISES\" (sandboxctl run)" "${SANDBOXED[@]}"
        # A task without promises: the baseline filter (and the supervisor's, none here).
        syscall_rows "static" "$B/bench-syscall-static" "the baseline filter (sandboxctl run, no promises)" \
                "$SANDBOXCTL" run --cwd / --
        # For reference, the cheapest filter there is: a 37-call deny list, nothing else.
        syscall_rows "static" "$B/bench-syscall-static" "a deny list (chain-wrapper --deny-list)" \
                "$B/chain-wrapper" --deny-list --no-landlock --
        # Explaining denials (the default above) against not explaining: allowed calls must cost
        # the same (the promise filter is the same program, with the listener as its default), a
        # refused one costs a round trip to the sandbox's init.
        syscall_rows "static" "$B/bench-syscall-static" "\"$SYS_PROMISES\", not explaining (--no-explain)" \
                "$SANDBOXCTL" run --no-explain --promises "$SYS_PROMISES" --cwd / --
        log "syscalls: a refused call, explained or not"
        ex="" nx=""
        for i in 1 2 3; do
                ex+=$(timeout 120 "$SANDBOXCTL" run --promises "$SYS_PROMISES" --cwd / -- "$B/bench-syscall-static" -n 200000 -r 5 2>&1)$'\n'
                nx+=$(timeout 120 "$SANDBOXCTL" run --no-explain --promises "$SYS_PROMISES" --cwd / -- "$B/bench-syscall-static" -n 200000 -r 5 2>&1)$'\n'
        done
        e=$(grep "^denied_mknodat " <<<"$ex" | while read -r l; do field median_ns "$l"; done | median)
        n=$(grep "^denied_mknodat " <<<"$nx" | while read -r l; do field median_ns "$l"; done | median)
        if [ -n "$e" ] && [ -n "$n" ]; then
                add syscalls "a call \"$SYS_PROMISES\" refuses (mknodat): EPERM in the kernel → explained by the init" 15 \
                        "$n → $e ns" "" "" "a round trip to the init" "$(fmt2 "$(calc "$e / $n")")×" \
                        "3 alternating pairs of runs, 5 rounds of 2,000 calls each; once per cause is told, every one is answered" \
                        ns "$e" "" ""
        else
                add syscalls "a refused call, explained" 0 n/a "" "" "" n/a "$(tail -1 <<<"$ex" | cut -c1-150)" ns
        fi
else
        add syscalls "syscall cost" 0 n/a "" "" "" skipped "time budget used up" ns
fi

# ---------------------------------------------------------------------------------------------
# Report

stop_daemon
if [ -z "$OUT" ]; then
        mkdir -p "$SRC/bench/results"
        OUT=$SRC/bench/results/$(date +%Y-%m-%d)-$(hostname -s)
fi
mkdir -p "$(dirname "$OUT")"
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MACHINE="$CPU, $(nproc) cores, Linux $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME"), $(date -u +'%Y-%m-%d %H:%M UTC')"
CGV=$([ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && echo "cgroup v2" || echo "cgroup v1/hybrid")
{
        echo "Machine: $MACHINE; $CGV; build $BUILDTYPE; run time $(elapsed) s of a $BUDGET s budget."
        echo "Floor: fork+exec+wait of /bin/true, median $(fmt2 "$(calc "$FLOOR_US / 1000")") ms."
        echo
        echo "| section | what | n | median | p10 / p90 (spread) | × floor | goal | result | notes |"
        echo "|---|---|---|---|---|---|---|---|---|"
        for i in "${!R_WHAT[@]}"; do
                printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "${R_SEC[$i]}" "${R_WHAT[$i]}" \
                        "${R_N[$i]}" "${R_MED[$i]}" "${R_SPREAD[$i]}" "${R_X[$i]}" "${R_GOAL[$i]}" \
                        "${R_RES[$i]}" "${R_NOTE[$i]//|/\\|}"
        done
        if [ -n "$(tr -d '\n' <<<"$SHIM_LINES")" ]; then
                echo
                echo "Raw lines of the e2e client's measurement modes:"
                echo
                echo '```'
                grep -v '^$' <<<"$SHIM_LINES"
                echo '```'
        fi
} >"$OUT.md"
{
        echo "section,what,n,median,p10_or_min,p90_or_max,unit,x_floor,goal,result,note"
        printf '%s\n' "${CSV_ROWS[@]}"
} >"$OUT.csv"
cat "$OUT.md"
echo
echo "Written: $OUT.md and $OUT.csv" >&2
