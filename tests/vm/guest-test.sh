#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/vm/guest-test.sh BUILD-DIR: runs INSIDE the VM (systemd as PID 1, cgroup v2), as root.
# Installs the build (BUILD-DIR/vm-root, made by `meson install --destdir`), starts sandboxd
# through socket activation under systemd, and checks the systemd backend end to end. TAP.
set -u

BUILD=$1
ROOT=$BUILD/vm-root
PROBE=/usr/local/libexec/sandbox-test/probe # copied out of the 9p share, which nobody may not traverse
n=0
failed=0
ok() { # ok STATUS DESC [DIAG]
        n=$((n + 1))
        if [ "$1" -eq 0 ]; then
                echo "ok $n - $2"
        else
                echo "not ok $n - $2"
                failed=$((failed + 1))
                [ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/#   /'
        fi
}
t() { "$@" >/dev/null 2>&1; echo $?; } # the status of a command, for ok
bail() {
        echo "Bail out! $*"
        journalctl --no-pager -n 30 -u sandboxd.service 2>&1 | sed 's/^/# /'
        exit 1
}
json_field() { # json_field JSON KEY: the first "KEY": value (string or number)
        printf '%s' "$1" | sed -n "s/.*\"$2\": *\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p" | head -1
}

# ------------------------------------------------------------------------------------------
# The guest, and installing the build

ok "$([ "$(ps -p 1 -o comm=)" = systemd ]; echo $?)" "systemd is PID 1"
ok "$([ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; echo $?)" "/sys/fs/cgroup is cgroup v2 only"
# Any prefix: the unit's ExecStart names the installed daemon and its config file.
unitfile=$(find "$ROOT" -name sandboxd.service -path '*/systemd/system/*' | head -1)
[ -n "$unitfile" ] || bail "no installed build in $ROOT (meson install --destdir)"
conf=$(sed -n 's/^ExecStart=.*--config \([^ ]*\).*/\1/p' "$unitfile")
[ -n "$conf" ] || bail "no --config in $unitfile's ExecStart"
tar -C "$ROOT" -cf - . | tar -C / -xf - --keep-directory-symlink --no-same-owner || bail "copying the build into the guest"
install -D -m 755 "$BUILD/tests/probe" "$PROBE" || bail "copying the probe"
command -v sandboxctl >/dev/null || bail "sandboxctl is not on PATH ($PATH) after the install"
mkdir -p "$(dirname "$conf")"
cat >"$conf" <<'EOF'
[daemon]
admin_policy = sandbox
[driver sandbox]
users = nobody
promises = all
unveil = rwc:/tmp rwc:/var/tmp rx:/
EOF
chmod 644 "$conf"
systemd-tmpfiles --create sandboxd.conf
# the socket's group (sandboxd.socket SocketGroup; the package creates it with the shim's user)
getent group nomad-sandbox >/dev/null || groupadd --system nomad-sandbox
systemctl daemon-reload
ok "$(t systemctl start sandboxd.socket)" "systemctl start sandboxd.socket"
ok "$([ "$(systemctl is-active sandboxd.service)" = inactive ]; echo $?)" "sandboxd is not running before the first connection"

# ------------------------------------------------------------------------------------------
# Socket activation, sd_notify, journal

out=$(sandboxctl list 2>&1)
ok $? "sandboxctl list connects (socket activation)" "$out"
ok "$([ "$(systemctl is-active sandboxd.service)" = active ]; echo $?)" "sandboxd.service became active (Type=notify: READY=1 arrived)"
status=$(systemctl show -p StatusText --value sandboxd.service)
ok "$([ -n "$status" ]; echo $?)" "sd_notify STATUS: '$status'"
ok "$(journalctl --no-pager -u sandboxd.service | grep -q 'ready on /run/sandboxd/sandboxd.sock (.*cgroups systemd'; echo $?)" \
        "the journal says it is ready with the systemd cgroup backend" "$(journalctl --no-pager -u sandboxd.service | tail -5)"

# ------------------------------------------------------------------------------------------
# A transient scope per task, with the limits asked for

out=$(sandboxctl start --name web --memory-max 64M --memory-low 8M --cpu-weight 200 --cpu-quota 50% \
        --allowed-cpus 0 --tasks-max 32 -- /bin/sleep 1000 2>&1)
ok $? "start web with limits" "$out"
info=$(sandboxctl inspect --json web 2>&1)
cg=$(json_field "$info" cgroup)
unit=${cg#systemd:}
ok "$([ "${cg%%:*}" = systemd ] && [ -n "$unit" ]; echo $?)" "the task's cgroup is a systemd unit ($cg)" "$info"
ok "$(t systemctl is-active "$unit")" "systemctl: $unit is active"
ok "$(systemctl status "$unit" --no-pager >/dev/null 2>&1; [ $? -le 3 ]; echo $?)" "systemctl status $unit works"
dir=/sys/fs/cgroup/sandbox.slice/$unit
ok "$([ -d "$dir" ]; echo $?)" "its cgroup is $dir"
val() { cat "$dir/$1" 2>&1; }
ok "$([ "$(val memory.max)" = 67108864 ]; echo $?)" "memory.max = 64M" "$(val memory.max)"
ok "$([ "$(val memory.low)" = 8388608 ]; echo $?)" "memory.low = 8M" "$(val memory.low)"
ok "$([ "$(val cpu.max)" = "50000 100000" ]; echo $?)" "cpu.max = 50000 100000" "$(val cpu.max)"
ok "$([ "$(val cpu.weight)" = 200 ]; echo $?)" "cpu.weight = 200" "$(val cpu.weight)"
ok "$([ "$(val cpuset.cpus)" = 0 ]; echo $?)" "cpuset.cpus = 0" "$(val cpuset.cpus)"
ok "$([ "$(val pids.max)" = 32 ]; echo $?)" "pids.max = 32" "$(val pids.max)"
pid=$(json_field "$info" pid)
ok "$(grep -qx "0::/sandbox.slice/$unit" "/proc/$pid/cgroup"; echo $?)" "the sandbox init (pid $pid) is in the scope" \
        "$(cat "/proc/$pid/cgroup" 2>&1)"
stats=$(sandboxctl stats --json web 2>&1)
ok "$(printf '%s' "$stats" | grep -q '"pids_current": *[1-9]'; echo $?)" "stats read the scope (pids_current > 0)" "$stats"
jweb=$(journalctl --no-pager -o json SANDBOX_TASK=web 2>&1)
ok "$(printf '%s' "$jweb" | grep -q '"MESSAGE":"[^"]*web'; echo $?)" \
        "journalctl -o json SANDBOX_TASK=web: the daemon's messages about web" "$(printf '%s' "$jweb" | tail -3)"
ok "$(printf '%s' "$jweb" | grep -q '"SANDBOX_DRIVER":'; echo $?)" "... with SANDBOX_DRIVER and the other task fields"

# ------------------------------------------------------------------------------------------
# The unit leaves sandboxd without a seccomp filter: a task's init verifies a dynamic program's
# narrowed filter with PTRACE_SECCOMP_GET_FILTER, which a filtered process is refused.

dpid=$(systemctl show -p MainPID --value sandboxd.service)
ok "$([ "$(awk '/^Seccomp:/ {print $2}' "/proc/$dpid/status")" = 0 ]; echo $?)" \
        "sandboxd runs without a seccomp filter (Seccomp: 0)" "$(grep Seccomp "/proc/$dpid/status")"
sandboxctl start --name dyn --promises "stdio rpath" -- /bin/cat /etc/hostname >/dev/null 2>&1
out=$(sandboxctl wait dyn 2>&1)
rc=$?
ok "$([ $rc -eq 0 ]; echo $?)" "a dynamic program with promises starts, its narrowing verified (exit $rc)" "$out"
sandboxctl destroy dyn >/dev/null 2>&1
sandboxctl start --name base -- "$PROBE" syscall unshare-newuser >/dev/null 2>&1
sandboxctl wait base >/dev/null 2>&1
rc=$?
ok "$([ $rc -eq 1 ]; echo $?)" "a task without promises gets the baseline filter (unshare(CLONE_NEWUSER): EPERM, got $rc)"
sandboxctl destroy base >/dev/null 2>&1

# ------------------------------------------------------------------------------------------
# OOM and TasksMax

sandboxctl start --name hog --memory-max 32M -- /bin/sh -c 'head -c 300000000 /dev/zero | tail -n 1 >/dev/null' >/dev/null 2>&1
sandboxctl wait hog >/dev/null 2>&1
rc=$?
ok "$([ $rc -eq 137 ]; echo $?)" "a task allocating beyond MemoryMax is killed (137, got $rc)"
info=$(sandboxctl inspect --json hog 2>&1)
hogunit=$(json_field "$info" cgroup)
hogunit=${hogunit#systemd:}
# On failure: the order of the kernel's OOM kill, systemd removing the emptied scope, and the
# daemon's report (the daemon must learn of the OOM kill before the scope's cgroup is gone).
ok "$(printf '%s' "$info" | grep -q '"oom_killed": *true'; echo $?)" "... and reported as OOM-killed" \
        "$(printf '%s' "$info" | grep -A4 '"exit"')
$(journalctl --no-pager -o short-monotonic | grep -E "memory.oom.group|${hogunit:-none}|task 'hog'" | cut -c1-160)"
ok "$(journalctl --no-pager SANDBOX_TASK=hog | grep -q 'OOM'; echo $?)" "... and the journal says so (SANDBOX_TASK=hog)" \
        "$(journalctl --no-pager SANDBOX_TASK=hog | tail -3)"

sandboxctl start --name bomb --tasks-max 6 --stdout /var/tmp/bomb.out -- "$PROBE" forkbomb 50 >/dev/null 2>&1
sandboxctl wait bomb >/dev/null 2>&1
rc=$?
ok "$([ $rc -eq 11 ] && [ "$(cat /var/tmp/bomb.out)" = 4 ]; echo $?)" \
        "a fork bomb stops at TasksMax=6 (EAGAIN after 4 children; exit $rc, $(cat /var/tmp/bomb.out 2>&1) children)"
ok "$([ "$(systemctl is-active sandboxd.service)" = active ]; echo $?)" "sandboxd survived the fork bomb"

# ------------------------------------------------------------------------------------------
# systemctl restart sandboxd loses no task

sandboxctl start --name later -- /bin/sh -c 'sleep 4; exit 7' >/dev/null 2>&1
before=$(sandboxctl list 2>&1 | awk 'NR > 1 {print $1}' | sort | tr '\n' ' ')
webpid=$(json_field "$(sandboxctl inspect --json web)" pid)
ok "$(t systemctl restart sandboxd.service)" "systemctl restart sandboxd"
after=$(sandboxctl list 2>&1 | awk 'NR > 1 {print $1}' | sort | tr '\n' ' ')
ok "$([ "$before" = "$after" ] && [ -n "$before" ]; echo $?)" "the restarted daemon knows every task ($after)" \
        "before: $before"
ok "$(t kill -0 "$webpid")" "web's sandbox (pid $webpid) kept running across the restart"
ok "$(t systemctl is-active "$unit")" "... and so did its scope"
sandboxctl wait later >/dev/null 2>&1
rc=$?
ok "$([ $rc -eq 7 ]; echo $?)" "a task started before the restart reports its true exit code (7, got $rc)"

# A task that ends while the daemon is stopped: its sandbox init keeps the status, and the next
# client activates the daemon through the socket again.
sandboxctl start --name down -- /bin/sh -c 'sleep 2; exit 9' >/dev/null 2>&1
ok "$(t systemctl stop sandboxd.service)" "systemctl stop sandboxd.service (tasks stay: KillMode=process)"
ok "$([ "$(systemctl is-active sandboxd.service)" != active ] && [ "$(systemctl is-active sandboxd.socket)" = active ]; echo $?)" \
        "sandboxd is stopped, its socket still listens"
sleep 3
sandboxctl wait down >/dev/null 2>&1
rc=$?
ok "$([ $rc -eq 9 ] && [ "$(systemctl is-active sandboxd.service)" = active ]; echo $?)" \
        "a task that exited while sandboxd was down: wait re-activates it and gets the true code (9, got $rc)" \
        "$(journalctl --no-pager SANDBOX_TASK=down | tail -3)"

# A bad config on reload: refused, the old one stays in force.
cp "$conf" /var/tmp/good.conf
echo 'bogus_key = 1' >>"$conf"
systemctl reload sandboxd.service
# (SIGHUP is asynchronous: wait up to 10 s for the daemon to have read the file.)
for _ in $(seq 1 100); do journalctl --no-pager -u sandboxd.service | grep -q bogus_key && break; sleep 0.1; done
ok "$([ "$(systemctl is-active sandboxd.service)" = active ] && [ "$(sandboxctl list 2>/dev/null | wc -l)" -ge 2 ]; echo $?)" \
        "a bad config on reload keeps the daemon serving"
ok "$(journalctl --no-pager -u sandboxd.service | grep -q "bogus_key"; echo $?)" "... and the journal names the bad key"
cp /var/tmp/good.conf "$conf"

# ------------------------------------------------------------------------------------------
# Stop and destroy: the scope goes away

sandboxctl stop web --timeout 2s >/dev/null 2>&1
sandboxctl wait web >/dev/null 2>&1
rc=$?
ok "$([ $rc -eq 143 ]; echo $?)" "stop web: SIGTERM, exit 143 (got $rc)"
sandboxctl destroy web >/dev/null 2>&1
for _ in $(seq 1 50); do systemctl is-active -q "$unit" || break; sleep 0.1; done
ok "$(systemctl is-active -q "$unit"; [ $? -ne 0 ]; echo $?)" "after destroy, $unit is gone"
for name in hog bomb later down; do sandboxctl destroy "$name" >/dev/null 2>&1; done
ok "$([ "$(sandboxctl list | wc -l)" -le 1 ]; echo $?)" "no task left"

echo "1..$n"
[ "$failed" -eq 0 ]
