"""Before any work: what a run or an experiment will cost, and a refusal of what cannot fit.

Valid settings can ask for more than a machine has: ``staff.other_duty_mean=1e-6`` gives
every train billions of other duties (each an array entry before the journey starts), and a
sweep of three keys at 1,000 levels is a billion points, built in memory before anything
runs. :func:`estimate` works out, from the scenario(s) and the design alone, the events of
a typical train, the memory of the largest plausible train (what each worker holds at once)
and of the design, and the time; :func:`check` refuses what would not fit in this machine's
memory, naming the estimate and the key that causes it. The command line lets the user go
ahead explicitly (``--allow-large``).

The estimates are upper bounds of the right order, not predictions: counts of the arrays a
train draws before its journey (requests, violation candidates, other duties), at a generous
number of bytes each, for the longest train the network's lognormal running times make
plausible (the 99.9th percentile) in the largest formation.
"""
from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..scenario import Scenario

#: Bytes per drawn entry (several float and integer arrays, the event heap, the records).
BYTES_PER_REQUEST = 200
BYTES_PER_CANDIDATE = 120
BYTES_PER_DUTY = 80
#: What one point of an experiment holds while the experiment runs (its scenario, its rows).
BYTES_PER_POINT = 40_000
#: What a worker process holds before any train (interpreter, NumPy, Numba, the compiled core).
BYTES_PER_WORKER = 250_000_000
#: Measured: about 0.5 ms per train of the default expansion day, 107 events each (docs/performance.md).
SECONDS_PER_EVENT = 0.5e-3 / 107
#: Refuse when the estimate exceeds this share of the memory available now.
SHARE_OF_MEMORY = 0.8


class TooLarge(RuntimeError):
    """What was asked would not fit in this machine's memory (the message says why and how to go on)."""


@dataclass
class Estimate:
    """What a run or experiment will cost, and which key drives the largest term."""
    trains: int
    events_per_train: float
    largest_train_bytes: float
    workers: int
    points: int = 1
    terms: dict[str, float] = field(default_factory=dict)  # key -> bytes of the largest train it drives

    @property
    def events(self) -> float:
        return self.trains * self.events_per_train

    @property
    def memory(self) -> float:
        """Bytes held at once: every worker busy with the largest train, and the design's points."""
        return self.workers * (BYTES_PER_WORKER + self.largest_train_bytes) + self.points * BYTES_PER_POINT

    @property
    def seconds(self) -> float:
        return self.events * SECONDS_PER_EVENT / max(1, self.workers)

    def describe(self) -> str:
        return (f"{self.trains:,} trains, about {human_count(self.events)} events, "
                f"{human_bytes(self.memory)} of memory, {human_time(self.seconds)} on {self.workers} workers")


def _scaled(x: float, steps: tuple[tuple[str, float], ...], infinite: str, small: str) -> str:
    """``x`` in the largest unit of ``steps`` it reaches (one decimal), else formatted by ``small``."""
    if not math.isfinite(x):
        return infinite
    for unit, size in steps:
        if x >= size:
            return f"{x / size:,.1f} {unit}"
    return small.format(x)


def human_bytes(b: float) -> str:
    return _scaled(b, (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)), "unbounded memory", "{:,.0f} bytes")


def human_count(x: float) -> str:
    return _scaled(x, (("trillion", 1e12), ("billion", 1e9), ("million", 1e6), ("thousand", 1e3)),
                   "unboundedly many", "{:,.0f}")


def human_time(s: float) -> str:
    return _scaled(s, (("days", 86400), ("hours", 3600), ("minutes", 60)), "forever", "{:,.0f} s")


def available_memory() -> float:
    """Bytes of memory available now (MemAvailable), or the physical memory if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return math.inf


def _lognormal_quantile(mean: float, cv: float, z: float = 3.09) -> float:
    """The 99.9th percentile (z = 3.09) of a lognormal with this mean and coefficient of variation."""
    if cv <= 0:
        return mean
    s2 = math.log(1 + cv * cv)
    return mean * math.exp(-s2 / 2 + z * math.sqrt(s2))


def train_terms(sc: Scenario) -> tuple[float, dict[str, float]]:
    """(events of a mean train, {key: bytes of the largest plausible train it drives})."""
    net, p = sc.network, sc.params
    types = range(len(net.run_hours_mean))
    mean_h = sum(s * h for s, h in zip(net.type_share, net.run_hours_mean))
    long_h = max(_lognormal_quantile(net.run_hours_mean[t], net.run_hours_cv[t]) for t in types)
    stops = max(net.stops_per_hour)
    legs_long = 2 + stops * long_h
    seats = max(net.second_class_seats)
    quiet = max(q * s for q, s in zip(net.quiet_cars, net.quiet_car_seats))
    load = min(2 * net.load_factor_mean, net.load_factor_mean + 6 * net.load_factor_sd) or net.load_factor_mean
    requests = seats * load * legs_long
    rate = max(max(row) for row in p.behaviour.rate_per_h)
    lift = 1 + p.behaviour.contagion * p.behaviour.contagion_cap if p.switches.contagion else 1
    candidates = quiet * min(1.0, load) * rate * lift * long_h  # passenger-hours x the bounding rate
    crew = max(net.crew)
    st = p.staff
    duties = (st.other_duty_load * crew * long_h * 60 / st.other_duty_mean) if p.switches.other_duties else 0.0
    patrols = (st.patrol_staff * long_h * 60 / st.patrol_interval * 10) if p.switches.patrols else 0.0
    contagion_key = ("behaviour.contagion" if p.behaviour.contagion * p.behaviour.contagion_cap > 10
                     else "behaviour.rate_per_h")
    terms = {
        "network.load_factor_mean / network.stops_per_hour / network.second_class_seats": requests * BYTES_PER_REQUEST,
        contagion_key: candidates * BYTES_PER_CANDIDATE,
        "staff.other_duty_mean": duties * BYTES_PER_DUTY,
        "staff.patrol_interval": patrols * 16,
    }
    # events of a mean train: violation starts (about a third of the candidates survive thinning),
    # other duties and patrol steps, over the mean running time
    scale = mean_h / long_h if long_h > 0 else 1.0
    events = (candidates * 0.3 + duties + patrols) * scale + 50
    return events, terms


def estimate(scenarios: Sequence[Scenario], replications: int, workers: int, points: int = 1) -> Estimate:
    """The cost of running ``scenarios`` (one per point or per compared scenario) for
    ``replications`` replications each on ``workers`` workers."""
    events = 0.0
    trains = 0
    worst: dict[str, float] = {}
    for sc in scenarios:
        e, terms = train_terms(sc)
        events += e * sc.network.trains * replications
        trains += sc.network.trains * replications
        for k, v in terms.items():
            worst[k] = max(worst.get(k, 0.0), v)
    largest = sum(worst.values())
    est = Estimate(trains, events / max(1, trains), largest, workers, points, worst)
    return est


def design_points(counts: Sequence[int]) -> int:
    """Points of a full factorial with these numbers of levels (checked before it is built)."""
    return math.prod(counts)


def check_points(points: int, what: str, limit: float | None = None) -> None:
    """Refuse a design whose points alone would not fit in memory, before it is built."""
    limit = SHARE_OF_MEMORY * available_memory() if limit is None else limit
    need = points * BYTES_PER_POINT
    if need > limit:
        raise TooLarge(f"{what}: {points:,} points would need about {human_bytes(need)} before anything runs "
                       f"(this machine has {human_bytes(limit / SHARE_OF_MEMORY)} available); use fewer levels "
                       f"(KEY=LOW:HIGH:K with a smaller K, or --lhs K), or add --allow-large to try anyway")


def check(est: Estimate, limit: float | None = None) -> None:
    """Refuse an estimate that exceeds the memory available, naming the key that drives it."""
    limit = SHARE_OF_MEMORY * available_memory() if limit is None else limit
    if est.memory <= limit:
        return
    key, part = max(est.terms.items(), key=lambda kv: kv[1])
    if est.points * BYTES_PER_POINT > part:
        key, part = "the design's points", est.points * BYTES_PER_POINT
    raise TooLarge(f"this would need about {human_bytes(est.memory)} of memory ({est.describe()}), more than the "
                   f"{human_bytes(limit / SHARE_OF_MEMORY)} available; most of it from {key} "
                   f"(about {human_bytes(part)} for the largest train); change it, or add --allow-large to try anyway")
