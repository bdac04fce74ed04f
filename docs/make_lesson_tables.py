"""Rewrite the result tables of docs/classroom.md and docs/classroom.zh.md from the classroom
scenario's own seed:

    python docs/make_lesson_tables.py

Each table follows a ``<!-- results -->`` line; the experiments and columns are
sim/lesson/plan.py's, the Chinese column names are read through :func:`zh` from the table of
labels. Run it when the model's draws change (tests/test_demo.py says so): the lesson's
statements are about the average train and are checked over many seeds, so only these
one-train tables move.
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

DOCS = {"en": ROOT / "docs" / "classroom.md", "zh": ROOT / "docs" / "classroom.zh.md"}


def zh(key: str) -> str:
    """A label's Chinese words, without the unit in brackets (the one place this script reads
    the table of labels: re-point it here when the table moves)."""
    from sim.lesson import labels

    return labels.label(key, "zh").split("（")[0]


def zh_column(column: str) -> str:
    """A column of plan.EXPERIMENTS in Chinese: the page's own words where it has them."""
    by_label = {"violations": "metric.violations", "noisy time": "metric.noisy_time_share",
                "quiet car full": "metric.quiet_load_factor", "requests refused": "metric.refused_share",
                "began while another ran": "metric.chained"}
    own = {"overflow travellers": f"{zh('occupant.2')}的旅客",
           "by overflow travellers": f"其中由{zh('occupant.2')}者引起",
           "per 100 passenger-hours": "每百人·小时违规次数",
           "overflow share": f"{zh('occupant.2')}者占比",
           "ended by staff": f"由{zh('ender.staff')}制止"}
    return zh(by_label[column]) if column in by_label else own[column]


def zh_cell(text: str) -> str:
    """A cell in Chinese: '3 of 21' -> '3 / 21' (numbers and percentages are the same)."""
    return re.sub(r"^(\d+) of (\d+)$", r"\1 / \2", text)


def tables(runs: dict, lang: str) -> list[str]:
    """The result tables of one lesson plan: plan.tables for English, the same in Chinese."""
    if lang == "en":
        return plan.tables(runs)
    from sim.demo import lesson_cells

    out = []
    for e in plan.EXPERIMENTS:
        lines = ["| 参数（`--set`） | " + " | ".join(zh_column(c) for c in e.columns) + " |",
                 "|---" * (len(e.columns) + 1) + "|"]
        for s in e.settings:
            cells = lesson_cells(runs[s])
            label = " ".join(f"`{x}`" for x in s) or "（无：课堂列车）"
            lines.append(f"| {label} | " + " | ".join(zh_cell(cells[c]) for c in e.columns) + " |")
        out.append("\n".join(lines))
    return out


def doc_tables(lang: str) -> list[str]:
    """The tables as the document has them now."""
    text = DOCS[lang].read_text(encoding="utf-8")
    return [b.strip() for b in re.findall(r"<!-- results -->\n(.*?)\n\n", text, flags=re.S)]


def main() -> int:
    scenario = load(DEFAULT_SCENARIO)
    runs = plan.runs(scenario, scenario.run.seed)
    for lang, doc in DOCS.items():
        text = doc.read_text(encoding="utf-8")
        found = len(re.findall(r"<!-- results -->\n", text))
        if found != len(plan.EXPERIMENTS):
            print(f"{doc}: {found} '<!-- results -->' markers for {len(plan.EXPERIMENTS)} experiments",
                  file=sys.stderr)
            return 2
        made = iter(tables(runs, lang))
        text = re.sub(r"(<!-- results -->\n)(?:\|.*\n)*", lambda m: m.group(1) + next(made) + "\n", text)
        doc.write_text(text, encoding="utf-8")
        print(f"rewrote the {found} tables of {doc.relative_to(ROOT)} (seed {scenario.run.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
