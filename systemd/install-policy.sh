#!/bin/sh
# SPDX-License-Identifier: MIT
# meson install script: installs the default policy as SYSCONFDIR/sandboxd/sandboxd.conf, unless
# a policy is there already (an operator's edits are never overwritten by a reinstall).
# usage: install-policy.sh SYSCONFDIR SOURCE
set -eu
dest="${DESTDIR:-}$1/sandboxd/sandboxd.conf"
if [ -e "$dest" ]; then
        [ -n "${MESON_INSTALL_QUIET:-}" ] || echo "Keeping the policy in place: $dest"
        exit 0
fi
[ -n "${MESON_INSTALL_QUIET:-}" ] || echo "Installing the default policy $2 to $dest"
[ -n "${MESON_INSTALL_DRY_RUN:-}" ] && exit 0
mkdir -p "$(dirname "$dest")"
# root's and not writable by group or others, as sandboxd requires (when installed as root)
install -m 0644 "$2" "$dest"
