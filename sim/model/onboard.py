"""On board: the quiet car(s) of one train from departure to arrival, in one simpy.Environment.

Violation starts are made by thinning, not by a process per passenger: on each leg the
candidate starts of all passengers on board are pre-sampled with numpy at the bound rate
(every passenger's unwarned rate times the largest contagion multiplier), and each
candidate is accepted with probability (actual rate / bound) at its time. That is exact
because the actual rate never exceeds the bound. SimPy carries only the interacting
events: stops, candidate starts, violation ends, reminders, complaints, patrols and the
crew of the train, shared first come, first served (`_Crew`).

Times are minutes after departure. The model records; it never prints or writes.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import simpy

from .booking import QuietPassengers
from .params import CHILD, KINDS, SEATS_PER_ROW, Params, Staff, TrainSpec, per_params

ENDERS: tuple[str, ...] = ("self", "peer", "staff", "alighting")


class Violation(NamedTuple):
    """One violation: who, what, when (minutes after departure), and how it ended.

    ``ended_by`` is one of ENDERS (a passenger moved out counts as ``staff``, ``moved`` True);
    ``running_before`` the number of other violations running in the car at its start;
    ``neighbours`` passengers within reach at its start; ``disturbed_pax_min`` the overlap of
    the violation with each neighbour's time on board (passenger-minutes), of which
    ``disturbed_optin_pax_min`` for neighbours who opted in; ``complaints`` that reached the
    crew; ``staff_contacts`` interventions; ``reminded`` a neighbour's reminder reached the
    violator while it ran (successful or not: the violation was sanctioned).
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
    disturbed_optin_pax_min: float
    complaints: int
    staff_contacts: int
    reminded: bool


@dataclass(frozen=True)
class CarTotals:
    """Time-weighted levels and counts of one car over the journey.

    ``car_min`` running time; ``pax_min`` passenger-minutes on board; ``noisy_min`` minutes
    with at least one running violation; ``calm_starts`` / ``noisy_starts`` the violations
    started while none / at least one other ran, of which ``calm_damped_starts`` /
    ``noisy_damped_starts`` inside a damping window (``damping_min`` after a staff intervention
    in the car, whether or not damping is switched on). ``expected_calm`` / ``expected_noisy``
    (outside damping windows) and ``expected_calm_damped`` / ``expected_noisy_damped`` (inside)
    are the starts expected in each state without contagion or damping: the integral over the
    state's time of the summed own rates (unwarned rate x warned_factor once warned) of the
    travellers on board and not violating. ``passengers`` travellers who boarded;
    ``optin_pax_min`` passenger-minutes of those who opted in.
    """
    car_min: float
    pax_min: float
    noisy_min: float
    calm_starts: int
    noisy_starts: int
    calm_damped_starts: int
    noisy_damped_starts: int
    expected_calm: float
    expected_noisy: float
    expected_calm_damped: float
    expected_noisy_damped: float
    passengers: int
    optin_pax_min: float


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
                 "complaints", "contacts", "reminded")

    def __init__(self, key, pax, kind, start, row, before, neighbours):
        self.key, self.pax, self.kind, self.start, self.row = key, pax, kind, start, row
        self.before, self.neighbours = before, neighbours
        self.ended = self.called = self.reminded = False
        self.complaints = self.contacts = 0


def passenger_rates(pax: QuietPassengers, params: Params, agreement: bool) -> np.ndarray:
    """Unwarned start rates per minute, shape (passengers, kinds).

    rate_per_h[segment][kind] / 60 * exp(-trait_effect * z) * (commitment if signed, else
    signage); without the agreement (control car) the last factor is 1. ``child`` only for
    the traveller holding an infant. A signer is an opt-in, or an overflow traveller who
    accepted the agreement (``with_agreement``).
    """
    b = params.behaviour
    base = np.asarray(b.rate_per_h, dtype=float)[pax.segment] / 60.0
    base = base * np.exp(-b.trait_effect * pax.z)[:, None]
    if agreement:
        base = base * np.where(pax.signed, b.commitment, b.signage)[:, None]
    base[:, CHILD] *= pax.infant
    return base


def rate_shares(rates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each traveller's total start rate and cumulative shares of the kinds (all 1 for a
    traveller who never starts anything: such a traveller has no candidates)."""
    weight = rates.sum(axis=1)
    still = weight <= 0.0
    kind_cum = np.cumsum(rates, axis=1) / np.where(still, 1.0, weight)[:, None]
    kind_cum[still] = 1.0
    return weight, kind_cum


def draw_candidates(rng: np.random.Generator, t_on: np.ndarray, t_off: np.ndarray, weight: np.ndarray,
                    kind_cum: np.ndarray, m_max: float, dur_mu: np.ndarray, dur_sigma: np.ndarray) -> tuple:
    """Candidate starts of one car's whole journey, in time order: arrays of (time, traveller,
    acceptance draw x m_max, kind, natural length).

    Each traveller's candidates are a Poisson process at the bound rate m_max x (unwarned
    rate, ``weight``) over its planned time on board [t_on, t_off); their superposition is the
    car's candidate stream. A candidate is accepted at its time with probability (actual rate /
    bound); candidates of travellers who are violating or have been moved out are dropped.
    ``kind_cum`` holds each traveller's cumulative shares of the kinds.
    """
    span = t_off - t_on
    count = rng.poisson(m_max * weight * span)
    who = np.repeat(np.arange(len(count)), count)
    n = len(who)
    u = rng.random(3 * n)  # the position, acceptance and kind draws, one after the other
    times = t_on[who] + u[:n] * span[who]
    order = np.argsort(times, kind="stable")
    times, who = times[order], who[order]
    accept = u[n:2 * n] * m_max
    # the kind is the number of cumulative shares its uniform passes
    kind = (u[2 * n:, None] >= kind_cum[who, :len(KINDS) - 1]).sum(axis=1)
    length = np.exp(dur_mu[kind] + dur_sigma[kind] * rng.standard_normal(n))
    return times, who, accept, kind, length


def draw_duties(st: Staff, spec: TrainSpec, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The other duties of one journey, from the ``staff`` stream: arrival times (a Poisson
    stream of rate other_duty_load x crew / other_duty_mean over the run, in order) and how
    long each holds a crew member (exponential, mean other_duty_mean)."""
    rate = st.other_duty_load * spec.crew / st.other_duty_mean
    count = int(rng.poisson(rate * spec.run_min))
    return np.sort(rng.random(count)) * spec.run_min, rng.exponential(st.other_duty_mean, count)


class _Uniforms:
    """Uniform(0, 1) draws of one generator, taken in blocks: the per-violation decisions
    (who reminds, who complains, after what delay) need a few scalars each, and a numpy
    call per scalar would cost more than the decision."""
    __slots__ = ("rng", "block", "k")

    def __init__(self, rng: np.random.Generator):
        self.rng, self.block, self.k = rng, [], 0

    def __call__(self) -> float:
        if self.k == len(self.block):
            self.block, self.k = self.rng.random(256).tolist(), 0
        self.k += 1
        return self.block[self.k - 1]

    def exponential(self, mean: float) -> float:
        return -mean * math.log1p(-self())


class _Crew:
    """The train's crew members, handed out first come, first served.

    What ``simpy.Resource`` does, in the same order of events, without its bookkeeping: a
    request is an event that succeeds as soon as a member is free; a release hands the member
    to the first request waiting, through an event at the same time (as Resource's Release
    event does), or, when nobody waits, just frees it."""
    __slots__ = ("env", "free", "waiting")

    def __init__(self, env: simpy.Environment, size: int):
        self.env, self.free = env, size
        self.waiting: deque[tuple[simpy.Event, object]] = deque()

    def request(self, value=None) -> simpy.Event:
        """An event that succeeds (with ``value``) when a crew member is this request's."""
        ev = simpy.Event(self.env)
        self.waiting.append((ev, value))
        self._grant()
        return ev

    def release(self, _=None) -> None:
        self.free += 1
        if self.waiting:
            self.env.timeout(0).callbacks.append(self._grant)

    def _grant(self, _=None) -> None:
        if self.free and self.waiting:
            self.free -= 1
            ev, value = self.waiting.popleft()
            ev.succeed(value)


class _Car:
    """One car's passengers and state; its process runs the stops and the candidate starts."""

    def __init__(self, sim: "_Journey", car: int, members: np.ndarray, rates: np.ndarray,
                 rng: np.random.Generator, enforced: bool, control: bool):
        self.sim, self.car, self.rng, self.enforced, self.control = sim, car, rng, enforced, control
        p = sim.pax
        self.members = members
        self.rows = -(-sim.spec.quiet_seats[car] // SEATS_PER_ROW)
        origin, dest = p.origin[members], p.dest[members]
        self.t_on, self.planned_off = sim.stop_array[origin], sim.stop_array[dest]
        self.boarding: list[list[int]] = [[] for _ in sim.stop_times]
        self.alighting: list[list[int]] = [[] for _ in sim.stop_times]
        for i, (o, d) in enumerate(zip(origin.tolist(), dest.tolist())):
            self.boarding[o].append(i)
            self.alighting[d].append(i)
        self.weight, self.kind_cum = rate_shares(rates)
        self.weight_list = self.weight.tolist()
        self.member_list = members.tolist()
        self.row_list = p.row[members].tolist()
        self.segment_list = p.segment[members].tolist()
        self.optin = p.optin[members]
        self.optin_list = self.optin.tolist()
        self.peer_q = [sim.peer_q[s][o] for s, o in zip(self.segment_list, p.signed[members].tolist())]
        self.peer_q_max = max(self.peer_q, default=0.0)
        self.t_off_list = self.planned_off.tolist()  # alight times, updated when moved out
        self.t_on_list = self.t_on.tolist()
        self.in_row: list[list[int]] = [[] for _ in range(self.rows)]
        for i, r in enumerate(self.row_list):
            self.in_row[r].append(i)
        self.near_cache: dict[tuple[int, int], list[int]] = {}
        self.u = _Uniforms(rng)
        n = len(members)
        self.on = [False] * n
        self.noisy: list[_Running | None] = [None] * n
        self.warned = [False] * n
        self.contacts = [0] * n
        self.moved = [False] * n
        self.boardings = [0] * n
        self.running: dict[int, _Running] = {}
        self.pending: list[float] = []  # candidate start times of the journey, in order
        self.next_candidate = 0  # index of the first candidate not yet handled
        self.next_id = 0
        self.damp_until = -math.inf
        self.last = 0.0
        self.n_on = self.n_quiet = self.V = 0
        self.pax_min = self.noisy_min = 0.0
        self.q_rate = 0.0  # summed own rates of the travellers on board and not violating
        self.expected = [0.0] * 4  # calm, noisy, calm damped, noisy damped (see CarTotals)
        self.starts = [0] * 4

    # --- bookkeeping -------------------------------------------------------------------
    def _advance(self) -> None:
        """The time-weighted levels up to now (the expected starts split where a damping window
        closed since the last update)."""
        now = self.sim.env.now
        dt = now - self.last
        if dt > 0:
            self.pax_min += self.n_on * dt
            noisy = 1 if self.V else 0
            if noisy:
                self.noisy_min += dt
            until = self.damp_until
            if until > self.last:
                cut = until if until < now else now
                self.expected[2 + noisy] += self.q_rate * (cut - self.last)
                if now > cut:
                    self.expected[noisy] += self.q_rate * (now - cut)
            else:
                self.expected[noisy] += self.q_rate * dt
            self.last = now

    def own_rate(self, i: int) -> float:
        """Traveller i's start rate without contagion or damping: unwarned, x warned_factor once warned."""
        w = self.weight_list[i]
        return w * self.sim.warned_factor if self.warned[i] else w

    def _quiet_rate(self, change: float) -> None:
        """Add ``change`` to the summed own rates of the quiet travellers (0 when none is left:
        no rounding carried over)."""
        self.q_rate += change
        if self.n_quiet == 0:
            self.q_rate = 0.0

    def _log(self, what: str, i: int = -1, kind: str = "") -> None:
        if self.sim.trace is not None:
            gi = self.member_list[i] if i >= 0 else -1
            self.sim.trace.append((self.sim.env.now, what, self.car, self.control, gi, kind))

    def multiplier(self) -> float:
        """Contagion (switch ``contagion``) and enforcement damping (switch ``damping``) on every rate, now."""
        s = self.sim
        m = 1.0 + s.contagion * min(self.V, s.cap) if s.switches.contagion else 1.0
        if s.env.now < self.damp_until:
            m *= 1.0 - s.damping
        return m

    # --- stops and candidate starts ------------------------------------------------------
    def _stop(self, k: int) -> None:
        self._advance()
        on, noisy, moved, log = self.on, self.noisy, self.moved, self.sim.trace is not None
        gone = 0
        for i in self.alighting[k]:
            if moved[i]:
                continue
            if noisy[i] is not None:
                self.end(noisy[i], "alighting")
            on[i] = False
            self.q_rate -= self.own_rate(i)
            gone += 1
            if log:
                self._log("alight", i)
        boarding = self.boarding[k]
        for i in boarding:
            on[i] = True
            self.q_rate += self.own_rate(i)
            self.boardings[i] += 1
            if log:
                self._log("board", i)
        self.n_on += len(boarding) - gone
        self.n_quiet += len(boarding) - gone
        self._quiet_rate(0.0)

    def candidates(self) -> tuple[list, list, list, list, list]:
        """Candidate starts of the whole journey as lists (see `draw_candidates`)."""
        s = self.sim
        drawn = draw_candidates(self.rng, self.t_on, self.planned_off, self.weight, self.kind_cum,
                                s.m_max, s.dur_mu, s.dur_sigma)
        return tuple(a.tolist() for a in drawn)

    def process(self):
        """Stops and candidate starts in time order (a stop comes first at a tie)."""
        stops = self.sim.stop_times
        env = self.sim.env
        warned = self.sim.warned_factor
        k = 0
        times, *rest = self.candidates()
        self.pending = times
        for c, (t, i, a, kind, d) in enumerate(zip(times, *rest)):
            self.next_candidate = c
            while stops[k] <= t:
                if stops[k] > env.now:
                    yield env.timeout(stops[k] - env.now)
                self._stop(k)
                k += 1
            if t > env.now:
                yield env.timeout(t - env.now)
            if self.noisy[i] is not None or not self.on[i]:
                continue
            m = self.multiplier()
            if self.warned[i]:
                m *= warned
            if a < m:
                self.start(i, kind, d)
        self.next_candidate = len(times)
        for k in range(k, len(stops)):
            if stops[k] > env.now:
                yield env.timeout(stops[k] - env.now)
            self._stop(k)
        self._advance()

    # --- violations ------------------------------------------------------------------------
    def next_start_possible(self) -> float:
        """The earliest time a violation can start in this car: its next candidate's time."""
        k = self.next_candidate
        return self.pending[k] if k < len(self.pending) else math.inf

    def _near(self, i: int, kind: int) -> list[int]:
        """Travellers of this car seated within reach of i's row for this kind (i included),
        in traveller order (cached per row and reach)."""
        key = (self.row_list[i], self.sim.reach[kind])
        hit = self.near_cache.get(key)
        if hit is None:
            r, reach = key
            hit = self.near_cache[key] = sorted(
                j for rows in self.in_row[max(0, r - reach):r + reach + 1] for j in rows)
        return hit

    def start(self, i: int, kind: int, length: float) -> None:
        """Passenger i starts a violation of kind index ``kind`` lasting ``length`` minutes."""
        s, env = self.sim, self.sim.env
        now = env.now
        self._advance()
        self.starts[(1 if self.V else 0) + (2 if now < self.damp_until else 0)] += 1
        on, u, now_ = self.on, self.u, now
        nb = [j for j in self._near(i, kind) if on[j] and j != i]
        v = _Running(self.next_id, i, kind, now, self.row_list[i], self.V, len(nb))
        self.running[self.next_id] = v
        self.next_id += 1
        self.V += 1
        self.n_quiet -= 1
        self._quiet_rate(-self.own_rate(i))
        self.noisy[i] = v
        self._log("start", i, KINDS[kind])
        end_t, ender = now + length, "self"
        complaint_times: list[float] = []
        b = s.params.behaviour
        t_off = self.t_off_list
        complaints = s.complaints_here(self)
        if s.switches.peers and nb:
            tp = math.inf
            for j in self._some(nb, self.peer_q_max, self.peer_q):
                t = now_ + u.exponential(b.peer_delay_mean)
                if t < t_off[j] and t < tp:
                    tp = t
            if tp < end_t:
                if u() < b.peer_success:
                    end_t, ender = tp, "peer"
                else:
                    self._at(tp, self._failed_reminder, v)
                    if complaints and u() < b.complain_after_failed:
                        complaint_times.append(tp)
        if complaints and nb:
            for j in self._some(nb, b.complain[kind]):
                t = now_ + u.exponential(b.complaint_delay_mean)
                if t < t_off[j]:
                    complaint_times.append(t)
        for tc in sorted(complaint_times):
            if tc < end_t:
                self._at(tc, self._complaint, v)
        if end_t < math.inf:
            self._at(end_t, self._natural_end, (v, ender))

    def _some(self, people: list[int], p_max: float, p: list[float] | None = None) -> list[int]:
        """Each of ``people`` independently with probability p[j] (or p_max for all).

        Skips ahead by geometric gaps at rate p_max and keeps a hit with p[j] / p_max: the
        same Bernoulli trials as one uniform per person, with a few uniforms per violation."""
        if p_max <= 0.0:
            return []
        u, out, n = self.u, [], len(people)
        if p_max >= 1.0:
            pos = 0
        else:
            log_q = math.log1p(-p_max)
            pos = int(math.log1p(-u()) / log_q)
        while pos < n:
            j = people[pos]
            if p is None or p[j] >= p_max or u() * p_max < p[j]:
                out.append(j)
            pos += 1 if p_max >= 1.0 else 1 + int(math.log1p(-u()) / log_q)
        return out

    def _at(self, t: float, fn, arg) -> None:
        ev = self.sim.env.timeout(t - self.sim.env.now, arg)
        ev.callbacks.append(fn)

    def _natural_end(self, ev) -> None:
        v, ender = ev.value
        if not v.ended:
            if ender == "peer":
                self.warned[v.pax] = v.reminded = True
                self._log("reminder_ok", v.pax)
            self.end(v, ender)

    def _failed_reminder(self, ev) -> None:
        v = ev.value
        if not v.ended:
            self.warned[v.pax] = v.reminded = True
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
        self.q_rate += self.own_rate(i)  # as warned now: who warns does so before the end
        self.noisy[i] = None
        del self.running[v.key]
        disturbed = disturbed_optin = 0.0
        t_on, t_off, optin, start = self.t_on_list, self.t_off_list, self.optin_list, v.start
        for j in self._near(i, v.kind):  # the overlap of the violation with each neighbour's stay
            d = (t_off[j] if t_off[j] < now else now) - (t_on[j] if t_on[j] > start else start)
            if d > 0.0 and j != i:
                disturbed += d
                if optin[j]:
                    disturbed_optin += d
        self._log("end_" + by, i, KINDS[v.kind])
        self.sim.records.append(Violation(
            self.control, self.car, self.member_list[i], self.segment_list[i], optin[i], KINDS[v.kind],
            v.start, now, by, moved, v.before, v.neighbours, disturbed, disturbed_optin, v.complaints,
            v.contacts, v.reminded))
        if moved:
            self.on[i] = False
            self.moved[i] = True
            self.t_off_list[i] = now
            self.n_on -= 1
            self.n_quiet -= 1
            self._quiet_rate(-self.own_rate(i))
            self._log("moved", i)

    def totals(self) -> CarTotals:
        st, ex = self.starts, self.expected
        return CarTotals(car_min=self.sim.spec.run_min, pax_min=self.pax_min, noisy_min=self.noisy_min,
                         calm_starts=st[0] + st[2], noisy_starts=st[1] + st[3], calm_damped_starts=st[2],
                         noisy_damped_starts=st[3], expected_calm=ex[0], expected_noisy=ex[1],
                         expected_calm_damped=ex[2], expected_noisy_damped=ex[3],
                         passengers=sum(self.boardings),
                         optin_pax_min=float((self.alight_times() - self.t_on)[self.optin].sum()))

    def alight_times(self) -> np.ndarray:
        """When each traveller left the car: its planned stop, or when it was moved out."""
        return np.asarray(self.t_off_list)


@per_params
def _constants(params: Params) -> tuple:
    """What every journey under ``params`` derives from them, computed once per Params object:
    the bound multiplier m_max, log-normal duration parameters per kind, reach per kind, and
    the peer-reminder probability per segment and signer (the signer's boost)."""
    b = params.behaviour
    m_max = 1.0 + b.contagion * b.contagion_cap if params.switches.contagion else 1.0
    sigma2 = np.log1p(np.asarray(b.duration_cv) ** 2)
    boost = (1.0, b.peer_optin_boost)
    peer_q = [[min(1.0, q * boost[o]) for o in (0, 1)] for q in b.peer_remind]
    return (m_max, np.log(np.asarray(b.duration_mean)) - sigma2 / 2.0, np.sqrt(sigma2),
            tuple(int(r) for r in b.reach_rows), peer_q)


class _Journey:
    """One train's journey: its cars, its crew and its staff processes, in one Environment."""

    def __init__(self, spec: TrainSpec, params: Params, pax: QuietPassengers, rngs: dict,
                 trace: list | None):
        self.spec, self.params, self.pax, self.trace = spec, params, pax, trace
        self.switches = params.switches
        b = params.behaviour
        self.env = simpy.Environment()
        self.crew = _Crew(self.env, spec.crew)
        self.stop_times = spec.stop_times()
        self.contagion, self.cap = b.contagion, b.contagion_cap
        self.damping = b.enforcement_damping if self.switches.damping else 0.0
        self.warned_factor = b.warned_factor if self.switches.warned else 1.0
        self.m_max, self.dur_mu, self.dur_sigma, self.reach, self.peer_q = _constants(params)
        self.stop_array = np.asarray(self.stop_times)
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
        if b.damping_min > 0:  # a damping window, damping on or off (damping_lift compares them)
            car._advance()
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
        yield self.crew.request()
        walk = self.params.staff.response_walk
        self.staff_min += walk
        if walk > 0:
            yield self.env.timeout(walk)
        if not v.ended:
            yield from self.intervene(car, v)
        self.crew.release()

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
            if self.trace is not None:
                self.trace.append((env.now, "patrol_due", -1, False, -1, ""))
            yield self.crew.request()
            for car in self.cars:
                car._log("patrol")
                yield from self.sweep(car)
            self.crew.release()
            t = phase + math.ceil((env.now - phase) / period + 1e-12) * period

    def sweep(self, car: _Car):
        """Walk through one car, reaching row r (r + 1) x walk / rows after the previous row
        (interventions pause the walk), and deal with what runs in each row reached.

        Only rows where something can be seen need a stop: the row of a running violation,
        or the first row reached after the car's next candidate start (before it nothing new
        can begin). The walk jumps between those rows: the same outcome as stepping row by
        row, with a few events instead of one per row."""
        st, env = self.params.staff, self.env
        step = st.patrol_walk / car.rows
        r = 0
        while r < car.rows:
            if step > 0:
                rows = [v.row for v in car.running.values() if v.row >= r]
                k = min(rows) if rows else car.rows
                after = car.next_start_possible()  # rows reached at or after it must be looked at
                if after < math.inf:
                    k = min(k, r + max(0, math.ceil((after - env.now) / step - 1.0)))
                if k >= car.rows:
                    yield env.timeout((car.rows - r) * step)
                    return
                yield env.timeout((k - r + 1) * step)
                r = k
            for v in [v for v in car.running.values() if v.row == r]:
                if not v.ended and self.staff_rng.random() < st.detect[v.kind]:
                    yield from self.intervene(car, v)
            r += 1

    def duties(self) -> None:
        """Other duties: a Poisson stream of jobs over the journey, each holding a crew member
        for Exp(other_duty_mean) once one is free (first come, first served with patrols and
        complaints). Drawn at the start and run as callbacks: no process per job."""
        arrivals, lengths = draw_duties(self.params.staff, self.spec, self.staff_rng)
        for t, length in zip(arrivals.tolist(), lengths.tolist()):
            self.env.timeout(t, length).callbacks.append(self._duty_arrives)

    def _duty_arrives(self, ev) -> None:
        self.crew.request(ev.value).callbacks.append(self._hold)

    def _hold(self, granted) -> None:
        self.env.timeout(granted.value).callbacks.append(self.crew.release)

    def run(self) -> OnboardResult:
        env, sw, st = self.env, self.switches, self.params.staff
        procs = [env.process(car.process()) for car in self.cars + self.control]
        if sw.patrols:
            for _ in range(st.patrol_staff):
                env.process(self.patrol())
        if sw.other_duties and st.other_duty_load > 0:
            self.duties()
        env.run(until=env.all_of(procs))
        return self._result()

    def _result(self) -> OnboardResult:
        n = self.pax.n
        board, alight = np.full(n, np.nan), np.full(n, np.nan)
        boardings, moved = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
        for car in self.cars:
            board[car.members] = car.t_on
            alight[car.members] = car.alight_times()
            boardings[car.members] = np.asarray(car.boardings, dtype=np.int64)
            moved[car.members] = np.asarray(car.moved, dtype=bool)
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
