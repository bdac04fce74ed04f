"""``quietcar demo``: the classroom view of one train (registered by sim.cli: ``main.add_command(demo)``)."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from ..scenario import BUNDLED, ScenarioError, load, resolve

DEFAULT_SCENARIO = BUNDLED / "classroom.toml"


class DemoInputError(click.ClickException):
    """Bad input (scenario, --set, --save format): the message says what; exit status 2."""
    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"quietcar: error: {self.format_message()}", err=True)


class DemoFailure(DemoInputError):
    """The input is fine but this machine cannot do it (e.g. mp4 without ffmpeg); exit status 1."""
    exit_code = 1


@click.command("demo")
@click.argument("scenario", required=False)
@click.option("--seed", type=click.IntRange(0), default=None,
              help="Root seed: the same seed and levers give the same journey [default: the scenario's run.seed].")
@click.option("--speed", type=click.FloatRange(0.1, 120.0), default=4.0, show_default=True,
              help="Minutes of journey per second of playback (4: a two-hour journey in 30 s).")
@click.option("--save", "save_to", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the animation instead of opening a window: .html (plays in any browser, "
                   "nothing to install), .gif, or .mp4 (needs ffmpeg).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Change a lever (any scenario key), e.g. --set booking.overflow=never (repeatable).")
@click.option("--train", type=click.IntRange(0), default=0, show_default=True,
              help="Which train of the scenario's network day to show (the classroom scenario has one).")
def demo(scenario: str | None, seed: int | None, speed: float, save_to: Path | None,
         overrides: tuple[str, ...], train: int) -> None:
    """Watch one quiet car through one journey, with live numbers and levers.

    SCENARIO is a TOML file or a bundled scenario's name [default: classroom]. The seat
    map shows who sits where (opted in, overflow, family with an infant), every violation
    and the neighbours its noise reaches, reminders, complaints and the staff; the panels
    count violations, noisy time, who ended them and disturbed passenger-minutes, and end
    on the numbers `quietcar run` reports for this train (replication 0 of the seed).

    With a display a window opens with the levers as sliders and buttons; without one,
    change the levers with --set and write the animation with --save.

    \b
    Examples:
      quietcar demo                                    # the classroom train
      quietcar demo --save demo.html                   # open demo.html in any browser
      quietcar demo --set booking.overflow=never --save never.html
      quietcar demo --set network.load_factor_mean=1.3 --set staff.patrol_interval=10 --save holiday.html
    """
    from .. import demo as view

    try:
        sc = load(DEFAULT_SCENARIO if scenario is None else resolve(scenario), overrides)
    except ScenarioError as e:
        raise DemoInputError(str(e)) from None
    if save_to is not None:
        try:
            view.check_save_path(save_to)
        except view.UnknownFormat as e:
            raise DemoInputError(str(e)) from None
        except view.WriterUnavailable as e:
            raise DemoFailure(str(e)) from None
    seed = sc.run.seed if seed is None else seed
    try:
        run = view.run(sc, seed, train)
    except ValueError as e:
        raise DemoInputError(str(e)) from None
    if save_to is None and view.has_display():
        click.echo(view.summary_text(run))
        view.show(sc, seed, train, speed)
        return
    frames = view.build_frames(run, view.step_for(speed))
    if save_to is None:
        click.echo(view.summary_text(run))
        click.echo("\nNo display here, so no window: write the animation with --save demo.html "
                   "(plays in any browser) and change levers with --set KEY=VALUE.")
        return
    save_to.parent.mkdir(parents=True, exist_ok=True)
    if sys.stderr.isatty():
        with click.progressbar(length=len(frames), label=f"drawing {len(frames)} frames", file=sys.stderr) as bar:
            view.save(run, frames, save_to, progress=lambda done, total: bar.update(1))
    else:
        view.save(run, frames, save_to)
    click.echo(view.summary_text(run))
    size = save_to.stat().st_size / 1e6
    click.echo(f"\nwrote {save_to} ({len(frames)} frames, {size:.1f} MB, "
               f"{frames[-1].minute / speed:.0f} s at --speed {speed:g})")
