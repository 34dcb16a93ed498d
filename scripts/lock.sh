#!/usr/bin/env bash
# `make lock`: re-resolve each runtime's requirements/*.in into its two lock files, each in ONE install into a
# throwaway virtualenv, checked by pip check:
#   service-dev.lock  service.in + service-dev.in, on .python-version's Python (what .venv installs)
#   service.lock      service.in alone, constrained to service-dev.lock's pins (what a service image installs)
#   rasa-dev.lock     rasa.in + rasa-dev.in, on requirements/rasa.python-version's Python (what .venv-rasa installs)
#   rasa.lock         rasa.in alone, constrained to rasa-dev.lock's pins (what a Rasa image installs)
# So an image runs exactly the versions the tests ran, minus the test tools. `scripts/lock.sh service` (or `rasa`)
# re-resolves one runtime only.
set -euo pipefail
cd "$(dirname "$0")/.."
noise="is ignored: it is neither a file nor a directory"
tmp=$(mktemp -d /tmp/recobra-lock.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

resolve() {  # resolve NAME VERSION_FILE OUT_LOCK pip-args...
  local name=$1 version_file=$2 out=$3
  shift 3
  local py venv="$tmp/$name"
  py=$(scripts/find_python.sh "$version_file")
  "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "pip<27" 2>&1 \
    | { grep -v "$noise" || true; }
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" 2>&1 | { grep -v "$noise" || true; }
  "$venv/bin/python" -m pip check
  "$venv/bin/python" -m pip freeze --exclude-editable > "$out"
  echo "$out: $(wc -l < "$out") pins ($("$venv/bin/python" -V))"
}

r=requirements
which=${1:-both}  # scripts/lock.sh service | rasa: one runtime's two locks
if [ "$which" != rasa ]; then
  resolve service-dev .python-version $r/service-dev.lock -r $r/service.in -r $r/service-dev.in
  resolve service .python-version $r/service.lock -r $r/service.in -c $r/service-dev.lock
fi
if [ "$which" != service ]; then
  resolve rasa-dev $r/rasa.python-version $r/rasa-dev.lock -r $r/rasa.in -r $r/rasa-dev.in
  resolve rasa $r/rasa.python-version $r/rasa.lock -r $r/rasa.in -c $r/rasa-dev.lock
fi
