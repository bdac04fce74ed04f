"""A network day: the trains of one replication, drawn from its ``network`` stream.

Trains do not interact, so the day is just a list of TrainSpec; each train is then an
independent unit of work with streams of its own.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .params import P, PROB, TrainSpec

TYPES: tuple[str, ...] = ("G", "D")
FORMATIONS: tuple[str, ...] = ("8", "16", "17", "8+8")
CARS: tuple[int, ...] = (8, 16, 17, 16)  # cars in each formation: the most quiet cars it can have


def per_type(**kw) -> tuple:
    return tuple(kw[t] for t in TYPES)


def per_formation(*values) -> tuple:
    return tuple(values)


@dataclass(frozen=True)
class Network:
    """How a day of trains is drawn: counts, formations, durations, stops, demand, crew."""
    trains: int = P(1, unit="trains", range=(1, 100_000), doc="Trains in the day.",
                    source="[S] 92 (pilot, 2024); more than 8,000 (from 1 Feb 2026)")
    type_share: tuple[float, ...] = P(per_type(G=0.6, D=0.4), unit="share", range=PROB, keys=TYPES,
                                      sums_to_one=True, doc="Share of G and D trains.", source="[G] guess")
    formation_mix: tuple[tuple[float, ...], ...] = P(
        per_type(G=(0.35, 0.45, 0.15, 0.05), D=(0.65, 0.15, 0.05, 0.15)), unit="share", range=PROB,
        keys=TYPES, keys2=FORMATIONS, sums_to_one=True,
        doc="Formation mix per train type: 8-car, 16-car, 17-car, coupled 8+8.", source="[G] guess")
    run_hours_mean: tuple[float, ...] = P(per_type(G=2.8, D=1.8), unit="hours", range=(0.05, 48.0), keys=TYPES,
                                          doc="Mean running time from first to last stop (lognormal).",
                                          source="[A] set so that the mean trip of travellers is 1.5 h (331 km at "
                                                 "200-250 km/h: 1.3-1.7 h); closed form in docs/calibration.md")
    run_hours_cv: tuple[float, ...] = P(per_type(G=0.6, D=0.5), unit="coefficient of variation", range=(0.0, 5.0),
                                        keys=TYPES, doc="Spread of the running time (0 = every train the mean).",
                                        source="[G] guess")
    stops_per_hour: tuple[float, ...] = P(per_type(G=1.5, D=2.5), unit="intermediate stops per hour",
                                          range=(0.0, 60.0), keys=TYPES,
                                          doc="Intermediate stops ~ 1 + Poisson(stops_per_hour x hours).",
                                          source="[G] typically 4-15 intermediate stops")
    load_factor_mean: float = P(0.75, unit="demand / seats", range=(0.0, 5.0),
                                doc="Mean second-class demand per seat (seat-km demanded / seat-km offered).",
                                source="[S] Fuxing average 74.9 %")
    load_factor_sd: float = P(0.15, unit="demand / seats", range=(0.0, 2.0),
                              doc="Spread of the load factor over trains (scaled Beta on [0, 2 x mean]; 0 = all equal).",
                              source="[G] guess")
    second_class_seats: tuple[int, ...] = P(per_formation(538, 1023, 1113, 1076), unit="seats",
                                            range=(1, 5000), keys=FORMATIONS,
                                            doc="Second-class seats per formation, quiet seats included.",
                                            source="[A] from 576 / 1193 / 1283 seats per Fuxing set, about 87 % second class")
    quiet_cars: tuple[int, ...] = P(per_formation(1, 1, 2, 2), unit="cars", range=(0, max(CARS)), keys=FORMATIONS,
                                    doc="Quiet cars per formation: 0 (no quiet car, the baseline) up to every car "
                                        "of the formation (8, 16, 17, 16: a whole-train quiet rule).",
                                    source="[S] 1 per 8- or 16-car set, 2 per 17-car set or coupled pair")
    quiet_car_seats: tuple[int, ...] = P(per_formation(80, 80, 80, 80), unit="seats", range=(5, 200),
                                         keys=FORMATIONS, doc="Seats per quiet car.",
                                         source="[S] 90 in the pilot car 3; [G] end cars 75-90")
    crew: tuple[int, ...] = P(per_formation(3, 5, 5, 6), unit="crew members", range=(1, 50), keys=FORMATIONS,
                              doc="Train crew per formation (shared by patrols, complaints and other duties).",
                              source="[G] 8-car: manager + 2; 16-car: manager + 4")


def draw_day(net: Network, rng: np.random.Generator) -> tuple[TrainSpec, ...]:
    """The trains of one network day, vectorised over trains; train ids 0..trains-1."""
    n = net.trains
    kind = rng.choice(len(TYPES), size=n, p=np.asarray(net.type_share) / sum(net.type_share))
    mix = np.cumsum(np.asarray(net.formation_mix, dtype=float), axis=1)
    mix /= mix[:, -1:]
    formation = np.minimum((rng.random(n)[:, None] >= mix[kind, :-1]).sum(axis=1), len(FORMATIONS) - 1)
    mean, cv = np.asarray(net.run_hours_mean)[kind], np.asarray(net.run_hours_cv)[kind]
    sigma2 = np.log1p(cv**2)
    hours = mean * np.exp(np.sqrt(sigma2) * rng.standard_normal(n) - sigma2 / 2.0)
    stops = 3 + rng.poisson(np.asarray(net.stops_per_hour)[kind] * hours)
    load = _load_factors(net.load_factor_mean, net.load_factor_sd, rng, n)
    seats, cars = np.asarray(net.second_class_seats), np.asarray(net.quiet_cars)
    qseats, crew = np.asarray(net.quiet_car_seats), np.asarray(net.crew)
    return tuple(
        TrainSpec(train_id=i, kind=TYPES[k], formation=FORMATIONS[f], run_min=float(h * 60.0), stops=int(s),
                  ordinary_seats=int(seats[f] - cars[f] * qseats[f]), quiet_seats=(int(qseats[f]),) * int(cars[f]),
                  crew=int(crew[f]), load_factor=float(lf))
        for i, (k, f, h, s, lf) in enumerate(zip(kind.tolist(), formation.tolist(), hours.tolist(),
                                                  stops.tolist(), load.tolist())))


def _load_factors(mean: float, sd: float, rng: np.random.Generator, n: int) -> np.ndarray:
    """Load factors from a Beta scaled to [0, 2 x mean]: mean ``mean``, sd ``sd`` (capped so
    the Beta stays unimodal-or-U-shaped but valid)."""
    if sd <= 0.0 or mean <= 0.0:
        return np.full(n, mean)
    top = 2.0 * mean
    m, v = 0.5, min((sd / top) ** 2, 0.25 * 0.999)
    k = m * (1 - m) / v - 1.0
    return top * rng.beta(m * k, (1 - m) * k, size=n)
