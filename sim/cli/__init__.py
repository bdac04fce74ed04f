"""The ``quietcar`` command: one click group over one thin module per audience.

- :mod:`.planners`: run, compare, validate, scenarios, show;
- :mod:`.research`: sweep, sensitivity, plot, report, calibrate;
- :mod:`.classroom`: demo, lesson;
- :mod:`.common`: the options and errors they share.
"""
from __future__ import annotations

import click

from .. import __version__
from . import classroom, planners, research
from .common import InputError, io_error


class Quietcar(click.Group):
    """The quietcar group: whatever a command meets that the user can act on (a full disk, a
    read-only folder, a damaged results folder, an unreachable scheduler) ends in one line on
    stderr and exit status 2, never a traceback."""

    def invoke(self, ctx: click.Context):
        from ..run.integrity import ResultsError
        from ..run.runner import DaskMissing, SchedulerError
        try:
            return super().invoke(ctx)
        except click.UsageError as e:
            raise usage_line(e) from None
        except OSError as e:
            raise io_error(e) from None
        except (ResultsError, SchedulerError, DaskMissing) as e:
            raise InputError(str(e)) from None


    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as e:
            raise usage_line(e) from None


def usage_line(e: click.UsageError) -> InputError:
    """A usage error (unknown option, bad value ...) as one line that says where help is."""
    where = e.ctx.command_path if e.ctx else "quietcar"
    return InputError(f"{e.format_message()} (see: {where} --help)")


@click.group(cls=Quietcar, context_settings=dict(help_option_names=["-h", "--help"], max_content_width=100))
@click.version_option(__version__, prog_name="quietcar")
def main() -> None:
    """Simulate quiet-carriage (静音车厢) booking policy on a day of D/G trains.

    A scenario (a TOML file, or the name of a bundled one: pilot, expansion,
    spring-festival, classroom) describes the trains, the passengers, the booking
    policy and the crew. `run` simulates it for a number of replications and writes a
    results folder; `compare` runs several on the same seeds and prints the differences
    with confidence intervals.

    \b
    Examples:
      quietcar run pilot
      quietcar run expansion -n 5 --set network.trains=500
      quietcar compare expansion expansion --each 2:booking.overflow=never -n 20
      quietcar lesson                    # the classroom lesson in a browser
      quietcar show results/pilot-s2024-n20
      quietcar calibrate calibration/targets.toml --vary behaviour.contagion=0:1.5
      quietcar run expansion --posterior results/calibration-targets-s2026
    """



for _command in (*planners.COMMANDS, classroom.demo, classroom.lesson, *research.COMMANDS):
    main.add_command(_command)
