#!/usr/bin/env bash
# Install Debian packages (the arguments) the project's own scripts found missing: as root, or through sudo.
# The packages' own services (a system-wide haproxy on :80, PostgreSQL's main cluster on :5432) are not started
# (policy-rc.d 101): the project runs its own, on loopback, only while it needs them. Messages go to stderr, so
# a caller's standard output (scripts/postgres.sh prints a URL) stays clean.
set -eu
[ $# -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null; then
  echo "Missing packages: $* (install them as root: apt-get install -y $*)" >&2
  exit 1
fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
echo "Installing $* from Debian's packages ..." >&2
export DEBIAN_FRONTEND=noninteractive
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod 755 /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
