"""The planners' commands: ``run``, ``compare``, ``validate``, ``scenarios`` and ``show``."""
from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from ..run.metrics import HEADLINE, METRIC_NAMES, difference
from ..run.design_checks import design_warnings
from ..run.integrity import FolderLock, kind_of, verify
from ..run.results import (ResultsError, RunFolder, check_target, command_line, csv_text, run_into,
                           write_sealed_manifest, write_text)
from ..run.runner import DaskMissing, default_workers, same_demand
from ..scenario import BUNDLED as SCENARIO_DIR
from ..scenario import Scenario, describe
from ..run.paths import child, safe_name
from .console import (comparison_table, description, identical_warning, overrides_line, posterior_comparison_note,
                      predictive_table, summary_table, warning)
from .common import (CONTEXT, POSTERIOR_HELP, SET_HELP, InputError, PosteriorRun, allow_large_option, common_options,
                     default_out, guard, lang_option, load_scenario, progress_bar,
                     prepare_core)


def run_options(scenario: Scenario, overrides: Sequence[str], warnings: Sequence[str],
                posterior: PosteriorRun | None) -> dict:
    """run_into's manifest notes (overrides, warnings) and, with a posterior, each replication's
    scenario, the run's identity and the posterior's description."""
    opts = posterior.run_options(scenario) if posterior else {}
    extra = {"overrides": list(overrides), "warnings": list(warnings), **opts.pop("extra", {})}
    return {**opts, "extra": extra}


def execute(scenario: Scenario, folder: RunFolder, seed: int, replications: int, workers: int, *,
            resume: bool, force: bool, label: str, scheduler: str | None = None,
            precision: float | None = None, max_replications: int | None = None,
            overrides: Sequence[str] = (), warnings: Sequence[str] = (),
            engine: str = "compiled", posterior: PosteriorRun | None = None) -> dict[str, dict]:
    """Run (or complete) one scenario into its folder with a progress bar; return the summary.

    Bad folders become input errors (exit 2); Ctrl-C says how to resume (exit 130)."""
    on_disk = lambda: f"{len(folder.finished())} of {replications} replications are on disk in {folder.path}"  # noqa: E731
    with progress_bar(label, on_disk, "run") as progress:
        try:
            prepare_core()
            summary = run_into(folder, scenario, seed, replications, workers, resume=resume, force=force,
                               scheduler=scheduler, precision=precision, max_replications=max_replications,
                               on_trains=progress, on_start=progress.start, engine=engine,
                               **run_options(scenario, overrides, warnings, posterior))
        except (ResultsError, DaskMissing) as e:
            raise InputError(str(e)) from None
    if precision is not None:
        click.echo(precision_note(folder, precision), err=True)
    return summary


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



def settle(scs: Sequence[Scenario], seed: int | None, replications: int | None, workers: int | None,
           precision: float | None, max_replications: int, allow_large: bool) -> tuple[int, int, int, list[str]]:
    """The seed, replications and workers of a run or a comparison (the first scenario's
    defaults where not given), checked against this machine's memory before any work (see
    guard), and the warnings of so small a design."""
    seed = scs[0].run.seed if seed is None else seed
    n = scs[0].run.replications if replications is None else replications
    if precision is not None and n < 3:
        n = 3  # an interval needs a few replications before the precision can be judged
    workers = workers or default_workers()
    guard(scs, max(n, max_replications) if precision else n, workers, allow_large)
    return seed, n, workers, ([] if precision else design_warnings(n))


@click.command(context_settings=CONTEXT)
@click.argument("scenario")
@common_options
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Results folder [default: results/<scenario>-s<seed>-n<replications>, then a tag of the "
                   "--set overrides if any].")
@click.option("--resume", is_flag=True, help="Complete an interrupted run in --out (same scenario, seed, -n).")
@click.option("--force", is_flag=True, help="Overwrite a results folder that holds another run.")
@click.option("--no-plots", is_flag=True, help="Do not draw the figures (results/<run>/figures/).")
@allow_large_option
@click.option("--posterior", type=click.Path(path_type=Path), default=None, metavar="CAL", help=POSTERIOR_HELP)
@lang_option
def run(scenario: str, replications: int | None, seed: int | None, workers: int | None, scheduler: str | None,
        overrides: tuple[str, ...], precision: float | None, max_replications: int, engine: str,
        out: Path | None,
        resume: bool, force: bool, no_plots: bool, allow_large: bool,
        posterior: Path | None) -> None:
    """Run SCENARIO and write a results folder.

    The folder holds manifest.json, scenario.toml (every value used), replications.csv
    (one row per replication), trains.csv (one row per train and replication) and
    summary.json (mean, sd and 95 % interval of every metric); see docs/outputs.md.
    """
    sc = load_scenario(scenario, overrides)
    seed, n, workers, warnings = settle([sc], seed, replications, workers, precision, max_replications, allow_large)
    tag = f"p{precision:g}" if precision else f"n{n}"
    post = PosteriorRun(scenario, overrides, posterior, seed) if posterior else None
    out = out or default_out(Path(sc.source).stem, f"s{seed}", tag,
                             overrides=[*overrides, *([f"posterior={posterior}"] if post else [])])
    finished_before = not force and RunFolder(out).complete()
    summary = execute(sc, RunFolder(out), seed, n, workers, resume=resume, force=force, scheduler=scheduler,
                      precision=precision, max_replications=max_replications, engine=engine,
                      label=f"{Path(sc.source).stem}: {n} x {sc.network.trains} trains", overrides=overrides,
                      warnings=warnings, posterior=post)
    if finished_before:  # a finished folder is accepted only when it holds this very run
        click.echo(f"{out} already held this run, finished: shown as it is (--force runs it again)", err=True)
    done = (RunFolder(out).manifest() or {}).get("replications_done", n)
    click.echo(f"{Path(sc.source).stem}: {done} replications of {sc.network.trains} trains, seed {seed}"
               + (f", parameters drawn from {posterior}" if post else ""))
    click.echo(overrides_line(overrides))
    for w in warnings:
        click.echo(warning(w), err=True)
    click.echo(predictive_table(summary, HEADLINE) if post else summary_table(summary, HEADLINE))
    if not no_plots:
        draw_figures(out)
    click.echo(f"\nresults: {out}\n(every metric: summary.json; per replication: replications.csv)")


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
              help="Folder for the runs and comparison.csv [default: results/compare-<names>-s<seed>-n<n>, then "
                   "a tag of the --set and --each overrides if any].")
@click.option("--force", is_flag=True, help="Overwrite run folders that hold other runs.")
@click.option("--no-plots", is_flag=True, help="Do not draw the comparison figures (<out>/figures/).")
@click.option("--each", "each", multiple=True, metavar="I:KEY=VALUE",
              help="Override a key in the I-th scenario only (1-based), e.g. --each 2:booking.overflow=never.")
@allow_large_option
@click.option("--posterior", type=click.Path(path_type=Path), default=None, metavar="CAL", help=POSTERIOR_HELP)
@lang_option
def compare(scenarios: tuple[str, ...], replications: int | None, seed: int | None, workers: int | None,
            scheduler: str | None, overrides: tuple[str, ...], precision: float | None, max_replications: int,
            engine: str, out: Path | None, force: bool, no_plots: bool, each: tuple[str, ...], allow_large: bool,
            posterior: Path | None) -> None:
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
    if (replications or scs[0].run.replications) < 2:
        raise InputError("compare needs at least 2 replications (-n 2) for intervals")
    seed, n, workers, warnings = settle(scs, seed, replications, workers, precision, max_replications, allow_large)
    names = unique_names(scs, per)
    for line in [*identical_warning([sc.digest() for sc in scs], names), *(warning(w) for w in warnings)]:
        click.echo(line, err=True)
    stems = "-".join(dict.fromkeys(safe_name(Path(sc.source).stem) for sc in scs))
    posts = ([PosteriorRun(s, [*overrides, *per.get(i, [])], posterior, seed) for i, s in enumerate(scenarios)]
             if posterior else [None] * len(scs))
    out = out or default_out("compare", stems, f"s{seed}", f"n{n}",
                             overrides=[*overrides, *each, *([f"posterior={posterior}"] if posterior else [])])
    dirs = [safe_name(name) for name in names]  # never a path from user text (--each 2:description=/../x)
    folders = [RunFolder(child(out, name)) for name in names]
    lock = FolderLock(out)
    try:
        check_target(out, False)
        out.mkdir(parents=True, exist_ok=True)
        lock.acquire()
        for i, (sc, name, folder) in enumerate(zip(scs, names, folders)):
            execute(sc, folder, seed, n, workers, resume=True, force=force, scheduler=scheduler,
                    precision=precision, max_replications=max_replications, engine=engine,
                    label=f"{name}: {n} x {sc.network.trains}", overrides=[*overrides, *per.get(i, [])],
                    warnings=warnings, posterior=posts[i])
        paired = [True] + [same_demand(scs[0], sc) for sc in scs[1:]]
        rows = comparison_rows(names, folders, paired, with_posterior=posterior is not None)
        write_text(out / "comparison.csv", csv_text(COMPARISON_COLUMNS, rows))
        write_sealed_manifest(out, {
            "kind": "compare", "scenarios": [sc.source for sc in scs], "names": names, "members": dirs,
            "member_digests": [sc.digest() for sc in scs], "seed": seed, "replications": n,
            "set": list(overrides), "each": list(each), "paired": paired, "command": command_line(),
            "warnings": warnings},
            ["comparison.csv", *(f"{d}/manifest.json" for d in dirs)])
    finally:
        lock.release()
    click.echo(f"comparison on seed {seed}, {n} replications each")
    click.echo(overrides_line(overrides, each))
    click.echo(comparison_table(names, rows, paired, HEADLINE))
    if posterior:
        click.echo(posterior_comparison_note(names, rows, HEADLINE))
    if not no_plots:
        draw_figures(out)
    click.echo(f"\nresults: {out}\n(comparison.csv, and one run folder per scenario)")


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
@lang_option
def show(results_dir: Path, show_all: bool) -> None:
    """Print the summary of a finished run.

    RESULTS_DIR is a folder written by `quietcar run` (or one of the run folders inside a
    `quietcar compare` folder). Prints what ran (scenario, seed, replications, workers,
    wall time) and each metric's mean with its 95 % interval across replications. A compare,
    sweep, sensitivity or calibration folder is shown as its own command printed it.
    """
    folder = RunFolder(results_dir)
    try:
        kind = kind_of(results_dir)
        if kind not in (None, "run"):
            return show_other(results_dir, kind, show_all)
        summary = folder.summary()
        m = folder.manifest() or {}
    except ResultsError as e:
        raise InputError(str(e)) from None
    click.echo(f"{Path(str(m.get('scenario', '?'))).stem}: {m.get('replications_done', m.get('replications'))} "
               f"replications of {m.get('trains_per_replication')} trains, seed {m.get('seed')}, "
               f"quietcar {m.get('quietcar_version')}, {m.get('wall_seconds', '?')} s on {m.get('workers')} workers")
    if m.get("description"):
        click.echo(description(m["description"].strip().splitlines()[0]))
    click.echo(overrides_line(m.get("overrides") or []))
    for w in m.get("warnings") or []:
        click.echo(warning(w))
    shown = METRIC_NAMES if show_all else HEADLINE
    if m.get("posterior"):
        click.echo(f"parameters drawn from the posterior of {m['posterior']} ({', '.join(m.get('posterior_keys', []))})")
        click.echo(predictive_table(summary, shown))
    else:
        click.echo(summary_table(summary, shown))


def show_other(path: Path, kind: str, show_all: bool) -> None:
    """show for a compare, sweep, sensitivity or calibration folder (checked against its manifest first)."""
    m = verify(path)
    if kind == "calibration":
        from .research import calibration_report
        click.echo(calibration_report(path))
        return
    if kind == "compare":
        import pandas as pd
        rows = pd.read_csv(path / "comparison.csv", keep_default_na=False,
                           na_values=["NaN"]).to_dict("records")
        names = [str(x) for x in m.get("names") or m.get("members", [])]
        click.echo(f"comparison on seed {m.get('seed')}, {m.get('replications')} replications each")
        click.echo(overrides_line(m.get("set") or [], m.get("each") or []))
        click.echo(comparison_table(names, rows, m.get("paired") or [True] * len(names),
                                    METRIC_NAMES if show_all else HEADLINE))
        return
    from ..experiments import load_experiment
    from .research import _point_table
    result = load_experiment(path)
    click.echo(f"{kind} of {Path(str(m.get('scenario'))).stem}: {len(result.summary)} points x "
               f"{m.get('replications')} replications, seed {m.get('seed')}, quietcar {m.get('quietcar_version')}")
    click.echo(overrides_line(m.get("overrides") or []))
    for w in m.get("warnings") or []:
        click.echo(warning(w))
    click.echo(_point_table(result))


#: The commands this module adds to the quietcar group, in the order --help lists them.
COMMANDS = (run, compare, validate, list_scenarios, show)
