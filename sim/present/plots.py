"""Figures from results folders (matplotlib, PNG and SVG, headless).

Every figure is built on a bare :class:`matplotlib.figure.Figure` (the Agg and SVG canvases
are chosen when saving), so nothing here imports pyplot or needs a display. Functions named
``fig_*`` take loaded results and return a Figure; :func:`save` writes it as PNG and SVG;
:func:`plot_paths` makes every figure that fits a list of results folders.

Palette: Okabe & Ito's eight colours, safe for the common colour-vision deficiencies; sizes
are for print (7.5 inches wide, 9-point text, 200 dpi PNG).
"""
from __future__ import annotations

import io
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.lines
import matplotlib.ticker
import numpy as np
from matplotlib.figure import Figure

from ..experiments import (INDEX_BOUNDS, OPTIN_EXPOSURE, OVERFLOW_KEY, OVERFLOW_METRICS, ExperimentResult,
                          is_experiment, key_info, load_experiment, ordinary_seat_share)
from ..model.onboard import ENDERS
from ..model.params import KINDS
from ..run.experiment_folder import SENSITIVITY
from ..run.integrity import ResultsError, UnreadableError, kind_of, read_bytes, verify
from ..run.paths import safe_name
from . import fonts
from .labels import LABELS, bounds, is_share, label, word  # noqa: F401  (LABELS: re-exported for the report)
from ..run.results import RunFolder, write_bytes

# --- style ----------------------------------------------------------------------------------------
OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
             "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7"}
#: Colours for series (runs, curves), in order; yellow last (weak on white).
SERIES = tuple(OKABE_ITO[c] for c in ("blue", "orange", "green", "vermillion", "sky", "purple", "black", "yellow"))
KIND_COLOURS = {"call": OKABE_ITO["blue"], "talk": OKABE_ITO["orange"], "media": OKABE_ITO["green"],
                "child": OKABE_ITO["purple"]}
ENDER_COLOURS = {"self": OKABE_ITO["sky"], "peer": OKABE_ITO["green"], "staff": OKABE_ITO["vermillion"],
                 "alighting": "#999999"}
STYLE = {"font.size": 9, "axes.titlesize": 9.5, "axes.labelsize": 9, "xtick.labelsize": 8,
         "ytick.labelsize": 8, "legend.fontsize": 8, "figure.titlesize": 11, "axes.spines.top": False,
         "axes.spines.right": False, "axes.grid": True, "grid.color": "#E5E5E5", "grid.linewidth": 0.6,
         "axes.axisbelow": True, "svg.hashsalt": "quietcar", "svg.fonttype": "path",
         # Latin text in DejaVu Sans; Chinese characters fall back to the bundled Noto subset
         # (a list of families, not the generic "sans-serif": matplotlib falls back along the list only)
         "font.family": ["DejaVu Sans", fonts.FAMILY]}
WIDTH = 7.5  # inches: an A4 page's text width with margins
DPI = 200

#: The metrics of the headline bar chart (one panel each).
HEADLINE_FIGURE = ("uptake_rate", "quiet_load_factor", "overflow_share", "violations_per_100_pax_h",
                   "noisy_time_share", "disturbed_pax_min_per_pax_h", "mean_violation_min", "staff_min_per_train",
                   "complaints_per_1000_pax")
#: The metrics of sweep curves and of the sensitivity chart, in order of preference.
FOCUS = ("overflow_share", "violations_per_100_pax_h", "noisy_time_share", "disturbed_pax_min_per_pax_h",
         OPTIN_EXPOSURE, "staff_min_per_train", "complaints_per_1000_pax", "uptake_rate", "quiet_load_factor")


def _percent(axis, metric: str) -> None:
    if is_share(metric):
        axis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))


def key_label(key: str) -> str:
    """A scenario key with its unit, for an axis."""
    unit = key_info(key).get("unit", "")
    return f"{key} ({unit})" if unit else key


def new_figure(height: float, width: float = WIDTH) -> Figure:
    fonts.register()
    with matplotlib.rc_context(STYLE):
        return Figure(figsize=(width, height), layout="constrained")


def _styled(fn):
    """Build the figure under the house style (rc settings are read when artists are made)."""
    def wrapper(*a, **kw):
        fonts.register()
        with matplotlib.rc_context(STYLE):
            return fn(*a, **kw)
    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


# --- writing ------------------------------------------------------------------------------------
def figure_bytes(fig: Figure, fmt: str) -> bytes:
    """The figure as PNG or SVG bytes (no timestamps, so the same figure gives the same file)."""
    buf = io.BytesIO()
    meta = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
    fonts.register()
    with matplotlib.rc_context(STYLE):
        fig.savefig(buf, format=fmt, dpi=DPI, metadata=meta, facecolor="white")
    return buf.getvalue()


def save(fig: Figure, folder: str | Path, name: str) -> list[Path]:
    """Write ``name.png`` and ``name.svg`` into ``folder`` (atomically); return both paths."""
    out = []
    for fmt in ("png", "svg"):
        p = Path(folder) / f"{name}.{fmt}"
        write_bytes(p, figure_bytes(fig, fmt))
        out.append(p)
    return out


def slug(text: str) -> str:
    """A file name part made from a run's or key's name (see sim.run.paths.safe_name)."""
    return safe_name(text)


# --- loading ------------------------------------------------------------------------------------
class PlotError(ValueError):
    """A folder that holds nothing to plot (the message says what it expected)."""


@dataclass
class Run:
    """A finished run folder, loaded for plotting."""
    name: str
    path: Path
    manifest: dict
    summary: dict[str, dict]
    _trains: Any = field(default=None, repr=False)

    @property
    def trains(self):
        """trains.csv as a pandas DataFrame (read on first use)."""
        if self._trains is None:
            import pandas as pd
            self._trains = pd.read_csv(self.path / "trains.csv")
        return self._trains

    def scenario(self):
        return folder_scenario(self.path)


def folder_scenario(folder: Path):
    """The resolved scenario of a results folder. It is a file of the folder: one that cannot be
    read is an UnreadableError (never taken for 'no scenario'), one that does not parse a ResultsError."""
    import tomllib
    from ..scenario import ScenarioError, from_dict
    path = Path(folder) / "scenario.toml"
    data = read_bytes(path)
    try:
        return from_dict(tomllib.loads(data.decode("utf-8")), source=str(path))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError, ScenarioError) as e:
        raise ResultsError(f"{path}: damaged ({str(e).splitlines()[0][:200]})") from None


def load_run(path: str | Path, name: str | None = None) -> Run:
    """A finished run folder, checked against its manifest (ResultsError naming a damaged file)."""
    folder = RunFolder(path)
    summary = folder.summary()
    return Run(name or Path(path).name, Path(path), folder.manifest() or {}, summary)


def compare_members(path: Path) -> list[Run]:
    """The runs of a ``quietcar compare`` folder, in order, with their names (checked first:
    see integrity.verify)."""
    m = verify(path)
    dirs = m.get("members") or []
    names = m.get("names") or dirs
    return [load_run(path / d, str(n)) for d, n in zip(dirs, names)]


@dataclass
class Collection:
    """What a list of results folders holds: runs (in order) and experiments."""
    runs: list[Run]
    experiments: list[ExperimentResult]


def collect(paths: Iterable[str | Path]) -> Collection:
    """Sort results folders into runs (a compare folder counts as its runs) and experiments."""
    runs: list[Run] = []
    exps: list[ExperimentResult] = []
    for p in map(Path, paths):
        if is_experiment(p):
            exps.append(load_experiment(p))
        elif kind_of(p) == "compare":
            runs += compare_members(p)
        elif (p / "summary.json").exists() or kind_of(p) == "run":
            runs.append(load_run(p))
        else:
            raise PlotError(f"{p}: not a finished quietcar run, comparison, sweep or sensitivity folder "
                            f"(no summary.json, comparison.csv or sweep_summary.csv)")
    names = [r.name for r in runs]
    for r in runs:
        if names.count(r.name) > 1:
            r.name = f"{r.path.parent.name}/{r.name}"
    seen: set[str] = set()
    for i, r in enumerate(runs):  # a run named by long overrides: shortened to fit axes and legends
        if len(r.name) > MAX_NAME:
            r.name = r.name[:MAX_NAME - 1] + "…"
        if r.name in seen:
            r.name = f"{r.name[:MAX_NAME - 5]} ({i + 1})"
        seen.add(r.name)
    return Collection(runs, exps)


#: The longest run name drawn in a figure.
MAX_NAME = 40


# --- figures of runs ------------------------------------------------------------------------------
def _legend(fig: Figure, handles, labels, ncol: int | None = None) -> None:
    """A legend below the panels (constrained layout keeps it clear of the title and axes);
    long names (a run named by its overrides) are shortened to fit the page."""
    labels = [x if len(x) <= 60 else x[:59] + "…" for x in labels]
    fig.legend(handles, labels, loc="outside lower center", ncol=ncol or min(len(labels), 4), frameon=False)


@_styled
def fig_headline(runs: Sequence[Run], metrics: Sequence[str] = HEADLINE_FIGURE) -> Figure:
    """Bars with 95 % intervals, one panel per headline metric, one bar per run."""
    metrics = [m for m in metrics if any(r.summary.get(m, {}).get("n", 0) for r in runs)]
    cols = 3
    rows = math.ceil(len(metrics) / cols)
    fig = new_figure(1.9 * rows + 0.9)
    axes = fig.subplots(rows, cols, squeeze=False)
    x = np.arange(len(runs))
    handles = []
    cut = False
    predictive = False
    for ax, m in zip(axes.flat, metrics):
        title, unit = label(m)
        low_bound, high_bound = bounds(m)
        for i, r in enumerate(runs):
            s = r.summary[m]
            mean, lo, hi = s["mean"], s["ci_low"], s["ci_high"]
            if lo == lo and (lo < low_bound or hi > high_bound):  # a t interval reaching past what is possible
                cut = True
                lo, hi = max(lo, low_bound), min(hi, high_bound)
            err = None if lo != lo else [[max(mean - lo, 0)], [max(hi - mean, 0)]]
            h = ax.bar(x[i], mean if mean == mean else 0, 0.7, color=SERIES[i % len(SERIES)], yerr=err,
                       capsize=3, error_kw={"elinewidth": 1, "ecolor": "#333333"})
            p = s.get("predictive") or {}
            if p.get("dominates") and p["low"] == p["low"]:  # a run with a posterior: the total interval
                ax.errorbar(x[i] + 0.22, mean, yerr=[[max(mean - p["low"], 0)], [max(p["high"] - mean, 0)]],
                            fmt="none", ecolor="#999999", elinewidth=2.5, capsize=0)
                predictive = True
            if len(handles) < len(runs):
                handles.append(h)
        ax.set_title(title)
        ax.set_ylabel(unit)
        _percent(ax.yaxis, m)
        ax.set_xticks([])
        ax.grid(axis="x", visible=False)
    for ax in list(axes.flat)[len(metrics):]:
        ax.set_visible(False)
    _legend(fig, handles, [r.name for r in runs], ncol=min(len(runs), 3))
    fig.suptitle(word("figure.headline")
                 + ("\n" + word("figure.cut") if cut else "")
                 + ("\n" + word("figure.predictive") if predictive else ""))
    return fig


def paired_with(a: Run, b: Run) -> bool:
    """Whether two runs can be compared replication by replication (same network and demand,
    same seed: common random numbers)."""
    from ..run.runner import same_demand
    try:
        same = same_demand(a.scenario(), b.scenario())
    except UnreadableError:  # an input/output error is said, not taken for 'cannot pair'
        raise
    except Exception:  # a scenario that cannot be built: do not pair
        return False
    return same and a.manifest.get("seed") == b.manifest.get("seed")


def differences(a: Sequence[Mapping], b: Sequence[Mapping], metric: str, paired: bool) -> dict[str, float]:
    """b - a of a metric over replications: paired on the replications both ran (runs of
    different lengths on one seed share their first ones), Welch's otherwise."""
    from ..run.metrics import difference
    if paired:
        bv = {r["replication"]: r[metric] for r in b}
        common = [r for r in a if r["replication"] in bv]
        return difference([r[metric] for r in common], [bv[r["replication"]] for r in common], paired=True)
    return difference([r[metric] for r in a], [r[metric] for r in b], paired=False)


@_styled
def fig_differences(runs: Sequence[Run], metrics: Sequence[str] = HEADLINE_FIGURE) -> Figure:
    """A forest plot: each run's difference from the first, with its 95 % interval (paired by
    replication where the runs share network, demand and seed; Welch's otherwise), one panel
    per metric, a line at no difference. Shares in percentage points."""
    reps = [RunFolder(r.path).replications() for r in runs]
    paired = [paired_with(runs[0], r) for r in runs[1:]]
    metrics = [m for m in metrics if any(r.summary.get(m, {}).get("n", 0) for r in runs)]
    cols = 3
    rows = math.ceil(len(metrics) / cols)
    fig = new_figure(1.5 * rows + 1.0 + 0.15 * len(runs))
    axes = fig.subplots(rows, cols, squeeze=False)
    y = np.arange(len(runs) - 1)[::-1]
    for ax, m in zip(axes.flat, metrics):
        k = 100.0 if is_share(m) else 1.0
        for i in range(1, len(runs)):
            d = differences(reps[0], reps[i], m, paired[i - 1])
            mean, lo, hi = (k * d[c] for c in ("mean", "ci_low", "ci_high"))
            colour = SERIES[i % len(SERIES)]
            if lo == lo:
                ax.plot([lo, hi], [y[i - 1]] * 2, color=colour, lw=1.6)
            ax.plot([mean], [y[i - 1]], "o" if paired[i - 1] else "s", color=colour, ms=4)
        ax.axvline(0, color="#333333", lw=0.8)
        ax.set_title(label(m)[0])
        ax.set_xlabel(word("figure.percentage_points") if k == 100 else label(m)[1])
        ax.set_yticks([])
        ax.grid(axis="y", visible=False)
    for ax in list(axes.flat)[len(metrics):]:
        ax.set_visible(False)
    handles = [matplotlib.lines.Line2D([], [], color=SERIES[i % len(SERIES)], marker="o" if paired[i - 1] else "s",
                                       lw=1.6) for i in range(1, len(runs))]
    names = [f"{r.name} − {runs[0].name} ({word('figure.paired') if p else 'Welch'})" for r, p in zip(runs[1:], paired)]
    _legend(fig, handles, names, ncol=min(len(names), 2))
    fig.suptitle(word("figure.differences", name=runs[0].name))
    return fig


@_styled
def _fig_shares(runs: Sequence[Run], parts: Sequence[str], prefix: str, colours: dict, title: str,
                xlabel: str, names: Mapping[str, str] | None = None) -> Figure:
    fig = new_figure(1.2 + 0.45 * len(runs))
    ax = fig.subplots()
    y = np.arange(len(runs))[::-1]
    left = np.zeros(len(runs))
    for part in parts:
        vals = np.array([r.summary[f"{prefix}.{part}"]["mean"] for r in runs], dtype=float)
        vals = np.nan_to_num(vals)
        ax.barh(y, vals, 0.6, left=left, color=colours[part], label=(names or {}).get(part, part),
                edgecolor="white", linewidth=0.8)
        for yi, v, l0 in zip(y, vals, left):
            if v >= 0.06:
                dark = colours[part] in (OKABE_ITO["blue"], OKABE_ITO["vermillion"], OKABE_ITO["green"],
                                         OKABE_ITO["purple"])
                ax.text(l0 + v / 2, yi, f"{v:.0%}", ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")
        left += vals
    ax.set_yticks(y, [r.name for r in runs])
    ax.set_xlim(0, 1)
    ax.set_xlabel(xlabel)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.grid(axis="y", visible=False)
    fig.legend(loc="outside lower center", ncol=len(parts), frameon=False)
    fig.suptitle(title)
    return fig


def fig_ended_by(runs: Sequence[Run]) -> Figure:
    """Who ends violations: stacked shares per run (means across replications)."""
    return _fig_shares(runs, ENDERS, "ended_by", ENDER_COLOURS, word("figure.ended_by"),
                       word("figure.share_of_violations"), {w: word(f"ender.{w}") for w in ENDERS})


def fig_violation_mix(runs: Sequence[Run]) -> Figure:
    """Violation mix: stacked shares by kind per run."""
    return _fig_shares(runs, KINDS, "violation_mix", KIND_COLOURS, word("figure.violation_mix"),
                       word("figure.share_of_violations"), {k: word(f"kind.{k}") for k in KINDS})


@_styled
def fig_noisy_ecdf(runs: Sequence[Run]) -> Figure:
    """ECDF over trains (all replications) of the share of running time with a violation."""
    fig = new_figure(3.4)
    ax = fig.subplots()
    for i, r in enumerate(runs):
        x = np.sort(r.trains["noisy_time_share"].dropna().to_numpy(dtype=float))
        if len(x) == 0:
            continue
        y = np.arange(1, len(x) + 1) / len(x)
        med = float(np.median(x))
        ax.step(np.r_[0, x], np.r_[0, y], where="post", color=SERIES[i % len(SERIES)], lw=1.6,
                label=word("ecdf.series", name=r.name, median=f"{med:.0%}", trains=f"{len(x):,}"))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_xlabel(word("ecdf.x"))
    ax.set_ylabel(word("ecdf.y"))
    if ax.get_legend_handles_labels()[0]:  # none without a quiet car
        ax.legend(loc="lower right", frameon=False)
    fig.suptitle(word("ecdf.title"))
    return fig


# --- the timeline of one train --------------------------------------------------------------------
def pick_train(run: Run, replication: int = 0) -> int:
    """A typical yet eventful train of a replication: among trains with violations (preferably
    with both a peer reminder and a staff intervention), the one of median noisy time."""
    t = run.trains
    t = t[(t["replication"] == replication) & (t["quiet_passengers"] > 0)]
    if t.empty:
        raise PlotError(f"{run.path}: replication {replication} has no train with quiet-car passengers")
    busy = t[t["noisy_time_share"] > 0]
    rich = busy[(busy["staff_interventions_per_train"] > 0) & (busy["ended_by.peer"] > 0)]
    pool = rich if len(rich) else busy if len(busy) else t
    pool = pool.sort_values(["noisy_time_share", "train"])
    return int(pool.iloc[(len(pool) - 1) // 2]["train"])


@dataclass
class Timeline:
    """What the timeline figure needs: the train, its passengers and its trace."""
    spec: Any
    result: Any
    trace: list
    seed: int
    replication: int


def simulate_timeline(scenario, seed: int, replication: int, train: int) -> Timeline:
    from ..run.runner import network_day, simulate_one
    specs = network_day(scenario, seed, replication)
    if not 0 <= train < len(specs):
        raise PlotError(f"--train {train}: the day has trains 0 to {len(specs) - 1}")
    log: list = []
    result = simulate_one(scenario, specs[train], seed, replication, trace=log)
    return Timeline(specs[train], result, log, seed, replication)


def _hours(minutes: float) -> str:
    h, m = divmod(int(round(minutes)), 60)
    return f"{h} h {m:02d} min" if h else f"{m} min"


@_styled
def fig_timeline(tl: Timeline, name: str = "") -> Figure:
    """Seats x time of one train's quiet car(s): who sits where, who is noisy when (by kind),
    reminders, complaints, staff interventions and patrol passes."""
    spec, res = tl.spec, tl.result
    pax, ob = res.passengers, res.onboard
    offsets = np.cumsum((0,) + tuple(s + 4 for s in spec.quiet_seats))
    seats_total = int(offsets[-1])
    fig = new_figure(min(9.0, max(4.2, 2.2 + 0.032 * seats_total)))
    ax = fig.subplots()
    y_of = offsets[pax.car] + pax.seat
    pt_per_seat = 72 * (fig.get_figheight() - 1.9) / seats_total
    lw_seat = max(0.6, 0.75 * pt_per_seat)
    opt = pax.optin
    ax.hlines(y_of[opt], ob.board_time[opt], ob.alight_time[opt], color="#C8C8C8", lw=lw_seat,
              label=word("timeline.seated_optin"))
    if (~opt).any():
        ax.hlines(y_of[~opt], ob.board_time[~opt], ob.alight_time[~opt], color="#F3D9A6", lw=lw_seat,
                  label=word("timeline.seated_overflow"))
    for k in KINDS:
        vs = [v for v in ob.violations if not v.control and v.kind == k]
        if vs:
            ax.hlines([y_of[v.pax] for v in vs], [v.start for v in vs], [v.end for v in vs],
                      color=KIND_COLOURS[k], lw=max(1.2, 1.1 * pt_per_seat), label=word("timeline.violation", kind=word(f"kind.{k}")), zorder=5)
    marks = {"reminder_ok": ("v", OKABE_ITO["green"], word("timeline.reminder_ok")),
             "reminder_failed": ("x", OKABE_ITO["green"], word("timeline.reminder_failed")),
             "complaint": ("*", OKABE_ITO["black"], word("timeline.complaint")),
             "intervene": ("D", OKABE_ITO["vermillion"], word("timeline.intervene")),
             "moved": ("s", "#777777", word("timeline.moved"))}
    for what, (marker, colour, text) in marks.items():
        ev = [(e.minute, y_of[e.pax]) for e in tl.trace if e.what == what and not e.control and e.pax >= 0]
        if ev:
            t, y = zip(*ev)
            style = {"linewidths": 1.2} if marker == "x" else {"linewidths": 0.4, "edgecolors": "white"}
            ax.scatter(t, y, marker=marker, s=45 if marker == "*" else 18, color=colour, zorder=6, label=text,
                       **style)
    first = True
    entered: dict[int, float] = {}  # patroller -> when it entered the car it is walking through
    for e in tl.trace:  # a pass through a car: in at the door (patrol), out at the last row (patrol_out)
        if e.control or e.what not in ("patrol", "patrol_out"):
            continue
        if e.what == "patrol":
            entered[e.staff] = e.minute
            continue
        y0, y1 = offsets[e.car] - 0.5, offsets[e.car] + spec.quiet_seats[e.car] - 0.5
        ax.plot([entered.pop(e.staff), e.minute], [y0, y1], color=OKABE_ITO["black"], lw=0.9, ls="--",
                label=word("timeline.patrol") if first else None, zorder=3)
        first = False
    for ts in spec.stop_times()[1:-1]:
        ax.axvline(ts, color="#555555", lw=0.8, ls=":", zorder=2)
    for c in range(1, len(spec.quiet_seats)):
        ax.axhline(offsets[c] - 2.5, color="#555555", lw=0.8)
    ax.set_xlim(0, spec.run_min)
    ax.set_ylim(seats_total - 3.5, -1)
    ticks = [offsets[c] + s for c in range(len(spec.quiet_seats)) for s in range(0, spec.quiet_seats[c], 10)]
    ax.set_yticks(ticks, [str(int(t - offsets[np.searchsorted(offsets, t, side='right') - 1])) for t in ticks])
    if len(spec.quiet_seats) > 1:
        for c in range(len(spec.quiet_seats)):
            ax.text(1.005, 1 - (offsets[c] + spec.quiet_seats[c] / 2 + 1) / (seats_total - 2.5),
                    word("timeline.car", n=c + 1), transform=ax.transAxes, rotation=90, va="center", ha="left", fontsize=8)
    ax.set_xlabel(word("timeline.x"))
    ax.set_ylabel(word("timeline.y"))
    ax.grid(False)
    fig.legend(loc="outside lower center", ncol=4, frameon=False, markerscale=1.3)
    head = word("timeline.title_named", name=name) if name else word("timeline.title")
    fig.suptitle(head + "\n" + word("timeline.which", train=spec.train_id, replication=tl.replication,
                                     kind=spec.kind, cars=spec.formation, hours=_hours(spec.run_min),
                                     stops=spec.stops, pax=pax.n,
                                     violations=sum(1 for v in ob.violations if not v.control)), fontsize=10)
    return fig


def run_timeline(run: Run, train: int | None = None, replication: int = 0) -> Timeline:
    seed = int(run.manifest.get("seed", 0))
    train = pick_train(run, replication) if train is None else train
    return simulate_timeline(run.scenario(), seed, replication, train)


# --- figures of experiments -----------------------------------------------------------------------
def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in values)


def _band(ax, x, s: Sequence[dict], m: str, colour: str, label_: str | None = None, marker: str = "o",
          bars: float | None = None) -> bool:
    """A curve of means with its 95 % intervals: a shaded band, or (``bars`` = horizontal offset,
    for several curves in one panel) whiskers shifted sideways so that they do not hide each other.
    Intervals are cut at the metric's possible range; returns whether any was."""
    mean = np.array([r[f"{m}.mean"] for r in s], dtype=float)
    lo, hi, cut = _cut(m, [r[f"{m}.ci_low"] for r in s], [r[f"{m}.ci_high"] for r in s])
    x = np.asarray(x, dtype=float) + (bars or 0.0)
    ax.plot(x, mean, color=colour, lw=1.6, marker=marker, ms=3.5, label=label_)
    if not np.isfinite(lo).any():
        return False
    if bars is None:
        ax.fill_between(x, lo, hi, color=colour, alpha=0.2, lw=0)
    else:
        ax.vlines(x, lo, hi, color=colour, lw=1.0, alpha=0.8)
    return cut


def _cut(m: str, lo, hi, limits: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray, bool]:
    """Intervals limited to what metric ``m`` can take (or to ``limits``); whether any was cut."""
    low, high = bounds(m) if limits is None else limits
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    cut = bool(np.any(lo < low) or np.any(hi > high))  # NaN compares False: undefined ends stay undefined
    return np.clip(lo, low, high), np.clip(hi, low, high), cut  # NaN stays NaN


def _exp_metrics(exp: ExperimentResult, wanted: Sequence[str], limit: int) -> list[str]:
    cols = exp.summary[0].keys() if exp.summary else ()
    out = [m for m in wanted if f"{m}.mean" in cols and
           np.isfinite([r[f"{m}.mean"] for r in exp.summary]).any()]
    return out[:limit]


@_styled
def fig_overflow_curve(exp: ExperimentResult) -> Figure:
    """The overflow curve: the focus metrics against mean load, with 95 % bands and the load
    at which the ordinary seats are full."""
    s = sorted(exp.summary, key=lambda r: r[OVERFLOW_KEY])
    x = np.array([r[OVERFLOW_KEY] for r in s], dtype=float)
    metrics = _exp_metrics(exp, OVERFLOW_METRICS, 4)
    fig = new_figure(5.6)
    axes = fig.subplots(2, 2, sharex=True, squeeze=False).flat
    threshold = None
    try:
        threshold = ordinary_seat_share(folder_scenario(exp.folder.path))
    except UnreadableError:  # an input/output error is said, not taken for 'no scenario'
        raise
    except Exception:  # an experiment folder without its scenario: no line
        threshold = None
    cut = False
    for i, (ax, m) in enumerate(zip(axes, metrics)):
        cut |= _band(ax, x, s, m, SERIES[i])
        title, unit = label(m)
        ax.set_title(title)
        ax.set_ylabel(unit)
        _percent(ax.yaxis, m)
        if threshold:
            ax.axvline(threshold, color="#555555", ls="--", lw=0.9)
            if i == 0:
                ax.annotate(f"ordinary seats full\n(load {threshold:.0%})", (threshold, 0.97),
                            xycoords=("data", "axes fraction"), xytext=(-4, 0), textcoords="offset points",
                            ha="right", va="top", fontsize=8, color="#333333")
        ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    for ax in list(axes)[len(metrics):]:
        ax.set_visible(False)
    for ax in list(fig.axes)[-2:]:
        ax.set_xlabel("mean demand / second-class seats (load factor)")
    m = exp.manifest
    fig.suptitle(f"The overflow curve: as demand passes the ordinary seats, who fills the quiet car and what "
                 f"it costs\n({Path(str(m.get('scenario', '?'))).stem}, {m.get('trains_per_replication', '?')} trains "
                 f"a day; mean of {m.get('replications', '?')} replications per point, band: 95 % interval)"
                 + ("\n" + word("figure.cut") if cut else ""), fontsize=10)
    return fig


@_styled
def fig_sweep(exp: ExperimentResult, key: str, metrics: Sequence[str] | None = None) -> Figure:
    """Each focus metric against one varied key. One varied key: a curve with its 95 % band;
    several keys in a factorial: one curve per combination of the others (up to 6, else their
    mean); sampled designs (LHS, Morris, Sobol'): every point with its interval."""
    metrics = list(metrics or _exp_metrics(exp, FOCUS, 6))
    keys = list(exp.design.keys)
    others = [k for k in keys if k != key]
    s = exp.summary
    numeric = _numeric([r[key] for r in s])
    cats = list(dict.fromkeys(r[key] for r in s))
    pos = (lambda v: float(v)) if numeric else (lambda v: float(cats.index(v)))
    cols = 3 if len(metrics) > 4 else 2
    rows = math.ceil(len(metrics) / cols)
    fig = new_figure(2.2 * rows + 1.0)
    axes = fig.subplots(rows, cols, sharex=True, squeeze=False)
    sampled = exp.design.method != "factorial"
    groups: dict[tuple, list[dict]] = {}
    for r in s:
        groups.setdefault(tuple(r[k] for k in others), []).append(r)
    cut = False
    for ax, m in zip(axes.flat, metrics):
        title, unit = label(m)
        if sampled:
            x = np.array([pos(r[key]) for r in s])
            mean = np.array([r[f"{m}.mean"] for r in s], dtype=float)
            lo, hi, was_cut = _cut(m, [r[f"{m}.ci_low"] for r in s], [r[f"{m}.ci_high"] for r in s])
            cut |= was_cut
            if np.isfinite(lo).any():
                ax.vlines(x, lo, hi, color="#9FB8CC", lw=0.8)
            ax.plot(x, mean, "o", ms=3, color=SERIES[0])
        elif len(groups) <= 6:
            xs = sorted({pos(r[key]) for r in s})
            step = (min(np.diff(xs)) if len(xs) > 1 else 1.0) * 0.05
            for i, (g, rs) in enumerate(groups.items()):
                rs = sorted(rs, key=lambda r: pos(r[key]))
                name = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in zip(others, g)) or None
                dodge = None if len(groups) <= 2 else (i - (len(groups) - 1) / 2) * step
                cut |= _band(ax, [pos(r[key]) for r in rs], rs, m, SERIES[i % len(SERIES)], name, bars=dodge)
        else:
            xs = sorted({pos(r[key]) for r in s})
            mean = [np.nanmean([r[f"{m}.mean"] for r in s if pos(r[key]) == xv]) for xv in xs]
            ax.plot(xs, mean, color=SERIES[0], marker="o", ms=3.5, lw=1.6,
                    label=f"mean over the other keys ({len(groups)} combinations)")
        ax.set_title(title)
        ax.set_ylabel(unit)
        _percent(ax.yaxis, m)
        if not numeric:
            ax.set_xticks(range(len(cats)), [str(c) for c in cats], rotation=20, ha="right")
    for ax in list(axes.flat)[len(metrics):]:
        ax.set_visible(False)
    bottom = [axes[-1][c] if axes[-1][c].get_visible() else axes[-2][c] for c in range(cols)] if rows > 1 \
        else list(axes[-1])
    bottom[(cols - 1) // 2 if cols % 2 else 0].set_xlabel(key_label(key))  # one label: the axes share x
    h, lab = axes.flat[0].get_legend_handles_labels()
    if lab:
        _legend(fig, h, lab, ncol=min(len(lab), 3))
    how = {"factorial": "full factorial", "lhs": "Latin hypercube", "morris": "Morris design",
           "sobol": "Sobol' design"}.get(exp.design.method, exp.design.method)
    n = exp.manifest.get("replications", "?")
    band = "bands" if not sampled and len(groups) <= 2 else "whiskers"
    fig.suptitle(f"Sweep over {key}\n({how}, {len(s)} points, {n} replications each; {band}: 95 % interval)"
                 + ("\n" + word("figure.cut") if cut else ""), fontsize=10)
    return fig


@_styled
def fig_sensitivity(exp: ExperimentResult, metrics: Sequence[str] | None = None) -> Figure:
    """Sensitivity indices with their 95 % bootstrap intervals, one panel per metric:
    Morris mu* (the metric's change across a parameter's range), or Sobol' S1 and ST."""
    import pandas as pd
    df = pd.read_csv(exp.folder.path / SENSITIVITY)
    method = str(df["method"].iloc[0]) if len(df) else exp.design.method
    main = "mu_star" if method == "morris" else "ST"
    have = list(dict.fromkeys(df["metric"]))
    metrics = [m for m in (metrics or FOCUS) if m in have][:6] or have[:6]
    if not metrics:
        raise PlotError(f"{exp.folder.path}: no metric varied enough to analyse")
    params = list(dict.fromkeys(df["parameter"]))
    # order parameters by their importance summed over the panels (each panel scaled to its max)
    d = df[(df["index"] == main) & df["metric"].isin(metrics)]
    score = {p: 0.0 for p in params}
    for m in metrics:
        dm = d[d["metric"] == m]
        top = dm["value"].abs().max() or 1.0
        for p, v in zip(dm["parameter"], dm["value"]):
            score[p] += abs(v) / top
    params.sort(key=lambda p: score[p])
    cols = 2 if len(metrics) > 1 else 1
    rows = math.ceil(len(metrics) / cols)
    fig = new_figure(max(3.0, rows * (0.9 + 0.32 * len(params)) + 0.9))
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
    y = np.arange(len(params))
    shown = ["S1", "ST"] if method == "sobol" else ["mu_star"]
    names = {"S1": "first-order S1", "ST": "total ST", "mu_star": "mu* (mean |elementary effect|)"}
    colours = {"S1": SERIES[4], "ST": SERIES[0], "mu_star": SERIES[0]}
    height = 0.8 / len(shown)
    cut = False
    for ax, m in zip(axes.flat, metrics):
        for j, ix in enumerate(shown):
            dd = df[(df["metric"] == m) & (df["index"] == ix)].set_index("parameter")
            v = np.array([dd["value"].get(p, np.nan) for p in params], dtype=float)
            lo, hi, was_cut = _cut(m, [dd["ci_low"].get(p, np.nan) for p in params],
                                   [dd["ci_high"].get(p, np.nan) for p in params], INDEX_BOUNDS[ix])
            cut |= was_cut
            off = (j - (len(shown) - 1) / 2) * height
            ax.barh(y + off, v, height * 0.9, color=colours[ix], label=names[ix])
            ok = np.isfinite(lo) & np.isfinite(hi)  # the interval itself, from low to high (not around v)
            ax.hlines((y + off)[ok], lo[ok], hi[ok], color="#333333", lw=0.8)
            ax.plot(np.r_[lo[ok], hi[ok]], np.r_[(y + off)[ok], (y + off)[ok]], "|", color="#333333", ms=4)
        title, unit = label(m)
        ax.set_title(title)
        ax.set_xlabel(f"mu*, {unit}" if method == "morris" else "share of the metric's variance")
        if method == "morris":
            _percent(ax.xaxis, m)
        ax.axvline(0, color="#333333", lw=0.6)
        ax.grid(axis="y", visible=False)
    axes[0][0].set_yticks(y, params)
    for ax in list(axes.flat)[len(metrics):]:
        ax.set_visible(False)
    h, lab = axes.flat[0].get_legend_handles_labels()
    _legend(fig, h, lab)
    n = exp.manifest.get("replications", "?")
    how = "Morris screening, mu*" if method == "morris" else "Sobol' indices"
    fig.suptitle(f"Which assumptions matter: {how}\n({len(exp.summary)} points x {n} replications; "
                 f"whiskers: 95 % bootstrap interval)"
                 + ("\n" + word("figure.cut_index") if cut else ""), fontsize=10)
    return fig


# --- everything for a list of folders -------------------------------------------------------------
def figures(coll: Collection, train: int | None = None) -> list[tuple[str, Figure]]:
    """Every figure that fits the folders: (file name without extension, figure)."""
    out: list[tuple[str, Figure]] = []
    runs = coll.runs
    if runs:
        out.append(("headline", fig_headline(runs)))
        out.append(("ended_by", fig_ended_by(runs)))
        out.append(("violation_mix", fig_violation_mix(runs)))
        out.append(("noisy_time_ecdf", fig_noisy_ecdf(runs)))
        if len(runs) > 1:
            out.append(("differences", fig_differences(runs)))
        # the same train in every run's timeline: the first run's typical eventful train
        with_quiet = [r for r in runs if (r.trains["quiet_passengers"] > 0).any()]
        same = train if train is not None else pick_train(with_quiet[0]) if with_quiet else None
        for r in runs:
            name = "timeline" if len(runs) == 1 else f"timeline-{slug(r.name)}"
            if train is None and not (r.trains["quiet_passengers"] > 0).any():
                continue  # no quiet-car traveller at all (e.g. no quiet car): no journey to draw
            ids = set(r.trains.loc[r.trains["replication"] == 0, "train"])
            out.append((name, fig_timeline(run_timeline(r, same if same in ids else None),
                                           r.name if len(runs) > 1 else "")))
    for exp in coll.experiments:
        prefix = "" if len(coll.experiments) == 1 and not runs else f"{slug(exp.folder.path.name)}-"
        keys = list(exp.design.keys)
        if keys == [OVERFLOW_KEY] and exp.design.method == "factorial":
            out.append((f"{prefix}overflow_curve", fig_overflow_curve(exp)))
        for k in keys:
            out.append((f"{prefix}sweep-{slug(k)}", fig_sweep(exp, k)))
        if (exp.folder.path / SENSITIVITY).exists():
            out.append((f"{prefix}sensitivity", fig_sensitivity(exp)))
    return out


def default_figure_folder(paths: Sequence[str | Path]) -> Path:
    """One folder: its figures/. Several: figures/ in their common parent."""
    ps = [Path(p).resolve() for p in paths]
    if len(ps) == 1:
        return ps[0] / "figures"
    return Path(os.path.commonpath(ps)) / "figures"


def plot_paths(paths: Sequence[str | Path], out: str | Path | None = None, train: int | None = None) -> list[Path]:
    """Make and save every figure for some results folders; return the files written."""
    coll = collect(paths)
    folder = Path(out) if out else default_figure_folder(paths)
    written: list[Path] = []
    for name, fig in figures(coll, train):
        written += save(fig, folder, name)
    return written

