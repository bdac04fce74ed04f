"""Time per train of the core model: 8- and 16-car trains at 75 % and 110 % demand.

Run: python bench/one_train.py [--trains N]
Prints, per case, milliseconds per train split into booking (demand, serving, seating) and
on board (the compiled event loop of network runs), with requests, quiet-car travellers and
events per train, and the SimPy journey's on-board time for the same trains.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from sim.model.onboard import _Journey
from sim.model.onboard_loop import run_journey
from sim.model.params import Params, TrainSpec
from sim.model.train import book_train
from sim.rng import train_streams

CASES = {
    "8-car": dict(formation="8", run_min=100.0, stops=6, ordinary_seats=406, quiet_seats=(90,), crew=3),
    "16-car": dict(formation="16", run_min=270.0, stops=10, ordinary_seats=923, quiet_seats=(90,), crew=5),
}


def one(spec: TrainSpec, params: Params, seed: int, train: int = 0,
        reference: bool = False) -> tuple[float, float, int, int, int]:
    """Booking seconds, on-board seconds, requests, quiet-car travellers and on-board events of
    one train; on board in the compiled loop, or with ``reference`` in the SimPy journey."""
    t0 = time.perf_counter()
    rngs = train_streams(seed, 0, train)  # the train's seed hashing counts as booking
    req, _, pax = book_train(spec, params, rngs)
    t1 = time.perf_counter()
    if reference:
        journey = _Journey(spec, params, pax, rngs, None)
        journey.run()
        events = next(journey.env._eid)  # events scheduled in its Environment
    else:
        counts: dict = {}
        run_journey(spec, params, pax, rngs, counts=counts)
        events = counts["events"]  # events scheduled in its queue
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, req.n, pax.n, events


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trains", type=int, default=300, help="trains per case (default 300)")
    args = ap.parse_args()
    params = Params()
    one(TrainSpec(), params, 10**6)  # the first train loads (or compiles) the Numba-compiled loops
    print(f"{'case':<16}{'booking ms':>11}{'onboard ms':>11}{'total ms':>10}{'requests':>10}"
          f"{'quiet pax':>10}{'events':>8}{'SimPy onboard ms':>18}{'SimPy events':>14}")
    for name, kw in CASES.items():
        for load in (0.75, 1.10):
            spec = TrainSpec(load_factor=load, **kw)
            rows = np.array([one(spec, params, s) for s in range(args.trains)])
            ref = np.array([one(spec, params, s, reference=True) for s in range(args.trains)])
            b, o = rows[:, 0].mean() * 1e3, rows[:, 1].mean() * 1e3
            print(f"{name + f' @ {load:.0%}':<16}{b:>11.2f}{o:>11.2f}{b + o:>10.2f}{rows[:, 2].mean():>10.0f}"
                  f"{rows[:, 3].mean():>10.0f}{rows[:, 4].mean():>8.0f}{ref[:, 1].mean() * 1e3:>18.2f}"
                  f"{ref[:, 4].mean():>14.0f}")


if __name__ == "__main__":
    main()
