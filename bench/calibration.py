"""Wall time of a calibration of 6 parameters against the shipped targets (the issue asks for
at most 15 minutes on 2 cores).

Run: python bench/calibration.py [--workers 2]
     python bench/calibration.py --overhead CAL [--trains 500] [--replications 4]
The first runs the calibration of calibration/targets.toml with the six parameters of
docs/calibration.md (in memory) and prints the wall time at the start of each wave and in
total, the trains simulated and their rate, and what the calibration found. The second times
replications of the expansion scenario on one core as --posterior CAL runs them (the draw
turned into a scenario inside the timing) against the same replications with the same values
set beforehand (alternately, the same seeds), and the loading of the posterior.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from sim.experiments import calibration as cal
from sim.experiments.factors import Factor
from sim.run.calibration_folder import load_posterior, posterior_scenario
from sim.run.runner import default_workers, run_replication, warm_up
from sim.run.targets import load_targets
from sim.scenario import load, resolve

ROOT = Path(__file__).resolve().parents[1]
#: The six parameters calibrated on the shipped targets, with their prior ranges
#: (docs/calibration.md gives the reasons).
PRIOR = (("behaviour.commitment", 0.03, 0.5), ("behaviour.contagion", 0.0, 1.5),
         ("behaviour.duration_mean.call", 1.5, 6.0), ("behaviour.duration_mean.media", 3.0, 20.0),
         ("behaviour.peer_optin_boost", 0.5, 4.0), ("staff.detect.call", 0.5, 1.0))
VARY = tuple(f"{k}={lo:g}:{hi:g}" for k, lo, hi in PRIOR)


def overhead(folder: Path, trains: int, replications: int) -> None:
    """Seconds per replication with a posterior draw (the scenario built from the draw inside the
    timing, as a --posterior run does) and without (the same values set beforehand: the same
    work), alternately; and the loading of the posterior."""
    t = time.perf_counter()
    post = load_posterior(folder)
    load_s = time.perf_counter() - t
    overrides = [f"network.trains={trains}"]
    plain, drawn = [], []
    for r in range(replications):
        fixed = load(resolve("expansion"), [*post.overrides(2026, r), *overrides])
        t = time.perf_counter()
        run_replication(fixed, 2026, r)
        plain.append(time.perf_counter() - t)
        t = time.perf_counter()
        run_replication(posterior_scenario("expansion", overrides, post, 2026, r), 2026, r)
        drawn.append(time.perf_counter() - t)
    print(f"expansion, {trains} trains, {replications} replications on one core, alternately, each at its "
          f"posterior draw:")
    print(f"  values set beforehand:        {sum(plain) / len(plain):.3f} s per replication "
          f"({', '.join(f'{x:.3f}' for x in plain)})")
    print(f"  drawn as --posterior does:    {sum(drawn) / len(drawn):.3f} s per replication "
          f"({', '.join(f'{x:.3f}' for x in drawn)})")
    t = time.perf_counter()
    for r in range(100):
        posterior_scenario("expansion", overrides, post, 2026, r)
    build = (time.perf_counter() - t) / 100
    print(f"  what --posterior adds per replication: drawing and building its scenario, {build * 1000:.1f} ms")
    print(f"  loading the posterior ({len(post.draws)} draws, digests checked): {load_s * 1000:.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=default_workers())
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--overhead", type=Path, default=None, metavar="CAL")
    ap.add_argument("--trains", type=int, default=500)
    ap.add_argument("--replications", type=int, default=4)
    args = ap.parse_args()
    warm_up()
    if args.overhead:
        overhead(args.overhead, args.trains, args.replications)
        return
    targets = load_targets(ROOT / "calibration" / "targets.toml")
    factors = [Factor(k, "float", low=lo, high=hi) for k, lo, hi in PRIOR]
    settings = cal.Settings()
    trains = [0]
    marks: list[tuple[str, float]] = []
    start = time.perf_counter()

    def on_trains(k: int) -> None:
        trains[0] += k

    def on_wave(text: str) -> None:
        marks.append((text, time.perf_counter() - start))

    store: dict[int, list] = {}
    result = cal.run_calibration(targets, factors, args.seed, settings, args.workers, None, {},
                                 store.__setitem__, on_trains=on_trains, on_wave=on_wave)
    total = time.perf_counter() - start
    print(f"calibration of {len(factors)} parameters on {len(targets.targets)} targets "
          f"({len(targets.groups())} scenarios, {targets.trains} trains x {targets.replications} replications "
          f"per point), {args.workers} workers")
    print(f"  waves: {result.waves[0]} + {result.waves[1]} points; {trains[0]:,} trains simulated")
    for text, t in marks:
        print(f"  {t:7.1f} s  {text}")
    print(f"  total {total:.1f} s ({total / 60:.1f} min); {trains[0] / total:,.0f} trains/s overall")
    post = result.diagnostics["posterior"]
    print(f"  posterior: effective sample size {post['effective_sample_size']:.0f} of {post['candidates']} "
          f"candidates, {post['distinct_draws']} distinct draws of {settings.posterior_size}")
    for k, v in result.diagnostics["constrained"].items():
        print(f"  {k:<32} median {v['median']:.3g}  90 % [{v['low90']:.3g}, {v['high90']:.3g}]  "
              f"{'constrained' if v['constrained'] else 'unconstrained'}")
    inside = sum(r["inside"] for r in result.predictive)
    print(f"  {inside} of {len(result.predictive)} targets inside their 90 % posterior predictive interval; "
          f"leave-one-out {sum(bool(r.get('inside')) for r in result.loo)} of {len(result.loo)}")


if __name__ == "__main__":
    main()
