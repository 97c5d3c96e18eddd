#!/usr/bin/env bash
# Installs everything nomad-driver-sandbox needs to build and test, from Debian 12's packages.
# Idempotent; run as root.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps.sh: run as root (apt-get)" >&2
        exit 1
fi

packages=(
        # build
        gcc libc6-dev meson ninja-build pkg-config
        libseccomp-dev libjson-c-dev libsystemd-dev
        libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev libgrpc-dev libmsgpack-dev libcap-dev
        # tests
        iproute2 procps python3 util-linux valgrind dbus-daemon
        # the e2e suite: go-plugin's real client, built in GOPATH mode from Debian's Go packages
        golang-go golang-github-hashicorp-go-plugin-dev golang-google-grpc-dev golang-goprotobuf-dev protobuf-compiler
        # the Debian package (scripts/build-deb.sh) and its test in the VM suite
        debhelper dpkg-dev fakeroot lintian
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
        echo "install-deps.sh: installing ${missing[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
        exec 8>&-
fi
