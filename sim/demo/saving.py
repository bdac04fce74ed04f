"""Saving the animation: headless rendering, the self-contained HTML page, GIF and MP4,
and the command that replays a run."""
from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable, Iterator, Sequence
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .frames import DemoRun, Frame, describe_train
from .levers import LEVERS
from .view import FIGSIZE, DemoView

if TYPE_CHECKING:  # for annotations only: Pillow is imported where a GIF is written
    from PIL import Image

# --- saving -----------------------------------------------------------------------------------
FPS = 8  # frames per second of playback
SAVE_FORMATS = {".html": "html", ".htm": "html", ".gif": "pillow", ".mp4": "ffmpeg"}


class UnknownFormat(ValueError):
    """--save names a file whose extension is no animation format we write."""


class WriterUnavailable(RuntimeError):
    """The requested animation format cannot be written on this machine (the message says why)."""


def check_save_path(path: str | Path) -> str:
    """The writer for ``path``'s extension; UnknownFormat or WriterUnavailable say what to do instead."""
    from matplotlib import animation

    suffix = Path(path).suffix.lower()
    writer = SAVE_FORMATS.get(suffix)
    if writer is None:
        raise UnknownFormat(f"cannot save {path}: unknown format {suffix or '(no extension)'}; "
                                f"use .html (plays in any browser), .gif or .mp4")
    if writer == "ffmpeg" and not animation.writers.is_available("ffmpeg"):
        raise WriterUnavailable(f"cannot save {path}: writing .mp4 needs ffmpeg, which is not installed "
                                f"(Debian/Ubuntu: apt-get install ffmpeg); --save demo.html or demo.gif "
                                f"work without it")
    if writer == "pillow" and not animation.writers.is_available("pillow"):
        raise WriterUnavailable(f"cannot save {path}: writing .gif needs Pillow (pip install pillow); "
                                f"--save demo.html works without it")
    return writer


def step_for(speed: float, fps: int = FPS) -> float:
    """Minutes of journey per frame for ``speed`` minutes of journey per second of playback."""
    if not speed > 0:
        raise ValueError(f"speed must be > 0 minutes of journey per second, got {speed}")
    return speed / fps


def _figure(dpi: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGSIZE, dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def render_png(run_: DemoRun, frames: Sequence[Frame], index: int, path: str | Path, dpi: float = 80) -> None:
    """Draw one frame to a PNG file (headless; for checking what the class will see)."""
    fig = _figure(dpi)
    view = DemoView(fig, run_, frames)
    view.update(index)
    fig.savefig(path, dpi=dpi)


def frozen_view(run_: DemoRun, frames: Sequence[Frame], dpi: float = 80) -> DemoView:
    """A view on a headless (Agg) figure whose static part is frozen into a background
    image: each frame then costs only its dynamic artists. Save it at ``dpi``."""
    fig = _figure(dpi)
    view = DemoView(fig, run_, frames)
    view.freeze()
    return view


def render_frames(run_: DemoRun, frames: Sequence[Frame], dpi: float = 80) -> Iterator[np.ndarray]:
    """Every frame as an RGBA image (height x width x 4), headless, in order."""
    view = frozen_view(run_, frames, dpi)
    for i in range(len(frames)):
        view.update(i)
        view.fig.canvas.draw()
        yield np.asarray(view.fig.canvas.buffer_rgba()).copy()


# Font Awesome icons of matplotlib's player, as plain characters (the page must load nothing).
_ICONS = {"fa fa-minus": "\u2212", "fa fa-fast-backward": "|\u25c0", "fa fa-step-backward": "\u25c0|",
          "fa fa-play fa-flip-horizontal": "\u25c0", "fa fa-pause": "\u275a\u275a", "fa fa-play": "\u25b6",
          "fa fa-step-forward": "|\u25b6", "fa fa-fast-forward": "\u25b6|", "fa fa-plus": "+"}


def self_contained(snippet: str, title: str, intro: str, command: str = "") -> str:
    """A whole HTML page around matplotlib's JavaScript player, with nothing fetched from
    the network: the Font Awesome stylesheet link is dropped and its icons become characters."""
    snippet = re.sub(r"<link[^>]*font-awesome[^>]*>", "", snippet)
    snippet = re.sub(r'<i class="(fa [^"]*)"></i>', lambda m: _ICONS.get(m.group(1), "?"), snippet)
    # On a 1024x768 projector the frame takes the page's width (scrolled to, the frame and the
    # player's buttons fit a browser window's ~625 pixels of height): its text stays >= 12 px.
    style = ("body{font-family:'DejaVu Sans',Arial,sans-serif;margin:.5em .5em;color:#222}"
             ".animation img{max-width:100%;max-height:calc(100vh - 5em);height:auto;width:auto;"
             "border:1px solid #ccc}"
             ".anim-buttons button{font-size:1.15em;min-width:2.6em;padding:.25em .4em}"
             "h1{font-size:1.3em;margin:.1em 0}p{max-width:70em;margin:.3em 0}"
             "pre{background:#f4f4f4;padding:.5em;white-space:pre-wrap;max-width:90em}")
    replay = (f"<p>The same run again (every lever written out):</p>\n<pre>{html.escape(command)}</pre>\n"
              if command else "")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{style}</style>\n</head>\n<body>\n"
            f"<h1>{html.escape(title)}</h1>\n<p>{html.escape(intro)}</p>\n{snippet}\n{replay}</body>\n</html>\n")


def _html_writer(fps: int, colours: int = 32):
    """matplotlib's HTMLWriter (embedded frames, JavaScript player) storing each frame as a
    palette PNG: flat-coloured frames shrink three- to fivefold, so a whole journey stays a
    few megabytes."""
    from matplotlib import animation

    class PaletteHTMLWriter(animation.HTMLWriter):
        def grab_frame(self, **savefig_kwargs):
            if not hasattr(self, "_saved_frames"):  # matplotlib changed its internals: plain frames
                return super().grab_frame(**savefig_kwargs)
            from PIL import Image

            raw = BytesIO()
            self.fig.savefig(raw, format="rgba", dpi=self.dpi, **savefig_kwargs)
            w, h = self.fig.canvas.get_width_height(physical=True)
            img = Image.frombuffer("RGBA", (w, h), raw.getbuffer(), "raw", "RGBA", 0, 1)
            img = img.convert("RGB").quantize(colors=colours, method=Image.Quantize.FASTOCTREE,
                                              dither=Image.Dither.NONE)
            out = BytesIO()
            img.save(out, format="png", compress_level=6)
            self._saved_frames.append(base64.encodebytes(out.getvalue()).decode("ascii"))

    return PaletteHTMLWriter(fps=fps, embed_frames=True, default_mode="once")


def save(run_: DemoRun, frames: Sequence[Frame], path: str | Path, fps: int = FPS, dpi: float = 80,
         progress: Callable[[int, int], None] | None = None) -> Path:
    """Write the animation to ``path`` (.html self-contained, .gif, .mp4); returns the path.

    HTML embeds every frame as a PNG in the page (matplotlib's JavaScript player), so it
    plays in any browser, offline, with nothing to install. ``progress(done, total)`` is
    called after each frame.
    """
    from tempfile import TemporaryDirectory

    from matplotlib import animation

    path = Path(path)
    kind = check_save_path(path)
    view = frozen_view(run_, frames, dpi)
    with TemporaryDirectory() as tmp:
        if kind == "pillow":
            _save_gif(view, len(frames), path, fps, progress)
            return path
        if kind == "html":
            writer, target = _html_writer(fps), Path(tmp, "player.html")
        else:
            writer, target = animation.FFMpegWriter(fps=fps), path
        with writer.saving(view.fig, str(target), dpi):
            for i in range(len(frames)):
                view.update(i)
                writer.grab_frame()
                if progress:
                    progress(i + 1, len(frames))
        if kind == "html":
            snippet = target.read_text(encoding="utf-8")
            title = f"quietcar classroom demo \u2014 {Path(run_.scenario.source).name}, seed {run_.seed}"
            intro = (f"{describe_train(run_)}. Press \u25b6 to play, \u275a\u275a to pause; drag the slider to "
                     f"move through the journey; \u2212 and + change the speed.")
            path.write_text(self_contained(snippet, title, intro, replay_command(run_)), encoding="utf-8")
    return path


GIF_HOLD_S = 4.0  # seconds the GIF stays on its last frame (the final numbers) before it loops


def _gif_palette(first) -> "Image.Image":
    """One palette for every frame of a GIF: the view's own colours, exact, then the colours
    of the first frame (text, antialiased edges) adaptively. Each frame is mapped onto it
    without dithering, so a legend swatch keeps its colour even in a frame whose seats no
    longer show it (a palette per frame lost them: the empty car at arrival)."""
    from matplotlib.colors import to_rgb
    from PIL import Image

    from .style import ENDER_COLOURS, NOISE, OCCUPANT_COLOURS, STAFF

    fixed = []
    for colour in (*OCCUPANT_COLOURS, NOISE, STAFF, *ENDER_COLOURS.values(), "#ffffff", "#000000"):
        rgb = tuple(int(round(255 * c)) for c in to_rgb(colour))
        if rgb not in fixed:
            fixed.append(rgb)
    rest = first.quantize(256 - len(fixed), method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    palette = [c for rgb in fixed for c in rgb] + rest.getpalette()[:3 * (256 - len(fixed))]
    out = Image.new("P", (1, 1))
    out.putpalette(palette + [0] * (768 - len(palette)))
    return out


def _save_gif(view: DemoView, count: int, path: Path, fps: int,
              progress: Callable[[int, int], None] | None) -> None:
    """Write the frames as a GIF on one palette (see :func:`_gif_palette`), holding the last
    frame GIF_HOLD_S seconds."""
    from PIL import Image

    palette = None
    images = []
    for i in range(count):
        view.update(i)
        view.fig.canvas.draw()
        rgb = Image.frombuffer("RGBA", view.fig.canvas.get_width_height(physical=True),
                               bytes(view.fig.canvas.buffer_rgba()), "raw", "RGBA", 0, 1).convert("RGB")
        if palette is None:
            palette = _gif_palette(rgb)
        images.append(rgb.quantize(palette=palette, dither=Image.Dither.NONE))
        if progress:
            progress(i + 1, count)
    step_ms = round(1000 / fps)
    durations = [step_ms] * (count - 1) + [round(1000 * GIF_HOLD_S)]
    images[0].save(path, save_all=True, append_images=images[1:], duration=durations, loop=0, optimize=False)


def replay_command(run_: DemoRun) -> str:
    """The command that makes this run again, with every lever's value written out."""
    sets = " ".join(f"--set '{lever.exact(run_.scenario)}'" for lever in LEVERS)
    return f"quietcar demo {run_.scenario.source} --seed {run_.seed} --train {run_.train} {sets}"


def embedded_frames(page: str) -> list[bytes]:
    """The frame images embedded in a saved HTML page (decoded), in order."""
    found = re.findall(r'frames\[(\d+)\] = "data:image/(?:png|jpeg);base64,([^"]*)"', page)
    return [base64.b64decode(data.replace("\\n", "").replace("\n", "")) for _, data in
            sorted(found, key=lambda x: int(x[0]))]
