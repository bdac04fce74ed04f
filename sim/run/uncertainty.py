"""How much of a run's uncertainty is Monte-Carlo noise, and how much is the parameters'.

Within one replication (one network day) the Monte-Carlo variance of a metric is estimated
by the delete-one-group jackknife over the day's chunks of trains (trains of a day are drawn
independently, and every metric is a ratio of summed tallies). With ``--posterior`` each
replication also draws its parameters from the posterior, so the spread S^2 of replication
values is parameter variance plus Monte-Carlo variance; the parameter part is
V_par = max(S^2 - mean jackknife variance, 0). For every metric a run then reports

- the Monte-Carlo interval: the Student-t interval of the mean over n replications;
- the total predictive interval: mean ± t sqrt(V_par + S^2 / n) (t: the Student quantile with
  n - 1 degrees of freedom, as in the Monte-Carlo interval, which it therefore always contains),
  what the metric's long-run value can be given what the targets leave unknown about the
  parameters, plus the run's own noise; clipped to the values the metric can take (shares in
  [0, 1], everything else >= 0), since a wide parameter spread can reach past them;
- which dominates: the parameters when V_par > S^2 / n, else the Monte-Carlo noise
  ("undetermined" for one-train days, which have no chunks to split: then all the spread is
  counted as the parameters', a conservative interval).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from .metrics import METRIC_NAMES, metrics, summarise, t_quantile

#: Metrics that are shares of something, hence in [0, 1]; every other metric is >= 0.
SHARE_PREFIXES = ("violation_mix.", "ended_by.", "warned_mix.", "sanctioned.")
SHARE_NAMES = ("uptake_rate", "quiet_load_factor", "overflow_share", "refused_share", "noisy_time_share",
               "control.noisy_time_share")


def metric_bounds(name: str) -> tuple[float, float]:
    """The values a metric can possibly take: [0, 1] for shares, [0, inf) for the rest."""
    if name in SHARE_NAMES or name.startswith(SHARE_PREFIXES) or name.endswith("_share"):
        return 0.0, 1.0
    return 0.0, math.inf


def jackknife(tallies: Sequence[Mapping[str, float]], total: Mapping[str, float]) -> dict[str, float]:
    """Delete-one-group jackknife variance of every metric of ``total`` = sum of ``tallies``
    (NaN with fewer than 2 groups)."""
    g = len(tallies)
    if g < 2:
        return {m: math.nan for m in METRIC_NAMES}
    loo = [metrics({k: total[k] - t.get(k, 0.0) for k in total}) for t in tallies]
    out = {}
    for m in METRIC_NAMES:
        x = np.array([r[m] for r in loo], float)
        x = x[np.isfinite(x)]
        out[m] = float((len(x) - 1) / len(x) * ((x - x.mean()) ** 2).sum()) if len(x) > 1 else math.nan
    return out


def predictive(values: Sequence[float], mc_vars: Sequence[float], level: float = 0.95,
               bounds: tuple[float, float] = (-math.inf, math.inf)) -> dict[str, float | str]:
    """The total predictive interval of one metric beside its Monte-Carlo interval (see above),
    clipped to the values the metric can take (``bounds``: a rate is never negative)."""
    s = summarise(values, level)
    out: dict[str, float | str] = {"mean": s["mean"], "mc_low": s["ci_low"], "mc_high": s["ci_high"],
                                   "low": math.nan, "high": math.nan, "parameter_sd": math.nan,
                                   "mc_sd_of_mean": math.nan, "dominates": ""}
    if s["n"] < 2:
        return out
    v = np.asarray([x for x in mc_vars if x == x], float)
    s2 = s["sd"] ** 2
    vmean = s2 / s["n"]
    # with one train a day there are no chunks to split: all the spread counts as the parameters'
    vpar = max(s2 - float(v.mean()), 0.0) if len(v) else s2
    half = t_quantile(0.5 + level / 2.0, s["n"] - 1) * math.sqrt(vpar + vmean)
    dominates = ("parameters" if vpar > vmean else "monte_carlo") if len(v) else "undetermined"
    out.update(low=max(s["mean"] - half, bounds[0]), high=min(s["mean"] + half, bounds[1]),
               parameter_sd=math.sqrt(vpar),
               mc_sd_of_mean=math.sqrt(vmean), dominates=dominates)
    return out


def predictive_summary(rows: Sequence[Mapping[str, float]], mc: Sequence[Mapping[str, float]]
                       ) -> dict[str, dict]:
    """:func:`predictive` for every metric, from replication rows and their jackknife variances."""
    return {m: predictive([r[m] for r in rows], [v.get(m, math.nan) for v in mc], bounds=metric_bounds(m))
            for m in METRIC_NAMES}

