"""Designs: the points of an experiment (a full factorial over listed levels, a Latin
hypercube over ranges, the Morris and Sobol' designs of SALib) and the built-in overflow curve.

A point gives values to some dotted scenario keys and becomes a scenario through
:func:`sim.scenario.with_values`, validated like a file."""
from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..model.network import FORMATIONS, TYPES
from ..scenario import Scenario, ScenarioError, with_values
from .factors import LHS_STREAM, SALIB_SAMPLE_STREAM, DesignError, Factor, design_rng, toml_literal

#: Disturbed passenger-minutes suffered by passengers who opted in, per opted-in
#: passenger-hour in the quiet car: the exposure of the people the quiet car is for.
OPTIN_EXPOSURE = "optin.disturbed_pax_min_per_pax_h"


@dataclass(frozen=True)
class Design:
    """The points of an experiment: ``points[i][j]`` is the value of ``factors[j]`` at point i.

    ``method`` is factorial, lhs, morris or sobol; ``samples`` the unit-free sample matrix SALib
    analyses (before whole-number keys are rounded); ``options`` what else shaped the design."""
    method: str
    factors: tuple[Factor, ...]
    points: tuple[tuple, ...]
    samples: tuple[tuple[float, ...], ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.factors)

    def overrides(self, i: int) -> list[str]:
        return [f"{f.key}={toml_literal(v)}" for f, v in zip(self.factors, self.points[i])]

    def describe(self) -> dict[str, Any]:
        """The design as JSON (for the manifest and the experiment's identity)."""
        fs = [{"key": f.key, "type": f.kind, **({"levels": list(f.levels)} if f.levels else
                                                {"low": f.low, "high": f.high})} for f in self.factors]
        return {"method": self.method, "factors": fs, "points": len(self.points), **self.options}


def factorial(factors: Sequence[Factor]) -> Design:
    """Every combination of the listed levels (the last key varies fastest)."""
    return Design("factorial", tuple(factors), tuple(itertools.product(*(f.levels for f in factors))))


def latin_hypercube(factors: Sequence[Factor], k: int, seed: int) -> Design:
    """K points; each range cut into K equal strata, each stratum used once per key.

    Positions within strata and the pairing of strata across keys come from the design stream
    of ``seed`` (:func:`design_rng`), so the same seed gives the same points."""
    rng = design_rng(seed, LHS_STREAM)
    d = len(factors)
    u = (rng.permuted(np.tile(np.arange(k), (d, 1)), axis=1).T + rng.random((k, d))) / k
    lo = np.array([f.low for f in factors])
    hi = np.array([f.high for f in factors])
    x = lo + u * (hi - lo)
    points = tuple(tuple(f.cast(v) for f, v in zip(factors, row)) for row in x.tolist())
    return Design("lhs", tuple(factors), points, tuple(map(tuple, x.tolist())), {"lhs_points": k})


def problem(factors: Sequence[Factor]) -> dict[str, Any]:
    """The SALib problem of a list of ranged factors."""
    return {"num_vars": len(factors), "names": [f.key for f in factors],
            "bounds": [[f.low, f.high] for f in factors]}


def morris_design(factors: Sequence[Factor], trajectories: int, levels: int, seed: int) -> Design:
    """Morris's elementary-effects design: ``trajectories`` x (keys + 1) points on a grid of
    ``levels`` levels per range (SALib ``sample.morris``)."""
    from SALib.sample import morris
    x = morris.sample(problem(factors), trajectories, num_levels=levels, seed=design_rng(seed, SALIB_SAMPLE_STREAM))
    return _salib_design("morris", factors, x, {"trajectories": trajectories, "levels": levels})


def sobol_design(factors: Sequence[Factor], base_samples: int, second_order: bool, seed: int) -> Design:
    """Saltelli's design for Sobol' indices: ``base_samples`` x (keys + 2) points, or
    x (2 keys + 2) with second-order indices (SALib ``sample.sobol``, scrambled)."""
    from SALib.sample import sobol
    if base_samples < 2 or base_samples & (base_samples - 1):
        lower = 2 ** max(1, int(math.log2(max(base_samples, 2))))
        raise DesignError(f"--samples {base_samples}: Sobol' sampling needs a power of 2 "
                          f"(e.g. {lower} or {lower * 2})")
    x = sobol.sample(problem(factors), base_samples, calc_second_order=second_order,
                     seed=design_rng(seed, SALIB_SAMPLE_STREAM))
    return _salib_design("sobol", factors, x, {"base_samples": base_samples, "second_order": second_order})


def _salib_design(method: str, factors: Sequence[Factor], x: np.ndarray, options: dict) -> Design:
    points = tuple(tuple(f.cast(v) for f, v in zip(factors, row)) for row in x.tolist())
    return Design(method, tuple(factors), points, tuple(map(tuple, x.tolist())), options)


def point_scenarios(base: Scenario, design: Design) -> list[Scenario]:
    """The scenario of every point, validated (a bad level fails before anything runs)."""
    out = []
    for i in range(len(design.points)):
        try:
            out.append(with_values(base, design.overrides(i)))
        except ScenarioError as e:
            raise DesignError(f"point {i} ({', '.join(design.overrides(i))}): {e}") from None
    return out


# --- the overflow curve -----------------------------------------------------------------------
OVERFLOW_KEY = "network.load_factor_mean"
OVERFLOW_LEVELS: tuple[float, ...] = tuple(round(0.5 + 0.1 * i, 10) for i in range(11))
#: What the overflow curve shows, in this order.
OVERFLOW_METRICS: tuple[str, ...] = ("overflow_share", "violations_per_100_pax_h", "disturbed_pax_min_per_pax_h",
                                     OPTIN_EXPOSURE)


def overflow_factor(base: Scenario) -> Factor:
    """The built-in sweep of the overflow curve: mean load 0.5 to 1.5 of second-class seats."""
    return Factor(OVERFLOW_KEY, "float", levels=OVERFLOW_LEVELS)


def ordinary_seat_share(scenario: Scenario) -> float:
    """Ordinary (non-quiet) second-class seats as a share of all second-class seats, averaged
    over the formation mix: the mean load at which ordinary seats sell out on an average leg."""
    net = scenario.network
    share = 0.0
    for t, p_type in zip(TYPES, net.type_share):
        mix = net.formation_mix[TYPES.index(t)]
        for f, p_f in zip(FORMATIONS, mix):
            i = FORMATIONS.index(f)
            seats = net.second_class_seats[i]
            share += p_type * p_f * (seats - net.quiet_cars[i] * net.quiet_car_seats[i]) / seats
    return share / max(sum(net.type_share), 1e-12)
