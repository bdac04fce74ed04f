"""Drawing (matplotlib, imported lazily): :class:`DemoView` draws a frame on a figure, the
frozen backdrop and :class:`Blitter` keep redrawing cheap."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..model.onboard import ENDERS
from ..model.params import KINDS, SEATS_PER_ROW
from .frames import Bubble, DemoRun, Frame, describe_train, history
from .levers import LEVERS
from .style import (ENDER_COLOURS, ENDER_WORDS, INFANT, KIND_GLYPH, KIND_WORDS, NOISE, OCCUPANT_COLOURS,
                    OCCUPANTS, OPTED_IN, OVERFLOW, SEAT_LETTERS, STAFF, _fmt, _pct, station)

# --- drawing ------------------------------------------------------------------------------------
FIGSIZE = (16.0, 9.0)  # inches; 1280 x 720 pixels at 80 dpi (a projector's HD)
#: The window's figure: the view on the left (FIGSIZE), the levers' widgets in a strip on the right.
WINDOW_FIGSIZE = (FIGSIZE[0] + 4.5, FIGSIZE[1])
#: Text sizes in points. A saved page shows the 1280-pixel frame about 990 pixels wide on a
#: 1024x768 projector (x 0.77), so a point is 80/72 x 0.77 = 0.86 screen pixels there: body text
#: (numbers, headings, what happened) 17 pt -> 14.6 px, secondary text (axes, legend, labels) 14.5
#: pt -> 12.5 px, readable from the back of a room (tests/test_demo.py measures it in a browser).
TITLE_PT, BODY_PT, SMALL_PT = 22.0, 17.0, 14.5
_W, _H = 1280.0, 720.0  # the layout below is written in pixels of the 1280 x 720 frame, from the top left


class DemoView:
    """Draws frames of one run on a matplotlib figure.

    Everything that changes from frame to frame is in ``self.dynamic``; the rest (seat grid,
    labels, axes, legend) is static. Two ways to keep drawing cheap use that split:
    :meth:`freeze` (saving: the static part becomes one background image) and
    :class:`Blitter` (a window: the static part is restored from a copy, only the dynamic
    artists are redrawn). ``levers_text``: write the levers in the right column (saved
    animations; the window has widgets in a strip of its own instead). The view fills the
    figure's left FIGSIZE[0] inches.
    """

    def __init__(self, fig, run_: DemoRun, frames: Sequence[Frame], car: int = 0, levers_text: bool = True):
        self.fig = fig
        self.levers_text = levers_text
        self.car = car
        self.share = min(1.0, FIGSIZE[0] / fig.get_figwidth())  # of the figure's width
        self.dynamic: list = []
        self._build_static()
        self.set_run(run_, frames)

    def _dyn(self, artist):
        self.dynamic.append(artist)
        return artist

    # --- layout ---------------------------------------------------------------------------
    def _x(self, px: float) -> float:
        return px / _W * self.share

    def _y(self, px: float) -> float:
        return 1.0 - px / _H

    def _axes(self, left: float, top: float, right: float, bottom: float):
        return self.fig.add_axes((self._x(left), self._y(bottom), self._x(right) - self._x(left), (bottom - top) / _H))

    def _build_static(self) -> None:
        fig = self.fig
        fig.set_facecolor("white")
        self.title = fig.text(self._x(20), self._y(24), "", fontsize=TITLE_PT, fontweight="bold", va="center")
        self.subtitle = fig.text(self._x(20), self._y(58), "", fontsize=SMALL_PT, va="center", color="#333333")
        self.car_note = fig.text(self._x(450), self._y(92), "", fontsize=BODY_PT, ha="center", va="center")
        self.ax_car = self._axes(20, 106, 880, 318)
        self.ax_trip = self._axes(20, 392, 880, 462)
        self.panel_titles = []
        slots = ((92, 300), (60, 300), (190, 300), (60, 305))  # each panel's axes within its 320 px
        self.ax_viol, self.ax_noisy, self.ax_ended, self.ax_dist = (
            self._axes(320 * k + a, 528, 320 * k + b, 646) for k, (a, b) in enumerate(slots))
        for k in range(4):
            self.panel_titles.append(fig.text(self._x(320 * k + 12), self._y(470), "", fontsize=BODY_PT,
                                              va="top", ha="left", linespacing=1.15))
        self.log_title = fig.text(self._x(905), self._y(92), "What just happened (minute)", fontsize=BODY_PT,
                                  fontweight="bold", va="center")
        self.log_text = fig.text(self._x(905), self._y(110), "", fontsize=SMALL_PT, va="top", ha="left",
                                 linespacing=1.2)
        self.lever_text = fig.text(self._x(905), self._y(316), "", fontsize=SMALL_PT, va="top", ha="left",
                                   linespacing=1.2)

    def texts(self) -> tuple[list, list]:
        """(body, secondary): the view's visible text artists, for checking their size."""
        from matplotlib.text import Text

        body = [self.title, self.car_note, self.log_title, self.trip_text, self.final_box, *self.panel_titles]
        ids = {id(t) for t in body}
        every = [t for t in self.fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
        return [t for t in body if t.get_visible() and t.get_text().strip()], [t for t in every if id(t) not in ids]

    def set_run(self, run_: DemoRun, frames: Sequence[Frame]) -> None:
        """Show another run (after a lever changed): rebuild what depends on the train."""
        self.run, self.frames = run_, frames
        spec = run_.result.spec
        self.seats = spec.quiet_seats[self.car]
        self.rows = -(-self.seats // SEATS_PER_ROW)
        self.stops = spec.stop_times()
        self.dynamic = [self.title, self.car_note, self.log_text, *self.panel_titles]
        self._draw_car()
        self._draw_trip()
        self._draw_panels()
        note = ""
        if len(spec.quiet_seats) > 1:
            note = f" \u00b7 map: quiet car {self.car + 1} of {len(spec.quiet_seats)}, panels: all"
        self.subtitle.set_text(f"{describe_train(run_, short=len(spec.quiet_seats) > 1)} \u00b7 seed {run_.seed} "
                               f"\u00b7 {Path(run_.scenario.source).name}{note}")
        self.lever_text.set_text(self._levers_text() if self.levers_text else "")
        self.update(0)

    def _levers_text(self) -> str:
        sc = self.run.scenario
        lines = ["Levers (change with --set):"]
        for lever in LEVERS:
            lines.append(f"  {lever.key} = {lever.shown(sc)}")
        return "\n".join(lines)

    def _draw_car(self) -> None:
        from matplotlib.collections import PatchCollection
        from matplotlib.patches import FancyBboxPatch, Rectangle

        ax = self.ax_car
        ax.clear()
        rows = self.rows
        ax.set_xlim(-1.6, rows + 0.2)
        ax.set_ylim(-1.35, 5.75)
        ax.set_axis_off()
        ax.add_patch(FancyBboxPatch((-1.1, -0.7), rows + 0.95, 6.3, boxstyle="round,pad=0,rounding_size=0.6",
                                    facecolor="white", edgecolor="#555555", linewidth=2))
        ax.text(-0.9, 2.5, "front \u25c0", rotation=90, ha="center", va="center", fontsize=SMALL_PT,
                color="#444444")
        self.halo = [self._dyn(ax.add_patch(Rectangle((r - 0.5, -0.55), 1.0, 6.0, facecolor=NOISE, alpha=0.0,
                                                      linewidth=0)))
                     for r in range(rows)]
        self.seat_xy = np.zeros((self.seats, 2))
        boxes = []
        for s in range(self.seats):
            r, c = divmod(s, SEATS_PER_ROW)
            y = [5, 4, 3, 1, 0][c]  # A B C on the upper side, D F below the aisle (y = 2)
            self.seat_xy[s] = (r, y)
            boxes.append(Rectangle((r - 0.4, y - 0.38), 0.8, 0.76))
        self.seat_boxes = self._dyn(ax.add_collection(PatchCollection(boxes, zorder=2)))
        for r in range(rows):
            ax.text(r, -1.1, str(r + 1), ha="center", va="center", fontsize=SMALL_PT, color="#444444")
        for c, y in zip(SEAT_LETTERS, [5, 4, 3, 1, 0]):
            ax.text(-0.55, y, c, ha="center", va="center", fontsize=SMALL_PT, color="#444444")
        ax.text(rows / 2 - 0.5, 2.0, "aisle", ha="center", va="center", fontsize=SMALL_PT, color="#888888")
        most = {name: max((len(getattr(f, name)) for f in self.frames), default=0)
                for name in ("noisy", "staff", "bubbles")}
        self.noise_text = [self._dyn(self._new_noise()) for _ in range(most["noisy"])]
        self.staff_text = [self._dyn(self._new_staff()) for _ in range(most["staff"])]
        self.bubble_text = [self._dyn(self._new_bubble()) for _ in range(most["bubbles"])]
        self.final_box = self._dyn(ax.text(rows / 2 - 0.5, 2.5, "", ha="center", va="center", fontsize=BODY_PT,
                                           zorder=20, linespacing=1.3,
                                           bbox=dict(boxstyle="round,pad=0.5", facecolor="white",
                                                     edgecolor="#333333", alpha=0.96)))
        self._legend(ax)

    def _legend(self, ax) -> None:
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        handles = [Patch(facecolor=c, edgecolor="#888888", label=label)
                   for c, label in zip(OCCUPANT_COLOURS[1:] + OCCUPANT_COLOURS[:1], OCCUPANTS[1:] + OCCUPANTS[:1])]
        handles.append(Patch(facecolor=NOISE, alpha=0.3, label="reached by the noise"))
        handles += [Line2D([], [], linestyle="none", marker=f"${KIND_GLYPH[k]}$", markersize=15,
                           color=NOISE, label=KIND_WORDS[k]) for k in KINDS]
        handles.append(Patch(facecolor=STAFF, label="staff"))
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.01), ncol=4, fontsize=SMALL_PT,
                  frameon=False, handlelength=1.2, handletextpad=0.5, columnspacing=1.2, borderaxespad=0.0,
                  labelspacing=0.25)

    def _draw_trip(self) -> None:
        ax = self.ax_trip
        ax.clear()
        end = self.stops[-1]
        ax.set_xlim(-0.02 * end, 1.02 * end)
        ax.set_ylim(-1.2, 1.3)
        ax.set_axis_off()
        ax.plot([0, end], [0, 0], color="#999999", linewidth=3, zorder=1)
        self.trip_done = self._dyn(ax.plot([0, 0], [0, 0], color="#333333", linewidth=5, zorder=2)[0])
        self._dyn(ax.plot(self.stops, np.zeros(len(self.stops)), linestyle="none", marker="o", markersize=11,
                          color="white", markeredgecolor="#333333", markeredgewidth=2, zorder=3)[0])
        for k, t in enumerate(self.stops):
            ax.text(t, -0.85, station(k), ha="center", va="center", fontsize=BODY_PT, fontweight="bold")
        self.trip_marker = self._dyn(ax.plot([0], [0], marker=">", markersize=17, color=NOISE, zorder=4)[0])
        self.trip_text = self._dyn(ax.text(end / 2, 1.0, "", ha="center", va="center", fontsize=BODY_PT))

    def _draw_panels(self) -> None:
        from matplotlib.ticker import MaxNLocator

        end = self.stops[-1]
        last = self.frames[-1]
        ax = self.ax_viol
        ax.clear()
        y = np.arange(len(KINDS))
        self.bar_calm = [self._dyn(b) for b in ax.barh(y, np.zeros(len(KINDS)), color=NOISE, alpha=0.85)]
        self.bar_noisy = [self._dyn(b) for b in ax.barh(y, np.zeros(len(KINDS)), color="white", edgecolor=NOISE,
                                                        hatch="///")]
        ax.set_yticks(y, [f"{KIND_GLYPH[k]} {k}" for k in KINDS])
        ax.invert_yaxis()
        top = max(1.0, max(last.live[f"starts_{k}"] for k in KINDS))
        ax.set_xlim(0, top * 1.2 + 0.5)
        ax.set_xlabel("hatched: began amid noise", fontsize=SMALL_PT)
        self.viol_labels = [self._dyn(ax.text(0, i, "", va="center", fontsize=SMALL_PT)) for i in y]

        ax = self.ax_noisy
        ax.clear()
        ax.set_xlim(0, end)
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("minute", fontsize=SMALL_PT)
        ax.yaxis.set_major_formatter(_percent_formatter())
        ax.yaxis.set_major_locator(MaxNLocator(3))
        self.noisy_line = self._dyn(ax.plot([], [], color=NOISE, linewidth=2.5)[0])

        ax = self.ax_ended
        ax.clear()
        names = list(ENDERS) + ["running"]
        y = np.arange(len(names))
        colours = [ENDER_COLOURS[w] for w in ENDERS] + ["#dddddd"]
        self.bar_ended = [self._dyn(b) for b in ax.barh(y, np.zeros(len(names)), color=colours,
                                                        edgecolor="#555555")]
        ax.set_yticks(y, [ENDER_WORDS.get(w, "still running") for w in names])
        ax.invert_yaxis()
        top = max(1.0, max(last.live[f"ended_{w}"] for w in ENDERS))
        ax.set_xlim(0, top * 1.3 + 0.5)
        ax.set_xlabel("violations", fontsize=SMALL_PT)
        self.ended_labels = [self._dyn(ax.text(0, i, "", va="center", fontsize=SMALL_PT)) for i in y]

        ax = self.ax_dist
        ax.clear()
        ax.set_xlim(0, end)
        ax.set_ylim(0, max(1.0, last.live["disturbed_pax_min"]) * 1.1)
        ax.set_xlabel("minute", fontsize=SMALL_PT)
        ax.yaxis.set_major_locator(MaxNLocator(3))
        self.dist_line = self._dyn(ax.plot([], [], color=NOISE, linewidth=2.5)[0])
        for a in (self.ax_viol, self.ax_noisy, self.ax_ended, self.ax_dist):
            a.tick_params(labelsize=SMALL_PT)
            a.xaxis.set_major_locator(MaxNLocator(4, integer=True))
            for side in ("top", "right"):
                a.spines[side].set_visible(False)

    # --- per frame ------------------------------------------------------------------------------
    def update(self, i: int) -> list:
        """Draw frame i into the dynamic artists; returns them (for FuncAnimation)."""
        f = self.frames[i]
        run_ = self.run
        end = self.stops[-1]
        self.title.set_text("Arrived: the final numbers for this train" if f.final else
                            "A quiet car through one journey")
        self.seat_boxes.set_facecolors([OCCUPANT_COLOURS[o] for o in f.occupant])
        state = np.where(f.boarded, 2, np.where(f.alighted, 1, 0))
        self.seat_boxes.set_edgecolors([("#888888", "#555555", "#000000")[k] for k in state])
        self.seat_boxes.set_linewidths([(1.0, 1.6, 2.6)[k] for k in state])
        self.seat_boxes.set_linestyles([("-", (0, (2, 2)), "-")[k] for k in state])
        for r, p in enumerate(self.halo):
            p.set_alpha(min(0.55, 0.2 * f.halo[r]))
        self._fill(self.noise_text, f.noisy, lambda t, item: (t.set_position(self.seat_xy[item[0]]),
                                                               t.set_text(KIND_GLYPH[item[1]])))
        self._fill(self.staff_text, f.staff, lambda t, item: t.set_position((item[0], 2.0)))
        self._fill(self.bubble_text, f.bubbles, self._place_bubble)
        n_opt, n_over, n_inf = f.count(OPTED_IN), f.count(OVERFLOW), f.count(INFANT)
        self.car_note.set_text(f"On board: {f.on_board} of {self.seats} seats \u2014 {n_opt} chose quiet, "
                               f"{n_over} did not, {n_inf} with a baby")
        self.trip_done.set_data([0, f.minute], [0, 0])
        self.trip_marker.set_data([f.minute], [0])
        if f.final:
            where = f"arrived at {station(len(self.stops) - 1)} after {end:.0f} minutes"
        elif f.at_stop >= 0:
            where = f"minute {f.minute:.0f}: at station {station(f.at_stop)} \u2014 {self._stop_counts(f)}"
        else:
            where = f"minute {f.minute:.0f} of {end:.0f}: between {station(f.leg)} and {station(f.leg + 1)}"
        self.trip_text.set_text(where)
        self.log_text.set_text("\n".join(_wrapped(f.log, LOG_WIDTH)[-LOG_LINES:]))
        self._update_panels(i, f)
        if f.final:
            m = run_.metrics
            self.final_box.set_text(
                f"{int(f.live['starts'])} violations \u00b7 {_fmt(m['violations_per_100_pax_h'])} per 100 "
                f"passenger-hours\nnoisy {_pct(m['noisy_time_share'])} of the time \u00b7 "
                f"{_fmt(m['disturbed_pax_min_per_pax_h'])} disturbed minutes per passenger-hour\n"
                f"quiet car {_pct(m['quiet_load_factor'])} full, {_pct(m['overflow_share'])} of it by "
                f"travellers who did not choose it\nended: " + ", ".join(
                    f"{ENDER_WORDS[w]} {int(f.live['ended_' + w])}" for w in ENDERS)
                + "\n(the numbers 'quietcar run' reports for this train)")
            self.final_box.set_visible(True)
        else:
            self.final_box.set_visible(False)
        return self.dynamic

    @staticmethod
    def _fill(pool: list, items: Sequence, place: Callable[[Any, Any], Any]) -> None:
        for k, t in enumerate(pool):
            t.set_visible(k < len(items))
            if k < len(items):
                place(t, items[k])

    def _place_bubble(self, t, b: Bubble) -> None:
        x, y = self.seat_xy[b.seat]
        t.set_position((x + 0.3, y + 0.3))  # a speech bubble from the seat's upper right corner
        t.set_text(b.text)

    def _stop_counts(self, f: Frame) -> str:
        t = self.stops[f.at_stop]
        p = self.run.result.passengers
        ob = self.run.result.onboard
        in_car = p.car == self.car
        on = int(np.count_nonzero(in_car & (ob.board_time == t)))
        off = int(np.count_nonzero(in_car & (ob.alight_time == t) & ~np.asarray(ob.moved)))
        return f"{off} got off (dashed), {on} got on (bold)"

    def _update_panels(self, i: int, f: Frame) -> None:
        live, v = f.live, f.values
        noisy_by_kind = self._noisy_by_kind(f.minute)
        for k, kind in enumerate(KINDS):
            total = live[f"starts_{kind}"]
            nk = noisy_by_kind[kind]
            self.bar_calm[k].set_width(total)
            self.bar_noisy[k].set_x(total - nk)
            self.bar_noisy[k].set_width(nk)
            self.viol_labels[k].set_position((total + 0.3, k))
            self.viol_labels[k].set_text(f"{int(total)}")
        viol, noisy, ended, dist = self.panel_titles
        viol.set_text(f"Violations: {int(live['starts'])}\n"
                      f"{_fmt(v['violations_per_100_pax_h'])} per 100 passenger-hours")
        x, y = history(self.frames, i, "noisy_time_share")
        self.noisy_line.set_data(x, np.nan_to_num(y))
        noisy.set_text(f"Noisy time so far: {_pct(v['noisy_time_share'])}\n"
                       f"now: {len(f.noisy)} noisy, {f.disturbed_now} disturbed")
        counts = [live[f"ended_{w}"] for w in ENDERS]
        counts.append(live["starts"] - sum(counts))
        for k, (b, c, lab) in enumerate(zip(self.bar_ended, counts, self.ended_labels)):
            b.set_width(c)
            lab.set_position((c + 0.3, k))
            lab.set_text(str(int(c)))
        shares = ", ".join(f"{ENDER_WORDS[w]} {_pct(v['ended_by.' + w])}" for w in ("peer", "staff"))
        ended.set_text(f"Who ended them\n{shares}")
        x, y = history(self.frames, i, "disturbed_pax_min")
        self.dist_line.set_data(x, y)
        dist.set_text(f"Disturbed: {live['disturbed_pax_min']:.0f} passenger-min\n"
                      f"{_fmt(v['disturbed_pax_min_per_pax_h'])} per passenger-hour")

    def _noisy_by_kind(self, t: float) -> dict[str, int]:
        out = {k: 0 for k in KINDS}
        for rec in self.run.result.onboard.violations:
            if not rec.control and rec.start <= t and rec.running_before > 0:
                out[rec.kind] += 1
        return out

    def _new_noise(self):
        return self.ax_car.text(0, 0, "", ha="center", va="center", fontsize=BODY_PT, color="white", zorder=6,
                                visible=False,
                                bbox=dict(boxstyle="circle,pad=0.12", facecolor=NOISE, edgecolor="black",
                                          linewidth=1.2))

    def _new_staff(self):
        return self.ax_car.text(0, 0, "STAFF", ha="center", va="center", fontsize=SMALL_PT, color="white",
                                fontweight="bold", zorder=7, visible=False,
                                bbox=dict(boxstyle="round,pad=0.25", facecolor=STAFF, edgecolor="black"))

    def _new_bubble(self):
        return self.ax_car.text(0, 0, "", ha="left", va="bottom", fontsize=SMALL_PT, zorder=8, visible=False,
                                bbox=dict(boxstyle="round,pad=0.25", facecolor="#ffffe0", edgecolor="black"))

    # --- cheap redraws ----------------------------------------------------------------------------
    def freeze(self) -> None:
        """Render the static part once into a background image and hide it (for saving many
        frames with savefig: each frame then draws only the dynamic artists).

        The figure must then be saved at its own dpi. Irreversible: use a fresh figure."""
        fig = self.fig
        dyn = {id(a) for a in self.dynamic}
        for a in self.dynamic:
            a.set_animated(True)
        fig.canvas.draw()
        background = np.asarray(fig.canvas.buffer_rgba()).copy()
        for a in self.dynamic:
            a.set_animated(False)
        for ax in fig.axes:
            for child in ax.get_children():
                if id(child) not in dyn:
                    child.set_visible(False)
        for t in fig.texts:
            if id(t) not in dyn:
                t.set_visible(False)
        fig.patch.set_visible(False)
        fig.add_artist(_backdrop(background))


def _backdrop(rgba: np.ndarray):
    """An artist that paints a rendered figure (RGBA, top row first) at 1:1 pixels, under
    everything else: cheaper than ``figimage``, which resamples."""
    from matplotlib.artist import Artist

    class Backdrop(Artist):
        def __init__(self, image: np.ndarray):
            super().__init__()
            self.image = np.ascontiguousarray(image[::-1])  # the renderer counts rows from the bottom
            self.set_zorder(-100)

        def draw(self, renderer):
            if not self.get_visible():
                return
            gc = renderer.new_gc()
            renderer.draw_image(gc, 0, 0, self.image)
            gc.restore()

    return Backdrop(rgba)


class Blitter:
    """Redraw only the dynamic artists of a view on a window's canvas (matplotlib's blitting
    pattern): a full draw (resize, widgets) refreshes the background copy."""

    def __init__(self, view: DemoView):
        self.view = view
        self.canvas = view.fig.canvas
        self.background = None
        self.animate()
        self.cid = self.canvas.mpl_connect("draw_event", self._on_draw)

    def animate(self) -> None:
        for a in self.view.dynamic:
            a.set_animated(True)

    def _on_draw(self, _event) -> None:
        self.background = self.canvas.copy_from_bbox(self.view.fig.bbox)
        self._draw_dynamic()

    def _draw_dynamic(self) -> None:
        fig = self.view.fig
        for a in self.view.dynamic:
            fig.draw_artist(a)

    def refresh(self) -> None:
        """Show the view's current state."""
        if self.background is None:
            self.canvas.draw()  # fires _on_draw
            return
        self.canvas.restore_region(self.background)
        self._draw_dynamic()
        self.canvas.blit(self.view.fig.bbox)


LOG_WIDTH = 40  # characters of a line of "what just happened" (the right column is 370 pixels wide)
LOG_LINES = 9


def _wrapped(lines: Sequence[str], width: int) -> list[str]:
    """Log lines wrapped to ``width`` characters, continuations indented under the text."""
    import textwrap

    out = []
    for line in lines:
        out += textwrap.wrap(line, width, subsequent_indent=" " * 7) or [""]
    return out


def _percent_formatter():
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)
