#!/usr/bin/env bash
# Unpacks Debian packages into a directory of portlab's own without installing anything on this host: the packages
# and the libraries among their dependencies that the host does not have are fetched with `apt-get download` and
# unpacked with `dpkg-deb -x`. Prints the directory. What the host has installed already (libc, libssl, ...) is read
# from the host itself by the callers (ldd). Kept between calls: a second call with the same packages is a no-op.
#
#   bash scripts/unpack-debian.sh PACKAGE...      -> prints the root they are unpacked in
#
# The root: $PORTLAB_CACHE_DIR/debian/<packages>, else $XDG_CACHE_HOME/portlab/..., else ~/.cache/portlab/...
set -euo pipefail

[ $# -gt 0 ] || { echo "usage: unpack-debian.sh PACKAGE..." >&2; exit 2; }
command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 ||
  { echo "unpack-debian.sh needs Debian's apt-get and dpkg-deb" >&2; exit 1; }

cache=${PORTLAB_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/portlab}
root="$cache/debian/$(printf '%s\n' "$@" | sort | tr '\n' '+' | sed 's/+$//')"
if [ -f "$root/.unpacked" ]; then
  echo "$root"
  exit 0
fi

# What apt would install for them (its resolver picks among alternatives and leaves out what the host has), asked
# with --simulate: nothing is installed. The packages named are always taken, installed here or not.
simulate() { apt-get install --simulate --no-install-recommends "$@" 2>/dev/null | awk '$1 == "Inst" { print $2 }'; }
needed=$(simulate "$@") || true
if [ -z "$needed" ] && ! apt-cache show "$1" >/dev/null 2>&1; then
  # apt's lists were never read on this machine: read them once (this installs nothing).
  apt-get update -qq >&2
  needed=$(simulate "$@") || true
fi
wanted=("$@")
for package in $needed; do
  case " $* " in *" $package "*) continue ;; esac
  # Only libraries matter in an image: the scripts' helpers (adduser, lsb-base, iproute2) never run there.
  case $package in lib*) wanted+=("$package") ;; esac
done

downloads=$(mktemp -d)
trap 'rm -rf "$downloads"' EXIT
# apt's sandbox user cannot write a root-owned temporary directory: let it, so apt does not warn.
chmod 777 "$downloads"
(cd "$downloads" && apt-get download -q "${wanted[@]}" >/dev/null 2>&1) || {
  apt-get update -qq >&2
  (cd "$downloads" && apt-get download -q "${wanted[@]}" >&2)
}
rm -rf "$root"
mkdir -p "$root"
for deb in "$downloads"/*.deb; do
  dpkg-deb -x "$deb" "$root"
  printf '%s %s\n' "$(dpkg-deb -f "$deb" Package)" "$(dpkg-deb -f "$deb" Version)" >>"$root/.packages"
done
touch "$root/.unpacked"
echo "$root"
