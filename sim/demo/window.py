"""The classroom window: the animation with the levers as widgets (needs a display)."""
from __future__ import annotations

from typing import Any

from ..scenario import Scenario, with_values
from .frames import build_frames, run
from .levers import LEVERS, lever_overrides
from .saving import FPS, step_for
from .view import WINDOW_FIGSIZE, Blitter, DemoView

# --- the window with levers ---------------------------------------------------------------------
class Classroom:
    """A window with the animation and the levers as widgets; "Run again" reruns the same seed.

    Works on any figure (headless too, for tests): ``rerun()`` applies the widgets' values.
    """

    def __init__(self, fig, scenario: Scenario, seed: int, train: int = 0, speed: float = 4.0, fps: int = FPS):
        self.fig, self.base, self.seed, self.train, self.fps = fig, scenario, seed, train, fps
        self.step = step_for(speed, fps)
        self.values: dict[str, Any] = {lever.name: lever.value(scenario) for lever in LEVERS}
        self.run = run(scenario, seed, train)
        self.frames = build_frames(self.run, self.step)
        self.view = DemoView(fig, self.run, self.frames, levers_text=False)
        self.blitter: Blitter | None = None
        self.timer = None
        self.i = 0
        self.playing = True
        self.last_tick: float | None = None
        self._widgets()

    def _widgets(self) -> None:
        """The levers as widgets in the strip right of the view (the figure's last inches)."""
        from matplotlib.widgets import Button, RadioButtons, Slider

        fig = self.fig
        x0 = self.view.share + 0.01
        width = 0.99 - x0
        fig.text(x0, 0.965, "Levers (then press Run again)", fontsize=13, fontweight="bold", va="center")
        self.radios = {}
        y = 0.91
        for lever in LEVERS:
            if lever.choices:
                h = 0.034 * len(lever.choices) + 0.01
                ax = fig.add_axes((x0, y - h, width, h))
                ax.set_title(lever.label, fontsize=12, loc="left", pad=3)
                active = list(lever.choices).index(self.values[lever.name])
                rb = RadioButtons(ax, lever.choices, active=active, label_props={"fontsize": [12]})
                rb.on_clicked(lambda label, name=lever.name: self._set(name, label))
                self.radios[lever.name] = rb
                y -= h + 0.05
        self.sliders = {}
        for lever in LEVERS:
            if not lever.choices:
                ax = fig.add_axes((x0 + 0.02, y - 0.03, width - 0.07, 0.025))
                ax.set_title(lever.label, fontsize=12, loc="left", pad=3)
                s = Slider(ax, "", lever.lo, lever.hi, valinit=float(self.values[lever.name]))
                s.valtext.set_fontsize(12)
                s.on_changed(lambda val, name=lever.name: self._set(name, val))
                self.sliders[lever.name] = s
                y -= 0.075
        self.buttons = {}
        for k, (name, fn) in enumerate((("Run again", self.rerun), ("Next seed", self.next_seed),
                                       ("Pause", self.toggle))):
            ax = fig.add_axes((x0 + k * width / 3, 0.015, width / 3 - 0.005, 0.045))
            b = Button(ax, name)
            b.label.set_fontsize(12)
            b.on_clicked(lambda _event, fn=fn: fn())
            self.buttons[name] = b
        self.command = fig.text(0.01, 0.003, "", fontsize=8.5, color="#333333", va="bottom")
        self._show_command()

    def _set(self, name: str, value: Any) -> None:
        self.values[name] = value

    def overrides(self) -> list[str]:
        return lever_overrides(self.base, self.values)

    def _show_command(self) -> None:
        sets = " ".join(f"--set '{o}'" for o in self.overrides())
        self.command.set_text(f"The same run without a display: quietcar demo {self.base.source} "
                              f"--seed {self.seed} {sets} --save demo.html")

    def rerun(self) -> None:
        """Simulate again with the levers' values and the same seed; restart the animation."""
        scenario = with_values(self.base, self.overrides())
        self.run = run(scenario, self.seed, self.train)
        self.frames = build_frames(self.run, self.step)
        self.view.set_run(self.run, self.frames)
        if self.blitter:
            self.blitter.animate()
        self.i = 0
        self.playing = True
        self.last_tick = None
        self._show_command()
        self.fig.canvas.draw_idle()

    def next_seed(self) -> None:
        self.seed += 1
        self.rerun()

    def toggle(self) -> None:
        self.playing = not self.playing
        self.buttons["Pause"].label.set_text("Play" if not self.playing else "Pause")
        self.fig.canvas.draw_idle()

    def tick(self) -> None:
        """Move on (if playing) and draw. Frames are skipped when drawing is slower than the
        frame rate, so the journey still takes its time at ``speed`` minutes a second."""
        import time

        now = time.monotonic()
        if self.playing and self.last_tick is not None:
            steps = max(1, round((now - self.last_tick) * self.fps))
            self.i = min(len(self.frames) - 1, self.i + steps)
        self.last_tick = now
        self.view.update(self.i)
        if self.blitter:
            self.blitter.refresh()

    def start(self) -> None:
        """Animate on the window's canvas with a timer, redrawing only what changes."""
        self.blitter = Blitter(self.view)
        self.timer = self.fig.canvas.new_timer(interval=int(1000 / self.fps))
        self.timer.add_callback(self.tick)
        self.timer.start()


def has_display() -> bool:
    """Whether pyplot would open a window (an interactive backend is in use)."""
    import matplotlib

    backend = matplotlib.get_backend().lower()
    return backend not in {"agg", "pdf", "ps", "svg", "pgf", "cairo", "template"} and "inline" not in backend


def show(scenario: Scenario, seed: int, train: int = 0, speed: float = 4.0) -> None:
    """Open the classroom window (needs a display)."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=WINDOW_FIGSIZE, dpi=80)  # the 1280 x 720 view and the levers' strip
    fig.canvas.manager.set_window_title("quietcar demo")
    room = Classroom(fig, scenario, seed, train, speed)
    room.start()
    plt.show()
