#!/usr/bin/env bash
# Print the path of the Python a runtime wants, or explain how to get one and fail.
#   scripts/find_python.sh                                 the service runtime (.python-version: 3.12)
#   scripts/find_python.sh requirements/rasa.python-version  the Rasa runtime (3.10: Rasa Open Source 3.6 runs on
#                                                          Python 3.8-3.10 only)
# The file names a full version (pyenv reads it too); any patch release of that minor version will do, the named
# one first. PYTHON (service) or RASA_PYTHON_BIN (Rasa) points at one by hand.
set -u
file=${1:-.python-version}
full=$(tr -d '[:space:]' < "$file") || exit 1
want=$(echo "$full" | cut -d. -f1,2)
candidates=()
if [ "$file" = ".python-version" ]; then
  [ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
else
  [ -n "${RASA_PYTHON_BIN:-}" ] && candidates+=("$RASA_PYTHON_BIN")
fi
root="${PYENV_ROOT:-$HOME/.pyenv}"
[ -x "$root/versions/$full/bin/python$want" ] && candidates+=("$root/versions/$full/bin/python$want")
candidates+=("python$want")
if command -v pyenv >/dev/null 2>&1; then
  p=$(PYENV_VERSION="$full" pyenv which "python$want" 2>/dev/null) && candidates+=("$p")
fi
for d in "$root"/versions/"$want"*/bin /usr/local/bin /usr/bin; do
  [ -x "$d/python$want" ] && candidates+=("$d/python$want")
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
Recobra needs Python $want ($file names $full), and none was found.
Install it, for example with pyenv:  pyenv install $full
or point to one:                      make PYTHON=/path/to/python$want ...   (the Rasa runtime: RASA_PYTHON_BIN=...)
MSG
exit 1
