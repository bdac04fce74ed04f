"""Booking: serve one train's requests in order against per-leg seat inventory.

Two pools, quiet (Q) and ordinary second class (O), each with a free-seat count per leg.
A request fits a pool if every leg of its trip has room for the whole party. The policy
(`decide`) is a pure function of what fits and of the request's pre-drawn intentions;
overflow rules are plain functions chosen by name (`OVERFLOW_RULES`).

`serve` is exact and vectorised: it decides all remaining requests at once from the current
free seats, then finds the first request whose decision would have changed because of
the ones before it, keeps everything before that request, decides that one on the true
free seats, and resumes after it. A decision can only change when some leg's free seats
fall below a party size, a few times per train, so a train is served in a few array passes;
the result is identical to serving requests one by one (`serve_reference`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .params import SEATS_PER_ROW, Booking, Population, TrainSpec
from .population import Requests, _frozen

OUTCOMES: tuple[str, ...] = ("optin", "overflow", "ordinary", "refused")
OPTIN, OVERFLOW, ORDINARY, REFUSED = range(4)


def _never(req: Requests, booking: Booking, p_accept: np.ndarray) -> np.ndarray:
    return np.zeros(req.n, dtype=bool)


def _when_sold_out(req: Requests, booking: Booking, p_accept: np.ndarray) -> np.ndarray:
    return np.ones(req.n, dtype=bool)


def _release_hours_before(req: Requests, booking: Booking, p_accept: np.ndarray) -> np.ndarray:
    return req.lead_days * 24.0 <= booking.release_hours


def _with_agreement(req: Requests, booking: Booking, p_accept: np.ndarray) -> np.ndarray:
    return req.u_agree < p_accept


# Which requests may be seated in a free quiet seat when no ordinary seat fits.
OVERFLOW_RULES: dict[str, Callable[[Requests, Booking, np.ndarray], np.ndarray]] = {
    "never": _never,
    "when_sold_out": _when_sold_out,
    "release_hours_before": _release_hours_before,
    "with_agreement": _with_agreement,
}


@dataclass(frozen=True, eq=False)
class Intentions:
    """What each request would do, decided before any seat is looked at.

    ``accepts``: would accept the agreement if offered a quiet seat; ``may_overflow``: may be
    seated in a quiet seat when no ordinary seat fits; ``excluded``: may never sit there.
    """
    accepts: np.ndarray
    may_overflow: np.ndarray
    excluded: np.ndarray


def accept_probability(req: Requests, pop: Population) -> np.ndarray:
    """P(accept the agreement) = logistic(optin_logit[segment] + optin_trait_slope * z)."""
    x = np.asarray(pop.optin_logit)[req.segment] + pop.optin_trait_slope * req.z
    return 1.0 / (1.0 + np.exp(-x))


def intentions(req: Requests, pop: Population, booking: Booking) -> Intentions:
    """Apply the family advice and the overflow rule to the pre-drawn uniforms."""
    p = accept_probability(req, pop)
    excluded = req.infant & (booking.family_advice == "exclude")
    heeds = req.infant & (booking.family_advice == "advise") & (req.u_heed < booking.family_heed)
    may = OVERFLOW_RULES[booking.overflow](req, booking, p) & ~excluded
    if booking.overflow == "with_agreement":
        may &= ~heeds
    return Intentions(accepts=(req.u_accept < p) & ~heeds & ~excluded, may_overflow=may, excluded=excluded)


def decide(fits_q, fits_o, accepts, may_overflow, excluded):
    """The policy: outcome code and whether a quiet seat was offered (arrays or scalars).

    Offered a quiet seat if one fits and the party is not excluded; accepted -> opt-in;
    otherwise an ordinary seat if one fits; otherwise a quiet seat if the overflow rule
    allows; otherwise refused.
    """
    offered = fits_q & ~excluded
    optin = offered & accepts
    ordinary = ~optin & fits_o
    overflow = ~optin & ~fits_o & fits_q & may_overflow
    outcome = np.where(optin, OPTIN, np.where(ordinary, ORDINARY, np.where(overflow, OVERFLOW, REFUSED)))
    return outcome, offered


@dataclass(frozen=True, eq=False)
class BookingResult:
    """Per request: ``outcome`` (index into OUTCOMES) and ``offered`` (a quiet seat was free)."""
    outcome: np.ndarray
    offered: np.ndarray

    def __post_init__(self) -> None:
        _frozen(self.outcome)
        _frozen(self.offered)

    def counts(self) -> dict[str, int]:
        return {name: int(np.count_nonzero(self.outcome == k)) for k, name in enumerate(OUTCOMES)}


def serve(req: Requests, spec: TrainSpec, intent: Intentions) -> BookingResult:
    """Serve requests in order; exact, vectorised over the requests that cannot interact."""
    n, legs = req.n, spec.legs
    free_q = np.full(legs, sum(spec.quiet_seats), dtype=np.int64)
    free_o = np.full(legs, spec.ordinary_seats, dtype=np.int64)
    leg = np.arange(legs)
    outcome = np.empty(n, dtype=np.int8)
    offered = np.empty(n, dtype=bool)
    origin, dest = req.origin.astype(np.int64), req.dest.astype(np.int64)
    size = req.size.astype(np.int64)
    i = 0
    while i < n:  # decide every remaining request from the free seats now, keep the unchanged prefix
        s = size[i:, None]
        inc = (leg >= origin[i:, None]) & (leg < dest[i:, None])
        fq = ~(inc & (free_q < s)).any(axis=1)
        fo = ~(inc & (free_o < s)).any(axis=1)
        acc, may, exc = intent.accepts[i:], intent.may_overflow[i:], intent.excluded[i:]
        out, off = decide(fq, fo, acc, may, exc)
        load_q = inc * (s * ((out == OPTIN) | (out == OVERFLOW))[:, None])
        load_o = inc * (s * (out == ORDINARY)[:, None])
        before_q = np.cumsum(load_q, axis=0) - load_q
        before_o = np.cumsum(load_o, axis=0) - load_o
        tq = ~(inc & (free_q - before_q < s)).any(axis=1)
        to = ~(inc & (free_o - before_o < s)).any(axis=1)
        changed = (tq != fq) | (to != fo)
        k = int(np.argmax(changed)) if changed.any() else n - i
        outcome[i:i + k], offered[i:i + k] = out[:k], off[:k]
        free_q -= load_q[:k].sum(axis=0)
        free_o -= load_o[:k].sum(axis=0)
        if i + k < n:  # request i+k, decided on the true free seats
            o1, f1 = decide(tq[k], to[k], acc[k], may[k], exc[k])
            outcome[i + k], offered[i + k] = o1, f1
            if o1 in (OPTIN, OVERFLOW):
                free_q -= inc[k] * size[i + k]
            elif o1 == ORDINARY:
                free_o -= inc[k] * size[i + k]
            k += 1
        i += k
    return BookingResult(outcome=outcome, offered=offered)


def serve_reference(req: Requests, spec: TrainSpec, intent: Intentions) -> BookingResult:
    """Serve requests one by one: the plain reading of the rules, kept to check `serve`."""
    free = {"q": [sum(spec.quiet_seats)] * spec.legs, "o": [spec.ordinary_seats] * spec.legs}
    outcome = np.empty(req.n, dtype=np.int8)
    offered = np.empty(req.n, dtype=bool)
    for r in range(req.n):
        o, d, s = int(req.origin[r]), int(req.dest[r]), int(req.size[r])
        fits = {p: all(free[p][k] >= s for k in range(o, d)) for p in free}
        out, off = decide(np.bool_(fits["q"]), np.bool_(fits["o"]), intent.accepts[r],
                          intent.may_overflow[r], intent.excluded[r])
        pool = "q" if out in (OPTIN, OVERFLOW) else "o" if out == ORDINARY else None
        if pool:
            for k in range(o, d):
                free[pool][k] -= s
        outcome[r], offered[r] = out, off
    return BookingResult(outcome=outcome, offered=offered)


@dataclass(frozen=True, eq=False)
class QuietPassengers:
    """The travellers seated in the quiet car(s), one row each (read-only numpy columns).

    ``request`` the booking request; ``segment``; ``z`` trait; ``optin`` (False = overflow);
    ``infant`` this traveller holds the party's infant (the first member of such a party);
    ``origin``/``dest`` stops; ``car`` quiet car index; ``seat`` seat within the car;
    ``row`` = seat // 5.
    """
    request: np.ndarray
    segment: np.ndarray
    z: np.ndarray
    optin: np.ndarray
    infant: np.ndarray
    origin: np.ndarray
    dest: np.ndarray
    car: np.ndarray
    seat: np.ndarray
    row: np.ndarray

    @property
    def n(self) -> int:
        return len(self.request)

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            _frozen(getattr(self, name))


def seat_quiet_passengers(req: Requests, result: BookingResult, spec: TrainSpec,
                          rng: np.random.Generator) -> QuietPassengers:
    """Expand quiet-car parties into travellers and give each a seat free on its whole trip.

    Seats are handed out stop by stop (those alighting free theirs first, those boarding take
    a uniformly random free seat each), which never runs out because no leg is oversold.
    """
    quiet = np.flatnonzero((result.outcome == OPTIN) | (result.outcome == OVERFLOW))
    sizes = req.size[quiet].astype(np.int64)
    request = np.repeat(quiet, sizes)
    first = np.ones(len(request), dtype=bool)
    first[1:] = request[1:] != request[:-1]
    origin, dest = req.origin[request].astype(np.int64), req.dest[request].astype(np.int64)
    n = len(request)
    boarding: list[list[int]] = [[] for _ in range(spec.stops)]
    alighting: list[list[int]] = [[] for _ in range(spec.stops)]
    for i, (o, d) in enumerate(zip(origin.tolist(), dest.tolist())):
        boarding[o].append(i)
        alighting[d].append(i)
    draw = rng.random(n).tolist()
    seats = [-1] * n
    free = list(range(sum(spec.quiet_seats)))
    for k in range(spec.legs):
        free.extend(seats[i] for i in alighting[k])
        for i in boarding[k]:
            j = int(draw[i] * len(free))
            seats[i] = free[j]
            free[j] = free[-1]
            free.pop()
    seat = np.asarray(seats, dtype=np.int64)
    offsets = np.cumsum((0,) + spec.quiet_seats)
    car = np.searchsorted(offsets, seat, side="right") - 1
    local = seat - offsets[car]
    return QuietPassengers(
        request=request, segment=req.segment[request], z=req.z[request],
        optin=result.outcome[request] == OPTIN, infant=req.infant[request] & first,
        origin=origin, dest=dest, car=car, seat=local, row=local // SEATS_PER_ROW)
