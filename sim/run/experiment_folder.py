"""An experiment's folder: its manifest, its finished points while it runs, its tables.

What the files hold is documented in :mod:`sim.experiments.sweep` and docs/outputs.md; this
module only reads and writes them."""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

from .results import ResultsError, read_manifest, write_json

MANIFEST, SCENARIO, SWEEP, SWEEP_SUMMARY, SENSITIVITY, NOISE, PARTIAL = (
    "manifest.json", "scenario.toml", "sweep.csv", "sweep_summary.csv", "sensitivity.csv",
    "sensitivity_noise.csv", "partial")


class ExperimentFolder:
    """One experiment's folder on disk (written only through the atomic writers of
    :mod:`sim.run.results`); errors are :class:`ResultsError` naming the folder."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def manifest(self) -> dict | None:
        return read_manifest(self.path)

    def complete(self) -> bool:
        m = self.manifest()
        return bool(m) and m.get("status") == "complete"

    def prepare(self, identity: str, *, resume: bool, force: bool) -> list[int]:
        """Make the folder ready; return the points already finished. Refuses a folder that
        holds something else (unless ``force``) or this experiment (unless ``resume``)."""
        p = self.path
        if p.exists() and not p.is_dir():
            raise ResultsError(f"{p}: exists and is not a folder")
        if p.exists() and any(p.iterdir()):
            old = self.manifest()
            if old is None:
                raise ResultsError(f"{p}: folder is not empty and holds no quietcar experiment; choose another --out")
            if force:
                shutil.rmtree(p)
            elif old.get("experiment_digest") != identity:
                raise ResultsError(f"{p}: holds a different {old.get('kind', 'run')}; "
                                  f"choose another --out or use --force to overwrite it")
            elif not resume:
                state, hint = (("finished", "--resume to reuse it or --force to run it again") if self.complete()
                               else ("unfinished", "--resume to complete it"))
                raise ResultsError(f"{p}: already holds this experiment ({state}); use {hint}")
            elif self.complete():
                return []
        (p / PARTIAL).mkdir(parents=True, exist_ok=True)
        return self.finished()

    def finished(self) -> list[int]:
        d = self.path / PARTIAL
        return sorted(int(q.stem.split("-")[1]) for q in d.glob("point-*.json")) if d.is_dir() else []

    def write_point(self, point: int, rows: list[dict]) -> None:
        write_json(self.path / PARTIAL / f"point-{point:06d}.json", {"point": point, "rows": rows})

    def finish(self, manifest: dict) -> None:
        """Write the final manifest, then remove the partial files (after every output is written)."""
        write_json(self.path / MANIFEST, manifest)
        shutil.rmtree(self.path / PARTIAL, ignore_errors=True)

    def point_rows(self, point: int) -> list[dict]:
        data = json.loads((self.path / PARTIAL / f"point-{point:06d}.json").read_text(encoding="utf-8"))
        return [{k: (math.nan if v is None else v) for k, v in r.items()} for r in data["rows"]]


def read_tables(path: str | Path) -> tuple[dict, list[dict], list[dict]]:
    """A finished experiment folder's manifest, sweep rows and point summaries (as dicts)."""
    import pandas as pd
    folder = ExperimentFolder(path)
    m = folder.manifest() or {}
    if not (folder.path / SWEEP_SUMMARY).exists():
        raise ResultsError(f"{folder.path}: no {SWEEP_SUMMARY}; not a finished quietcar experiment")
    summary = pd.read_csv(folder.path / SWEEP_SUMMARY).to_dict("records")
    rows = pd.read_csv(folder.path / SWEEP).to_dict("records") if (folder.path / SWEEP).exists() else []
    return m, rows, summary


def is_experiment(path: str | Path) -> bool:
    return (Path(path) / SWEEP_SUMMARY).exists()
