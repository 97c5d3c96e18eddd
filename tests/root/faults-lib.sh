# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# tests/root/faults-lib.sh: a private sandboxd for the fault-injection and limit tests (sourced after
# lib.sh and require_sandbox_host): its config, starting it on cgroup v1 (this host's
# hierarchies) or on cgroup v2 (a private cgroup2 mount in a mount namespace of its own), and the
# checks that nothing of a task is left: no process, no state directory, no cgroup.
#
#   faults_setup               config, state dir, the tasks' writable dir $W (marks file $MARKS,
#                              log directory $LOGS)
#   daemon_up BIN [VAR=VAL...] start BIN (sandboxd or sandboxd-faults) with the environment given
#   daemon_down                SIGTERM and wait; daemon_dead_within SECS: it died by itself
#   task_cmd NAME              the command of a task: appends NAME to $MARKS once, then loops
#   alive_marked PREFIX        pids of task processes whose marker starts with PREFIX
#   leftovers                  what is left in the state dir and below the cgroup parent
# FAULTS_CGROUP=v1|v2 picks the hierarchy daemon_up uses (default v1).

T=$TEST_TMP
S=$T/sandboxd.sock
STATE=$T/state
CONF=$T/sandboxd.conf
CG_PARENT=sandboxd-faults-$$
FAULTS_CGROUP=${FAULTS_CGROUP:-v1}
DPID=
CTL=("$SANDBOXCTL" --socket "$S")
ctl() { "${CTL[@]}" "$@"; }

faults_setup() {
        # not under /tmp: daemon tasks get a private /tmp
        W=$(mktemp -d /var/tmp/sbxfaults.XXXXXX)
        chmod 755 "$W"
        MARKS=$W/marks
        : >"$MARKS"
        chmod 666 "$MARKS"
        # where log FIFOs go, as in Nomad's alloc/<id>/alloc/logs (sandboxd opens them itself)
        LOGS=$W/logs
        mkdir "$LOGS"
        cat >"$CONF" <<EOF
[daemon]
log_dirs = $LOGS
cgroup_backend = cgroupfs
cgroup_parent = $CG_PARENT
admin_policy = sandbox
max_tasks = 1000

[driver sandbox]
users = nobody
unveil = rwc:$W r:/etc r:/usr
networks = none
allow_unenforced_limits = yes
EOF
        chmod 644 "$CONF"
        at_exit faults_cleanup
}

# Kills what a test left running (by pid: only our marked tasks and our daemon), removes the
# cgroup parent in every hierarchy and the writable dir.
faults_cleanup() {
        local pid d
        [ -n "$DPID" ] && kill -KILL "$DPID" 2>/dev/null
        for pid in $(alive_marked "fault-$$-"); do kill -KILL "$pid" 2>/dev/null; done
        for d in /sys/fs/cgroup/*/"$CG_PARENT"; do
                [ -d "$d" ] || continue
                find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | while read -r pid; do kill -KILL "$pid"; done
                sleep 0.1
                find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
        done
        rm -rf -- "${W:-/nonexistent}"
        true
}

daemon_up() {
        local bin=$1 i
        shift
        if [ "$FAULTS_CGROUP" = v2 ]; then
                # cgroup v2 in a mount namespace of the daemon's own: this host is hybrid (v1
                # controllers), but the unified hierarchy takes CLONE_INTO_CGROUP and cgroup.kill
                env "$@" unshare -m --propagation private sh -c 'mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec "$0" "$@"' \
                        "$bin" --config "$CONF" --socket "$S" --state-dir "$STATE" 2>>"$T/sandboxd.log" &
        else
                env "$@" "$bin" --config "$CONF" --socket "$S" --state-dir "$STATE" 2>>"$T/sandboxd.log" &
        fi
        DPID=$!
        track_pid "$DPID"
        for i in $(seq 1 200); do
                [ -S "$S" ] && ctl list >/dev/null 2>&1 && return 0
                kill -0 "$DPID" 2>/dev/null || return 1
                sleep 0.05
        done
        return 1
}

daemon_down() {
        [ -n "$DPID" ] || return 0
        kill "$DPID" 2>/dev/null
        wait "$DPID" 2>/dev/null
        DPID=
}

# daemon_dead_within SECS: 0 if the daemon is gone (it SIGKILLed itself at a crash point)
daemon_dead_within() {
        local i
        for i in $(seq 1 $(($1 * 20))); do
                if ! kill -0 "$DPID" 2>/dev/null; then
                        wait "$DPID" 2>/dev/null
                        DPID=
                        return 0
                fi
                sleep 0.05
        done
        return 1
}

# The task: its marker (argv[0] of sh, visible in /proc/PID/cmdline) names it; it appends the
# marker to $MARKS when it starts, so a task that ran twice shows up twice.
task_cmd() {
        printf '%s\n' /bin/sh -c 'echo "$0" >>'"$MARKS"'; while :; do sleep 1; done' "fault-$$-$1"
}

alive_marked() {
        pgrep -f "^/bin/sh -c echo .*>>$MARKS; while :; do sleep 1; done $1" 2>/dev/null
}

# Everything of ours below the state dir and the cgroup parent (v1 hierarchies and the unified one)
leftovers() {
        local d
        find "$STATE/tasks" -mindepth 1 2>/dev/null
        for d in /sys/fs/cgroup/*/"$CG_PARENT"; do
                [ -d "$d" ] && find "$d" -mindepth 1 -type d
        done
        true
}
