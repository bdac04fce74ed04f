"""A journey as the page plays it: the classroom frames (:mod:`sim.demo`) written as compact JSON.

This module reads :class:`sim.demo.Frame` objects and the run's violation records, never the
raw trace, so a change in how the model records its trace stays inside :mod:`sim.demo`.

A journey is small: a frame stores only what changed in the seats since the previous frame,
and the running numbers rounded to what the panels show; the last frame carries the train's
own metrics unrounded, exactly as :func:`sim.run.metrics.train_metrics` gives them.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..demo import LEVERS, DemoRun, Frame, build_frames, run, seat_label, station
from ..model.onboard import ENDERS
from ..model.params import KINDS
from ..scenario import Scenario, with_values

#: The numbers of the journey's last frame (and of the side-by-side difference), in order:
#: (name, how it is read). Names are metric output names of sim.run.metrics, or a tally count.
FINAL: tuple[tuple[str, str], ...] = (
    ("violations", "count"),
    ("violations_per_100_pax_h", "rate"),
    ("noisy_time_share", "share"),
    ("disturbed_pax_min_per_pax_h", "rate"),
    ("passengers", "count"),
    ("quiet_load_factor", "share"),
    ("overflow_share", "share"),
    ("refused_share", "share"),
    *((f"ended_by.{w}", "share") for w in ENDERS),
    ("staff_interventions_per_train", "count"),
    ("complaints_per_1000_pax", "rate"),
)
#: Tally counts shown as numbers among FINAL (the rest are metrics).
COUNTS = {"violations": "starts", "passengers": "passengers"}
#: The running numbers of every frame, rounded to 4 significant digits.
LIVE: tuple[str, ...] = ("violations_per_100_pax_h", "noisy_time_share", "disturbed_pax_min_per_pax_h")
BUBBLES: tuple[str, ...] = ("reminder_ok", "reminder_failed", "complaint", "intervene", "moved")
STAFF_LABELS = {"staff patrol": 0, "staff (called)": 1}


def _num(x: float) -> float | None:
    """A metric for JSON: NaN (a ratio of nothing, e.g. no violations) becomes null."""
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _round(x: float) -> float | None:
    return None if math.isnan(x) else float(f"{x:.4g}")


def final_numbers(run_: DemoRun) -> dict[str, float | None]:
    """The train's numbers the page ends on: metrics unrounded, counts from the tally."""
    return {name: _num(run_.tally[COUNTS[name]] if name in COUNTS else run_.metrics[name]) for name, _ in FINAL}


def _events(run_: DemoRun, frames: list[Frame], car: int) -> list[list[Any]]:
    """What happened in car ``car``, in order: [minute, label key, seat, kind]; label keys are
    ``event.*`` of :mod:`.labels`. Violations come from the run's records, stations, patrols
    and reactions from the frames."""
    pax = run_.result.passengers
    out: list[list[Any]] = []
    for v in run_.result.onboard.violations:
        if v.control or v.car != car:
            continue
        seat = seat_label(int(pax.seat[v.pax]))
        out.append([v.start, "event.start" if v.optin else "event.start_overflow", seat, v.kind])
        out.append([v.end, f"event.end_{v.ended_by}", seat, v.kind])
    previous_bubbles: set[tuple[int, str]] = set()
    patrolling = False
    for f in frames:
        if f.at_stop >= 0:
            out.append([f.minute, "event.station", station(f.at_stop), int(f.alighted.sum()), int(f.boarded.sum())])
        bubbles = {(b.seat, b.what) for b in f.bubbles}
        for seat, what in sorted(bubbles - previous_bubbles):
            if what in ("reminder_failed", "complaint", "moved"):
                out.append([f.minute, f"event.{what}", seat_label(seat), ""])
        previous_bubbles = bubbles
        now = any(label == "staff patrol" for _, label in f.staff)
        if now and not patrolling:
            out.append([f.minute, "event.patrol", "", ""])
        patrolling = now
    order = {"event.station": 0, "event.patrol": 1}
    out.sort(key=lambda e: (e[0], order.get(e[1], 2)))
    for e in out:
        e[0] = round(float(e[0]), 2)
    return out


def journey(run_: DemoRun, step: float = 0.5, car: int = 0) -> dict[str, Any]:
    """The journey of ``run_`` as the page plays it (JSON-ready)."""
    frames = build_frames(run_, step=step, car=car)
    spec = run_.result.spec
    previous = None
    out_frames = []
    for f in frames:
        occupant = f.occupant.tolist()
        if previous is None:
            changes = [[s, c] for s, c in enumerate(occupant) if c]
        else:
            changes = [[s, c] for s, (c, p) in enumerate(zip(occupant, previous)) if c != p]
        previous = occupant
        item: dict[str, Any] = {"m": round(f.minute, 3)}
        if f.at_stop >= 0:
            item["s"] = f.at_stop
        if changes:
            item["o"] = changes
        for key, mask in (("b", f.boarded), ("a", f.alighted)):
            seats = [int(s) for s in mask.nonzero()[0]]
            if seats:
                item[key] = seats
        if f.noisy:
            item["n"] = [[seat, KINDS.index(kind)] for seat, kind in f.noisy]
            item["d"] = f.disturbed_now
        if f.staff:
            item["st"] = [[round(pos, 2), STAFF_LABELS.get(label, 1)] for pos, label in f.staff]
        if f.bubbles:
            item["bu"] = [[b.seat, BUBBLES.index(b.what)] for b in f.bubbles]
        item["k"] = [int(f.live[f"starts_{k}"]) for k in KINDS]
        item["e"] = [int(f.live[f"ended_{w}"]) for w in ENDERS]
        item["v"] = [_round(f.values[name]) for name in LIVE]
        out_frames.append(item)
    return {
        "seed": run_.seed,
        "seats": int(spec.quiet_seats[car]),
        "stops": [round(t, 3) for t in spec.stop_times()],
        "reach": [int(r) for r in run_.result.params.behaviour.reach_rows],
        "describe": {"kind": spec.kind, "formation": str(spec.formation), "stops": spec.stops,
                     "minutes": round(spec.run_min, 1), "demand": round(spec.load_factor, 3)},
        "frames": out_frames,
        "events": _events(run_, frames, car),
        "final": final_numbers(run_),
    }


# --- levers: validated values -> the scenario of the run -----------------------------------------
class LeverError(ValueError):
    """A lever value the page may not ask for (the message names the lever and its range)."""


def lever_spec(lever) -> dict[str, Any]:
    """A lever as the page draws it: a choice or a slider with a step that hits its round values."""
    if lever.choices:
        return {"name": lever.name, "label": lever.label, "key": lever.key, "choices": list(lever.choices)}
    span = lever.hi - lever.lo
    step = 10.0 ** math.floor(math.log10(span / 30.0)) if span > 0 else 1.0
    return {"name": lever.name, "label": lever.label, "key": lever.key, "lo": lever.lo, "hi": lever.hi, "step": step, "unit": lever.unit}


def find_lever(name: str):
    """A lever by its name or its scenario key."""
    for lever in LEVERS:
        if name in (lever.name, lever.key):
            return lever
    raise LeverError(f"unknown lever {name!r}: the levers are " + ", ".join(l.name for l in LEVERS))


def check_value(lever, value: Any) -> Any:
    """``value`` for ``lever`` if it is allowed (a choice, or a finite number in the range)."""
    if lever.choices:
        if not isinstance(value, str) or value not in lever.choices:
            raise LeverError(f"lever {lever.name} ({lever.key}) must be one of {', '.join(lever.choices)}, "
                             f"got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not lever.lo <= value <= lever.hi:
        raise LeverError(f"lever {lever.name} ({lever.key}) must be a number from {lever.lo:g} to {lever.hi:g}, "
                         f"got {value!r}")
    return float(value)


def check_levers(values: Any) -> dict[str, Any]:
    """Validated lever values {name: value} from an untrusted mapping (the page's request)."""
    if not isinstance(values, Mapping):
        raise LeverError(f"levers must be an object {{name: value}}, got {type(values).__name__}")
    out = {}
    for name, value in values.items():
        lever = find_lever(str(name))
        out[lever.name] = check_value(lever, value)
    return out


def lever_values(scenario: Scenario) -> dict[str, Any]:
    """Every lever's value in ``scenario`` (the page starts from these)."""
    out = {}
    for lever in LEVERS:
        value = lever.value(scenario)
        if lever.choices and not isinstance(value, str):  # e.g. a switch read back as a bool
            value = str(value).lower()
        out[lever.name] = value
    return out


def run_levers(base: Scenario, seed: int, values: Mapping[str, Any], step: float = 0.5) -> dict[str, Any]:
    """Simulate ``base`` with the lever values (checked) and seed: the journey, with its levers."""
    checked = check_levers(values)
    overrides = [find_lever(n).override(v) for n, v in checked.items()]
    scenario = with_values(base, overrides) if overrides else base
    out = journey(run(scenario, seed), step=step)
    out["levers"] = {**lever_values(base), **checked}
    return out
