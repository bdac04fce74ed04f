"""The results folder: the only code that reads and writes ``results/``.

Layout of a run folder::

    manifest.json        what ran: version, scenario digest, seed, replications, workers,
                         command line, timings, status (running | complete)
    scenario.toml        the resolved scenario (every value, defaults included)
    replications.csv     one row per replication: replication, then one column per metric
    trains.csv           one row per train and replication
    summary.json         {metric: {mean, sd, ci_low, ci_high, n}}; written last, only on success
    partial/             finished replications of a run in progress (removed when complete)

Every file is written under a temporary name and renamed into place, so a file that exists
is whole. An interrupted run leaves its finished replications in ``partial/`` and no
``summary.json``; ``--resume`` completes it with exactly the numbers of an uninterrupted run.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import sys
import platform
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from .metrics import HEADLINE, METRIC_NAMES, imprecise, replications_needed, summarise
from .runner import TRAIN_COLUMNS, ReplicationResult, pool, require_dask, run_replications
from .uncertainty import predictive_summary
from ..scenario import Scenario

MANIFEST, SCENARIO, REPLICATIONS, TRAINS, SUMMARY, PARTIAL = (
    "manifest.json", "scenario.toml", "replications.csv", "trains.csv", "summary.json", "partial")


class ResultsError(RuntimeError):
    """A results folder that cannot be used as asked (the message says why and what to do)."""


def _atomic_write(path: Path, text: str) -> None:
    _atomic_bytes(path, text.encode("utf-8"))


def _atomic_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, flush it to disk, then rename it over ``path``:
    a reader sees the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "NaN" if math.isnan(v) else repr(v)
    return str(v)


def _csv_text(header: Sequence[str], rows: Iterable[Mapping[str, Any]], with_header: bool = True) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if with_header:
        w.writerow(header)
    for row in rows:
        w.writerow([_fmt(row[h]) for h in header])
    return buf.getvalue()


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def _json(obj: Any) -> str:
    return json.dumps(_json_safe(obj), indent=2, ensure_ascii=False) + "\n"


REPLICATION_COLUMNS: tuple[str, ...] = ("replication",) + METRIC_NAMES
TRAIN_CSV_COLUMNS: tuple[str, ...] = TRAIN_COLUMNS + METRIC_NAMES


def read_manifest(folder: Path) -> dict | None:
    """A results or experiment folder's manifest.json, or None if it has none."""
    p = folder / MANIFEST
    if not p.exists():
        return None
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ResultsError(f"{p}: unreadable manifest ({e})") from None


@dataclass(frozen=True)
class Identity:
    """What makes two runs the same run: the resolved scenario, the seed, the replications
    asked for (the maximum, with a precision target) and the precision target if any."""
    digest: str
    seed: int
    replications: int
    precision: float | None = None


class RunFolder:
    """One run's folder on disk."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    # --- state ---
    def manifest(self) -> dict | None:
        return read_manifest(self.path)

    def identity(self) -> Identity | None:
        m = self.manifest()
        if m is None:
            return None
        return Identity(m["scenario_digest"], m["seed"], m["replications"], m.get("precision"))

    def complete(self) -> bool:
        return (self.path / SUMMARY).exists()

    def finished(self) -> list[int]:
        """Replications already on disk (in ``partial/``)."""
        d = self.path / PARTIAL
        if not d.is_dir():
            return []
        return sorted(int(p.stem.split("-")[1]) for p in d.glob("rep-*.json"))

    # --- writing ---
    def prepare(self, scenario: Scenario, seed: int, replications: int, *, resume: bool, force: bool,
                manifest: Mapping[str, Any], precision: float | None = None, digest: str | None = None) -> list[int]:
        """Make the folder ready for this run; return the replications already done.

        Refuses (ResultsError) a folder that holds another run unless ``force``, and an
        unfinished run of this one unless ``resume``; a finished run of this one is reused.
        """
        ident = Identity(digest or scenario.digest(), seed, replications, precision)
        if self.path.exists() and not self.path.is_dir():
            raise ResultsError(f"{self.path}: exists and is not a folder")
        if self.path.exists() and any(self.path.iterdir()) and self.manifest() is None:
            raise ResultsError(f"{self.path}: folder is not empty and holds no quietcar run; "
                               f"choose another --out (--force only replaces quietcar runs)")
        if self.path.exists() and any(self.path.iterdir()) and not force:
            old = self.identity()
            if old != ident:
                what = [n for n, a, b in (("scenario", old.digest, ident.digest), ("seed", old.seed, ident.seed),
                                          ("replications", old.replications, ident.replications),
                                          ("precision", old.precision, ident.precision)) if a != b]
                raise ResultsError(f"{self.path}: holds a different run ({', '.join(what)} differ); "
                                   f"choose another --out or use --force to overwrite it")
            if self.complete():
                return list(range(replications))  # the same numbers again: reuse them
            if not resume:
                raise ResultsError(f"{self.path}: holds this run, unfinished; use --resume to complete it "
                                   f"(or --force to start again)")
        elif force and self.path.exists():
            shutil.rmtree(self.path)
        (self.path / PARTIAL).mkdir(parents=True, exist_ok=True)
        _atomic_write(self.path / SCENARIO, scenario.to_toml())
        self.write_manifest({**manifest, "status": "running"})
        return self.finished()

    def write_manifest(self, manifest: Mapping[str, Any]) -> None:
        _atomic_write(self.path / MANIFEST, _json({"quietcar_version": __version__, **manifest}))

    def write_replication(self, rep: ReplicationResult) -> None:
        """Store one finished replication: its trains, then its metrics (the marker of 'done')."""
        d = self.path / PARTIAL
        _atomic_write(d / f"trains-{rep.replication:06d}.csv", _csv_text(TRAIN_CSV_COLUMNS, rep.trains, False))
        _atomic_write(d / f"rep-{rep.replication:06d}.json",
                      _json({"replication": rep.replication, "metrics": rep.metrics, "tally": rep.tally,
                             "mc_var": rep.mc_var}))

    def replication_metrics(self) -> list[dict[str, float]]:
        out = []
        for r in self.finished():
            data = json.loads((self.path / PARTIAL / f"rep-{r:06d}.json").read_text(encoding="utf-8"))
            m = {k: (math.nan if v is None else v) for k, v in data["metrics"].items()}
            out.append({"replication": r, **m})
        return out

    def finalize(self, replications: int, manifest: Mapping[str, Any]) -> dict[str, dict]:
        """Assemble replications 0..replications-1 into the result files; then summary.json."""
        rows = [r for r in self.replication_metrics() if r["replication"] < replications]
        if [r["replication"] for r in rows] != list(range(replications)):
            raise ResultsError(f"{self.path}: replications missing, cannot finish")
        _atomic_write(self.path / REPLICATIONS, _csv_text(REPLICATION_COLUMNS, rows))
        tmp = self.path / f".{TRAINS}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8", newline="") as out:
            out.write(",".join(TRAIN_CSV_COLUMNS) + "\n")
            for r in range(replications):
                with open(self.path / PARTIAL / f"trains-{r:06d}.csv", encoding="utf-8") as part:
                    shutil.copyfileobj(part, out)
        os.replace(tmp, self.path / TRAINS)
        summary = {m: summarise([row[m] for row in rows]) for m in METRIC_NAMES}
        if manifest.get("posterior"):
            for m, p in predictive_summary(rows, self.replication_mc_vars(replications)).items():
                summary[m]["predictive"] = p
        self.write_manifest({**manifest, "status": "complete"})
        _atomic_write(self.path / SUMMARY, _json(summary))
        shutil.rmtree(self.path / PARTIAL, ignore_errors=True)
        return summary

    def replication_mc_vars(self, replications: int) -> list[dict[str, float]]:
        """Each replication's Monte-Carlo variance per metric (jackknife within the day)."""
        out = []
        for r in range(replications):
            data = json.loads((self.path / PARTIAL / f"rep-{r:06d}.json").read_text(encoding="utf-8"))
            out.append({k: (math.nan if v is None else v) for k, v in (data.get("mc_var") or {}).items()})
        return out

    # --- reading ---
    def summary(self) -> dict[str, dict]:
        p = self.path / SUMMARY
        if not p.exists():
            state = "an unfinished run (use quietcar run --resume)" if self.manifest() else "no quietcar run"
            raise ResultsError(f"{self.path}: no {SUMMARY}; the folder holds {state}")
        data = json.loads(p.read_text(encoding="utf-8"))
        return {m: {k: (math.nan if v is None else v) if k != "predictive" else
                    {a: (math.nan if b is None else b) for a, b in v.items()} for k, v in s.items()}
                for m, s in data.items()}

    def replications(self) -> list[dict[str, float]]:
        with open(self.path / REPLICATIONS, encoding="utf-8", newline="") as f:
            return [{k: (int(v) if k == "replication" else float(v)) for k, v in row.items()}
                    for row in csv.DictReader(f)]


def run_into(folder: RunFolder, scenario: Scenario, seed: int, replications: int, workers: int, *,
             resume: bool, force: bool, scheduler: str | None = None,
             precision: float | None = None, max_replications: int | None = None,
             on_trains: Callable[[int], None] | None = None,
             on_start: Callable[[int], None] | None = None, extra: Mapping[str, Any] | None = None,
             scenario_of: Callable[[int], Scenario] | None = None, digest: str | None = None
             ) -> dict[str, dict]:
    """Run (or complete) a scenario into its folder and return the summary.

    A folder that already holds this run, complete, is reused as it is (with ``resume``).
    Trains run in a local pool of ``workers`` processes, or on the Dask ``scheduler``.
    With ``precision`` R, replications are added after the first ``replications`` until every
    headline metric's 95 % half-width is <= R x |mean| or ``max_replications`` are done; the
    manifest says which (``precision_met``). ``on_start(trains)`` is called with the trains of
    each batch, ``on_trains(k)`` as trains finish. A KeyboardInterrupt leaves the finished
    replications on disk and propagates.
    """
    cap = max(replications, max_replications or replications) if precision else replications
    manifest = {"scenario": scenario.source, "description": scenario.description,
                "scenario_digest": digest or scenario.digest(), "seed": seed, "replications": cap,
                "precision": precision, "workers": workers, "scheduler": scheduler,
                "trains_per_replication": scenario.network.trains,
                "command": command_line(), "python": platform.python_version(), "platform": platform.platform(),
                **(extra or {})}
    if scheduler:
        require_dask()
    done = folder.prepare(scenario, seed, cap, resume=resume, force=force, manifest=manifest, precision=precision,
                          digest=digest)
    if folder.complete():
        return folder.summary()
    start = time.perf_counter()
    target = max(replications, len(done))
    with pool(workers, scheduler) as mapper:
        while True:
            todo = [r for r in range(target) if r not in set(folder.finished())]
            if on_start:
                on_start(len(todo) * scenario.network.trains)
            for rep in run_replications(scenario, seed, todo, mapper, on_trains, scenario_of):
                folder.write_replication(rep)
            if precision is None:
                break
            need = replications_needed(folder.replication_metrics(), HEADLINE, precision)
            if need <= target or target >= cap:
                break
            target = int(min(cap, max(need, target + 1)))
    manifest["wall_seconds"] = round(time.perf_counter() - start, 3)
    manifest["resumed_replications"] = len(done)
    manifest["replications_done"] = target
    if precision is not None:
        rows = folder.replication_metrics()
        manifest["precision_met"] = not imprecise(rows, HEADLINE, precision)
        manifest["imprecise_metrics"] = imprecise(rows, HEADLINE, precision)
    return folder.finalize(target, manifest)


def write_text(path: str | Path, text: str) -> None:
    """Write any other output file atomically (comparison tables, reports)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(Path(path), text)


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write a binary output file (a figure) atomically."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    _atomic_bytes(Path(path), data)


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, _json(obj))


def csv_text(header: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    return _csv_text(header, rows)


def command_line() -> str:
    return " ".join(sys.argv)
