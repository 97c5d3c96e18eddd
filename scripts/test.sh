#!/usr/bin/env bash
# The whole test suite, as CI runs it: install dependencies, make the VM image and the Debian
# package (each printing its progress), build, run every suite (unit, root, fuzz replay, e2e,
# vm: systemd + cgroup v2 in QEMU, and the package installed in a fresh guest), then build again
# with AddressSanitizer + UBSan and run the suite under it (not vm: the guest has no sanitizer
# runtime), then build with gcc and with clang under -Dwerror=true (clang's build also runs the
# unit and fuzz suites) and at -O0. Prints the time of each step and "N passed, N failed, N skipped".
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
        if [ -d "$dir/meson-private" ]; then
                meson setup --reconfigure "$dir" -Dtests_must_work=$must_work "$@" >/dev/null || return 1
        else
                meson setup "$dir" -Dtests_must_work=$must_work "$@" >/dev/null || return 1
        fi
        # ninja's one updating status line on a terminal; in a log, only the failure
        echo "   building $dir (ninja)"
        if [ -t 1 ]; then
                ninja -C "$dir" || return 1
        else
                ninja -C "$dir" >/dev/null || { ninja -C "$dir"; return 1; }
        fi
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
t0=$SECONDS
took() { echo "== ($1: $((SECONDS - t0)) s)"; t0=$SECONDS; }

# The two long preparations of the vm suite, here so that their progress reaches the terminal
# (meson test keeps a test's output in its log); the tests then find both ready.
echo "== VM image (tests/vm/vm.sh build, cached in ${SANDBOX_VM_DIR:-/var/tmp/sandbox-vm})"
timeout -k 10 1200 bash tests/vm/vm.sh build || { echo "== the VM image could not be built"; status=1; }
took "VM image"
echo "== Debian package (scripts/build-deb.sh build/deb)"
bash scripts/build-deb.sh build/deb >/dev/null || { echo "== the Debian package could not be built"; status=1; }
took "Debian package"

echo "== build and test (debugoptimized)"
run_suite build "" || status=1
took "build and test"
echo "== build and test under AddressSanitizer + UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        run_suite build-asan "--no-suite vm" -Db_sanitize=address,undefined -Db_lundef=false || status=1
took "build and test under the sanitizers"

# build_only DIR [meson setup args]: one more configuration that must build (one test in the
# totals); CC in the environment picks the compiler of a new DIR.
build_only() {
        local dir=$1
        shift
        if meson setup --reconfigure "$dir" "$@" >/dev/null 2>&1 || meson setup "$dir" "$@" >/dev/null; then
                if ninja -C "$dir" >/dev/null; then passed=$((passed + 1)); else ninja -C "$dir" | tail -20; failed=$((failed + 1)); fi
        else
                failed=$((failed + 1))
        fi
}

# -O0 keeps calls an optimised build inlines away (floor(): libm), so it must link too.
echo "== a debug build links (buildtype=debug, no tests)"
build_only build-debug -Dbuildtype=debug -Dtests=false
took "debug build"
# Every warning is an error, with gcc and with clang (the tests included: they are C too).
echo "== gcc, -Dwerror=true (build only)"
build_only build-werror -Dwerror=true
took "gcc -Dwerror=true"
echo "== clang, -Dwerror=true: build, then the unit and fuzz suites"
CC=clang run_suite build-clang "--suite unit --suite fuzz" -Dwerror=true || status=1
took "clang -Dwerror=true"

[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
