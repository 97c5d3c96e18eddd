#!/bin/sh
# Generates protobuf-c code for the Nomad plugin protos (and the well-known types they import
# from the system's protobuf headers) into OUTDIR as flat file names, rewriting the generated
# #include lines to match. Meson custom targets cannot output into subdirectories.
# usage: gen-nomad.sh PROTOC_C SRCDIR OUTDIR
set -eu
protoc_c=$1 src=$2 out=$(cd "$3" && pwd)
tmp=$(mktemp -d "$out/gen.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$src"
"$protoc_c" --c_out="$tmp" -I . -I /usr/include \
        nomad/base/base.proto nomad/drivers/driver.proto nomad/shared/hclspec/hcl_spec.proto \
        nomad/shared/structs/attribute.proto nomad/shared/structs/recoverable_error.proto \
        plugin/controller.proto grpc/health/health.proto google/rpc/status.proto
"$protoc_c" --c_out="$tmp" -I /usr/include \
        google/protobuf/duration.proto google/protobuf/timestamp.proto google/protobuf/any.proto
find "$tmp" -name '*.pb-c.[ch]' | while read -r f; do
        sed 's|#include "\([^"]*/\)\{1,\}\([^/"]*\.pb-c\.h\)"|#include "\2"|' "$f" >"$out/$(basename "$f")"
done
