"""Experiments: many scenario points, each run on the same seeds; no plotting.

A *design* is a list of points; a point gives values to some dotted scenario keys and
becomes a scenario through :func:`sim.scenario.with_values` (validated like a file). The
designs are a full factorial over listed levels, a Latin hypercube over ranges, and the
Morris and Sobol' designs of SALib for global sensitivity.

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
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import platform
import shutil
import time
import tomllib
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .metrics import METRIC_NAMES, Tally, add, metrics, summarise, tally
from .model.network import FORMATIONS, TYPES
from .results import ResultsError, command_line, csv_text, read_manifest, write_json, write_text
from .runner import Chunk, chunk_size, chunks, local_pool, simulate_one
from .scenario import Scenario, ScenarioError, known_keys, with_values

#: Disturbed passenger-minutes suffered by passengers who opted in, per opted-in
#: passenger-hour in the quiet car: the exposure of the people the quiet car is for.
OPTIN_EXPOSURE = "optin.disturbed_pax_min_per_pax_h"
#: Every metric column of sweep.csv.
EXPERIMENT_METRICS: tuple[str, ...] = METRIC_NAMES


def run_chunk_tally(chunk: Chunk) -> Tally:
    """Simulate a chunk of trains and return its summed tally.

    Trains are summed in train order and chunks in chunk order, as in
    :func:`sim.runner.run_replication`, so the metrics come out bit for bit the same."""
    return add(tally(simulate_one(chunk.scenario, spec, chunk.seed, chunk.replication)) for spec in chunk.specs)


def all_metrics(t: Mapping[str, float]) -> dict[str, float]:
    return metrics(t)


# --- factors -----------------------------------------------------------------------------------
class DesignError(ValueError):
    """A design that cannot be run (the message names the option, the key and the rule)."""


#: The spawn key under which designs draw their random numbers; replications use
#: (replication, train, stream) keys with replication < 100,000, so the streams never meet.
DESIGN_KEY = 2**32 - 2
LHS_STREAM, SALIB_SAMPLE_STREAM, SALIB_BOOTSTRAP_STREAM = 0, 1, 2


def design_rng(seed: int, stream: int) -> np.random.Generator:
    """The generator of one design stream, derived from the run seed (never global state)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=(DESIGN_KEY, stream))))


def design_int_seed(seed: int, stream: int) -> int:
    """A positive 32-bit integer seed derived from the run seed, for APIs that want an int."""
    ss = np.random.SeedSequence(int(seed), spawn_key=(DESIGN_KEY, stream))
    return max(1, int(ss.generate_state(1, dtype=np.uint32)[0]))


def value_at(scenario: Scenario, key: str) -> Any:
    """The resolved value of a dotted key (``network.load_factor_mean``) in a scenario."""
    node: Any = scenario.to_dict()
    for part in key.split("."):
        node = node[part]
    return node


def _kind_of(scenario: Scenario, key: str, option: str) -> str:
    known = known_keys()
    if key not in known:
        import difflib
        near = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f" (did you mean '{near[0]}'?)" if near else ""
        raise DesignError(f"{option} {key}: no such scenario key{hint} (see docs/scenarios.md for every key)")
    v = value_at(scenario, key)
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "str"
    sub = ", ".join(f"{key}.{k}" for k in v) if isinstance(v, dict) else ""
    raise DesignError(f"{option} {key}: is a {'table' if isinstance(v, dict) else 'list'}, not a single value; "
                      f"vary one of its entries{': ' + sub if sub else ''}")


def key_info(key: str) -> dict[str, str]:
    """The ``unit``, ``doc`` and ``source`` of a dotted scenario key (its field's metadata)."""
    from .scenario import SECTIONS
    parts = key.split(".")
    cls = SECTIONS.get(parts[0])
    if cls is None or len(parts) < 2:
        return {}
    for f in dataclasses.fields(cls):
        if f.name == parts[1]:
            return {k: str(f.metadata.get(k) or "") for k in ("unit", "doc", "source")}
    return {}


def _parse_scalar(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word, e.g. never


def toml_literal(v: Any) -> str:
    """A value as the right-hand side of ``KEY=VALUE`` (what ``--set`` accepts)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return json.dumps(str(v))


@dataclass(frozen=True)
class Factor:
    """A varied key: its type and either its levels (factorial) or its range (LHS, SALib)."""
    key: str
    kind: str
    levels: tuple = ()
    low: float = math.nan
    high: float = math.nan

    def cast(self, x: float) -> float | int:
        """A sampled number as the key's type (whole-number keys are rounded)."""
        return int(round(x)) if self.kind == "int" else float(x)


def _split(item: str, option: str, form: str) -> tuple[str, str]:
    if "=" not in item:
        raise DesignError(f"{option} {item!r}: expected {form}")
    key, text = (s.strip() for s in item.split("=", 1))
    if not key or not text:
        raise DesignError(f"{option} {item!r}: expected {form}")
    return key, text


def _number(text: str, option: str, item: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise DesignError(f"{option} {item!r}: {text!r} is not a number") from None
    if not math.isfinite(x):
        raise DesignError(f"{option} {item!r}: {text!r} is not a finite number")
    return x


def parse_levels(base: Scenario, item: str, option: str = "--vary") -> Factor:
    """``KEY=V1,V2,...`` (listed levels) or ``KEY=LOW:HIGH:K`` (K evenly spaced levels)."""
    key, text = _split(item, option, "KEY=V1,V2,... or KEY=LOW:HIGH:K")
    kind = _kind_of(base, key, option)
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise DesignError(f"{option} {item!r}: a range needs a number of levels, KEY=LOW:HIGH:K "
                              f"(or sample it with --lhs)")
        if kind not in ("int", "float"):
            raise DesignError(f"{option} {item!r}: '{key}' is not a number; list its levels: KEY=V1,V2")
        low, high = (_number(p, option, item) for p in parts[:2])
        try:
            k = int(parts[2])
        except ValueError:
            raise DesignError(f"{option} {item!r}: K must be a whole number of levels, got {parts[2]!r}") from None
        if k < 2:
            raise DesignError(f"{option} {item!r}: K must be at least 2")
        grid = np.linspace(low, high, k)
        levels = tuple(dict.fromkeys(int(round(x)) if kind == "int" else round(float(x), 12) for x in grid))
    else:
        levels = tuple(_parse_scalar(t.strip()) for t in text.split(","))
        if any(t.strip() == "" for t in text.split(",")):
            raise DesignError(f"{option} {item!r}: an empty level")
        if len(set(map(repr, levels))) != len(levels):
            raise DesignError(f"{option} {item!r}: a level is listed twice")
    return Factor(key, kind, levels=levels)


def parse_range(base: Scenario, item: str, option: str = "--vary") -> Factor:
    """``KEY=LOW:HIGH`` for a numeric key."""
    key, text = _split(item, option, "KEY=LOW:HIGH")
    kind = _kind_of(base, key, option)
    parts = text.split(":")
    if len(parts) != 2:
        raise DesignError(f"{option} {item!r}: expected KEY=LOW:HIGH")
    if kind not in ("int", "float"):
        raise DesignError(f"{option} {item!r}: '{key}' is not a number and has no range")
    low, high = (_number(p, option, item) for p in parts)
    if not low < high:
        raise DesignError(f"{option} {item!r}: LOW must be below HIGH")
    return Factor(key, kind, low=low, high=high)


def check_unique(factors: Sequence[Factor], option: str) -> None:
    keys = [f.key for f in factors]
    for k in keys:
        if keys.count(k) > 1:
            raise DesignError(f"{option} {k}: the key is given twice")


# --- designs ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Design:
    """The points of an experiment: ``points[i][j]`` is the value of ``factors[j]`` at point i.

    ``method`` is factorial, lhs, morris or sobol; ``samples`` the unit-free sample matrix SALib
    analyses (before whole-number keys are rounded); ``options`` what else shaped the design."""
    method: str
    factors: tuple[Factor, ...]
    points: tuple[tuple, ...]
    samples: tuple[tuple[float, ...], ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.factors)

    def overrides(self, i: int) -> list[str]:
        return [f"{f.key}={toml_literal(v)}" for f, v in zip(self.factors, self.points[i])]

    def describe(self) -> dict[str, Any]:
        """The design as JSON (for the manifest and the experiment's identity)."""
        fs = [{"key": f.key, "type": f.kind, **({"levels": list(f.levels)} if f.levels else
                                                {"low": f.low, "high": f.high})} for f in self.factors]
        return {"method": self.method, "factors": fs, "points": len(self.points), **self.options}


def factorial(factors: Sequence[Factor]) -> Design:
    """Every combination of the listed levels (the last key varies fastest)."""
    return Design("factorial", tuple(factors), tuple(itertools.product(*(f.levels for f in factors))))


def latin_hypercube(factors: Sequence[Factor], k: int, seed: int) -> Design:
    """K points; each range cut into K equal strata, each stratum used once per key.

    Positions within strata and the pairing of strata across keys come from the design stream
    of ``seed`` (:func:`design_rng`), so the same seed gives the same points."""
    rng = design_rng(seed, LHS_STREAM)
    d = len(factors)
    u = (rng.permuted(np.tile(np.arange(k), (d, 1)), axis=1).T + rng.random((k, d))) / k
    lo = np.array([f.low for f in factors])
    hi = np.array([f.high for f in factors])
    x = lo + u * (hi - lo)
    points = tuple(tuple(f.cast(v) for f, v in zip(factors, row)) for row in x.tolist())
    return Design("lhs", tuple(factors), points, tuple(map(tuple, x.tolist())), {"lhs_points": k})


def problem(factors: Sequence[Factor]) -> dict[str, Any]:
    """The SALib problem of a list of ranged factors."""
    return {"num_vars": len(factors), "names": [f.key for f in factors],
            "bounds": [[f.low, f.high] for f in factors]}


def morris_design(factors: Sequence[Factor], trajectories: int, levels: int, seed: int) -> Design:
    """Morris's elementary-effects design: ``trajectories`` x (keys + 1) points on a grid of
    ``levels`` levels per range (SALib ``sample.morris``)."""
    from SALib.sample import morris
    x = morris.sample(problem(factors), trajectories, num_levels=levels, seed=design_rng(seed, SALIB_SAMPLE_STREAM))
    return _salib_design("morris", factors, x, {"trajectories": trajectories, "levels": levels})


def sobol_design(factors: Sequence[Factor], base_samples: int, second_order: bool, seed: int) -> Design:
    """Saltelli's design for Sobol' indices: ``base_samples`` x (keys + 2) points, or
    x (2 keys + 2) with second-order indices (SALib ``sample.sobol``, scrambled)."""
    from SALib.sample import sobol
    if base_samples < 2 or base_samples & (base_samples - 1):
        lower = 2 ** max(1, int(math.log2(max(base_samples, 2))))
        raise DesignError(f"--samples {base_samples}: Sobol' sampling needs a power of 2 "
                          f"(e.g. {lower} or {lower * 2})")
    x = sobol.sample(problem(factors), base_samples, calc_second_order=second_order,
                     seed=design_rng(seed, SALIB_SAMPLE_STREAM))
    return _salib_design("sobol", factors, x, {"base_samples": base_samples, "second_order": second_order})


def _salib_design(method: str, factors: Sequence[Factor], x: np.ndarray, options: dict) -> Design:
    points = tuple(tuple(f.cast(v) for f, v in zip(factors, row)) for row in x.tolist())
    return Design(method, tuple(factors), points, tuple(map(tuple, x.tolist())), options)


def point_scenarios(base: Scenario, design: Design) -> list[Scenario]:
    """The scenario of every point, validated (a bad level fails before anything runs)."""
    out = []
    for i in range(len(design.points)):
        try:
            out.append(with_values(base, design.overrides(i)))
        except ScenarioError as e:
            raise DesignError(f"point {i} ({', '.join(design.overrides(i))}): {e}") from None
    return out


# --- the overflow curve -----------------------------------------------------------------------
OVERFLOW_KEY = "network.load_factor_mean"
OVERFLOW_LEVELS: tuple[float, ...] = tuple(round(0.5 + 0.1 * i, 10) for i in range(11))
#: What the overflow curve shows, in this order.
OVERFLOW_METRICS: tuple[str, ...] = ("overflow_share", "violations_per_100_pax_h", "disturbed_pax_min_per_pax_h",
                                     OPTIN_EXPOSURE)


def overflow_factor(base: Scenario) -> Factor:
    """The built-in sweep of the overflow curve: mean load 0.5 to 1.5 of second-class seats."""
    return Factor(OVERFLOW_KEY, "float", levels=OVERFLOW_LEVELS)


def ordinary_seat_share(scenario: Scenario) -> float:
    """Ordinary (non-quiet) second-class seats as a share of all second-class seats, averaged
    over the formation mix: the mean load at which ordinary seats sell out on an average leg."""
    net = scenario.network
    share = 0.0
    for t, p_type in zip(TYPES, net.type_share):
        mix = net.formation_mix[TYPES.index(t)]
        for f, p_f in zip(FORMATIONS, mix):
            i = FORMATIONS.index(f)
            seats = net.second_class_seats[i]
            share += p_type * p_f * (seats - net.quiet_cars[i] * net.quiet_car_seats[i]) / seats
    return share / max(sum(net.type_share), 1e-12)


# --- the experiment folder ----------------------------------------------------------------------
MANIFEST, SCENARIO, SWEEP, SWEEP_SUMMARY, SENSITIVITY, NOISE, PARTIAL = (
    "manifest.json", "scenario.toml", "sweep.csv", "sweep_summary.csv", "sensitivity.csv",
    "sensitivity_noise.csv", "partial")


class ExperimentFolder:
    """One experiment's folder on disk (written only through sim.results' atomic writers)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def manifest(self) -> dict | None:
        try:
            return read_manifest(self.path)
        except ResultsError as e:
            raise DesignError(str(e)) from None

    def complete(self) -> bool:
        m = self.manifest()
        return bool(m) and m.get("status") == "complete"

    def prepare(self, identity: str, *, resume: bool, force: bool) -> list[int]:
        """Make the folder ready; return the points already finished. Refuses a folder that
        holds something else (unless ``force``) or this experiment (unless ``resume``)."""
        p = self.path
        if p.exists() and not p.is_dir():
            raise DesignError(f"{p}: exists and is not a folder")
        if p.exists() and any(p.iterdir()):
            old = self.manifest()
            if old is None:
                raise DesignError(f"{p}: folder is not empty and holds no quietcar experiment; choose another --out")
            if force:
                shutil.rmtree(p)
            elif old.get("experiment_digest") != identity:
                raise DesignError(f"{p}: holds a different {old.get('kind', 'run')}; "
                                  f"choose another --out or use --force to overwrite it")
            elif not resume:
                state, hint = (("finished", "--resume to reuse it or --force to run it again") if self.complete()
                               else ("unfinished", "--resume to complete it"))
                raise DesignError(f"{p}: already holds this experiment ({state}); use {hint}")
            elif self.complete():
                return []
        (p / PARTIAL).mkdir(parents=True, exist_ok=True)
        return self.finished()

    def finished(self) -> list[int]:
        d = self.path / PARTIAL
        return sorted(int(q.stem.split("-")[1]) for q in d.glob("point-*.json")) if d.is_dir() else []

    def write_point(self, point: int, rows: list[dict]) -> None:
        write_json(self.path / PARTIAL / f"point-{point:06d}.json", {"point": point, "rows": rows})

    def point_rows(self, point: int) -> list[dict]:
        data = json.loads((self.path / PARTIAL / f"point-{point:06d}.json").read_text(encoding="utf-8"))
        return [{k: (math.nan if v is None else v) for k, v in r.items()} for r in data["rows"]]


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


def summary_columns(design: Design) -> tuple[str, ...]:
    cols = ["point", *design.keys, "n"]
    for m in EXPERIMENT_METRICS:
        cols += [f"{m}.mean", f"{m}.sd", f"{m}.ci_low", f"{m}.ci_high", f"{m}.n"]
    return tuple(cols)


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


def experiment_digest(kind: str, base: Scenario, design: Design, seed: int, replications: int) -> str:
    ident = {"kind": kind, "base": base.digest(), "design": design.describe(),
             "points": [list(p) for p in design.points], "seed": seed, "replications": replications}
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()


def run_design(folder: ExperimentFolder, base: Scenario, design: Design, seed: int, replications: int,
               workers: int, *, kind: str = "sweep", resume: bool = False, force: bool = False,
               scheduler: str | None = None, on_start: Callable[[int], None] | None = None,
               on_trains: Callable[[int], None] | None = None) -> ExperimentResult:
    """Run every point of a design for ``replications`` replications on ``seed``; write the
    folder (sweep.csv, sweep_summary.csv) and return what it holds.

    Finished points are kept in ``partial/`` as they complete, so an interrupted experiment
    resumes (``resume``) with exactly the numbers of an uninterrupted one. Trains run in a local
    pool of ``workers`` processes, or on the Dask cluster ``scheduler`` (same numbers)."""
    scenarios = point_scenarios(base, design)
    identity = experiment_digest(kind, base, design, seed, replications)
    done = set(folder.prepare(identity, resume=resume, force=force))
    manifest: dict[str, Any] = {
        "quietcar_version": __version__, "kind": kind, "status": "running", "scenario": base.source,
        "description": base.description, "scenario_digest": base.digest(), "experiment_digest": identity,
        "design": design.describe(), "keys": list(design.keys), "seed": seed, "replications": replications,
        "workers": workers, "scheduler": scheduler, "trains_per_replication": base.network.trains,
        "command": command_line(), "python": platform.python_version(), "platform": platform.platform()}
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
        for i, reps in _run_points(scenarios, todo, seed, replications, mapper, max(64, 16 * workers), on_trains):
            folder.write_point(i, [{"point": i, "replication": r, **m} for r, m in enumerate(reps)])
    rows = []
    for i, values in enumerate(design.points):
        for r in folder.point_rows(i):
            rows.append({"point": i, **dict(zip(design.keys, values)), "replication": r["replication"],
                         **{m: r.get(m, math.nan) for m in EXPERIMENT_METRICS}})
    summary = summarise_points(design, rows)
    write_text(folder.path / SWEEP, csv_text(sweep_columns(design), rows))
    write_text(folder.path / SWEEP_SUMMARY, csv_text(summary_columns(design), summary))
    manifest.update(wall_seconds=round(time.perf_counter() - start, 3), resumed_points=len(done))
    return ExperimentResult(folder, design, rows, summary, manifest)


def _pool(workers: int, scheduler: str | None):
    """A local process pool, or a Dask cluster when a scheduler is named."""
    if scheduler:
        from . import runner
        return runner.pool(workers, scheduler)
    return local_pool(workers)


def finish(result: ExperimentResult) -> None:
    """Mark the experiment complete and remove its partial files (after every output is written)."""
    result.manifest["status"] = "complete"
    write_json(result.folder.path / MANIFEST, result.manifest)
    shutil.rmtree(result.folder.path / PARTIAL, ignore_errors=True)


def run_sweep(folder: ExperimentFolder, base: Scenario, design: Design, seed: int, replications: int,
              workers: int, **kw) -> ExperimentResult:
    """A sweep: run the design, write sweep.csv and sweep_summary.csv, mark it complete."""
    result = run_design(folder, base, design, seed, replications, workers, kind="sweep", **kw)
    if not result.reused:
        finish(result)
    return result


def run_sensitivity(folder: ExperimentFolder, base: Scenario, design: Design, seed: int, replications: int,
                    workers: int, **kw) -> ExperimentResult:
    """A sensitivity study: run the SALib design, then write sensitivity.csv and
    sensitivity_noise.csv, then mark it complete."""
    result = run_design(folder, base, design, seed, replications, workers, kind="sensitivity", **kw)
    if not result.reused:
        write_sensitivity(result, seed, replications)
        finish(result)
    return result


def _run_points(scenarios: Sequence[Scenario], todo: Sequence[int], seed: int, replications: int, mapper,
                batch_chunks: int, on_trains) -> Iterator[tuple[int, list[dict]]]:
    """Yield (point, metrics of each replication) in point order. Points are batched into one
    map call of at least ``batch_chunks`` chunks, so that small trains still keep the pool busy;
    the mapper yields in submission order, so each point completes before the next."""
    batch: list[tuple[int, int, Chunk]] = []
    for n, i in enumerate(todo):
        sc = scenarios[i]
        for r in range(replications):
            batch += [(i, r, c) for c in chunks(sc, seed, r, chunk_size(sc.network.trains))]
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
                yield p, [all_metrics(add(ts)) for ts in tallies.pop(p)]
        batch = []


# --- sensitivity ---------------------------------------------------------------------------------
SENSITIVITY_COLUMNS = ("method", "metric", "parameter", "parameter2", "index", "value", "ci_low", "ci_high",
                       "noise_se")
NOISE_COLUMNS = ("metric", "status", "mean", "between_sd", "noise_sd", "noise_share")


def noise_row(metric: str, summary: Sequence[Mapping[str, Any]], replications: int) -> dict[str, Any]:
    """How much of the spread of a metric's point means is replication noise.

    ``between_sd``: sd of the point means across the design; ``noise_sd``: the standard error
    of one point mean, sqrt(mean over points of sd_i^2 / n_i); ``noise_share`` = noise_sd^2 /
    between_sd^2, the share of the between-point variance that noise alone would give if it
    were independent across points (common random numbers make it smaller in differences)."""
    means = np.array([s[f"{metric}.mean"] for s in summary], dtype=float)
    sds = np.array([s[f"{metric}.sd"] for s in summary], dtype=float)
    ns = np.array([s[f"{metric}.n"] for s in summary], dtype=float)
    row: dict[str, Any] = {"metric": metric, "status": "ok", "mean": math.nan, "between_sd": math.nan,
                           "noise_sd": math.nan, "noise_share": math.nan}
    if np.isnan(means).any():
        row["status"] = "undefined at some points"
        return row
    row["mean"] = float(means.mean())
    row["between_sd"] = float(means.std(ddof=1)) if len(means) > 1 else math.nan
    if replications > 1 and not np.isnan(sds).all():
        row["noise_sd"] = float(math.sqrt(np.nanmean(sds**2 / ns)))
    if not row["between_sd"] > 1e-12 * max(1.0, abs(row["mean"])):
        row["status"] = "constant"
        return row
    row["noise_share"] = row["noise_sd"] ** 2 / row["between_sd"] ** 2 if row["noise_sd"] == row["noise_sd"] \
        else math.nan
    return row


def _indices(design: Design, prob: dict, x: np.ndarray, y: np.ndarray, boot: int,
             resamples: int = 100) -> dict[tuple[str, str, str], tuple[float, float, float]] | None:
    """SALib's indices of one output vector: {(index, parameter, parameter2): (value, ci_low, ci_high)},
    or None where Sobol' cannot estimate them: the output is constant over the base samples A
    and B (a rare event, e.g. a mix share of a kind seen at one point only), and SALib would
    report indices of 0."""
    from SALib.analyze import morris, sobol
    out: dict[tuple[str, str, str], tuple[float, float, float]] = {}
    names = prob["names"]
    if design.method == "morris":
        si = morris.analyze(prob, x, y, num_levels=design.options["levels"], conf_level=0.95, seed=boot,
                            num_resamples=resamples)
        for j, name in enumerate(names):
            ms, conf = float(si["mu_star"][j]), float(si["mu_star_conf"][j])
            out[("mu_star", name, "")] = (ms, ms - conf, ms + conf)
            out[("mu", name, "")] = (float(si["mu"][j]), math.nan, math.nan)
            out[("sigma", name, "")] = (float(si["sigma"][j]), math.nan, math.nan)
        return out
    second = bool(design.options["second_order"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        si = sobol.analyze(prob, y, calc_second_order=second, conf_level=0.95, seed=boot, num_resamples=resamples)
    for w in caught:
        if str(w.message).startswith("Constant values encountered"):
            return None
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    for j, name in enumerate(names):
        for ix in ("S1", "ST"):
            v, conf = float(si[ix][j]), float(si[f"{ix}_conf"][j])
            out[(ix, name, "")] = (v, v - conf, v + conf)
    if second:
        for j, k in itertools.combinations(range(len(names)), 2):
            v, conf = float(si["S2"][j, k]), float(si["S2_conf"][j, k])
            out[("S2", names[j], names[k])] = (v, v - conf, v + conf)
    return out


def analyse(design: Design, summary: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]],
            replications: int, seed: int, metrics_: Sequence[str] = EXPERIMENT_METRICS
            ) -> tuple[list[dict], list[dict]]:
    """Sensitivity indices (SALib) of each metric's point means; returns (index rows, noise rows).

    Morris: ``mu_star`` (mean |elementary effect|: the metric's change as a parameter moves
    across its whole range) with its bootstrap interval, ``mu`` and ``sigma``. Sobol': ``S1``,
    ``ST`` (and ``S2``) with bootstrap intervals.

    Noise: every replication is a complete design of its own (the same seed at every point), so
    the indices are also computed from each replication alone; ``noise_se`` = sd of those R
    values / sqrt(R) is the standard error that replication noise adds to ``value`` (common
    random numbers included, unlike the metric-level ``noise_share``). Metrics that are
    constant or undefined somewhere are skipped (their noise row says why)."""
    prob = problem(design.factors)
    x = np.asarray(design.samples, dtype=float)
    boot = design_int_seed(seed, SALIB_BOOTSTRAP_STREAM)
    by_rep: dict[int, dict[int, Mapping[str, Any]]] = {}
    for r in rows:
        by_rep.setdefault(int(r["replication"]), {})[int(r["point"])] = r
    out, noise = [], []
    for m in metrics_:
        nr = noise_row(m, summary, replications)
        noise.append(nr)
        if nr["status"] != "ok":
            continue
        main = _indices(design, prob, x, np.array([s[f"{m}.mean"] for s in summary], dtype=float), boot)
        if main is None:
            nr["status"] = "constant over the Sobol' base samples"
            continue
        per_rep: list[dict] = []
        if replications > 1:
            for rep in sorted(by_rep):
                y = np.array([by_rep[rep][i][m] for i in range(len(design.points))], dtype=float)
                if np.isnan(y).any() or np.ptp(y) <= 1e-12 * max(1.0, float(np.abs(y).max())):
                    per_rep = []
                    break
                indices = _indices(design, prob, x, y, boot, resamples=2)
                if indices is None:
                    per_rep = []
                    break
                per_rep.append(indices)
        for (ix, p1, p2), (v, lo, hi) in main.items():
            se = (float(np.std([d[(ix, p1, p2)][0] for d in per_rep], ddof=1)) / math.sqrt(len(per_rep))
                  if len(per_rep) > 1 else math.nan)
            out.append({"method": design.method, "metric": m, "parameter": p1, "parameter2": p2, "index": ix,
                        "value": v, "ci_low": lo, "ci_high": hi, "noise_se": se})
    return out, noise


def write_sensitivity(result: ExperimentResult, seed: int, replications: int) -> tuple[list[dict], list[dict]]:
    rows, noise = analyse(result.design, result.summary, result.rows, replications, seed)
    write_text(result.folder.path / NOISE, csv_text(NOISE_COLUMNS, noise))
    write_text(result.folder.path / SENSITIVITY, csv_text(SENSITIVITY_COLUMNS, rows))
    return rows, noise


# --- reading an experiment back ----------------------------------------------------------------
def is_experiment(path: str | Path) -> bool:
    return (Path(path) / SWEEP_SUMMARY).exists()


def load_experiment(path: str | Path) -> ExperimentResult:
    """An experiment folder's manifest and tables (rows and summaries as dicts)."""
    import pandas as pd
    folder = ExperimentFolder(path)
    m = folder.manifest() or {}
    if not (folder.path / SWEEP_SUMMARY).exists():
        raise DesignError(f"{folder.path}: no {SWEEP_SUMMARY}; not a finished quietcar experiment")
    summary = pd.read_csv(folder.path / SWEEP_SUMMARY).to_dict("records")
    rows = pd.read_csv(folder.path / SWEEP).to_dict("records") if (folder.path / SWEEP).exists() else []
    keys = tuple(m.get("keys") or [])
    d = m.get("design") or {}
    factors = tuple(Factor(f["key"], f.get("type", "float"), tuple(f.get("levels", ())),
                           f.get("low", math.nan), f.get("high", math.nan)) for f in d.get("factors", []))
    if not factors:
        factors = tuple(Factor(k, "float") for k in keys)
    points = tuple(tuple(s[k] for k in keys) for s in summary)
    design = Design(d.get("method", "factorial"), factors, points,
                    options={k: v for k, v in d.items() if k not in ("method", "factors", "points")})
    return ExperimentResult(folder, design, rows, summary, m)
