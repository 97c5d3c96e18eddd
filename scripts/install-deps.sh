#!/usr/bin/env bash
# Installs everything nomad-driver-sandbox needs to build and test, from Debian 12's packages.
# Idempotent; run as root.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps.sh: run as root (apt-get)" >&2
        exit 1
fi

packages=(
        # build (clang: scripts/test.sh builds with it too, -Dwerror=true)
        gcc clang libc6-dev meson ninja-build pkg-config
        libseccomp-dev libjson-c-dev libsystemd-dev
        libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev libgrpc-dev libmsgpack-dev libcap-dev
        # tests
        iproute2 procps python3 util-linux valgrind dbus-daemon
        # the escape suite compares with bubblewrap
        bubblewrap
        # the e2e suite: go-plugin's real client, built in GOPATH mode from Debian's Go packages,
        # and the programs its seed jobs run (the pledge driver's curl, exec2's java example)
        golang-go golang-github-hashicorp-go-plugin-dev golang-google-grpc-dev golang-goprotobuf-dev protobuf-compiler
        curl openjdk-17-jre-headless
        # the vm suite's host side: the image (debootstrap, mkfs.ext4, cpio, the kernel's modules,
        # xz) and QEMU
        qemu-system-x86 debootstrap e2fsprogs cpio kmod xz-utils
        # the Debian package (scripts/build-deb.sh) and its test in the VM suite
        debhelper dpkg-dev lintian
)

missing=()
for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
        # Concurrent runs on one machine (two checkouts testing at once) take turns; apt-get
        # itself would fail at once on the dpkg lock.
        mkdir -p /run/lock
        exec 8>/run/lock/nomad-driver-sandbox-install-deps.lock
        flock 8
        echo "install-deps.sh: installing ${missing[*]} (and what they need)" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        # On a fresh machine this takes minutes: apt's output is condensed to a progress line
        # per phase and every 10 s; all of it is printed if apt fails.
        progress() {
                local line what last= shown=$SECONDS total=0 got=0 unpacked=0 setup=0 n
                while IFS= read -r line; do
                        case "$line" in
                        *" newly installed"*) n=${line#*upgraded, }; total=${n%% *}; continue ;;
                        Get:*) what=downloading n=$((got += 1)) ;;
                        "Unpacking "*) what=unpacking n=$((unpacked += 1)) ;;
                        "Setting up "*) what="setting up" n=$((setup += 1)) ;;
                        *) continue ;;
                        esac
                        if [ "$what" != "$last" ] || [ $((SECONDS - shown)) -ge 10 ]; then
                                printf 'install-deps.sh: [%3d s] %s %d/%d\n' "$((SECONDS - t0))" "$what" "$n" "$total"
                                last=$what shown=$SECONDS
                        fi
                done
                [ "$setup" -eq 0 ] || printf 'install-deps.sh: [%3d s] %d packages set up\n' "$((SECONDS - t0))" "$setup"
        }
        log=$(mktemp)
        t0=$SECONDS
        set +e
        apt-get install -y -q -o Dpkg::Use-Pty=0 --no-install-recommends "${missing[@]}" 2>&1 | tee "$log" | progress >&2
        rc=${PIPESTATUS[0]}
        set -e
        if [ "$rc" -ne 0 ]; then
                cat "$log" >&2
                rm -f "$log"
                echo "install-deps.sh: apt-get install failed (exit $rc)" >&2
                exit 1
        fi
        rm -f "$log"
        exec 8>&-
fi
