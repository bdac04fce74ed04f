"""What every quietcar command shares: the input error (exit 2), scenario loading, the
progress bar, number formatting and the options of runs."""
from __future__ import annotations

import errno
import functools
import math
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..model.params import ENGINES
from ..present.labels import LANGUAGES, speaking
from ..run.paths import override_tag, safe_name
from ..run.results import ResultsError
from ..scenario import Scenario, ScenarioError, load, resolve

if TYPE_CHECKING:  # for annotations only: the sweep is loaded when a posterior sweep runs
    from ..experiments.sweep import PosteriorDraws

#: click settings of every command: -h as well as --help, 100 columns.
CONTEXT = dict(help_option_names=["-h", "--help"], max_content_width=100)


class InputError(click.ClickException):
    """Bad input: the message names the file, key and rule; exit status 2 (every command)."""
    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"quietcar: error: {self.format_message()}", err=True)


def io_error(e: OSError) -> InputError:
    """An operating-system error (full disk, read-only folder, no permission, a broken link ...)
    as one line naming the file, with what to do about it."""
    hints = {errno.ENOSPC: "the disk is full: free some space, then repeat the command with --resume "
                           "(what had finished is kept)",
             errno.EDQUOT: "over the disk quota: free some space, then repeat the command with --resume",
             errno.EROFS: "the file system is read-only: choose another --out",
             errno.EACCES: "no permission: choose another --out, or fix the permissions",
             errno.EPERM: "not permitted: choose another --out, or fix the permissions"}
    where = f"{e.filename}: " if e.filename else ""
    hint = hints.get(e.errno)
    return InputError(f"{where}{e.strerror or e}" + (f"; {hint}" if hint else ""))


class FiniteFloat(click.ParamType):
    """A finite number above ``low`` (nan and inf are refused: click's FloatRange lets nan through)."""
    name = "float"

    def __init__(self, low: float = 0.0):
        self.low = low

    def convert(self, value, param, ctx):
        try:
            x = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(x) or x <= self.low:
            self.fail(f"{value!r}: must be a finite number above {self.low:g}", param, ctx)
        return x


def load_scenario(name: str, overrides: Sequence[str]) -> Scenario:
    try:
        return load(resolve(name), overrides)
    except ScenarioError as e:
        raise InputError(str(e)) from None


def default_out(*parts: str, overrides: Sequence[str] = ()) -> Path:
    """The default results folder, ``results/<parts>[-<overrides>]``: every part made safe
    (letters, digits, ``._-``), and every override carried in a readable tag with a digest of
    them all, so runs that differ in any override never share (or overwrite) a folder."""
    name = "-".join(safe_name(p) for p in parts if p)
    if overrides:
        name += "-" + override_tag(overrides)
    return Path("results") / safe_name(name, limit=160)


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


@contextmanager
def progress_bar(label: str, on_disk: Callable[[], str], work: str) -> Iterator[Progress]:
    """The progress bar of a long command (run, experiment, calibration). Ctrl-C closes it, says
    what is on disk (``on_disk()``, e.g. "3 of 20 replications are on disk in results/x") and
    how to complete the ``work`` with --resume, and exits with 130."""
    progress = Progress(label)
    try:
        yield progress
    except KeyboardInterrupt:
        progress.close()
        click.echo(f"\ninterrupted: {on_disk()}; complete the {work} with the same command and --resume", err=True)
        sys.exit(130)
    finally:
        progress.close()


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


def load_loop() -> None:
    """Import the on-board event loop, whose functions are compiled when it is first imported."""
    import importlib
    importlib.import_module("sim.model.onboard_loop")


def warm_up() -> None:
    """Run one small train: compiles (once) booking, population and tallies, and loads the rest.
    Imported here, not with the CLI: --help, scenarios, validate and show never load the core."""
    from ..run.runner import warm_up as load_core
    load_core()


#: What the first run compiles, in order (each step is cached on disk afterwards).
CORE_STEPS = (("the on-board event loop (sim/model/onboard_loop.py)", "load_loop"),
              ("booking, population and tallies (one small train)", "warm_up"))


_ready = threading.Event()


def prepare_core() -> None:
    """Load the compiled core before the run starts (once per process), saying what is being
    compiled, step by step with its time, once loading has taken more than a second: on the
    first run after installing (or with an empty NUMBA_CACHE_DIR) it is being compiled;
    afterwards it loads from the cache in about a second and nothing is said."""
    if _ready.is_set():
        return
    lock = threading.Lock()
    state = {"shown": False, "step": 0}
    n = len(CORE_STEPS)

    def header() -> None:
        with lock:
            state["shown"] = True
            click.echo("compiling the simulation core, once after installing (cached afterwards):", err=True)
            click.echo(f"  [{state['step'] + 1}/{n}] {CORE_STEPS[state['step']][0]} ...", err=True)

    note = threading.Timer(1.0, header)
    note.start()
    try:
        for i, (label, name) in enumerate(CORE_STEPS):
            with lock:
                state["step"] = i
                if state["shown"]:
                    click.echo(f"  [{i + 1}/{n}] {label} ...", err=True)
            start = time.perf_counter()
            globals()[name]()  # looked up at call time (the tests replace them)
            with lock:
                if state["shown"]:
                    click.echo(f"        done in {time.perf_counter() - start:.0f} s", err=True)
    finally:
        note.cancel()
    _ready.set()


REPLICATIONS_HELP = "Replications (network days) to run [default: the scenario's run.replications]."
SEED_HELP = "Root seed: the same scenario and seed give the same numbers [default: the scenario's run.seed]."
WORKERS_HELP = "Worker processes [default: all cores]. Results do not depend on it."
SCHEDULER_HELP = ("Run the trains on a Dask cluster: a scheduler ADDRESS (tcp://host:8786) or 'local' for a "
                  "LocalCluster of --workers processes. Needs pip install -e '.[dask]'. Same results. Gives up "
                  "after 5 s if the scheduler cannot be reached (QUIETCAR_SCHEDULER_TIMEOUT=SECONDS).")
ENGINE_HELP = ("Which engine runs the journeys: compiled (the Numba event loop, fast) or simpy (the SimPy "
               "statement of the model, ~4x slower on board: to prototype a mechanism). Same results.")
SET_HELP = "Override a scenario key, e.g. --set booking.overflow=never (repeatable; validated like the file)."


PRECISION_HELP = ("Keep adding replications (after the first -n) until every headline metric's 95 % "
                  "half-width is at most R x |mean|, or --max-replications are done (then said plainly).")


ALLOW_LARGE_HELP = ("Go ahead even when the estimate says the work would not fit in this machine's memory "
                    "(it is refused otherwise, naming the estimate and the key that causes it).")


def allow_large_option(f: Callable) -> Callable:
    return click.option("--allow-large", is_flag=True, help=ALLOW_LARGE_HELP)(f)


def guard(scenarios: Sequence[Scenario], replications: int, workers: int, allow_large: bool,
          points: int = 1) -> None:
    """Estimate the work before any of it starts; refuse what would not fit (exit 2) unless
    --allow-large; say the estimate when the work is long or large."""
    from ..run import guard as g
    est = g.estimate(scenarios, replications, workers, points)
    if not allow_large:
        try:
            g.check(est)
        except g.TooLarge as e:
            raise InputError(str(e)) from None
    if est.seconds > 120 or est.memory > 0.5 * g.available_memory():
        click.echo(f"estimate: {est.describe()}", err=True)


def check_points(points: int, what: str, allow_large: bool) -> None:
    """Refuse, before it is built, a design with more points than memory holds (unless --allow-large)."""
    from ..run import guard as g
    if not allow_large:
        try:
            g.check_points(points, what)
        except g.TooLarge as e:
            raise InputError(str(e)) from None


def engine_option(f: Callable) -> Callable:
    """--engine compiled|simpy (compiled by default)."""
    return click.option("--engine", type=click.Choice(ENGINES), default="compiled", show_default=True,
                        help=ENGINE_HELP)(f)


LANG_HELP = ("Language of the tables' labels and units, and of figures and reports: en (English) or zh "
             "(简体中文) [default: $QUIETCAR_LANG, else en].")


def lang_option(f: Callable) -> Callable:
    """--lang zh|en (or the environment's QUIETCAR_LANG): the command runs with labels, units and
    figures in that language (:func:`sim.present.labels.speaking`)."""
    @functools.wraps(f)
    def in_language(*args, lang: str | None = None, **kwargs):
        with speaking(lang or "en"):
            return f(*args, **kwargs)
    return click.option("--lang", type=click.Choice(LANGUAGES, case_sensitive=False), default=None,
                        envvar="QUIETCAR_LANG", help=LANG_HELP)(in_language)


def common_options(f: Callable) -> Callable:
    f = engine_option(f)
    f = click.option("--max-replications", type=click.IntRange(2, 100_000), default=100, show_default=True,
                     help="With --precision: the most replications to run.")(f)
    f = click.option("--precision", type=FiniteFloat(0), default=None, metavar="R",
                     help=PRECISION_HELP)(f)
    f = click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=SET_HELP)(f)
    f = click.option("--scheduler", default=None, metavar="ADDRESS", help=SCHEDULER_HELP)(f)
    f = click.option("--workers", type=click.IntRange(1), default=None, help=WORKERS_HELP)(f)
    f = click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=None, help=SEED_HELP)(f)
    f = click.option("-n", "--replications", type=click.IntRange(1, 100_000), default=None,
                     help=REPLICATIONS_HELP)(f)
    return f
