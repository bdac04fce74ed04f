"""Factors: the scenario keys an experiment varies, parsed from ``--vary``/``--param``, and the
design's own random streams (derived from the run seed, never global state)."""
from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..scenario import Scenario, known_keys


class DesignError(ValueError):
    """A design that cannot be run (the message names the option, the key and the rule)."""


#: The spawn key under which designs draw their random numbers; replications use
#: (replication, train, stream) keys with replication < 100,000, so the streams never meet.
DESIGN_KEY = 2**32 - 2
LHS_STREAM, SALIB_SAMPLE_STREAM, SALIB_BOOTSTRAP_STREAM = 0, 1, 2


def design_rng(seed: int, stream: int) -> np.random.Generator:
    """The generator of one design stream, derived from the run seed (never global state)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=(DESIGN_KEY, stream))))


def design_int_seed(seed: int, stream: int) -> int:
    """A positive 32-bit integer seed derived from the run seed, for APIs that want an int."""
    ss = np.random.SeedSequence(int(seed), spawn_key=(DESIGN_KEY, stream))
    return max(1, int(ss.generate_state(1, dtype=np.uint32)[0]))


def value_at(scenario: Scenario, key: str) -> Any:
    """The resolved value of a dotted key (``network.load_factor_mean``) in a scenario."""
    node: Any = scenario.to_dict()
    for part in key.split("."):
        node = node[part]
    return node


def _kind_of(scenario: Scenario, key: str, option: str) -> str:
    known = known_keys()
    if key not in known:
        import difflib
        near = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f" (did you mean '{near[0]}'?)" if near else ""
        raise DesignError(f"{option} {key}: no such scenario key{hint} (see docs/scenarios.md for every key)")
    v = value_at(scenario, key)
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "str"
    sub = ", ".join(f"{key}.{k}" for k in v) if isinstance(v, dict) else ""
    raise DesignError(f"{option} {key}: is a {'table' if isinstance(v, dict) else 'list'}, not a single value; "
                      f"vary one of its entries{': ' + sub if sub else ''}")


def key_info(key: str) -> dict[str, str]:
    """The ``unit``, ``doc`` and ``source`` of a dotted scenario key (its field's metadata)."""
    from ..scenario import SECTIONS
    parts = key.split(".")
    cls = SECTIONS.get(parts[0])
    if cls is None or len(parts) < 2:
        return {}
    for f in dataclasses.fields(cls):
        if f.name == parts[1]:
            return {k: str(f.metadata.get(k) or "") for k in ("unit", "doc", "source")}
    return {}


def _parse_scalar(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word, e.g. never


def toml_literal(v: Any) -> str:
    """A value as the right-hand side of ``KEY=VALUE`` (what ``--set`` accepts)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return json.dumps(str(v))


@dataclass(frozen=True)
class Factor:
    """A varied key: its type and either its levels (factorial) or its range (LHS, SALib)."""
    key: str
    kind: str
    levels: tuple = ()
    low: float = math.nan
    high: float = math.nan

    def cast(self, x: float) -> float | int:
        """A sampled number as the key's type (whole-number keys are rounded)."""
        return int(round(x)) if self.kind == "int" else float(x)


def _split(item: str, option: str, form: str) -> tuple[str, str]:
    if "=" not in item:
        raise DesignError(f"{option} {item!r}: expected {form}")
    key, text = (s.strip() for s in item.split("=", 1))
    if not key or not text:
        raise DesignError(f"{option} {item!r}: expected {form}")
    return key, text


def _number(text: str, option: str, item: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise DesignError(f"{option} {item!r}: {text!r} is not a number") from None
    if not math.isfinite(x):
        raise DesignError(f"{option} {item!r}: {text!r} is not a finite number")
    return x


#: The most levels KEY=LOW:HIGH:K may ask for (each is a point of the sweep, or more in a factorial).
MAX_LEVELS = 10_000


def parse_levels(base: Scenario, item: str, option: str = "--vary") -> Factor:
    """``KEY=V1,V2,...`` (listed levels) or ``KEY=LOW:HIGH:K`` (K evenly spaced levels)."""
    key, text = _split(item, option, "KEY=V1,V2,... or KEY=LOW:HIGH:K")
    kind = _kind_of(base, key, option)
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise DesignError(f"{option} {item!r}: a range needs a number of levels, KEY=LOW:HIGH:K "
                              f"(or sample it with --lhs)")
        if kind not in ("int", "float"):
            raise DesignError(f"{option} {item!r}: '{key}' is not a number; list its levels: KEY=V1,V2")
        low, high = (_number(p, option, item) for p in parts[:2])
        try:
            k = int(parts[2])
        except ValueError:
            raise DesignError(f"{option} {item!r}: K must be a whole number of levels, got {parts[2]!r}") from None
        if k < 2:
            raise DesignError(f"{option} {item!r}: K must be at least 2")
        if k > MAX_LEVELS:
            raise DesignError(f"{option} {item!r}: K must be at most {MAX_LEVELS:,} levels (a sweep runs every one)")
        grid = np.linspace(low, high, k)
        levels = tuple(dict.fromkeys(int(round(x)) if kind == "int" else round(float(x), 12) for x in grid))
    else:
        levels = tuple(_parse_scalar(t.strip()) for t in text.split(","))
        if any(t.strip() == "" for t in text.split(",")):
            raise DesignError(f"{option} {item!r}: an empty level")
        if len(set(map(repr, levels))) != len(levels):
            raise DesignError(f"{option} {item!r}: a level is listed twice")
    return Factor(key, kind, levels=levels)


def parse_range(base: Scenario, item: str, option: str = "--vary") -> Factor:
    """``KEY=LOW:HIGH`` for a numeric key."""
    key, text = _split(item, option, "KEY=LOW:HIGH")
    kind = _kind_of(base, key, option)
    parts = text.split(":")
    if len(parts) != 2:
        raise DesignError(f"{option} {item!r}: expected KEY=LOW:HIGH")
    if kind not in ("int", "float"):
        raise DesignError(f"{option} {item!r}: '{key}' is not a number and has no range")
    low, high = (_number(p, option, item) for p in parts)
    if not low < high:
        raise DesignError(f"{option} {item!r}: LOW must be below HIGH")
    return Factor(key, kind, low=low, high=high)


def check_unique(factors: Sequence[Factor], option: str) -> None:
    keys = [f.key for f in factors]
    for k in keys:
        if keys.count(k) > 1:
            raise DesignError(f"{option} {k}: the key is given twice")
