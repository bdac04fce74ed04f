"""Booking: serve one train's requests in order against per-leg seat inventory.

Two pools, quiet (Q) and ordinary second class (O), each with a free-seat count per leg.
A request fits a pool if every leg of its trip has room for the whole party. The policy
(`decide`) is a pure function of what fits and of the request's pre-drawn intentions;
overflow rules are plain functions chosen by name (`OVERFLOW_RULES`).

`serve` is the plain loop over requests in booking order, compiled with Numba (a train's
few hundred requests take microseconds); `serve_reference` is the same rules in plain
Python on top of `decide`, kept to check it request by request.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit

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
    seated in a quiet seat when no ordinary seat fits; ``signs_at_overflow``: would be seated
    there having accepted the agreement (``with_agreement``), so a signer though not opted in;
    ``excluded``: may never sit there.
    """
    accepts: np.ndarray
    may_overflow: np.ndarray
    signs_at_overflow: np.ndarray
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
    agreement = booking.overflow == "with_agreement"
    if agreement:
        may &= ~heeds
    return Intentions(accepts=(req.u_accept < p) & ~heeds & ~excluded, may_overflow=may,
                      signs_at_overflow=may if agreement else np.zeros(req.n, dtype=bool), excluded=excluded)


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
    """Per request: ``outcome`` (index into OUTCOMES), ``offered`` (a quiet seat was free) and
    ``signed`` (seated in the quiet car having accepted the agreement: every opt-in, and an
    overflow party that accepted it under ``with_agreement``)."""
    outcome: np.ndarray
    offered: np.ndarray
    signed: np.ndarray

    def __post_init__(self) -> None:
        _frozen(self.outcome)
        _frozen(self.offered)
        _frozen(self.signed)

    def counts(self) -> dict[str, int]:
        return {name: int(np.count_nonzero(self.outcome == k)) for k, name in enumerate(OUTCOMES)}


def serve(req: Requests, spec: TrainSpec, intent: Intentions) -> BookingResult:
    """Serve requests one by one, in booking order, against the free seats per leg."""
    outcome, offered = _serve(req.origin, req.dest, req.size, intent.accepts, intent.may_overflow,
                              intent.excluded, spec.legs, sum(spec.quiet_seats), spec.ordinary_seats)
    return _result(outcome, offered, intent)


def _result(outcome: np.ndarray, offered: np.ndarray, intent: Intentions) -> BookingResult:
    """The outcomes, and who signed: opt-ins, and overflow parties that accepted the agreement."""
    signed = (outcome == OPTIN) | ((outcome == OVERFLOW) & intent.signs_at_overflow)
    return BookingResult(outcome=outcome, offered=offered, signed=signed)


@njit(cache=True, nogil=True)
def _serve(origin, dest, size, accepts, may_overflow, excluded, legs, quiet_seats, ordinary_seats):
    """The loop of `serve`, compiled: the policy of `decide`, written out for one request."""
    n = len(size)
    free_q, free_o = np.empty(legs, dtype=np.int64), np.empty(legs, dtype=np.int64)
    for k in range(legs):  # np.full, in a loop (which compiles faster)
        free_q[k], free_o[k] = quiet_seats, ordinary_seats
    outcome = np.empty(n, dtype=np.int8)
    offered = np.empty(n, dtype=np.bool_)
    for r in range(n):
        o, d, s = origin[r], dest[r], size[r]
        fits_q = fits_o = True
        for k in range(o, d):
            fits_q = fits_q and free_q[k] >= s
            fits_o = fits_o and free_o[k] >= s
        offered[r] = fits_q and not excluded[r]
        if offered[r] and accepts[r]:
            outcome[r] = OPTIN
        elif fits_o:
            outcome[r] = ORDINARY
        elif fits_q and may_overflow[r]:
            outcome[r] = OVERFLOW
        else:
            outcome[r] = REFUSED
        if outcome[r] == ORDINARY:  # loops, not free_o[o:d] -= s: the slice's checks compile for seconds
            for k in range(o, d):
                free_o[k] -= s
        elif outcome[r] != REFUSED:
            for k in range(o, d):
                free_q[k] -= s
    return outcome, offered


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
    return _result(outcome, offered, intent)


@dataclass(frozen=True, eq=False)
class QuietPassengers:
    """The travellers seated in the quiet car(s), one row each (read-only numpy columns).

    ``request`` the booking request; ``segment``; ``z`` trait; ``optin`` chose the quiet car
    (False = overflow); ``signed`` accepted the agreement (every opt-in, and overflow travellers
    who accepted it under ``with_agreement``): rates x commitment and the signer's reminder boost;
    ``infant`` this traveller holds the party's infant (the first member of such a party);
    ``origin``/``dest`` stops; ``car`` quiet car index; ``seat`` seat within the car;
    ``row`` = seat // 5.
    """
    request: np.ndarray
    segment: np.ndarray
    z: np.ndarray
    optin: np.ndarray
    signed: np.ndarray
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
    request = _quiet_travellers(result.outcome, req.size)
    seat = _hand_out_seats(req.origin[request].astype(np.int64), req.dest[request].astype(np.int64),
                           rng.random(len(request)), sum(spec.quiet_seats))
    return QuietPassengers(request, *_traveller_columns(
        request, seat, np.asarray(spec.quiet_seats, dtype=np.int64), result.outcome, result.signed, req.segment,
        req.z, req.infant, req.origin, req.dest))


@njit(cache=True)
def _quiet_travellers(outcome, size):
    """The request of each quiet-car traveller (opted in or overflow), party by party."""
    n = 0
    for r in range(len(outcome)):
        if outcome[r] == OPTIN or outcome[r] == OVERFLOW:
            n += size[r]
    request, x = np.empty(n, np.int64), 0
    for r in range(len(outcome)):
        if outcome[r] == OPTIN or outcome[r] == OVERFLOW:
            for _ in range(size[r]):
                request[x] = r
                x += 1
    return request


@njit(cache=True)
def _traveller_columns(request, seat, quiet_seats, outcome, signed, segment, z, infant, origin, dest):
    """Per traveller: segment, trait, opted in, signed, holds the party's infant (its first
    member), origin, destination, car, seat within the car and row, from the train-wide seat."""
    n = len(request)
    seg, zz, optin, inf = np.empty(n, segment.dtype), np.empty(n), np.empty(n, np.bool_), np.empty(n, np.bool_)
    sig = np.empty(n, np.bool_)
    o, d, car, local = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
    row = np.empty(n, np.int64)
    for x in range(n):
        r = request[x]
        seg[x], zz[x], optin[x], sig[x] = segment[r], z[r], outcome[r] == OPTIN, signed[r]
        inf[x] = infant[r] and (x == 0 or request[x - 1] != r)
        o[x], d[x] = origin[r], dest[r]
        c, first = 0, seat[x]
        while first >= quiet_seats[c]:
            first -= quiet_seats[c]
            c += 1
        car[x], local[x], row[x] = c, first, first // SEATS_PER_ROW
    return seg, zz, optin, sig, inf, o, d, car, local, row


@njit(cache=True, nogil=True)
def _hand_out_seats(origin, dest, draw, seats):
    """Seat per traveller: at each stop, in traveller order, those alighting free their seats
    (appended to the free list), then each boarder takes free[int(draw x free count)], whose
    place the last free seat fills."""
    n = len(origin)
    boarding = _stable_order(origin)  # traveller order within a stop
    alighting = _stable_order(dest)
    free = np.empty(seats + n, dtype=np.int64)
    for k in range(seats):
        free[k] = k
    m = seats
    seat = np.empty(n, dtype=np.int64)
    stops = 0
    for i in range(n):
        seat[i] = -1
        stops = max(stops, origin[i] + 1)
    b = a = 0
    for k in range(stops):
        while a < n and dest[alighting[a]] == k:
            free[m] = seat[alighting[a]]
            m += 1
            a += 1
        while b < n and origin[boarding[b]] == k:
            i = boarding[b]
            j = int(draw[i] * m)
            seat[i] = free[j]
            free[j] = free[m - 1]
            m -= 1
            b += 1
    return seat


@njit(cache=True, nogil=True)
def _stable_order(stop):
    """np.argsort(stop, kind="stable") for stops (integers from 0): a counting sort, which
    compiles in a fraction of the time of numpy's sort."""
    n = len(stop)
    top = 0
    for i in range(n):
        top = max(top, stop[i] + 1)
    first = np.zeros(top + 1, dtype=np.int64)  # where each stop's travellers begin in the order
    for i in range(n):
        first[stop[i] + 1] += 1
    for k in range(top):
        first[k + 1] += first[k]
    order = np.empty(n, dtype=np.int64)
    for i in range(n):
        order[first[stop[i]]] = i
        first[stop[i]] += 1
    return order
