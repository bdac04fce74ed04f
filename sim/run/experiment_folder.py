"""An experiment's folder: its manifest, its finished points while it runs, its tables.

What the files hold is documented in :mod:`sim.experiments.sweep` and docs/outputs.md; this
module only reads and writes them."""
from __future__ import annotations

import math
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

from .integrity import LOCK, FolderLock, ResultsError, UnreadableError, records, seal, unseal, verify
from .results import _json_safe, check_target, clear_folder, read_manifest, remove_temporaries, write_json

MANIFEST, SCENARIO, SWEEP, SWEEP_SUMMARY, SENSITIVITY, NOISE, PARTIAL = (
    "manifest.json", "scenario.toml", "sweep.csv", "sweep_summary.csv", "sensitivity.csv",
    "sensitivity_noise.csv", "partial")
#: The data files of a finished experiment, recorded with their checksums in its manifest.
EXPERIMENT_FILES = (SCENARIO, SWEEP, SWEEP_SUMMARY, SENSITIVITY, NOISE)
_POINT_FILE = re.compile(r"point-(\d{6})\.json$")


class ExperimentFolder:
    """One experiment's folder on disk (written only through the atomic writers of
    :mod:`sim.run.results`); errors are :class:`ResultsError` naming the folder."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.lock = FolderLock(self.path)

    def manifest(self) -> dict | None:
        return read_manifest(self.path)

    def complete(self) -> bool:
        m = self.manifest()
        return bool(m) and m.get("status") == "complete"

    def prepare(self, identity: str, *, resume: bool, force: bool) -> list[int]:
        """Make the folder ready; return the points already finished. Refuses a folder that
        holds something else (unless ``force``) or this experiment (unless ``resume``)."""
        p = self.path
        check_target(p, force)
        if self._occupied() and self.manifest() is None:
            raise ResultsError(f"{p}: folder is not empty and holds no quietcar experiment; choose another --out")
        p.mkdir(parents=True, exist_ok=True)
        self.lock.acquire()  # held until finish() or release()
        remove_temporaries(p)
        if self._occupied():
            old = self.manifest() or {}
            if force:
                clear_folder(p)
            elif old.get("experiment_digest") != identity:
                raise ResultsError(f"{p}: holds a different {old.get('kind', 'run')}; "
                                  f"choose another --out or use --force to overwrite it")
            elif not resume:
                state, hint = (("finished", "--resume to reuse it or --force to run it again") if self.complete()
                               else ("unfinished", "--resume to complete it"))
                raise ResultsError(f"{p}: already holds this experiment ({state}); use {hint}")
            elif self.complete():
                verify(p)
                return []
            else:
                for i in self.finished():
                    self.point_rows(i)  # every finished point checked before it is trusted
        (p / PARTIAL).mkdir(parents=True, exist_ok=True)
        return self.finished()

    def _occupied(self) -> bool:
        return self.path.is_dir() and any(q.name != LOCK for q in self.path.iterdir())

    def release(self) -> None:
        """Let another writer in (finish() does it; also called on every way out of a run)."""
        self.lock.release()

    def finished(self) -> list[int]:
        d = self.path / PARTIAL
        return sorted(int(m.group(1)) for q in d.iterdir() if (m := _POINT_FILE.fullmatch(q.name))) \
            if d.is_dir() else []

    def write_point(self, point: int, rows: list[dict]) -> None:
        write_json(self.path / PARTIAL / f"point-{point:06d}.json",
                   seal(_json_safe({"point": point, "rows": rows})))

    def finish(self, manifest: dict, names: Iterable[str] = EXPERIMENT_FILES) -> None:
        """Write the final manifest with the checksums of every file (``names``, relative to the
        folder), then remove the partial files (after every output is written) and the lock."""
        write_json(self.path / MANIFEST, {**manifest, "files": records(self.path, names)})
        shutil.rmtree(self.path / PARTIAL, ignore_errors=True)
        self.release()

    def point_rows(self, point: int) -> list[dict]:
        path = self.path / PARTIAL / f"point-{point:06d}.json"
        data = unseal(path)
        rows = data.get("rows")
        if data.get("point") != point or not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ResultsError(f"{path}: damaged (not point {point}'s record); delete it to redo that point, "
                               f"then --resume")
        return [{k: (math.nan if v is None else v) for k, v in r.items()} for r in rows]


def read_tables(path: str | Path) -> tuple[dict, list[dict], list[dict]]:
    """A finished experiment folder's manifest, sweep rows and point summaries (as dicts)."""
    import pandas as pd
    folder = ExperimentFolder(path)
    m = verify(folder.path)
    if not (folder.path / SWEEP_SUMMARY).exists():
        raise ResultsError(f"{folder.path}: no {SWEEP_SUMMARY}; not a finished quietcar experiment")
    summary = pd.read_csv(folder.path / SWEEP_SUMMARY).to_dict("records")
    rows = pd.read_csv(folder.path / SWEEP).to_dict("records") if (folder.path / SWEEP).exists() else []
    return m, rows, summary


def is_experiment(path: str | Path) -> bool:
    """Whether a folder holds a sweep or sensitivity experiment (finished or not)."""
    try:
        m = read_manifest(Path(path))
    except UnreadableError:
        raise
    except ResultsError:
        m = None
    return (Path(path) / SWEEP_SUMMARY).exists() or bool(m) and m.get("kind") in ("sweep", "sensitivity")
