#!/usr/bin/env bash
# `portlab lab kernel up SERIES | down [SERIES] | status | env SERIES`: a Docker engine on another Linux kernel, in a
# QEMU virtual machine on this host, so a scenario can be run on the kernels people run (Debian 12's 6.1, its newer
# 6.12) beside this machine's own.
#
# The VM boots Debian's kernel package of the series (the newest one in apt's lists, unpacked with dpkg-deb, never
# installed) with a root filesystem made from Debian's packages by debootstrap into portlab's cache (docker.io,
# iptables, iproute2, kmod), given to the kernel whole as its initramfs. Its dockerd listens on a TCP port QEMU
# forwards from 127.0.0.1 only; `up` prints `export DOCKER_HOST=tcp://127.0.0.1:PORT` (and the kernel's release) to
# eval, then portlab reads the VM's kernel, sysctls, grants and limits as on any engine.
#
# What is built is kept: the root filesystem once (rebuilt when this script's list of packages changes), each
# kernel's modules and initramfs once per package version. QEMU uses KVM where a trial boot with it gives an engine
# within 30 s (tried once, remembered in the cache), else TCG, and says which. A VM's state (pid, port, console) is
# in the cache's run/<series>: `status` lists every VM there, a crashed run's too, and `down` stops it.
#
# Exit codes: 0 done, 2 bad input (no such series in Debian's lists, a bad argument), 3 QEMU or debootstrap missing,
# or a VM that did not give an engine.
set -euo pipefail

CACHE=${PORTLAB_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/portlab}
LAB=$CACHE/kernel-lab
RUN=$LAB/run
# The VM's size: two labs fit beside the host's own runs.
MEMORY_MB=${PORTLAB_KERNEL_LAB_MEMORY_MB:-3072}
CPUS=${PORTLAB_KERNEL_LAB_CPUS:-2}
# What the root filesystem holds; its hash names the build, so a change here builds it again.
ROOT_PACKAGES=docker.io,iptables,iproute2,kmod,procps
ROOT_RECIPE="minbase bookworm v1"
ENGINE_WAIT=${PORTLAB_KERNEL_LAB_BOOT_SECONDS:-240}
KVM_TRIAL_SECONDS=30
# The modules dockerd and portlab's networks need, loaded at boot (kmod resolves what they depend on).
MODULES="virtio_pci virtio_net overlay bridge br_netfilter veth nf_conntrack nf_nat nf_tables nft_compat nft_chain_nat"
MODULES+=" nft_counter nf_conntrack_netlink xt_conntrack xt_MASQUERADE xt_addrtype xt_nat xt_comment ip_tables"
MODULES+=" iptable_filter iptable_nat ip6_tables ip6table_filter ip6table_nat tcp_diag inet_diag"

say() { echo "kernel lab: $*" >&2; }
fail() {
  local code=$1
  shift
  say "$*"
  exit "$code"
}

usage() {
  echo "usage: portlab lab kernel up SERIES | down [SERIES] | status | env SERIES   (SERIES: a Linux series Debian packages, 6.1 or 6.12)"
}

check_series() {
  [[ "${1:-}" =~ ^[0-9]+\.[0-9]+$ ]] || fail 2 "a kernel series is major.minor (6.1, 6.12), found ${1:-nothing}"
}

# Debian's newest cloud kernel package of series $1 (6.1 -> linux-image-6.1.0-NN-cloud-amd64-unsigned, 6.12 ->
# linux-image-6.12.NN+deb12-cloud-amd64-unsigned); nothing when apt's lists have none.
package_of() {
  local pattern="^linux-image-${1//./\\.}(\\.0-[0-9]+|\\.[0-9]+\\+deb[0-9]+)-cloud-amd64-unsigned\$"
  apt-cache search --names-only "$pattern" 2>/dev/null | awk '{ print $1 }' | sort -V | tail -n 1
}

# The pid in run/$1/qemu.pid if that process is still this VM's QEMU (its command line names the VM's folder).
vm_pid() {
  local dir=$RUN/$1 pid
  pid=$(cat "$dir/qemu.pid" 2>/dev/null) || return 0
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$dir/" && echo "$pid"
  return 0
}

# Whether Docker answers its ping on 127.0.0.1:$1 (bash's own /dev/tcp: no curl needed).
engine_answers() {
  timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "GET /_ping HTTP/1.0\r\n\r\n" >&3 && grep -q "^OK" <&3' _ "$1" 2>/dev/null
}

# The root filesystem, once: debootstrap's minbase with Docker, its docs and apt's lists dropped, and the same as a
# cpio archive. Printed: its folder.
root_filesystem() {
  local root
  root=$LAB/rootfs-$(printf '%s\n' "$ROOT_PACKAGES" "$ROOT_RECIPE" | sha256sum | cut -c1-12)
  if [ -f "$root.done" ]; then
    echo "$root"
    return
  fi
  command -v debootstrap >/dev/null 2>&1 || fail 3 "building the VM's root filesystem needs Debian's debootstrap (apt-get install debootstrap)"
  [ "$(id -u)" = 0 ] || fail 3 "building the VM's root filesystem (debootstrap) needs root; run portlab lab kernel up once as root"
  rm -rf "$root"
  say "building the VM's root filesystem from Debian's packages (debootstrap: $ROOT_PACKAGES; about a minute, once)"
  debootstrap --variant=minbase --include="$ROOT_PACKAGES" bookworm "$root" http://deb.debian.org/debian >"$root.log" 2>&1 ||
    fail 3 "debootstrap failed (its log: $root.log)"
  rm -rf "$root"/usr/share/{doc,man,info,locale} "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/*
  (cd "$root" && find . -xdev | cpio -o -H newc --quiet) >"$root.cpio"
  touch "$root.done"
  echo "$root"
}

# The guest's first process: mounts, modules, the network QEMU gives, then dockerd on TCP 2375 under tini (which
# reaps what is orphaned). runc needs DOCKER_RAMDISK on an initramfs root (pivot_root cannot leave it).
write_init() {
  cat <<EOF
#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo "+cpu +cpuset +io +memory +pids" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
for module in $MODULES; do modprobe -q "\$module" 2>/dev/null; done
hostname "\$(cat /etc/portlab-lab-name 2>/dev/null || echo kernel-lab)"
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
ulimit -n 1048576
echo "portlab kernel lab: \$(uname -r) up, starting dockerd"
export DOCKER_RAMDISK=true
exec /usr/bin/tini -s -- /usr/sbin/dockerd --tls=false -H tcp://0.0.0.0:2375 -H unix:///run/docker.sock --data-root /var/lib/docker
EOF
}

# Kernel package $1: unpacked once, its modules indexed (the package ships no modules.dep), and the VM's initramfs
# written: the root filesystem and the kernel's modules as one uncompressed cpio (no decompression under TCG).
# Prints the folder that holds vmlinuz, modules.cpio, release and version.
kernel_build() {
  local package=$1 root=$2 dir
  dir=$LAB/kernel-$package
  if [ -f "$dir/done" ]; then
    echo "$dir"
    return
  fi
  rm -rf "$dir"
  mkdir -p "$dir/unpacked"
  say "unpacking $package (Debian's package, not installed)"
  local downloads
  downloads=$(mktemp -d)
  chmod 777 "$downloads"
  (cd "$downloads" && apt-get download -q "$package" >/dev/null 2>&1) || {
    apt-get update -qq >&2 || true
    (cd "$downloads" && apt-get download -q "$package" >&2) || fail 3 "apt-get download $package failed"
  }
  dpkg-deb -x "$downloads"/*.deb "$dir/unpacked"
  dpkg-deb -f "$downloads"/*.deb Version >"$dir/version"
  rm -rf "$downloads"
  local release
  release=$(ls "$dir/unpacked/lib/modules")
  echo "$release" >"$dir/release"
  # The package ships no modules.dep: depmod makes it, the root filesystem's own (kmod), run by its own loader, so
  # this host needs no kmod and no root for it.
  "$root/lib64/ld-linux-x86-64.so.2" --library-path "$root/lib/x86_64-linux-gnu:$root/usr/lib/x86_64-linux-gnu" \
    --argv0 depmod "$root/usr/bin/kmod" -b "$dir/unpacked" "$release"
  cp "$dir/unpacked/boot/vmlinuz-$release" "$dir/vmlinuz"
  local extra
  extra=$(mktemp -d)
  # Under usr/lib: /lib is a link to it in the root filesystem, and a directory named lib in the second archive
  # would replace that link (the kernel's initramfs unpacking removes an entry of another type).
  mkdir -p "$extra/usr/lib/modules" "$extra/etc"
  cp -a "$dir/unpacked/lib/modules/$release" "$extra/usr/lib/modules/"
  echo "kernel-${release%%-*}" | tr . - >"$extra/etc/portlab-lab-name"
  (cd "$extra" && find . | cpio -o -H newc --quiet) >"$dir/modules.cpio"
  rm -rf "$extra" "$dir/unpacked"
  touch "$dir/done"
  echo "$dir"
}

# The VM's initramfs for kernel folder $1 and root filesystem $2: the root filesystem, the kernel's modules and the
# guest's /init as one uncompressed cpio (nothing to decompress under TCG), written again when /init changes.
# Printed: its path.
initramfs() {
  local kernel=$1 root=$2 init hash
  init=$(write_init)
  hash=$(printf '%s' "$init" | sha256sum | cut -c1-12)
  if [ ! -f "$kernel/initrd-$hash.cpio" ]; then
    say "writing the initramfs for $(cat "$kernel/release")"
    rm -f "$kernel"/initrd-*.cpio
    local extra
    extra=$(mktemp -d)
    printf '%s\n' "$init" >"$extra/init"
    chmod 755 "$extra/init"
    (cd "$extra" && echo init | cpio -o -H newc --quiet) >"$extra/init.cpio"
    cat "$root.cpio" "$kernel/modules.cpio" "$extra/init.cpio" >"$kernel/initrd-$hash.tmp"
    mv "$kernel/initrd-$hash.tmp" "$kernel/initrd-$hash.cpio"
    rm -rf "$extra"
  fi
  echo "$kernel/initrd-$hash.cpio"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
    echo $((20000 + RANDOM % 20000))
}

# Starts QEMU for series $1 with kernel folder $2, initramfs $3 and accelerator $4 (kvm|tcg); returns at once (QEMU
# daemonizes).
start_vm() {
  local series=$1 kernel=$2 initrd=$3 accel=$4 dir=$RUN/$1 port
  port=$(free_port)
  mkdir -p "$dir"
  rm -f "$dir/qemu.pid" "$dir/console.log"
  local cpu=(-accel tcg -cpu max)
  [ "$accel" = kvm ] && cpu=(-accel kvm -cpu host)
  echo "$port" >"$dir/port"
  echo "$accel" >"$dir/accel"
  cp "$kernel/release" "$dir/release"
  cp "$kernel/version" "$dir/version"
  qemu-system-x86_64 "${cpu[@]}" -smp "$CPUS" -m "$MEMORY_MB" -nodefaults -no-user-config -display none \
    -kernel "$kernel/vmlinuz" -initrd "$initrd" \
    -append "console=ttyS0 rdinit=/init panic=-1 mitigations=off" \
    -netdev "user,id=net0,hostfwd=tcp:127.0.0.1:$port-:2375" -device virtio-net-pci,netdev=net0 \
    -serial "file:$dir/console.log" -pidfile "$dir/qemu.pid" -name "portlab-kernel-$series,process=portlab-kernel-$series" \
    -daemonize -no-reboot >"$dir/qemu.log" 2>&1 || return 1
}

# Waits up to $2 seconds for the engine of series $1; a progress line every 15 s.
wait_engine() {
  local series=$1 seconds=$2 port started=$SECONDS
  port=$(cat "$RUN/$series/port")
  while [ $((SECONDS - started)) -lt "$seconds" ]; do
    engine_answers "$port" && return 0
    [ -n "$(vm_pid "$series")" ] || return 1
    sleep 1
    if [ $(((SECONDS - started) % 15)) -eq 0 ]; then
      say "$series: booting, $((SECONDS - started)) s ($(tail -c 300 "$RUN/$series/console.log" 2>/dev/null | tr -d '\r' | grep -v '^$' | tail -n 1 | cut -c1-80))"
    fi
  done
  return 1
}

stop_vm() {
  local series=$1 pid
  pid=$(vm_pid "$series")
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      [ -d "/proc/$pid" ] || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "${RUN:?}/$series"
}

# The accelerator this machine boots with: remembered after the first trial. KVM is tried when /dev/kvm opens.
accelerator() {
  local series=$1 kernel=$2 initrd=$3
  if [ -f "$LAB/accelerator" ]; then
    cat "$LAB/accelerator"
    return
  fi
  local chosen=tcg
  if [ -w /dev/kvm ]; then
    say "trying KVM (up to ${KVM_TRIAL_SECONDS} s, once on this machine)"
    if start_vm "$series" "$kernel" "$initrd" kvm && wait_engine "$series" "$KVM_TRIAL_SECONDS"; then
      chosen=kvm
    fi
    stop_vm "$series"
  fi
  mkdir -p "$LAB"
  echo "$chosen" >"$LAB/accelerator"
  echo "$chosen"
}

print_env() {
  local series=$1
  echo "export DOCKER_HOST=tcp://127.0.0.1:$(cat "$RUN/$series/port")"
  echo "# Linux $(cat "$RUN/$series/release") (Debian's $(cat "$RUN/$series/version")), $(cat "$RUN/$series/accel")"
}

up() {
  local series=${1:-}
  check_series "$series"
  command -v qemu-system-x86_64 >/dev/null 2>&1 ||
    fail 3 "QEMU is not installed: a kernel lab boots a VM with it (Debian: apt-get install qemu-system-x86)"
  if [ -n "$(vm_pid "$series")" ]; then
    engine_answers "$(cat "$RUN/$series/port")" || fail 3 "the $series lab's VM runs but its engine does not answer: portlab lab kernel down $series"
    say "the $series lab is up already"
    print_env "$series"
    return
  fi
  local package
  package=$(package_of "$series")
  if [ -z "$package" ]; then
    apt-get update -qq >/dev/null 2>&1 || true
    package=$(package_of "$series")
  fi
  [ -n "$package" ] || fail 2 "Debian's lists have no cloud kernel package of Linux $series (Debian 12 has 6.1 and 6.12)"
  local root kernel initrd accel started=$SECONDS
  mkdir -p "$LAB" "$RUN"
  # One builder at a time (two labs brought up at once share the root filesystem and the KVM trial).
  exec 9>"$LAB/build.lock"
  flock 9
  root=$(root_filesystem)
  kernel=$(kernel_build "$package" "$root")
  initrd=$(initramfs "$kernel" "$root")
  accel=$(accelerator "$series" "$kernel" "$initrd")
  flock -u 9
  exec 9>&-
  say "booting Linux $(cat "$kernel/release") ($package) under $([ "$accel" = kvm ] && echo KVM || echo "QEMU's TCG (no KVM here: slower, about a minute)")"
  start_vm "$series" "$kernel" "$initrd" "$accel" || fail 3 "QEMU did not start: $(tail -n 1 "$RUN/$series/qemu.log")"
  if ! wait_engine "$series" "$ENGINE_WAIT"; then
    local last
    last=$(tr -d '\r' <"$RUN/$series/console.log" 2>/dev/null | grep -v '^$' | tail -n 1 | cut -c1-120)
    cp "$RUN/$series/console.log" "$LAB/$series-failed-console.log" 2>/dev/null || true
    stop_vm "$series"
    fail 3 "the $series VM gave no engine within $ENGINE_WAIT s (its console's last line: $last; the whole console: $LAB/$series-failed-console.log)"
  fi
  echo $((SECONDS - started)) >"$RUN/$series/boot-seconds"
  say "$series: Docker answers on 127.0.0.1:$(cat "$RUN/$series/port") after $((SECONDS - started)) s"
  print_env "$series"
}

status() {
  local found=0 dir series pid
  for dir in "$RUN"/*/; do
    [ -d "$dir" ] || continue
    series=$(basename "$dir")
    found=1
    pid=$(vm_pid "$series")
    if [ -z "$pid" ]; then
      echo "$series: stopped (left by a crash; portlab lab kernel down $series clears it)"
    elif engine_answers "$(cat "$dir/port" 2>/dev/null || echo 0)"; then
      echo "$series: up, Linux $(cat "$dir/release") (Debian's $(cat "$dir/version")), $(cat "$dir/accel"), DOCKER_HOST=tcp://127.0.0.1:$(cat "$dir/port"), pid $pid"
    else
      echo "$series: running (pid $pid) but its engine does not answer on 127.0.0.1:$(cat "$dir/port" 2>/dev/null)"
    fi
  done
  [ "$found" = 1 ] || echo "no kernel lab"
}

down() {
  local series=${1:-} dir
  if [ -n "$series" ]; then
    check_series "$series"
    [ -d "$RUN/$series" ] || {
      say "no $series lab"
      return
    }
    stop_vm "$series"
    say "$series: down"
    return
  fi
  for dir in "$RUN"/*/; do
    [ -d "$dir" ] || continue
    stop_vm "$(basename "$dir")"
    say "$(basename "$dir"): down"
  done
}

# The whole script is read before it runs (a function, called on the last line), so an edit while a lab boots
# cannot change what runs.
main() {
  case "${1:-}" in
  up) up "${2:-}" ;;
  down) down "${2:-}" ;;
  status) status ;;
  env)
    check_series "${2:-}"
    [ -n "$(vm_pid "$2")" ] || fail 3 "no $2 lab runs: portlab lab kernel up $2"
    print_env "$2"
    ;;
  -h | --help | help) usage ;;
  *)
    usage >&2
    exit 2
    ;;
  esac
}

main "$@"; exit
