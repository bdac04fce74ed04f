"""Scenario files: fill defaults -> validate -> build immutable objects.

A scenario is a TOML file with a ``description`` and the sections ``run``, ``network``,
``population``, ``booking``, ``behaviour``, ``staff`` and ``switches``; every key is a field of
a frozen dataclass whose metadata (unit, range, keys, choices) is the one source of truth
for validation and for ``docs/scenarios.md``. Omitted keys keep their defaults; per-segment,
per-kind, per-type and per-formation tables may give only some of their keys.

Every error is a :class:`ScenarioError` naming the file, the dotted key, what is allowed
and the value given.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .model.network import CARS, FORMATIONS, Network
from .model.params import P, Behaviour, Booking, Params, Population, Staff, Switches


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message names the file, the key and the rule."""


#: The bundled scenarios, shipped inside the package (so an installed quietcar finds them from
#: any folder). The top-level scenarios/ of the repository is the copy users read and edit; a
#: test keeps the two identical.
BUNDLED = Path(__file__).resolve().parent / "scenarios"


def resolve(name: str) -> Path:
    """A scenario file's path, or the name of a bundled one (``pilot`` = scenarios/pilot.toml).
    A folder named like a bundled scenario does not hide it."""
    p = Path(name)
    if p.is_file():
        return p
    bundled = BUNDLED / (name if name.endswith(".toml") else f"{name}.toml")
    if bundled.is_file():
        return bundled
    known = ", ".join(sorted(q.stem for q in BUNDLED.glob("*.toml")))
    raise ScenarioError(f"{name}: no such scenario file (bundled scenarios: {known})")


@dataclass(frozen=True)
class Run:
    """Defaults for a run of this scenario (the command line overrides them)."""
    seed: int = P(2026, range=(0, None), doc="Root seed of the run (any whole number >= 0).", source="")
    replications: int = P(10, unit="replications", range=(1, 100_000),
                          doc="Replications of the network day.", source="")


SECTIONS: dict[str, type] = {
    "run": Run, "network": Network, "population": Population, "booking": Booking,
    "behaviour": Behaviour, "staff": Staff, "switches": Switches,
}
PARAM_SECTIONS = ("population", "booking", "behaviour", "staff", "switches")


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: what the runner needs, plus where it came from."""
    description: str
    run: Run
    network: Network
    params: Params
    source: str = "<defaults>"

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (tables keyed by name) of every value, defaults included."""
        out: dict[str, Any] = {"description": self.description}
        for name in SECTIONS:
            obj = self.section(name)
            out[name] = {f.name: _export(getattr(obj, f.name), f.metadata) for f in fields(obj)}
        return out

    def section(self, name: str):
        return getattr(self.params, name) if name in PARAM_SECTIONS else getattr(self, name)

    def digest(self) -> str:
        """SHA-256 of the resolved scenario (all values, not the file's formatting)."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()

    def to_toml(self) -> str:
        """The resolved scenario as TOML that loads back to the same scenario."""
        d = self.to_dict()
        lines = [f"description = {_toml_value(d['description'])}"]
        for name in SECTIONS:
            lines += ["", f"[{name}]"]
            tables = []
            for key, value in d[name].items():
                if isinstance(value, dict):
                    tables.append((key, value))
                else:
                    lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
            for key, value in tables:
                lines += ["", f"[{name}.{_toml_key(key)}]"]
                for k, v in value.items():
                    lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
        return "\n".join(lines) + "\n"


def _export(value: Any, meta: Mapping[str, Any]) -> Any:
    keys, keys2 = meta.get("keys"), meta.get("keys2")
    if keys is None:
        return value
    if keys2 is None:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in zip(keys, value)}
    return {k: dict(zip(keys2, row)) for k, row in zip(keys, value)}


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() and key.isascii() else json.dumps(key)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):  # a TOML basic string: JSON's escapes, and DEL, which TOML forbids raw
        return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


# --- loading ---------------------------------------------------------------------------------
def read_toml(path: str | Path, what: str = "scenario file", error: type[Exception] = ScenarioError) -> dict:
    """A TOML file's contents; ``error`` (naming the file) if it cannot be read, is not UTF-8 text,
    is nested too deeply or cannot be parsed."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise error(f"{path}: cannot read the {what}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise error(f"{path}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start}); "
                    f"save the {what} as UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise error(f"{path}: TOML syntax error: {e}") from None
    except RecursionError:
        raise error(f"{path}: nested too deeply (arrays or tables within each other)") from None


def load(path: str | Path, overrides: Iterable[str] = ()) -> Scenario:
    """Read, fill defaults, apply ``--set KEY=VALUE`` overrides, validate, build."""
    data = read_toml(path)
    try:
        return from_dict(data, source=str(Path(path)), overrides=overrides)
    except RecursionError:
        raise ScenarioError(f"{path}: nested too deeply (arrays or tables within each other)") from None


def from_dict(data: Mapping[str, Any], source: str = "<dict>", overrides: Iterable[str] = ()) -> Scenario:
    """Build a scenario from parsed TOML (``source`` names it in errors)."""
    data = _deepcopy(data)
    for item in overrides:
        _apply_override(data, item, source)
    allowed = ["description", *SECTIONS]
    for key in data:
        if key not in allowed:
            raise ScenarioError(f"{source}: unknown key '{key}'{_nearest(key, allowed)}; "
                                f"allowed at the top: {', '.join(allowed)}")
    desc = data.get("description", "")
    if not isinstance(desc, str):
        raise ScenarioError(f"{source}: 'description' must be a string, got {desc!r}")
    built = {}
    for name, cls in SECTIONS.items():
        section = data.get(name, {})
        if not isinstance(section, dict):
            raise ScenarioError(f"{source}: '{name}' must be a table ([{name}]), got {section!r}")
        built[name] = _build(cls, section, name, source)
    _check_consistency(built, source)
    params = Params(**{n: built[n] for n in PARAM_SECTIONS})
    return Scenario(description=desc, run=built["run"], network=built["network"], params=params, source=source)


def _deepcopy(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _deepcopy(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_deepcopy(v) for v in d]
    return d


def _nearest(key: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def known_keys() -> list[str]:
    """Every dotted key a scenario (or ``--set``) may name, e.g. ``behaviour.rate_per_h.business.call``."""
    out = ["description"]
    for name, cls in SECTIONS.items():
        for f in fields(cls):
            base = f"{name}.{f.name}"
            keys, keys2 = f.metadata.get("keys"), f.metadata.get("keys2")
            out.append(base)
            for k in keys or ():
                out.append(f"{base}.{k}")
                for k2 in keys2 or ():
                    out.append(f"{base}.{k}.{k2}")
    return out


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word, e.g. never


def _apply_override(data: dict, item: str, source: str) -> None:
    if "=" not in item:
        raise ScenarioError(f"--set {item!r}: expected KEY=VALUE, e.g. booking.overflow=never")
    key, text = (s.strip() for s in item.split("=", 1))
    known = known_keys()
    if key not in known:
        raise ScenarioError(f"--set {key}: no such scenario key{_nearest(key, known)} "
                            f"(see docs/scenarios.md for every key)")
    parts = key.split(".")
    node = data
    for p in parts[:-1]:
        nxt = node.setdefault(p, {})
        if not isinstance(nxt, dict):
            raise ScenarioError(f"{source}: '{p}' is not a table, cannot --set {key}")
        node = nxt
    node[parts[-1]] = _parse_value(text)


def _build(cls: type, section: Mapping[str, Any], name: str, source: str):
    names = [f.name for f in fields(cls)]
    for key in section:
        if key not in names:
            near = _nearest(key, names).replace("'", f"'{name}.", 1)
            raise ScenarioError(f"{source}: unknown key '{name}.{key}'{near}")
    kwargs = {}
    for f in fields(cls):
        if f.name in section:
            kwargs[f.name] = _convert(section[f.name], getattr(cls(), f.name), f.metadata,
                                      f"{name}.{f.name}", source)
    return cls(**kwargs)


def _convert(value: Any, default: Any, meta: Mapping[str, Any], key: str, source: str) -> Any:
    keys, keys2 = meta.get("keys"), meta.get("keys2")
    if keys is None:
        return _scalar(value, default, meta, key, source)
    if not isinstance(value, dict):
        raise ScenarioError(f"{source}: '{key}' must be a table keyed by {', '.join(keys)}, got {value!r}")
    for k in value:
        if k not in keys:
            raise ScenarioError(f"{source}: unknown key '{key}.{k}'{_nearest(str(k), keys)}; "
                                f"allowed: {', '.join(keys)}")
    rows = []
    for k, d in zip(keys, default):
        sub = f"{key}.{k}"
        if k not in value:
            rows.append(d)
        elif keys2 is not None:
            rows.append(_convert(value[k], d, {**meta, "keys": keys2, "keys2": None, "sums_to_one": False}, sub, source))
        elif isinstance(d, tuple):
            rows.append(_vector(value[k], d, meta, sub, source))
        else:
            rows.append(_scalar(value[k], d, meta, sub, source))
    rows = tuple(rows)
    if meta.get("sums_to_one"):
        if keys2 is not None or isinstance(rows[0], tuple):
            for k, row in zip(keys, rows):
                _sums_to_one(row, f"{key}.{k}", source)
        else:
            _sums_to_one(rows, key, source)
    return rows


def _vector(value: Any, default: tuple, meta: Mapping[str, Any], key: str, source: str) -> tuple:
    if not isinstance(value, list) or len(value) != len(default):
        raise ScenarioError(f"{source}: '{key}' must be a list of {len(default)} numbers, got {value!r}")
    return tuple(_scalar(v, default[0], meta, f"{key}[{i}]", source) for i, v in enumerate(value))


def _sums_to_one(values: tuple, key: str, source: str) -> None:
    total = float(sum(values))
    if abs(total - 1.0) > 1e-6:
        raise ScenarioError(f"{source}: '{key}' must sum to 1, sums to {total:.6g}")


def _scalar(value: Any, default: Any, meta: Mapping[str, Any], key: str, source: str) -> Any:
    choices = meta.get("choices")
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ScenarioError(f"{source}: '{key}' must be true or false, got {value!r}")
        return value
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ScenarioError(f"{source}: '{key}' must be a string, got {value!r}")
        if choices and value not in choices:
            raise ScenarioError(f"{source}: '{key}' must be one of {', '.join(choices)}, got {value!r}"
                                f"{_nearest(value, choices)}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise ScenarioError(f"{source}: '{key}' must be a whole number, got {value!r}")
    elif isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ScenarioError(f"{source}: '{key}' must be a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ScenarioError(f"{source}: '{key}' must be a finite number, got {value!r}")
    lo, hi = meta.get("range") or (None, None)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ScenarioError(f"{source}: '{key}' must be {_range_text(lo, hi, meta.get('unit', ''))}, "
                            f"got {value!r}")
    return value


def _range_text(lo, hi, unit: str) -> str:
    """'in [0, 1]', '> 0 minutes', '>= 0 hours' ... (unit words only where they help)."""
    u = f" {unit}" if unit and unit not in ("share", "probability", "multiplier") else ""
    if lo is not None and hi is not None:
        return f"in [{lo:g}, {hi:g}]{u}"
    if lo is not None:
        return f"> 0{u}" if 0 < lo < 1e-6 else f">= {lo:g}{u}"
    return f"<= {hi:g}{u}"


def _check_consistency(built: Mapping[str, Any], source: str) -> None:
    net: Network = built["network"]
    for f, seats, cars, q, most in zip(FORMATIONS, net.second_class_seats, net.quiet_cars, net.quiet_car_seats,
                                       CARS):
        if cars > most:
            raise ScenarioError(f"{source}: 'network.quiet_cars.{f}' must be at most {most} (the cars of the "
                                f"formation), got {cars}")
        if cars * q > seats:
            raise ScenarioError(
                f"{source}: 'network.quiet_cars.{f}' x 'network.quiet_car_seats.{f}' = {cars * q} quiet seats "
                f"exceeds 'network.second_class_seats.{f}' = {seats}")


def describe(path: str | Path) -> str:
    """The ``description`` of a scenario file (first line), without validating the rest."""
    try:
        return str(tomllib.loads(Path(path).read_text(encoding="utf-8")).get("description", "")).strip()
    except (OSError, tomllib.TOMLDecodeError) as e:
        return f"(unreadable: {e})"


def with_values(scenario: Scenario, overrides: Iterable[str]) -> Scenario:
    """The scenario with further ``KEY=VALUE`` overrides, validated like the file."""
    return from_dict(scenario.to_dict(), source=scenario.source, overrides=overrides)

