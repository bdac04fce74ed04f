"""One train from the first booking request to arrival: demand, booking, seats, journey."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .booking import BookingResult, QuietPassengers, intentions, seat_quiet_passengers, serve
from .onboard import OnboardResult, run_onboard
from .onboard_loop import run_journey
from .params import ENGINES, Params, TrainSpec
from .population import Requests, draw_requests


#: The engines that run a journey: the compiled event loop (`onboard_loop`, the default, fast)
#: and the SimPy statement of the model (`onboard`, readable, to prototype a mechanism). Both
#: give the very same records (tests/test_onboard_loop.py), so results do not depend on it.


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
                   trace: list | None = None, engine: str = "compiled") -> TrainResult:
    """Simulate one train with the generators of its named streams (see ``sim.rng``).

    ``demand`` draws the requests (the same whatever the policy), ``booking`` seats the quiet
    car, ``behaviour``, ``staff`` and ``control`` drive the journey. The journey runs in the
    ``engine`` named (one of ENGINES): the same records, and if ``trace`` is a list the same
    events appended to it (`onboard.Event`), either way.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    req, booked, pax = book_train(spec, params, rngs)
    journey = run_journey if engine == "compiled" else run_onboard
    onboard = journey(spec, params, pax, rngs, trace=trace)
    return TrainResult(spec=spec, params=params, requests=req, booking=booked, passengers=pax,
                       onboard=onboard)


def book_train(spec: TrainSpec, params: Params, rngs) -> tuple[Requests, BookingResult, QuietPassengers]:
    """The booking phase of one train: its requests (``demand`` stream), their outcomes, and
    the quiet-car travellers in their seats (``booking`` stream)."""
    req = draw_requests(spec, params.population, params.booking, rngs["demand"])
    booked = serve(req, spec, intentions(req, params.population, params.booking))
    return req, booked, seat_quiet_passengers(req, booked, spec, rngs["booking"])
