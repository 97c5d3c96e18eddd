#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/vm/package.sh BUILD-DIR: the 'vm-package' test (meson test --suite vm). Builds the
# Debian package from this tree (scripts/build-deb.sh, into BUILD-DIR/deb; reused while the
# sources are unchanged), the e2e client (tests/e2e/run.sh with E2E_BUILD_ONLY), fetches what
# the package depends on and the guest image lacks (apt, resolving against the image's own dpkg
# status), then boots the VM image (a fresh Debian 12 root, thrown away after the boot) and runs
# tests/vm/guest-package.sh inside: install, first start under systemd, a task through the
# plugin, reinstall, removal and purge. Prints TAP; progress goes to stderr.
set -u
here=$(cd "$(dirname "$0")" && pwd)
project=$(cd "$here/../.." && pwd)
build=$(cd "$1" && pwd)
VMDIR=${SANDBOX_VM_DIR:-/var/tmp/sandbox-vm}

skip() {
        if [ "${SANDBOX_TESTS_MUST_WORK:-0}" = 1 ]; then
                echo "1..1"
                echo "not ok 1 - cannot run the package test: $1 (SANDBOX_TESTS_MUST_WORK=1 forbids skipping)"
                exit 1
        fi
        echo "1..0 # SKIP $1"
        exit 77
}
say() { printf 'vm-package: [%3d s] %s\n' "$SECONDS" "$*" >&2; }
[ "$(id -u)" -eq 0 ] || skip "not root (apt-get, the VM image)"
command -v dpkg-buildpackage >/dev/null && command -v lintian >/dev/null ||
        skip "dpkg-dev, debhelper and lintian are not installed (scripts/install-deps.sh)"

work=$(mktemp -d /var/tmp/sandbox-vm-package.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

say "the Debian package (scripts/build-deb.sh $build/deb)"
deb=$(bash "$project/scripts/build-deb.sh" "$build/deb" | tail -1) && [ -f "$deb" ] ||
        { echo "Bail out! building the package failed (see $build/deb/build.log)"; exit 1; }
cp "$deb" "$work/"

say "the e2e client (go-plugin), for the guest"
E2E_BUILD_ONLY=$work/e2e-client E2E_CACHE=${E2E_CACHE:-/var/tmp/nomad-driver-sandbox-e2e-cache} \
        bash "$project/tests/e2e/run.sh" >"$work/e2e-build.log" 2>&1 ||
        { echo "Bail out! building the e2e client failed:"; sed 's/^/# /' "$work/e2e-build.log"; exit 1; }

say "the VM image"
bash "$here/vm.sh" build >&2 || { echo "Bail out! building the VM image failed"; exit 1; }

# The package's dependencies the image does not have (the image is made for the build-tree
# suite): apt resolves the .deb against the image's dpkg status and downloads only those.
# Downloads are cached next to the image.
say "dependencies missing from the image"
mkdir -p "$work/deps/partial" "$VMDIR/package-debs"
flock -s "$VMDIR/lock" tar -xOf "$VMDIR/base.tar" ./var/lib/dpkg/status >"$work/status" ||
        { echo "Bail out! no dpkg status in $VMDIR/base.tar"; exit 1; }
cp "$VMDIR"/package-debs/*.deb "$work/deps/" 2>/dev/null
apt_dl() {
        apt-get -q -o Dir::State::status="$work/status" -o Dir::Cache::archives="$work/deps" \
                -o Debug::NoLocking=1 -o APT::Sandbox::User=root -o APT::Get::Download-Only=true \
                -y --no-install-recommends install "$work/$(basename "$deb")" >"$work/apt.log" 2>&1
}
if ! apt_dl; then
        apt-get update -qq >/dev/null 2>&1
        apt_dl || { echo "Bail out! apt could not get the package's dependencies:"; sed 's/^/# /' "$work/apt.log"; exit 1; }
fi
for f in "$work"/deps/*.deb; do
        [ -e "$f" ] || continue
        [ -e "$VMDIR/package-debs/${f##*/}" ] || { cp "$f" "$VMDIR/package-debs/.${f##*/}" &&
                mv "$VMDIR/package-debs/.${f##*/}" "$VMDIR/package-debs/${f##*/}"; }
done
# Exactly what apt would install next to the package (the cache may hold more).
mkdir "$work/install"
apt-get -s -o Dir::State::status="$work/status" -o Debug::NoLocking=1 -y --no-install-recommends \
        install "$work/$(basename "$deb")" 2>/dev/null | awk '$1 == "Inst" && $2 != "nomad-driver-sandbox" {print $2}' |
        while read -r p; do
                f=$(ls "$work/deps/${p}"_*.deb 2>/dev/null | head -1)
                [ -n "$f" ] && cp "$f" "$work/install/" || echo "$p" >>"$work/missing"
        done
[ -s "$work/missing" ] && { echo "Bail out! no .deb for: $(cat "$work/missing")"; exit 1; }
rm -rf "$work/deps"
say "installed with it: $(cd "$work/install" && ls 2>/dev/null | tr '\n' ' ')"

say "booting the guest"
bash "$here/vm.sh" run -s "$work" bash "$here/guest-package.sh" "$work"
rc=$?
say "done (exit $rc)"
exit $rc
