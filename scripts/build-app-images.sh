#!/usr/bin/env bash
# Builds third-party software from Debian's packages into local images FROM scratch, for portlab's tests and shipped
# scenarios: each program, the shared libraries it links (as ldd lists them) and the few files it reads, copied into
# a root of its own. Nothing is pulled from an image registry. The packages are installed with a policy-rc.d that
# exits 101, so no service starts on this host. Safe to run again: an image already built is kept.
#
#   bash scripts/build-app-images.sh [nginx] [redis] [wrk] [haproxy]     (default: all four)
#
# Images: portlab-app/nginx:1.22, portlab-app/redis:7.0, portlab-app/wrk:4.1, portlab-app/haproxy:2.6 (Debian 12's).
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A PACKAGE=([nginx]=nginx [redis]=redis-server [wrk]=wrk [haproxy]=haproxy)
declare -A BINARY=([nginx]=/usr/sbin/nginx [redis]=/usr/bin/redis-server [wrk]=/usr/bin/wrk [haproxy]=/usr/sbin/haproxy)
declare -A TAG=([nginx]=portlab-app/nginx:1.22 [redis]=portlab-app/redis:7.0 [wrk]=portlab-app/wrk:4.1 [haproxy]=portlab-app/haproxy:2.6)

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(nginx redis wrk haproxy)
for app in "${wanted[@]}"; do
  [ -n "${PACKAGE[$app]:-}" ] || { echo "build-app-images.sh: unknown image $app (known: nginx redis wrk haproxy)" >&2; exit 2; }
done

missing=()
for app in "${wanted[@]}"; do
  [ -x "${BINARY[$app]}" ] || missing+=("${PACKAGE[$app]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "build-app-images.sh needs ${missing[*]} from Debian's packages and cannot install them here (root and apt-get): install them and run again" >&2
    exit 1
  fi
  echo "installing ${missing[*]} from Debian's packages (no service is started)..." >&2
  # A policy-rc.d that exits 101 tells the packages' scripts not to start their services on this host.
  made_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  trap '[ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Copies a program and every shared library it links (and the dynamic loader) into the root.
copy_with_libraries() {
  local root=$1 binary=$2
  install -D "$binary" "$root$binary"
  ldd "$binary" | grep -oE '/[^ ]+' | sort -u | while read -r library; do
    install -D "$(readlink -f "$library")" "$root$library"
  done
}

for app in "${wanted[@]}"; do
  tag=${TAG[$app]}
  if docker image inspect "$tag" >/dev/null 2>&1; then
    echo "image $tag is there" >&2
    continue
  fi
  context=$(mktemp -d)
  root=$context/root
  copy_with_libraries "$root" "${BINARY[$app]}"
  mkdir -p "$root/etc" "$root/tmp" "$root/run"
  chmod 1777 "$root/tmp"
  printf 'root:x:0:0:root:/root:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  # Names of services ("http" in a URL) and how names resolve: getaddrinfo reads both.
  install -D /etc/services "$root/etc/services"
  printf 'hosts: files dns\nservices: files\n' >"$root/etc/nsswitch.conf"
  case $app in
    nginx)
      install -D /etc/nginx/mime.types "$root/etc/nginx/mime.types"
      mkdir -p "$root/var/log/nginx" "$root/var/lib/nginx" "$root/usr/share/nginx/html"
      echo 'portlab' >"$root/usr/share/nginx/html/index.html"
      entrypoint='["/usr/sbin/nginx", "-g", "daemon off;"]'
      ;;
    redis)
      entrypoint='["/usr/bin/redis-server"]'
      ;;
    wrk)
      entrypoint='["/usr/bin/wrk"]'
      ;;
    haproxy)
      entrypoint='["/usr/sbin/haproxy", "-db", "-f", "/etc/haproxy/haproxy.cfg"]'
      ;;
  esac
  version=$(dpkg-query -W -f '${Version}' "${PACKAGE[$app]}")
  cat >"$context/Dockerfile" <<DOCKERFILE
FROM scratch
COPY root/ /
LABEL io.portlab.app="$app" io.portlab.app.package="${PACKAGE[$app]} $version"
ENTRYPOINT $entrypoint
DOCKERFILE
  echo "building $tag from Debian's ${PACKAGE[$app]} $version..." >&2
  DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$context" >/dev/null 2>&1 || { echo "building $tag failed" >&2; docker build -t "$tag" "$context" >&2; exit 1; }
  rm -rf "$context"
  echo "built $tag" >&2
done
