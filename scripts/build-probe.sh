#!/usr/bin/env bash
# Compiles the probe (images/probe/probe.c, one translation unit that includes its rooms) into OUTPUT, static:
#
#   bash scripts/build-probe.sh OUTPUT          the image's probe, with the host's C compiler (cc, or $CC) and its
#                                               static glibc (Debian's libc6-dev): about 950 kB
#   bash scripts/build-probe.sh --musl OUTPUT   the host binary and swarm observer, against musl: about 100 kB, small
#                                               enough to travel as a swarm config (at most 500 kB), which is how an
#                                               application's task gets its observer without an image being built;
#                                               the binary `portlab inspect --pid` and `--host` run on this machine
#
# Debian's musl, musl-dev and musl-tools are unpacked into portlab's cache by scripts/unpack-debian.sh, never
# installed. The kernel's uapi headers (linux/, asm/) are the host's in both builds.
set -euo pipefail

musl=0
if [ "${1:-}" = "--musl" ]; then musl=1; shift; fi
[ $# -eq 1 ] || { echo "usage: build-probe.sh [--musl] OUTPUT" >&2; exit 2; }
output=$1
here=$(cd "$(dirname "$0")" && pwd)
source_file="$here/../images/probe/probe.c"
warnings=(-Wall -Wextra -Werror)

if [ "$musl" = 0 ]; then
  exec "${CC:-cc}" -static -O2 "${warnings[@]}" -o "$output" "$source_file"
fi

root=$(bash "$here/unpack-debian.sh" musl musl-dev musl-tools)
triplet=$(gcc -print-multiarch)
musl_lib="$root/usr/lib/${triplet/-gnu/-musl}"
musl_include="$root/usr/include/${triplet/-gnu/-musl}"
[ -f "$musl_lib/musl-gcc.specs" ] || { echo "build-probe.sh: no musl-gcc.specs in $musl_lib" >&2; exit 1; }

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
gcc -specs "$work/musl.specs" -static -Os -s "${warnings[@]}" -isystem "$work/include" -o "$work/probe" "$source_file"
mv "$work/probe" "$output"
