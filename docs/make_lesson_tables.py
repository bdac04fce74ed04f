"""Rewrite the result tables of docs/classroom.md from the classroom scenario's own seed:

    python docs/make_lesson_tables.py

Each table follows a ``<!-- results -->`` line; the experiments and columns are
sim/lesson/plan.py's. Run it when the model's draws change (tests/test_demo.py says so):
the lesson's statements are about the average train and are checked over many seeds, so
only these one-train tables move.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.cli.classroom import DEFAULT_SCENARIO  # noqa: E402
from sim.lesson import plan  # noqa: E402
from sim.scenario import load  # noqa: E402

DOC = ROOT / "docs" / "classroom.md"


def main() -> int:
    scenario = load(DEFAULT_SCENARIO)
    tables = iter(plan.tables(plan.runs(scenario, scenario.run.seed)))
    text = DOC.read_text(encoding="utf-8")
    found = len(re.findall(r"<!-- results -->\n", text))
    if found != len(plan.EXPERIMENTS):
        print(f"{DOC}: {found} '<!-- results -->' markers for {len(plan.EXPERIMENTS)} experiments", file=sys.stderr)
        return 2
    text = re.sub(r"(<!-- results -->\n)(?:\|.*\n)*", lambda m: m.group(1) + next(tables) + "\n", text)
    DOC.write_text(text, encoding="utf-8")
    print(f"rewrote the {found} tables of {DOC.relative_to(ROOT)} (seed {scenario.run.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
