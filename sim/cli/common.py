"""What every quietcar command shares: the input error (exit 2), scenario loading, the
progress bar, number formatting and the options of runs."""
from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import click

from ..run.results import ResultsError
from ..run.runner import warm_up
from ..scenario import Scenario, ScenarioError, load, resolve

#: click settings of every command: -h as well as --help, 100 columns.
CONTEXT = dict(help_option_names=["-h", "--help"], max_content_width=100)


class InputError(click.ClickException):
    """Bad input: the message names the file, key and rule; exit status 2 (every command)."""
    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"quietcar: error: {self.format_message()}", err=True)


def load_scenario(name: str, overrides: Sequence[str]) -> Scenario:
    try:
        return load(resolve(name), overrides)
    except ScenarioError as e:
        raise InputError(str(e)) from None


class Progress:
    """A progress bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self, label: str):
        self.label = label
        self.bar = None

    def start(self, total: int) -> None:
        self.close()
        if sys.stderr.isatty() and total > 0:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr, show_eta=True,
                                         show_percent=True)
            self.bar.__enter__()

    def __call__(self, k: int) -> None:
        if self.bar:
            self.bar.update(k)

    def close(self) -> None:
        if self.bar:
            self.bar.__exit__(None, None, None)
            self.bar = None


POSTERIOR_HELP = ("A calibration folder (quietcar calibrate): each replication draws its parameters from its "
                  "posterior sample (the same draw in every scenario of a comparison), and the summary shows the "
                  "total predictive interval beside the Monte-Carlo one. --set wins over the posterior.")


class PosteriorRun:
    """A run's scenario file and overrides with a posterior: replication r's scenario is the
    file, then r's posterior draw (chosen from the seed and r), then the overrides."""

    def __init__(self, name: str, overrides: Sequence[str], path: Path, seed: int):
        from ..run.calibration_folder import check_posterior, load_posterior
        try:
            self.posterior = load_posterior(path)
            check_posterior(name, overrides, self.posterior)
        except ResultsError as e:
            raise InputError(str(e)) from None
        self.name, self.overrides, self.seed = name, list(overrides), seed

    def scenario_of(self, r: int) -> Scenario:
        from ..run.calibration_folder import posterior_scenario
        return posterior_scenario(self.name, self.overrides, self.posterior, self.seed, r)

    def run_options(self, scenario: Scenario) -> dict:
        """What run_into needs: each replication's scenario, the run's identity, the manifest's note."""
        import hashlib
        digest = hashlib.sha256((scenario.digest() + self.posterior.digest).encode()).hexdigest()
        return {"scenario_of": self.scenario_of, "digest": digest, "extra": self.posterior.describe()}

    def sweep_draws(self, design) -> "PosteriorDraws":
        """For a sweep: replication r of point i is r's posterior draw with the point's values on top."""
        from ..experiments.sweep import PosteriorDraws
        from ..scenario import with_values

        def scenario_of(i: int, r: int) -> Scenario:
            return with_values(self.scenario_of(r), design.overrides(i))
        return PosteriorDraws(scenario_of, self.posterior.digest, self.posterior.describe())


def prepare_core() -> None:
    """Load the compiled core before the run starts (`runner.warm_up`), saying so if it takes
    more than a second: on the first run after installing it is being compiled."""
    note = threading.Timer(1.0, click.echo, ("compiling the simulation core (once after installing: about a "
                                             "minute; cached afterwards) ...",), {"err": True})
    note.start()
    try:
        warm_up()
    finally:
        note.cancel()



def fmt(v: float) -> str:
    if v != v:
        return "–"
    if v == 0:
        return "0"
    a = abs(v)
    return f"{v:.3g}" if a < 1000 else f"{v:,.0f}"



REPLICATIONS_HELP = "Replications (network days) to run [default: the scenario's run.replications]."
SEED_HELP = "Root seed: the same scenario and seed give the same numbers [default: the scenario's run.seed]."
WORKERS_HELP = "Worker processes [default: all cores]. Results do not depend on it."
SCHEDULER_HELP = ("Run the trains on a Dask cluster: a scheduler ADDRESS (tcp://host:8786) or 'local' for a "
                  "LocalCluster of --workers processes. Needs pip install -e '.[dask]'. Same results.")
SET_HELP = "Override a scenario key, e.g. --set booking.overflow=never (repeatable; validated like the file)."


PRECISION_HELP = ("Keep adding replications (after the first -n) until every headline metric's 95 % "
                  "half-width is at most R x |mean|, or --max-replications are done (then said plainly).")


def common_options(f: Callable) -> Callable:
    f = click.option("--max-replications", type=click.IntRange(2, 100_000), default=100, show_default=True,
                     help="With --precision: the most replications to run.")(f)
    f = click.option("--precision", type=click.FloatRange(0, min_open=True), default=None, metavar="R",
                     help=PRECISION_HELP)(f)
    f = click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=SET_HELP)(f)
    f = click.option("--scheduler", default=None, metavar="ADDRESS", help=SCHEDULER_HELP)(f)
    f = click.option("--workers", type=click.IntRange(1), default=None, help=WORKERS_HELP)(f)
    f = click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=None, help=SEED_HELP)(f)
    f = click.option("-n", "--replications", type=click.IntRange(1, 100_000), default=None,
                     help=REPLICATIONS_HELP)(f)
    return f
