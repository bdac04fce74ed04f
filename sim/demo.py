"""The classroom view: one quiet car through one journey, with live panels and levers.

Two layers, kept apart so the first can be tested without drawing anything:

* **Frames** (pure): :func:`run` simulates one train with a trace; :func:`build_frames`
  turns its records and trace into a list of :class:`Frame` - who sits where, which
  violations run and whom they reach, where the staff are, what just happened, and the
  live numbers so far. The live numbers are partial tallies evaluated with the same
  formulas as :mod:`sim.metrics`; the last frame carries the train's own tally, so the
  panels end on exactly the numbers ``train_metrics`` (and the CLI) report for that train.
* **Drawing** (matplotlib): :class:`DemoView` draws a frame on a figure; :func:`save`
  writes an animation (self-contained HTML, GIF, MP4); :func:`show` opens a window with
  the levers as widgets.

The core model never imports this module. Times are minutes after departure.
"""
from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np

from .metrics import METRICS, Tally, tally
from .model.onboard import ENDERS
from .model.params import FAMILY_ADVICE, KINDS, OVERFLOW_POLICIES, SEATS_PER_ROW, SEGMENTS
from .model.train import TrainResult
from .runner import network_day, simulate_one
from .scenario import Scenario, with_values

# --- what is shown, in words and colours ---------------------------------------------------
EMPTY, OPTED_IN, OVERFLOW, INFANT = range(4)
OCCUPANTS: tuple[str, ...] = ("empty seat", "opted in", "overflow (did not opt in)", "family with infant")
SEAT_LETTERS = "ABCDF"  # 3 + 2 across the aisle, as on Chinese second-class seat maps

# Okabe-Ito palette (readable with every common colour-vision deficiency); kinds are told
# apart by their glyph, never by colour alone.
OCCUPANT_COLOURS = ("#f4f4f4", "#56b4e9", "#e69f00", "#cc79a7")
NOISE = "#d55e00"
STAFF = "#0072b2"
KIND_GLYPH = {"call": "\u260e", "talk": "\u263a", "media": "\u266b", "child": "\u2639"}
KIND_WORDS = {"call": "phone call", "talk": "loud talk", "media": "audio aloud", "child": "child noise"}
ENDER_WORDS = {"self": "itself", "peer": "neighbour", "staff": "staff", "alighting": "getting off"}
ENDER_COLOURS = {"self": "#999999", "peer": "#009e73", "staff": STAFF, "alighting": "#f0e442"}
STATION_NAMES = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# The metrics the panels show, by their stable output names (as the CLI reports them).
SHOWN: tuple[str, ...] = ("violations_per_100_pax_h", "noisy_time_share", "disturbed_pax_min_per_pax_h",
                          *(f"ended_by.{w}" for w in ENDERS), *(f"violation_mix.{k}" for k in KINDS))
LIVE_KEYS: tuple[str, ...] = ("starts", *(f"starts_{k}" for k in KINDS), *(f"ended_{w}" for w in ENDERS),
                              "ended_count", "ended_min", "noisy_min", "car_min", "pax_min",
                              "disturbed_pax_min", "noisy_starts", "complaints", "interventions")


def station(k: int) -> str:
    """The name shown for stop k (A, B, C, ...; the model's stops have no names)."""
    return STATION_NAMES[k] if k < len(STATION_NAMES) else f"S{k}"


def seat_label(seat: int) -> str:
    """Seat number as on a ticket: row (from 1) and letter, e.g. seat 32 -> '7C'."""
    return f"{seat // SEATS_PER_ROW + 1}{SEAT_LETTERS[seat % SEATS_PER_ROW]}"


# --- levers ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Lever:
    """A policy or behaviour knob the class can change: the scenario key(s) it sets."""
    name: str
    label: str
    key: str
    unit: str = ""
    choices: tuple[str, ...] = ()
    lo: float = 0.0
    hi: float = 1.0
    per_segment: bool = False  # one value for every segment of a per-segment table

    def value(self, scenario: Scenario) -> Any:
        """The lever's current value in a scenario (the mean over segments for a table)."""
        section, field = self.key.split(".")
        v = scenario.to_dict()[section][field]
        if self.per_segment:
            return float(np.mean([v[s] for s in SEGMENTS]))
        return v

    def exact(self, scenario: Scenario) -> str:
        """The ``--set KEY=VALUE`` that keeps the scenario's own value (per segment if they differ)."""
        if self.per_segment:
            section, field = self.key.split(".")
            table = scenario.to_dict()[section][field]
            inner = ", ".join(f"{s} = {_num(table[s])}" for s in SEGMENTS)
            return f"{self.key}={{{inner}}}"
        return self.override(self.value(scenario))

    def shown(self, scenario: Scenario) -> str:
        """The lever's value as the screen shows it."""
        v = self.value(scenario)
        if self.choices:
            return str(v)
        if self.per_segment:
            section, field = self.key.split(".")
            table = scenario.to_dict()[section][field]
            if len({table[s] for s in SEGMENTS}) > 1:
                return f"{_num(v)} (mean)"
        return _num(v)

    def override(self, value: Any) -> str:
        """The ``--set KEY=VALUE`` that gives the lever this value."""
        if self.choices:
            return f"{self.key}={value}"
        if self.per_segment:
            inner = ", ".join(f"{s} = {_num(value)}" for s in SEGMENTS)
            return f"{self.key}={{{inner}}}"
        return f"{self.key}={_num(value)}"


def _num(x: float) -> str:
    return f"{float(x):.4g}"


LEVERS: tuple[Lever, ...] = (
    Lever("overflow", "Overflow: unsold quiet seats go to", "booking.overflow", choices=OVERFLOW_POLICIES),
    Lever("load", "Demand (seats wanted per seat)", "network.load_factor_mean", "demand / seats", lo=0.3, hi=1.8),
    Lever("patrol", "Staff patrol every (min)", "staff.patrol_interval", "minutes", lo=5.0, hi=120.0),
    Lever("peers", "Neighbours ready to remind (prob.)", "behaviour.peer_remind", "probability", lo=0.0, hi=0.3,
          per_segment=True),
    Lever("contagion", "Contagion (rate lift per noisy one)", "behaviour.contagion", "rate lift", lo=0.0, hi=3.0),
    Lever("family", "Families with an infant are", "booking.family_advice", choices=FAMILY_ADVICE),
)


def lever_overrides(scenario: Scenario, values: dict[str, Any]) -> list[str]:
    """``--set`` items for the levers whose value differs from the scenario's."""
    out = []
    for lever in LEVERS:
        if lever.name in values:
            new, old = values[lever.name], lever.value(scenario)
            same = new == old if lever.choices else math.isclose(float(new), float(old), rel_tol=1e-9, abs_tol=1e-12)
            if not same:
                out.append(lever.override(new))
    return out


# --- the run ----------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class DemoRun:
    """One train simulated with a trace, and its final tally and metrics (as the CLI has them)."""
    scenario: Scenario
    seed: int
    replication: int
    train: int
    result: TrainResult
    trace: tuple
    tally: Tally
    metrics: dict[str, float]


def run(scenario: Scenario, seed: int, train: int = 0, replication: int = 0) -> DemoRun:
    """Simulate train ``train`` of replication ``replication`` of ``scenario`` with ``seed``:
    the same train, with the same random streams, as row (replication, train) of a run."""
    specs = network_day(scenario, seed, replication)
    if not 0 <= train < len(specs):
        raise ValueError(f"train {train} does not exist: the scenario has {len(specs)} train(s) (0..{len(specs) - 1})")
    log: list = []
    result = simulate_one(scenario, specs[train], seed, replication, trace=log)
    t = tally(result)
    return DemoRun(scenario=scenario, seed=seed, replication=replication, train=train, result=result,
                   trace=tuple(log), tally=t, metrics={name: f(t) for name, f in METRICS.items()})


# --- frames (pure) ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Bubble:
    """Something that just happened at a seat: a reminder, a complaint, staff, a move."""
    seat: int
    what: str
    text: str


@dataclass(frozen=True, eq=False)
class Frame:
    """What the classroom view shows at one minute of the journey (car ``car`` of the train).

    ``occupant`` per seat (EMPTY, OPTED_IN, OVERFLOW, INFANT); ``boarded`` / ``alighted``
    seats whose traveller got on / off within the last ``linger`` minutes; ``noisy`` the
    running violations as (seat, kind); ``halo`` per row, how many running violations reach
    it; ``disturbed_now`` travellers on board within reach of someone else's violation;
    ``staff`` (row position, label) of crew in the car; ``bubbles`` events within the last
    ``linger`` minutes; ``log`` the latest event lines; ``live`` partial tally of the whole
    train (every quiet car) up to this minute and ``values`` its metrics (names of SHOWN).
    """
    index: int
    minute: float
    at_stop: int
    leg: int
    final: bool
    occupant: np.ndarray
    boarded: np.ndarray
    alighted: np.ndarray
    noisy: tuple[tuple[int, str], ...]
    halo: np.ndarray
    disturbed_now: int
    staff: tuple[tuple[float, str], ...]
    bubbles: tuple[Bubble, ...]
    log: tuple[str, ...]
    live: dict[str, float]
    values: dict[str, float]

    @property
    def on_board(self) -> int:
        return int(np.count_nonzero(self.occupant != EMPTY))

    def count(self, occupant: int) -> int:
        return int(np.count_nonzero(self.occupant == occupant))


def frame_times(stop_times: Sequence[float], step: float) -> list[float]:
    """Every ``step`` minutes from departure, plus every stop (so none is skipped), ending on arrival."""
    end = stop_times[-1]
    grid = np.arange(0.0, end, step).tolist()
    times = sorted(set(grid) | set(stop_times))
    out: list[float] = []
    for t in times:
        if out and t - out[-1] < 1e-6 * max(1.0, step):
            if t in stop_times:
                out[-1] = t  # keep the stop's own time
            continue
        out.append(t)
    return out


def _merged(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[list[float]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def _covered(merged: list[tuple[float, float]], t: float) -> float:
    return sum(max(0.0, min(b, t) - a) for a, b in merged if a < t)


@dataclass(frozen=True)
class _Walk:
    """A crew member's path through the car: piecewise linear (minute, row position)."""
    times: tuple[float, ...]
    rows: tuple[float, ...]
    label: str

    def at(self, t: float) -> float | None:
        if t < self.times[0] or t > self.times[-1]:
            return None
        return float(np.interp(t, self.times, self.rows))


def staff_walks(run_: DemoRun, car: int, rows: int, linger: float) -> list[_Walk]:
    """Reconstruct where the crew were in car ``car`` from the trace.

    A patrol pass ('patrol' event) walks the rows front to back at ``patrol_walk / rows``
    minutes a row and stops ``intervention_min`` at each row where it intervenes (its
    'intervene' events fall exactly on its arrival at that row). Any other intervention is a
    crew member called by a complaint: shown walking in from the front door during
    ``response_walk`` and standing at the row while handling it.
    """
    st = run_.result.params.staff
    pax = run_.result.passengers
    events = [e for e in run_.trace if e[2] == car and not e[3]]
    interventions = [(e[0], int(pax.row[e[4]])) for e in events if e[1] == "intervene"]
    used = [False] * len(interventions)
    step = st.patrol_walk / rows
    hold = max(st.intervention_min, linger / 2)
    walks: list[_Walk] = []
    for t0 in (e[0] for e in events if e[1] == "patrol"):
        ts, rs = [t0], [-0.8]
        t = t0
        for r in range(rows):
            if step > 0:
                t = t + step
            ts.append(t)
            rs.append(float(r))
            for j, (ti, ri) in enumerate(interventions):
                if not used[j] and ri == r and abs(ti - t) < 1e-7:
                    used[j] = True
                    if st.intervention_min > 0:
                        t = t + st.intervention_min
                        ts.append(t)
                        rs.append(float(r))
        if ts[-1] - ts[0] < linger / 2:  # an instantaneous pass: keep it visible for a moment
            ts.append(ts[0] + linger / 2)
            rs.append(rs[-1])
        walks.append(_Walk(tuple(ts), tuple(rs), "staff patrol"))
    for j, (ti, ri) in enumerate(interventions):
        if not used[j]:
            start = ti - st.response_walk
            ts = (start, ti, ti + hold) if st.response_walk > 0 else (ti, ti + hold)
            rs = (-0.8, float(ri), float(ri)) if st.response_walk > 0 else (float(ri), float(ri))
            walks.append(_Walk(tuple(ts), tuple(rs), "staff (called)"))
    return walks


_BUBBLE = {"reminder_ok": "Shh! \u2714", "reminder_failed": "Shh! \u2716", "complaint": "complaint",
           "intervene": "staff", "moved": "moved out"}


def event_lines(run_: DemoRun, car: int) -> list[tuple[float, str]]:
    """The trace of car ``car`` told in words, one line per thing that happened, in order;
    boarding and alighting are told once per stop."""
    pax = run_.result.passengers
    stops = run_.result.spec.stop_times()
    events = [e for e in run_.trace if e[2] == car and not e[3]]
    moves: dict[float, list[int]] = {}
    for e in events:
        if e[1] in ("board", "alight"):
            moves.setdefault(e[0], [0, 0])[e[1] == "board"] += 1
    out: list[tuple[float, str]] = []
    told: set[float] = set()
    for i, (t, what, _, _, p, kind) in enumerate(events):
        if what in ("board", "alight"):
            if t not in told:
                told.add(t)
                off, on = moves[t]
                k = int(np.argmin(np.abs(np.asarray(stops) - t)))
                out.append((t, f"station {station(k)}: {off} off, {on} on"))
            continue
        s = seat_label(int(pax.seat[p])) if p >= 0 else ""
        same = [e for e in events[i + 1:i + 3] if e[0] == t and e[4] == p]
        nxt = same[0][1] if same else ""
        if what == "intervene":
            outcome = "it stops" if nxt == "end_staff" else "ignored"
            if nxt == "end_staff" and len(same) > 1 and same[1][1] == "moved":
                outcome = "moved to an ordinary car"
            text = f"staff speak to {s}: {outcome}"
        elif what == "start":
            text = (f"{KIND_GLYPH.get(kind, '')} {s}: {KIND_WORDS.get(kind, kind)} starts"
                    + ("" if pax.optin[p] else " (overflow)"))
        else:
            text = {
                "end_self": f"{s} stops by itself",
                "reminder_ok": f"a neighbour reminds {s}: it stops",
                "reminder_failed": f"a neighbour reminds {s}: ignored",
                "complaint": f"a neighbour of {s} complains to the crew",
                "end_alighting": f"{s} gets off still noisy",
                "patrol": "staff patrol through the car",
            }.get(what)
        if text:
            out.append((t, text))
    return out


def _partial_tally(run_: DemoRun, t: float, ctx: "_Context") -> dict[str, float]:
    """The train's tally up to minute t, from the same records the metrics use."""
    live: dict[str, float] = {k: 0.0 for k in LIVE_KEYS}
    for v, nb in zip(ctx.records, ctx.neighbours):
        if v.start > t:
            continue
        live["starts"] += 1
        live[f"starts_{v.kind}"] += 1
        live["noisy_starts"] += v.running_before > 0
        if v.end <= t:
            live[f"ended_{v.ended_by}"] += 1
            live["disturbed_pax_min"] += v.disturbed_pax_min
            if v.ended_by != "alighting":
                live["ended_count"] += 1
                live["ended_min"] += v.end - v.start
        else:
            overlap = np.minimum(ctx.t_off[nb], t) - np.maximum(ctx.t_on[nb], v.start)
            live["disturbed_pax_min"] += float(overlap[overlap > 0].sum())
    live["noisy_min"] = sum(_covered(m, t) for m in ctx.noisy_spans)
    live["car_min"] = ctx.n_cars * t
    live["pax_min"] = float(np.clip(np.minimum(ctx.t_off, t) - ctx.t_on, 0.0, None).sum())
    live["complaints"] = float(np.count_nonzero(ctx.complaint_times <= t))
    live["interventions"] = float(np.count_nonzero(ctx.intervene_times <= t))
    return live


class _Context:
    """Per-run arrays the frames are cut from (internal)."""

    def __init__(self, run_: DemoRun):
        r = run_.result
        pax, ob = r.passengers, r.onboard
        self.t_on = np.asarray(ob.board_time, dtype=float)
        self.t_off = np.asarray(ob.alight_time, dtype=float)
        self.n_cars = len(r.spec.quiet_seats)
        self.records = [v for v in ob.violations if not v.control]
        reach = np.asarray(r.params.behaviour.reach_rows)
        self.neighbours = []
        for v in self.records:
            near = (pax.car == v.car) & (np.abs(pax.row.astype(np.int64) - int(pax.row[v.pax]))
                                         <= reach[KINDS.index(v.kind)])
            near[v.pax] = False
            self.neighbours.append(np.flatnonzero(near))
        self.noisy_spans = [_merged((v.start, v.end) for v in self.records if v.car == c)
                            for c in range(self.n_cars)]
        quiet = [e for e in run_.trace if not e[3]]
        self.complaint_times = np.array([e[0] for e in quiet if e[1] == "complaint"], dtype=float)
        self.intervene_times = np.array([e[0] for e in quiet if e[1] == "intervene"], dtype=float)


def build_frames(run_: DemoRun, step: float = 0.5, car: int = 0, linger: float | None = None,
                 log_lines: int = 7) -> list[Frame]:
    """The frames of the whole journey, every ``step`` minutes and at every stop.

    ``linger`` (minutes, default max(2, 2 x step)) is how long an event stays on screen, so
    every reminder, complaint and boarding shows in at least one frame.
    """
    if step <= 0:
        raise ValueError(f"step must be > 0 minutes, got {step}")
    linger = max(2.0, 2.0 * step) if linger is None else linger
    r = run_.result
    spec, pax = r.spec, r.passengers
    stops = spec.stop_times()
    seats = spec.quiet_seats[car]
    rows = -(-seats // SEATS_PER_ROW)
    ctx = _Context(run_)
    reach = np.asarray(r.params.behaviour.reach_rows)
    in_car = pax.car == car
    code = np.where(pax.infant, INFANT, np.where(pax.optin, OPTED_IN, OVERFLOW)).astype(np.int8)
    row = pax.row.astype(np.int64)
    moved = np.asarray(r.onboard.moved)
    car_records = [v for v in ctx.records if v.car == car]
    walks = staff_walks(run_, car, rows, linger)
    lines = event_lines(run_, car)
    line_times = np.array([t for t, _ in lines], dtype=float)
    bubble_events = [e for e in run_.trace if e[2] == car and not e[3] and e[1] in _BUBBLE]
    frames: list[Frame] = []
    times = frame_times(stops, step)
    for n, t in enumerate(times):
        final = n == len(times) - 1
        on = in_car & (ctx.t_on <= t) & (t < ctx.t_off)
        occupant = np.full(seats, EMPTY, dtype=np.int8)
        occupant[pax.seat[on]] = code[on]
        recent_on = in_car & (ctx.t_on <= t) & (ctx.t_on > t - linger) & on
        boarded = np.zeros(seats, dtype=bool)
        boarded[pax.seat[recent_on]] = True
        recent_off = in_car & (ctx.t_off <= t) & (ctx.t_off > t - linger) & ~moved
        alighted = np.zeros(seats, dtype=bool)
        alighted[pax.seat[recent_off]] = True
        alighted &= occupant == EMPTY
        running = [v for v in car_records if v.start <= t < v.end]
        halo = np.zeros(rows, dtype=np.int64)
        disturbed = np.zeros(len(pax.seat), dtype=bool)
        for v in running:
            k = KINDS.index(v.kind)
            lo, hi = max(0, int(row[v.pax] - reach[k])), min(rows - 1, int(row[v.pax] + reach[k]))
            halo[lo:hi + 1] += 1
            near = on & (np.abs(row - row[v.pax]) <= reach[k])
            near[v.pax] = False
            disturbed |= near
        staff = tuple((pos, w.label) for w in walks if (pos := w.at(t)) is not None)
        bubbles = tuple(Bubble(int(pax.seat[e[4]]), e[1], _BUBBLE[e[1]])
                        for e in bubble_events if t - linger < e[0] <= t)
        shown = lines[:int(np.searchsorted(line_times, t, side="right"))][-log_lines:]
        live = ({k: float(run_.tally[k]) for k in LIVE_KEYS} if final else _partial_tally(run_, t, ctx))
        values = {name: METRICS[name](live) for name in SHOWN} if not final else {
            name: run_.metrics[name] for name in SHOWN}
        at_stop = stops.index(t) if t in stops else -1
        leg = min(int(np.searchsorted(stops, t, side="right")) - 1, spec.legs - 1)
        frames.append(Frame(
            index=n, minute=t, at_stop=at_stop, leg=leg, final=final, occupant=occupant, boarded=boarded,
            alighted=alighted, noisy=tuple((int(pax.seat[v.pax]), v.kind) for v in running), halo=halo,
            disturbed_now=int(np.count_nonzero(disturbed)), staff=staff, bubbles=bubbles,
            log=tuple(f"{lt:5.1f}  {text}" for lt, text in shown), live=live, values=values))
    return frames


def history(frames: Sequence[Frame], upto: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(minutes, values) of a live value or metric over frames 0..upto."""
    sel = frames[:upto + 1]
    x = np.array([f.minute for f in sel])
    y = np.array([f.values[name] if name in f.values else f.live[name] for f in sel], dtype=float)
    return x, y


def _pct(x: float) -> str:
    return "-" if x != x else f"{100 * x:.0f} %"


def _fmt(x: float, digits: int = 3) -> str:
    return "-" if x != x else f"{x:.{digits}g}"


def describe_train(run_: DemoRun, short: bool = False) -> str:
    s = run_.result.spec
    cars = len(s.quiet_seats)
    return (f"{s.kind} train, {s.formation} cars, {cars} quiet car{'s' if cars > 1 else ''} of "
            f"{s.quiet_seats[0]} seats, {s.stops} stops, {s.run_min:.0f} min, demand {s.load_factor:.2f}"
            + ("" if short else " seats wanted per seat"))


def summary_text(run_: DemoRun) -> str:
    """The train's final numbers as text (what the panels end on)."""
    m, t = run_.metrics, run_.tally
    req = run_.result.booking.counts()
    lines = [
        f"quietcar demo: {run_.scenario.source}, seed {run_.seed}, replication {run_.replication}, "
        f"train {run_.train}",
        f"  {describe_train(run_)}",
        f"  booking: {req['optin']} opted in, {req['overflow']} overflow, {req['ordinary']} ordinary, "
        f"{req['refused']} refused requests; {int(t['passengers'])} travellers rode the quiet car(s)",
        f"  quiet_load_factor            {_fmt(m['quiet_load_factor'])}",
        f"  overflow_share               {_fmt(m['overflow_share'])}",
        f"  violations                   {int(t['starts'])} "
        "(" + ", ".join(f"{k} {int(t['starts_' + k])}" for k in KINDS) + ")",
        f"  violations_per_100_pax_h     {_fmt(m['violations_per_100_pax_h'])}",
        f"  noisy_time_share             {_fmt(m['noisy_time_share'])}",
        f"  disturbed_pax_min_per_pax_h  {_fmt(m['disturbed_pax_min_per_pax_h'])} "
        f"({t['disturbed_pax_min']:.0f} passenger-minutes)",
        "  ended_by                     " + ", ".join(f"{w} {_fmt(m['ended_by.' + w])}" for w in ENDERS),
        f"  staff_interventions_per_train {_fmt(m['staff_interventions_per_train'])}, "
        f"complaints {int(t['complaints'])}, contagion_lift {_fmt(m['contagion_lift'])}",
    ]
    return "\n".join(lines)


def lesson_cells(run_: DemoRun) -> dict[str, str]:
    """A train's outcome as the cells of the result tables in docs/classroom.md (what the
    panels end on, rounded as the class reads them)."""
    t, m = run_.tally, run_.metrics
    return {
        "violations": str(int(t["starts"])),
        "per 100 passenger-hours": f"{m['violations_per_100_pax_h']:.0f}",
        "noisy time": _pct(m["noisy_time_share"]),
        "overflow share": _pct(m["overflow_share"]),
        "quiet car full": _pct(m["quiet_load_factor"]),
        "began while another ran": f"{int(t['noisy_starts'])} of {int(t['starts'])}",
        "disturbed min per passenger-hour": f"{m['disturbed_pax_min_per_pax_h']:.1f}",
        "ended by staff": str(int(t["ended_staff"])),
        "ended by a neighbour": str(int(t["ended_peer"])),
        "travellers": str(int(t["passengers"])),
        "requests refused": _pct(m["refused_share"]),
        "overflow travellers": f"{int(np.count_nonzero(~run_.result.passengers.optin))} of {int(t['passengers'])}",
        "by overflow travellers": f"{sum(not v.optin for v in run_.result.onboard.violations if not v.control)} "
                                  f"of {int(t['starts'])}",
        "contagion lift": "-" if m["contagion_lift"] != m["contagion_lift"] else f"{m['contagion_lift']:.1f}",
    }


# --- drawing ------------------------------------------------------------------------------------
FIGSIZE = (16.0, 9.0)  # inches; 1280 x 720 pixels at 80 dpi (a projector's HD)


class DemoView:
    """Draws frames of one run on a matplotlib figure.

    Everything that changes from frame to frame is in ``self.dynamic``; the rest (seat grid,
    labels, axes, legend) is static. Two ways to keep drawing cheap use that split:
    :meth:`freeze` (saving: the static part becomes one background image) and
    :class:`Blitter` (a window: the static part is restored from a copy, only the dynamic
    artists are redrawn). ``levers_text``: write the levers in the right column (saved
    animations; the window has widgets there instead).
    """

    def __init__(self, fig, run_: DemoRun, frames: Sequence[Frame], car: int = 0, levers_text: bool = True):
        self.fig = fig
        self.levers_text = levers_text
        self.car = car
        self.dynamic: list = []
        self._build_static()
        self.set_run(run_, frames)

    def _dyn(self, artist):
        self.dynamic.append(artist)
        return artist

    # --- layout ---------------------------------------------------------------------------
    def _build_static(self) -> None:
        fig = self.fig
        fig.set_facecolor("white")
        self.title = fig.text(0.02, 0.965, "", fontsize=19, fontweight="bold", va="center")
        self.subtitle = fig.text(0.02, 0.928, "", fontsize=11.5, va="center", color="#333333")
        self.ax_car = fig.add_axes((0.035, 0.56, 0.735, 0.33))
        self.ax_trip = fig.add_axes((0.035, 0.395, 0.735, 0.06))
        w, h, y0 = 0.15, 0.23, 0.08
        self.ax_viol = fig.add_axes((0.07, y0, w, h))
        self.ax_noisy = fig.add_axes((0.26, y0, w, h))
        self.ax_ended = fig.add_axes((0.46, y0, w - 0.015, h))
        self.ax_dist = fig.add_axes((0.635, y0, w, h))
        self.ax_log = fig.add_axes((0.795, 0.555, 0.19, 0.36))
        self.lever_text = fig.text(0.795, 0.49, "", fontsize=9.5, va="top", ha="left", linespacing=1.4)

    def set_run(self, run_: DemoRun, frames: Sequence[Frame]) -> None:
        """Show another run (after a lever changed): rebuild what depends on the train."""
        self.run, self.frames = run_, frames
        spec = run_.result.spec
        self.seats = spec.quiet_seats[self.car]
        self.rows = -(-self.seats // SEATS_PER_ROW)
        self.stops = spec.stop_times()
        self.dynamic = [self.title]
        self._draw_car()
        self._draw_trip()
        self._draw_panels()
        self._draw_log()
        note = ""
        if len(spec.quiet_seats) > 1:
            note = f" \u00b7 map: quiet car {self.car + 1} of {len(spec.quiet_seats)}, panels: all"
        self.subtitle.set_text(f"{describe_train(run_, short=len(spec.quiet_seats) > 1)} \u00b7 seed {run_.seed} "
                               f"\u00b7 {Path(run_.scenario.source).name}{note}")
        self.lever_text.set_text(self._levers_text() if self.levers_text else "")
        self.update(0)

    def _levers_text(self) -> str:
        sc = self.run.scenario
        lines = ["Levers: change with --set KEY=VALUE", "and rerun with the same --seed", ""]
        for lever in LEVERS:
            lines.append(f"{lever.label}")
            lines.append(f"    {lever.key} = {lever.shown(sc)}")
        return "\n".join(lines)

    def _draw_car(self) -> None:
        from matplotlib.collections import PatchCollection
        from matplotlib.patches import FancyBboxPatch, Rectangle

        ax = self.ax_car
        ax.clear()
        rows = self.rows
        ax.set_xlim(-1.6, rows + 0.2)
        ax.set_ylim(-1.25, 6.6)
        ax.set_axis_off()
        ax.add_patch(FancyBboxPatch((-1.1, -0.75), rows + 0.95, 6.5, boxstyle="round,pad=0,rounding_size=0.6",
                                    facecolor="white", edgecolor="#555555", linewidth=2))
        ax.text(-0.9, 2.5, "front \u25c0", rotation=90, ha="center", va="center", fontsize=9, color="#555555")
        self.halo = [self._dyn(ax.add_patch(Rectangle((r - 0.5, -0.55), 1.0, 6.1, facecolor=NOISE, alpha=0.0,
                                                      linewidth=0)))
                     for r in range(rows)]
        self.seat_xy = np.zeros((self.seats, 2))
        boxes = []
        for s in range(self.seats):
            r, c = divmod(s, SEATS_PER_ROW)
            y = [5, 4, 3, 1, 0][c]  # A B C on the upper side, D F below the aisle (y = 2)
            self.seat_xy[s] = (r, y)
            boxes.append(Rectangle((r - 0.4, y - 0.38), 0.8, 0.76))
        self.seat_boxes = self._dyn(ax.add_collection(PatchCollection(boxes, zorder=2)))
        for r in range(rows):
            ax.text(r, -1.0, str(r + 1), ha="center", va="center", fontsize=8.5, color="#555555")
        for c, y in zip(SEAT_LETTERS, [5, 4, 3, 1, 0]):
            ax.text(-0.6, y, c, ha="center", va="center", fontsize=9, color="#555555")
        ax.text(rows / 2 - 0.5, 2.0, "aisle", ha="center", va="center", fontsize=9, color="#bbbbbb")
        most = {name: max((len(getattr(f, name)) for f in self.frames), default=0)
                for name in ("noisy", "staff", "bubbles")}
        self.noise_text = [self._dyn(self._new_noise()) for _ in range(most["noisy"])]
        self.staff_text = [self._dyn(self._new_staff()) for _ in range(most["staff"])]
        self.bubble_text = [self._dyn(self._new_bubble()) for _ in range(most["bubbles"])]
        self.car_note = self._dyn(ax.text(rows / 2 - 0.5, 6.35, "", ha="center", va="center", fontsize=12.5))
        self.final_box = self._dyn(ax.text(rows / 2 - 0.5, 2.5, "", ha="center", va="center", fontsize=15,
                                           fontweight="bold", zorder=20,
                                           bbox=dict(boxstyle="round,pad=0.6", facecolor="white",
                                                     edgecolor="#333333", alpha=0.95)))
        self._legend(ax)

    def _legend(self, ax) -> None:
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        handles = [Patch(facecolor=c, edgecolor="#888888", label=label)
                   for c, label in zip(OCCUPANT_COLOURS[1:] + OCCUPANT_COLOURS[:1], OCCUPANTS[1:] + OCCUPANTS[:1])]
        handles.append(Patch(facecolor=NOISE, alpha=0.3, label="noise halo (who is disturbed)"))
        handles += [Line2D([], [], linestyle="none", marker=f"${KIND_GLYPH[k]}$", markersize=13,
                           color=NOISE, label=KIND_WORDS[k]) for k in KINDS]
        handles.append(Patch(facecolor=STAFF, label="staff"))
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.01), ncol=5, fontsize=10,
                  frameon=False, handlelength=1.3, columnspacing=1.4, borderaxespad=0.0)

    def _draw_trip(self) -> None:
        ax = self.ax_trip
        ax.clear()
        end = self.stops[-1]
        ax.set_xlim(-0.02 * end, 1.02 * end)
        ax.set_ylim(-1, 1.3)
        ax.set_axis_off()
        ax.plot([0, end], [0, 0], color="#999999", linewidth=3, zorder=1)
        self.trip_done = self._dyn(ax.plot([0, 0], [0, 0], color="#333333", linewidth=5, zorder=2)[0])
        self._dyn(ax.plot(self.stops, np.zeros(len(self.stops)), linestyle="none", marker="o", markersize=10,
                          color="white", markeredgecolor="#333333", markeredgewidth=2, zorder=3)[0])
        for k, t in enumerate(self.stops):
            ax.text(t, -0.75, station(k), ha="center", va="center", fontsize=11, fontweight="bold")
        self.trip_marker = self._dyn(ax.plot([0], [0], marker=">", markersize=16, color=NOISE, zorder=4)[0])
        self.trip_text = self._dyn(ax.text(end / 2, 1.0, "", ha="center", va="center", fontsize=12))

    def _draw_log(self) -> None:
        ax = self.ax_log
        ax.clear()
        ax.set_axis_off()
        ax.set_title("What just happened (minute)", fontsize=12, loc="left", fontweight="bold")
        self.log_text = self._dyn(ax.text(0.0, 1.0, "", fontsize=10, va="top", ha="left", transform=ax.transAxes,
                                          linespacing=1.45))

    def _draw_panels(self) -> None:
        end = self.stops[-1]
        last = self.frames[-1]
        ax = self.ax_viol
        ax.clear()
        y = np.arange(len(KINDS))
        self.bar_calm = [self._dyn(b) for b in ax.barh(y, np.zeros(len(KINDS)), color=NOISE, alpha=0.85)]
        self.bar_noisy = [self._dyn(b) for b in ax.barh(y, np.zeros(len(KINDS)), color="white", edgecolor=NOISE,
                                                        hatch="///")]
        ax.set_yticks(y, [f"{KIND_GLYPH[k]} {k}" for k in KINDS], fontsize=10)
        ax.invert_yaxis()
        top = max(1.0, max(last.live[f"starts_{k}"] for k in KINDS))
        ax.set_xlim(0, top * 1.15 + 0.5)
        ax.set_xlabel("hatched: began while another ran", fontsize=9)
        self.viol_title = self._dyn(ax.set_title("", fontsize=11.5, loc="left", y=1.0, pad=8))
        self.viol_labels = [self._dyn(ax.text(0, i, "", va="center", fontsize=10)) for i in y]

        ax = self.ax_noisy
        ax.clear()
        ax.set_xlim(0, end)
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("minute", fontsize=9)
        ax.yaxis.set_major_formatter(_percent_formatter())
        self.noisy_line = self._dyn(ax.plot([], [], color=NOISE, linewidth=2.5)[0])
        self.noisy_title = self._dyn(ax.set_title("", fontsize=11.5, loc="left", y=1.0, pad=8))

        ax = self.ax_ended
        ax.clear()
        names = list(ENDERS) + ["running"]
        y = np.arange(len(names))
        colours = [ENDER_COLOURS[w] for w in ENDERS] + ["#dddddd"]
        self.bar_ended = [self._dyn(b) for b in ax.barh(y, np.zeros(len(names)), color=colours,
                                                        edgecolor="#555555")]
        ax.set_yticks(y, [ENDER_WORDS.get(w, "still running") for w in names], fontsize=10)
        ax.invert_yaxis()
        top = max(1.0, max(last.live[f"ended_{w}"] for w in ENDERS))
        ax.set_xlim(0, top * 1.15 + 0.5)
        ax.set_xlabel("violations ended by", fontsize=9)
        self.ended_title = self._dyn(ax.set_title("", fontsize=11.5, loc="left", y=1.0, pad=8))
        self.ended_labels = [self._dyn(ax.text(0, i, "", va="center", fontsize=10)) for i in y]

        ax = self.ax_dist
        ax.clear()
        ax.set_xlim(0, end)
        ax.set_ylim(0, max(1.0, last.live["disturbed_pax_min"]) * 1.1)
        ax.set_xlabel("minute", fontsize=9)
        self.dist_line = self._dyn(ax.plot([], [], color=NOISE, linewidth=2.5)[0])
        self.dist_title = self._dyn(ax.set_title("", fontsize=11.5, loc="left", y=1.0, pad=8))
        for a in (self.ax_viol, self.ax_noisy, self.ax_ended, self.ax_dist):
            a.tick_params(labelsize=9)
            for side in ("top", "right"):
                a.spines[side].set_visible(False)

    # --- per frame ------------------------------------------------------------------------------
    def update(self, i: int) -> list:
        """Draw frame i into the dynamic artists; returns them (for FuncAnimation)."""
        f = self.frames[i]
        run_ = self.run
        end = self.stops[-1]
        self.title.set_text("Arrived: the final numbers for this train" if f.final else
                            "A quiet car through one journey")
        self.seat_boxes.set_facecolors([OCCUPANT_COLOURS[o] for o in f.occupant])
        state = np.where(f.boarded, 2, np.where(f.alighted, 1, 0))
        self.seat_boxes.set_edgecolors([("#888888", "#555555", "#000000")[k] for k in state])
        self.seat_boxes.set_linewidths([(1.0, 1.6, 2.6)[k] for k in state])
        self.seat_boxes.set_linestyles([("-", (0, (2, 2)), "-")[k] for k in state])
        for r, p in enumerate(self.halo):
            p.set_alpha(min(0.55, 0.2 * f.halo[r]))
        self._fill(self.noise_text, f.noisy, lambda t, item: (t.set_position(self.seat_xy[item[0]]),
                                                               t.set_text(KIND_GLYPH[item[1]])))
        self._fill(self.staff_text, f.staff, lambda t, item: t.set_position((item[0], 2.0)))
        self._fill(self.bubble_text, f.bubbles, self._place_bubble)
        n_opt, n_over, n_inf = f.count(OPTED_IN), f.count(OVERFLOW), f.count(INFANT)
        self.car_note.set_text(
            f"On board: {f.on_board} of {self.seats} seats \u2014 {n_opt} opted in, {n_over} overflow, "
            f"{n_inf} with an infant \u00b7 noisy now: {len(f.noisy)} \u00b7 disturbed now: {f.disturbed_now}")
        self.trip_done.set_data([0, f.minute], [0, 0])
        self.trip_marker.set_data([f.minute], [0])
        if f.final:
            where = f"arrived at {station(len(self.stops) - 1)} after {end:.0f} minutes"
        elif f.at_stop >= 0:
            where = f"minute {f.minute:.0f}: at station {station(f.at_stop)} \u2014 {self._stop_counts(f)}"
        else:
            where = f"minute {f.minute:.0f} of {end:.0f}: between {station(f.leg)} and {station(f.leg + 1)}"
        self.trip_text.set_text(where)
        self.log_text.set_text("\n".join(f.log))
        self._update_panels(i, f)
        if f.final:
            m = run_.metrics
            self.final_box.set_text(
                f"{int(f.live['starts'])} violations \u00b7 {_fmt(m['violations_per_100_pax_h'])} per 100 "
                f"passenger-hours\nnoisy {_pct(m['noisy_time_share'])} of the time \u00b7 "
                f"{_fmt(m['disturbed_pax_min_per_pax_h'])} disturbed minutes per passenger-hour\n"
                f"overflow_share {_pct(m['overflow_share'])} \u00b7 quiet_load_factor "
                f"{_pct(m['quiet_load_factor'])}\nended by: " + ", ".join(
                    f"{ENDER_WORDS[w]} {int(f.live['ended_' + w])}" for w in ENDERS)
                + "\n(the same numbers as 'quietcar run' reports for this train)")
            self.final_box.set_visible(True)
        else:
            self.final_box.set_visible(False)
        return self.dynamic

    @staticmethod
    def _fill(pool: list, items: Sequence, place: Callable[[Any, Any], Any]) -> None:
        for k, t in enumerate(pool):
            t.set_visible(k < len(items))
            if k < len(items):
                place(t, items[k])

    def _place_bubble(self, t, b: Bubble) -> None:
        x, y = self.seat_xy[b.seat]
        t.set_position((x + 0.3, y + 0.3))  # a speech bubble from the seat's upper right corner
        t.set_text(b.text)

    def _stop_counts(self, f: Frame) -> str:
        t = self.stops[f.at_stop]
        p = self.run.result.passengers
        ob = self.run.result.onboard
        in_car = p.car == self.car
        on = int(np.count_nonzero(in_car & (ob.board_time == t)))
        off = int(np.count_nonzero(in_car & (ob.alight_time == t) & ~np.asarray(ob.moved)))
        return f"{off} got off (dashed), {on} got on (bold)"

    def _update_panels(self, i: int, f: Frame) -> None:
        live, v = f.live, f.values
        noisy_by_kind = self._noisy_by_kind(f.minute)
        for k, kind in enumerate(KINDS):
            total = live[f"starts_{kind}"]
            nk = noisy_by_kind[kind]
            self.bar_calm[k].set_width(total)
            self.bar_noisy[k].set_x(total - nk)
            self.bar_noisy[k].set_width(nk)
            self.viol_labels[k].set_position((total + 0.3, k))
            self.viol_labels[k].set_text(f"{int(total)}")
        self.viol_title.set_text(f"Violations: {int(live['starts'])}\n"
                                 f"{_fmt(v['violations_per_100_pax_h'])} per 100 passenger-hours")
        x, y = history(self.frames, i, "noisy_time_share")
        self.noisy_line.set_data(x, np.nan_to_num(y))
        self.noisy_title.set_text(f"Noisy time share: {_pct(v['noisy_time_share'])}\n"
                                  f"of minutes so far, with noise")
        counts = [live[f"ended_{w}"] for w in ENDERS]
        counts.append(live["starts"] - sum(counts))
        for k, (b, c, lab) in enumerate(zip(self.bar_ended, counts, self.ended_labels)):
            b.set_width(c)
            lab.set_position((c + 0.3, k))
            lab.set_text(str(int(c)))
        shares = ", ".join(f"{w} {_pct(v['ended_by.' + w])}" for w in ("peer", "staff"))
        self.ended_title.set_text(f"Who ended them\n{shares}")
        x, y = history(self.frames, i, "disturbed_pax_min")
        self.dist_line.set_data(x, y)
        self.dist_title.set_text(f"Disturbed: {live['disturbed_pax_min']:.0f} passenger-min\n"
                                 f"{_fmt(v['disturbed_pax_min_per_pax_h'])} per passenger-hour")

    def _noisy_by_kind(self, t: float) -> dict[str, int]:
        out = {k: 0 for k in KINDS}
        for rec in self.run.result.onboard.violations:
            if not rec.control and rec.start <= t and rec.running_before > 0:
                out[rec.kind] += 1
        return out

    def _new_noise(self):
        return self.ax_car.text(0, 0, "", ha="center", va="center", fontsize=17, color="white", zorder=6,
                                visible=False,
                                bbox=dict(boxstyle="circle,pad=0.12", facecolor=NOISE, edgecolor="black",
                                          linewidth=1.2))

    def _new_staff(self):
        return self.ax_car.text(0, 0, "STAFF", ha="center", va="center", fontsize=9.5, color="white",
                                fontweight="bold", zorder=7, visible=False,
                                bbox=dict(boxstyle="round,pad=0.25", facecolor=STAFF, edgecolor="black"))

    def _new_bubble(self):
        return self.ax_car.text(0, 0, "", ha="left", va="bottom", fontsize=9.5, zorder=8, visible=False,
                                bbox=dict(boxstyle="round,pad=0.25", facecolor="#ffffe0", edgecolor="black"))

    # --- cheap redraws ----------------------------------------------------------------------------
    def freeze(self) -> None:
        """Render the static part once into a background image and hide it (for saving many
        frames with savefig: each frame then draws only the dynamic artists).

        The figure must then be saved at its own dpi. Irreversible: use a fresh figure."""
        fig = self.fig
        dyn = {id(a) for a in self.dynamic}
        for a in self.dynamic:
            a.set_animated(True)
        fig.canvas.draw()
        background = np.asarray(fig.canvas.buffer_rgba()).copy()
        for a in self.dynamic:
            a.set_animated(False)
        for ax in fig.axes:
            for child in ax.get_children():
                if id(child) not in dyn:
                    child.set_visible(False)
        for t in fig.texts:
            if id(t) not in dyn:
                t.set_visible(False)
        fig.patch.set_visible(False)
        fig.add_artist(_backdrop(background))


def _backdrop(rgba: np.ndarray):
    """An artist that paints a rendered figure (RGBA, top row first) at 1:1 pixels, under
    everything else: cheaper than ``figimage``, which resamples."""
    from matplotlib.artist import Artist

    class Backdrop(Artist):
        def __init__(self, image: np.ndarray):
            super().__init__()
            self.image = np.ascontiguousarray(image[::-1])  # the renderer counts rows from the bottom
            self.set_zorder(-100)

        def draw(self, renderer):
            if not self.get_visible():
                return
            gc = renderer.new_gc()
            renderer.draw_image(gc, 0, 0, self.image)
            gc.restore()

    return Backdrop(rgba)


class Blitter:
    """Redraw only the dynamic artists of a view on a window's canvas (matplotlib's blitting
    pattern): a full draw (resize, widgets) refreshes the background copy."""

    def __init__(self, view: DemoView):
        self.view = view
        self.canvas = view.fig.canvas
        self.background = None
        self.animate()
        self.cid = self.canvas.mpl_connect("draw_event", self._on_draw)

    def animate(self) -> None:
        for a in self.view.dynamic:
            a.set_animated(True)

    def _on_draw(self, _event) -> None:
        self.background = self.canvas.copy_from_bbox(self.view.fig.bbox)
        self._draw_dynamic()

    def _draw_dynamic(self) -> None:
        fig = self.view.fig
        for a in self.view.dynamic:
            fig.draw_artist(a)

    def refresh(self) -> None:
        """Show the view's current state."""
        if self.background is None:
            self.canvas.draw()  # fires _on_draw
            return
        self.canvas.restore_region(self.background)
        self._draw_dynamic()
        self.canvas.blit(self.view.fig.bbox)


def _percent_formatter():
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)


# --- saving -----------------------------------------------------------------------------------
FPS = 8  # frames per second of playback
SAVE_FORMATS = {".html": "html", ".htm": "html", ".gif": "pillow", ".mp4": "ffmpeg"}


class UnknownFormat(ValueError):
    """--save names a file whose extension is no animation format we write."""


class WriterUnavailable(RuntimeError):
    """The requested animation format cannot be written on this machine (the message says why)."""


def check_save_path(path: str | Path) -> str:
    """The writer for ``path``'s extension; UnknownFormat or WriterUnavailable say what to do instead."""
    from matplotlib import animation

    suffix = Path(path).suffix.lower()
    writer = SAVE_FORMATS.get(suffix)
    if writer is None:
        raise UnknownFormat(f"cannot save {path}: unknown format {suffix or '(no extension)'}; "
                                f"use .html (plays in any browser), .gif or .mp4")
    if writer == "ffmpeg" and not animation.writers.is_available("ffmpeg"):
        raise WriterUnavailable(f"cannot save {path}: writing .mp4 needs ffmpeg, which is not installed "
                                f"(Debian/Ubuntu: apt-get install ffmpeg); --save demo.html or demo.gif "
                                f"work without it")
    if writer == "pillow" and not animation.writers.is_available("pillow"):
        raise WriterUnavailable(f"cannot save {path}: writing .gif needs Pillow (pip install pillow); "
                                f"--save demo.html works without it")
    return writer


def step_for(speed: float, fps: int = FPS) -> float:
    """Minutes of journey per frame for ``speed`` minutes of journey per second of playback."""
    if not speed > 0:
        raise ValueError(f"speed must be > 0 minutes of journey per second, got {speed}")
    return speed / fps


def _figure(dpi: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGSIZE, dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def render_png(run_: DemoRun, frames: Sequence[Frame], index: int, path: str | Path, dpi: float = 80) -> None:
    """Draw one frame to a PNG file (headless; for checking what the class will see)."""
    fig = _figure(dpi)
    view = DemoView(fig, run_, frames)
    view.update(index)
    fig.savefig(path, dpi=dpi)


def frozen_view(run_: DemoRun, frames: Sequence[Frame], dpi: float = 80) -> DemoView:
    """A view on a headless (Agg) figure whose static part is frozen into a background
    image: each frame then costs only its dynamic artists. Save it at ``dpi``."""
    fig = _figure(dpi)
    view = DemoView(fig, run_, frames)
    view.freeze()
    return view


def render_frames(run_: DemoRun, frames: Sequence[Frame], dpi: float = 80) -> Iterator[np.ndarray]:
    """Every frame as an RGBA image (height x width x 4), headless, in order."""
    view = frozen_view(run_, frames, dpi)
    for i in range(len(frames)):
        view.update(i)
        view.fig.canvas.draw()
        yield np.asarray(view.fig.canvas.buffer_rgba()).copy()


# Font Awesome icons of matplotlib's player, as plain characters (the page must load nothing).
_ICONS = {"fa fa-minus": "\u2212", "fa fa-fast-backward": "|\u25c0", "fa fa-step-backward": "\u25c0|",
          "fa fa-play fa-flip-horizontal": "\u25c0", "fa fa-pause": "\u275a\u275a", "fa fa-play": "\u25b6",
          "fa fa-step-forward": "|\u25b6", "fa fa-fast-forward": "\u25b6|", "fa fa-plus": "+"}


def self_contained(snippet: str, title: str, intro: str, command: str = "") -> str:
    """A whole HTML page around matplotlib's JavaScript player, with nothing fetched from
    the network: the Font Awesome stylesheet link is dropped and its icons become characters."""
    snippet = re.sub(r"<link[^>]*font-awesome[^>]*>", "", snippet)
    snippet = re.sub(r'<i class="(fa [^"]*)"></i>', lambda m: _ICONS.get(m.group(1), "?"), snippet)
    style = ("body{font-family:'DejaVu Sans',Arial,sans-serif;margin:1em 2em;color:#222}"
             ".animation img{max-width:100%;height:auto;border:1px solid #ccc}"
             ".anim-buttons button{font-size:1.15em;min-width:2.6em;padding:.25em .4em}"
             "h1{font-size:1.4em;margin:.2em 0}p{max-width:70em}"
             "pre{background:#f4f4f4;padding:.5em;white-space:pre-wrap;max-width:90em}")
    replay = (f"<p>The same run again (every lever written out):</p>\n<pre>{html.escape(command)}</pre>\n"
              if command else "")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{style}</style>\n</head>\n<body>\n"
            f"<h1>{html.escape(title)}</h1>\n<p>{html.escape(intro)}</p>\n{replay}{snippet}\n</body>\n</html>\n")


def _html_writer(fps: int, colours: int = 32):
    """matplotlib's HTMLWriter (embedded frames, JavaScript player) storing each frame as a
    palette PNG: flat-coloured frames shrink three- to fivefold, so a whole journey stays a
    few megabytes."""
    from matplotlib import animation

    class PaletteHTMLWriter(animation.HTMLWriter):
        def grab_frame(self, **savefig_kwargs):
            if not hasattr(self, "_saved_frames"):  # matplotlib changed its internals: plain frames
                return super().grab_frame(**savefig_kwargs)
            from PIL import Image

            raw = BytesIO()
            self.fig.savefig(raw, format="rgba", dpi=self.dpi, **savefig_kwargs)
            w, h = self.fig.canvas.get_width_height(physical=True)
            img = Image.frombuffer("RGBA", (w, h), raw.getbuffer(), "raw", "RGBA", 0, 1)
            img = img.convert("RGB").quantize(colors=colours, method=Image.Quantize.FASTOCTREE,
                                              dither=Image.Dither.NONE)
            out = BytesIO()
            img.save(out, format="png", compress_level=6)
            self._saved_frames.append(base64.encodebytes(out.getvalue()).decode("ascii"))

    return PaletteHTMLWriter(fps=fps, embed_frames=True, default_mode="once")


def save(run_: DemoRun, frames: Sequence[Frame], path: str | Path, fps: int = FPS, dpi: float = 80,
         progress: Callable[[int, int], None] | None = None) -> Path:
    """Write the animation to ``path`` (.html self-contained, .gif, .mp4); returns the path.

    HTML embeds every frame as a PNG in the page (matplotlib's JavaScript player), so it
    plays in any browser, offline, with nothing to install. ``progress(done, total)`` is
    called after each frame.
    """
    from tempfile import TemporaryDirectory

    from matplotlib import animation

    path = Path(path)
    kind = check_save_path(path)
    view = frozen_view(run_, frames, dpi)
    with TemporaryDirectory() as tmp:
        if kind == "html":
            writer, target = _html_writer(fps), Path(tmp, "player.html")
        elif kind == "pillow":
            writer, target = animation.PillowWriter(fps=fps), path
        else:
            writer, target = animation.FFMpegWriter(fps=fps), path
        with writer.saving(view.fig, str(target), dpi):
            for i in range(len(frames)):
                view.update(i)
                writer.grab_frame()
                if progress:
                    progress(i + 1, len(frames))
        if kind == "html":
            snippet = target.read_text(encoding="utf-8")
            title = f"quietcar classroom demo \u2014 {Path(run_.scenario.source).name}, seed {run_.seed}"
            intro = (f"{describe_train(run_)}. Press \u25b6 to play, \u275a\u275a to pause; drag the slider to "
                     f"move through the journey; \u2212 and + change the speed.")
            path.write_text(self_contained(snippet, title, intro, replay_command(run_)), encoding="utf-8")
    return path


def replay_command(run_: DemoRun) -> str:
    """The command that makes this run again, with every lever's value written out."""
    sets = " ".join(f"--set '{lever.exact(run_.scenario)}'" for lever in LEVERS)
    return f"quietcar demo {run_.scenario.source} --seed {run_.seed} --train {run_.train} {sets}"


def embedded_frames(page: str) -> list[bytes]:
    """The frame images embedded in a saved HTML page (decoded), in order."""
    found = re.findall(r'frames\[(\d+)\] = "data:image/(?:png|jpeg);base64,([^"]*)"', page)
    return [base64.b64decode(data.replace("\\n", "").replace("\n", "")) for _, data in
            sorted(found, key=lambda x: int(x[0]))]


# --- the window with levers ---------------------------------------------------------------------
class Classroom:
    """A window with the animation and the levers as widgets; "Run again" reruns the same seed.

    Works on any figure (headless too, for tests): ``rerun()`` applies the widgets' values.
    """

    def __init__(self, fig, scenario: Scenario, seed: int, train: int = 0, speed: float = 4.0, fps: int = FPS):
        self.fig, self.base, self.seed, self.train, self.fps = fig, scenario, seed, train, fps
        self.step = step_for(speed, fps)
        self.values: dict[str, Any] = {lever.name: lever.value(scenario) for lever in LEVERS}
        self.run = run(scenario, seed, train)
        self.frames = build_frames(self.run, self.step)
        self.view = DemoView(fig, self.run, self.frames, levers_text=False)
        self.blitter: Blitter | None = None
        self.timer = None
        self.i = 0
        self.playing = True
        self.last_tick: float | None = None
        self._widgets()

    def _widgets(self) -> None:
        from matplotlib.widgets import Button, RadioButtons, Slider

        fig = self.fig
        fig.text(0.795, 0.53, "Levers (then press Run again)", fontsize=12, fontweight="bold", va="center")
        self.radios = {}
        y = 0.485
        for lever in LEVERS:
            if lever.choices:
                h = 0.026 * len(lever.choices) + 0.02
                ax = fig.add_axes((0.795, y - h, 0.19, h))
                ax.set_title(lever.label, fontsize=9.5, loc="left", pad=2)
                active = list(lever.choices).index(self.values[lever.name])
                rb = RadioButtons(ax, lever.choices, active=active, label_props={"fontsize": [9.5]})
                rb.on_clicked(lambda label, name=lever.name: self._set(name, label))
                self.radios[lever.name] = rb
                y -= h + 0.03
        self.sliders = {}
        for lever in LEVERS:
            if not lever.choices:
                ax = fig.add_axes((0.885, y - 0.022, 0.075, 0.022))
                s = Slider(ax, lever.label, lever.lo, lever.hi, valinit=float(self.values[lever.name]))
                s.label.set_fontsize(8.5)
                s.valtext.set_fontsize(8.5)
                s.on_changed(lambda val, name=lever.name: self._set(name, val))
                self.sliders[lever.name] = s
                y -= 0.035
        self.buttons = {}
        for k, (name, fn) in enumerate((("Run again", self.rerun), ("Next seed", self.next_seed),
                                       ("Pause", self.toggle))):
            ax = fig.add_axes((0.795 + k * 0.066, 0.012, 0.06, 0.035))
            b = Button(ax, name)
            b.on_clicked(lambda _event, fn=fn: fn())
            self.buttons[name] = b
        self.command = fig.text(0.035, 0.012, "", fontsize=8.5, color="#333333", va="bottom")
        self._show_command()

    def _set(self, name: str, value: Any) -> None:
        self.values[name] = value

    def overrides(self) -> list[str]:
        return lever_overrides(self.base, self.values)

    def _show_command(self) -> None:
        sets = " ".join(f"--set '{o}'" for o in self.overrides())
        self.command.set_text(f"The same run without a display: quietcar demo {self.base.source} "
                              f"--seed {self.seed} {sets} --save demo.html")

    def rerun(self) -> None:
        """Simulate again with the levers' values and the same seed; restart the animation."""
        scenario = with_values(self.base, self.overrides())
        self.run = run(scenario, self.seed, self.train)
        self.frames = build_frames(self.run, self.step)
        self.view.set_run(self.run, self.frames)
        if self.blitter:
            self.blitter.animate()
        self.i = 0
        self.playing = True
        self.last_tick = None
        self._show_command()
        self.fig.canvas.draw_idle()

    def next_seed(self) -> None:
        self.seed += 1
        self.rerun()

    def toggle(self) -> None:
        self.playing = not self.playing
        self.buttons["Pause"].label.set_text("Play" if not self.playing else "Pause")
        self.fig.canvas.draw_idle()

    def tick(self) -> None:
        """Move on (if playing) and draw. Frames are skipped when drawing is slower than the
        frame rate, so the journey still takes its time at ``speed`` minutes a second."""
        import time

        now = time.monotonic()
        if self.playing and self.last_tick is not None:
            steps = max(1, round((now - self.last_tick) * self.fps))
            self.i = min(len(self.frames) - 1, self.i + steps)
        self.last_tick = now
        self.view.update(self.i)
        if self.blitter:
            self.blitter.refresh()

    def start(self) -> None:
        """Animate on the window's canvas with a timer, redrawing only what changes."""
        self.blitter = Blitter(self.view)
        self.timer = self.fig.canvas.new_timer(interval=int(1000 / self.fps))
        self.timer.add_callback(self.tick)
        self.timer.start()


def has_display() -> bool:
    """Whether pyplot would open a window (an interactive backend is in use)."""
    import matplotlib

    backend = matplotlib.get_backend().lower()
    return backend not in {"agg", "pdf", "ps", "svg", "pgf", "cairo", "template"} and "inline" not in backend


def show(scenario: Scenario, seed: int, train: int = 0, speed: float = 4.0) -> None:
    """Open the classroom window (needs a display)."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=FIGSIZE, dpi=80)  # 1280 x 720: fits a projector
    fig.canvas.manager.set_window_title("quietcar demo")
    room = Classroom(fig, scenario, seed, train, speed)
    room.start()
    plt.show()
