#!/usr/bin/env bash
# The whole test suite, as CI runs it: install dependencies, build, run every suite (unit, root,
# fuzz replay, vm: systemd + cgroup v2 in QEMU), then build again with AddressSanitizer + UBSan
# and run the suite under it (not vm: the guest has no sanitizer runtime). Prints
# "N passed, N failed, N skipped".
# Run as root on Debian 12 (the root suite needs namespaces, Landlock and seccomp).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash scripts/install-deps.sh || exit 1

# A skip is a failure: this command (the README's, and CI's) runs on a machine that supports
# everything. SANDBOX_TESTS_MUST_WORK=0 lets tests skip, for machines without namespaces etc.
must_work=true
if [ "${SANDBOX_TESTS_MUST_WORK:-1}" = "0" ]; then
        must_work=false
fi

passed=0 failed=0 skipped=0
run_suite() { # $1 = build dir, $2 = extra `meson test` args, rest = meson setup args
        local dir=$1 test_args=$2
        shift 2
        if [ -d "$dir" ]; then
                meson setup --reconfigure "$dir" -Dtests_must_work=$must_work "$@" >/dev/null || return 1
        else
                meson setup "$dir" -Dtests_must_work=$must_work "$@" >/dev/null || return 1
        fi
        ninja -C "$dir" >/dev/null || { ninja -C "$dir"; return 1; }
        # shellcheck disable=SC2086
        meson test -C "$dir" --print-errorlogs --num-processes 2 $test_args
        local counts
        counts=$(python3 - "$dir/meson-logs/testlog.json" <<'PY'
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    r = json.loads(line).get("result")
    if r in ("OK", "EXPECTEDFAIL"): p += 1
    elif r == "SKIP": s += 1
    else: f += 1
print(p, f, s)
PY
)
        read -r p f s <<<"$counts"
        passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

status=0
echo "== build and test (debugoptimized)"
run_suite build "" || status=1
echo "== build and test under AddressSanitizer + UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        run_suite build-asan "--no-suite vm" -Db_sanitize=address,undefined -Db_lundef=false || status=1

[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
