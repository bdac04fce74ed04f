"""Global sensitivity: run a Morris or Sobol' design, then SALib's indices of every metric,
each with the share of its uncertainty that is replication noise."""
from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..run.experiment_folder import NOISE, SENSITIVITY, ExperimentFolder
from ..run.design_checks import noise_warnings
from ..run.results import csv_text, write_text
from ..scenario import Scenario
from .designs import Design, problem
from .factors import SALIB_BOOTSTRAP_STREAM, design_int_seed
from .sweep import EXPERIMENT_METRICS, ExperimentResult, finish, run_design

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


#: The values each sensitivity index can take: Sobol' indices are shares of variance (0 to 1),
#: Morris mu* and sigma are a mean absolute effect and a standard deviation (>= 0); mu is signed.
INDEX_BOUNDS: dict[str, tuple[float, float]] = {"S1": (0.0, 1.0), "ST": (0.0, 1.0), "S2": (0.0, 1.0),
                                                "mu_star": (0.0, math.inf), "sigma": (0.0, math.inf)}


def cut_index(index: str, lo: float, hi: float) -> tuple[float, float, bool]:
    """(low, high, whether cut): an index's bootstrap interval limited to the values the index can
    take (:data:`INDEX_BOUNDS`). With few points the bootstrap interval reaches past them; the
    files keep SALib's interval as it was, figures and the console show it cut and say so."""
    low, high = INDEX_BOUNDS.get(index, (-math.inf, math.inf))
    if not (lo == lo and hi == hi):
        return lo, hi, False
    new = (min(max(lo, low), high), max(min(hi, high), low))  # both ends inside, even if all of it is beyond
    return new[0], new[1], new != (lo, hi)


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


def run_sensitivity(folder: ExperimentFolder, base: Scenario, design: Design, seed: int, replications: int,
                    workers: int, **kw) -> ExperimentResult:
    """A sensitivity study: run the SALib design, then write sensitivity.csv and
    sensitivity_noise.csv, then mark it complete."""
    result = run_design(folder, base, design, seed, replications, workers, kind="sensitivity", **kw)
    if not result.reused:
        _, noise = write_sensitivity(result, seed, replications)
        result.manifest["warnings"] = [*result.manifest.get("warnings", []), *noise_warnings(noise)]
        finish(result)
    return result
