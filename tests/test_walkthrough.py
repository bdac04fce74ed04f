"""The walkthrough of docs/model.md ("Adding a mechanism to both engines") is true: its changes
apply to today's code, and with them both engines give the same records and trace and the
rule does what it says (its own tests, run on a patched copy of the code)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Adding a mechanism to both engines"


def walkthrough_changes() -> list[tuple[str, str, str]]:
    """(file, old text, new text) of every diff block of the walkthrough, in order; a block
    belongs to the file named in backquotes at the start of the last line before it."""
    text = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    section = text[text.index(SECTION):]
    changes, path = [], None
    for block in re.finditer(r"^(`[^`]+`[^\n]*)\n|^```diff\n(.*?)^```$", section, re.M | re.S):
        if block.group(1):
            path = block.group(1).split("`")[1]
            continue
        old, new = [], []
        for line in block.group(2).splitlines():
            mark, rest = line[:1], line[1:]
            if mark in " -":
                old.append(rest)
            if mark in " +":
                new.append(rest)
        changes.append((path, "\n".join(old) + "\n", "\n".join(new) + "\n"))
    return changes


def apply(root: Path, changes) -> None:
    for path, old, new in changes:
        f = root / path
        text = f.read_text(encoding="utf-8")
        if old.strip():
            assert text.count(old) == 1, f"{path}: the walkthrough's change does not apply:\n{old}"
            text = text.replace(old, new)
        else:
            text += new
        f.write_text(text, encoding="utf-8")


def test_every_change_of_the_walkthrough_names_its_file_and_applies(tmp_path):
    changes = walkthrough_changes()
    assert {p for p, _, _ in changes} == {"sim/model/params.py", "sim/model/onboard.py", "sim/model/onboard_loop.py",
                                         "tests/test_onboard_loop.py", "tests/test_onboard_rules.py"}
    for path in {p for p, _, _ in changes}:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / path, tmp_path / path)
    apply(tmp_path, changes)


@pytest.mark.slow
def test_the_walkthrough_mechanism_is_equal_in_both_engines_and_does_what_it_says(tmp_path):
    """On a copy with the walkthrough applied (compiled afresh: about a minute), the new
    equivalence case and the new rule test pass, and nothing else was needed."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("sim", "tests", "scenarios"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=ignore)
    apply(tmp_path, walkthrough_changes())
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "firmer",
                        "tests/test_onboard_loop.py", "tests/test_onboard_rules.py"],
                       cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)},
                       capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert re.search(r"\b2 passed\b", r.stdout), r.stdout[-2000:]
