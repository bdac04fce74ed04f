"""Calibration targets: field observations the model must reproduce, read from a TOML file.

A target names a metric (any name in :data:`sim.run.metrics.METRICS`), the scenario it is
observed under (a bundled name or a file, with ``KEY=VALUE`` overrides), the observation and
its source. The observation is one of

- ``value`` and ``se``: a measurement with its standard error -> a normal likelihood;
- ``k`` of ``n``: a count (k cases among n observed) -> the normal approximation to the
  binomial, centred on k/n with variance p(1 - p)/n at Jeffreys' p = (k + 1/2)/(n + 1);
- ``low`` and ``high``: a range a source gives without an error -> a wide normal that reads
  the range as a 95 % interval (centre the midpoint, sd a quarter of the width).

Every observation is thus a centre and a standard deviation in the metric's own unit
(:meth:`Observation.normal`); docs/calibration.md explains the choice. Errors are
:class:`TargetError` naming the file and the target.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..scenario import Scenario, ScenarioError, load, read_toml, resolve
from .metrics import METRIC_NAMES
from .uncertainty import metric_bounds

#: Trains per network day and replications per design point when the file does not say.
DEFAULT_TRAINS, DEFAULT_REPLICATIONS = 40, 4
class TargetError(ValueError):
    """A targets file that cannot be used (the message names the file and the target)."""


@dataclass(frozen=True)
class Observation:
    """What was observed: ``kind`` is value (value ± se), count (k of n) or range (low..high)."""
    kind: str
    a: float  # value | k | low
    b: float  # se | n | high

    def normal(self) -> tuple[float, float]:
        """The observation as a centre and a standard deviation (see the module's docstring)."""
        if self.kind == "value":
            return self.a, self.b
        if self.kind == "count":
            p = (self.a + 0.5) / (self.b + 1.0)
            return self.a / self.b, math.sqrt(p * (1.0 - p) / self.b)
        return (self.a + self.b) / 2.0, (self.b - self.a) / 4.0

    def describe(self) -> str:
        if self.kind == "value":
            return f"{self.a:g} ± {self.b:g} (se)"
        if self.kind == "count":
            return f"{self.a:g} of {self.b:g}"
        return f"{self.a:g} to {self.b:g} (range)"

    def as_dict(self) -> dict[str, float]:
        names = {"value": ("value", "se"), "count": ("k", "n"), "range": ("low", "high")}[self.kind]
        return {names[0]: self.a, names[1]: self.b}


@dataclass(frozen=True)
class Target:
    """One observation the calibration must reproduce."""
    name: str
    metric: str
    scenario: str  # the path of the scenario file
    overrides: tuple[str, ...]
    observation: Observation
    source: str
    note: str = ""

    @property
    def group(self) -> tuple[str, tuple[str, ...]]:
        """Targets observed under the same scenario and overrides share their simulations."""
        return self.scenario, self.overrides


@dataclass(frozen=True)
class Targets:
    """A targets file: its targets, the trains and replications of each design point, its path."""
    targets: tuple[Target, ...]
    trains: int
    replications: int
    path: str = "<targets>"

    def groups(self) -> list[tuple[str, tuple[str, ...]]]:
        """The distinct (scenario, overrides) under which targets are observed, in file order."""
        return list(dict.fromkeys(t.group for t in self.targets))

    def without(self, name: str) -> "Targets":
        return Targets(tuple(t for t in self.targets if t.name != name), self.trains, self.replications, self.path)

    def only(self, names: Sequence[str]) -> "Targets":
        return Targets(tuple(t for t in self.targets if t.name in names), self.trains, self.replications, self.path)

    def to_dict(self) -> dict[str, Any]:
        return {"defaults": {"trains": self.trains, "replications": self.replications},
                "target": [{"name": t.name, "metric": t.metric, "scenario": t.scenario, "set": list(t.overrides),
                            **t.observation.as_dict(), "source": t.source, **({"note": t.note} if t.note else {})}
                           for t in self.targets]}

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()

    def to_toml(self) -> str:
        """The targets as TOML that loads back to the same targets (scenario paths resolved)."""
        lines = ["# The targets a calibration used, resolved (scenario paths absolute).", "",
                 "[defaults]", f"trains = {self.trains}", f"replications = {self.replications}"]
        for t in self.to_dict()["target"]:
            lines += ["", "[[target]]"]
            for k, v in t.items():
                lines.append(f"{k} = {json.dumps(v, ensure_ascii=False)}")
        return "\n".join(lines) + "\n"


def load_targets(path: str | Path, trains: int | None = None, replications: int | None = None) -> Targets:
    """Read and validate a targets file (``trains``/``replications`` override its defaults)."""
    path = Path(path)
    data = read_toml(path, "targets file", TargetError)
    return parse_targets(data, str(path), path.parent, trains, replications)


def _nearest(word: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _number(v: Any, where: str, key: str, whole: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise TargetError(f"{where}: '{key}' must be a finite number, got {v!r}")
    if whole and not float(v).is_integer():
        raise TargetError(f"{where}: '{key}' must be a whole number, got {v!r}")
    return float(v)


TARGET_KEYS = ("name", "metric", "scenario", "set", "value", "se", "k", "n", "low", "high", "source", "note")


def parse_targets(data: Mapping[str, Any], source: str = "<targets>", base: Path | None = None,
                  trains: int | None = None, replications: int | None = None) -> Targets:
    """Validate parsed TOML: every target's metric, scenario, overrides and observation."""
    for key in data:
        if key not in ("defaults", "target"):
            raise TargetError(f"{source}: unknown key '{key}'{_nearest(key, ['defaults', 'target'])}; "
                              f"a targets file has [defaults] and [[target]] entries")
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict) or set(defaults) - {"trains", "replications"}:
        raise TargetError(f"{source}: [defaults] may set only trains and replications, got {defaults!r}")
    tr = trains if trains is not None else int(_number(defaults.get("trains", DEFAULT_TRAINS), f"{source}: [defaults]",
                                                       "trains", whole=True))
    reps = replications if replications is not None else int(
        _number(defaults.get("replications", DEFAULT_REPLICATIONS), f"{source}: [defaults]", "replications", whole=True))
    if not 1 <= tr <= 100_000:
        raise TargetError(f"{source}: [defaults] 'trains' must be in [1, 100000], got {tr}")
    if not 2 <= reps <= 1000:
        raise TargetError(f"{source}: [defaults] 'replications' must be in [2, 1000] (the noise is estimated "
                          f"from their spread), got {reps}")
    entries = data.get("target", [])
    if not isinstance(entries, list) or not entries:
        raise TargetError(f"{source}: no targets; add [[target]] entries (see docs/calibration.md)")
    out: list[Target] = []
    for i, e in enumerate(entries, 1):
        out.append(_target(e, i, source, base, tr))
    names = [t.name for t in out]
    for n in names:
        if names.count(n) > 1:
            raise TargetError(f"{source}: two targets are named '{n}'; names must be unique")
    return Targets(tuple(out), tr, reps, source)


def _target(e: Any, i: int, source: str, base: Path | None, trains: int) -> Target:
    where = f"{source}: target {i}"
    if not isinstance(e, dict):
        raise TargetError(f"{where}: must be a table ([[target]]), got {e!r}")
    if isinstance(e.get("name"), str) and e["name"].strip():
        where = f"{source}: target {i} ('{e['name']}')"
    for key in e:
        if key not in TARGET_KEYS:
            raise TargetError(f"{where}: unknown key '{key}'{_nearest(key, TARGET_KEYS)}; allowed: "
                              f"{', '.join(TARGET_KEYS)}")
    for key in ("metric", "scenario", "source"):
        if not isinstance(e.get(key), str) or not e[key].strip():
            raise TargetError(f"{where}: '{key}' is required (a non-empty string)")
    metric = e["metric"]
    if metric not in METRIC_NAMES:
        raise TargetError(f"{where}: unknown metric '{metric}'{_nearest(metric, METRIC_NAMES)} "
                          f"(docs/outputs.md lists every metric)")
    overrides = e.get("set", [])
    if not isinstance(overrides, list) or not all(isinstance(s, str) for s in overrides):
        raise TargetError(f"{where}: 'set' must be a list of \"KEY=VALUE\" strings, got {overrides!r}")
    if not any(s.split("=", 1)[0].strip() == "network.trains" for s in overrides):
        overrides = [*overrides, f"network.trains={trains}"]
    scenario = _scenario_path(e["scenario"], base, where)
    try:
        load(scenario, overrides)
    except ScenarioError as err:
        raise TargetError(f"{where}: {err}") from None
    obs = _observation(e, where, metric)
    name = e.get("name") or f"{metric}@{Path(scenario).stem}"
    note = e.get("note", "")
    if not isinstance(note, str):
        raise TargetError(f"{where}: 'note' must be a string")
    return Target(str(name), metric, str(scenario), tuple(overrides), obs, e["source"].strip(), note.strip())


def _scenario_path(name: str, base: Path | None, where: str) -> str:
    if base is not None and (base / name).is_file():
        return str((base / name).resolve())
    try:
        return str(resolve(name).resolve())
    except ScenarioError as err:
        raise TargetError(f"{where}: {err}") from None


def _observation(e: Mapping[str, Any], where: str, metric: str) -> Observation:
    forms = {"value": ("value", "se"), "count": ("k", "n"), "range": ("low", "high")}
    given = [kind for kind, (a, b) in forms.items() if a in e or b in e]
    if len(given) != 1:
        raise TargetError(f"{where}: give the observation as exactly one of value + se, k + n, or low + high "
                          f"(got {', '.join(k for k in ('value', 'se', 'k', 'n', 'low', 'high') if k in e) or 'none'})")
    kind = given[0]
    a_key, b_key = forms[kind]
    for key in (a_key, b_key):
        if key not in e:
            raise TargetError(f"{where}: '{a_key}' needs '{b_key}' beside it")
    a = _number(e[a_key], where, a_key, whole=kind == "count")
    b = _number(e[b_key], where, b_key, whole=kind == "count")
    lo, hi = metric_bounds(metric)
    span = f"[{lo:g}, {hi:g}]" if hi < math.inf else f">= {lo:g}"
    if kind == "value":
        if b <= 0:
            raise TargetError(f"{where}: 'se' must be > 0 (an honest uncertainty), got {b:g}")
        if not lo <= a <= hi:
            raise TargetError(f"{where}: 'value' {a:g} is outside what '{metric}' can be ({span})")
    elif kind == "count":
        if b < 1 or not 0 <= a <= b:
            raise TargetError(f"{where}: a count needs 0 <= k <= n and n >= 1, got k = {a:g}, n = {b:g}")
        if hi != 1.0:
            raise TargetError(f"{where}: k of n observes a share, but '{metric}' is not a share; "
                              f"give value + se or low + high")
    else:
        if not a < b:
            raise TargetError(f"{where}: 'low' must be below 'high', got {a:g} and {b:g}")
        if a < lo or b > hi:
            raise TargetError(f"{where}: the range [{a:g}, {b:g}] is outside what '{metric}' can be ({span})")
    return Observation(kind, a, b)


def target_scenario(target: Target, values: Sequence[str] = ()) -> Scenario:
    """A target's scenario with parameter values (``KEY=VALUE``) applied before its own overrides,
    so that a target which fixes a key keeps its value."""
    return load(target.scenario, [*values, *target.overrides])
