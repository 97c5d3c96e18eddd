#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/build-deb.sh [OUTDIR]: builds the Debian package nomad-driver-sandbox_*.deb with
# `dpkg-buildpackage -b -us -uc` and checks it with lintian, printing progress as it goes.
#
# The build runs in a copy of the tree (the files git tracks plus new ones it does not ignore),
# so the checkout gets no obj-*/ or debian/ build output and dpkg-buildpackage's results
# (written to the parent of the tree it builds) land in OUTDIR (default: build-deb/), with
# build.log and lintian.txt. A second run with unchanged sources reuses the package (a stamp of
# the sources' contents). Lintian errors and warnings fail the script; the overrides in
# debian/*lintian-overrides say why each remaining tag is fine.
#
# Needs debhelper, dpkg-dev, lintian and the build dependencies (scripts/install-deps.sh).
# Prints the .deb's path on stdout (progress goes to stderr).
# Knobs: BUILD_DEB_TIMEOUT (seconds for dpkg-buildpackage, default 1200), BUILD_DEB_FORCE=1.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$top/build-deb}" && cd "${1:-$top/build-deb}" && pwd)
say() { printf 'build-deb: %s\n' "$*" >&2; }

for tool in dpkg-buildpackage dh lintian; do
        command -v "$tool" >/dev/null || { say "$tool is missing (run scripts/install-deps.sh)"; exit 1; }
done

# The source files: git's view when this is a checkout, else everything but build output.
sources() {
        if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
                git -C "$top" ls-files -z --cached --others --exclude-standard |
                        while IFS= read -r -d '' f; do [ -f "$top/$f" ] && printf '%s\0' "$f"; done
        else
                (cd "$top" && find . -path ./.git -prune -o -path './build*' -prune -o -path './obj-*' -prune -o \
                        -type f -print0 | sed -z 's|^\./||')
        fi
}

stamp=$(cd "$top" && sources | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-32)
deb=$(ls "$out"/nomad-driver-sandbox_*.deb 2>/dev/null | head -1 || true)
if [ -z "${BUILD_DEB_FORCE:-}" ] && [ -n "$deb" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]; then
        say "up to date: $deb (sources unchanged)"
        echo "$deb"
        exit 0
fi

work=$(mktemp -d /var/tmp/build-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
src=$work/nomad-driver-sandbox
mkdir "$src"
(cd "$top" && sources | tar --null -T - -cf -) | tar -C "$src" -xf -
say "building in $src ($(cd "$top" && sources | tr -cd '\0' | wc -c) files)"

# dpkg-buildpackage's output goes to build.log; the terminal gets one line per debhelper step
# and the compile's progress every 10 steps, so a long build is never silent. (A shell loop,
# not awk: mawk reads a pipe in blocks and would print late.)
progress() {
        local line
        while IFS= read -r line; do
                case "$line" in
                "   dh_"* | "   debian/rules "* | dpkg-buildpackage:* | dpkg-deb:* | *" error"* | *"Error"* | *ERROR*)
                        printf 'build-deb: [%3d s] %s\n' "$((SECONDS - t0))" "${line#   }" ;;
                "["[0-9]*/[0-9]*"] "*)
                        local n=${line%%/*} m=${line#*/}
                        n=${n#[} m=${m%%]*}
                        [ $((n % 10)) -eq 0 ] || [ "$n" = "$m" ] &&
                                printf 'build-deb: [%3d s] compiling %s/%s\n' "$((SECONDS - t0))" "$n" "$m" ;;
                "Ok: "* | "Fail: "*)
                        printf 'build-deb: [%3d s] unit and fuzz tests: %s\n' "$((SECONDS - t0))" "$line" ;;
                esac
        done
}
t0=$SECONDS
set +e
(cd "$src" && timeout -k 10 "${BUILD_DEB_TIMEOUT:-1200}" dpkg-buildpackage -b -us -uc 2>&1) | tee "$out/build.log" |
        progress >&2
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
        say "dpkg-buildpackage failed (exit $rc$([ "$rc" = 124 ] && echo ", timed out")); the end of $out/build.log:"
        tail -30 "$out/build.log" >&2
        exit 1
fi
rm -f "$out"/nomad-driver-sandbox[_-]* "$out/stamp"
mv "$work"/nomad-driver-sandbox[_-]* "$out/"
deb=$(ls "$out"/nomad-driver-sandbox_*.deb)
say "built $(basename "$deb") in $((SECONDS - t0)) s"

say "lintian $(basename "$out"/nomad-driver-sandbox_*.changes)"
set +e
lintian --fail-on error,warning --display-info --info "$out"/nomad-driver-sandbox_*.changes >"$out/lintian.txt" 2>&1
lrc=$?
set -e
sed 's/^/build-deb: lintian: /' "$out/lintian.txt" >&2
if [ "$lrc" -ne 0 ]; then
        say "lintian found errors or warnings (exit $lrc)"
        exit 1
fi
say "lintian: no errors or warnings"
echo "$stamp" >"$out/stamp"
echo "$deb"
