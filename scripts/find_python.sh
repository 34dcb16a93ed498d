#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter, or explain how to get one and fail.
# Rasa Open Source 3.6 supports Python 3.8-3.10 only; Recobra pins 3.10 (.python-version).
set -u
want="3.10"
candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
candidates+=(python3.10)
if command -v pyenv >/dev/null 2>&1; then
  p=$(pyenv which python3.10 2>/dev/null) && candidates+=("$p")
fi
for d in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10*/bin /usr/local/bin /usr/bin; do
  [ -x "$d/python3.10" ] && candidates+=("$d/python3.10")
done
for c in "${candidates[@]}"; do
  path=$(command -v "$c" 2>/dev/null) || continue
  v=$("$path" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || continue
  if [ "$v" = "$want" ]; then
    echo "$path"
    exit 0
  fi
done
cat >&2 <<MSG
Recobra needs Python $want (Rasa Open Source 3.6 runs on 3.8-3.10 only), and none was found.
Install it, for example with pyenv:  pyenv install 3.10.13   (the repo's .python-version selects it)
or point to one:                      make PYTHON=/path/to/python3.10 run
MSG
exit 1
