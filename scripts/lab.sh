#!/usr/bin/env bash
# `npm run lab -- up [N] | down | stop <i> | start <i> | env | status`: a swarm of N Docker engines (default 3) on this
# one host, to try portlab across machines before there is a cluster. Each engine is a dockerd of its own (its own
# data root, exec root, socket and pidfile) in a network namespace of its own (plab-<i>) with a hostname of its own
# (lab-<i>, a UTS namespace), the namespaces joined by a bridge (plab0, 10.77.0.0/24; names for the default lab); node 1 is the manager and runs
# a registry (Debian's docker-registry) every node pulls from. `up` prints lines to `eval`; `down` removes every
# engine, namespace, link, iptables rule, mount and directory the lab made, and is safe to run twice. Needs root.
# Nothing is fetched from outside the machine but Debian's docker-registry package, unpacked into portlab's cache
# (scripts/unpack-debian.sh), never installed.
#
# Several labs can live side by side, each with a name of its own (PORTLAB_LAB_NAME, default lab), and with it its
# own namespaces (p<name>-<i>), bridge (p<name>0), addresses (PORTLAB_LAB_SUBNET, default 10.77.0 for .0/24),
# overlay pool (PORTLAB_LAB_POOL, default 10.200.0.0/16), rule and directories: the test suite's lab never touches a
# lab a person made.
set -euo pipefail

LAB_NAME=${PORTLAB_LAB_NAME:-lab}
[[ "$LAB_NAME" =~ ^[a-z][a-z0-9]{0,6}$ ]] || { echo "lab: PORTLAB_LAB_NAME is 1 to 7 lower-case letters and digits, found $LAB_NAME" >&2; exit 2; }
LAB_DATA=${PORTLAB_LAB_DATA:-/var/lib/portlab-$LAB_NAME}
LAB_RUN=${PORTLAB_LAB_RUN:-/run/portlab-$LAB_NAME}
PREFIX=p$LAB_NAME
BRIDGE=${PREFIX}0
SUBNET_PREFIX=${PORTLAB_LAB_SUBNET:-10.77.0}
REGISTRY_PORT=5000
# Overlay networks get their subnets from here, away from the lab's own link and the engines' local pools.
ADDR_POOL=${PORTLAB_LAB_POOL:-10.200.0.0/16}
RULE=(-i "$BRIDGE" -o "$BRIDGE" -m comment --comment "portlab-$LAB_NAME" -j ACCEPT)

say() { echo "lab: $*" >&2; }
die() {
  say "$*"
  exit 1
}

address() { echo "$SUBNET_PREFIX.$((10 + $1))"; }
socket() { echo "$LAB_RUN/node-$1/docker.sock"; }
engine() {
  local node=$1
  shift
  docker -H "unix://$(socket "$node")" "$@"
}
registry() { echo "$(address 1):$REGISTRY_PORT"; }
nodes() {
  local count
  count=$(cat "$LAB_RUN/nodes" 2>/dev/null || echo 0)
  seq 1 "$count"
}

# The pid in pidfile $1 if that process is still the lab's (its command line holds $2), else nothing: after a reboot
# that kept /run, a pid may be anyone's.
lab_pid() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 0
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$2" && echo "$pid"
  return 0
}
engine_pid() { lab_pid "$LAB_RUN/node-$1/docker.pid" "--pidfile $LAB_RUN/node-$1/docker.pid"; }
registry_pid() { lab_pid "$LAB_RUN/registry.pid" "$LAB_RUN/registry.yml"; }

# Whether any process of the lab lives: an engine or the registry.
alive() {
  local node
  [ -n "$(registry_pid)" ] && return 0
  for node in $(seq 1 9); do [ -n "$(engine_pid "$node")" ] && return 0; done
  return 1
}

need_root() { [ "$(id -u)" = 0 ] || die "the lab starts engines and namespaces: run it as root"; }

# The dockerd of node $1, started in its namespace with its hostname; returns once it answers.
start_engine() {
  local node=$1 dir="$LAB_RUN/node-$1"
  mkdir -p "$dir" "$LAB_DATA/node-$node"
  setsid nsenter --net="/run/netns/$PREFIX-$node" -- unshare --uts -- sh -c "hostname $LAB_NAME-$node && exec dockerd \
    --data-root '$LAB_DATA/node-$node' --exec-root '$dir/exec' --pidfile '$dir/docker.pid' \
    -H 'unix://$dir/docker.sock' --insecure-registry '$(registry)'" \
    </dev/null >"$dir/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do
    if engine "$node" info >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  tail -n 20 "$dir/dockerd.log" >&2
  die "the engine of node $node did not answer within 30 s (its log: $dir/dockerd.log)"
}

# Kills node $1 as a crash would: its containers, its engine and containerd, at once (SIGKILL).
kill_engine() {
  local node=$1 dir="$LAB_RUN/node-$1" pids="" pid
  if engine "$node" info >/dev/null 2>&1; then
    pids=$(engine "$node" ps -q | xargs -r docker -H "unix://$(socket "$node")" inspect -f '{{.State.Pid}}' 2>/dev/null || true)
  fi
  # Each container's first process: killing it ends its PID namespace, every process in it.
  for pid in $pids; do [ "$pid" -gt 0 ] && kill -9 "$pid" 2>/dev/null || true; done
  pid=$(engine_pid "$node")
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  pkill -9 -f "$dir/exec/" 2>/dev/null || true
  # Its containerd dies with it, but may linger a moment (unreaped): an engine started meanwhile would find its
  # pidfile, take it for running, and wait for it in vain.
  for _ in $(seq 1 20); do
    pgrep -f "$dir/exec/" >/dev/null || break
    sleep 0.25
  done
  rm -f "$dir/docker.pid" "$dir/exec/containerd/containerd.pid"
}

up() {
  local count=${1:-3}
  [[ "$count" =~ ^[0-9]+$ ]] && [ "$count" -ge 2 ] && [ "$count" -le 9 ] || die "up takes a number of engines from 2 to 9, found $count"
  need_root
  if [ -f "$LAB_RUN/nodes" ]; then
    alive && die "lab $LAB_NAME is up already ($(cat "$LAB_RUN/nodes") engines): npm run lab -- down first"
    # Its directory says up, but none of its processes lives (a reboot that kept /run, a crash): what is left of it
    # is this lab's own, and nothing else could be using it.
    say "lab $LAB_NAME was left behind (none of its engines or its registry is running): removing what is left first"
    down
  fi
  command -v dockerd >/dev/null || die "no dockerd here: run scripts/start-engine.sh first"
  local registry_root
  registry_root=$(bash "$(dirname "$0")/unpack-debian.sh" docker-registry)
  mkdir -p "$LAB_RUN" "$LAB_DATA"
  echo "$count" >"$LAB_RUN/nodes"
  ip link add "$BRIDGE" type bridge
  ip addr add "$SUBNET_PREFIX.1/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # The host engine's FORWARD policy is DROP; traffic between the lab's namespaces crosses its bridge.
  if iptables -L DOCKER-USER -n >/dev/null 2>&1; then iptables -I DOCKER-USER "${RULE[@]}"; else iptables -I FORWARD "${RULE[@]}"; fi
  for node in $(nodes); do
    ip netns add "$PREFIX-$node"
    ip link add "$PREFIX-$node-h" type veth peer name "$PREFIX-$node-n"
    ip link set "$PREFIX-$node-h" master "$BRIDGE" up
    ip link set "$PREFIX-$node-n" netns "$PREFIX-$node"
    ip -n "$PREFIX-$node" link set "$PREFIX-$node-n" name eth0
    ip -n "$PREFIX-$node" addr add "$(address "$node")/24" dev eth0
    ip -n "$PREFIX-$node" link set eth0 up
    ip -n "$PREFIX-$node" link set lo up
    ip -n "$PREFIX-$node" route add default via "$SUBNET_PREFIX.1"
  done
  # The registry, on the manager's address, its storage in the lab's data.
  mkdir -p "$LAB_DATA/registry"
  cat >"$LAB_RUN/registry.yml" <<EOF
version: 0.1
storage:
  filesystem:
    rootdirectory: $LAB_DATA/registry
http:
  addr: $(registry)
EOF
  setsid nsenter --net="/run/netns/$PREFIX-1" -- "$registry_root/usr/bin/docker-registry" serve "$LAB_RUN/registry.yml" </dev/null >"$LAB_RUN/registry.log" 2>&1 &
  echo $! >"$LAB_RUN/registry.pid"
  local starting=()
  for node in $(nodes); do
    start_engine "$node" &
    starting+=($!)
  done
  for pid in "${starting[@]}"; do wait "$pid" || die "an engine of the lab did not start"; done
  engine 1 swarm init --advertise-addr "$(address 1)" --listen-addr "$(address 1):2377" --default-addr-pool "$ADDR_POOL" >/dev/null
  local token
  token=$(engine 1 swarm join-token -q worker)
  for node in $(nodes); do
    [ "$node" = 1 ] || engine "$node" swarm join --token "$token" --advertise-addr "$(address "$node")" "$(address 1):2377" >/dev/null
  done
  for node in $(nodes); do
    engine 1 node update --label-add "portlab.lab-node=$node" "$(engine "$node" info -f '{{.Swarm.NodeID}}')" >/dev/null
  done
  for _ in $(seq 1 40); do
    curl -fsS "http://$(registry)/v2/" >/dev/null 2>&1 && break
    sleep 0.25
  done
  say "$count engines up ($LAB_NAME-1 manages; registry $(registry)); their nodes:"
  engine 1 node ls >&2
  env_lines
}

env_lines() {
  [ -f "$LAB_RUN/nodes" ] || die "no lab is up: npm run lab -- up"
  echo "export DOCKER_HOST=unix://$(socket 1)"
  echo "export PORTLAB_REGISTRY=$(registry)"
}

down() {
  need_root
  local pid
  for node in $(seq 1 9); do
    local dir="$LAB_RUN/node-$node"
    [ -d "$dir" ] || continue
    pid=$(engine_pid "$node")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      # Its containers first (a stopping engine would wait for their grace), then the engine.
      engine "$node" ps -q 2>/dev/null | xargs -r docker -H "unix://$(socket "$node")" rm -f >/dev/null 2>&1 || true
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.25
      done
    fi
    kill_engine "$node"
  done
  pid=$(registry_pid)
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  pkill -f "docker-registry serve $LAB_RUN/registry.yml" 2>/dev/null || true
  # Every mount under the lab's directories (each exec root's netns/default, the containers' layers), deepest first.
  awk -v run="$LAB_RUN" -v data="$LAB_DATA" 'index($2, run) == 1 || index($2, data) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r mount; do umount -l "$mount" 2>/dev/null || true; done
  for node in $(seq 1 9); do
    ip netns del "$PREFIX-$node" 2>/dev/null || true
    ip link del "$PREFIX-$node-h" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  while iptables -D DOCKER-USER "${RULE[@]}" 2>/dev/null; do :; done
  while iptables -D FORWARD "${RULE[@]}" 2>/dev/null; do :; done
  rm -rf "$LAB_RUN" "$LAB_DATA"
  say "down: no engine, namespace, link, rule, mount or directory of lab $LAB_NAME is left"
}

case "${1:-}" in
--help | -h | help)
  echo "usage: npm run lab -- up [N] | down | stop <i> | start <i> | env | status"
  ;;
up) up "${2:-3}" ;;
down) down ;;
env) env_lines ;;
stop)
  need_root
  [[ "${2:-}" =~ ^[0-9]+$ ]] && [ -d "$LAB_RUN/node-$2" ] || die "stop takes the number of a node of the lab, found ${2:-nothing}"
  kill_engine "$2"
  say "node $2 ($LAB_NAME-$2) killed: its engine and containers are gone, as in a crash"
  ;;
start)
  need_root
  [[ "${2:-}" =~ ^[0-9]+$ ]] && [ -d "$LAB_RUN/node-$2" ] || die "start takes the number of a node of the lab, found ${2:-nothing}"
  if engine "$2" info >/dev/null 2>&1; then die "node $2's engine is running already"; fi
  start_engine "$2"
  say "node $2 ($LAB_NAME-$2) is back"
  ;;
status)
  [ -f "$LAB_RUN/nodes" ] || die "no lab is up"
  engine 1 node ls
  ;;
*)
  echo "usage: npm run lab -- up [N] | down | stop <i> | start <i> | env | status" >&2
  exit 2
  ;;
esac
