#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/root/test-cli.sh: what sandboxctl and sandboxd say to a person at a terminal. Each
# message a first run meets: run as non-root, no daemon, a promise typo, sandboxd
# --check-config on a terminal, a verb's --help, usage errors on stderr with nothing on stdout;
# and the uninstalled build: sandboxctl finds the preload helper of its own build tree, but
# only where no user but root can replace it.
set -u
# shellcheck source=tests/root/lib.sh
. "$(dirname "$0")/lib.sh"

require_sandbox_host
: "${PROBE_DYN:?}"
T=$TEST_TMP
BUILD=$(dirname "$SANDBOXCTL")

# ------------------------------------------------------------------------------------------
# Usage: errors on stderr, nothing on stdout; --help on stdout, the verb's own

expect_stderr_match 2 "^sandboxctl: missing command \(try sandboxctl --help\)$" \
        "no command: a one-line error on stderr, exit 2" -- "$SANDBOXCTL"
check "$([ -z "$OUT" ]; echo $?)" "no command: nothing on stdout (not the help)" "stdout: $OUT"
expect_stderr_match 2 "^sandboxctl: missing command \(try sandboxctl --help\)$" \
        "--socket PATH and no command: the same" -- "$SANDBOXCTL" --socket "$T/none.sock"
check "$([ -z "$OUT" ]; echo $?)" "--socket PATH and no command: nothing on stdout" "stdout: $OUT"
expect_stderr_match 2 "^sandboxctl: 'frobnicate': unknown command \(try sandboxctl --help\)$" \
        "an unknown command: named, on stderr" -- "$SANDBOXCTL" frobnicate
check "$([ -z "$OUT" ]; echo $?)" "an unknown command: nothing on stdout" "stdout: $OUT"
expect_stderr_match 2 "^sandboxctl: --frob: unknown option" "run --frob: on stderr, exit 2" -- \
        "$SANDBOXCTL" run --frob -- /bin/true
check "$([ -z "$OUT" ]; echo $?)" "run --frob: nothing on stdout" "stdout: $OUT"
expect_stderr_match 2 "^sandboxctl: list: --frob: unknown option" "list --frob: on stderr, exit 2" -- \
        "$SANDBOXCTL" list --frob
check "$([ -z "$OUT" ]; echo $?)" "list --frob: nothing on stdout" "stdout: $OUT"

expect_stdout_match 0 "^Usage: sandboxctl COMMAND" "--help: the whole help on stdout, exit 0" -- "$SANDBOXCTL" --help
whole=$OUT
for verb in run learn start exec wait list inspect stats signal stop destroy; do
        expect_stdout_match 0 "^Usage: sandboxctl $verb " "$verb --help: that verb's usage first" -- \
                "$SANDBOXCTL" "$verb" --help
        check "$([[ $OUT != *"Commands:"* ]] && [ "${#OUT}" -lt "${#whole}" ]; echo $?)" \
                "$verb --help: not the whole help" "$(printf '%s\n' "$OUT" | head -5)"
done
expect_stdout_match 0 "--promises STRING" "run --help lists run's options" -- "$SANDBOXCTL" run --help
check "$([[ $OUT != *"--memory-max"* ]]; echo $?)" "run --help: not start's resource options"
expect_stdout_match 0 "--memory-max SIZE" "start --help lists the resource options" -- "$SANDBOXCTL" start --help
expect_stdout_match 0 "--timeout D" "stop --help lists --timeout" -- "$SANDBOXCTL" stop --help
expect_stdout_match 0 "^Usage: sandboxctl run " "run -h is run's help" -- "$SANDBOXCTL" run -h
expect_stdout_match 0 "Exit status: the command's" "run --help ends with the exit codes" -- "$SANDBOXCTL" run --help
expect_stdout_match 0 "--socket PATH" "list --help names the daemon options" -- "$SANDBOXCTL" list --help
# The help is one text and each verb prints sections of it: every option run and start parse
# (the run_options table of daemon/sandboxctl/sandboxctl.c) must be in run's or start's help.
SRC=$(cd "$(dirname "$0")/../.." && pwd)
run_help=$("$SANDBOXCTL" run --help) start_help=$("$SANDBOXCTL" start --help)
missing=
n_opts=0
for o in $(sed -n '/^static const struct option run_options/,/^};/p' "$SRC/daemon/sandboxctl/sandboxctl.c" |
           grep -o '{ "[a-z-]*"' | cut -d'"' -f2); do
        n_opts=$((n_opts + 1))
        [ "$o" = help ] && continue
        [[ $run_help == *"--$o"* || $start_help == *"--$o"* ]] || missing+=" --$o"
done
check "$([ "$n_opts" -gt 20 ] && [ -z "$missing" ]; echo $?)" \
        "each of run's $n_opts options is in run --help or start --help" "missing:$missing"

# start's options are start's: run refuses them by name; start's missing values and bad sizes
# are named as for run, before any daemon is asked.
expect_stderr_match 2 "^sandboxctl: --name: only for sandboxctl start$" "run --name: only for start, exit 2" -- \
        "$SANDBOXCTL" run --name x -- /bin/true
expect_stderr_match 2 "^sandboxctl: --memory-max: only for sandboxctl start$" "run --memory-max: only for start" -- \
        "$SANDBOXCTL" run --memory-max 64M -- /bin/true
expect_stderr_match 2 "^sandboxctl: --cpu-quota: missing argument$" "start --cpu-quota without a value" -- \
        "$SANDBOXCTL" start --name x --cpu-quota
expect_stderr_match 2 "^sandboxctl: --memory-max: '12Q': expected a size" "start --memory-max 12Q" -- \
        "$SANDBOXCTL" start --name x --memory-max 12Q -- /bin/true
expect_stderr_match 2 "^sandboxctl: start: --name NAME is required$" "start without --name" -- \
        "$SANDBOXCTL" start -- /bin/true
expect_stderr_match 2 "^sandboxctl: start: missing COMMAND" "start without a command" -- \
        "$SANDBOXCTL" start --name x

# ------------------------------------------------------------------------------------------
# Messages

# Not root: a sandbox needs root (namespaces, other users); say so instead of clone's EPERM.
expect_stderr_match 125 "^sandboxctl: run: needs root" "non-root run: 'needs root', exit 125" -- \
        setpriv --reuid=65534 --regid=65534 --clear-groups "$SANDBOXCTL" run -- /bin/true
check "$([[ $ERR != *"Operation not permitted"* ]]; echo $?)" "non-root run: not clone's 'Operation not permitted'" "$ERR"
expect_stdout_match 0 "^Usage: sandboxctl run" "non-root run --help still works" -- \
        setpriv --reuid=65534 --regid=65534 --clear-groups "$SANDBOXCTL" run --help

# No daemon: the socket does not exist, or nothing listens on it.
expect_stderr_match 1 "is sandboxd running\?" "list without a daemon (no socket): hints that sandboxd is not running" -- \
        "$SANDBOXCTL" --socket "$T/none.sock" list
check "$([[ $ERR == *"$T/none.sock"* ]]; echo $?)" "list without a daemon: names the socket" "$ERR"
python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.bind(sys.argv[1])' \
        "$T/stale.sock"
expect_stderr_match 1 "Connection refused.*is sandboxd running\?" \
        "list with a stale socket (nothing listening): the same hint" -- "$SANDBOXCTL" --socket "$T/stale.sock" list

# A promise typo: the promise meant.
expect_stderr_match 2 "^sandboxctl: --promises: unknown promise 'rpth' \(did you mean 'rpath'\?\)$" \
        "a promise typo: did you mean" -- sbx --promises "stdio rpth" -- /bin/true

# sandboxd --check-config: a report for a person, without the journal's "<3>" priority prefix,
# on a terminal (script(1) gives it one) and through a pipe.
if [ -n "${SANDBOXD:-}" ]; then
        printf '[daemon]\n[driver sandbox]\npromises = stdio exex\n' >"$T/bad.conf"
        chmod 644 "$T/bad.conf"
        run script -qec "$(printf '%q ' "$SANDBOXD" --check-config --config "$T/bad.conf")" /dev/null
        tty_out=${OUT//$'\r'/}
        check "$([ "$RC" -eq 1 ] && [[ $tty_out == "sandboxd: $T/bad.conf:3: promises: unknown promise 'exex' (did you mean 'exec'?)" ]]
                echo $?)" "--check-config on a terminal: 'sandboxd: FILE:LINE: ...', no '<3>', exit 1" "exit $RC: $tty_out"
        expect_stderr_match 1 "^sandboxd: $T/bad.conf:3: promises: unknown promise" \
                "--check-config through a pipe: no '<3>' either" -- "$SANDBOXD" --check-config --config "$T/bad.conf"
        printf '[daemon]\n[driver sandbox]\npromises = stdio\n' >"$T/good.conf"
        chmod 644 "$T/good.conf"
        expect_output 0 "$T/good.conf: OK" "--check-config of a good file: 'FILE: OK' on stdout" -- \
                "$SANDBOXD" --check-config --config "$T/good.conf"
        expect_stderr_match 2 "^sandboxd: --frob: unknown option \(try sandboxd --help\)$" \
                "sandboxd --frob: named, on stderr" -- "$SANDBOXD" --frob
        check "$([ -z "$OUT" ]; echo $?)" "sandboxd --frob: nothing on stdout" "stdout: $OUT"
else
        skip_test "sandboxd --check-config messages" "no sandboxd in this build"
fi

# ------------------------------------------------------------------------------------------
# The uninstalled build: the preload helper of sandboxctl's own build tree, never a
# replaceable one. SANDBOX_PRELOAD is what meson test sets; a person at a checkout does not.

installed=$(grep -aom1 '/[[:alnum:]/._-]*/libsandbox-preload\.so' "$SANDBOXCTL")
if [ -e "$installed" ]; then
        # The fallback would hide the case under test: this host has the helper installed.
        skip_test "the build tree's preload helper" "a helper is installed at $installed"
else
        expect_exit 0 "from the build tree, without SANDBOX_PRELOAD: a dynamic program with promises runs" -- \
                env -u SANDBOX_PRELOAD "$SANDBOXCTL" run --promises "stdio rpath" -- "$PROBE_DYN" exit 0
        expect_output 0 2 "... and was narrowed by the build's helper (Seccomp: 2, filter mode)" -- \
                env -u SANDBOX_PRELOAD "$SANDBOXCTL" run --promises "stdio rpath" -- "$PROBE_DYN" status Seccomp

        # A copy of the build's sandboxctl next to a copy of the helper, in a directory that
        # $1 (a command) then makes replaceable by another user.
        unsafe() { # unsafe DESC REGEX SETUP...: the copy refuses the helper, naming the reason
                local desc=$1 re=$2 d
                shift 2
                d=$(mktemp -d "$T/tree.XXXXXX")
                chmod 755 "$d"
                mkdir "$d/build"
                cp "$SANDBOXCTL" "$BUILD/libsandbox-preload.so" "$d/build/"
                D=$d "$@"
                expect_stderr_match 125 "preload helper $installed: No such file or directory \(the build tree's $d/build/libsandbox-preload.so is not used: $re" \
                        "$desc: not used, and the error says why" -- \
                        env -u SANDBOX_PRELOAD "$d/build/sandboxctl" run --promises "stdio rpath" -- "$PROBE_DYN" exit 0
        }
        d=$(mktemp -d "$T/tree.XXXXXX")
        chmod 755 "$d"
        cp "$SANDBOXCTL" "$BUILD/libsandbox-preload.so" "$d/"
        expect_exit 0 "a copy of the build in a root-only directory uses its helper" -- \
                env -u SANDBOX_PRELOAD "$d/sandboxctl" run --promises "stdio rpath" -- "$PROBE_DYN" exit 0
        unsafe "the helper owned by another user" "'[^']*/libsandbox-preload.so' is owned by uid 65534, not root" \
                sh -c 'chown 65534 "$D/build/libsandbox-preload.so"'
        unsafe "the helper writable by others" "'[^']*/libsandbox-preload.so' is writable by group or others" \
                sh -c 'chmod 666 "$D/build/libsandbox-preload.so"'
        unsafe "its directory writable by a group" "directory '[^']*/build' is writable by group or others \(mode 0775\)" \
                sh -c 'chmod 775 "$D/build"'
        unsafe "a directory above owned by another user" "directory '[^']*/tree\.[^/']*' is owned by uid 65534, not root" \
                sh -c 'chown 65534 "$D"'
        unsafe "the helper a symbolic link" "'[^']*/libsandbox-preload.so' is a symbolic link" \
                sh -c 'mv "$D/build/libsandbox-preload.so" "$D/helper.so" && ln -s "$D/helper.so" "$D/build/libsandbox-preload.so"'
        expect_exit 0 "SANDBOX_PRELOAD still names a helper explicitly (root's own choice)" -- \
                env SANDBOX_PRELOAD="$BUILD/libsandbox-preload.so" "$d/sandboxctl" run --promises "stdio rpath" -- "$PROBE_DYN" exit 0
fi

done_testing
