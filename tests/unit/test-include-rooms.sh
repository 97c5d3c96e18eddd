#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/unit/test-include-rooms.sh: every folder of the program includes only from the folders
# below it (docs/architecture.md, "The tree"). The build already gives each target only the
# include dirs it needs (and shim/meson.build fails the configure step if the shim could see a
# header of daemon/); this test holds the sources to the same table, so that a quoted include
# that names a path ("../daemon/lib/spawn.h", which no include dir can stop) or a header of a
# folder a part must not use fails here, naming the file, the line and the rule.
set -u
SRC=${SANDBOX_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$SRC" || { echo "Bail out! no source tree at $SRC"; exit 1; }

# folder -> the folders its quoted includes may come from (its own first)
declare -A may=(
        [common]="common"
        [proto]="proto common"
        [daemon/lib]="daemon/lib common"
        [daemon/preload]="daemon/preload daemon/lib common"
        [daemon/sandboxd]="daemon/sandboxd daemon/lib proto common"
        [daemon/sandboxctl]="daemon/sandboxctl daemon/lib proto common"
        [shim]="shim proto common"
)
n=0
fails=0
ok() { # ok COND DESC [DIAG]
        n=$((n + 1))
        if [ "$1" = 0 ]; then
                echo "ok $n - $2"
        else
                echo "not ok $n - $2"
                [ -n "${3:-}" ] && printf '%s\n' "${3%$'\n'}" | sed 's/^/#   /'
                fails=$((fails + 1))
        fi
}

for room in common proto daemon/lib daemon/preload daemon/sandboxd daemon/sandboxctl shim; do
        bad=""
        files=$(find "$room" -maxdepth 1 -name '*.[ch]' | sort)
        [ -n "$files" ] || { ok 1 "$room: has C sources" "no *.c or *.h in $SRC/$room"; continue; }
        while IFS=: read -r f line name; do
                case $name in
                */*) bad+="$f:$line: \"$name\" is a path: a quoted include names a file of an include dir"$'\n'; continue ;;
                config.h | *.pb-c.h) continue ;;  # generated: common/'s config.h, proto/'s stubs
                esac
                found=""
                for d in ${may[$room]}; do
                        [ -e "$d/$name" ] && { found=$d; break; }
                done
                if [ -z "$found" ]; then
                        where=$(find common proto daemon shim -name "$name" | head -1)
                        bad+="$f:$line: \"$name\" (${where:-no such file in the tree}) is not in ${may[$room]}"$'\n'
                fi
        done < <(grep -Hn '^#include "' $files | sed 's/^\([^:]*\):\([0-9]*\):#include "\([^"]*\)".*/\1:\2:\3/')
        ok "$([ -z "$bad" ]; echo $?)" "$room includes only from: ${may[$room]}" "$bad"
done

# Every folder with C sources of the program is in the table (a new one gets its row).
unlisted=$(find common proto daemon shim -name '*.[ch]' -printf '%h\n' | sort -u |
        while read -r d; do [ -n "${may[$d]:-}" ] || echo "$d"; done)
ok "$([ -z "$unlisted" ]; echo $?)" "every folder of C sources under common, proto, daemon, shim has a row" "$unlisted"

echo "1..$n"
[ "$fails" = 0 ]
