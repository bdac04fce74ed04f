"""The results folder: the only code that reads and writes ``results/``.

Layout of a run folder::

    manifest.json        what ran: version, scenario digest, seed, replications, workers,
                         command line, timings, status (running | complete)
    scenario.toml        the resolved scenario (every value, defaults included)
    replications.csv     one row per replication: replication, then one column per metric
    trains.csv           one row per train and replication
    summary.json         {metric: {mean, sd, ci_low, ci_high, n}}; written only on success
    partial/             finished replications of a run in progress (removed when complete)
    .lock                only while a quietcar process writes the folder (see integrity.py)

Every file is written under a temporary name and renamed into place, so a file that exists
is whole. The manifest is written last with ``status: complete`` and the SHA-256 and rows
of every file (:mod:`.integrity`); readers verify them before they trust the folder. An
interrupted run leaves its finished replications in ``partial/`` (each sealed with its own
checksum) and ``status: running``; ``--resume`` checks them and completes the run with
exactly the numbers of an uninterrupted run.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import numbers
import os
import re
import shlex
import shutil
import sys
import platform
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from .integrity import (LOCK, FolderLock, ResultsError, UnreadableError, check_file, manifest_of, record, records,
                        seal, unseal, verify)
from .denominators import DENOMINATOR_COLUMNS, denominators
from .metrics import HEADLINE, METRIC_NAMES, imprecise, replications_needed, summarise
from .runner import TRAIN_COLUMNS, ReplicationResult, pool, require_dask, run_replications
from .uncertainty import predictive_summary
from ..scenario import Scenario

MANIFEST, SCENARIO, REPLICATIONS, TRAINS, SUMMARY, PARTIAL = (
    "manifest.json", "scenario.toml", "replications.csv", "trains.csv", "summary.json", "partial")


def _atomic_write(path: Path, text: str) -> None:
    _atomic_bytes(path, text.encode("utf-8"))


def _atomic_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, flush it to disk, then rename it over ``path``:
    a reader sees the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        _discard(tmp)
        raise OSError(e.errno, e.strerror, str(path)) from None  # name the file, not its temporary
    except BaseException:
        _discard(tmp)
        raise


def _discard(tmp: Path) -> None:
    """Remove a temporary file on the way out of a failed write (it may not exist)."""
    try:
        tmp.unlink()
    except OSError:
        pass


def _fmt(v: Any) -> str:
    """A CSV cell: numbers as plain numbers (numpy's too: never ``np.float64(...)``), NaN as NaN."""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        x = float(v)
        return "NaN" if math.isnan(x) else repr(x)
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


#: The run's identity, first in every row of replications.csv and trains.csv (so tables of
#: several runs can be stacked and joined): the scenario file's stem, the SHA-256 of the
#: resolved scenario, the SHA-256 of the overrides as given (one per line; of "" if none), the seed.
IDENTITY_COLUMNS: tuple[str, ...] = ("scenario", "scenario_digest", "overrides_digest", "seed")
REPLICATION_COLUMNS: tuple[str, ...] = IDENTITY_COLUMNS + ("replication",) + METRIC_NAMES + DENOMINATOR_COLUMNS
#: A partial trains file holds these; trains.csv adds the identity in front.
PARTIAL_TRAIN_COLUMNS: tuple[str, ...] = TRAIN_COLUMNS + METRIC_NAMES + DENOMINATOR_COLUMNS
TRAIN_CSV_COLUMNS: tuple[str, ...] = IDENTITY_COLUMNS + PARTIAL_TRAIN_COLUMNS


def identity_row(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The identity columns of a run, from its manifest."""
    overrides = "\n".join(manifest.get("overrides") or [])
    return {"scenario": Path(str(manifest.get("scenario", ""))).stem, "scenario_digest": manifest["scenario_digest"],
            "overrides_digest": hashlib.sha256(overrides.encode()).hexdigest(), "seed": manifest["seed"]}


def read_manifest(folder: Path) -> dict | None:
    """A results or experiment folder's manifest.json, or None if it has none (ResultsError
    naming the file if it is unreadable or not a JSON object)."""
    return manifest_of(folder)


#: The data files of a finished run, recorded with their checksums in its manifest.
RUN_FILES = (SCENARIO, REPLICATIONS, TRAINS, SUMMARY)
_REP_FILE = re.compile(r"rep-(\d{6})\.json$")


_TEMPORARY = re.compile(r"\..+\.tmp-\d+$")


def remove_temporaries(path: Path) -> None:
    """Remove the temporary files (``.NAME.tmp-PID``) that a writer killed mid-write (SIGKILL,
    power loss) left in a folder and its ``partial/``. Called under the folder's lock: no other
    quietcar is writing there, so every such file is debris."""
    for d in (path, path / PARTIAL):
        if not d.is_dir() or d.is_symlink():
            continue
        for child in d.iterdir():
            if _TEMPORARY.fullmatch(child.name) and (child.is_symlink() or child.is_file()):
                child.unlink(missing_ok=True)


def clear_folder(path: Path) -> None:
    """Remove what a quietcar folder holds (for --force), never following a symbolic link out
    of it, and keeping its lock."""
    for child in path.iterdir():
        if child.name == LOCK:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def check_target(path: Path, force: bool) -> None:
    """Refuse, before anything is written, an output path that cannot be a results folder:
    a file, a dangling link, or (with --force, which would clear it) a symbolic link."""
    if path.is_symlink():
        if not path.exists():
            raise ResultsError(f"{path}: is a dangling symbolic link; choose another --out")
        if force:
            raise ResultsError(f"{path}: is a symbolic link; --force never clears what a link points to "
                               f"(give the real folder)")
    if path.exists() and not path.is_dir():
        raise ResultsError(f"{path}: exists and is not a folder")


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
        self.lock = FolderLock(self.path)

    # --- state ---
    def manifest(self) -> dict | None:
        return read_manifest(self.path)

    def identity(self) -> Identity | None:
        m = self.manifest()
        if m is None:
            return None
        if m.get("kind", "run") != "run":
            return Identity(f"a {m.get('kind')} folder", -1, -1)
        try:
            return Identity(m["scenario_digest"], m["seed"], m["replications"], m.get("precision"))
        except KeyError as e:
            raise ResultsError(f"{self.path / MANIFEST}: damaged (no {e.args[0]})") from None

    def complete(self) -> bool:
        """Whether the folder holds a finished run (its manifest says so; :meth:`verify` checks it)."""
        try:
            m = self.manifest()
        except UnreadableError:
            raise
        except ResultsError:
            return False
        return bool(m) and m.get("status") == "complete" and (self.path / SUMMARY).exists()

    def finished(self) -> list[int]:
        """Replications already on disk (in ``partial/``)."""
        d = self.path / PARTIAL
        if not d.is_dir():
            return []
        return sorted(int(m.group(1)) for p in d.iterdir() if (m := _REP_FILE.fullmatch(p.name)))

    def verify(self) -> dict:
        """Check the finished run against the checksums in its manifest; return the manifest."""
        return verify(self.path)

    def verify_partial(self) -> None:
        """Check every finished replication of a run in progress (its own checksum, its trains)."""
        for r in self.finished():
            self._partial(r)

    def _partial(self, r: int) -> dict:
        rep_path = self.path / PARTIAL / f"rep-{r:06d}.json"
        data = unseal(rep_path)
        if data.get("replication") != r or not isinstance(data.get("metrics"), dict) or "trains" not in data:
            raise ResultsError(f"{rep_path}: damaged (not replication {r}'s record); delete it to redo that "
                               f"replication, then --resume")
        check_file(self.path / PARTIAL / f"trains-{r:06d}.csv", data["trains"],
                   f"delete it and {rep_path.name} to redo that replication, then --resume")
        return data

    # --- writing ---
    def prepare(self, scenario: Scenario, seed: int, replications: int, *, resume: bool, force: bool,
                manifest: Mapping[str, Any], precision: float | None = None, digest: str | None = None) -> list[int]:
        """Make the folder ready for this run; return the replications already done.

        Refuses (ResultsError) a folder that holds another run unless ``force``, and an
        unfinished run of this one unless ``resume``; a finished run of this one is reused.
        """
        ident = Identity(digest or scenario.digest(), seed, replications, precision)
        check_target(self.path, force)
        if self._occupied() and self.manifest() is None:
            raise ResultsError(f"{self.path}: folder is not empty and holds no quietcar run; "
                               f"choose another --out (--force only replaces quietcar runs)")
        self.path.mkdir(parents=True, exist_ok=True)
        self.lock.acquire()
        remove_temporaries(self.path)
        if self._occupied() and not force:
            old = self.identity()
            if old != ident:
                what = [n for n, a, b in (("scenario", old.digest, ident.digest), ("seed", old.seed, ident.seed),
                                          ("replications", old.replications, ident.replications),
                                          ("precision", old.precision, ident.precision)) if a != b]
                raise ResultsError(f"{self.path}: holds a different run ({', '.join(what)} differ); "
                                   f"choose another --out or use --force to overwrite it")
            if self.complete():
                self.verify()
                return list(range(replications))  # the same numbers again: reuse them
            if not resume:
                raise ResultsError(f"{self.path}: holds this run, unfinished; use --resume to complete it "
                                   f"(or --force to start again)")
            self.verify_partial()
        elif force and self._occupied():
            clear_folder(self.path)
        (self.path / PARTIAL).mkdir(parents=True, exist_ok=True)
        _atomic_write(self.path / SCENARIO, scenario.to_toml())
        self.write_manifest({**manifest, "status": "running"})
        return self.finished()

    def _occupied(self) -> bool:
        return self.path.is_dir() and any(p.name != LOCK for p in self.path.iterdir())

    def write_manifest(self, manifest: Mapping[str, Any]) -> None:
        _atomic_write(self.path / MANIFEST, _json({"quietcar_version": __version__, **manifest}))

    def write_replication(self, rep: ReplicationResult) -> None:
        """Store one finished replication: its trains, then its metrics (the marker of 'done')."""
        d = self.path / PARTIAL
        trains = d / f"trains-{rep.replication:06d}.csv"
        _atomic_write(trains, _csv_text(PARTIAL_TRAIN_COLUMNS, rep.trains, False))
        _atomic_write(d / f"rep-{rep.replication:06d}.json",
                      _json(seal(_json_safe({"replication": rep.replication, "metrics": rep.metrics,
                                             "tally": rep.tally, "mc_var": rep.mc_var,
                                             "trains": record(trains)}))))

    def replication_metrics(self) -> list[dict[str, float]]:
        out = []
        for r in self.finished():
            data = self._partial(r)
            m = {k: (math.nan if v is None else v) for k, v in data["metrics"].items()}
            out.append({"replication": r, **m, **denominators(data.get("tally") or {})})
        return out

    def finalize(self, replications: int, manifest: Mapping[str, Any]) -> dict[str, dict]:
        """Assemble replications 0..replications-1 into the result files; then summary.json."""
        rows = [r for r in self.replication_metrics() if r["replication"] < replications]
        if [r["replication"] for r in rows] != list(range(replications)):
            raise ResultsError(f"{self.path}: replications missing, cannot finish")
        ident = identity_row(manifest)
        _atomic_write(self.path / REPLICATIONS, _csv_text(REPLICATION_COLUMNS, [{**ident, **r} for r in rows]))
        prefix = _csv_text(IDENTITY_COLUMNS, [ident], with_header=False).rstrip("\n").encode() + b","
        tmp = self.path / f".{TRAINS}.tmp-{os.getpid()}"
        try:
            with open(tmp, "wb") as out:
                out.write((",".join(TRAIN_CSV_COLUMNS) + "\n").encode())
                for r in range(replications):  # checked against its record by replication_metrics
                    part_path = self.path / PARTIAL / f"trains-{r:06d}.csv"
                    try:
                        part = open(part_path, "rb")
                        with part:
                            lines = [prefix + line for line in part]
                    except OSError as e:  # a read error names the file read, not the one written
                        raise UnreadableError(f"{part_path}: cannot be read ({e.strerror or e})") from None
                    out.writelines(lines)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path / TRAINS)
        except OSError as e:
            _discard(tmp)
            raise OSError(e.errno, e.strerror, str(self.path / TRAINS)) from None
        except BaseException:
            _discard(tmp)
            raise
        summary = {m: summarise([row[m] for row in rows]) for m in METRIC_NAMES}
        if manifest.get("posterior"):
            for m, p in predictive_summary(rows, self.replication_mc_vars(replications)).items():
                summary[m]["predictive"] = p
        _atomic_write(self.path / SUMMARY, _json(summary))
        self.write_manifest({**manifest, "status": "complete", "files": records(self.path, RUN_FILES)})
        shutil.rmtree(self.path / PARTIAL, ignore_errors=True)
        return summary

    def replication_mc_vars(self, replications: int) -> list[dict[str, float]]:
        """Each replication's Monte-Carlo variance per metric (jackknife within the day)."""
        out = []
        for r in range(replications):
            data = self._partial(r)  # checked against its own checksum
            out.append({k: (math.nan if v is None else v) for k, v in (data.get("mc_var") or {}).items()})
        return out

    # --- reading ---
    def summary(self) -> dict[str, dict]:
        """summary.json of a finished run, after checking the folder against its manifest."""
        m = self.manifest()
        if m is None:
            raise ResultsError(f"{self.path}: holds no quietcar run (no {MANIFEST})")
        if m.get("kind", "run") != "run":
            raise ResultsError(f"{self.path}: holds a {m.get('kind')}, not a run")
        if m.get("status") != "complete":
            raise ResultsError(f"{self.path}: no {SUMMARY}; the folder holds an unfinished run "
                               f"(use quietcar run --resume)")
        self.verify()
        data = json.loads((self.path / SUMMARY).read_text(encoding="utf-8"))
        return {m: {k: (math.nan if v is None else v) if k != "predictive" else
                    {a: (math.nan if b is None else b) for a, b in v.items()} for k, v in s.items()}
                for m, s in data.items()}

    def replications(self) -> list[dict[str, float]]:
        """replications.csv of a finished run, after checking the folder against its manifest."""
        m = self.verify()
        path = self.path / REPLICATIONS
        try:
            with open(path, encoding="utf-8", newline="") as f:
                rows = [{k: (int(v) if k in ("replication", "seed") else float(v)) for k, v in row.items()
                         if k not in ("scenario", "scenario_digest", "overrides_digest")}
                        for row in csv.DictReader(f)]
        except (ValueError, TypeError, UnicodeDecodeError) as e:
            raise ResultsError(f"{path}: damaged ({e})") from None
        if [r["replication"] for r in rows] != list(range(m.get("replications_done", len(rows)))):
            raise ResultsError(f"{path}: damaged (its replications are not 0 to "
                               f"{m.get('replications_done', len(rows)) - 1} as {MANIFEST} says)")
        return rows


def run_into(folder: RunFolder, scenario: Scenario, seed: int, replications: int, workers: int, *,
             resume: bool, force: bool, scheduler: str | None = None,
             precision: float | None = None, max_replications: int | None = None,
             on_trains: Callable[[int], None] | None = None,
             on_start: Callable[[int], None] | None = None, extra: Mapping[str, Any] | None = None,
             engine: str = "compiled", scenario_of: Callable[[int], Scenario] | None = None,
             digest: str | None = None) -> dict[str, dict]:
    """Run (or complete) a scenario into its folder and return the summary.

    A folder that already holds this run, complete, is reused as it is (with ``resume``).
    Trains run in a local pool of ``workers`` processes, or on the Dask ``scheduler``.
    With ``precision`` R, replications are added after the first ``replications`` until every
    headline metric's 95 % half-width is <= R x |mean| or ``max_replications`` are done; the
    manifest says which (``precision_met``). ``on_start(trains)`` is called with the trains of
    each batch, ``on_trains(k)`` as trains finish. A KeyboardInterrupt leaves the finished
    replications on disk and propagates. ``engine`` runs the journeys; it is recorded in the
    manifest but is no part of the run's identity (both engines give the same files).
    """
    cap = max(replications, max_replications or replications) if precision else replications
    manifest = {"kind": "run", "scenario": scenario.source, "description": scenario.description,
                "scenario_digest": digest or scenario.digest(), "seed": seed, "replications": cap,
                "precision": precision, "workers": workers, "scheduler": scheduler,
                "engine": engine, "trains_per_replication": scenario.network.trains,
                "command": command_line(), "python": platform.python_version(), "platform": platform.platform(),
                **(extra or {})}
    if scheduler:
        require_dask()
    check_target(folder.path, force)
    with pool(workers, scheduler) as mapper:  # a scheduler that cannot be reached fails before any folder is made
        created = not folder.path.exists()
        try:
            return _run_locked(folder, scenario, seed, replications, cap, mapper, manifest, resume=resume,
                               force=force, precision=precision, on_trains=on_trains, on_start=on_start,
                               engine=engine, scenario_of=scenario_of, digest=digest)
        except BaseException:
            if created and not folder.finished():
                shutil.rmtree(folder.path, ignore_errors=True)  # nothing finished: leave nothing behind
            raise
        finally:
            folder.lock.release()


def _run_locked(folder: RunFolder, scenario: Scenario, seed: int, replications: int, cap: int, mapper,
                manifest: dict, *, resume: bool, force: bool, precision: float | None,
                on_trains: Callable[[int], None] | None, on_start: Callable[[int], None] | None,
                engine: str = "compiled", scenario_of: Callable[[int], Scenario] | None = None,
                digest: str | None = None) -> dict[str, dict]:
    done = folder.prepare(scenario, seed, cap, resume=resume, force=force, manifest=manifest, precision=precision,
                          digest=digest)
    if folder.complete():
        return folder.summary()
    start = time.perf_counter()
    target = max(replications, len(done))
    while True:
        todo = [r for r in range(target) if r not in set(folder.finished())]
        if on_start:
            on_start(len(todo) * scenario.network.trains)
        for rep in run_replications(scenario, seed, todo, mapper, on_trains, engine, scenario_of):
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


def write_sealed_manifest(folder: str | Path, manifest: Mapping[str, Any], names: Iterable[str]) -> None:
    """Write a folder's manifest, complete, with the checksums of the named files (which may lie
    in subfolders, e.g. a comparison's run folders' manifests)."""
    folder = Path(folder)
    write_json(folder / MANIFEST, {"quietcar_version": __version__, **manifest, "status": "complete",
                                   "files": records(folder, names)})


def csv_text(header: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    return _csv_text(header, rows)


def command_line() -> str:
    """The command as typed, quoted for a POSIX shell (it can be pasted back)."""
    return shlex.join(["quietcar" if i == 0 and Path(a).name in ("quietcar", "__main__.py") else a
                       for i, a in enumerate(sys.argv)])
