#!/usr/bin/env bash
# Debian packages `make run-scaled` needs: PostgreSQL (the store and Rasa's tracker store, a cluster of the
# launcher's own on a loopback port) and HAProxy (the load balancer in front of the web, Rasa and action
# servers). Established engines from Debian, not Python stand-ins, so the run has production's shape.
# Idempotent and quiet when present, like scripts/system_deps.sh.
set -eu
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null; then
  echo "Missing packages: ${need[*]} (install them as root: apt-get install -y ${need[*]})" >&2
  exit 1
fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
echo "Installing ${need[*]} from Debian's packages ..."
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# policy-rc.d 101: the packages' own services (a system-wide haproxy on :80, PostgreSQL's main cluster on
# :5432) are not started; the launcher runs its own, on loopback, only while `make run-scaled` runs.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod 755 /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
