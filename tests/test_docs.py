"""The documentation cannot drift from the code."""
from __future__ import annotations

import pathlib

from sim.cli.planners import COMPARISON_COLUMNS
from sim.run.results import REPLICATION_COLUMNS, TRAIN_CSV_COLUMNS
from sim.scenario import known_keys
from sim.present.scenario_docs import render

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"


def test_scenario_reference_is_current():
    """docs/scenarios.md is exactly what `python -m sim.present.scenario_docs` writes."""
    assert (DOCS / "scenarios.md").read_text() == render()


def test_every_scenario_key_is_documented():
    text = (DOCS / "scenarios.md").read_text()
    tops = {".".join(k.split(".")[:2]) for k in known_keys() if "." in k}
    assert all(f"`{k}`" in text for k in tops)


def test_every_output_column_is_documented():
    text = (DOCS / "outputs.md").read_text()
    for col in {*REPLICATION_COLUMNS, *TRAIN_CSV_COLUMNS, *COMPARISON_COLUMNS}:
        assert f"`{col}`" in text, col
