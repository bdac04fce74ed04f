"""Write docs/scenarios.md from the parameter metadata, so the reference cannot drift.

Run: python -m sim.present.scenario_docs > docs/scenarios.md   (a test checks the file is current)
"""
from __future__ import annotations

from dataclasses import fields

from ..scenario import SECTIONS, Scenario, from_dict

INTRO = """# Scenario reference

A scenario is a TOML file: a `description` string, then the sections below. Every key is
optional; an omitted key keeps its default. Tables keyed by segment, kind, train type or
formation may give only some of their keys (`[behaviour.rate_per_h.business] call = 0.9`).
`quietcar run SCENARIO --set section.key=value` overrides any key, dotted down to one entry
(`--set behaviour.rate_per_h.business.call=0.9`, `--set network.formation_mix.G.16=0.5`),
validated like the file. `quietcar validate FILE` checks a file without running it.

Errors name the file, the dotted key, what is allowed and the value given, and exit with
status 2; nothing is written. Sources: **[S]** stated by a source, **[A]** arithmetic on
sourced numbers, **[G]** a guess or weak source (an assumption), **[C]** calibrated: the
posterior median of `quietcar calibrate` on the shipped targets (named); see docs/calibration.md
and docs/validation.md.

Segments: business, leisure, family, student, elderly. Violation kinds: call, talk, media,
child. Train types: G, D. Formations: 8, 16, 17 (cars) and "8+8" (a coupled pair).
Times are minutes unless the unit says otherwise; rates are per passenger-hour.
"""

SECTION_TEXT = {
    "run": "Defaults for `quietcar run` (the command line's `--seed` and `-n` override them).",
    "network": "The day of trains: counts, formations, running times, stops, demand and crew.",
    "population": "Who books: segments, party sizes, the quietness trait z ~ N(0, 1) and the opt-in choice.",
    "booking": "The sales window and the quiet-seat policy.",
    "behaviour": "Violations on board: rates, lengths, contagion, who is disturbed, reminders and complaints.",
    "staff": "The crew: patrols, responses to complaints and other duties.",
    "switches": "Every mechanism can be switched off (to test it alone, or to show it in class).",
}


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_value(x)}" for k, x in v.items())
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return f"`{v}`" if isinstance(v, str) else str(v)


def _allowed(meta, default) -> str:
    if meta.get("choices"):
        return " \\| ".join(f"`{c}`" for c in meta["choices"])
    rng = meta.get("range")
    if rng is None:
        return "true \\| false"
    lo, hi = rng
    text = "> 0" if lo is not None and 0 < lo < 1e-6 else f"≥ {lo:g}" if hi is None else f"{lo:g} – {hi:g}"
    if meta.get("sums_to_one"):
        text += "; sums to 1" + (" per row" if isinstance(default[0], tuple) else "")
    return text


def render() -> str:
    default: Scenario = from_dict({})
    d = default.to_dict()
    out = [INTRO]
    for name, cls in SECTIONS.items():
        out += ["", f"## [{name}]", "", SECTION_TEXT[name], "",
                "| key | meaning | unit | default | allowed | source |", "|---|---|---|---|---|---|"]
        for f in fields(cls):
            m = f.metadata
            value = d[name][f.name]
            if isinstance(value, dict) and any(isinstance(x, dict) for x in value.values()):
                shown = "<br>".join(f"{k}: {_value(x)}" for k, x in value.items())
            else:
                shown = _value(value)
            out.append(f"| `{name}.{f.name}` | {m.get('doc', '')} | {m.get('unit', '')} | {shown} | "
                       f"{_allowed(m, getattr(cls(), f.name))} | {m.get('source', '')} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    import sys
    sys.stdout.write(render())
