#!/usr/bin/env bash
# The token embeddings the intent ensemble reads (components/embeddings.py), taken from the registry at
# setup time, never at run time: WordLlama's published wheel carries a 32,000 x 256 table of token
# embeddings (Llama 2's tokenizer, trained for sentence similarity) and its tokenizer. The package itself
# wants numpy 2, which rasa 3.6 forbids, so only those two files are taken out of the pinned, hash-checked
# wheel; `tokenizers` and `safetensors` (requirements/rasa.lock) read them. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=models/wordllama
WHEEL=wordllama-0.4.0.post1-cp310-cp310-manylinux2014_x86_64.manylinux_2_17_x86_64.whl
SHA256=684abaaedeecfc841658715e119e8b222b9a39eccf74b0f747f50e7976a22280
FILES=(wordllama/weights/l2_supercat_256.safetensors wordllama/tokenizers/l2_supercat_tokenizer_config.json)
PY=${PY:-.venv/bin/python}

if [ -s "$DEST/l2_supercat_256.safetensors" ] && [ -s "$DEST/l2_supercat_tokenizer_config.json" ]; then
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "Fetching the token embeddings (wordllama 0.4.0.post1, 19 MB) ..."
"$PY" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  --python-version 3.10 --platform manylinux2014_x86_64 --dest "$tmp" "wordllama==0.4.0.post1" 2>&1 \
  | { grep -v "is ignored: it is neither a file nor a directory" || true; }
echo "$SHA256  $tmp/$WHEEL" | sha256sum --check --quiet
mkdir -p "$DEST"
"$PY" - "$tmp/$WHEEL" "$DEST" "${FILES[@]}" <<'EOF'
import sys, zipfile
from pathlib import Path
wheel, dest, names = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
with zipfile.ZipFile(wheel) as archive:
    for name in names:
        (dest / Path(name).name).write_bytes(archive.read(name))
    (dest / "LICENSE").write_bytes(archive.read("wordllama-0.4.0.post1.dist-info/licenses/LICENSE"))
EOF
echo "Token embeddings in $DEST"
