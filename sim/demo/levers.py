"""The levers: the policy and behaviour knobs the class can change, as scenario keys."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..model.params import FAMILY_ADVICE, OVERFLOW_POLICIES, SEGMENTS
from ..scenario import Scenario

# --- levers ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Lever:
    """A policy or behaviour knob the class can change: the scenario key(s) it sets."""
    name: str
    label: str
    key: str
    unit: str = ""
    choices: tuple[str, ...] = ()
    lo: float = 0.0
    hi: float = 1.0
    per_segment: bool = False  # one value for every segment of a per-segment table

    def value(self, scenario: Scenario) -> Any:
        """The lever's current value in a scenario (the mean over segments for a table)."""
        section, field = self.key.split(".")
        v = scenario.to_dict()[section][field]
        if self.per_segment:
            return float(np.mean([v[s] for s in SEGMENTS]))
        return v

    def exact(self, scenario: Scenario) -> str:
        """The ``--set KEY=VALUE`` that keeps the scenario's own value (per segment if they differ)."""
        if self.per_segment:
            section, field = self.key.split(".")
            table = scenario.to_dict()[section][field]
            inner = ", ".join(f"{s} = {_num(table[s])}" for s in SEGMENTS)
            return f"{self.key}={{{inner}}}"
        return self.override(self.value(scenario))

    def shown(self, scenario: Scenario) -> str:
        """The lever's value as the screen shows it."""
        v = self.value(scenario)
        if self.choices:
            return str(v)
        if self.per_segment:
            section, field = self.key.split(".")
            table = scenario.to_dict()[section][field]
            if len({table[s] for s in SEGMENTS}) > 1:
                return f"{_num(v)} (mean)"
        return _num(v)

    def override(self, value: Any) -> str:
        """The ``--set KEY=VALUE`` that gives the lever this value."""
        if self.choices:
            return f"{self.key}={value}"
        if self.per_segment:
            inner = ", ".join(f"{s} = {_num(value)}" for s in SEGMENTS)
            return f"{self.key}={{{inner}}}"
        return f"{self.key}={_num(value)}"


def _num(x: float) -> str:
    return f"{float(x):.4g}"


LEVERS: tuple[Lever, ...] = (
    Lever("overflow", "Overflow: unsold quiet seats go to", "booking.overflow", choices=OVERFLOW_POLICIES),
    Lever("load", "Demand (seats wanted per seat)", "network.load_factor_mean", "demand / seats", lo=0.3, hi=1.8),
    Lever("patrol", "Staff patrol every (min)", "staff.patrol_interval", "minutes", lo=5.0, hi=120.0),
    Lever("peers", "Neighbours ready to remind (prob.)", "behaviour.peer_remind", "probability", lo=0.0, hi=0.3,
          per_segment=True),
    Lever("contagion", "Contagion (rate lift per noisy one)", "behaviour.contagion", "rate lift", lo=0.0, hi=3.0),
    Lever("family", "Families with an infant are", "booking.family_advice", choices=FAMILY_ADVICE),
)


def lever_overrides(scenario: Scenario, values: dict[str, Any]) -> list[str]:
    """``--set`` items for the levers whose value differs from the scenario's."""
    out = []
    for lever in LEVERS:
        if lever.name in values:
            new, old = values[lever.name], lever.value(scenario)
            same = new == old if lever.choices else math.isclose(float(new), float(old), rel_tol=1e-9, abs_tol=1e-12)
            if not same:
                out.append(lever.override(new))
    return out
