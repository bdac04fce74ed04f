"""What a planner reads: each metric's plain name and unit, and numbers formatted alike in
the console, the figures and the report (shares in per cent, differences of shares in
percentage points, three significant digits, thousands separated).

Labels come from a table keyed by metric name. A metric that is not in it (one added to
:data:`sim.run.metrics.METRICS` later) still gets a readable label made from its name;
``tests/test_labels.py`` lists such metrics, so that they are given a proper one here."""
from __future__ import annotations

import math
from typing import Any

from ..model.onboard import ENDERS
from ..model.params import KINDS

#: metric -> (what it is, unit). A unit that starts with "share" marks a share (shown in per cent).
LABELS: dict[str, tuple[str, str]] = {
    "uptake_rate": ("Uptake of the agreement", "share of offers accepted"),
    "quiet_load_factor": ("Quiet-car load", "share of seat-minutes sold"),
    "overflow_share": ("Overflow (not opted in)", "share of quiet-car pax-km"),
    "refused_share": ("Refused booking requests", "share of requests"),
    "violations_per_100_pax_h": ("Violation rate", "starts per 100 pax-h"),
    "noisy_time_share": ("Noisy time", "share of running time"),
    "mean_violation_min": ("Length of a violation", "minutes"),
    "disturbed_pax_min_per_pax_h": ("Disturbance", "disturbed min per pax-h"),
    "optin.disturbed_pax_min_per_pax_h": ("Opt-in passengers' exposure", "disturbed min per opt-in pax-h"),
    "staff_interventions_per_train": ("Staff interventions", "per train"),
    "staff_min_per_train": ("Crew time on the quiet car", "minutes per train"),
    "complaints_per_1000_pax": ("Complaints", "per 1,000 passengers"),
    "contagion_lift": ("Contagion lift", "rate noisy / rate calm"),
    "control.violations_per_100_pax_h": ("Violation rate, control car", "starts per 100 pax-h"),
    "control.noisy_time_share": ("Noisy time, control car", "share of running time"),
    "control.disturbed_pax_min_per_pax_h": ("Disturbance, control car", "disturbed min per pax-h"),
    **{f"violation_mix.{k}": (f"Share of violations: {k}", "share of violations") for k in KINDS},
    **{f"ended_by.{w}": (f"Violations ended by {w}", "share of violations") for w in ENDERS},
    **{f"ended_by.{w}.{k}": (f"Violations of kind {k} ended by {w}", f"share of {k} violations")
       for w in ENDERS for k in KINDS},
    **{f"sanctioned.{k}": (f"Violations of kind {k} a neighbour reminded", f"share of {k} violations")
       for k in KINDS},
    "sanctioned.all": ("Violations a neighbour reminded", "share of violations"),
    **{f"warned_mix.{k}": (f"Staff interventions: {k}", "share of interventions") for k in KINDS},
    "calls_running": ("Phone calls under way", "calls at a random moment, per car"),
    "violations_running": ("Violations under way", "violations at a random moment, per car"),
    "control.calls_running": ("Phone calls under way, control car", "calls at a random moment"),
    "control.violations_running": ("Violations under way, control car", "violations at a random moment"),
    "staff_interventions_per_car_h": ("Staff interventions per car-hour", "per quiet car per hour"),
    "damping_lift": ("Damping lift", "rate after an intervention / rate otherwise"),
    "mean_trip_min": ("Quiet-car trip", "minutes"),
    "mean_trip_legs": ("Quiet-car trip", "legs"),
    "second_class.mean_trip_min": ("Second-class trip", "minutes"),
    "second_class.mean_trip_legs": ("Second-class trip", "legs"),
}

#: The possible range of a metric's values, where it is bounded (shares: 0 to 1; rates: >= 0).
def bounds(metric: str) -> tuple[float, float]:
    if is_share(metric):
        return 0.0, 1.0
    return 0.0, math.inf


def fallback_label(metric: str) -> tuple[str, str]:
    """A readable label made from a metric's name (for a metric missing from LABELS)."""
    words = metric.replace(".", ", ").replace("_", " ")
    unit = "share" if metric.endswith(("_share", "_rate")) or metric.startswith(("ended_by.", "violation_mix.")) \
        else ""
    return words[:1].upper() + words[1:], unit


def label(metric: str) -> tuple[str, str]:
    """(what it is, unit) of a metric."""
    return LABELS.get(metric) or fallback_label(metric)


def is_share(metric: str) -> bool:
    """Whether a metric is a share (shown in per cent)."""
    return label(metric)[1].startswith("share")


def unit(metric: str) -> str:
    """The unit as shown beside a value: '%' for shares, else the label's unit."""
    return "%" if is_share(metric) else label(metric)[1]


def number(v: Any) -> str:
    """A number: three significant digits, thousands separated, never scientific notation;
    a dash for undefined."""
    if v is None or isinstance(v, bool) or not isinstance(v, (int, float)):
        return "–" if v is None else str(v)
    x = float(v)
    if math.isnan(x):
        return "–"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x == 0:
        return "0"
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    digits = max(0, 2 - math.floor(math.log10(a)))
    text = f"{x:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "0") else text


def value(metric: str, v: Any, difference: bool = False) -> str:
    """A metric's value in its unit: shares as '12.3 %' (a difference of shares as '-4.1 pp')."""
    if is_share(metric) and isinstance(v, (int, float)) and not isinstance(v, bool) and v == v:
        return f"{number(100 * v)} {'pp' if difference else '%'}"
    return number(v)


#: Marks an interval cut at its metric's possible range (see :func:`cut`); :data:`CUT_NOTE` says why.
CUT_MARK = "†"
CUT_NOTE = f"{CUT_MARK} cut at the metric's possible range: a t interval from few replications reaches past it"


def cut(metric: str, lo: Any, hi: Any, difference: bool = False) -> tuple[Any, Any, bool]:
    """(low, high, whether cut): an interval limited to the values the metric can take (of a
    difference: -1 to 1 for shares, unbounded otherwise). Undefined ends are left as they are."""
    low, high = bounds(metric)
    if difference:
        low, high = low - high, high - low
    if not (isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and lo == lo and hi == hi):
        return lo, hi, False
    was = (lo, hi)
    lo, hi = min(max(lo, low), high), max(min(hi, high), low)  # both ends inside, even if all of it is beyond
    return lo, hi, (lo, hi) != was


def interval(metric: str, mean: Any, lo: Any, hi: Any, difference: bool = False) -> str:
    """'mean [low, high]' in the metric's unit (the unit written once, after the mean); an
    interval reaching past the metric's possible range is cut there and marked with
    :data:`CUT_MARK` (print :data:`CUT_NOTE` below a table that holds one)."""
    if lo is None or lo != lo:
        return value(metric, mean, difference)
    lo, hi, was_cut = cut(metric, lo, hi, difference)
    mark = CUT_MARK if was_cut else ""
    if is_share(metric):
        return f"{value(metric, mean, difference)} [{number(100 * lo)}, {number(100 * hi)}]{mark}"
    return f"{number(mean)} [{number(lo)}, {number(hi)}]{mark}"
