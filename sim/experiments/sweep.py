"""Sweeps: run every point of a design on the same seeds, gather its rows and summaries.

Every point runs replications ``0 .. R-1`` with the same root seed, so every point sees
the same network days and, as far as its parameters allow, the same passengers (common
random numbers). A point's value of a metric is the mean over its R replications; the
spread of the replications around that mean is the noise, reported next to the
parameter effects (``<metric>.sd`` and the interval in ``sweep_summary.csv``; the noise
share of the between-point variance in ``sensitivity_noise.csv``).

The work of a whole experiment (points x replications x chunks of trains) goes through
one process pool, and is gathered in order: the numbers do not depend on the workers,
and a point's metrics equal those ``quietcar run`` gives for the same scenario and seed.

An experiment folder holds::

    manifest.json           what ran (kind, design, base scenario digest, seed, replications,
                            points, command line, timings, status running | complete)
    scenario.toml           the base scenario, resolved
    sweep.csv               one row per point x replication: point, varied keys, replication, metrics
    sweep_summary.csv       one row per point: varied keys, n, then mean, sd, interval per metric
    sensitivity.csv         (sensitivity only) indices with their intervals, one row per index
    sensitivity_noise.csv   (sensitivity only) per metric: spread between points vs replication noise
    partial/                finished points of an experiment in progress (removed when complete)
"""

import hashlib
import json
import math
import platform
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..run.experiment_folder import MANIFEST, SCENARIO, SWEEP, SWEEP_SUMMARY, ExperimentFolder, read_tables
from ..run.metrics import METRIC_NAMES, Tally, add, metrics, summarise, tally
from ..run.results import command_line, csv_text, write_json, write_text
from ..run.runner import Chunk, chunk_size, chunks, pool, simulate_one
from ..run.uncertainty import jackknife, metric_bounds, predictive
from ..scenario import Scenario
from .designs import Design, point_scenarios
from .factors import Factor

#: Every metric column of sweep.csv.
EXPERIMENT_METRICS: tuple[str, ...] = METRIC_NAMES


def run_chunk_tally(chunk: Chunk) -> Tally:
    """Simulate a chunk of trains and return its summed tally.

    Trains are summed in train order and chunks in chunk order, as in
    :func:`sim.run.runner.run_replication`, so the metrics come out bit for bit the same."""
    return add(tally(simulate_one(chunk.scenario, spec, chunk.seed, chunk.replication, engine=chunk.engine))
               for spec in chunk.specs)


def all_metrics(t: Mapping[str, float]) -> dict[str, float]:
    return metrics(t)


@dataclass
class ExperimentResult:
    """What an experiment produced: per point x replication rows, per point summaries."""
    folder: ExperimentFolder
    design: Design
    rows: list[dict]
    summary: list[dict]
    manifest: dict
    reused: bool = False


def sweep_columns(design: Design) -> tuple[str, ...]:
    return ("point", *design.keys, "replication", *EXPERIMENT_METRICS)


def summary_columns(design: Design, with_posterior: bool = False) -> tuple[str, ...]:
    cols = ["point", *design.keys, "n"]
    for m in EXPERIMENT_METRICS:
        cols += [f"{m}.mean", f"{m}.sd", f"{m}.ci_low", f"{m}.ci_high", f"{m}.n"]
        if with_posterior:
            cols += [f"{m}.pred_low", f"{m}.pred_high", f"{m}.dominates"]
    return tuple(cols)


@dataclass(frozen=True)
class PosteriorDraws:
    """A sweep's posterior: replication r of point i runs ``scenario_of(i, r)``; ``digest``
    enters the experiment's identity and ``describe`` its manifest."""
    scenario_of: Callable[[int, int], Scenario]
    digest: str
    describe: Mapping[str, Any]


def add_predictive(summary: list[dict], mc_vars: Sequence[Sequence[Mapping[str, float]]],
                   rows: Sequence[Mapping[str, Any]]) -> None:
    """Each point's total predictive interval per metric (see :mod:`sim.run.uncertainty`)."""
    for s, mcs in zip(summary, mc_vars):
        reps = [r for r in rows if r["point"] == s["point"]]
        for m in EXPERIMENT_METRICS:
            p = predictive([r[m] for r in reps], [math.nan if v.get(m) is None else v[m] for v in mcs],
                           bounds=metric_bounds(m))
            s.update({f"{m}.pred_low": p["low"], f"{m}.pred_high": p["high"], f"{m}.dominates": p["dominates"]})


def summarise_points(design: Design, rows: Sequence[Mapping[str, Any]]) -> list[dict]:
    """One row per point: its values, replications, and mean/sd/95 % interval per metric."""
    by: dict[int, list] = {}
    for r in rows:
        by.setdefault(r["point"], []).append(r)
    out = []
    for i, values in enumerate(design.points):
        reps = by.get(i, [])
        row: dict[str, Any] = {"point": i, **dict(zip(design.keys, values)), "n": len(reps)}
        for m in EXPERIMENT_METRICS:
            s = summarise(r[m] for r in reps)
            row.update({f"{m}.{k}": s[k] for k in ("mean", "sd", "ci_low", "ci_high", "n")})
        out.append(row)
    return out


def experiment_digest(kind: str, base: Scenario, design: Design, seed: int, replications: int,
                      posterior: str = "") -> str:
    ident = {"kind": kind, "base": base.digest(), "design": design.describe(),
             "points": [list(p) for p in design.points], "seed": seed, "replications": replications}
    if posterior:
        ident["posterior"] = posterior
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()


def run_design(folder: ExperimentFolder, base: Scenario, design: Design, seed: int, replications: int,
               workers: int, *, kind: str = "sweep", resume: bool = False, force: bool = False,
               scheduler: str | None = None, on_start: Callable[[int], None] | None = None,
               on_trains: Callable[[int], None] | None = None,
               extra: Mapping[str, Any] | None = None, engine: str = "compiled",
               posterior: PosteriorDraws | None = None) -> ExperimentResult:
    """Run every point of a design for ``replications`` replications on ``seed``; write the
    folder (sweep.csv, sweep_summary.csv) and return what it holds.

    Finished points are kept in ``partial/`` as they complete, so an interrupted experiment
    resumes (``resume``) with exactly the numbers of an uninterrupted one. Trains run in a local
    pool of ``workers`` processes, or on the Dask cluster ``scheduler``, their journeys in ``engine``
    (same numbers; recorded in the manifest, no part of the experiment's identity).

    With ``posterior``, replication r of point i runs ``posterior.scenario_of(i, r)`` (the
    point's values over r's posterior draw) and sweep_summary.csv adds each metric's total
    predictive interval."""
    scenarios = point_scenarios(base, design)
    identity = experiment_digest(kind, base, design, seed, replications,
                                 posterior.digest if posterior else "")
    done = set(folder.prepare(identity, resume=resume, force=force))
    manifest: dict[str, Any] = {
        "quietcar_version": __version__, "kind": kind, "status": "running", "scenario": base.source,
        "description": base.description, "scenario_digest": base.digest(), "experiment_digest": identity,
        "design": design.describe(), "keys": list(design.keys), "seed": seed, "replications": replications,
        "workers": workers, "scheduler": scheduler, "engine": engine,
        "trains_per_replication": base.network.trains,
        "command": command_line(), "python": platform.python_version(), "platform": platform.platform(),
        **(extra or {}), **(posterior.describe if posterior else {})}
    if folder.complete():
        result = load_experiment(folder.path)
        result.reused = True
        return result
    write_text(folder.path / SCENARIO, base.to_toml())
    write_json(folder.path / MANIFEST, manifest)
    todo = [i for i in range(len(design.points)) if i not in done]
    if on_start:
        on_start(sum(scenarios[i].network.trains for i in todo) * replications)
    start = time.perf_counter()
    with _pool(workers, scheduler) as mapper:
        for i, reps in run_points(scenarios, todo, seed, replications, mapper, max(64, 16 * workers), on_trains,
                                  posterior.scenario_of if posterior else None, engine):
            folder.write_point(i, [{"point": i, "replication": r, **m} for r, m in enumerate(reps)])
    rows = []
    for i, values in enumerate(design.points):
        for r in folder.point_rows(i):
            rows.append({"point": i, **dict(zip(design.keys, values)), "replication": r["replication"],
                         **{m: r.get(m, math.nan) for m in EXPERIMENT_METRICS}})
    summary = summarise_points(design, rows)
    if posterior:
        add_predictive(summary, [[r.get("mc_var", {}) for r in folder.point_rows(i)]
                                 for i in range(len(design.points))], rows)
    write_text(folder.path / SWEEP, csv_text(sweep_columns(design), rows))
    write_text(folder.path / SWEEP_SUMMARY, csv_text(summary_columns(design, posterior is not None), summary))
    manifest.update(wall_seconds=round(time.perf_counter() - start, 3), resumed_points=len(done))
    return ExperimentResult(folder, design, rows, summary, manifest)


def _pool(workers: int, scheduler: str | None):
    """A local process pool, or a Dask cluster when a scheduler is named."""
    return pool(workers, scheduler)


def finish(result: ExperimentResult) -> None:
    """Mark the experiment complete and remove its partial files (after every output is written)."""
    result.manifest["status"] = "complete"
    result.folder.finish(result.manifest)


def run_sweep(folder: ExperimentFolder, base: Scenario, design: Design, seed: int, replications: int,
              workers: int, **kw) -> ExperimentResult:
    """A sweep: run the design, write sweep.csv and sweep_summary.csv, mark it complete."""
    result = run_design(folder, base, design, seed, replications, workers, kind="sweep", **kw)
    if not result.reused:
        finish(result)
    return result


def run_points(scenarios: Sequence[Scenario], todo: Sequence[int], seed: int, replications: int, mapper,
               batch_chunks: int, on_trains, scenario_of: Callable[[int, int], Scenario] | None = None,
               engine: str = "compiled") -> Iterator[tuple[int, list[dict]]]:
    """Yield (point, metrics of each replication) in point order. Points are batched into one
    map call of at least ``batch_chunks`` chunks, so that small trains still keep the pool busy;
    the mapper yields in submission order, so each point completes before the next.

    With ``scenario_of(point, replication)`` (a posterior draw per replication) each
    replication runs its own scenario, and its metrics carry ``mc_var``: the jackknife
    Monte-Carlo variance within the day (:mod:`sim.run.uncertainty`)."""
    batch: list[tuple[int, int, Chunk]] = []
    for n, i in enumerate(todo):
        for r in range(replications):
            sc = scenario_of(i, r) if scenario_of else scenarios[i]
            batch += [(i, r, c) for c in chunks(sc, seed, r, chunk_size(sc.network.trains), engine)]
        if len(batch) < batch_chunks and n < len(todo) - 1:
            continue
        left = {p: 0 for p, _, _ in batch}
        for p, _, _ in batch:
            left[p] += 1
        tallies: dict[int, list[list[Tally]]] = {p: [[] for _ in range(replications)] for p in left}
        for (p, r, c), t in zip(batch, (mapper or map)(run_chunk_tally, [w[2] for w in batch])):
            tallies[p][r].append(t)
            if on_trains:
                on_trains(len(c.specs))
            left[p] -= 1
            if left[p] == 0:
                yield p, [_replication_metrics(ts, scenario_of is not None) for ts in tallies.pop(p)]
        batch = []


def _replication_metrics(tallies: Sequence[Tally], with_mc: bool) -> dict:
    total = add(tallies)
    out: dict = all_metrics(total)
    if with_mc:
        out["mc_var"] = jackknife(tallies, total)
    return out


def load_experiment(path: str | Path) -> ExperimentResult:
    """An experiment folder's manifest and tables (rows and summaries as dicts)."""
    m, rows, summary = read_tables(path)
    keys = tuple(m.get("keys") or [])
    d = m.get("design") or {}
    factors = tuple(Factor(f["key"], f.get("type", "float"), tuple(f.get("levels", ())),
                           f.get("low", math.nan), f.get("high", math.nan)) for f in d.get("factors", []))
    if not factors:
        factors = tuple(Factor(k, "float") for k in keys)
    points = tuple(tuple(s[k] for k in keys) for s in summary)
    design = Design(d.get("method", "factorial"), factors, points,
                    options={k: v for k, v in d.items() if k not in ("method", "factors", "points")})
    return ExperimentResult(ExperimentFolder(path), design, rows, summary, m)
