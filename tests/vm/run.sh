#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/vm/run.sh BUILD-DIR: the 'vm' test (meson test --suite vm). Installs BUILD-DIR into
# BUILD-DIR/vm-root (meson install --destdir), makes the VM image if needed (tests/vm/vm.sh build,
# cached under /var/tmp/sandbox-vm), boots it once and runs tests/vm/guest-test.sh inside, which
# prints TAP.
set -u
here=$(cd "$(dirname "$0")" && pwd)
project=$(cd "$here/../.." && pwd)
build=$(cd "$1" && pwd)

skip() {
        if [ "${SANDBOX_TESTS_MUST_WORK:-0}" = 1 ]; then
                echo "1..1"
                echo "not ok 1 - cannot run the VM test: $1 (SANDBOX_TESTS_MUST_WORK=1 forbids skipping)"
                exit 1
        fi
        echo "1..0 # SKIP $1"
        exit 77
}
[ "$(id -u)" -eq 0 ] || skip "not root (the image build needs apt-get and debootstrap)"
if ldd "$build/sandboxd" 2>/dev/null | grep -q 'libasan\|libubsan'; then
        skip "a sanitizer build: the guest has no sanitizer runtime (the VM suite runs with the plain build)"
fi
[ -x "$build/sandboxd" ] || { echo "Bail out! no sandboxd in $build"; exit 1; }

rm -rf "$build/vm-root"
meson install -C "$build" --destdir "$build/vm-root" --no-rebuild --quiet >/dev/null ||
        { echo "Bail out! meson install --destdir failed"; exit 1; }
bash "$here/vm.sh" build >&2 || { echo "Bail out! building the VM image failed"; exit 1; }
# The project directory is always shared; a build directory elsewhere is shared as well.
share=()
case "$build/" in "$project"/*) ;; *) share=(-s "$build") ;; esac
bash "$here/vm.sh" run "${share[@]}" bash "$here/guest-test.sh" "$build"
