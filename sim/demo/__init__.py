"""The classroom view: one quiet car through one journey, with live panels and levers.

Two layers, kept apart so the first can be tested without drawing anything:

* **Frames** (pure): :func:`run` simulates one train with a trace; :func:`build_frames`
  turns its records and trace into a list of :class:`Frame` - who sits where, which
  violations run and whom they reach, where the staff are, what just happened, and the
  live numbers so far. The live numbers are partial tallies evaluated with the same
  formulas as :mod:`sim.run.metrics`; the last frame carries the train's own tally, so the
  panels end on exactly the numbers ``train_metrics`` (and the CLI) report for that train.
* **Drawing** (matplotlib): :class:`DemoView` draws a frame on a figure; :func:`save`
  writes an animation (self-contained HTML, GIF, MP4); :func:`show` opens a window with
  the levers as widgets.

One module a job: :mod:`.style` (words, colours, names), :mod:`.levers` (the knobs),
:mod:`.frames` (the run and its frames), :mod:`.view` (drawing), :mod:`.saving`
(animations on disk) and :mod:`.window` (the window with widgets). This package
re-exports their names, so ``sim.demo.X`` works whichever module X lives in; matplotlib
is imported only where something is drawn.

The core model never imports this package. Times are minutes after departure.
"""
from __future__ import annotations

from .frames import (Bubble, DemoRun, Frame, build_frames, describe_train, event_lines, frame_times, history,
                     lesson_cells, run, staff_walks, summary_text)
from .frames import _Context as _Context, _partial_tally as _partial_tally  # for the tests' tallies
from .levers import LEVERS, Lever, lever_overrides
from .saving import (FPS, SAVE_FORMATS, UnknownFormat, WriterUnavailable, check_save_path, embedded_frames,
                     frozen_view, render_frames, render_png, replay_command, save, self_contained, step_for)
from .style import (EMPTY, ENDER_COLOURS, ENDER_WORDS, INFANT, KIND_GLYPH, KIND_WORDS, LIVE_KEYS, NOISE,
                    OCCUPANT_COLOURS, OCCUPANTS, OPTED_IN, OVERFLOW, SEAT_LETTERS, SHOWN, STAFF, STATION_NAMES,
                    seat_label, station)
from .view import FIGSIZE, TITLE_PT, BODY_PT, SMALL_PT, WINDOW_FIGSIZE, Blitter, DemoView
from .window import Classroom, has_display, show

__all__ = [
    # style
    "EMPTY", "OPTED_IN", "OVERFLOW", "INFANT", "OCCUPANTS", "SEAT_LETTERS", "OCCUPANT_COLOURS", "NOISE", "STAFF",
    "KIND_GLYPH", "KIND_WORDS", "ENDER_WORDS", "ENDER_COLOURS", "STATION_NAMES", "SHOWN", "LIVE_KEYS", "station",
    "seat_label",
    # levers
    "Lever", "LEVERS", "lever_overrides",
    # frames
    "DemoRun", "run", "Bubble", "Frame", "frame_times", "staff_walks", "event_lines", "build_frames", "history",
    "describe_train", "summary_text", "lesson_cells",
    # view
    "FIGSIZE", "WINDOW_FIGSIZE", "TITLE_PT", "BODY_PT", "SMALL_PT", "DemoView", "Blitter",
    # saving
    "FPS", "SAVE_FORMATS", "UnknownFormat", "WriterUnavailable", "check_save_path", "step_for", "render_png",
    "frozen_view", "render_frames", "self_contained", "save", "replay_command", "embedded_frames",
    # window
    "Classroom", "has_display", "show",
]
