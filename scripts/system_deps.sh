#!/usr/bin/env bash
# Debian packages the test suite needs: Chromium for the browser tests (Playwright drives Debian's
# chromium; Playwright's own browser download is not reachable). Idempotent and quiet when present.
set -eu
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null; then
  echo "Missing packages: ${need[*]} (install them as root: apt-get install -y ${need[*]})" >&2
  exit 1
fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
echo "Installing ${need[*]} from Debian's packages ..."
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
