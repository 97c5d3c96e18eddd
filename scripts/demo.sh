#!/usr/bin/env bash
# The demo: install what is needed, build, and run a small web service in the sandbox, show
# what the sandbox refuses, then run a web server as a Nomad task through the plugin
# (go-plugin's client stands in for the Nomad agent). Run as root on Debian 12.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/install-deps.sh
# ninja shows its progress (one updating line on a terminal); from scratch about 40 s.
if [ ! -d build ]; then
        echo "demo: configuring build/ (meson setup build)"
        meson setup build >/dev/null
fi
echo "demo: building (ninja -C build; about 40 s the first time)"
ninja -C build

ctl="$top/build/sandboxctl"
# sandboxctl finds the preload helper of its build tree by itself when the checkout is root's;
# this names it for a checkout that belongs to another user (the demo runs under sudo).
export SANDBOX_PRELOAD="$top/build/libsandbox-preload.so"
www=$(mktemp -d)
trap 'rm -rf "$www"' EXIT
echo '<h1>hello from the sandbox</h1>' > "$www/index.html"
chmod -R a+rX "$www"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "A python web server and a client, in one sandbox: new namespaces (no network but loopback),"
say "user nobody, promises 'stdio rpath inet' (seccomp), only $www and the defaults unveiled"
"$ctl" run --user nobody --net none --promises "stdio rpath inet" --unveil "r:$www" --cwd "$www" -- \
        /usr/bin/python3 -c '
import http.server, socketserver, threading, urllib.request
srv = socketserver.TCPServer(("127.0.0.1", 8080), http.server.SimpleHTTPRequestHandler)
threading.Thread(target=srv.serve_forever, daemon=True).start()
print("fetched:", urllib.request.urlopen("http://127.0.0.1:8080/index.html").read().decode().strip())
srv.shutdown()'

say "Reading /etc/passwd is not unveiled: Landlock says no"
"$ctl" run --promises "stdio rpath" -- /bin/cat /etc/passwd || echo "(exit code $?)"

say "Starting another program needs the 'exec' promise"
"$ctl" run --promises "stdio rpath proc" -- /bin/sh -c '/bin/true' || echo "(exit code $?)"

say "Only the sandbox's own processes are visible"
"$ctl" run --promises "stdio rpath exec proc" -- /bin/ps -e -o pid,user,comm

say "A typo in a promise is refused with its name"
"$ctl" run --promises "stdio rpth" -- /bin/true || echo "(exit code $?)"

say "As a Nomad task: the plugin launched and driven by go-plugin's client, as the Nomad agent does"
SHIM="$top/build/nomad-driver-sandbox" SANDBOXD="$top/build/sandboxd" SANDBOXCTL="$ctl" \
        E2E_CACHE=/var/tmp/nomad-driver-sandbox-e2e-cache SANDBOX_SOURCE_ROOT="$top" \
        E2E_MODE=demo bash "$top/tests/e2e/run.sh"
