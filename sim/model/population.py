"""Demand for one train: the booking requests, drawn from the ``demand`` stream only.

Every random number a booking decision will need (the party's trait, its acceptance,
heed and agreement uniforms) is drawn here, in a fixed order that depends on nothing but
the train and the population. So two booking policies on the same seed serve exactly the
same requests (common random numbers).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numba import njit

from .params import FAMILY, Booking, Population, TrainSpec


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False)
class Requests:
    """Booking requests of one train, one row per request, in booking order (earliest first).

    Columns (numpy arrays, read-only, all of length ``n``):
    ``lead_days`` days before departure; ``segment`` index into SEGMENTS; ``size`` travellers;
    ``infant`` the party travels with an infant; ``origin``/``dest`` stop indices (dest > origin);
    ``z`` the party's quietness trait (sd units, higher = quieter); ``u_accept``, ``u_heed``,
    ``u_agree`` uniforms for the opt-in, family-advice and overflow-agreement decisions.
    """
    lead_days: np.ndarray
    segment: np.ndarray
    size: np.ndarray
    infant: np.ndarray
    origin: np.ndarray
    dest: np.ndarray
    z: np.ndarray
    u_accept: np.ndarray
    u_heed: np.ndarray
    u_agree: np.ndarray

    @property
    def n(self) -> int:
        return len(self.size)

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            _frozen(getattr(self, name))


def mean_trip_legs(legs: int, booking: Booking) -> float:
    """Expected legs ridden by one request on a route of ``legs`` legs."""
    ts, f = booking.terminal_share, booking.trip_fraction
    return ts * legs + (1.0 - ts) * (1.0 + (legs - 1) * f)


@functools.lru_cache(maxsize=64)  # sweeps make many Populations
def mean_party_size(pop: Population) -> float:
    """Expected travellers per request."""
    sizes = np.arange(1, len(pop.party_size[0]) + 1)
    return float(sum(s * np.dot(p, sizes) for s, p in zip(pop.share, pop.party_size)))


def expected_requests(spec: TrainSpec, pop: Population, booking: Booking) -> float:
    """Mean of the Poisson request count: load_factor x seat-legs / (legs per trip x party size)."""
    return (spec.load_factor * spec.seats * spec.legs
            / (mean_trip_legs(spec.legs, booking) * mean_party_size(pop)))


@functools.lru_cache(maxsize=64)  # sweeps make many Populations
def _tables(pop: Population) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative segment shares, and per segment the cumulative party-size probabilities
    below the largest size (one row per size threshold)."""
    share = np.cumsum(pop.share)
    cum = np.cumsum(np.asarray(pop.party_size, dtype=float), axis=1)
    cum /= cum[:, -1:]
    return share / share[-1], np.ascontiguousarray(cum[:, :-1].T)


def draw_requests(spec: TrainSpec, pop: Population, booking: Booking, rng: np.random.Generator) -> Requests:
    """Draw one train's booking requests from its ``demand`` stream.

    A request's lead time is independent of everything else about it, so the lead times are
    drawn and sorted first and the other columns drawn straight into booking order."""
    n = int(rng.poisson(expected_requests(spec, pop, booking)))
    legs = spec.legs
    u = rng.random((10, n))
    w, m = booking.window_days, booking.lead_days_mean
    lead = np.where(u[0] < booking.lead_uniform_share, u[1] * w, -m * np.log1p(-u[1] * -np.expm1(-w / m)))
    lead[::-1].sort()
    share, size_cum = _tables(pop)
    segment, size, infant, origin, dest = _columns(
        u, share, size_cum, pop.infant_prob, booking.terminal_share, legs,
        rng.binomial(legs - 1, booking.trip_fraction, size=n))
    return Requests(
        lead_days=lead, segment=segment, size=size, infant=infant, origin=origin, dest=dest,
        z=rng.standard_normal(n), u_accept=u[7], u_heed=u[8], u_agree=u[9])


@njit(cache=True)
def _columns(u, share, size_cum, infant_prob, terminal_share, legs, more_legs):
    """Segment, party size, infant, origin and destination of each request from its uniforms
    (rows 2 to 6 of ``u``) and its binomial draw of legs beyond the first: the segment is the
    first cumulative share above u[2], the size one plus the thresholds u[3] passes, and the
    trip all ``legs`` (with probability terminal_share) or 1 + more_legs, placed by u[6]."""
    n = u.shape[1]
    segment, size = np.empty(n, np.int8), np.empty(n, np.int8)
    infant = np.empty(n, np.bool_)
    origin, dest = np.empty(n, np.int16), np.empty(n, np.int16)
    for x in range(n):
        seg = 0  # np.searchsorted(share, u[2, x], side="right"), at most the last (compiles faster)
        while seg < len(share) - 1 and share[seg] <= u[2, x]:
            seg += 1
        k = 1
        for cum in size_cum:
            if u[3, x] >= cum[seg]:
                k += 1
        trip = legs if u[5, x] < terminal_share else 1 + more_legs[x]
        o = int(u[6, x] * (legs - trip + 1))
        segment[x], size[x], infant[x] = seg, k, seg == FAMILY and u[4, x] < infant_prob
        origin[x], dest[x] = o, o + trip
    return segment, size, infant, origin, dest
