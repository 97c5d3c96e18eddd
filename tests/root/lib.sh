# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# tests/root/lib.sh: a tiny TAP library for the root integration tests (sourced, bash).
#
#   expect_exit N DESC -- CMD...               ok if CMD exits with N
#   expect_output N TEXT DESC -- CMD...        ... and its stdout (trailing newline removed) is TEXT
#   expect_stdout_match N REGEX DESC -- CMD...  ... and its stdout matches the extended REGEX
#   expect_stderr_match N REGEX DESC -- CMD...  ... and its stderr matches the extended REGEX
#   check COND-EXIT DESC [DIAGNOSTIC]           ok if COND-EXIT is 0 (for host-side facts)
#   skip_test DESC REASON                       one "ok N - DESC # SKIP REASON" (a failure with
#                                               SANDBOX_TESTS_MUST_WORK=1)
#   done_testing                                prints the plan, exits 0 or 1
#
# A failed assertion prints the command, the exit code, stdout and stderr as TAP diagnostics.
# Every command runs under `timeout`, so a hanging sandbox fails one test instead of the suite.
# A file that cannot run at all (not root, no Landlock, no seccomp, no namespaces) prints
# "1..0 # SKIP <reason>" and exits 77, unless SANDBOX_TESTS_MUST_WORK=1: then that is a failure.
#
# Environment: SANDBOXCTL and PROBE (set by tests/root/meson.build); optional PROBE_DYN,
# PROBE_RAW, SANDBOX_PRELOAD. Everything a test creates lives under $TEST_TMP (removed on exit);
# processes a test starts are registered with track_pid and killed by pid on exit.

set -u

# errno values (x86_64) the assertions use
# shellcheck disable=SC2034
{
        EPERM=1 ENOENT=2 ESRCH=3 EBADF=9 ECHILD=10 EAGAIN=11 ENOMEM=12 EACCES=13 EFAULT=14 EEXIST=17
        EINVAL=22 ENOTTY=25 ENOSYS=38 ELOOP=40 EPROTONOSUPPORT=93 EOPNOTSUPP=95 EADDRINUSE=98
        ECONNREFUSED=111
}

declare -A _errno_names=(
        [0]=success [1]=EPERM [2]=ENOENT [3]=ESRCH [9]=EBADF [10]=ECHILD [11]=EAGAIN [12]=ENOMEM [13]=EACCES
        [14]=EFAULT [17]=EEXIST [22]=EINVAL [25]=ENOTTY [38]=ENOSYS [40]=ELOOP [93]=EPROTONOSUPPORT
        [95]=EOPNOTSUPP [98]=EADDRINUSE [111]=ECONNREFUSED
)

# errno_name N: "EPERM" for 1, "success" for 0, "exit N" otherwise.
errno_name() {
        printf '%s\n' "${_errno_names[$1]:-exit $1}"
}

TEST_TIMEOUT=${TEST_TIMEOUT:-30}
MUST_WORK=${SANDBOX_TESTS_MUST_WORK:-0}

tap_n=0
tap_failed=0
OUT=
ERR=
RC=0
LAST_ARGS=()

_tracked_pids=()
_exit_hooks=()
TEST_TMP=

_cleanup() {
        local pid hook
        for hook in "${_exit_hooks[@]}"; do
                "$hook" || true
        done
        for pid in "${_tracked_pids[@]}"; do
                if kill -0 "$pid" 2>/dev/null; then
                        kill -KILL "$pid" 2>/dev/null
                        wait "$pid" 2>/dev/null
                fi
        done
        if [ -n "$TEST_TMP" ] && [ -d "$TEST_TMP" ]; then
                rm -rf -- "$TEST_TMP"
        fi
}
trap _cleanup EXIT

# track_pid PID: killed (SIGKILL, by pid) when the test file exits.
track_pid() {
        _tracked_pids+=("$1")
}

# at_exit FUNCTION: run when the test file exits (before tracked pids are killed).
at_exit() {
        _exit_hooks+=("$1")
}

_diag() { # prefix every line with "# "
        local line
        while IFS= read -r line || [ -n "$line" ]; do
                printf '#   %s\n' "$line"
        done
}

_report() { # _report OK(0|1) DESC [diagnostic text]
        tap_n=$((tap_n + 1))
        if [ "$1" -eq 0 ]; then
                printf 'ok %d - %s\n' "$tap_n" "$2"
        else
                tap_failed=$((tap_failed + 1))
                printf 'not ok %d - %s\n' "$tap_n" "$2"
                if [ -n "${3:-}" ]; then
                        printf '%s\n' "$3" | _diag
                fi
        fi
}

_quote_cmd() {
        local out="" a q
        for a in "$@"; do
                printf -v q '%q' "$a"
                out+=" $q"
        done
        printf '%s' "${out# }"
}

_slurp() { # _slurp VAR FILE: like VAR=$(<FILE), without a fork
        local _s=
        IFS= read -r -d '' _s <"$2"
        while [[ $_s == *$'\n' ]]; do
                _s=${_s%$'\n'}
        done
        printf -v "$1" '%s' "$_s"
}

# run CMD...: runs CMD with a timeout; sets OUT, ERR (trailing newlines removed) and RC.
# "sbx ARGS..." is short for "$SANDBOXCTL run ARGS...".
run() {
        if [ "$1" = sbx ]; then
                shift
                set -- "$SANDBOXCTL" run "$@"
        fi
        LAST_ARGS=("$@")
        timeout -k 5 "$TEST_TIMEOUT" "$@" >"$TEST_TMP/.out" 2>"$TEST_TMP/.err" </dev/null
        RC=$?
        _slurp OUT "$TEST_TMP/.out"
        _slurp ERR "$TEST_TMP/.err"
}

_details() { # what to print for a failed command
        printf 'command: %s\nexit: %s (expected %s)\n' "$(_quote_cmd "${LAST_ARGS[@]}")" "$RC" "$1"
        [ -n "$OUT" ] && printf 'stdout: %s\n' "$OUT"
        [ -n "$ERR" ] && printf 'stderr: %s\n' "$ERR"
        [ -n "${2:-}" ] && printf '%s\n' "$2"
        true
}

_split_args() { # consumes up to "--"; the caller gets the command in CMD
        CMD=()
        while [ $# -gt 0 ] && [ "$1" != "--" ]; do
                shift
        done
        [ $# -gt 0 ] && shift
        CMD=("$@")
}

expect_exit() {
        local want=$1 desc=$2
        shift 2
        _split_args "$@"
        run "${CMD[@]}"
        if [ "$RC" -eq "$want" ]; then
                _report 0 "$desc"
        else
                _report 1 "$desc" "$(_details "$want")"
        fi
}

expect_output() {
        local want=$1 text=$2 desc=$3
        shift 3
        _split_args "$@"
        run "${CMD[@]}"
        if [ "$RC" -eq "$want" ] && [ "$OUT" = "$text" ]; then
                _report 0 "$desc"
        else
                _report 1 "$desc" "$(_details "$want" "expected stdout: $text")"
        fi
}

expect_stdout_match() {
        local want=$1 re=$2 desc=$3
        shift 3
        _split_args "$@"
        run "${CMD[@]}"
        if [ "$RC" -eq "$want" ] && [[ $OUT =~ $re ]]; then
                _report 0 "$desc"
        else
                _report 1 "$desc" "$(_details "$want" "expected stdout to match: $re")"
        fi
}

expect_stderr_match() {
        local want=$1 re=$2 desc=$3
        shift 3
        _split_args "$@"
        run "${CMD[@]}"
        if [ "$RC" -eq "$want" ] && [[ $ERR =~ $re ]]; then
                _report 0 "$desc"
        else
                _report 1 "$desc" "$(_details "$want" "expected stderr to match: $re")"
        fi
}

# check STATUS DESC [DIAGNOSTIC]: e.g. check "$([ -f x ]; echo $?)" "x exists"
check() {
        if [ "$1" -eq 0 ]; then
                _report 0 "$2"
        else
                _report 1 "$2" "${3:-}"
        fi
}

skip_test() {
        if [ "$MUST_WORK" = 1 ]; then
                _report 1 "$1" "skipped ($2), but SANDBOX_TESTS_MUST_WORK=1"
        else
                tap_n=$((tap_n + 1))
                printf 'ok %d - %s # SKIP %s\n' "$tap_n" "$1" "$2"
        fi
}

skip_all() {
        if [ "$MUST_WORK" = 1 ]; then
                printf '1..1\nnot ok 1 - cannot run: %s (SANDBOX_TESTS_MUST_WORK=1 forbids skipping)\n' "$1"
                exit 1
        fi
        printf '1..0 # SKIP %s\n' "$1"
        exit 77
}

done_testing() {
        printf '1..%d\n' "$tap_n"
        [ "$tap_failed" -eq 0 ]
        exit $?
}

# The host must be able to build a sandbox at all; otherwise the whole file is skipped.
require_sandbox_host() {
        local v
        for v in SANDBOXCTL PROBE; do
                if [ -z "${!v:-}" ]; then
                        skip_all "\$$v is not set (run through meson test)"
                fi
                if [ ! -x "${!v}" ]; then
                        skip_all "\$$v (${!v}) is not an executable"
                fi
        done
        [ "$(id -u)" -eq 0 ] || skip_all "not root"
        grep -q '^Seccomp:' /proc/self/status || skip_all "kernel without seccomp"
        "$PROBE" syscall landlock_create_ruleset 2>/dev/null ||
                skip_all "Landlock is not available (landlock_create_ruleset fails)"
        unshare --pid --mount --ipc --uts --net --fork true 2>/dev/null ||
                skip_all "cannot create pid/mount/ipc/uts/net namespaces"
        TEST_TMP=$(mktemp -d /tmp/sbxtest.XXXXXX) || skip_all "mktemp failed"
        chmod 755 "$TEST_TMP"
        # sandboxctl run starts the task in the caller's directory: run from one every task
        # user can enter, not from the build tree (a checkout may sit in a 0700 directory)
        cd "$TEST_TMP" || { printf 'Bail out! cannot enter %s\n' "$TEST_TMP"; exit 1; }
        _canary
}

# The tests make forbidden calls on purpose (kill PID 1, write outside the unveiled paths) and
# count on the sandbox to stop them. If sandboxctl run does not even give a pid namespace and
# Landlock, stop before anything can reach the host: a failure, never a skip.
_canary() {
        echo canary >"$TEST_TMP/.canary"
        run "$SANDBOXCTL" run -- "$PROBE" getpid
        if [ "$RC" -ne 0 ] || [ "$OUT" != 2 ]; then
                _report 1 "canary: sandboxctl run gives the task PID 2 in its own pid namespace" "$(_details 0)"
                printf 'Bail out! sandboxctl run does not build a sandbox; not running probes that would reach the host\n'
                exit 1
        fi
        run "$SANDBOXCTL" run -- "$PROBE" read "$TEST_TMP/.canary"
        if [ "$RC" -ne 13 ]; then
                _report 1 "canary: a file outside the unveiled paths is not readable (EACCES)" "$(_details 13)"
                printf 'Bail out! sandboxctl run does not apply Landlock; not running probes that would reach the host\n'
                exit 1
        fi
}

# patch_elf MODE SRC DST: a copy of SRC with its headers changed (python3, little-endian ELF64).
#   second-interp  turn the first PT_NOTE after PT_INTERP into a second PT_INTERP naming "/"
#                  (same p_vaddr as the real one, so ld.so, which reads it from memory, is
#                  unchanged; the kernel reads it from p_offset)
#   far-phdrs      append the program headers at 8 KiB or more and point e_phoff there
patch_elf() {
        /usr/bin/python3 - "$@" <<'EOF'
import struct, sys
mode, src, dst = sys.argv[1:4]
b = bytearray(open(src, 'rb').read())
phoff = struct.unpack_from('<Q', b, 0x20)[0]
phentsize, phnum = struct.unpack_from('<HH', b, 0x36)
fmt = '<IIQQQQQQ'
if mode == 'second-interp':
    interp = note = None
    for i in range(phnum):
        o = phoff + i * phentsize
        t = struct.unpack_from('<I', b, o)[0]
        if t == 3 and interp is None:
            interp = o
        elif t == 4 and interp is not None and note is None:
            note = o
    slash = b.find(b'\x00/\x00') + 1
    assert interp and note and slash > 0
    _, flags, off, vaddr, paddr, fsz, msz, al = struct.unpack_from(fmt, b, interp)
    struct.pack_into(fmt, b, note, 3, flags, slash, vaddr, paddr, 2, 2, 1)
elif mode == 'far-phdrs':
    size = phentsize * phnum
    new = max(8192, (len(b) + 4095) // 4096 * 4096)
    table = bytes(b[phoff:phoff + size])
    b += b'\x00' * (new - len(b)) + table
    struct.pack_into('<Q', b, 0x20, new)
open(dst, 'wb').write(b)
EOF
        chmod 755 "$3"
}

# A private sandboxd for a test: start_daemon runs $SANDBOXD with $CONF on socket $S, state in
# $STATE (default $T/state), its log in $T/sandboxd.log, and waits until it answers (1 if it does not);
# cleanup_daemon destroys its tasks, stops it and removes $CG_PARENT's cgroups. SANDBOXCTL_CLIENT
# drives it with another sandboxctl (an older sandboxd with today's client).
DAEMON_PID=
start_daemon() {
        "$SANDBOXD" --config "$CONF" --socket "$S" --state-dir "${STATE:-$T/state}" 2>>"$T/sandboxd.log" &
        DAEMON_PID=$!
        track_pid "$DAEMON_PID"
        for _ in $(seq 1 100); do
                [ -S "$S" ] && "${SANDBOXCTL_CLIENT:-$SANDBOXCTL}" --socket "$S" list >/dev/null 2>&1 && return 0
                sleep 0.05
        done
        return 1
}
cleanup_daemon() {
        local n
        if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
                for n in $("${SANDBOXCTL_CLIENT:-$SANDBOXCTL}" --socket "$S" list -q 2>/dev/null); do
                        "${SANDBOXCTL_CLIENT:-$SANDBOXCTL}" --socket "$S" destroy --force "$n" >/dev/null 2>&1
                done
                kill "$DAEMON_PID" 2>/dev/null
                wait "$DAEMON_PID" 2>/dev/null
        fi
        find /sys/fs/cgroup -maxdepth 3 -type d -name "$CG_PARENT" 2>/dev/null |
                while read -r d; do find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done
        true
}
