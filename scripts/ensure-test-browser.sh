#!/usr/bin/env bash
# The report tests open pages in a real browser: Debian's chromium, driven by playwright-core (which never downloads
# a browser of its own). Installs the package when it is missing; a quick no-op when it is there. Users need no
# browser to get a report: portlab renders its charts in Node.
set -euo pipefail
browser=${PORTLAB_CHROMIUM:-/usr/bin/chromium}
if [ -x "$browser" ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "the report tests need Chromium at $browser: install Debian's chromium package (apt-get install chromium), or set PORTLAB_CHROMIUM to a Chromium binary" >&2
  exit 1
fi
echo "installing chromium from Debian's packages (for the report tests)..."
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
