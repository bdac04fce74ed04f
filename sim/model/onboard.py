"""On board: the quiet car(s) of one train from departure to arrival, in one simpy.Environment.

Violation starts are made by thinning, not by a process per passenger: on each leg the
candidate starts of all passengers on board are pre-sampled with numpy at the bound rate
(every passenger's unwarned rate times the largest contagion multiplier), and each
candidate is accepted with probability (actual rate / bound) at its time. That is exact
because the actual rate never exceeds the bound. SimPy carries only the interacting
events: stops, candidate starts, violation ends, reminders, complaints, patrols and the
crew, a shared ``simpy.Resource`` of the train.

Times are minutes after departure. The model records; it never prints or writes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import simpy

from .booking import QuietPassengers
from .params import CHILD, KINDS, SEATS_PER_ROW, Params, TrainSpec

ENDERS: tuple[str, ...] = ("self", "peer", "staff", "alighting")


class Violation(NamedTuple):
    """One violation: who, what, when (minutes after departure), and how it ended.

    ``ended_by`` is one of ENDERS (a passenger moved out counts as ``staff``, ``moved`` True);
    ``running_before`` the number of other violations running in the car at its start;
    ``neighbours`` passengers within reach at its start; ``disturbed_pax_min`` the overlap of
    the violation with each neighbour's time on board (passenger-minutes).
    """
    control: bool
    car: int
    pax: int
    segment: int
    optin: bool
    kind: str
    start: float
    end: float
    ended_by: str
    moved: bool
    running_before: int
    neighbours: int
    disturbed_pax_min: float
    complaints: int
    staff_contacts: int


@dataclass(frozen=True)
class CarTotals:
    """Time-weighted levels and counts of one car over the journey.

    ``car_min`` running time; ``pax_min`` passenger-minutes on board; ``noisy_min`` minutes
    with at least one running violation; ``calm_quiet_pax_min`` / ``noisy_quiet_pax_min``
    minutes of passengers on board and not violating while the car was calm / noisy, with
    ``calm_starts`` / ``noisy_starts`` the violations started in each state (contagion);
    ``passengers`` travellers who boarded.
    """
    car_min: float
    pax_min: float
    noisy_min: float
    calm_quiet_pax_min: float
    noisy_quiet_pax_min: float
    calm_starts: int
    noisy_starts: int
    passengers: int


@dataclass(frozen=True)
class OnboardResult:
    """Everything the journey produced: records per violation, per passenger and per car.

    ``board_time``/``alight_time`` per quiet-car passenger (minutes; alight < arrival if moved),
    ``boardings`` how often each boarded (always 1), ``moved`` moved out by staff;
    ``interventions``, ``staff_min`` (intervention time plus walks to complaints, minutes),
    ``complaints`` complaints that reached the crew.
    """
    violations: tuple[Violation, ...]
    cars: tuple[CarTotals, ...]
    control: tuple[CarTotals, ...]
    board_time: np.ndarray
    alight_time: np.ndarray
    boardings: np.ndarray
    moved: np.ndarray
    interventions: int
    staff_min: float
    complaints: int


class _Running:
    """A violation while it runs (mutable; becomes a Violation record when it ends)."""
    __slots__ = ("key", "pax", "kind", "start", "row", "before", "neighbours", "ended", "called",
                 "complaints", "contacts")

    def __init__(self, key, pax, kind, start, row, before, neighbours):
        self.key, self.pax, self.kind, self.start, self.row = key, pax, kind, start, row
        self.before, self.neighbours = before, neighbours
        self.ended = self.called = False
        self.complaints = self.contacts = 0


def passenger_rates(pax: QuietPassengers, params: Params, agreement: bool) -> np.ndarray:
    """Unwarned start rates per minute, shape (passengers, kinds).

    rate_per_h[segment][kind] / 60 * exp(-trait_effect * z) * (commitment if opted in else
    signage); without the agreement (control car) the last factor is 1. ``child`` only for
    the traveller holding an infant.
    """
    b = params.behaviour
    base = np.asarray(b.rate_per_h, dtype=float)[pax.segment] / 60.0
    base = base * np.exp(-b.trait_effect * pax.z)[:, None]
    if agreement:
        base = base * np.where(pax.optin, b.commitment, b.signage)[:, None]
    base[:, CHILD] *= pax.infant
    return base


class _Car:
    """One car's passengers and state; its process runs the stops and the candidate starts."""

    def __init__(self, sim: "_Journey", car: int, members: np.ndarray, rates: np.ndarray,
                 rng: np.random.Generator, enforced: bool, control: bool):
        self.sim, self.car, self.rng, self.enforced, self.control = sim, car, rng, enforced, control
        p = sim.pax
        self.members = members
        self.rows = -(-sim.spec.quiet_seats[car] // SEATS_PER_ROW)
        self.row = p.row[members].astype(np.int64)
        self.segment = p.segment[members]
        self.optin = p.optin[members]
        times = np.asarray(sim.stop_times)
        self.t_on = times[p.origin[members]]
        self.t_off = times[p.dest[members]].copy()
        self.origin, self.dest = p.origin[members], p.dest[members]
        self.rate = rates
        self.weight = rates.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            cum = np.cumsum(rates, axis=1) / self.weight[:, None]
        self.kind_cum = np.nan_to_num(cum, nan=1.0)
        b = sim.params.behaviour
        self.peer_q = np.minimum(1.0, np.asarray(b.peer_remind)[self.segment]
                                 * np.where(self.optin, b.peer_optin_boost, 1.0))
        n = len(members)
        self.on = np.zeros(n, dtype=bool)
        self.noisy: list[_Running | None] = [None] * n
        self.warned = [False] * n
        self.contacts = [0] * n
        self.moved = np.zeros(n, dtype=bool)
        self.boardings = np.zeros(n, dtype=np.int64)
        self.running: dict[int, _Running] = {}
        self.next_id = 0
        self.damp_until = -math.inf
        self.last = 0.0
        self.n_on = self.n_quiet = self.V = 0
        self.pax_min = self.noisy_min = self.calm_qpm = self.noisy_qpm = 0.0
        self.calm_starts = self.noisy_starts = 0

    # --- bookkeeping -------------------------------------------------------------------
    def _advance(self) -> None:
        now = self.sim.env.now
        dt = now - self.last
        if dt > 0:
            self.pax_min += self.n_on * dt
            if self.V:
                self.noisy_min += dt
                self.noisy_qpm += self.n_quiet * dt
            else:
                self.calm_qpm += self.n_quiet * dt
            self.last = now

    def _log(self, what: str, i: int = -1, kind: str = "") -> None:
        if self.sim.trace is not None:
            gi = int(self.members[i]) if i >= 0 else -1
            self.sim.trace.append((self.sim.env.now, what, self.car, self.control, gi, kind))

    def multiplier(self) -> float:
        """Contagion and enforcement damping (both part of the contagion mechanism) on every rate, now."""
        s = self.sim
        if not s.switches.contagion:
            return 1.0
        m = 1.0 + s.contagion * min(self.V, s.cap)
        if s.env.now < self.damp_until:
            m *= 1.0 - s.params.behaviour.enforcement_damping
        return m

    # --- stops ---------------------------------------------------------------------------
    def _stop(self, k: int) -> None:
        self._advance()
        for i in np.flatnonzero(self.on & (self.dest == k)).tolist():
            v = self.noisy[i]
            if v is not None:
                self.end(v, "alighting")
            self.on[i] = False
            self.n_on -= 1
            self.n_quiet -= 1
            self._log("alight", i)
        for i in np.flatnonzero(self.origin == k).tolist():
            self.on[i] = True
            self.boardings[i] += 1
            self.n_on += 1
            self.n_quiet += 1
            self._log("board", i)

    def process(self):
        times = self.sim.stop_times
        env = self.sim.env
        for k in range(len(times) - 1):
            self._stop(k)
            yield from self._leg(times[k], times[k + 1])
            if times[k + 1] > env.now:
                yield env.timeout(times[k + 1] - env.now)
        self._stop(len(times) - 1)
        self._advance()

    def _leg(self, t0: float, t1: float):
        """Candidate starts on one leg at the bound rate, thinned at their times."""
        idx = np.flatnonzero(self.on)
        w = self.weight[idx]
        total = float(w.sum())
        if total <= 0.0:
            return
        s, rng, env = self.sim, self.rng, self.sim.env
        count = int(rng.poisson(s.m_max * total * (t1 - t0)))
        if count == 0:
            return
        times = t0 + np.sort(rng.random(count)) * (t1 - t0)
        pick = np.minimum(np.searchsorted(np.cumsum(w) / total, rng.random(count), side="right"), len(idx) - 1)
        who = idx[pick]
        accept = rng.random(count) * s.m_max
        kind = np.minimum((rng.random(count)[:, None] >= self.kind_cum[who]).sum(axis=1), len(KINDS) - 1)
        length = np.exp(s.dur_mu[kind] + s.dur_sigma[kind] * rng.standard_normal(count))
        warned = s.params.behaviour.warned_factor if s.switches.warned else 1.0
        for t, i, a, k, d in zip(times.tolist(), who.tolist(), accept.tolist(), kind.tolist(), length.tolist()):
            if t > env.now:
                yield env.timeout(t - env.now)
            if self.noisy[i] is not None or not self.on[i]:
                continue
            m = self.multiplier()
            if self.warned[i]:
                m *= warned
            if a < m:
                self.start(i, k, d)

    # --- violations ------------------------------------------------------------------------
    def _near(self, i: int, kind: int) -> np.ndarray:
        return np.abs(self.row - self.row[i]) <= self.sim.reach[kind]

    def start(self, i: int, kind: int, length: float) -> None:
        """Passenger i starts a violation of kind index ``kind`` lasting ``length`` minutes."""
        s, env, rng = self.sim, self.sim.env, self.rng
        now = env.now
        self._advance()
        if self.V:
            self.noisy_starts += 1
        else:
            self.calm_starts += 1
        near = self._near(i, kind) & self.on
        near[i] = False
        nb = np.flatnonzero(near)
        v = _Running(self.next_id, i, kind, now, int(self.row[i]), self.V, len(nb))
        self.running[self.next_id] = v
        self.next_id += 1
        self.V += 1
        self.n_quiet -= 1
        self.noisy[i] = v
        self._log("start", i, KINDS[kind])
        end_t, ender = now + length, "self"
        complaint_times: list[float] = []
        b = s.params.behaviour
        if s.switches.peers and len(nb):
            decides = rng.random(len(nb)) < self.peer_q[nb]
            delay = rng.exponential(b.peer_delay_mean, len(nb))
            able = decides & (now + delay < self.t_off[nb])
            if able.any():
                tp = now + float(delay[able].min())
                if tp < end_t:
                    if rng.random() < b.peer_success:
                        end_t, ender = tp, "peer"
                    else:
                        self._at(tp, self._failed_reminder, v)
                        if s.complaints_here(self) and rng.random() < b.complain_after_failed:
                            complaint_times.append(tp)
        if s.complaints_here(self) and len(nb):
            says = rng.random(len(nb)) < b.complain[kind]
            delay = rng.exponential(b.complaint_delay_mean, len(nb))
            ok = says & (now + delay < self.t_off[nb])
            complaint_times.extend((now + delay[ok]).tolist())
        for tc in sorted(complaint_times):
            if tc < end_t:
                self._at(tc, self._complaint, v)
        if end_t < math.inf:
            self._at(end_t, self._natural_end, (v, ender))

    def _at(self, t: float, fn, arg) -> None:
        ev = self.sim.env.timeout(t - self.sim.env.now, arg)
        ev.callbacks.append(fn)

    def _natural_end(self, ev) -> None:
        v, ender = ev.value
        if not v.ended:
            if ender == "peer":
                self.warned[v.pax] = True
                self._log("reminder_ok", v.pax)
            self.end(v, ender)

    def _failed_reminder(self, ev) -> None:
        v = ev.value
        if not v.ended:
            self.warned[v.pax] = True
            self._log("reminder_failed", v.pax)

    def _complaint(self, ev) -> None:
        v = ev.value
        if v.ended:
            return
        v.complaints += 1
        self.sim.complaints += 1
        self._log("complaint", v.pax)
        if not v.called:
            v.called = True
            self.sim.env.process(self.sim.respond(self, v))

    def end(self, v: _Running, by: str, moved: bool = False) -> None:
        """End a running violation now; ``moved`` takes the violator out of the car."""
        if v.ended:
            return
        now = self.sim.env.now
        self._advance()
        v.ended = True
        i = v.pax
        self.V -= 1
        self.n_quiet += 1
        self.noisy[i] = None
        del self.running[v.key]
        near = self._near(i, v.kind)
        near[i] = False
        overlap = np.minimum(self.t_off[near], now) - np.maximum(self.t_on[near], v.start)
        disturbed = float(overlap[overlap > 0].sum())
        self._log("end_" + by, i, KINDS[v.kind])
        self.sim.records.append(Violation(
            control=self.control, car=self.car, pax=int(self.members[i]), segment=int(self.segment[i]),
            optin=bool(self.optin[i]), kind=KINDS[v.kind], start=v.start, end=now, ended_by=by,
            moved=moved, running_before=v.before, neighbours=v.neighbours,
            disturbed_pax_min=disturbed, complaints=v.complaints, staff_contacts=v.contacts))
        if moved:
            self.on[i] = False
            self.moved[i] = True
            self.t_off[i] = now
            self.n_on -= 1
            self.n_quiet -= 1
            self._log("moved", i)

    def totals(self) -> CarTotals:
        return CarTotals(car_min=self.sim.spec.run_min, pax_min=self.pax_min, noisy_min=self.noisy_min,
                         calm_quiet_pax_min=self.calm_qpm, noisy_quiet_pax_min=self.noisy_qpm,
                         calm_starts=self.calm_starts, noisy_starts=self.noisy_starts,
                         passengers=int(self.boardings.sum()))


class _Journey:
    """One train's journey: its cars, its crew and its staff processes, in one Environment."""

    def __init__(self, spec: TrainSpec, params: Params, pax: QuietPassengers, rngs: dict,
                 trace: list | None):
        self.spec, self.params, self.pax, self.trace = spec, params, pax, trace
        self.switches = params.switches
        b = params.behaviour
        self.env = simpy.Environment()
        self.crew = simpy.Resource(self.env, capacity=spec.crew)
        self.stop_times = spec.stop_times()
        self.contagion, self.cap = b.contagion, b.contagion_cap
        self.m_max = 1.0 + b.contagion * b.contagion_cap if self.switches.contagion else 1.0
        sigma2 = np.log1p(np.asarray(b.duration_cv) ** 2)
        self.dur_sigma = np.sqrt(sigma2)
        self.dur_mu = np.log(np.asarray(b.duration_mean)) - sigma2 / 2.0
        self.reach = np.asarray(b.reach_rows)
        self.staff_rng = rngs["staff"]
        self.records: list[Violation] = []
        self.interventions = 0
        self.staff_min = 0.0
        self.complaints = 0
        rates = passenger_rates(pax, params, agreement=True)
        self.cars = [self._car(c, rates, rngs["behaviour"], enforced=True, control=False)
                     for c in range(len(spec.quiet_seats))]
        self.control: list[_Car] = []
        if self.switches.control_car:
            free = passenger_rates(pax, params, agreement=False)
            self.control = [self._car(c, free, rngs["control"], enforced=False, control=True)
                            for c in range(len(spec.quiet_seats))]

    def _car(self, c, rates, rng, enforced, control) -> _Car:
        members = np.flatnonzero(self.pax.car == c)
        return _Car(self, c, members, rates[members], rng, enforced, control)

    def complaints_here(self, car: _Car) -> bool:
        return self.switches.complaints and car.enforced

    # --- crew --------------------------------------------------------------------------------
    def intervene(self, car: _Car, v: _Running):
        """A crew member deals with a running violation (the caller holds the crew member)."""
        st, b = self.params.staff, self.params.behaviour
        self.interventions += 1
        self.staff_min += st.intervention_min
        v.contacts += 1
        i = v.pax
        car.contacts[i] += 1
        if b.enforcement_damping > 0 and b.damping_min > 0:
            car.damp_until = self.env.now + b.damping_min
        car._log("intervene", i)
        if self.staff_rng.random() < st.staff_success:
            car.warned[i] = True
            car.end(v, "staff")
        elif st.escalation and car.contacts[i] >= st.escalation_contacts:
            car.end(v, "staff", moved=True)
        else:
            car.warned[i] = True
        if st.intervention_min > 0:
            yield self.env.timeout(st.intervention_min)

    def respond(self, car: _Car, v: _Running):
        """A complaint calls a crew member, who walks over and intervenes if it still runs."""
        with self.crew.request() as req:
            yield req
            walk = self.params.staff.response_walk
            self.staff_min += walk
            if walk > 0:
                yield self.env.timeout(walk)
            if not v.ended:
                yield from self.intervene(car, v)

    def patrol(self):
        """One patroller: a pass through every quiet car every patrol_interval, random phase."""
        st, env = self.params.staff, self.env
        period = st.patrol_interval
        phase = self.staff_rng.uniform(0.0, period)
        t = phase
        end = self.spec.run_min
        while t < end:
            if t > env.now:
                yield env.timeout(t - env.now)
            with self.crew.request() as req:
                yield req
                for car in self.cars:
                    car._log("patrol")
                    step = st.patrol_walk / car.rows
                    for r in range(car.rows):
                        if step > 0:
                            yield env.timeout(step)
                        for v in [v for v in car.running.values() if v.row == r]:
                            if not v.ended and self.staff_rng.random() < st.detect[v.kind]:
                                yield from self.intervene(car, v)
            t = phase + math.ceil((env.now - phase) / period + 1e-12) * period

    def duties(self):
        """Other duties arrive as a Poisson stream and hold a crew member each."""
        st, env = self.params.staff, self.env
        rate = st.other_duty_load * self.spec.crew / st.other_duty_mean
        while True:
            yield env.timeout(self.staff_rng.exponential(1.0 / rate))
            env.process(self._duty(self.staff_rng.exponential(st.other_duty_mean)))

    def _duty(self, length: float):
        with self.crew.request() as req:
            yield req
            yield self.env.timeout(length)

    def run(self) -> OnboardResult:
        env, sw, st = self.env, self.switches, self.params.staff
        procs = [env.process(car.process()) for car in self.cars + self.control]
        if sw.patrols:
            for _ in range(st.patrol_staff):
                env.process(self.patrol())
        if sw.other_duties and st.other_duty_load > 0:
            env.process(self.duties())
        env.run(until=env.all_of(procs))
        n = self.pax.n
        board, alight = np.full(n, np.nan), np.full(n, np.nan)
        boardings, moved = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
        for car in self.cars:
            board[car.members] = car.t_on
            alight[car.members] = car.t_off
            boardings[car.members] = car.boardings
            moved[car.members] = car.moved
        records = sorted(self.records, key=lambda v: (v.control, v.start, v.car, v.pax))
        return OnboardResult(
            violations=tuple(records), cars=tuple(c.totals() for c in self.cars),
            control=tuple(c.totals() for c in self.control), board_time=board, alight_time=alight,
            boardings=boardings, moved=moved, interventions=self.interventions,
            staff_min=self.staff_min, complaints=self.complaints)


def run_onboard(spec: TrainSpec, params: Params, pax: QuietPassengers, rngs: dict,
                trace: list | None = None) -> OnboardResult:
    """Simulate the journey of one train's quiet car(s).

    ``rngs`` holds the ``behaviour``, ``staff`` and ``control`` generators. If ``trace`` is a
    list, events are appended to it as ``(minute, what, car, control, passenger, kind)``.
    """
    return _Journey(spec, params, pax, rngs, trace).run()
