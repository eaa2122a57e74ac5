#!/usr/bin/env bash
# Makes sure a Podman engine answers for `portlab run --engine podman`: installs Debian's podman (with runc, and
# docker-compose for rerunning saved compose files by hand through Podman's Docker API) when missing and run as root, then starts Podman's
# Docker-compatible service (`podman system service`) in the background if none answers: root's on
# /run/podman/podman.sock, or, run as another user, that user's own (rootless) under $XDG_RUNTIME_DIR. Safe to run
# again. The service it starts reads a containers.conf of portlab's (in portlab's cache, never /etc/containers) only
# where this host needs one:
#   - root without CAP_SYS_RESOURCE (a container host): Podman asks every container for nofile 1048576 and nproc
#     4194304, which such a root may not grant; the service's own limits become the containers' defaults instead.
#   - cgroups v1 with controllers on a cgroup2 hierarchy beside them (hybrid): crun 1.8 refuses to run containers
#     there; runc runs them.
set -euo pipefail

if [ "$(id -u)" = 0 ]; then
  socket=/run/podman/podman.sock
else
  socket="${XDG_RUNTIME_DIR:-/run/user/$(id -u)}/podman/podman.sock"
fi
address="unix://$socket"
answers() { curl -fsS --max-time 5 --unix-socket "$socket" http://podman/_ping >/dev/null 2>&1; }

packages=()
command -v podman >/dev/null 2>&1 || packages+=(podman)
command -v runc >/dev/null 2>&1 || packages+=(runc)
command -v docker-compose >/dev/null 2>&1 || packages+=(docker-compose)
command -v curl >/dev/null 2>&1 || packages+=(curl)
if [ ${#packages[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "portlab needs ${packages[*]} and cannot install them here (it installs Debian's packages as root): install Podman, start its service (podman system service --time=0 $address), and run again (or set CONTAINER_HOST to one)" >&2
    exit 1
  fi
  echo "installing ${packages[*]} from Debian's packages (no service started)..."
  # No package's service starts during the install; the policy is removed after, if it was not there before.
  placed_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && placed_policy=1
  fi
  trap '[ -n "$placed_policy" ] && rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" crun slirp4netns uidmap \
    fuse-overlayfs netavark aardvark-dns catatonit >/dev/null
fi

if answers; then
  echo "a Podman engine is running: $(podman --version)"
  exit 0
fi

conf_dir="${PORTLAB_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/portlab}/podman"
conf="$conf_dir/containers.conf"
mkdir -p "$conf_dir" "$(dirname "$socket")"
{
  cap_eff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
  # CAP_SYS_RESOURCE is capability 24.
  if [ "$(id -u)" = 0 ] && [ $(((0x$cap_eff >> 24) & 1)) = 0 ]; then
    # Podman lowers its own nproc to 32768 where it may; the container gets the least of that and this shell's.
    nproc=$(ulimit -Hu)
    if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then nproc=32768; fi
    echo '[containers]'
    echo "default_ulimits = [\"nofile=$(ulimit -Hn):$(ulimit -Hn)\", \"nproc=$nproc:$nproc\"]"
  fi
  if [ -f /sys/fs/cgroup/unified/cgroup.controllers ] && [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers)" ] &&
    command -v runc >/dev/null 2>&1; then
    echo '[engine]'
    echo 'runtime = "runc"'
  fi
} >"$conf.new"
mv "$conf.new" "$conf"
log=${PODMAN_LOG:-/tmp/portlab-podman-$(id -u).log}
echo "starting podman system service on $address (log: $log)..."
if [ -s "$conf" ]; then
  echo "  with $conf: $(tr '\n' ' ' <"$conf")"
  CONTAINERS_CONF="$conf" nohup podman system service --time=0 "$address" >"$log" 2>&1 &
else
  nohup podman system service --time=0 "$address" >"$log" 2>&1 &
fi
for _ in $(seq 1 60); do
  if answers; then
    echo "a Podman engine is running: $(podman --version)"
    exit 0
  fi
  sleep 1
done
echo "podman system service did not answer within 60 s; the end of its log:" >&2
tail -n 30 "$log" >&2
exit 1
