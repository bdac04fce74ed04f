"""The run and its frames (pure, nothing drawn): one train simulated with a trace, cut into
the :class:`Frame` list the view shows, with live partial tallies and the final numbers."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..run.metrics import METRICS, Tally, tally
from ..model.onboard import ENDERS, Event
from ..model.params import KINDS, SEATS_PER_ROW
from ..model.train import TrainResult
from ..run.runner import network_day, simulate_one
from ..scenario import Scenario
from .style import (EMPTY, INFANT, KIND_GLYPH, KIND_WORDS, LIVE_KEYS, OPTED_IN, OVERFLOW, SHOWN, _fmt, _pct,
                    seat_label, station)

# --- the run ----------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class DemoRun:
    """One train simulated with a trace (its events, `sim.model.onboard.Event`), and its final
    tally and metrics (as the CLI has them)."""
    scenario: Scenario
    seed: int
    replication: int
    train: int
    result: TrainResult
    trace: tuple[Event, ...]
    tally: Tally
    metrics: dict[str, float]


def run(scenario: Scenario, seed: int, train: int = 0, replication: int = 0) -> DemoRun:
    """Simulate train ``train`` of replication ``replication`` of ``scenario`` with ``seed``:
    the same train, with the same random streams, as row (replication, train) of a run."""
    specs = network_day(scenario, seed, replication)
    if not 0 <= train < len(specs):
        raise ValueError(f"train {train} does not exist: the scenario has {len(specs)} train(s) (0..{len(specs) - 1})")
    if not specs[train].quiet_seats:
        raise ValueError(f"train {train} has no quiet car to show (network.quiet_cars.{specs[train].formation} = 0)")
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


DOOR = -0.8  # where a crew member entering a car is shown (the trace's row -1: the car's door)


def staff_walks(run_: DemoRun, car: int, rows: int, linger: float) -> list[_Walk]:
    """Where the crew were in car ``car``, read from the trace (`sim.model.onboard.Event`).

    A patroller's pass is the path through the positions the trace gives it: in at the door
    (``patrol``), the rows it reaches (``patrol_at``), the row where it intervenes, standing
    there until the intervention's ``until``, and out at the last row (``patrol_out``); it
    walks at a steady pace between them. A crew member called by a complaint walks from the
    door to the violator's row (``called``, arriving at its ``until``) and stands there while
    intervening, or at least ``linger / 2`` minutes so that it shows.
    """
    del rows  # the trace says where the crew are; kept for the API
    passes: dict[int, tuple[list[float], list[float]]] = {}  # patroller -> its pass so far
    called: dict[int, tuple[list[float], list[float]]] = {}  # violator -> the crew member called
    walks: list[_Walk] = []

    def done(ts: list[float], rs: list[float], label: str) -> None:
        if ts[-1] - ts[0] < linger / 2:  # an instantaneous pass: keep it visible for a moment
            ts, rs = ts + [ts[0] + linger / 2], rs + [rs[-1]]
        walks.append(_Walk(tuple(ts), tuple(rs), label))

    for e in run_.trace:
        if e.car != car or e.control:
            continue
        row = DOOR if e.row < 0 else float(e.row)
        if e.what == "patrol":
            passes[e.staff] = ([e.minute], [DOOR])
        elif e.what in ("patrol_at", "patrol_out") and e.staff in passes:
            ts, rs = passes[e.staff]
            ts.append(e.minute)
            rs.append(row)
            if e.what == "patrol_out":
                done(ts, rs, "staff patrol")
                del passes[e.staff]
        elif e.what == "called":
            path = called.pop(e.pax, None)
            if path:
                done(*path, "staff (called)")
            called[e.pax] = ([e.minute, e.until], [DOOR, row]) if e.until > e.minute else ([e.minute], [row])
        elif e.what == "intervene":
            ts, rs = passes[e.staff] if e.staff >= 0 else called.get(e.pax, ([e.minute], [row]))
            ts += [e.minute, max(e.until, e.minute + (0.0 if e.staff >= 0 else linger / 2))]
            rs += [row, row]
            if e.staff < 0:
                done(*called.pop(e.pax, (ts, rs)), "staff (called)")
    for path in called.values():  # called, but it had ended before they arrived
        done(*path, "staff (called)")
    return walks


_UNTOLD = ("disturbed", "patrol_due", "patrol_at", "patrol_out", "called")  # shown, not told
_BUBBLE = {"reminder_ok": "Shh! \u2714", "reminder_failed": "Shh! \u2716", "complaint": "complaint",
           "intervene": "staff", "moved": "moved out"}


def event_lines(run_: DemoRun, car: int) -> list[tuple[float, str]]:
    """The trace of car ``car`` told in words, one line per thing that happened, in order;
    boarding and alighting are told once per stop."""
    pax = run_.result.passengers
    stops = run_.result.spec.stop_times()
    events = [e for e in run_.trace if e.car == car and not e.control and e.what not in _UNTOLD]
    moves: dict[float, list[int]] = {}
    for e in events:
        if e.what in ("board", "alight"):
            moves.setdefault(e.minute, [0, 0])[e.what == "board"] += 1
    out: list[tuple[float, str]] = []
    told: set[float] = set()
    for i, e in enumerate(events):
        t, what, p, kind = e.minute, e.what, e.pax, e.kind
        if what in ("board", "alight"):
            if t not in told:
                told.add(t)
                off, on = moves[t]
                k = int(np.argmin(np.abs(np.asarray(stops) - t)))
                out.append((t, f"station {station(k)}: {off} off, {on} on"))
            continue
        s = seat_label(int(pax.seat[p])) if p >= 0 else ""
        same = [x for x in events[i + 1:i + 3] if x.minute == t and x.pax == p]
        nxt = same[0].what if same else ""
        if what == "intervene":
            outcome = "it stops" if nxt == "end_staff" else "ignored"
            if nxt == "end_staff" and len(same) > 1 and same[1].what == "moved":
                outcome = "moved to an ordinary car"
            text = f"staff speak to {s}: {outcome}"
        elif what == "start":
            text = (f"{KIND_GLYPH.get(kind, '')} {s}: {KIND_WORDS.get(kind, kind)} starts"
                    + ("" if pax.optin[p] else " (did not choose quiet)"))
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
    for v in ctx.records:
        if v.start > t:
            continue
        live["starts"] += 1
        live[f"starts_{v.kind}"] += 1
        live["noisy_starts"] += v.running_before > 0
        if v.end <= t:
            live[f"ended_{v.ended_by}"] += 1
            if v.ended_by != "alighting":
                live["ended_count"] += 1
                live["ended_min"] += v.end - v.start
    overlap = np.minimum(ctx.disturbed_until, t) - ctx.disturbed_from  # the disturbances so far
    live["disturbed_pax_min"] = float(overlap[overlap > 0].sum())
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
        ob = r.onboard
        self.t_on = np.asarray(ob.board_time, dtype=float)
        self.t_off = np.asarray(ob.alight_time, dtype=float)
        self.n_cars = len(r.spec.quiet_seats)
        self.records = [v for v in ob.violations if not v.control]
        self.noisy_spans = [_merged((v.start, v.end) for v in self.records if v.car == c)
                            for c in range(self.n_cars)]
        quiet = [e for e in run_.trace if not e.control]
        self.complaint_times = np.array([e.minute for e in quiet if e.what == "complaint"], dtype=float)
        self.intervene_times = np.array([e.minute for e in quiet if e.what == "intervene"], dtype=float)
        disturbed = [e for e in quiet if e.what == "disturbed"]  # who was disturbed, from when until when
        self.disturbed_car = np.array([e.car for e in disturbed], dtype=np.int64)
        self.disturbed_pax = np.array([e.pax for e in disturbed], dtype=np.int64)
        self.disturbed_from = np.array([e.minute for e in disturbed], dtype=float)
        self.disturbed_until = np.array([e.until for e in disturbed], dtype=float)
        self.reach = {(e.pax, e.minute): e.reach for e in quiet if e.what == "start"}  # of each violation


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
    in_car = pax.car == car
    code = np.where(pax.infant, INFANT, np.where(pax.optin, OPTED_IN, OVERFLOW)).astype(np.int8)
    moved = np.asarray(r.onboard.moved)
    here = ctx.disturbed_car == car
    d_pax, d_from, d_until = ctx.disturbed_pax[here], ctx.disturbed_from[here], ctx.disturbed_until[here]
    car_records = [v for v in ctx.records if v.car == car]
    walks = staff_walks(run_, car, rows, linger)
    lines = event_lines(run_, car)
    line_times = np.array([t for t, _ in lines], dtype=float)
    bubble_events = [e for e in run_.trace if e.car == car and not e.control and e.what in _BUBBLE]
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
        for v in running:
            r_, reach = int(pax.row[v.pax]), ctx.reach[v.pax, v.start]
            halo[max(0, r_ - reach):min(rows - 1, r_ + reach) + 1] += 1
        disturbed_now = len(np.unique(d_pax[(d_from <= t) & (t < d_until)]))
        staff = tuple((pos, w.label) for w in walks if (pos := w.at(t)) is not None)
        bubbles = tuple(Bubble(int(pax.seat[e.pax]), e.what, _BUBBLE[e.what])
                        for e in bubble_events if t - linger < e.minute <= t)
        shown = lines[:int(np.searchsorted(line_times, t, side="right"))][-log_lines:]
        live = ({k: float(run_.tally[k]) for k in LIVE_KEYS} if final else _partial_tally(run_, t, ctx))
        values = {name: METRICS[name](live) for name in SHOWN} if not final else {
            name: run_.metrics[name] for name in SHOWN}
        at_stop = stops.index(t) if t in stops else -1
        leg = min(int(np.searchsorted(stops, t, side="right")) - 1, spec.legs - 1)
        frames.append(Frame(
            index=n, minute=t, at_stop=at_stop, leg=leg, final=final, occupant=occupant, boarded=boarded,
            alighted=alighted, noisy=tuple((int(pax.seat[v.pax]), v.kind) for v in running), halo=halo,
            disturbed_now=disturbed_now, staff=staff, bubbles=bubbles,
            log=tuple(f"{lt:5.1f}  {text}" for lt, text in shown), live=live, values=values))
    return frames


def history(frames: Sequence[Frame], upto: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(minutes, values) of a live value or metric over frames 0..upto."""
    sel = frames[:upto + 1]
    x = np.array([f.minute for f in sel])
    y = np.array([f.values[name] if name in f.values else f.live[name] for f in sel], dtype=float)
    return x, y


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
