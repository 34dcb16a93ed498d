#!/usr/bin/env bash
# Debian packages `make run-scaled` needs: PostgreSQL (the store and Rasa's tracker store, a cluster of the
# launcher's own on a loopback port) and HAProxy (the load balancer in front of the web, Rasa and action
# servers). Established engines from Debian, not Python stand-ins, so the run has production's shape.
# Idempotent and quiet when present, like scripts/system_deps.sh.
set -eu
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
exec "$(dirname "$0")/apt_install.sh" ${need[@]+"${need[@]}"}
