"""The repository documents itself: no file cites a document a user who clones Recobra cannot read.

The HTTP contract is ``docs/api.md`` (and ``/api/v1/openapi.json``), the provider and legal facts
``docs/platform.md``; notes that once lived outside the repository must not be cited by name."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE = re.compile(r"\b(CONTRACT|PLATFORM|STYLE|ARCHITECTURE)\.md\b")


def repository_files() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / name for name in out.decode().split("\0") if name]


def test_no_file_cites_a_document_outside_the_repository():
    me = Path(__file__).resolve()
    offenders = []
    for path in repository_files():
        if path.resolve() == me or not path.is_file() or path.is_symlink():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        offenders += [
            f"{path.relative_to(ROOT)}:{n}: {m.group(0)}"
            for n, line in enumerate(text.splitlines(), 1)
            for m in OUTSIDE.finditer(line)
        ]
    assert not offenders, "cite docs/api.md or docs/platform.md instead:\n" + "\n".join(offenders)


def test_the_readme_points_at_the_contract_and_every_doc_it_names_exists():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("docs/api.md", "docs/platform.md", "/api/v1/openapi.json"):
        assert name in readme, name
    for name in set(re.findall(r"\bdocs/[\w./-]+\.md\b", readme)):
        assert (ROOT / name).is_file(), f"README names {name}, which does not exist"


def test_the_contract_docs_link_only_to_files_that_exist():
    for doc in ("docs/api.md", "docs/platform.md"):
        text = (ROOT / doc).read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#:]+)\)", text):  # relative Markdown links
            assert ((ROOT / doc).parent / target).is_file(), f"{doc} links to {target}, which does not exist"
