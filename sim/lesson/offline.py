"""``quietcar lesson --save lesson.html``: one self-contained page carrying the journeys of a
grid of lever values, so a class can pull those levers with no server and no network."""
from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

from ..scenario import Scenario
from ..demo import LEVERS
from .journey import LeverError, check_value, find_lever, lever_values, run_levers
from .plan import SETTINGS
from .page import config, render

STEP = 1.0  # minutes between the saved frames (the server's are 0.5): half the size
MAX_JOURNEYS = 400  # a grid larger than this would make a page too large to carry around


def lesson_grid(scenario: Scenario) -> dict[str, tuple[Any, ...]]:
    """The levers the lesson's experiments move (sim/lesson/plan.py), each with every value they
    take there and the scenario's own: every combination of these is saved by default."""
    base = lever_values(scenario)
    grid: dict[str, set] = {}
    for setting in SETTINGS:
        for item in setting:
            key, _, text = item.partition("=")
            lever = find_lever(key)
            grid.setdefault(lever.name, {base[lever.name]}).add(check_value(lever, text if lever.choices else float(text)))
    out = {}
    for lever in LEVERS:
        if lever.name in grid:
            values = grid[lever.name]
            out[lever.name] = tuple(c for c in lever.choices if c in values) if lever.choices else tuple(sorted(values))
    return out


def parse_grid(items: Iterable[str]) -> dict[str, tuple[Any, ...]]:
    """``KEY=V1,V2,...`` items (lever name or scenario key) as {lever name: values}, each value checked."""
    grid: dict[str, tuple[Any, ...]] = {}
    for item in items:
        key, sep, rest = item.partition("=")
        if not sep or not rest.strip():
            raise LeverError(f"--levers {item!r}: write KEY=V1,V2,... (e.g. --levers contagion=0,1,2)")
        lever = find_lever(key.strip())
        values = []
        for text in rest.split(","):
            text = text.strip()
            if lever.choices:
                values.append(check_value(lever, text))
            else:
                try:
                    number = float(text)
                except ValueError:
                    raise LeverError(f"--levers {item!r}: {text!r} is not a number "
                                     f"({lever.name} takes {lever.lo:g} to {lever.hi:g})") from None
                values.append(check_value(lever, number))
        if len(set(values)) != len(values):
            raise LeverError(f"--levers {item!r}: a value is repeated")
        if lever.name in grid:
            raise LeverError(f"--levers: {lever.name} is given twice")
        grid[lever.name] = tuple(values)
    size = 1
    for values in grid.values():
        size *= len(values)
    if size > MAX_JOURNEYS:
        raise LeverError(f"--levers: {size} combinations would be saved; at most {MAX_JOURNEYS} "
                         "(give fewer values)")
    return grid


def combinations(grid: dict[str, Sequence[Any]]) -> list[tuple[int, ...]]:
    return list(itertools.product(*(range(len(v)) for v in grid.values())))


def key(index: Sequence[int]) -> str:
    """The page's name for a combination: the value indices joined by '|' (as page.js builds it)."""
    return "|".join(str(i) for i in index)


def lesson_page(scenario: Scenario, seed: int, grid: dict[str, Sequence[Any]] | None = None,
                lang: str | None = None,
                progress=None) -> tuple[str, int]:
    """The saved page and how many journeys it carries."""
    grid = dict(lesson_grid(scenario) if grid is None else grid)
    base = lever_values(scenario)
    journeys: dict[str, Any] = {}
    combos = combinations(grid)
    for n, index in enumerate(combos):
        values = {name: grid[name][i] for name, i in zip(grid, index)}
        j = run_levers(scenario, seed, values, step=STEP)
        del j["levers"]
        journeys[key(index)] = j
        if progress:
            progress(n + 1, len(combos))
    start = {name: (base[name] if base[name] in grid[name] else grid[name][0]) for name in grid}
    start_index = tuple(list(grid[name]).index(start[name]) for name in grid)
    values = {**base, **start}
    page = render(config("offline", seed, values, journeys[key(start_index)], lang,
                         grid={name: list(v) for name, v in grid.items()}, journeys=journeys,
                         base=base))
    return page, len(journeys)
