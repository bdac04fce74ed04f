"""Shared builders: a car of travellers and parameters with every mechanism switched off."""
from __future__ import annotations

import numpy as np
import pytest

from sim.model.booking import QuietPassengers
from sim.model.onboard import run_onboard
from sim.model.onboard_loop import run_journey
from sim.model.params import KINDS, SEATS_PER_ROW, SEGMENTS, Params, TrainSpec
from sim.rng import train_streams

ALL_OFF = dict(contagion=False, damping=False, peers=False, patrols=False, complaints=False, other_duties=False,
               warned=False, control_car=False)


def isolated(call_per_h: float = 0.0, **sections) -> Params:
    """Everyone starts only calls, at the same rate; no trait, commitment or signage effect;
    every mechanism off. ``sections`` then replace fields, e.g. ``switches={'peers': True}``."""
    rates = tuple(tuple(call_per_h if k == "call" else 0.0 for k in KINDS) for _ in SEGMENTS)
    p = Params().replace(switches=ALL_OFF, behaviour=dict(
        rate_per_h=rates, trait_effect=0.0, commitment=1.0, signage=1.0))
    return p.replace(**sections) if sections else p


def full_car(n: int = 90, optin: bool = True, segment: int = 0) -> QuietPassengers:
    """n travellers in seats 0..n-1 of car 0, all riding from the first stop (0) to stop 1."""
    seat = np.arange(n)
    return QuietPassengers(
        request=seat.copy(), segment=np.full(n, segment, dtype=np.int8), z=np.zeros(n),
        optin=np.full(n, optin), signed=np.full(n, optin), infant=np.zeros(n, dtype=bool), origin=np.zeros(n, dtype=np.int64),
        dest=np.ones(n, dtype=np.int64), car=np.zeros(n, dtype=np.int64), seat=seat,
        row=seat // SEATS_PER_ROW)


def one_leg(run_min: float, seats: int = 90, crew: int = 50) -> TrainSpec:
    """A train with no intermediate stop: everyone on board for the whole run."""
    return TrainSpec(run_min=run_min, stops=2, ordinary_seats=0, quiet_seats=(seats,), crew=crew)


def journey(spec: TrainSpec, params: Params, pax: QuietPassengers, seed: int, trace=None):
    """The journey as network runs make it (the compiled loop), or in SimPy to trace it."""
    if trace is None:
        return run_journey(spec, params, pax, train_streams(seed, 0, 0))
    return run_onboard(spec, params, pax, train_streams(seed, 0, 0), trace)


def ratio_residuals(num: np.ndarray, den: np.ndarray) -> tuple[float, np.ndarray]:
    """A ratio of sums over independent units (trains) and each unit's linearised residual
    (num - r den) / mean(den): the residuals' sd / sqrt(n) is the ratio's standard error
    (delta method), and paired units' residuals subtract for a difference of ratios."""
    r = float(num.sum() / den.sum())
    return r, (num - r * den) / den.mean()


@pytest.fixture
def log() -> list:
    return []
