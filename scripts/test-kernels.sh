#!/usr/bin/env bash
# `npm run test:kernels`: the shipped scenarios and sweeps whose outcome depends on the kernel, on Debian's Linux 6.1
# and 6.12, each in a kernel lab (a QEMU VM running Docker, scripts/kernel-lab.sh) that the suite builds in its own
# cache, boots, and removes; one lab at a time (a VM under TCG takes both cores; two side by side took over 30 s to start a container). Needs QEMU and debootstrap (where either is
# missing its tests are reported as not run, with what to install); installs nothing. About 20 minutes on two cores
# under QEMU's TCG. PORTLAB_RECORD_KERNELS=1 writes what it measured into docs/kernels.md.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node_modules/.bin/vitest run --project kernels --maxWorkers=1 "$@"
