#!/bin/bash
# End-to-end test of nomad-driver-sandbox with HashiCorp go-plugin's own client (what Nomad
# uses to launch driver plugins), built in GOPATH mode from Debian's Go packages, with Go stubs
# generated from our own protos (proto/nomad, proto/plugin, proto/grpc).
#
# Environment: SHIM, SANDBOXD, SANDBOXCTL (paths to the binaries), SANDBOX_SOURCE_ROOT
# (defaults to the checkout this script is in), E2E_CACHE (Go build cache; default a
# temp dir). Prints TAP. Exit 77 (skip) with a reason when something it needs is missing.
# E2E_BUILD_ONLY=PATH: only build the client, to PATH (the VM suite's package test runs it in
# the guest with E2E_MODE=package), and exit.
set -u

SRC=${SANDBOX_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
HERE=$SRC/tests/e2e

# Under tests_must_work (CI, the README's test command) a skip is a failure.
skip() {
        if [ "${SANDBOX_TESTS_MUST_WORK:-0}" = 1 ]; then
                echo "Bail out! cannot run: $*"
                exit 1
        fi
        echo "1..0 # SKIP $*"
        exit 77
}

if [ -z "${E2E_BUILD_ONLY:-}" ]; then
        [ -n "${SHIM:-}" ] || skip "SHIM is not set (path to nomad-driver-sandbox)"
        [ -x "$SHIM" ] || skip "shim binary '$SHIM' does not exist yet"
        [ -n "${SANDBOXD:-}" ] && [ -x "$SANDBOXD" ] || skip "SANDBOXD '${SANDBOXD:-}' is not an executable"
        [ -n "${SANDBOXCTL:-}" ] && [ -x "$SANDBOXCTL" ] || skip "SANDBOXCTL '${SANDBOXCTL:-}' is not an executable"
        [ "$(id -u)" = 0 ] || skip "needs root (sandboxd runs tasks as other users)"
fi
[ -n "$(find "$SRC/proto/nomad" -name "*.proto" 2>/dev/null)" ] || skip "no protos under $SRC/proto/nomad yet"

# Everything this needs is installed by scripts/install-deps.sh; a test installs nothing.
for prog in go protoc protoc-gen-go; do
        command -v "$prog" >/dev/null || skip "$prog is missing (scripts/install-deps.sh installs Debian's Go packages)"
done
[ -d /usr/share/gocode/src/github.com/hashicorp/go-plugin ] ||
        skip "go-plugin's sources are missing (scripts/install-deps.sh: golang-github-hashicorp-go-plugin-dev)"

# programs of the seed jobs (the pledge driver's and exec2's examples)
if [ -z "${E2E_BUILD_ONLY:-}" ]; then
        for prog in curl java; do
                command -v "$prog" >/dev/null || skip "$prog is missing: a seed job runs it (scripts/install-deps.sh installs it)"
        done
fi

# not under /tmp: every task gets a private /tmp, which would hide the alloc dirs
TMP=$(mktemp -d /var/tmp/sandbox-e2e.XXXXXX)
chmod 755 "$TMP"
export E2E_TMP=$TMP
CACHE=${E2E_CACHE:-$TMP/go}
# the sources (stubs + client) are per run, so concurrent runs never share them; only Go's
# build cache (safe for concurrent use) is kept in E2E_CACHE
GOPATH_DIR=$TMP/gopath
mkdir -p "$GOPATH_DIR/src/e2epb" "$GOPATH_DIR/src/e2eclient" "$CACHE/build"
cleanup() {
        # the client kills what it started; this is the temp tree and sandboxd's (empty) cgroups
        [ -n "${STATE_TMPFS:-}" ] && umount "$TMP/state"
        rm -rf "$TMP"
        find /sys/fs/cgroup/sandboxd-e2e-$$ /sys/fs/cgroup/*/sandboxd-e2e-$$ -depth -type d \
                -exec rmdir {} + 2>/dev/null
        return 0
}
trap cleanup EXIT

# --- Go stubs from our protos: one Go package per proto package, under e2epb/<pkg_with_underscores>
PROTO_ROOT=$SRC/proto
mapfile -t PROTOS < <(cd "$PROTO_ROOT" && find nomad plugin grpc -name '*.proto' 2>/dev/null | sort)
declare -A PKG_OF
# well-known types: the github.com/golang/protobuf ptypes packages Debian ships
MFLAGS=
for w in any:any duration:duration timestamp:timestamp empty:empty wrappers:wrappers struct:struct; do
        MFLAGS+=",Mgoogle/protobuf/${w%%:*}.proto=github.com/golang/protobuf/ptypes/${w#*:}"
done
for f in "${PROTOS[@]}"; do
        pkg=$(sed -n 's/^[[:space:]]*package[[:space:]]\+\([A-Za-z0-9_.]\+\)[[:space:]]*;.*/\1/p' "$PROTO_ROOT/$f" | head -1)
        [ -n "$pkg" ] || { echo "Bail out! $f has no package statement"; exit 1; }
        PKG_OF[$f]=$pkg
        MFLAGS+=",M$f=e2epb/${pkg//./_}"
done
for pkg in $(printf '%s\n' "${PKG_OF[@]}" | sort -u); do
        files=()
        for f in "${PROTOS[@]}"; do [ "${PKG_OF[$f]}" = "$pkg" ] && files+=("$f"); done
        out=$TMP/protoc-out/$pkg
        dest=$GOPATH_DIR/src/e2epb/${pkg//./_}
        mkdir -p "$out" "$dest"
        if ! (cd "$PROTO_ROOT" && protoc -I . -I /usr/include \
                --go_out="plugins=grpc${MFLAGS}:$out" "${files[@]}") >"$TMP/protoc.log" 2>&1; then
                echo "Bail out! protoc failed for package $pkg: $(tr '\n' ' ' <"$TMP/protoc.log")"
                exit 1
        fi
        # protoc-gen-go 1.3 places files by go_package or source path; the M flags give the
        # import paths, so gather them into e2epb/<package>
        find "$out" -name '*.pb.go' -exec mv {} "$dest/" \;
done

cp "$HERE"/*.go "$GOPATH_DIR/src/e2eclient/"
echo "e2e: building the go-plugin test client (about a minute with a cold Go cache)" >&2
if ! (cd "$GOPATH_DIR/src/e2eclient" && GO111MODULE=off GOFLAGS= GOPATH="$GOPATH_DIR:/usr/share/gocode" \
      GOCACHE="$CACHE/build" go build -o "$TMP/e2e-client" .) >"$TMP/go-build.log" 2>&1; then
        echo "Bail out! go build of the test client failed:"
        sed 's/^/# /' "$TMP/go-build.log"
        exit 1
fi
if [ -n "${E2E_BUILD_ONLY:-}" ]; then
        cp "$TMP/e2e-client" "$E2E_BUILD_ONLY"
        exit 0
fi

# --- a private sandboxd: config, socket, state dir
mkdir -p "$TMP/nomad" "$TMP/data" "$TMP/state"
# measurements: sandboxd's state on tmpfs, as its default /run/sandboxd is on a systemd host
if [ -n "${E2E_MODE:-}" ] && mount -t tmpfs -o mode=0700,size=64m sbx-e2e-state "$TMP/state"; then
        STATE_TMPFS=1
fi
chmod 755 "$TMP/nomad" "$TMP/data"
cat >"$TMP/sandboxd.conf" <<EOF
[daemon]
allowed_uids = 65534 65533 0
nomad_data_dir = $TMP/nomad
cgroup_backend = cgroupfs
cgroup_parent = sandboxd-e2e-$$
# a start waits this long for logmon's FIFO readers (a check runs into it)
log_reader_timeout = 5
socket_mode = 0666

[driver sandbox]
users = nobody 70000-70010
dynamic_users = 80000-89999
promises = stdio rpath wpath cpath proc exec prot_exec inet dns
unveil = rwc:$TMP/data r:/etc r:/usr r:/bin r:/lib r:/lib64 r:$TMP/nomad
# launch rules outside the default set: this build's preload helper
unveil = rx:$(dirname "${SANDBOX_PRELOAD:?}")
networks = none host group
default_processes = 64

# the drop-in names, as systemd/sandboxd.conf.example has them
[driver exec2]
users = nobody 70000-70010
dynamic_users = 80000-89999
promises = stdio rpath wpath cpath proc exec prot_exec inet dns
unveil = rwc:$TMP/data r:/etc r:/usr r:/bin r:/lib r:/lib64 r:$TMP/nomad
unveil = rx:$(dirname "${SANDBOX_PRELOAD:?}")
networks = none host group

[driver pledge]
users = nobody 70000-70010
dynamic_users = 80000-89999
promises = stdio rpath wpath cpath proc exec prot_exec inet dns
default_promises = stdio rpath
unveil = rwc:$TMP/data r:/etc r:/usr r:/bin r:/lib r:/lib64 r:$TMP/nomad
unveil = rx:$(dirname "${SANDBOX_PRELOAD:?}")
networks = none host group
EOF
chmod 644 "$TMP/sandboxd.conf"

export SANDBOXD SANDBOXCTL SHIM
export E2E_CONF=$TMP/sandboxd.conf E2E_SOCKET=$TMP/sandboxd.sock E2E_STATE=$TMP/state E2E_NOMAD=$TMP/nomad
# Sanitizer builds: reports of the shim and sandboxd go to files (their stderr goes to
# go-plugin's logger or a log), and any report fails the suite.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$TMP/sanitizer-asan"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$TMP/sanitizer-ubsan"
"$TMP/e2e-client"
rc=$?
if ls "$TMP"/sanitizer-* >/dev/null 2>&1; then
        echo "not ok - sanitizer reports from the shim or sandboxd:"
        cat "$TMP"/sanitizer-* | sed 's/^/# /' | head -200
        rc=1
fi
exit $rc
