"""The model's parameters: frozen dataclasses with units, defaults and allowed ranges.

Every field carries metadata (``unit``, ``range``, ``doc``, ``source``) that the scenario
loader uses to validate input and that ``docs/scenarios.md`` is written from. Per-segment
and per-kind values are tuples aligned with :data:`SEGMENTS` and :data:`KINDS`.
Times are minutes unless a name says otherwise; rates are per passenger-hour (``_per_h``).
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

SEGMENTS: tuple[str, ...] = ("business", "leisure", "family", "student", "elderly")
KINDS: tuple[str, ...] = ("call", "talk", "media", "child")
OVERFLOW_POLICIES: tuple[str, ...] = ("never", "when_sold_out", "release_hours_before", "with_agreement")
FAMILY_ADVICE: tuple[str, ...] = ("none", "advise", "exclude")
#: The engines that run a journey: the Numba event loop (default) and the SimPy statement (sim.model.train).
ENGINES: tuple[str, ...] = ("compiled", "simpy")

FAMILY = SEGMENTS.index("family")
CHILD = KINDS.index("child")
SEATS_PER_ROW = 5  # 3 + 2 across the aisle


def P(default: Any, *, unit: str = "", range: tuple | None = None, doc: str = "",
      source: str = "[A] assumption", keys: tuple[str, ...] | None = None,
      keys2: tuple[str, ...] | None = None, choices: tuple[str, ...] | None = None,
      sums_to_one: bool = False):
    """A parameter field: default plus the metadata the loader validates against."""
    meta = dict(unit=unit, range=range, doc=doc, source=source, keys=keys, keys2=keys2,
                choices=choices, sums_to_one=sums_to_one)
    return field(default=default, metadata=meta)


def per_segment(**kw: float) -> tuple[float, ...]:
    return tuple(float(kw[s]) for s in SEGMENTS)


def per_kind(**kw: float) -> tuple[float, ...]:
    return tuple(float(kw[k]) for k in KINDS)


PROB = (0.0, 1.0)
NONNEG = (0.0, None)
POS = (1e-9, None)


@dataclass(frozen=True)
class Population:
    """Who books: segments, party sizes, the quietness trait and the opt-in choice."""
    share: tuple[float, ...] = P(
        per_segment(business=0.25, leisure=0.40, family=0.10, student=0.12, elderly=0.13),
        unit="share", range=PROB, keys=SEGMENTS, sums_to_one=True,
        doc="Share of booking requests by segment.", source="[G] guess; no published split")
    party_size: tuple[tuple[float, ...], ...] = P(
        ((0.80, 0.15, 0.05, 0.0), (0.50, 0.35, 0.10, 0.05), (0.0, 0.30, 0.50, 0.20),
         (0.70, 0.25, 0.05, 0.0), (0.50, 0.45, 0.05, 0.0)),
        unit="probability of 1, 2, 3, 4 travellers", range=PROB, keys=SEGMENTS, sums_to_one=True,
        doc="Party size distribution per segment (a list of probabilities for sizes 1..4).",
        source="[G] guess")
    infant_prob: float = P(0.5, unit="probability", range=PROB,
                           doc="Probability that a family party travels with an infant or toddler.",
                           source="[G] guess")
    optin_logit: tuple[float, ...] = P(
        per_segment(business=-1.2, leisure=-2.2, family=-3.0, student=-2.2, elderly=-1.8),
        unit="log-odds", range=(-20.0, 20.0), keys=SEGMENTS,
        doc="Log-odds of accepting the agreement when offered, at trait z = 0.",
        source="[G] guess; pilot cars 'basically full' on day one")
    optin_trait_slope: float = P(1.0, unit="log-odds per sd of trait", range=(0.0, 10.0),
                                 doc="Self-selection: how much quieter people (higher z) are likelier to opt in.",
                                 source="[G] guess")


@dataclass(frozen=True)
class Booking:
    """The sales window and the quiet-seat policy."""
    window_days: float = P(15.0, unit="days", range=(0.01, 60.0),
                           doc="Length of the sales window before departure.",
                           source="[S] 12306 sells 15 days ahead")
    lead_days_mean: float = P(3.0, unit="days", range=POS,
                              doc="Mean of the exponential part of the booking lead time (intensity rises towards departure).",
                              source="[G] guess")
    lead_uniform_share: float = P(0.3, unit="share", range=PROB,
                                  doc="Share of requests whose lead time is uniform over the window.",
                                  source="[G] guess")
    terminal_share: float = P(0.2, unit="share", range=PROB,
                              doc="Share of requests travelling the whole route, first to last stop.",
                              source="[G] guess")
    trip_fraction: float = P(0.4, unit="share", range=PROB,
                             doc="Other trips ride 1 + Binomial(legs - 1, trip_fraction) legs from a uniform origin.",
                             source="[G] guess; tuned so the mean trip is about half the route")
    overflow: str = P("when_sold_out", choices=OVERFLOW_POLICIES,
                      doc="Who may be seated in unsold quiet seats: never (opt-in only), when_sold_out "
                          "(China 2026: when no ordinary seat fits), release_hours_before (everyone from "
                          "release_hours before departure), with_agreement (overflow passengers must accept "
                          "the agreement).", source="[S] CNR 13 Feb 2026 (when_sold_out)")
    release_hours: float = P(2.0, unit="hours", range=NONNEG,
                             doc="With overflow = release_hours_before: hours before departure when quiet seats open to all.")
    family_advice: str = P("advise", choices=FAMILY_ADVICE,
                           doc="Families with an infant: none (treated like everyone), advise (told 'not recommended'; "
                               "heed with family_heed), exclude (never seated in the quiet car).",
                           source="[S] 12306 guide: 'advised not to'")
    family_heed: float = P(0.5, unit="probability", range=PROB,
                           doc="With family_advice = advise: probability that a family with an infant heeds the advice.",
                           source="[G] guess")


@dataclass(frozen=True)
class Behaviour:
    """Violations on board: rates, durations, contagion, who is disturbed, peers and complaints."""
    rate_per_h: tuple[tuple[float, ...], ...] = P(
        (per_kind(call=0.80, talk=0.15, media=0.10, child=0.0),
         per_kind(call=0.50, talk=0.35, media=0.20, child=0.0),
         per_kind(call=0.40, talk=0.40, media=0.30, child=0.8),
         per_kind(call=0.30, talk=0.30, media=0.40, child=0.0),
         per_kind(call=0.50, talk=0.30, media=0.20, child=0.0)),
        unit="starts per passenger-hour", range=(0.0, 100.0), keys=SEGMENTS, keys2=KINDS,
        doc="Base start rate by segment and kind, for a passenger without the agreement at trait z = 0 "
            "(child: only parties with an infant).",
        source="[A]/[G] from 2-3 callers per 90-seat ordinary car; mix from Taiwan HSR 2025")
    trait_effect: float = P(0.5, unit="per sd of trait", range=(0.0, 10.0),
                            doc="Rates are multiplied by exp(-trait_effect * z).", source="[G] guess")
    commitment: float = P(0.12, unit="multiplier", range=PROB,
                          doc="Rate multiplier for passengers who accepted the agreement (opt-ins, and overflow "
                              "travellers who accepted it under overflow = with_agreement).",
                          source="[G] guess; unconstrained by the shipped targets (calibrated over [0.03, 0.5]: "
                                 "90 % posterior [0.05, 0.47], as wide as the prior)")
    signage: float = P(0.6, unit="multiplier", range=PROB,
                       doc="Rate multiplier for overflow passengers in the quiet car who did not accept the agreement "
                           "(signs, seat card).",
                       source="[G] guess")
    warned_factor: float = P(0.3, unit="multiplier", range=PROB,
                             doc="Rate multiplier once a passenger has been reminded on this trip.", source="[G] guess")
    duration_mean: tuple[float, ...] = P(per_kind(call=4.57, talk=6.0, media=7.23, child=5.0),
                                         unit="minutes", range=POS, keys=KINDS,
                                         doc="Mean natural length of a violation (lognormal).",
                                         source="call, media [C] posterior medians on the shipped targets (informed "
                                                "by warned-calls, warned-media; 90 %: call [3.1, 5.8] of prior "
                                                "[1.5, 6], media [3.9, 14.7] of [3, 20]); talk, child [G] guess")
    duration_cv: tuple[float, ...] = P(per_kind(call=1.0, talk=1.0, media=1.0, child=1.2),
                                       unit="coefficient of variation", range=(0.0, 10.0), keys=KINDS,
                                       doc="Coefficient of variation of the natural length (0 = fixed length).",
                                       source="[G] guess")
    contagion: float = P(0.275, unit="rate lift per running violation", range=(0.0, 10.0),
                         doc="While V others violate, rates are multiplied by 1 + contagion * min(V, contagion_cap).",
                         source="[C] posterior median on the shipped targets (informed by contagion-lift: Keizer 2008 "
                                "upper bound, Volker 2017 smaller; 90 % [0.056, 0.54] of prior [0, 1.5])")
    contagion_cap: int = P(3, unit="violations", range=(0, 100),
                           doc="Cap on V in the contagion multiplier (bounds the rate, keeps thinning exact).")
    enforcement_damping: float = P(0.5, unit="share", range=PROB,
                                   doc="Rates are multiplied by (1 - enforcement_damping) after a staff intervention in the car.",
                                   source="[G] guess")
    damping_min: float = P(20.0, unit="minutes", range=NONNEG,
                           doc="How long the damping after a staff intervention lasts.", source="[G] guess")
    reach_rows: tuple[float, ...] = P(per_kind(call=2, talk=1, media=1, child=9), unit="rows", range=(0, 100),
                                      keys=KINDS,
                                      doc="A violation disturbs everyone seated within this many rows (5 seats a row).",
                                      source="[G] guess; child about half a 90-seat car")
    peer_remind: tuple[float, ...] = P(
        per_segment(business=0.015, leisure=0.015, family=0.01, student=0.01, elderly=0.025),
        unit="probability", range=PROB, keys=SEGMENTS,
        doc="Probability that a disturbed passenger of this segment decides to remind the violator.",
        source="[S] Berger & Hevenstone 2016: a minority sanctions; value [G]")
    peer_optin_boost: float = P(1.5, unit="multiplier", range=(0.0, 100.0),
                                doc="peer_remind is multiplied by this (capped at 1) for passengers who accepted the agreement "
                                    "(opt-ins, and overflow travellers under with_agreement).",
                                source="[C] posterior median on the shipped targets (informed by sanctioned-share; "
                                       "90 % [1.4, 3.6] of prior [0.5, 4])")
    peer_delay_mean: float = P(2.0, unit="minutes", range=POS,
                               doc="Mean delay (exponential) before a neighbour reminds.", source="[G] guess")
    peer_success: float = P(0.7, unit="probability", range=PROB,
                            doc="Probability that the first peer reminder ends the violation.", source="[G] guess")
    complain: tuple[float, ...] = P(per_kind(call=0.01, talk=0.005, media=0.01, child=0.01), unit="probability",
                                    range=PROB, keys=KINDS,
                                    doc="Probability that a disturbed passenger complains to staff.", source="[G] guess")
    complaint_delay_mean: float = P(5.0, unit="minutes", range=POS,
                                    doc="Mean delay (exponential) before a complaint reaches staff.", source="[G] guess")
    complain_after_failed: float = P(0.3, unit="probability", range=PROB,
                                     doc="Probability that a neighbour whose reminder failed then complains.",
                                     source="[G] guess")


@dataclass(frozen=True)
class Staff:
    """The crew: patrols through the quiet car, responses to complaints, other duties."""
    patrol_staff: int = P(1, unit="crew members", range=(0, 20),
                          doc="Crew members who patrol the quiet car(s).", source="[G] 1-2 can patrol near the quiet car")
    patrol_interval: float = P(30.0, unit="minutes", range=POS,
                               doc="Time between a patroller's passes (first pass at a uniform random phase).",
                               source="[G] guess")
    patrol_walk: float = P(2.0, unit="minutes", range=NONNEG,
                           doc="Time to walk through one quiet car.", source="[G] guess")
    detect: tuple[float, ...] = P(per_kind(call=0.9, talk=0.7, media=0.8, child=0.9), unit="probability",
                                  range=PROB, keys=KINDS,
                                  doc="Probability that a passing patroller notices a running violation in the row.",
                                  source="[G] guess; call unconstrained by the shipped targets (calibrated over "
                                         "[0.5, 1]: 90 % posterior [0.55, 0.98])")
    intervention_min: float = P(1.5, unit="minutes", range=NONNEG,
                                doc="Crew time spent on one intervention.", source="[G] guess")
    staff_success: float = P(0.85, unit="probability", range=PROB,
                             doc="Probability that an intervention ends the violation.", source="[G] guess")
    escalation: bool = P(True, doc="Whether repeated failed cases escalate to moving the passenger to an ordinary car.",
                         source="[S] 12306 2023: reminder, then move")
    escalation_contacts: int = P(2, unit="contacts", range=(1, 100),
                                 doc="A failed intervention at this many staff contacts with the passenger moves them out.",
                                 source="[S] 12306 2023 (second reminder, then move)")
    response_walk: float = P(3.0, unit="minutes", range=NONNEG,
                             doc="Time for a crew member to reach the quiet car after a complaint.", source="[G] guess")
    other_duty_load: float = P(0.3, unit="share of crew time", range=(0.0, 0.95),
                               doc="Offered load of other duties (tickets, service) on the crew.", source="[G] guess")
    other_duty_mean: float = P(10.0, unit="minutes", range=POS,
                               doc="Mean length (exponential) of one other duty.", source="[G] guess")


@dataclass(frozen=True)
class Switches:
    """Every mechanism can be switched off, to test it alone or to show it in class."""
    contagion: bool = P(True, doc="Violations make further violations likelier.")
    damping: bool = P(True, doc="A staff intervention damps every rate in its car for a while (enforcement_damping).")
    peers: bool = P(True, doc="Disturbed neighbours may remind the violator.")
    patrols: bool = P(True, doc="Crew patrol the quiet car.")
    complaints: bool = P(True, doc="Disturbed passengers may complain to the crew.")
    other_duties: bool = P(True, doc="The crew is also busy with other duties.")
    warned: bool = P(True, doc="A reminded passenger's rates fall by warned_factor.")
    control_car: bool = P(False, doc="Also simulate the quiet-car passengers in an ordinary car without the "
                                     "agreement's effect (no commitment or signage, no staff enforcement).")


@dataclass(frozen=True)
class Params:
    """Everything that shapes one train's behaviour, apart from the train itself."""
    population: Population = field(default_factory=Population)
    booking: Booking = field(default_factory=Booking)
    behaviour: Behaviour = field(default_factory=Behaviour)
    staff: Staff = field(default_factory=Staff)
    switches: Switches = field(default_factory=Switches)

    def replace(self, **sections: dict[str, Any]) -> "Params":
        """A copy with some fields of some sections replaced, e.g. ``replace(booking={'overflow': 'never'})``."""
        new = {name: dataclasses.replace(getattr(self, name), **kw) for name, kw in sections.items()}
        return dataclasses.replace(self, **new)


@dataclass(frozen=True)
class TrainSpec:
    """One train as the core sees it.

    ``stops`` is the number of stops including both terminals (legs = stops - 1); legs are of
    equal length. ``ordinary_seats`` are the second-class seats outside the quiet car(s);
    ``quiet_seats`` holds the seats of each quiet car (a multiple of 5).
    """
    train_id: int = 0
    kind: str = "G"
    formation: str = "8"
    run_min: float = 120.0
    stops: int = 6
    ordinary_seats: int = 486
    quiet_seats: tuple[int, ...] = (90,)
    crew: int = 3
    load_factor: float = 0.75

    @property
    def legs(self) -> int:
        return self.stops - 1

    @property
    def seats(self) -> int:
        return self.ordinary_seats + sum(self.quiet_seats)

    def stop_times(self) -> tuple[float, ...]:
        """Minutes after departure at which the train is at stop k = 0..stops-1."""
        return tuple(self.run_min * k / self.legs for k in range(self.stops))


_T = TypeVar("_T")


def per_params(fn: Callable[["Params"], _T]) -> Callable[["Params"], _T]:
    """Compute ``fn(params)`` once per Params object. Keyed by identity, because hashing the
    nested tuples of a Params costs more than most such computations; at most 64 are kept,
    as sweeps and sensitivity runs make many."""
    cache: dict[int, tuple] = {}

    @functools.wraps(fn)
    def cached(params: "Params") -> _T:
        hit = cache.get(id(params))
        if hit is None or hit[0] is not params:
            if len(cache) >= 64:
                cache.clear()
            hit = cache[id(params)] = (params, fn(params))
        return hit[1]
    return cached
