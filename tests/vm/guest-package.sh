#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/vm/guest-package.sh DIR: runs INSIDE the VM (a fresh Debian 12 root with systemd as PID
# 1 and cgroup v2; nothing of ours installed), as root. DIR (made by tests/vm/package.sh) holds
# nomad-driver-sandbox_*.deb, install/ (the dependencies the image lacks) and e2e-client.
# Installs the package as an operator would, checks the first start under systemd from the
# packaged units and policy, runs a task through the installed plugin, reinstalls it with a task
# running, removes it with a task running and the daemon stopped, purges it, and checks that
# nothing runs and nothing is left. TAP.
set -u

DIR=$1
PLUGIN=/usr/libexec/nomad-driver-sandbox/nomad-driver-sandbox
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
        journalctl --no-pager -n 30 -u sandboxd.service -u sandboxd.socket 2>&1 | sed 's/^/# /'
        exit 1
}
# Processes of ours anywhere: sandboxd, the plugin, a task's sandbox (cgroup sandbox.slice).
ours() {
        ps -eo pid=,comm= | awk '$2 == "sandboxd" || $2 ~ /^nomad-driver-sa/ {print}'
        cat /sys/fs/cgroup/sandbox.slice/*/cgroup.procs 2>/dev/null
}

deb=$(ls "$DIR"/nomad-driver-sandbox_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || bail "no package in $DIR"

# ------------------------------------------------------------------------------------------
# A fresh root, and Nomad's directories as its own package leaves them

ok "$([ "$(ps -p 1 -o comm=)" = systemd ]; echo $?)" "systemd is PID 1"
ok "$([ ! -e /usr/sbin/sandboxd ] && ! getent passwd nomad-sandbox >/dev/null && [ ! -e /etc/sandboxd ]; echo $?)" \
        "nothing of ours is installed yet (no sandboxd, no nomad-sandbox user, no /etc/sandboxd)"
# Nomad's package makes data_dir /opt/nomad/data; plugin_dir defaults to data_dir/plugins and
# does not exist yet. /opt/nomad/plugins is the README's plugin_dir, made by the operator.
mkdir -p /opt/nomad/data /opt/nomad/plugins
find / -xdev \( -path /proc -o -path /sys \) -prune -o -print 2>/dev/null | sort >/var/tmp/files-before
# The package's paths that do not exist yet: after the purge, none of them may.
dpkg-deb --fsys-tarfile "$(ls "$DIR"/nomad-driver-sandbox_*.deb | head -1)" | tar -t | sed 's|^\.||; s|/$||' |
        while IFS= read -r f; do [ -z "$f" ] || [ -e "$f" ] || [ -L "$f" ] || echo "$f"; done >/var/tmp/package-new

# ------------------------------------------------------------------------------------------
# Install

deps=()
for f in "$DIR"/install/*.deb; do [ -e "$f" ] && deps+=("$f"); done
out=$(DEBIAN_FRONTEND=noninteractive dpkg -i "${deps[@]}" "$deb" 2>&1)
ok $? "dpkg -i $(basename "$deb")${deps:+ (with the dependencies the image lacks: ${deps[*]##*/})}" "$out"
printf '%s\n' "$out" | sed 's/^/# dpkg: /'
ok "$([ "$(dpkg-query -W -f='${Status}' nomad-driver-sandbox)" = "install ok installed" ]; echo $?)" "installed"

pw=$(getent passwd nomad-sandbox)
ok "$([ -n "$pw" ] && [ "$(echo "$pw" | cut -d: -f3)" -lt 1000 ] && [ "$(echo "$pw" | cut -d: -f7)" = /usr/sbin/nologin ]
        echo $?)" "sysusers made nomad-sandbox: a system user without a login shell" "$pw"
ok "$([ "$(dpkg-query -W -f='${Conffiles}' nomad-driver-sandbox | awk '{print $1}')" = /etc/sandboxd/sandboxd.conf ]
        echo $?)" "/etc/sandboxd/sandboxd.conf is the package's one conffile"
ok "$([ "$(stat -c '%U:%G %a' /etc/sandboxd/sandboxd.conf)" = "root:root 644" ]; echo $?)" \
        "the policy is root's, mode 0644" "$(stat -c '%U:%G %a' /etc/sandboxd/sandboxd.conf)"
out=$(sandboxd --check-config 2>&1)
ok "$([ "$out" = "/etc/sandboxd/sandboxd.conf: OK" ]; echo $?)" "sandboxd --check-config passes on a fresh install" "$out"
ok "$([ "$(systemctl is-enabled sandboxd.socket)" = enabled ]; echo $?)" "sandboxd.socket is enabled"
ok "$([ "$(systemctl is-active sandboxd.socket)" = active ] && [ -S /run/sandboxd/sandboxd.sock ]; echo $?)" \
        "sandboxd.socket is listening on /run/sandboxd/sandboxd.sock"
ok "$([ "$(systemctl is-active sandboxd.service)" = inactive ]; echo $?)" "sandboxd itself waits for the first connection"
ok "$([ "$(stat -c %a /run/sandboxd/tasks)" = 700 ]; echo $?)" "tmpfiles made /run/sandboxd/tasks (0700)"
ok "$([ "$(readlink /opt/nomad/data/plugins/nomad-driver-sandbox)" = "$PLUGIN" ]; echo $?)" \
        "the plugin is linked into Nomad's default plugin_dir /opt/nomad/data/plugins (created)" \
        "$(ls -l /opt/nomad/data/plugins 2>&1)"
ok "$([ "$(readlink /opt/nomad/plugins/nomad-driver-sandbox)" = "$PLUGIN" ]; echo $?)" \
        "... and into /opt/nomad/plugins" "$(ls -l /opt/nomad/plugins 2>&1)"
missing=
for page in /usr/share/man/man1/sandboxctl.1.gz /usr/share/man/man8/sandboxd.8.gz /usr/share/man/man5/sandboxd.conf.5.gz \
        /usr/share/man/man8/nomad-driver-sandbox.8.gz; do
        [ -f "$page" ] || { missing="$missing $page"; continue; }
        for doc in $(zcat "$page" | grep -o '/usr/share/doc/nomad\\-driver\\-sandbox/[a-z.-]*' | sed 's/\\-/-/g' | sort -u); do
                [ -f "$doc" ] || missing="$missing $doc (named in $page)"
        done
done
ok "$([ -z "$missing" ]; echo $?)" "the man pages are installed, and every document they name" "missing:$missing"

# ------------------------------------------------------------------------------------------
# First start under systemd: socket activation with the packaged unit and policy

out=$(sandboxctl list 2>&1)
ok $? "sandboxctl list: the socket starts sandboxd" "$out"
ok "$([ "$(systemctl is-active sandboxd.service)" = active ]; echo $?)" "sandboxd.service is active (READY=1 arrived)" \
        "$(systemctl status --no-pager sandboxd.service 2>&1 | tail -5)"
ok "$(journalctl --no-pager -u sandboxd.service | grep -q 'ready on /run/sandboxd/sandboxd.sock (socket-activated).*cgroups systemd'
        echo $?)" "the journal: ready, socket-activated, systemd cgroups" "$(journalctl --no-pager -u sandboxd.service | tail -5)"

# ------------------------------------------------------------------------------------------
# A task through the installed plugin, as a Nomad client runs it

ip netns add pkg-test || bail "ip netns add"
ip netns exec pkg-test ip link set lo up
e2e_tmp=$(mktemp -d /var/tmp/e2e.XXXXXX)
chmod 755 "$e2e_tmp"
E2E_MODE=package E2E_TMP=$e2e_tmp SHIM=$PLUGIN SANDBOXCTL=sandboxctl E2E_SOCKET=/run/sandboxd/sandboxd.sock \
        E2E_NOMAD=/opt/nomad/data E2E_NETNS=/run/netns/pkg-test "$DIR/e2e-client" >/var/tmp/e2e.out 2>&1
e2e_rc=$?
# its checks, renumbered into this file's
while IFS= read -r line; do
        case "$line" in
        "ok "*) ok 0 "plugin: ${line#ok * - }" ;;
        "not ok "*) ok 1 "plugin: ${line#not ok * - }" ;;
        "#"*) echo "$line" ;;
        "Bail out!"*) ok 1 "plugin: $line" ;;
        esac
done </var/tmp/e2e.out
ok "$e2e_rc" "the plugin checks ran to the end (exit $e2e_rc)" "$(grep -v '^ok' /var/tmp/e2e.out | tail -20; cat "$e2e_tmp/shim.log" 2>/dev/null | tail -10)"
ip netns del pkg-test
rm -rf /opt/nomad/data/alloc "$e2e_tmp" # what a Nomad client's garbage collection would remove

# ------------------------------------------------------------------------------------------
# Reinstall (the upgrade path) with a task running: the task survives, sandboxd is new

out=$(sandboxctl start --name keeper --promises stdio -- /bin/sleep 1000 2>&1)
ok $? "a task started under the default policy (sandboxctl start, promises stdio)" "$out"
keeper=$(sandboxctl inspect --json keeper 2>/dev/null | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' | head -1)
daemon1=$(systemctl show -p MainPID --value sandboxd.service)
out=$(DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" 2>&1)
ok $? "dpkg -i again (what an upgrade runs: prerm upgrade, preinst, postinst configure)" "$out"
ok "$([ -n "$keeper" ] && kill -0 "$keeper" 2>/dev/null; echo $?)" "the task is still running (sandbox init pid ${keeper:-?})"
out=$(sandboxctl inspect keeper 2>&1)
ok "$(printf '%s\n' "$out" | grep -q '^state: *running'; echo $?)" "the new sandboxd recovered it: running" "$out"
daemon2=$(systemctl show -p MainPID --value sandboxd.service)
ok "$([ "$daemon2" != 0 ] && [ "$daemon2" != "$daemon1" ]; echo $?)" "sandboxd was restarted ($daemon1 -> $daemon2)"

# ------------------------------------------------------------------------------------------
# Remove with the task running and sandboxd stopped (tasks outlive the daemon): prerm brings
# the socket back, stops and forgets every task, then the units go.

systemctl stop sandboxd.socket sandboxd.service
ok "$([ "$(systemctl is-active sandboxd.service)" != active ] && kill -0 "$keeper" 2>/dev/null; echo $?)" \
        "sandboxd stopped, the task still runs"
out=$(DEBIAN_FRONTEND=noninteractive dpkg -r nomad-driver-sandbox 2>&1)
ok $? "dpkg -r nomad-driver-sandbox" "$out"
printf '%s\n' "$out" | sed 's/^/# dpkg: /'
ok "$(printf '%s\n' "$out" | grep -q 'stopping 1 task(s) before removal'; echo $?)" "prerm says it stops the one task" "$out"
ok "$(! kill -0 "$keeper" 2>/dev/null; echo $?)" "the task is gone"
left=$(ours)
ok "$([ -z "$left" ]; echo $?)" "nothing of ours runs (no sandboxd, no plugin, nothing in sandbox.slice)" "$left"
ok "$(! systemctl is-active --quiet sandboxd.socket && ! systemctl is-active --quiet sandboxd.service &&
        ! systemctl is-active --quiet sandbox.slice; echo $?)" "sandboxd.socket, sandboxd.service and sandbox.slice are inactive"
ok "$([ ! -e /run/sandboxd ] && [ ! -e /var/lib/nomad-driver-sandbox ]; echo $?)" "/run/sandboxd and /var/lib/nomad-driver-sandbox are gone"
ok "$([ ! -e /opt/nomad/data/plugins ] && [ -d /opt/nomad/plugins ] && [ -z "$(ls -A /opt/nomad/plugins)" ]; echo $?)" \
        "the plugin links are gone, and the plugin_dir the package made; the operator's stays" \
        "$(ls -la /opt/nomad/data /opt/nomad/plugins 2>&1)"
ok "$([ -f /etc/sandboxd/sandboxd.conf ] &&
        [ "$(dpkg-query -W -f='${Status}' nomad-driver-sandbox)" = "deinstall ok config-files" ]; echo $?)" \
        "removed, the policy kept until purge (config-files)"

# ------------------------------------------------------------------------------------------
# Purge: nothing left

out=$(DEBIAN_FRONTEND=noninteractive dpkg -P nomad-driver-sandbox 2>&1)
ok $? "dpkg -P nomad-driver-sandbox" "$out"
ok "$(! dpkg-query -W -f='${Status}' nomad-driver-sandbox 2>/dev/null | grep -q installed; echo $?)" "purged"
left=
while IFS= read -r f; do
        [ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done </var/tmp/package-new
ok "$([ -z "$left" ] && [ -s /var/tmp/package-new ]; echo $?)" \
        "all $(wc -l </var/tmp/package-new) files and directories the package added are gone" "left:$left"
# What was installed only for the package goes too (as apt autoremove would), so that the
# file system can be compared with the one before.
if [ ${#deps[@]} -gt 0 ]; then
        names=$(for f in "${deps[@]}"; do dpkg-deb -f "$f" Package; done)
        # shellcheck disable=SC2086
        out=$(dpkg -P $names 2>&1)
        ok $? "dpkg -P the dependencies installed with it ($(echo $names))" "$out"
fi
find / -xdev \( -path /proc -o -path /sys -o -path /var/tmp \) -prune -o -print 2>/dev/null | sort >/var/tmp/files-after
new=$(comm -13 /var/tmp/files-before /var/tmp/files-after | grep -v -e '^/var/log/' -e '^/var/cache/' -e '^/var/lib/systemd/' \
        -e '^/var/lib/dpkg/' -e '^/var/tmp' -e '^/etc/\(passwd\|group\|shadow\|gshadow\|subuid\|subgid\)-\?$' -e '^/etc/ld.so.cache$' \
        -e '^/tmp/' -e '^/root/')
ok "$([ -z "$new" ]; echo $?)" "no new file anywhere on the root file system" "$new"
ours_anywhere=$(find / /run -xdev \( -path /proc -o -path /sys -o -path /var/tmp \) -prune -o \
        \( -name '*sandboxd*' -o -name '*nomad-driver-sandbox*' \) -print 2>/dev/null)
ok "$([ -z "$ours_anywhere" ]; echo $?)" "nothing named sandboxd or nomad-driver-sandbox in / or /run" "$ours_anywhere"
left=$(ours)
ok "$([ -z "$left" ]; echo $?)" "nothing of ours runs" "$left"
ok "$(getent passwd nomad-sandbox >/dev/null; echo $?)" \
        "the nomad-sandbox system user stays (Debian keeps system users: files it owns elsewhere keep a known owner)"

echo "1..$n"
[ "$failed" -eq 0 ]
