"""One train from the first booking request to arrival: demand, booking, seats, journey."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .booking import BookingResult, QuietPassengers, intentions, seat_quiet_passengers, serve
from .onboard import OnboardResult, run_onboard
from .onboard_loop import run_journey
from .params import Params, TrainSpec
from .population import Requests, draw_requests


@dataclass(frozen=True, eq=False)
class TrainResult:
    """The records of one train: its requests, their outcomes, the quiet-car travellers and
    the journey. Read-only; metrics are computed from it, never from live model objects."""
    spec: TrainSpec
    params: Params
    requests: Requests
    booking: BookingResult
    passengers: QuietPassengers
    onboard: OnboardResult


def simulate_train(spec: TrainSpec, params: Params, rngs: dict[str, np.random.Generator],
                   trace: list | None = None) -> TrainResult:
    """Simulate one train with the generators of its named streams (see ``sim.rng``).

    ``demand`` draws the requests (the same whatever the policy), ``booking`` seats the quiet
    car, ``behaviour``, ``staff`` and ``control`` drive the journey. The journey runs in the
    compiled event loop (`onboard_loop`), or, to record a ``trace`` of its events, in SimPy
    (`onboard`): the same records either way.
    """
    req, booked, pax = book_train(spec, params, rngs)
    onboard = run_journey(spec, params, pax, rngs) if trace is None else run_onboard(spec, params, pax, rngs, trace)
    return TrainResult(spec=spec, params=params, requests=req, booking=booked, passengers=pax,
                       onboard=onboard)


def book_train(spec: TrainSpec, params: Params, rngs) -> tuple[Requests, BookingResult, QuietPassengers]:
    """The booking phase of one train: its requests (``demand`` stream), their outcomes, and
    the quiet-car travellers in their seats (``booking`` stream)."""
    req = draw_requests(spec, params.population, params.booking, rngs["demand"])
    booked = serve(req, spec, intentions(req, params.population, params.booking))
    return req, booked, seat_quiet_passengers(req, booked, spec, rngs["booking"])
