"""The ``quietcar`` command: one click group over one thin module per audience.

- :mod:`.planners`: run, compare, validate, scenarios, show;
- :mod:`.research`: sweep, sensitivity, plot, report, calibrate;
- :mod:`.classroom`: demo;
- :mod:`.common`: the options and errors they share.
"""
from __future__ import annotations

import click

from .. import __version__
from . import classroom, planners, research


@click.group(context_settings=dict(help_option_names=["-h", "--help"], max_content_width=100))
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
      quietcar compare expansion expansion --set booking.overflow=never -n 20
      quietcar show results/pilot-s2026-n20
      quietcar calibrate calibration/targets.toml --vary behaviour.contagion=0:1.5
      quietcar run expansion --posterior results/calibration-targets-s2026
    """



for _command in (*planners.COMMANDS, classroom.demo, *research.COMMANDS):
    main.add_command(_command)
