#!/usr/bin/env bash
# `npm run test:unit` as on a machine without Docker, to hold the suite to its promise: it installs nothing and starts
# nothing. In a mount namespace of its own (root), /run is empty (no engine's socket answers, no journal) and every
# program that could install a package or start an engine (apt-get, apt, dpkg, dockerd, containerd, docker,
# systemctl, service) is a stand-in that writes its call to a log and fails. Passes when the unit tests pass and the
# log is empty. Nothing outside the namespace is changed; the namespace ends with the command.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "check-no-engine: it makes a mount namespace: run it as root" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
calls=$work/calls.log
: >"$calls"
cat >"$work/stand-in" <<STANDIN
#!/bin/sh
echo "\$0 \$*" >>"$calls"
exit 1
STANDIN
chmod +x "$work/stand-in"
programs=()
for name in apt-get apt dpkg dockerd containerd docker systemctl service; do
  for found in $(type -ap "$name" | sort -u); do programs+=("$found"); done
done
unshare --mount --propagation private -- bash -c '
  set -euo pipefail
  mount -t tmpfs portlab-no-engine /run
  for program in "${@:3}"; do mount --bind "$1" "$program"; done
  cd "$2"
  env -u DOCKER_HOST -u CI npm run -s test:unit
' check-no-engine "$work/stand-in" "$PWD" "${programs[@]}"
if [ -s "$calls" ]; then
  echo "check-no-engine: the unit tests, on a machine without Docker, called what installs or starts things:" >&2
  cat "$calls" >&2
  exit 1
fi
echo "check-no-engine: npm run test:unit passed without an engine, and installed and started nothing"
