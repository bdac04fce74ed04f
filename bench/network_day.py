"""One network day of scenarios/expansion.toml: wall time, throughput, memory.

Run: python bench/network_day.py [--trains N] [--scenario FILE]
Prints, for one replication:
- wall time on one core, split into booking (demand, serving, seating) and on board;
- wall time with 1 and 2 worker processes (the production path, metrics included), for a
  replication on processes started for it and for the next one on the same processes;
- booking requests per second and on-board events per second, in the compiled event loop of
  network runs and, on a sample of the same trains, in the SimPy journey it is checked against;
- the throughput of a bare SimPy loop (one process, env.timeout) and the ratios to it;
- peak resident memory of this process and of its workers.
"""
from __future__ import annotations

import argparse
import resource
import time

import simpy

from one_train import one  # bench/ is on the path when this script runs

from sim.model.params import TrainSpec
from sim.run.runner import local_pool, network_day, run_replication
from sim.scenario import load


def bare_simpy(n: int = 500_000) -> float:
    """Timeout events per second of one process in a fresh Environment."""
    env = simpy.Environment()

    def loop():
        for _ in range(n):
            yield env.timeout(1.0)

    env.process(loop())
    t = time.perf_counter()
    env.run()
    return n / (time.perf_counter() - t)


def split_one_core(sc, seed: int, reference: bool = False, trains: int | None = None) -> dict[str, float]:
    """Booking and on-board time of every train (or the first ``trains``), in this process, on
    board in the compiled loop or with ``reference`` in the SimPy journey (after one train that
    loads the Numba-compiled loops, which the production path below pays once per process)."""
    one(TrainSpec(), sc.params, seed + 1)
    rows = [one(spec, sc.params, seed, spec.train_id, reference) for spec in network_day(sc, seed, 0)[:trains]]
    book, board, requests, _, events = (sum(col) for col in zip(*rows))
    return {"booking_s": book, "onboard_s": board, "requests": requests, "events": events}


def max_rss_mb(_: int = 0) -> float:
    """Peak resident memory of the calling process (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def wall(sc, seed: int, workers: int) -> tuple[float, float, float]:
    """Wall time of one replication with ``workers`` processes started for it, of a second
    replication on the same processes (as every replication after the first of a run), and
    the workers' peak RSS (MB)."""
    t = time.perf_counter()
    with local_pool(workers) as mapper:
        run_replication(sc, seed, 0, mapper)
        cold = time.perf_counter() - t
        t = time.perf_counter()
        run_replication(sc, seed, 1, mapper)
        warm = time.perf_counter() - t
        rss = max(mapper(max_rss_mb, range(4 * workers))) if mapper else max_rss_mb()
    return cold, warm, rss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="scenarios/expansion.toml")
    ap.add_argument("--trains", type=int, default=None, help="override network.trains (default: the scenario's)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    sc = load(args.scenario, [f"network.trains={args.trains}"] if args.trains else [])
    n = sc.network.trains
    print(f"{args.scenario}: {n} trains, one replication, seed {args.seed}")
    s = split_one_core(sc, args.seed)
    total = s["booking_s"] + s["onboard_s"]
    print(f"one core, model only : {total:7.2f} s  (booking {s['booking_s']:.2f} s, on board {s['onboard_s']:.2f} s;"
          f" {1e3 * total / n:.2f} ms per train)")
    (w1, v1, _), (w2, v2, worker_rss) = wall(sc, args.seed, 1), wall(sc, args.seed, 2)
    print(f"run_replication      : {w1:7.2f} s with 1 worker, {w2:.2f} s with 2 workers started for it"
          f" (speed-up {w1 / w2:.2f}x)")
    print(f"  next replication   : {v1:7.2f} s with 1 worker, {v2:.2f} s with the same 2 workers"
          f" (speed-up {v1 / v2:.2f}x)")
    rate = s["events"] / s["onboard_s"]
    ref = split_one_core(sc, args.seed, reference=True, trains=min(n, 1000))
    ref_rate = ref["events"] / ref["onboard_s"]
    bare = bare_simpy()
    print(f"booking              : {s['requests'] / s['booking_s']:,.0f} requests/s ({s['requests']:,} requests)")
    print(f"on board             : {rate:,.0f} events/s in the compiled loop ({s['events']:,} events,"
          f" {1e3 * s['onboard_s'] / n:.2f} ms per train)")
    print(f"  SimPy journey      : {ref_rate:,.0f} events/s on the first {min(n, 1000)} trains"
          f" ({1e3 * ref['onboard_s'] / min(n, 1000):.2f} ms per train)")
    print(f"bare SimPy loop      : {bare:,.0f} events/s; compiled loop / bare = {rate / bare:.2f},"
          f" SimPy journey / bare = 1 : {bare / ref_rate:.1f}")
    print(f"peak RSS             : {max_rss_mb():,.0f} MB this process, {worker_rss:,.0f} MB largest worker")


if __name__ == "__main__":
    main()
