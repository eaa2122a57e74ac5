#!/usr/bin/env bash
# Makes sure a Docker engine answers on this machine: installs Debian's docker.io (and docker-compose, for rerunning
# saved compose files by hand) when missing, plus the static libc the probe is compiled with, then starts dockerd
# in the background if none is running. Safe to run again.
set -euo pipefail

packages=()
command -v dockerd >/dev/null 2>&1 || packages+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || packages+=(docker-compose)
command -v cc >/dev/null 2>&1 || packages+=(gcc)
[ -f "$(cc -print-file-name=libc.a 2>/dev/null || echo /nonexistent)" ] || packages+=(libc6-dev)
if docker info >/dev/null 2>&1 && [ ${#packages[@]} -eq 0 ]; then
  echo "a Docker engine is running: $(docker version --format '{{.Server.Version}}')"
  exit 0
fi
if [ ${#packages[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "portlab needs ${packages[*]} and cannot install them here (it installs Debian's packages as root): install Docker Engine and a C compiler with a static libc, start dockerd, and run again (or set DOCKER_HOST to an engine)" >&2
    exit 1
  fi
  echo "installing ${packages[*]} from Debian's packages..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi

if docker info >/dev/null 2>&1; then
  echo "a Docker engine is running: $(docker version --format '{{.Server.Version}}')"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "no Docker engine answers and only root can start dockerd here: start it (sudo dockerd, or your system's service), or set DOCKER_HOST to an engine" >&2
  exit 1
fi
log=${DOCKERD_LOG:-/tmp/portlab-dockerd.log}
echo "starting dockerd (log: $log)..."
nohup dockerd >"$log" 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "a Docker engine is running: $(docker version --format '{{.Server.Version}}')"
    exit 0
  fi
  sleep 1
done
echo "dockerd did not answer within 60 s; the end of its log:" >&2
tail -n 30 "$log" >&2
exit 1
