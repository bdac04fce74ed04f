"""Researchers' commands: ``sweep``, ``sensitivity``, ``plot``, ``report`` and ``calibrate``.

Module-level :class:`click.Command` objects, registered in the ``quietcar`` group by
:mod:`sim.cli`. Heavy imports (matplotlib, SALib, pandas)
happen inside the commands, so that importing this module stays cheap.
"""
from __future__ import annotations

import functools
import math
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import click

from ..experiments import (OVERFLOW_KEY, DesignError, ExperimentFolder, ExperimentResult, check_unique,
                          factorial, latin_hypercube, morris_design, overflow_factor, parse_levels, parse_range,
                          point_scenarios, run_sensitivity, run_sweep, sobol_design)
from ..run.results import ResultsError
from ..run.runner import default_workers
from ..scenario import Scenario
from ..present import labels
from ..run.design_checks import design_warnings
from ..present.labels import number as fmt
from .common import (CONTEXT, POSTERIOR_HELP, InputError, PosteriorRun, allow_large_option, check_points,
                     default_out, engine_option, guard, lang_option, load_scenario, progress_bar)
from .console import WIDTH, clip, columns, grid, overrides_line, warning

SEED_HELP = "Root seed: the same scenario and seed give the same numbers [default: the scenario's run.seed]."
WORKERS_HELP = "Worker processes [default: all cores]. Results do not depend on it."
SET_HELP = ("Override a key of the base scenario, e.g. --set network.trains=200 (repeatable; validated like "
            "the file).")


def input_error(message: str) -> click.ClickException:
    """Bad input: exit status 2 with the message."""
    return InputError(message)


OUT_HELP = ("Experiment folder [default: results/{kind}-<scenario>-...-s<seed>-n<replications>, then a tag "
            "of the design and overrides].")
RESUME_HELP = "Complete an interrupted experiment in --out (or reuse a finished one) instead of refusing."
FORCE_HELP = "Overwrite an experiment folder that holds another experiment."
#: Metrics printed after a sweep, with short headers (every metric is in the CSV files).
#: The metrics of a sweep's point table (short names: ``short.<metric>`` of sim.present.labels.WORDS).
SHOWN_METRICS = ("overflow_share", "violations_per_100_pax_h", "noisy_time_share", "disturbed_pax_min_per_pax_h",
                 "optin.disturbed_pax_min_per_pax_h")


def _shown() -> tuple[tuple[str, str], ...]:
    """(metric, its short name in the language chosen) for the point table."""
    return tuple((m, labels.word(f"short.{m}")) for m in SHOWN_METRICS)


def experiment_options(f: Callable) -> Callable:
    """-n, --seed, --workers, --scheduler, --engine and --set, as on run and compare (-n per point)."""
    f = engine_option(f)
    f = click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=SET_HELP)(f)
    f = click.option("--scheduler", default=None, metavar="ADDRESS",
                     help="Run the trains on a Dask cluster: a scheduler ADDRESS or 'local' (needs the dask "
                          "extra). Same results. Gives up after 5 s if it cannot be reached "
                          "(QUIETCAR_SCHEDULER_TIMEOUT=SECONDS).")(f)
    f = click.option("--workers", type=click.IntRange(1), default=None, help=WORKERS_HELP)(f)
    f = click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=None, help=SEED_HELP)(f)
    f = click.option("-n", "--replications", type=click.IntRange(1, 100_000), default=None,
                     help="Replications per point, on the same seeds at every point [default: the scenario's "
                          "run.replications].")(f)
    return f


def folder_options(kind: str) -> Callable[[Callable], Callable]:
    """--out, --resume, --force and --no-plots of an experiment folder."""
    def apply(f: Callable) -> Callable:
        f = click.option("--no-plots", is_flag=True,
                         help="Do not draw the figures (draw them later with quietcar plot).")(f)
        f = click.option("--force", is_flag=True, help=FORCE_HELP)(f)
        f = click.option("--resume", is_flag=True, help=RESUME_HELP)(f)
        return click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
                            help=OUT_HELP.format(kind=kind))(f)
    return apply


def _design_error(fn: Callable) -> Callable:
    """Turn design errors into input errors (exit 2) with the option and key named."""
    @functools.wraps(fn)
    def wrapper(*a, **kw):
        try:
            return fn(*a, **kw)
        except (DesignError, ResultsError) as e:
            raise input_error(str(e)) from None
    return wrapper


def _run_experiment(runner: Callable[..., ExperimentResult], folder: ExperimentFolder, base: Scenario, design,
                    seed: int, n: int, workers: int, *, resume: bool, force: bool, label: str,
                    scheduler: str | None = None, overrides: Sequence[str] = (),
                    warnings: Sequence[str] = (), engine: str = "compiled", **extra) -> ExperimentResult:
    created = not folder.path.exists() and not folder.path.is_symlink()
    on_disk = lambda: f"{len(folder.finished())} of {len(design.points)} points are on disk in {folder.path}"  # noqa: E731
    with progress_bar(label, on_disk, "experiment") as progress:
        try:
            try:
                return runner(folder, base, design, seed, n, workers, resume=resume, force=force,
                              scheduler=scheduler, on_start=progress.start, on_trains=progress,
                              extra={"overrides": list(overrides), "warnings": list(warnings)}, engine=engine,
                              **extra)
            except BaseException:
                if created and not folder.finished():
                    shutil.rmtree(folder.path, ignore_errors=True)  # nothing finished: leave nothing behind
                raise
            finally:
                folder.release()
        except (DesignError, ResultsError) as e:
            raise input_error(str(e)) from None
        except RuntimeError as e:
            if "--scheduler" in str(e):  # Dask is not installed: say how to get it
                raise input_error(str(e)) from None
            raise


def _plots(paths: Sequence[Path], out: Path | None = None, train: int | None = None) -> list[Path]:
    from ..present.plots import PlotError, plot_paths
    try:
        return plot_paths(paths, out, train)
    except (PlotError, DesignError, ResultsError) as e:
        raise input_error(str(e)) from None


def _defaults(sc: Scenario, seed: int | None, n: int | None, workers: int | None) -> tuple[int, int, int]:
    return (sc.run.seed if seed is None else seed, sc.run.replications if n is None else n,
            workers or default_workers())


def _short(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def _predictive_note(result: ExperimentResult, shown: Sequence[tuple[str, str]] | None = None) -> str:
    """With a posterior: each point's total predictive interval and which part dominates."""
    shown = shown or _shown()
    lines = ["", "total predictive 95 % intervals (parameters drawn from the posterior; Monte-Carlo above):"]
    for s in result.summary[:40]:
        cells = []
        for m, h in shown:
            lo, hi, dom = s.get(f"{m}.pred_low"), s.get(f"{m}.pred_high"), s.get(f"{m}.dominates")
            if lo is not None and lo == lo:
                cells.append(f"{h} [{fmt(lo)}, {fmt(hi)}] ({'parameters' if dom == 'parameters' else 'noise'})")
        lines.append(f"point {s['point']}: " + "; ".join(cells))
    return "\n".join(lines)


def _point_table(result: ExperimentResult, shown: Sequence[tuple[str, str]] | None = None, limit: int = 40) -> str:
    """Each point's values and a few metrics as mean ± half-width of the 95 % interval, in the
    metrics' units (shares in per cent); as many metrics as fit in the console's width."""
    shown = shown or _shown()
    keys = list(result.design.keys)
    head = ["point", *(_short(k) for k in keys)]
    cols = [[str(s["point"]), *(labels.number(s[k]) if isinstance(s[k], float) else str(s[k]) for k in keys)]
            for s in result.summary[:limit]]
    used = sum(max(len(h), *(len(c[i]) for c in cols)) + 2 for i, h in enumerate(head))
    for m, h in shown:
        share = labels.is_share(m)
        cells = []
        for s in result.summary[:limit]:
            mean, lo, hi = s[f"{m}.mean"], s[f"{m}.ci_low"], s[f"{m}.ci_high"]
            k = 100 if share else 1
            cells.append(f"{labels.number(k * mean)} ± {labels.number(k * (hi - lo) / 2)}" if lo == lo
                         else labels.number(k * mean))
        title = f"{h} ({labels.unit(m)})" if share else h
        width = max(columns(title), *(len(c) for c in cells)) + 2
        if used + width > WIDTH:
            break
        used += width
        head.append(title)
        for c, cell in zip(cols, cells):
            c.append(cell)
    lines = grid([head, *cols])
    if len(result.summary) > limit:
        lines.append(f"... {len(result.summary) - limit} more points in sweep_summary.csv")
    lines.append(f"(mean over {result.manifest.get('replications', '?')} replications ± half-width of its 95 % "
                 f"interval;\n every metric of every point: sweep_summary.csv)")
    return "\n".join(lines)


# --- sweep -----------------------------------------------------------------------------------------
@click.command("sweep", context_settings=CONTEXT)
@click.argument("scenario")
@click.option("--vary", "varies", multiple=True, metavar="KEY=LEVELS",
              help="A key and its levels: KEY=V1,V2,... or KEY=LOW:HIGH:K (K evenly spaced levels); with --lhs, "
                   "KEY=LOW:HIGH. Repeat for more keys (a full factorial: every combination).")
@click.option("--lhs", type=click.IntRange(2, 100_000), default=None, metavar="K",
              help="Instead of a factorial, a Latin hypercube of K points over the --vary ranges "
                   "(drawn from the seed: the same seed gives the same points).")
@click.option("--overflow-curve", is_flag=True,
              help=f"The built-in overflow curve: {OVERFLOW_KEY} from 0.5 to 1.5 in steps of 0.1.")
@click.option("--posterior", type=click.Path(path_type=Path), default=None, metavar="CAL",
              help=POSTERIOR_HELP.replace("every scenario of a comparison", "every point") + " The point's "
                   "values win over the posterior.")
@experiment_options
@folder_options("sweep")
@allow_large_option
@_design_error
@lang_option
def sweep(scenario: str, varies: tuple[str, ...], lhs: int | None, overflow_curve: bool, replications: int | None,
          seed: int | None, workers: int | None, overrides: tuple[str, ...], out: Path | None, resume: bool,
          force: bool, no_plots: bool, scheduler: str | None = None, allow_large: bool = False,
          engine: str = "compiled", posterior: Path | None = None) -> None:
    """Run SCENARIO at many points, varying some keys, on the same seeds at every point.

    Every point runs the same replications (-n) with the same seed, so differences between
    points are parameter effects, not new random draws; each point reports the mean of its
    replications with a 95 % interval (the noise). Writes sweep.csv (one row per point and
    replication), sweep_summary.csv (one row per point: mean, sd and interval of every
    metric) and figures/ (one chart per varied key; the overflow curve when demand is
    varied). See docs/research.md.

    \b
    Examples:
      quietcar sweep expansion --overflow-curve -n 5 --set network.trains=300 --out results/overflow-curve
      quietcar sweep expansion --vary booking.overflow=never,when_sold_out \\
          --vary network.load_factor_mean=0.6:1.4:5 -n 5 --set network.trains=200
      quietcar sweep pilot --lhs 20 --vary behaviour.contagion=0:1 \\
          --vary staff.patrol_interval=15:60 -n 3 --set network.trains=50
    """
    sc = load_scenario(scenario, overrides)
    seed, n, workers = _defaults(sc, seed, replications, workers)
    if overflow_curve:
        if varies or lhs:
            raise input_error("--overflow-curve is a sweep of its own; give it without --vary and --lhs")
        factors = [overflow_factor(sc)]
    elif not varies:
        raise input_error("sweep needs --vary KEY=V1,V2,... (or --overflow-curve); see quietcar sweep --help")
    elif lhs:
        factors = [parse_range(sc, v) for v in varies]
    else:
        factors = [parse_levels(sc, v) for v in varies]
    check_unique(factors, "--vary")
    if not lhs:
        check_points(math.prod(len(f.levels) for f in factors), "--vary", allow_large)
    design = latin_hypercube(factors, lhs, seed) if lhs else factorial(factors)
    points = point_scenarios(sc, design)  # every level valid before anything runs
    guard(points, n, workers, allow_large, len(points))
    draws = PosteriorRun(scenario, overrides, posterior, seed).sweep_draws(design) if posterior else None
    stem = Path(sc.source).stem
    name = "overflow-curve" if overflow_curve else "sweep-" + "-".join(_short(f.key) for f in factors)
    out = out or default_out(name, stem, f"s{seed}", f"n{n}", overrides=[*overrides, *varies, *(
        [f"lhs={lhs}"] if lhs else []), *([f"posterior={posterior}"] if posterior else [])])
    total = len(design.points) * n * sc.network.trains
    click.echo(f"{Path(sc.source).stem}: {len(design.points)} points x {n} replications x {sc.network.trains} trains "
               f"= {total:,} trains, seed {seed}, {workers} workers", err=True)
    result = _run_experiment(run_sweep, ExperimentFolder(out), sc, design, seed, n, workers, resume=resume,
                             force=force, label=f"{name}: {len(design.points)} points", scheduler=scheduler,
                             overrides=overrides, warnings=design_warnings(n), engine=engine, posterior=draws)
    click.echo(overrides_line(overrides))
    for w in result.manifest.get("warnings") or []:
        click.echo(warning(w), err=True)
    click.echo(_point_table(result))
    if posterior:
        click.echo(_predictive_note(result))
    if not no_plots:
        figs = _plots([out])
        click.echo(f"\nfigures: {len(figs) // 2} in {figs[0].parent}" if figs else "")
    click.echo(f"\nresults: {out}\n(sweep.csv: every replication; sweep_summary.csv: mean and 95 % interval "
               f"per point)")


# --- sensitivity ----------------------------------------------------------------------------------------
def _ranking(rows: Sequence[dict], noise: Sequence[dict], method: str, metrics: Sequence[str]) -> str:
    """Per metric (by its plain name and unit), the parameters ranked by their main index,
    with intervals, replication noise and (Sobol') S1; lines fit the console's width."""
    main = "mu_star" if method == "morris" else "ST"
    shown = "mu*" if method == "morris" else "ST"
    lines = []
    noise_by = {r["metric"]: r for r in noise}
    for m in metrics:
        nr = noise_by.get(m)
        if nr is None:
            continue
        # mu* is a change of the metric (shares: in percentage points); ST and S1 are shares of variance
        k = 100 if method == "morris" and labels.is_share(m) else 1
        unit = ((labels.word("figure.percentage_points") if k == 100 else labels.unit(m) or labels.word("unit.ratio"))
                if method == "morris" else labels.word("unit.variance_shares"))
        title = clip(f"{labels.label(m)[0]} ({m}; {shown} in {unit})", WIDTH)
        if nr["status"] != "ok":
            lines.append(f"\n{title}: not analysed ({nr['status']})")
            continue
        lines.append(f"\n{title}")
        rs = sorted((r for r in rows if r["metric"] == m and r["index"] == main),
                    key=lambda r: -abs(r["value"]) if r["value"] == r["value"] else math.inf)
        s1 = {r["parameter"]: r for r in rows if r["metric"] == m and r["index"] == "S1"}
        table = []
        for r in rs:
            cells = [f"  {r['parameter']}", f"{shown} {_index_interval(main, r, k)}",
                     f"noise ± {labels.number(k * r['noise_se'])}" if r["noise_se"] == r["noise_se"] else ""]
            if s1:
                q = s1.get(r["parameter"])
                cells.append(f"S1 {_index_interval('S1', q)}" if q else "")
            table.append(cells)
        lines += grid(table)
    if any(labels.CUT_MARK in line for line in lines):
        lines.append(clip(f"{labels.CUT_MARK} {labels.word('note.cut_index')}", WIDTH))
    return "\n".join(lines)


def _index_interval(index: str, r: dict, k: float = 1) -> str:
    """'value [low, high]' of a sensitivity index, the interval cut (and marked) at the index's range."""
    from ..experiments import cut_index
    lo, hi, cut = cut_index(index, r["ci_low"], r["ci_high"])
    return (f"{labels.number(k * r['value'])} [{labels.number(k * lo)}, {labels.number(k * hi)}]"
            f"{labels.CUT_MARK if cut else ''}")


@click.command("sensitivity", context_settings=CONTEXT)
@click.argument("scenario")
@click.option("--param", "params", multiple=True, required=True, metavar="KEY=LOW:HIGH",
              help="A numeric scenario key and the range it may take (repeat for each parameter).")
@click.option("--method", type=click.Choice(["morris", "sobol"]), default="morris", show_default=True,
              help="morris: cheap screening (ranks parameters; mu* with intervals). sobol: variance shares "
                   "S1 and ST (costlier; needs more points).")
@click.option("--samples", type=click.IntRange(2, 1_000_000), default=None, metavar="N",
              help="morris: trajectories [default 10] (points = N x (params + 1)); sobol: base samples, a power "
                   "of 2 [default 64] (points = N x (params + 2), or N x (2 params + 2) with --second-order).")
@click.option("--levels", type=click.IntRange(2, 100), default=4, show_default=True,
              help="morris: grid levels per range.")
@click.option("--second-order", is_flag=True, help="sobol: also the pairwise interaction indices S2.")
@experiment_options
@folder_options("sensitivity")
@allow_large_option
@_design_error
@lang_option
def sensitivity(scenario: str, params: tuple[str, ...], method: str, samples: int | None, levels: int,
                second_order: bool, replications: int | None, seed: int | None, workers: int | None,
                overrides: tuple[str, ...], out: Path | None, resume: bool, force: bool, no_plots: bool,
                scheduler: str | None = None, allow_large: bool = False,
                engine: str = "compiled") -> None:
    """Global sensitivity of every metric to some parameters of SCENARIO (SALib).

    The parameters are sampled over their ranges by a Morris or Sobol' design; every point
    runs -n replications on the same seeds (common random numbers) and its value of a metric
    is their mean. Indices come with 95 % bootstrap intervals; the replication noise is set
    against the spread between points (noise share), so that a small index is not mistaken
    for noise or the other way round. Writes sensitivity.csv, sensitivity_noise.csv, the
    points (sweep.csv, sweep_summary.csv) and figures/. See docs/research.md.

    \b
    Examples:
      quietcar sensitivity expansion --param behaviour.contagion=0:1 \\
          --param behaviour.commitment=0.05:0.5 --param network.load_factor_mean=0.6:1.3 \\
          -n 3 --set network.trains=100 --out results/sensitivity-expansion
      quietcar sensitivity pilot --method sobol --samples 64 \\
          --param behaviour.contagion=0:1 --param staff.patrol_interval=15:60 -n 2 --set network.trains=40
    """
    sc = load_scenario(scenario, overrides)
    seed, n, workers = _defaults(sc, seed, replications, workers)
    factors = [parse_range(sc, p, "--param") for p in params]
    check_unique(factors, "--param")
    k = samples or (10 if method == "morris" else 64)
    check_points(k * (len(factors) + 1 if method == "morris" else (2 * len(factors) + 2 if second_order
                                                                     else len(factors) + 2)),
                 "--samples", allow_large)
    if method == "morris":
        design = morris_design(factors, samples or 10, levels, seed)
    else:
        design = sobol_design(factors, samples or 64, second_order, seed)
    points = point_scenarios(sc, design)
    guard(points, n, workers, allow_large, len(points))
    out = out or default_out("sensitivity", Path(sc.source).stem, method, f"s{seed}", f"n{n}", overrides=[
        *overrides, *params, *([f"samples={samples}"] if samples else []), *(
            [f"levels={levels}"] if method == "morris" and levels != 4 else []), *(
            ["second-order"] if second_order else [])])
    total = len(design.points) * n * sc.network.trains
    click.echo(f"{Path(sc.source).stem}: {method}, {len(factors)} parameters, {len(design.points)} points x {n} "
               f"replications x {sc.network.trains} trains\n= {total:,} trains, seed {seed}, {workers} workers",
               err=True)
    result = _run_experiment(run_sensitivity, ExperimentFolder(out), sc, design, seed, n, workers, resume=resume,
                             force=force, label=f"sensitivity: {len(design.points)} points", scheduler=scheduler,
                             overrides=overrides, warnings=design_warnings(n, method, k), engine=engine)
    click.echo(overrides_line(overrides))
    for w in result.manifest.get("warnings") or []:
        click.echo(warning(w), err=True)
    import pandas as pd
    rows = pd.read_csv(out / "sensitivity.csv").to_dict("records")
    noise = pd.read_csv(out / "sensitivity_noise.csv").to_dict("records")
    from ..present.plots import FOCUS
    click.echo(("mu* = mean |change of the metric| across a parameter's range" if method == "morris" else
                "ST = share of the metric's variance involving the parameter; S1 = by the parameter alone")
               + "; [95 % bootstrap interval]")
    click.echo(_ranking(rows, noise, method, FOCUS))
    if not no_plots:
        figs = _plots([out])
        click.echo(f"\nfigures: {len(figs) // 2} in {figs[0].parent}" if figs else "")
    click.echo(f"\nresults: {out}\n(sensitivity.csv: indices; sensitivity_noise.csv: noise vs spread; "
               f"sweep_summary.csv: the points)")
    del result


# --- plot and report -------------------------------------------------------------------------------
@click.command("plot", context_settings=CONTEXT)
@click.argument("results_dirs", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the figures [default: RESULTS_DIR/figures; for several folders, figures/ "
                   "in their common parent].")
@click.option("--train", type=click.IntRange(0), default=None,
              help="Train (id in replication 0) for the timeline [default: a typical eventful one].")
@lang_option
def plot(results_dirs: tuple[Path, ...], out: Path | None, train: int | None) -> None:
    """Draw the figures of results folders (PNG and SVG).

    RESULTS_DIRS are folders written by run, compare, sweep, sensitivity or calibrate. Runs
    (several runs, or a compare folder, are drawn side by side): headline metrics with 95 %
    intervals, who ends violations, the violation mix, the distribution over trains of
    noisy time, and the timeline of one train. Sweeps: a chart per varied key, and the
    overflow curve when demand was varied. Sensitivity: the indices with their intervals.
    A calibration: the posterior marginals, pairs, and each target's posterior predictive.

    \b
    Examples:
      quietcar plot results/compare-pilot-expansion-s2024-n10
      quietcar plot results/pilot-s2024-n20 results/compare-pilot-expansion-s2024-n10 --out figures/
      quietcar plot results/overflow-curve
    """
    from ..run.results import read_manifest
    cals = [d for d in results_dirs if ((read_manifest(d) or {}).get("kind") == "calibration")]
    if cals:
        from ..present.calibration_plots import folder_figures
        if len(results_dirs) > 1:
            raise input_error("plot draws one calibration folder at a time (and not with runs)")
        figs = folder_figures(cals[0], out)
    else:
        figs = _plots(list(results_dirs), out, train)
    for p in figs:
        if p.suffix == ".png":
            click.echo(f"{p}  (and .svg)")


@click.command("report", context_settings=CONTEXT)
@click.argument("results_dirs", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("report.html"),
              show_default=True, help="The HTML file to write.")
@click.option("--title", default=None, help="Title of the report [default: from the runs].")
@click.option("--train", type=click.IntRange(0), default=None,
              help="Train (id in replication 0) for the timelines [default: a typical eventful one].")
@lang_option
def report(results_dirs: tuple[Path, ...], out: Path, title: str | None, train: int | None) -> None:
    """Write one self-contained HTML report of some results folders.

    The report states the question, sets the scenarios side by side (the keys in which they
    differ), gives the headline metrics with 95 % intervals (and differences from the
    first run), embeds the figures, lists the assumptions that matter most when a
    sensitivity folder is given, and ends with the manifest of every run. Figures are
    embedded as images in the file: it opens anywhere, with no network.

    \b
    Examples:
      quietcar report results/compare-pilot-expansion-s2024-n10 --out pilot-vs-expansion.html
      quietcar report results/pilot-s2024-n20 results/overflow-curve results/sensitivity-expansion \\
          --out pilot-and-assumptions.html
      quietcar report results/pilot-s2024-n20 --lang zh --out pilot-zh.html    # in Chinese
    """
    from ..present.plots import PlotError
    from ..present.report import write_report
    try:
        path = write_report(list(results_dirs), out, title=title, train=train)
    except (PlotError, ResultsError, DesignError) as e:
        raise input_error(str(e)) from None
    click.echo(f"report: {path}")


COMMANDS = (sweep, sensitivity, plot, report)


# --- calibrate -------------------------------------------------------------------------------------
@click.command("calibrate", context_settings=CONTEXT)
@click.argument("targets_file", metavar="TARGETS", type=click.Path(path_type=Path))
@click.option("--vary", "varies", multiple=True, metavar="KEY=LOW:HIGH",
              help="A parameter to calibrate and its prior range (uniform); repeat for each parameter. "
                   "The range must lie inside the key's allowed range.")
@click.option("--trains", type=click.IntRange(1, 100_000), default=None,
              help="Trains per network day of every target's scenario (unless the target sets "
                   "network.trains) [default: the targets file's, else 40].")
@click.option("-n", "--replications", type=click.IntRange(2, 1000), default=None,
              help="Replications per design point, on the same seeds everywhere [default: the targets file's, "
                   "else 4].")
@click.option("--points", type=click.IntRange(4, 10_000), default=None, metavar="N",
              help="Design points in each of the two waves [default: 10 x parameters].")
@click.option("--draws", type=click.IntRange(10, 1_000_000), default=1000, show_default=True,
              help="Size of the posterior sample.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=2026, show_default=True,
              help="Root seed of the simulations and of every random choice of the method.")
@click.option("--workers", type=click.IntRange(1), default=None, help=WORKERS_HELP)
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run the trains on a Dask cluster: a scheduler ADDRESS or 'local' (needs the dask extra).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Calibration folder [default: results/calibration-<targets file>-s<seed>].")
@click.option("--resume", is_flag=True,
              help="Complete an interrupted calibration in --out (or show a finished one) instead of refusing.")
@click.option("--force", is_flag=True, help="Overwrite a folder that holds another calibration or experiment.")
@click.option("--no-plots", is_flag=True, help="Do not draw the diagnostics figures (later: quietcar plot FOLDER).")
def calibrate(targets_file: Path, varies: tuple[str, ...], trains: int | None, replications: int | None,
              points: int | None, draws: int, seed: int, workers: int | None, scheduler: str | None,
              out: Path | None, resume: bool, force: bool, no_plots: bool) -> None:
    """Calibrate some parameters against field observations (TARGETS, a TOML file).

    History matching with Gaussian-process emulators (scikit-learn): each target's scenario
    is simulated at a space-filling design of parameter sets (common random numbers, few
    trains), one emulator per target learns the response, parameter sets that cannot
    reproduce some target are ruled out, a second wave refines, and the posterior sample is
    drawn by importance resampling under the emulated likelihood. Writes a calibration
    folder: posterior.csv, prior.csv, targets.toml, parameters.csv, predictive.csv (each
    target against its posterior predictive), validation.csv (each target left out in
    turn), design.csv, diagnostics.json, calibrated/<scenario>.toml (posterior medians),
    figures/ and a manifest. Use it with quietcar run/compare/sweep --posterior FOLDER.
    See docs/calibration.md and docs/outputs.md.

    \b
    Examples:
      quietcar calibrate calibration/targets.toml --vary behaviour.commitment=0.03:0.5 \\
          --vary behaviour.contagion=0:1.5 --vary behaviour.duration_mean.call=1.5:6
      quietcar run expansion --posterior results/calibration-targets-s2026 -n 10 --set network.trains=500
    """
    from ..experiments.calibration import (CalibrationError, Settings, check_prior, identity, run_calibration)
    from ..run.calibration_folder import CalibrationFolder
    from ..run.targets import TargetError, load_targets
    from ..experiments.factors import parse_range
    from .common import prepare_core
    try:
        targets = load_targets(targets_file, trains, replications)
    except TargetError as e:
        raise input_error(str(e)) from None
    if not varies:
        raise input_error("calibrate needs --vary KEY=LOW:HIGH for each parameter to calibrate")
    base = load_scenario(targets.targets[0].scenario, [])
    try:
        factors = [parse_range(base, v) for v in varies]
        check_unique(factors, "--vary")
        check_prior(factors, targets)
    except DesignError as e:
        raise input_error(str(e)) from None
    workers = workers or default_workers()
    if scheduler:
        from ..run.runner import DaskMissing, require_dask
        try:
            require_dask()
        except DaskMissing as e:
            raise input_error(str(e)) from None
    settings = Settings(waves=(points, points) if points else (), posterior_size=draws)
    ident = identity(targets, factors, seed, settings)
    out = out or Path("results") / f"calibration-{targets_file.stem}-s{seed}"
    folder = CalibrationFolder(out)
    n1, n2 = settings.wave_points(len(factors))
    groups = targets.groups()
    click.echo(f"{targets_file}: {len(targets.targets)} targets under {len(groups)} scenario(s); "
               f"{len(factors)} parameters; 2 waves of {n1} points x {targets.replications} replications, "
               f"seed {seed}, {workers} workers", err=True)
    try:
        done = folder.prepare(ident, resume=resume, force=force)
    except ResultsError as e:
        raise input_error(str(e)) from None
    manifest = calibration_manifest(targets_file, targets, factors, seed, settings, workers, scheduler, ident)
    if folder.complete():
        click.echo(f"{out} already holds this calibration, finished: shown as it is", err=True)
        click.echo(calibration_report(out))
        return
    folder.write_running(manifest)
    prepare_core()
    import time
    start = time.perf_counter()
    on_disk = lambda: f"{len(folder.finished())} design points are on disk in {out}"  # noqa: E731
    with progress_bar("calibration", on_disk, "calibration") as progress:
        try:
            cal = run_calibration(targets, factors, seed, settings, workers, scheduler,
                                  {i: folder.point_rows(i) for i in done}, folder.write_point,
                                  on_start=progress.start, on_trains=progress,
                                  on_wave=lambda s: (progress.close(), click.echo(s, err=True)))
        except CalibrationError as e:
            progress.close()
            click.echo(f"quietcar: calibration failed: {e}", err=True)
            sys.exit(1)
    manifest.update(wall_seconds=round(time.perf_counter() - start, 3), resumed_points=len(done),
                    waves=cal.waves)
    files = save_calibration(folder, cal, not no_plots)
    folder.complete_with(manifest, files)
    click.echo(calibration_report(out))


def calibration_manifest(targets_file: Path, targets, factors, seed: int, settings, workers: int,
                         scheduler: str | None, ident: str) -> dict:
    import platform
    from ..run.results import command_line
    return {"kind": "calibration", "experiment_digest": ident, "targets_file": str(targets_file),
            "targets": [t.name for t in targets.targets], "targets_digest": targets.digest(),
            "prior": [{"key": f.key, "type": f.kind, "low": f.low, "high": f.high} for f in factors],
            "seed": seed, "settings": settings.describe(len(factors)), "trains": targets.trains,
            "replications": targets.replications, "workers": workers, "scheduler": scheduler,
            "command": command_line(), "python": platform.python_version(), "platform": platform.platform()}


def save_calibration(folder, cal, figures: bool) -> list[str]:
    """Write every file of a finished calibration; return their paths relative to the folder."""
    from ..experiments import calibration as c
    from ..run import calibration_folder as cf
    cols, rows = c.design_rows(cal)
    files: dict[str, str | bytes | dict] = {
        cf.TARGETS: cal.targets.to_toml(),
        cf.PRIOR: cf.table(c.PRIOR_COLUMNS, c.prior_rows(cal.factors)),
        cf.DESIGN: cf.table(cols, rows),
        cf.POSTERIOR: cf.table(("draw", *(f.key for f in cal.factors)), c.posterior_rows(cal)),
        cf.PARAMETERS: cf.table(c.PARAMETER_COLUMNS, [{"key": k, **v, "informed_by": " ".join(
            cal.diagnostics["informed_by"][k])} for k, v in cal.diagnostics["constrained"].items()]),
        cf.PREDICTIVE: cf.table(c.PREDICTIVE_COLUMNS, cal.predictive),
        cf.LOO: cf.table(c.LOO_COLUMNS, [{k: r.get(k, math.nan) for k in c.LOO_COLUMNS} for r in cal.loo]),
        cf.DIAGNOSTICS: cal.diagnostics,
    }
    for stem, text in c.calibrated_scenarios(cal).items():
        files[f"{cf.CALIBRATED}/{stem}.toml"] = text
    folder.write_files(files)
    written = list(files)
    if figures:
        from ..present.calibration_plots import write_figures
        paths = write_figures(folder.path / cf.FIGURES, c.prior_rows(cal.factors), cal.posterior, cal.predictive,
                              cal.sim.x)
        written += [str(p.relative_to(folder.path)) for p in paths]
    return written


def calibration_report(out: Path) -> str:
    """What a finished calibration found, for the console (read back from its folder)."""
    import csv
    import io
    from ..run import calibration_folder as cf
    params = list(csv.DictReader(io.StringIO((out / cf.PARAMETERS).read_text(encoding="utf-8"))))
    pred = list(csv.DictReader(io.StringIO((out / cf.PREDICTIVE).read_text(encoding="utf-8"))))
    m = (ExperimentFolder(out).manifest() or {})
    lines = ["parameter                         median   90 % posterior interval   prior            constrained?"]
    for p in params:
        f = {k: float(p[k]) for k in ("median", "low90", "high90", "prior_low", "prior_high")}
        lines.append(f"{p['key']:<32}  {fmt(f['median']):>7}   [{fmt(f['low90'])}, {fmt(f['high90'])}]".ljust(68)
                     + f"[{fmt(f['prior_low'])}, {fmt(f['prior_high'])}]".ljust(17)
                     + ("yes" if p["constrained"] == "True" else "no: the targets leave it open"))
    lines.append("")
    lines.append("target                       observed                   posterior predictive 90 % (model; with "
                 "observation error)")
    inside = 0
    for r in pred:
        ok = r["inside"] == "True"
        inside += ok
        lines.append(f"{r['target']:<28} {r['observation']:<26} {fmt(float(r['model_median']))} "
                     f"[{fmt(float(r['model_low']))}, {fmt(float(r['model_high']))}]; "
                     f"[{fmt(float(r['predictive_low']))}, {fmt(float(r['predictive_high']))}]"
                     + ("" if ok else "   OUTSIDE"))
    lines.append(f"\n{inside} of {len(pred)} observations inside their posterior predictive interval; "
                 f"{m.get('wall_seconds', '?')} s")
    if (out / cf.LOO).exists():
        loo = list(csv.DictReader(io.StringIO((out / cf.LOO).read_text(encoding="utf-8"))))
        held = sum(r["inside"] == "True" for r in loo)
        lines.append(f"leave-one-target-out: {held} of {len(loo)} held-out observations inside the 90 % predictive "
                     f"interval of a calibration on the others (validation.csv)")
    lines.append(f"results: {out}  (posterior.csv; calibrated/*.toml: the scenarios at the posterior medians)")
    lines.append(f"use it:  quietcar run expansion --posterior {out}")
    return "\n".join(lines)


COMMANDS = (*COMMANDS, calibrate)
