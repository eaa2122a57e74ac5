#!/usr/bin/env bash
# Builds third-party software from Debian's packages into local images FROM scratch, for portlab's tests and shipped
# scenarios: each program, the shared libraries it links (as ldd lists them) and the few files it reads, copied into
# a root of its own. Nothing is pulled from an image registry, and nothing is installed on this host: the packages
# are unpacked into portlab's cache (scripts/unpack-debian.sh). Safe to run again: an image already built is kept.
#
#   bash scripts/build-app-images.sh [nginx] [redis] [wrk] [haproxy] [redis-benchmark] [memcached]     (default: all six)
#
# Images: portlab.invalid/nginx:1.22, portlab.invalid/redis:7.0, portlab.invalid/wrk:4.1, portlab.invalid/haproxy:2.6,
# portlab.invalid/redis-benchmark:7.0, portlab.invalid/memcached:1.6 (Debian 12's).
set -euo pipefail
cd "$(dirname "$0")/.."
# The engine's own client: docker (DOCKER_HOST), or podman (its own storage: root's, or the user's when rootless).
cli=${PORTLAB_ENGINE_CLI:-docker}

# The packages each image is made from (the first is the one named in its label), and the program in them.
declare -A PACKAGES=([nginx]="nginx nginx-common" [redis]="redis-server redis-tools" [wrk]=wrk [haproxy]=haproxy
  [redis-benchmark]=redis-tools [memcached]=memcached)
declare -A BINARY=([nginx]=/usr/sbin/nginx [redis]=/usr/bin/redis-server [wrk]=/usr/bin/wrk [haproxy]=/usr/sbin/haproxy
  [redis-benchmark]=/usr/bin/redis-benchmark [memcached]=/usr/bin/memcached)
declare -A TAG=([nginx]=portlab.invalid/nginx:1.22 [redis]=portlab.invalid/redis:7.0 [wrk]=portlab.invalid/wrk:4.1 [haproxy]=portlab.invalid/haproxy:2.6
  [redis-benchmark]=portlab.invalid/redis-benchmark:7.0 [memcached]=portlab.invalid/memcached:1.6)

# One build at a time on this host: two callers at once (two test files, a person beside the suite) would unpack the
# same packages into the same folder and build the same tag.
if command -v flock >/dev/null 2>&1; then
  exec 9>"${TMPDIR:-/tmp}/portlab-build-app-images.lock"
  flock 9
fi

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(nginx redis wrk haproxy redis-benchmark memcached)
for app in "${wanted[@]}"; do
  [ -n "${PACKAGES[$app]:-}" ] || { echo "build-app-images.sh: unknown image $app (known: ${!PACKAGES[*]})" >&2; exit 2; }
done

# Copies a program (its content, where the package names it by a link) and every shared library it links (and the
# dynamic loader) into the root: from the unpacked packages where they hold it, else from this host.
copy_with_libraries() {
  local root=$1 unpacked=$2 binary=$3 libraries
  install -D "$(readlink -f "$unpacked$binary")" "$root$binary"
  libraries="$unpacked/usr/lib/x86_64-linux-gnu:$unpacked/lib/x86_64-linux-gnu:$unpacked/usr/lib:$unpacked/lib"
  if LD_LIBRARY_PATH=$libraries ldd "$unpacked$binary" | grep 'not found' >&2; then
    echo "build-app-images.sh: $binary links libraries found neither in its packages nor on this host" >&2
    return 1
  fi
  LD_LIBRARY_PATH=$libraries ldd "$unpacked$binary" | awk '/=> \// { print $1, $3; next } /^\t\// { print $1, $1 }' |
    while read -r name found; do
      # The loader by its own path; a library where the program will look for it (the host's directory for it).
      case $name in /*) target=$name ;; *) target=${found#"$unpacked"} ;; esac
      install -D "$(readlink -f "$found")" "$root$target"
    done
}

for app in "${wanted[@]}"; do
  tag=${TAG[$app]}
  if "$cli" image inspect "$tag" >/dev/null 2>&1; then
    echo "image $tag is there" >&2
    continue
  fi
  read -r -a packages <<<"${PACKAGES[$app]}"
  unpacked=$(bash scripts/unpack-debian.sh "${packages[@]}")
  context=$(mktemp -d)
  root=$context/root
  copy_with_libraries "$root" "$unpacked" "${BINARY[$app]}"
  mkdir -p "$root/etc" "$root/tmp" "$root/run"
  chmod 1777 "$root/tmp"
  printf 'root:x:0:0:root:/root:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  # Names of services ("http" in a URL) and how names resolve: getaddrinfo reads both.
  install -D /etc/services "$root/etc/services"
  printf 'hosts: files dns\nservices: files\n' >"$root/etc/nsswitch.conf"
  case $app in
    nginx)
      install -D "$unpacked/etc/nginx/mime.types" "$root/etc/nginx/mime.types"
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
    redis-benchmark)
      entrypoint='["/usr/bin/redis-benchmark"]'
      ;;
    memcached)
      # Runs as root in the container: memcached refuses root without -u.
      entrypoint='["/usr/bin/memcached", "-u", "root"]'
      ;;
  esac
  version=$(awk -v package="${packages[0]}" '$1 == package { print $2 }' "$unpacked/.packages")
  cat >"$context/Dockerfile" <<DOCKERFILE
FROM scratch
COPY root/ /
LABEL io.portlab.app="$app" io.portlab.app.package="${packages[0]} $version"
ENTRYPOINT $entrypoint
DOCKERFILE
  echo "building $tag from Debian's ${packages[0]} $version..." >&2
  DOCKER_BUILDKIT=0 "$cli" build -q -t "$tag" "$context" >/dev/null 2>&1 || { echo "building $tag failed" >&2; "$cli" build -t "$tag" "$context" >&2; exit 1; }
  rm -rf "$context"
  echo "built $tag" >&2
done
