#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/root/test-unveil.sh: Landlock from inside the sandbox.
#
# Per letter (r, w, x, c) what it allows works and what it does not fails with EACCES; paths
# outside every rule are hidden; the default unveil set hides accounts, /tmp and /root; a
# missing path fails the start with a precise message; symlinks apply to their target; TCP
# port rules; signal and abstract-socket scoping (Landlock ABI 6). No --promises here: any
# failure is Landlock's, not seccomp's.
set -u
# shellcheck source=tests/root/lib.sh
. "$(dirname "$0")/lib.sh"

require_sandbox_host
: "${PROBE_DYN:?}"

T=$TEST_TMP

# u ERRNO DESC UNVEIL-ARGS... -- PROBE-ARGS...
u() {
        local want=$1 desc=$2
        shift 2
        local args=()
        while [ $# -gt 0 ] && [ "$1" != "--" ]; do
                args+=("$1")
                shift
        done
        shift
        expect_exit "$want" "$desc -> $(errno_name "$want")" -- "$SANDBOXCTL" run "${args[@]}" -- "$PROBE" "$@"
}

mkdir -p "$T/hidden" "$T/r" "$T/w" "$T/c" "$T/x" "$T/rw" "$T/nox"
for d in hidden r w rw; do
        echo data >"$T/$d/file"
done
echo other >"$T/r/other"
echo old >"$T/c/old"
echo a >"$T/c/a"
mkdir "$T/c/emptydir"
cp "$PROBE" "$T/x/prog"
cp "$PROBE" "$T/r/prog"
cp "$PROBE" "$T/hidden/prog"
cp "$PROBE" "$T/nox/prog"
chmod 755 "$T/x/prog" "$T/r/prog" "$T/hidden/prog"
chmod 644 "$T/nox/prog"

# ------------------------------------------------------------------------------------------
# Nothing unveiled: hidden.

u "$EACCES" "default set: read a file in a non-unveiled dir" -- read "$T/hidden/file"
u "$EACCES" "default set: list a non-unveiled dir" -- ls "$T/hidden"
u "$EACCES" "default set: write a non-unveiled file" -- write "$T/hidden/file"
u "$EACCES" "default set: truncate a non-unveiled file" -- truncate "$T/hidden/file"
u "$EACCES" "default set: create in a non-unveiled dir" -- create "$T/hidden/new"
u "$EACCES" "default set: mkdir in a non-unveiled dir" -- mkdir "$T/hidden/sub"
u "$EACCES" "default set: unlink in a non-unveiled dir" -- unlink "$T/hidden/file"
u "$EACCES" "default set: exec a program in a non-unveiled dir" -- exec "$T/hidden/prog" exit 0
check "$([ "$(cat "$T/hidden/file")" = data ] && [ ! -e "$T/hidden/new" ] && [ ! -e "$T/hidden/sub" ]; echo $?)" \
        "host: the hidden dir is untouched"
expect_exit 4 "the command itself is always unveiled rx (runs from a non-unveiled dir)" -- \
        sbx -- "$T/hidden/prog" exit 4

# ------------------------------------------------------------------------------------------
# The default set.

expect_stderr_match 1 "/etc/passwd: Permission denied" "default set: cat /etc/passwd fails (exit 1, EACCES)" -- \
        sbx -- /bin/cat /etc/passwd
u "$EACCES" "default set: read /etc/passwd" -- read /etc/passwd
u "$EACCES" "default set: read /etc/shadow" -- read /etc/shadow
u "$EACCES" "default set: list /root" -- ls /root
u "$EACCES" "default set: list /tmp" -- ls /tmp
# Paths outside $T that a broken sandbox would let the probe create: removed at exit.
# shellcheck disable=SC2317 # called through at_exit
cleanup_outside() {
        rm -f "/tmp/sbxtest-unveil-$$" "/usr/bin/sbxtest-$$" "/etc/ssl/certs/sbxtest-$$"
}
at_exit cleanup_outside
u "$EACCES" "default set: create in /tmp" -- create "/tmp/sbxtest-unveil-$$"
u "$EACCES" "default set: list /etc" -- ls /etc
u "$EACCES" "default set: create in /etc/ssl/certs (r only)" -- create "/etc/ssl/certs/sbxtest-$$"
u "$EACCES" "default set: create in /usr/bin (rx only)" -- create "/usr/bin/sbxtest-$$"
u 0 "default set: read /etc/hostname" -- read /etc/hostname
u 0 "default set: read /etc/ld.so.cache" -- read /etc/ld.so.cache
u 0 "default set: list /usr/bin" -- ls /usr/bin
u 0 "default set: write /dev/null" -- write /dev/null
u 0 "default set: read /proc/self/status" -- read /proc/self/status
u 0 "default set: exec /bin/true (dynamic, from inside)" -- exec /bin/true
expect_output 0 "data" "default set: a dynamic command (/bin/cat) reads an unveiled file" -- \
        sbx --unveil "r:$T/r/file" -- /bin/cat "$T/r/file"

# ------------------------------------------------------------------------------------------
# r

u 0 "r:DIR: read DIR/file" --unveil "r:$T/r" -- read "$T/r/file"
expect_output 0 $'file\nother\nprog' "r:DIR: list DIR" -- sbx --unveil "r:$T/r" -- "$PROBE" ls "$T/r"
u "$EACCES" "r:DIR: write DIR/file" --unveil "r:$T/r" -- write "$T/r/file"
u "$EACCES" "r:DIR: append DIR/file" --unveil "r:$T/r" -- append "$T/r/file"
u "$EACCES" "r:DIR: truncate DIR/file" --unveil "r:$T/r" -- truncate "$T/r/file"
u "$EACCES" "r:DIR: open O_TRUNC DIR/file" --unveil "r:$T/r" -- open-trunc "$T/r/file"
u "$EACCES" "r:DIR: create DIR/new" --unveil "r:$T/r" -- create "$T/r/new"
u "$EACCES" "r:DIR: unlink DIR/file" --unveil "r:$T/r" -- unlink "$T/r/file"
u "$EACCES" "r:DIR: mkdir DIR/sub" --unveil "r:$T/r" -- mkdir "$T/r/sub"
u "$EACCES" "r:DIR: exec DIR/prog (r alone cannot execute)" --unveil "r:$T/r" -- exec "$T/r/prog" exit 0
u 0 "r:FILE: read FILE" --unveil "r:$T/r/file" -- read "$T/r/file"
u "$EACCES" "r:FILE: read a sibling of FILE" --unveil "r:$T/r/file" -- read "$T/r/other"
u "$EACCES" "r:FILE: list FILE's dir" --unveil "r:$T/r/file" -- ls "$T/r"
check "$([ "$(cat "$T/r/file")" = data ] && [ ! -e "$T/r/new" ]; echo $?)" "host: the r: dir is untouched"

# ------------------------------------------------------------------------------------------
# w

u 0 "w:FILE: write FILE" --unveil "w:$T/w/file" -- write "$T/w/file"
u 0 "w:FILE: append FILE" --unveil "w:$T/w/file" -- append "$T/w/file"
u 0 "w:FILE: truncate FILE" --unveil "w:$T/w/file" -- truncate "$T/w/file"
u 0 "w:FILE: ftruncate FILE" --unveil "w:$T/w/file" -- ftruncate "$T/w/file"
u 0 "w:FILE: open O_TRUNC FILE" --unveil "w:$T/w/file" -- open-trunc "$T/w/file"
u "$EACCES" "w:FILE: read FILE (w does not imply r)" --unveil "w:$T/w/file" -- read "$T/w/file"
u 0 "w:DIR: write DIR/file" --unveil "w:$T/w" -- write "$T/w/file"
u "$EACCES" "w:DIR: create DIR/new (needs c)" --unveil "w:$T/w" -- create "$T/w/new"
u "$EACCES" "w:DIR: list DIR (needs r)" --unveil "w:$T/w" -- ls "$T/w"
u "$EACCES" "w:DIR: unlink DIR/file (needs c)" --unveil "w:$T/w" -- unlink "$T/w/file"
check "$([ "$(cat "$T/w/file")" = probe ]; echo $?)" "host: the w: writes really happened" "content: $(cat "$T/w/file")"

# ------------------------------------------------------------------------------------------
# c

u 0 "c:DIR: mkdir DIR/sub" --unveil "c:$T/c" -- mkdir "$T/c/sub"
u 0 "c:DIR: rmdir DIR/emptydir" --unveil "c:$T/c" -- rmdir "$T/c/emptydir"
u 0 "c:DIR: unlink DIR/old" --unveil "c:$T/c" -- unlink "$T/c/old"
u 0 "c:DIR: rename DIR/a DIR/b" --unveil "c:$T/c" -- rename "$T/c/a" "$T/c/b"
u 0 "c:DIR: mkfifo DIR/fifo" --unveil "c:$T/c" -- mkfifo "$T/c/fifo"
u 0 "c:DIR: symlink DIR/link" --unveil "c:$T/c" -- symlink /nowhere "$T/c/link"
u 0 "wc:DIR: create DIR/new" --unveil "wc:$T/c" -- create "$T/c/new"
u "$EACCES" "c:DIR: read DIR/new (needs r)" --unveil "c:$T/c" -- read "$T/c/new"
check "$([ -d "$T/c/sub" ] && [ ! -e "$T/c/emptydir" ] && [ ! -e "$T/c/old" ] && [ -e "$T/c/b" ] &&
        [ -p "$T/c/fifo" ] && [ -L "$T/c/link" ] && [ -f "$T/c/new" ]; echo $?)" \
        "host: the c: creations and removals really happened"
u "$EACCES" "rw:DIR: unlink DIR/file (needs c)" --unveil "rw:$T/rw" -- unlink "$T/rw/file"
u "$EACCES" "rw:DIR: mkdir DIR/sub (needs c)" --unveil "rw:$T/rw" -- mkdir "$T/rw/sub"
u "$EACCES" "rw:DIR: rename inside DIR (needs c)" --unveil "rw:$T/rw" -- rename "$T/rw/file" "$T/rw/file2"
u "$EACCES" "c:DIR: rename DIR/b out to a non-unveiled dir" --unveil "c:$T/c" -- rename "$T/c/b" "$T/hidden/b"
mkdir "$T/c2"
u 0 "c:DIR1 c:DIR2: move a file from DIR1 to DIR2 (reparenting, Landlock REFER)" --unveil "c:$T/c" \
        --unveil "c:$T/c2" -- rename "$T/c/b" "$T/c2/b"
cp "$PROBE" "$T/c/prog"
chmod 755 "$T/c/prog"
u "$EACCES" "rwc:DIR: a program placed in DIR cannot be executed (no x)" --unveil "rwc:$T/c" -- \
        exec "$T/c/prog" exit 0

# ------------------------------------------------------------------------------------------
# x

# execve opens the file for reading, and Landlock checks READ_FILE as well as EXECUTE for it:
# x alone cannot start a program, rx can (as with Cosmopolitan's unveil).
u 3 "rx:DIR: exec DIR/prog" --unveil "rx:$T/x" -- exec "$T/x/prog" exit 3
u 3 "rx:FILE: exec FILE" --unveil "rx:$T/x/prog" -- exec "$T/x/prog" exit 3
u "$EACCES" "x:DIR: exec DIR/prog (execve also needs r)" --unveil "x:$T/x" -- exec "$T/x/prog" exit 3
u "$EACCES" "x:DIR: read DIR/prog (x alone cannot read)" --unveil "x:$T/x" -- read "$T/x/prog"
u "$EACCES" "rx:DIR: exec a non-executable file (mode 644)" --unveil "rx:$T/nox" -- exec "$T/nox/prog" exit 0

# ------------------------------------------------------------------------------------------
# Overlaps and symlinks

u 0 "r:DIR + w:DIR/FILE: read DIR/FILE (rules union)" --unveil "r:$T/w" --unveil "w:$T/w/file" -- read "$T/w/file"
u 0 "r:DIR + w:DIR/FILE: write DIR/FILE" --unveil "r:$T/w" --unveil "w:$T/w/file" -- write "$T/w/file"
u "$EACCES" "r:DIR/r: parent DIR is not listable" --unveil "r:$T/r" -- ls "$T"
ln -s "$T/r" "$T/dirlink"
ln -s "$T/r/file" "$T/filelink"
u 0 "r:SYMLINK-TO-DIR: the target dir is readable" --unveil "r:$T/dirlink" -- read "$T/r/file"
u 0 "r:SYMLINK-TO-DIR: readable through the link too" --unveil "r:$T/dirlink" -- read "$T/dirlink/file"
u 0 "r:SYMLINK-TO-FILE: the target file is readable" --unveil "r:$T/filelink" -- read "$T/r/file"
u "$EACCES" "r:SYMLINK-TO-FILE: the target's sibling is not" --unveil "r:$T/filelink" -- read "$T/r/other"

# ------------------------------------------------------------------------------------------
# Bad unveil arguments

expect_output 125 "" "missing unveil path: exit 125 before the task runs" -- \
        sbx --unveil "r:/nonexistent-sbxtest-$$" -- "$PROBE" echo ran
check "$([ "$ERR" = "sandboxctl: landlock: /nonexistent-sbxtest-$$: No such file or directory" ]; echo $?)" \
        "missing unveil path: exactly one line 'sandboxctl: landlock: PATH: No such file or directory'" "stderr: $ERR"
expect_stderr_match 2 "^sandboxctl: --unveil: " "unknown unveil letter: exit 2, message names --unveil" -- \
        sbx --unveil "rq:$T/r" -- "$PROBE" exit 0
expect_stderr_match 2 "^sandboxctl: --unveil: " "relative unveil path: exit 2" -- sbx --unveil "r:tmp" -- "$PROBE" exit 0

# ------------------------------------------------------------------------------------------
# --no-unveil-defaults

u 0 "--no-unveil-defaults: the static probe itself still runs" --no-unveil-defaults -- exit 0
u "$EACCES" "--no-unveil-defaults: read /etc/hostname" --no-unveil-defaults -- read /etc/hostname
u "$EACCES" "--no-unveil-defaults: list /usr/lib" --no-unveil-defaults -- ls /usr/lib
u "$EACCES" "--no-unveil-defaults: exec /bin/true from inside" --no-unveil-defaults -- exec /bin/true
u "$EACCES" "--no-unveil-defaults: write /dev/null" --no-unveil-defaults -- write /dev/null
expect_exit 0 "--no-unveil-defaults: dynamic /bin/true starts (its loader and libraries are unveiled)" -- \
        sbx --no-unveil-defaults -- /bin/true
expect_exit 3 "--no-unveil-defaults: dynamic /bin/sh -c 'exit 3' starts" -- \
        sbx --no-unveil-defaults -- /bin/sh -c 'exit 3'
expect_output 0 "hi" "--no-unveil-defaults: dynamic probe-dyn starts and writes" -- \
        sbx --no-unveil-defaults -- "$PROBE_DYN" echo hi
expect_output 0 "hi" "--no-unveil-defaults + promises: dynamic probe-dyn starts (preload unveiled)" -- \
        sbx --no-unveil-defaults --promises "stdio" -- "$PROBE_DYN" echo hi

# ------------------------------------------------------------------------------------------
# TCP ports (Landlock ABI 4), in the sandbox's own network namespace

u 0 "no --tcp-bind: bind 18081" --net none -- bind 18081
u 0 "--tcp-bind 18080: bind 18080" --net none --tcp-bind 18080 -- bind 18080
u "$EACCES" "--tcp-bind 18080: bind 18081" --net none --tcp-bind 18080 -- bind 18081
u "$EACCES" "--tcp-bind none: bind 18080" --net none --tcp-bind none -- bind 18080
u 0 "--tcp-bind 18000-18002: bind 18001" --net none --tcp-bind 18000-18002 -- bind 18001
u "$EACCES" "--tcp-bind 18000-18002: bind 18003" --net none --tcp-bind 18000-18002 -- bind 18003
u 0 "--tcp-bind 18080,18090: bind 18090" --net none --tcp-bind 18080,18090 -- bind 18090
u "$ECONNREFUSED" "no --tcp-connect: connect 127.0.0.1:81 (nobody listens)" --net none -- connect 127.0.0.1:81
u "$ECONNREFUSED" "--tcp-connect 80: connect 127.0.0.1:80 passes Landlock" --net none --tcp-connect 80 -- \
        connect 127.0.0.1:80
u "$EACCES" "--tcp-connect 80: connect 127.0.0.1:81" --net none --tcp-connect 80 -- connect 127.0.0.1:81
u 0 "--tcp-bind 18080 --tcp-connect 18080: listen and connect to itself" --net none --tcp-bind 18080 \
        --tcp-connect 18080 -- connect-self 18080
u "$EACCES" "--tcp-bind 18080 --tcp-connect none: connect to itself" --net none --tcp-bind 18080 \
        --tcp-connect none -- connect-self 18080
u 0 "--tcp-connect none: UDP is not TCP (udp-send works)" --net none --tcp-connect none -- udp-send 127.0.0.1:9
expect_stderr_match 2 "^sandboxctl: --tcp-bind: " "--tcp-bind abc: exit 2" -- sbx --tcp-bind abc -- "$PROBE" exit 0
expect_stderr_match 2 "^sandboxctl: --tcp-connect: " "--tcp-connect 70000: exit 2" -- \
        sbx --tcp-connect 70000 -- "$PROBE" exit 0

# ------------------------------------------------------------------------------------------
# Scoping (Landlock ABI 6): signals and abstract unix sockets stop at the sandbox.

u "$EPERM" "signal scope: kill(1, 0) of the sandbox init (outside the domain)" -- kill 1 0
u "$EPERM" "signal scope: kill(1, SIGCONT) of the sandbox init" -- kill 1 18
u "$EPERM" "signal scope: kill(1, 0) with promises 'stdio proc' and --net host" --net host --promises "stdio proc" -- \
        kill 1 0
u 0 "signal scope: without Landlock kill(1, 0) works (control)" --no-landlock -- kill 1 0
u 0 "signal scope: a child inside the sandbox can be signalled" -- kill-child
u 0 "signal scope: the task can signal itself" -- kill-self 0

name="sbxtest-abstract-$$"
ready="$T/abstract.ready"
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind("\0" + sys.argv[1])
s.listen(8)
open(sys.argv[2], "w").close()
s.settimeout(1)
end = time.time() + 120
while time.time() < end:
    try:
        c, _ = s.accept()
        c.close()
    except socket.timeout:
        pass
' "$name" "$ready" &
helper=$!
track_pid "$helper"
for _ in $(seq 1 100); do
        [ -e "$ready" ] && break
        sleep 0.05
done
if [ -e "$ready" ]; then
        u 0 "abstract scope: host listener reachable without Landlock (control)" --net host --no-landlock -- \
                abstract-connect "$name"
        u "$EPERM" "abstract scope: connecting to a host abstract socket is EPERM" --net host -- \
                abstract-connect "$name"
        u "$ECONNREFUSED" "abstract scope: --net none does not see the host's abstract sockets" --net none -- \
                abstract-connect "$name"
        u 0 "abstract scope: an abstract socket inside the sandbox works" --net host -- abstract-self "$name-in"
else
        check 1 "abstract scope: start the host listener (python3)" "the helper did not become ready"
fi
kill "$helper" 2>/dev/null
wait "$helper" 2>/dev/null

done_testing
