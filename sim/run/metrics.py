"""Records -> metrics. Pure functions, no I/O.

A train's records are first reduced to a *tally*: additive counts (violations, complaints)
and time-weighted levels (passenger-minutes, noisy minutes), kept apart as salabim keeps
counters and level monitors apart. Every metric is a ratio of tallies, so the metric of a
set of trains (a network day) is the ratio of their summed tallies: averages over trains
are weighted by exactly the denominator the metric names (passenger-hours, starts, ...).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
from numba import njit

from ..model.booking import OPTIN, OUTCOMES, OVERFLOW
from ..model.onboard import ENDERS
from ..model.params import KINDS
from ..model.train import TrainResult

Tally = dict[str, float]
REFUSED = OUTCOMES.index("refused")


def t_quantile(q: float, dof: float) -> float:
    """Student's t quantile. SciPy is imported here, not with the module: it takes over a
    second to import, and workers, which only tally, never need it."""
    from scipy import stats
    return float(stats.t.ppf(q, dof))


def tally(result: TrainResult) -> Tally:
    """The additive quantities of one train (counts, minutes, passenger-legs)."""
    req, booked, ob, spec = result.requests, result.booking, result.onboard, result.spec
    *per_outcome, offered, quiet_legs, overflow_legs, seated, seated_legs = _request_counts(
        booked.outcome, booked.offered, req.origin, req.dest, req.size, len(OUTCOMES)).tolist()
    leg_min = spec.run_min / spec.legs
    t: Tally = {"trains": 1.0, "requests": float(req.n)}
    for name, count in zip(OUTCOMES, per_outcome):
        t[f"requests_{name}"] = float(count)
    t["offered"] = float(offered)
    t["accepted"] = t["requests_optin"]
    t["quiet_seat_legs"] = float(sum(spec.quiet_seats) * spec.legs)
    t["quiet_pax_legs"] = float(quiet_legs)
    t["overflow_pax_legs"] = float(overflow_legs)
    t["quiet_seat_min"] = sum(spec.quiet_seats) * spec.run_min  # seat-legs weighted by their running time
    t["quiet_sold_seat_min"] = quiet_legs * leg_min
    t["seated_travellers"] = float(seated)  # second class: opt-in, overflow or ordinary
    t["seated_trip_legs"] = float(seated_legs)
    t["seated_trip_min"] = seated_legs * leg_min
    pax = result.passengers
    t["trip_travellers"] = float(pax.n)  # the quiet car's, by their booked trips
    t["trip_legs"] = float((pax.dest - pax.origin).sum())
    t["trip_min"] = t["trip_legs"] * leg_min
    for prefix, cars in (("", ob.cars), ("control_", ob.control)):
        t[prefix + "car_min"] = sum(c.car_min for c in cars)
        t[prefix + "pax_min"] = sum(c.pax_min for c in cars)
        t[prefix + "noisy_min"] = sum(c.noisy_min for c in cars)
        t[prefix + "passengers"] = float(sum(c.passengers for c in cars))
    t["optin_pax_min"] = sum(c.optin_pax_min for c in ob.cars)
    t["optin_disturbed_pax_min"] = sum(v.disturbed_optin_pax_min for v in ob.violations if not v.control)
    for key in ("calm_starts", "noisy_starts", "calm_damped_starts", "noisy_damped_starts", "expected_calm",
                "expected_noisy", "expected_calm_damped", "expected_noisy_damped"):
        t[key] = float(sum(getattr(c, key) for c in ob.cars))
    keys = ["starts", "disturbed_pax_min", "ended_count", "ended_min"]
    keys += [f"starts_{k}" for k in KINDS] + [f"ended_{w}" for w in ENDERS]
    keys += [f"{x}_{k}" for x in ("reminded", "violation_min", "interventions") for k in KINDS]
    keys += [f"ended_{w}_{k}" for w in ENDERS for k in KINDS]
    for prefix in ("", "control_"):
        for key in keys:
            t[prefix + key] = 0.0
    for v in ob.violations:
        p = "control_" if v.control else ""
        t[p + "starts"] += 1
        t[p + "starts_" + v.kind] += 1
        t[p + "ended_" + v.ended_by] += 1
        t[p + "ended_" + v.ended_by + "_" + v.kind] += 1
        t[p + "disturbed_pax_min"] += v.disturbed_pax_min
        t[p + "violation_min_" + v.kind] += v.end - v.start  # every violation ends by arrival
        t[p + "reminded_" + v.kind] += v.reminded
        t[p + "interventions_" + v.kind] += v.staff_contacts
        if v.ended_by != "alighting":
            t[p + "ended_count"] += 1
            t[p + "ended_min"] += v.end - v.start
    t["interventions"] = float(ob.interventions)
    t["staff_min"] = ob.staff_min
    t["complaints"] = float(ob.complaints)
    return t


@njit(cache=True)
def _request_counts(outcome, offered, origin, dest, size, outcomes):
    """Requests per outcome, requests offered the quiet car, the passenger-legs (travellers x
    legs) of the quiet car's travellers and of its overflow travellers, and the travellers and
    passenger-legs of everyone seated (not refused): exact integers."""
    counts = np.zeros(outcomes + 5, np.int64)
    for r in range(len(outcome)):
        counts[outcome[r]] += 1
        counts[outcomes] += offered[r]
        legs = (np.int64(dest[r]) - origin[r]) * size[r]
        if outcome[r] == OPTIN or outcome[r] == OVERFLOW:
            counts[outcomes + 1] += legs
            if outcome[r] == OVERFLOW:
                counts[outcomes + 2] += legs
        if outcome[r] != REFUSED:
            counts[outcomes + 3] += size[r]
            counts[outcomes + 4] += legs
    return counts


def add(tallies: Iterable[Mapping[str, float]]) -> Tally:
    """Sum tallies key by key (the tally of a set of trains)."""
    total: Tally = {}
    for t in tallies:
        for k, v in t.items():
            total[k] = total.get(k, 0.0) + v
    return total


def _ratio(num: float, den: float, scale: float = 1.0) -> float:
    return scale * num / den if den > 0 else math.nan


def _lift(starts: float, expected: float, base_starts: float, base_expected: float) -> float:
    """(starts / expected) in one state over the same in the base state: a ratio of
    standardised rates, each state's observed starts over the starts its travellers' own rates
    (without contagion or damping) make expected there."""
    state, base = _ratio(starts, expected), _ratio(base_starts, base_expected)
    return _ratio(state, base) if state == state and base == base else math.nan


def _contagion_lift(t: Mapping[str, float]) -> float:
    """Outside damping windows: start rate while another violation runs / while none runs."""
    return _lift(t["noisy_starts"] - t["noisy_damped_starts"], t["expected_noisy"],
                 t["calm_starts"] - t["calm_damped_starts"], t["expected_calm"])


def _damping_lift(t: Mapping[str, float]) -> float:
    """While none runs: start rate inside damping windows / outside them."""
    return _lift(t["calm_damped_starts"], t["expected_calm_damped"],
                 t["calm_starts"] - t["calm_damped_starts"], t["expected_calm"])


def _metric_table() -> dict[str, Callable[[Mapping[str, float]], float]]:
    m: dict[str, Callable[[Mapping[str, float]], float]] = {
        "uptake_rate": lambda t: _ratio(t["accepted"], t["offered"]),
        "quiet_load_factor": lambda t: _ratio(t["quiet_sold_seat_min"], t["quiet_seat_min"]),
        "overflow_share": lambda t: _ratio(t["overflow_pax_legs"], t["quiet_pax_legs"]),
        "refused_share": lambda t: _ratio(t["requests_refused"], t["requests"]),
        "violations_per_100_pax_h": lambda t: _ratio(t["starts"], t["pax_min"], 6000.0),
    }
    for k in KINDS:
        m[f"violation_mix.{k}"] = lambda t, k=k: _ratio(t[f"starts_{k}"], t["starts"])
    m["noisy_time_share"] = lambda t: _ratio(t["noisy_min"], t["car_min"])
    m["mean_violation_min"] = lambda t: _ratio(t["ended_min"], t["ended_count"])
    m["disturbed_pax_min_per_pax_h"] = lambda t: _ratio(t["disturbed_pax_min"], t["pax_min"], 60.0)
    m["optin.disturbed_pax_min_per_pax_h"] = lambda t: _ratio(t["optin_disturbed_pax_min"], t["optin_pax_min"], 60.0)
    for w in ENDERS:
        m[f"ended_by.{w}"] = lambda t, w=w: _ratio(t[f"ended_{w}"], t["starts"])
    for w in ENDERS:
        for k in KINDS:
            m[f"ended_by.{w}.{k}"] = lambda t, w=w, k=k: _ratio(t[f"ended_{w}_{k}"], t[f"starts_{k}"])
    for k in KINDS:
        m[f"sanctioned.{k}"] = lambda t, k=k: _ratio(t[f"reminded_{k}"], t[f"starts_{k}"])
    m["sanctioned.all"] = lambda t: _ratio(sum(t[f"reminded_{k}"] for k in KINDS), t["starts"])
    for p, name in (("", ""), ("control_", "control.")):
        m[f"{name}calls_running"] = lambda t, p=p: _ratio(t[p + "violation_min_call"], t[p + "car_min"])
        m[f"{name}violations_running"] = lambda t, p=p: _ratio(
            sum(t[f"{p}violation_min_{k}"] for k in KINDS), t[p + "car_min"])
    m["staff_interventions_per_train"] = lambda t: _ratio(t["interventions"], t["trains"])
    m["staff_interventions_per_car_h"] = lambda t: _ratio(t["interventions"], t["car_min"], 60.0)
    for k in KINDS:
        m[f"warned_mix.{k}"] = lambda t, k=k: _ratio(t[f"interventions_{k}"], t["interventions"])
    m["staff_min_per_train"] = lambda t: _ratio(t["staff_min"], t["trains"])
    m["complaints_per_1000_pax"] = lambda t: _ratio(t["complaints"], t["passengers"], 1000.0)
    m["contagion_lift"] = _contagion_lift
    m["damping_lift"] = _damping_lift
    m["mean_trip_min"] = lambda t: _ratio(t["trip_min"], t["trip_travellers"])
    m["mean_trip_legs"] = lambda t: _ratio(t["trip_legs"], t["trip_travellers"])
    m["second_class.mean_trip_min"] = lambda t: _ratio(t["seated_trip_min"], t["seated_travellers"])
    m["second_class.mean_trip_legs"] = lambda t: _ratio(t["seated_trip_legs"], t["seated_travellers"])
    m["control.violations_per_100_pax_h"] = lambda t: _ratio(t["control_starts"], t["control_pax_min"], 6000.0)
    m["control.noisy_time_share"] = lambda t: _ratio(t["control_noisy_min"], t["control_car_min"])
    m["control.disturbed_pax_min_per_pax_h"] = lambda t: _ratio(
        t["control_disturbed_pax_min"], t["control_pax_min"], 60.0)
    return m


METRICS = _metric_table()
METRIC_NAMES: tuple[str, ...] = tuple(METRICS)
# The metrics printed by default and used by --precision (shares that are complements or
# mixes of these, and the control car's, are left out).
HEADLINE: tuple[str, ...] = (
    "uptake_rate", "quiet_load_factor", "overflow_share", "violations_per_100_pax_h", "noisy_time_share",
    "mean_violation_min", "disturbed_pax_min_per_pax_h", "ended_by.self", "ended_by.peer", "ended_by.staff",
    "ended_by.alighting", "staff_interventions_per_train", "staff_min_per_train", "complaints_per_1000_pax",
    "contagion_lift")


def metrics(t: Mapping[str, float]) -> dict[str, float]:
    """Every metric of a tally (one train, or the sum over a network day), NaN where undefined."""
    return {name: f(t) for name, f in METRICS.items()}


def train_metrics(result: TrainResult) -> dict[str, float]:
    """The per-train metrics of one simulated train."""
    return metrics(tally(result))


# --- summaries across replications ----------------------------------------------------------
def summarise(values: Iterable[float], level: float = 0.95) -> dict[str, float]:
    """Mean, sample sd and Student-t interval of replication values (NaNs left out)."""
    x = np.asarray([v for v in values if v == v], dtype=float)
    n = len(x)
    if n == 0:
        return {"mean": math.nan, "sd": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": 0}
    mean = float(x.mean())
    if n == 1:
        return {"mean": mean, "sd": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": 1}
    sd = float(x.std(ddof=1))
    half = t_quantile(0.5 + level / 2.0, n - 1) * sd / math.sqrt(n)
    return {"mean": mean, "sd": sd, "ci_low": mean - half, "ci_high": mean + half, "n": n}


def difference(a: Sequence[float], b: Sequence[float], paired: bool, level: float = 0.95) -> dict[str, float]:
    """b - a with its Student-t interval: paired (same seeds, common random numbers) or Welch.

    For a paired difference ``variance_reduction`` is 1 - Var(b - a) / (Var(a) + Var(b)):
    the share of the unpaired variance that common random numbers removed.
    """
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if paired:
        keep = ~(np.isnan(xa) | np.isnan(xb))
        d = xb[keep] - xa[keep]
        out = summarise(d, level)
        denom = xa[keep].var(ddof=1) + xb[keep].var(ddof=1) if keep.sum() > 1 else 0.0
        out["variance_reduction"] = 1.0 - d.var(ddof=1) / denom if denom > 0 else math.nan
        return out
    xa, xb = xa[~np.isnan(xa)], xb[~np.isnan(xb)]
    na, nb = len(xa), len(xb)
    mean = float(xb.mean() - xa.mean()) if na and nb else math.nan
    if na < 2 or nb < 2:
        return {"mean": mean, "sd": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": min(na, nb),
                "variance_reduction": math.nan}
    va, vb = xa.var(ddof=1) / na, xb.var(ddof=1) / nb
    se = math.sqrt(va + vb)
    if se == 0:
        return {"mean": mean, "sd": 0.0, "ci_low": mean, "ci_high": mean, "n": min(na, nb),
                "variance_reduction": math.nan}
    dof = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
    half = t_quantile(0.5 + level / 2.0, dof) * se
    return {"mean": mean, "sd": se, "ci_low": mean - half, "ci_high": mean + half, "n": min(na, nb),
            "variance_reduction": math.nan}


def imprecise(rows: Sequence[Mapping[str, float]], names: Iterable[str], precision: float,
              level: float = 0.95) -> dict[str, float]:
    """The metrics whose interval half-width exceeds ``precision`` x |mean|, with the ratio
    half-width / |mean| (inf for a mean of 0 with spread). Undefined metrics are skipped."""
    out = {}
    for m in names:
        s = summarise([r[m] for r in rows], level)
        if s["n"] == 0 or (s["n"] == 1 and len(rows) > 1):
            continue  # undefined in (nearly) every replication: nothing to judge
        if s["n"] == 1:
            out[m] = math.inf  # one replication: no interval yet
            continue
        half = s["ci_high"] - s["mean"]
        if half > precision * abs(s["mean"]):
            out[m] = half / abs(s["mean"]) if s["mean"] != 0 else math.inf
    return out


def replications_needed(rows: Sequence[Mapping[str, float]], names: Iterable[str], precision: float,
                        level: float = 0.95) -> float:
    """Replications after which every named metric's half-width should be <= precision x
    |mean|, estimated from the sd so far: n = (t x sd / (precision x |mean|))^2 (inf when a
    metric's mean is 0 but varies)."""
    need: float = len(rows)
    for m in imprecise(rows, names, precision, level):
        s = summarise([r[m] for r in rows], level)
        if s["mean"] == 0 or s["sd"] != s["sd"]:
            return math.inf
        t = t_quantile(0.5 + level / 2.0, max(1, s["n"] - 1))
        need = max(need, math.ceil((t * s["sd"] / (precision * abs(s["mean"]))) ** 2))
    return need
