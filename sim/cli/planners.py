"""The planners' commands: ``run``, ``compare``, ``validate``, ``scenarios`` and ``show``."""
from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path

import click
import numpy as np

from ..run.metrics import HEADLINE, METRIC_NAMES, difference
from ..run.results import ResultsError, RunFolder, csv_text, run_into, write_text
from ..run.runner import DaskMissing, default_workers, same_demand
from ..scenario import BUNDLED as SCENARIO_DIR
from ..scenario import Scenario, describe
from .common import (CONTEXT, POSTERIOR_HELP, SET_HELP, InputError, PosteriorRun, Progress, common_options, fmt,
                     load_scenario, prepare_core)


def execute(scenario: Scenario, folder: RunFolder, seed: int, replications: int, workers: int, *,
            resume: bool, force: bool, label: str, scheduler: str | None = None,
            precision: float | None = None, max_replications: int | None = None,
            posterior: PosteriorRun | None = None) -> dict[str, dict]:
    """Run (or complete) one scenario into its folder with a progress bar; return the summary.

    Bad folders become input errors (exit 2); Ctrl-C says how to resume (exit 130)."""
    progress = Progress(label)
    try:
        prepare_core()
        summary = run_into(folder, scenario, seed, replications, workers, resume=resume, force=force,
                           scheduler=scheduler, precision=precision, max_replications=max_replications,
                           on_trains=progress, on_start=progress.start,
                           **(posterior.run_options(scenario) if posterior else {}))
        progress.close()
        if precision is not None:
            click.echo(precision_note(folder, precision), err=True)
        return summary
    except (ResultsError, DaskMissing) as e:
        raise InputError(str(e)) from None
    except KeyboardInterrupt:
        progress.close()
        click.echo(f"\ninterrupted: {len(folder.finished())} of {replications} replications are on disk in "
                   f"{folder.path}; complete the run with the same command and --resume", err=True)
        sys.exit(130)
    finally:
        progress.close()



def predictive_table(summary: dict[str, dict], metrics: Sequence[str] = METRIC_NAMES) -> str:
    """Per metric: mean, Monte-Carlo interval, total predictive interval, and which dominates."""
    rows = [("metric", "mean", "Monte-Carlo 95 %", "total predictive 95 %", "dominated by")]
    for m in metrics:
        s = summary[m]
        p = s.get("predictive") or {}
        if s["n"] == 0:
            continue
        mc = f"[{fmt(s['ci_low'])}, {fmt(s['ci_high'])}]" if s["n"] > 1 else "(one replication)"
        tot = f"[{fmt(p.get('low', math.nan))}, {fmt(p.get('high', math.nan))}]" if p.get("dominates") else "–"
        dom = {"parameters": "parameters", "monte_carlo": "Monte-Carlo noise",
               "undetermined": "undetermined (one train a day)"}.get(p.get("dominates", ""), "–")
        rows.append((m, fmt(s["mean"]), mc, tot, dom))
    w = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [f"{r[0]:<{w[0]}}  {r[1]:>{w[1]}}  {r[2]:<{w[2]}}  {r[3]:<{w[3]}}  {r[4]}" for r in rows]
    lines.append("(Monte-Carlo: the mean's interval over the replications; total predictive: what the metric can be "
                 "given the posterior's parameter uncertainty and the noise; docs/calibration.md)")
    return "\n".join(lines)


def precision_note(folder: RunFolder, precision: float) -> str:
    """Say plainly whether the precision target was met, and if not, where it fell short."""
    m = folder.manifest() or {}
    n = m.get("replications_done")
    if m.get("precision_met"):
        return f"precision reached: every headline metric's 95 % half-width <= {precision:g} x |mean| after {n} replications"
    worst = ", ".join(f"{k} ({v:.3g} x |mean|)" if v is not None and v != math.inf else f"{k} (mean 0 with spread)"
                      for k, v in sorted((m.get("imprecise_metrics") or {}).items(),
                                         key=lambda kv: -(kv[1] or math.inf))[:4])
    return (f"PRECISION NOT REACHED: stopped at --max-replications {n}; half-widths still above "
            f"{precision:g} x |mean|: {worst}")


def draw_figures(folder: Path) -> None:
    """The figures of a run or comparison folder, into its figures/ (see docs/research.md)."""
    from ..present.plots import plot_paths  # matplotlib only when figures are drawn

    written = plot_paths([folder])
    if written:
        click.echo(f"figures: {written[0].parent} ({len(written)} files)")



def summary_table(summary: dict[str, dict], metrics: Sequence[str] = METRIC_NAMES) -> str:
    rows = [("metric", "mean", "95 % interval", "n")]
    for m in metrics:
        s = summary[m]
        if s["n"] == 0:
            continue
        ci = f"[{fmt(s['ci_low'])}, {fmt(s['ci_high'])}]" if s["n"] > 1 else "(one replication)"
        rows.append((m, fmt(s["mean"]), ci, str(s["n"])))
    w = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join(f"{r[0]:<{w[0]}}  {r[1]:>{w[1]}}  {r[2]:<{w[2]}}  {r[3]:>{w[3]}}" for r in rows)



@click.command(context_settings=CONTEXT)
@click.argument("scenario")
@common_options
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Results folder [default: results/<scenario>-s<seed>-n<replications>].")
@click.option("--resume", is_flag=True, help="Complete an interrupted run in --out (same scenario, seed, -n).")
@click.option("--force", is_flag=True, help="Overwrite a results folder that holds another run.")
@click.option("--no-plots", is_flag=True, help="Do not draw the figures (results/<run>/figures/).")
@click.option("--posterior", type=click.Path(path_type=Path), default=None, metavar="CAL", help=POSTERIOR_HELP)
def run(scenario: str, replications: int | None, seed: int | None, workers: int | None, scheduler: str | None,
        overrides: tuple[str, ...], precision: float | None, max_replications: int, out: Path | None,
        resume: bool, force: bool, no_plots: bool, posterior: Path | None) -> None:
    """Run SCENARIO and write a results folder.

    The folder holds manifest.json, scenario.toml (every value used), replications.csv
    (one row per replication), trains.csv (one row per train and replication) and
    summary.json (mean, sd and 95 % interval of every metric); see docs/outputs.md.
    """
    sc = load_scenario(scenario, overrides)
    seed = sc.run.seed if seed is None else seed
    n = sc.run.replications if replications is None else replications
    workers = workers or default_workers()
    if precision is not None and n < 3:
        n = 3  # an interval needs a few replications before the precision can be judged
    tag = f"p{precision:g}" if precision else f"n{n}"
    post = PosteriorRun(scenario, overrides, posterior, seed) if posterior else None
    out = out or Path("results") / f"{Path(sc.source).stem}-s{seed}-{tag}{'-posterior' if post else ''}"
    finished_before = not force and RunFolder(out).complete()
    summary = execute(sc, RunFolder(out), seed, n, workers, resume=resume, force=force, scheduler=scheduler,
                      precision=precision, max_replications=max_replications,
                      label=f"{Path(sc.source).stem}: {n} x {sc.network.trains} trains", posterior=post)
    if finished_before:  # a finished folder is accepted only when it holds this very run
        click.echo(f"{out} already held this run, finished: shown as it is (--force runs it again)", err=True)
    done = (RunFolder(out).manifest() or {}).get("replications_done", n)
    click.echo(f"{sc.source}: {done} replications of {sc.network.trains} trains, seed {seed}"
               + (f", parameters drawn from {posterior}" if post else ""))
    click.echo(predictive_table(summary, HEADLINE) if post else summary_table(summary, HEADLINE))
    if not no_plots:
        draw_figures(out)
    click.echo(f"\nresults: {out}  (every metric: summary.json; per replication: replications.csv)")


def _difference_predictive(d: dict, paired: bool, with_posterior: bool) -> dict[str, float]:
    """With a posterior, the predictive interval of a paired difference: the interval within
    which a new replication's difference falls, mean ± t sd sqrt(1 + 1/n). Each replication
    carries its own posterior draw, so this spans the parameter uncertainty of the effect (and,
    conservatively, one day's Monte-Carlo noise of the paired difference)."""
    if not (with_posterior and paired) or d["n"] < 2 or d["sd"] != d["sd"]:
        return {"diff_pred_low": math.nan, "diff_pred_high": math.nan}
    from ..run.metrics import t_quantile
    half = t_quantile(0.975, d["n"] - 1) * d["sd"] * math.sqrt(1 + 1 / d["n"])
    return {"diff_pred_low": d["mean"] - half, "diff_pred_high": d["mean"] + half}


def comparison_rows(names: Sequence[str], folders: Sequence[RunFolder], paired: Sequence[bool],
                    with_posterior: bool = False) -> list[dict]:
    reps = [f.replications() for f in folders]
    sums = [f.summary() for f in folders]
    rows = []
    for m in METRIC_NAMES:
        for i, name in enumerate(names):
            s = sums[i][m]
            p = s.get("predictive") or {}
            row = {"metric": m, "scenario": name, "mean": s["mean"], "ci_low": s["ci_low"],
                   "ci_high": s["ci_high"], "n": s["n"], "pred_low": p.get("low", math.nan),
                   "pred_high": p.get("high", math.nan)}
            if i == 0:
                row.update(diff_mean=math.nan, diff_ci_low=math.nan, diff_ci_high=math.nan, method="",
                           variance_reduction=math.nan, diff_pred_low=math.nan, diff_pred_high=math.nan)
            else:
                if paired[i]:  # pairs: the replications both ran (the same seeds)
                    common = sorted({r["replication"] for r in reps[0]} & {r["replication"] for r in reps[i]})
                    a = {r["replication"]: r[m] for r in reps[0]}
                    b = {r["replication"]: r[m] for r in reps[i]}
                    d = difference([a[k] for k in common], [b[k] for k in common], paired=True)
                else:
                    d = difference([r[m] for r in reps[0]], [r[m] for r in reps[i]], paired=False)
                row.update(diff_mean=d["mean"], diff_ci_low=d["ci_low"], diff_ci_high=d["ci_high"],
                           method="paired" if paired[i] else "welch", variance_reduction=d["variance_reduction"],
                           **_difference_predictive(d, paired[i], with_posterior))
            rows.append(row)
    return rows


COMPARISON_COLUMNS = ("metric", "scenario", "mean", "ci_low", "ci_high", "n", "pred_low", "pred_high", "diff_mean",
                      "diff_ci_low", "diff_ci_high", "method", "variance_reduction", "diff_pred_low",
                      "diff_pred_high")


def unique_names(scenarios: Sequence[Scenario], own: dict[int, list[str]]) -> list[str]:
    """Short distinct names: the file's stem, with its own overrides where stems repeat."""
    stems = [Path(sc.source).stem for sc in scenarios]
    names: list[str] = []
    for i, stem in enumerate(stems):
        name = stem
        if stems.count(stem) > 1 and own.get(i):
            name = stem + "[" + ",".join(own[i]) + "]"
        base, k = name, 2
        while name in names:
            name, k = f"{base}-{k}", k + 1
        names.append(name)
    return names


@click.command(context_settings=CONTEXT)
@click.argument("scenarios", nargs=-1, required=True)
@common_options
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the runs and comparison.csv [default: results/compare-<names>-s<seed>-n<n>].")
@click.option("--force", is_flag=True, help="Overwrite run folders that hold other runs.")
@click.option("--no-plots", is_flag=True, help="Do not draw the comparison figures (<out>/figures/).")
@click.option("--each", "each", multiple=True, metavar="I:KEY=VALUE",
              help="Override a key in the I-th scenario only (1-based), e.g. --each 2:booking.overflow=never.")
@click.option("--posterior", type=click.Path(path_type=Path), default=None, metavar="CAL", help=POSTERIOR_HELP)
def compare(scenarios: tuple[str, ...], replications: int | None, seed: int | None, workers: int | None,
            scheduler: str | None, overrides: tuple[str, ...], precision: float | None, max_replications: int,
            out: Path | None, force: bool, no_plots: bool, each: tuple[str, ...], posterior: Path | None) -> None:
    """Run SCENARIOS on the same seeds and compare them with the first.

    Prints, per metric, each scenario's mean with its 95 % interval and the difference from
    the first scenario with its interval: paired when the two share network and demand
    (common random numbers make the difference precise), Welch's otherwise. --set applies
    to every scenario, --each to one; the same file twice with --each compares a lever.
    """
    per: dict[int, list[str]] = {}
    for item in each:
        idx, sep, kv = item.partition(":")
        if not sep or not idx.isdigit() or not 1 <= int(idx) <= len(scenarios):
            raise InputError(f"--each {item!r}: expected I:KEY=VALUE with I from 1 to {len(scenarios)}")
        per.setdefault(int(idx) - 1, []).append(kv)
    scs = [load_scenario(s, [*overrides, *per.get(i, [])]) for i, s in enumerate(scenarios)]
    if len(scs) < 2:
        raise InputError("compare needs at least two scenarios (the same file twice with --each to compare a lever)")
    seed = scs[0].run.seed if seed is None else seed
    n = scs[0].run.replications if replications is None else replications
    if n < 2:
        raise InputError("compare needs at least 2 replications (-n 2) for intervals")
    workers = workers or default_workers()
    names = unique_names(scs, per)
    posts = ([PosteriorRun(s, [*overrides, *per.get(i, [])], posterior, seed) for i, s in enumerate(scenarios)]
             if posterior else [None] * len(scs))
    stem = f"compare-{'-'.join(dict.fromkeys(Path(sc.source).stem for sc in scs))}-s{seed}-n{n}"
    out = out or Path("results") / (stem + ("-posterior" if posterior else ""))
    folders = [RunFolder(out / name) for name in names]
    for sc, name, folder, post in zip(scs, names, folders, posts):
        execute(sc, folder, seed, n, workers, resume=True, force=force, scheduler=scheduler,
                precision=precision, max_replications=max_replications,
                label=f"{name}: {n} x {sc.network.trains}", posterior=post)
    paired = [True] + [same_demand(scs[0], sc) for sc in scs[1:]]
    rows = comparison_rows(names, folders, paired, with_posterior=posterior is not None)
    write_text(out / "comparison.csv", csv_text(COMPARISON_COLUMNS, rows))
    click.echo(comparison_table(names, rows, paired))
    if posterior:
        click.echo(posterior_comparison_note(names, rows))
    if not no_plots:
        draw_figures(out)
    click.echo(f"\nresults: {out}  (comparison.csv, and one run folder per scenario)")


def posterior_comparison_note(names: Sequence[str], rows: Sequence[dict]) -> str:
    """With a posterior: each difference's Monte-Carlo interval beside its predictive interval."""
    by = {(r["metric"], r["scenario"]): r for r in rows}
    lines = ["", "with parameters drawn from the posterior (the same draw in both arms of each replication):",
             "difference                                  Monte-Carlo 95 %          predictive 95 % (a new day's "
             "difference, parameter uncertainty included)"]
    for nm in names[1:]:
        for m in HEADLINE:
            r = by[(m, nm)]
            if r["diff_pred_low"] != r["diff_pred_low"]:
                continue
            lines.append(f"{nm} - {names[0]}: {m:<30} [{fmt(r['diff_ci_low'])}, {fmt(r['diff_ci_high'])}]".ljust(70)
                         + f"[{fmt(r['diff_pred_low'])}, {fmt(r['diff_pred_high'])}]")
    return "\n".join(lines)


def comparison_table(names: Sequence[str], rows: Sequence[dict], paired: Sequence[bool]) -> str:
    lines = []
    for i in range(1, len(names)):
        how = ("paired by replication (same network and demand: common random numbers)" if paired[i]
               else "Welch's t (the scenarios differ in network or demand, so replications are not paired)")
        lines.append(f"{names[i]} - {names[0]}: {how}")
    head = ["metric"] + [f"{nm} mean [95 %]" for nm in names] + [f"{nm} - {names[0]} [95 %]" for nm in names[1:]]
    table = [head]
    by = {(r["metric"], r["scenario"]): r for r in rows}
    for m in HEADLINE:
        cells = [m]
        for nm in names:
            r = by[(m, nm)]
            cells.append(f"{fmt(r['mean'])} [{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]")
        for nm in names[1:]:
            r = by[(m, nm)]
            star = " *" if r["diff_ci_low"] > 0 or r["diff_ci_high"] < 0 else ""
            cells.append(f"{fmt(r['diff_mean'])} [{fmt(r['diff_ci_low'])}, {fmt(r['diff_ci_high'])}]{star}")
        table.append(cells)
    w = [max(len(r[i]) for r in table) for i in range(len(head))]
    lines.append("")
    lines += ["  ".join(f"{c:<{w[i]}}" for i, c in enumerate(r)).rstrip() for r in table]
    lines.append("* the interval of the difference excludes 0")
    for nm, pair in zip(names[1:], paired[1:]):
        vr = [by[(m, nm)]["variance_reduction"] for m in HEADLINE]
        vr = [v for v in vr if v == v]
        if pair and vr:
            lines.append(f"pairing {nm} with {names[0]} removed {100 * float(np.median(vr)):.0f} % of the variance "
                         f"of the differences (median over headline metrics; per metric: comparison.csv)")
    return "\n".join(lines)


@click.command(context_settings=CONTEXT)
@click.argument("scenarios", nargs=-1, required=True)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
def validate(scenarios: tuple[str, ...], overrides: tuple[str, ...]) -> None:
    """Check scenario files (and --set overrides) without running anything."""
    bad = 0
    for name in scenarios:
        try:
            sc = load_scenario(name, overrides)
        except InputError as e:
            click.echo(f"error: {e.format_message()}", err=True)
            bad += 1
            continue
        click.echo(f"ok: {sc.source} ({sc.network.trains} trains; digest {sc.digest()[:12]})")
    if bad:
        sys.exit(2)


@click.command(name="scenarios", context_settings=CONTEXT)
def list_scenarios() -> None:
    """List the bundled scenarios with their descriptions.

    Bundled scenarios live in the scenarios/ folder of the package; any command that takes
    a SCENARIO accepts their name (pilot) as well as a path to a TOML file of your own.
    Start your own from a copy of one of them; docs/scenarios.md explains every key.
    """
    for p in sorted(SCENARIO_DIR.glob("*.toml")):
        click.echo(f"{p.stem:<18} {describe(p).splitlines()[0] if describe(p) else ''}")
    click.echo(f"\n(files in {SCENARIO_DIR}; run one with: quietcar run NAME)")


@click.command(context_settings=CONTEXT)
@click.argument("results_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--all", "show_all", is_flag=True, help="Every metric, not only the headline ones.")
def show(results_dir: Path, show_all: bool) -> None:
    """Print the summary of a finished run.

    RESULTS_DIR is a folder written by `quietcar run` (or one of the run folders inside a
    `quietcar compare` folder). Prints what ran (scenario, seed, replications, workers,
    wall time) and each metric's mean with its 95 % interval across replications.
    """
    folder = RunFolder(results_dir)
    try:
        summary = folder.summary()
        m = folder.manifest() or {}
    except ResultsError as e:
        raise InputError(str(e)) from None
    click.echo(f"{m.get('scenario', '?')}: {m.get('replications')} replications of "
               f"{m.get('trains_per_replication')} trains, seed {m.get('seed')}, "
               f"quietcar {m.get('quietcar_version')}, {m.get('wall_seconds', '?')} s on {m.get('workers')} workers")
    if m.get("description"):
        click.echo(m["description"].strip().splitlines()[0])
    shown = METRIC_NAMES if show_all else HEADLINE
    if m.get("posterior"):
        click.echo(f"parameters drawn from the posterior of {m['posterior']} ({', '.join(m.get('posterior_keys', []))})")
        click.echo(predictive_table(summary, shown))
    else:
        click.echo(summary_table(summary, shown))


#: The commands this module adds to the quietcar group, in the order --help lists them.
COMMANDS = (run, compare, validate, list_scenarios, show)
