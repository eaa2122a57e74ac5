#!/usr/bin/env bash
# Compiles the probe against musl (Debian's musl, musl-dev and musl-tools, unpacked into portlab's cache by
# scripts/unpack-debian.sh, never installed) into OUTPUT: a static binary of about 100 kB, small enough to travel as
# a swarm config (at most 500 kB), which is how an application's task on a swarm gets its observer
# (`/portlab-observer observe ... -- COMMAND`) without an image being built or changed. The glibc build (cc -static)
# is about 950 kB. The kernel's uapi headers (linux/, asm/) are the host's, as for the glibc build.
#
#   bash scripts/build-observer.sh OUTPUT
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: build-observer.sh OUTPUT" >&2; exit 2; }
output=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(bash "$here/unpack-debian.sh" musl musl-dev musl-tools)
triplet=$(gcc -print-multiarch)
musl_lib="$root/usr/lib/${triplet/-gnu/-musl}"
musl_include="$root/usr/include/${triplet/-gnu/-musl}"
[ -f "$musl_lib/musl-gcc.specs" ] || { echo "build-observer.sh: no musl-gcc.specs in $musl_lib" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# musl-gcc's specs name the package's own paths; here they are under the unpacked root. The kernel's headers are
# the host's (linux-libc-dev), which musl-gcc leaves out of the search path: linked in, nothing else of glibc's.
sed -e "s#/usr/lib/${triplet/-gnu/-musl}#$musl_lib#g" -e "s#/usr/include/${triplet/-gnu/-musl}#$musl_include#g" \
  -e "s#/lib/ld-musl#$root/lib/ld-musl#g" "$musl_lib/musl-gcc.specs" >"$work/musl.specs"
mkdir -p "$work/include"
ln -s /usr/include/linux "$work/include/linux"
ln -s /usr/include/asm-generic "$work/include/asm-generic"
ln -s "/usr/include/$triplet/asm" "$work/include/asm"
gcc -specs "$work/musl.specs" -static -Os -s -Wall -Wextra -Werror -isystem "$work/include" \
  -o "$work/observer" "$here/../images/probe/probe.c"
mv "$work/observer" "$output"
