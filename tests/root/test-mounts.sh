#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/root/test-mounts.sh: the task's own filesystem view: a private /tmp with TMPDIR, bind
# mounts (volumes) visible and writable only as configured and unveiled at the mount point (the
# raw host path stays hidden), and a resolv.conf of the caller's choosing.
set -u
# shellcheck source=tests/root/lib.sh
. "$(dirname "$0")/lib.sh"

require_sandbox_host

T=$TEST_TMP
mkdir -p "$T/src" "$T/dst" "$T/dst2" "$T/other"
echo hello >"$T/src/file"
echo secret >"$T/other/file"
chmod 755 "$T/src" "$T/dst" "$T/dst2"
chmod 666 "$T/src/file"
printf 'nameserver 192.0.2.53\nsearch example.test\n' >"$T/resolv"

# ------------------------------------------------------------------------------------------
# Private /tmp

expect_output 0 /tmp "--private-tmp: TMPDIR=/tmp" -- sbx --private-tmp --cwd / -- /bin/sh -c 'echo "$TMPDIR"'
expect_exit 0 "--private-tmp: the task user (nobody) can create a file in /tmp" -- \
        sbx --private-tmp --cwd / --user nobody -- /bin/sh -c 'echo x >/tmp/a && test "$(cat /tmp/a)" = x'
expect_output 0 "" "--private-tmp: /tmp starts empty (host files are not visible)" -- \
        sbx --private-tmp --cwd / -- /bin/sh -c 'ls -A /tmp'
expect_stdout_match 0 "^/tmp/tmp\." "--private-tmp: mktemp works (TMPDIR honoured)" -- \
        sbx --private-tmp --cwd / --user nobody -- /usr/bin/mktemp
expect_output 0 1777 "--private-tmp: /tmp is mode 1777" -- sbx --private-tmp --cwd / -- /usr/bin/stat -c %a /tmp
run sbx --private-tmp --cwd / -- /bin/sh -c 'echo leak >/tmp/sandbox-leak-test-$$; echo $$'
check "$([ ! -e /tmp/sandbox-leak-test-"$OUT" ]; echo $?)" "--private-tmp: a file written in the task's /tmp does not reach the host's"
expect_output 0 "" "without --private-tmp, TMPDIR is not set by run" -- sbx -- /bin/sh -c 'echo "${TMPDIR:-}"'

# ------------------------------------------------------------------------------------------
# Bind mounts

expect_output 0 hello "--mount SRC:DST (read-only): the file is readable at DST" -- \
        sbx --mount "$T/src:$T/dst" -- /bin/cat "$T/dst/file"
expect_stderr_match 2 "Read-only file system" "--mount SRC:DST (read-only): writing fails with EROFS" -- \
        sbx --mount "$T/src:$T/dst" --user nobody -- /bin/sh -c "echo x >$T/dst/new"
expect_exit 0 "--mount SRC:DST:rw: the task user writes a file at DST" -- \
        sbx --mount "$T/src:$T/dst:rw" --user nobody -- /bin/sh -c "echo written >$T/dst/file"
check "$([ "$(cat "$T/src/file")" = written ]; echo $?)" "... and the write reached the source on the host"
expect_stderr_match 1 "Permission denied" "--mount: the raw source path is hidden from the task" -- \
        sbx --mount "$T/src:$T/dst:rw" -- /bin/cat "$T/src/file"
expect_stderr_match 1 "Permission denied" "--mount: a sibling of the mount point is not unveiled" -- \
        sbx --mount "$T/src:$T/dst" -- /bin/cat "$T/other/file"
echo hello >"$T/src/file"
touch "$T/dst2/f"
expect_output 0 hello "--mount of a file onto a file" -- sbx --mount "$T/src/file:$T/dst2/f" -- /bin/cat "$T/dst2/f"
rm -f "$T/dst2/f"
expect_output 0 hello "two mounts" -- \
        sbx --mount "$T/src:$T/dst" --mount "$T/other:$T/dst2" -- /bin/sh -c "cat $T/dst2/file >/dev/null && cat $T/dst/file"
expect_stdout_match 0 " $T/dst ro,nosuid,nodev" "a read-only mount is ro, nosuid, nodev (mountinfo)" -- \
        sbx --mount "$T/src:$T/dst" -- /bin/grep " $T/dst " /proc/self/mountinfo
expect_stdout_match 0 " $T/dst rw,nosuid,nodev" "a rw mount is rw, nosuid, nodev (mountinfo)" -- \
        sbx --mount "$T/src:$T/dst:rw" -- /bin/grep " $T/dst " /proc/self/mountinfo
cp /bin/true "$T/src/prog"
expect_stderr_match 126 "sh: 1: $T/dst/prog: Permission denied" "programs in a volume cannot be run (unveiled without x)" -- \
        sbx --mount "$T/src:$T/dst" -- /bin/sh -c "$T/dst/prog"
rm -f "$T/src/prog"

# Bad input: clear errors naming the option and the reason
expect_stderr_match 2 "^sandboxctl: --mount: source '$T/nope': No such file or directory$" \
        "--mount: a missing source is refused (exit 2)" -- sbx --mount "$T/nope:$T/dst" -- /bin/true
expect_stderr_match 125 "^sandboxctl: mount: $T/src on $T/nope: No such file or directory$" \
        "--mount: a missing target fails the mount step (exit 125, names both)" -- sbx --mount "$T/src:$T/nope" -- /bin/true
expect_stderr_match 2 "must not be the source or overlap it" "--mount: a target inside the source is refused" -- \
        sbx --mount "$T/src:$T/src/x" -- /bin/true
expect_stderr_match 2 "expected SOURCE:TARGET" "--mount without a target is refused" -- sbx --mount "$T/src" -- /bin/true
expect_stderr_match 2 "mode must be ro or rw" "--mount with a bad mode is refused" -- sbx --mount "$T/src:$T/dst:rx" -- /bin/true
expect_stderr_match 2 "cannot mount over / or /proc" "--mount over /proc is refused" -- sbx --mount "$T/src:/proc/sys" -- /bin/true
ln -s "$T/src" "$T/link"
expect_stderr_match 2 "source '$T/link/file': Too many levels of symbolic links|source '$T/link/file': .*symbolic" \
        "--mount: a source through a symlink is refused" -- sbx --mount "$T/link/file:$T/dst2" -- /bin/true

# ------------------------------------------------------------------------------------------
# resolv.conf

expect_output 0 "$(cat "$T/resolv")" "--resolv-conf FILE: the task sees FILE as /etc/resolv.conf" -- \
        sbx --resolv-conf "$T/resolv" -- /bin/cat /etc/resolv.conf
expect_stderr_match 2 "Read-only file system" "--resolv-conf: the task cannot change it" -- \
        sbx --resolv-conf "$T/resolv" -- /bin/sh -c 'echo x >/etc/resolv.conf'
check "$(grep -q 192.0.2.53 /etc/resolv.conf; [ $? -ne 0 ]; echo $?)" "... and the host's /etc/resolv.conf is untouched"
expect_stderr_match 125 "resolv-conf: '$T/nope'" "--resolv-conf of a missing file is an error" -- \
        sbx --resolv-conf "$T/nope" -- /bin/true

# ------------------------------------------------------------------------------------------
# DNS in a network namespace the test creates: a resolver on that namespace's loopback

NS=sbxdns$$
if ip netns add "$NS" 2>/dev/null; then
        del_ns() { ip netns del "$NS" 2>/dev/null; }
        at_exit del_ns
        ip netns exec "$NS" ip link set lo up
        ip netns exec "$NS" /usr/bin/python3 "$(dirname "$0")/dns-server.py" 127.0.0.1 53 web.sandbox.test 192.0.2.7 \
                >"$T/dns.out" 2>&1 &
        track_pid $!
        for _ in $(seq 1 50); do grep -q ready "$T/dns.out" 2>/dev/null && break; sleep 0.1; done
        printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:2\n' >"$T/resolv-ns"
        expect_stdout_match 0 "^192\.0\.2\.7 +web\.sandbox\.test" \
                "--net NETNS --resolv-conf: a name resolves through the namespace's own resolver" -- \
                sbx --net "/run/netns/$NS" --resolv-conf "$T/resolv-ns" --promises "stdio rpath inet dns" -- \
                /usr/bin/getent hosts web.sandbox.test
        expect_exit 2 "... and an unknown name does not (getent exit 2)" -- \
                sbx --net "/run/netns/$NS" --resolv-conf "$T/resolv-ns" -- /usr/bin/getent hosts nope.sandbox.test
else
        skip_test "DNS in a test network namespace" "ip netns add failed"
fi

done_testing
