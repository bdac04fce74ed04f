"""``quietcar demo`` (the classroom view of one train) and ``quietcar lesson`` (the lesson in a browser);
registered by sim.cli."""
from __future__ import annotations

import contextlib
import errno
import os
import sys
import tempfile
from pathlib import Path

import click

from ..scenario import BUNDLED, ScenarioError, load, resolve
from .common import prepare_core

DEFAULT_SCENARIO = BUNDLED / "classroom.toml"


class DemoInputError(click.ClickException):
    """Bad input (scenario, --set, --save format): the message says what; exit status 2."""
    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"quietcar: error: {self.format_message()}", err=True)


class DemoFailure(DemoInputError):
    """The input is fine but this machine cannot do it (e.g. mp4 without ffmpeg, a folder that
    cannot be written): one line, exit status 2 like every other refusal of the CLI."""


_HINTS = {errno.EROFS: "the file system is read-only: choose another --save path",
          errno.EACCES: "no permission to write there: choose another --save path",
          errno.EPERM: "not permitted: choose another --save path",
          errno.ENOSPC: "the disk is full: free some space or choose another --save path",
          errno.EDQUOT: "over the disk quota: free some space or choose another --save path"}


def _cannot_write(path: Path, e: OSError) -> DemoFailure:
    hint = _HINTS.get(e.errno)
    return DemoFailure(f"cannot write {path}: {e.strerror or e}" + (f"; {hint}" if hint else ""))


class _SaveTarget:
    """Writing --save's file whole or not at all: a hidden temporary file in the target's folder
    (made now, so an unwritable folder is refused before anything is simulated), renamed over
    the target when complete. On any failure the temporary file and any folder made for it are
    removed: nothing is left behind. The temporary name keeps the target's extension (the
    writers choose the format by it)."""

    def __init__(self, target: Path):
        self.target = target
        folder = target.parent if str(target.parent) else Path(".")
        self.made: list[Path] = []  # folders created for the file, deepest last
        missing = folder
        while not missing.exists() and missing != missing.parent:
            self.made.insert(0, missing)
            missing = missing.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{target.suffix}", dir=folder)
            os.close(fd)
        except OSError as e:
            self._remove_folders()
            raise _cannot_write(target, e) from None
        self.tmp = Path(tmp)

    def commit(self) -> None:
        """The file is complete: give it an ordinary new file's permissions and its name."""
        try:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(self.tmp, 0o666 & ~umask)  # mkstemp makes it private
            os.replace(self.tmp, self.target)
        except OSError as e:
            self.discard()
            raise _cannot_write(self.target, e) from None

    @contextlib.contextmanager
    def writing(self):
        """Write ``self.tmp`` inside the block: on success the file takes its name; on any error
        nothing is left, and an operating-system error becomes one line naming the target."""
        try:
            yield self.tmp
        except OSError as e:
            self.discard()
            raise _cannot_write(self.target, e) from None
        except BaseException:
            self.discard()
            raise
        self.commit()

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.tmp.unlink()
        self._remove_folders()

    def _remove_folders(self) -> None:
        for folder in reversed(self.made):
            with contextlib.suppress(OSError):
                folder.rmdir()


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
        target = _SaveTarget(save_to)  # find out now, before simulating, whether it can be written there
    seed = sc.run.seed if seed is None else seed
    try:
        run = view.run(sc, seed, train)
    except ValueError as e:
        if save_to is not None:
            target.discard()
        raise DemoInputError(str(e)) from None
    if save_to is not None:
        _save_demo(view, run, speed, target)
        return
    if view.has_display():
        click.echo(view.summary_text(run))
        view.show(sc, seed, train, speed)
        return
    click.echo(view.summary_text(run))
    click.echo("\nNo display here, so no window: write the animation with --save demo.html "
               "(plays in any browser) and change levers with --set KEY=VALUE.")


def _save_demo(view, run, speed: float, target: "_SaveTarget") -> None:
    """Write the animation to ``target`` whole or not at all (see _SaveTarget)."""
    save_to = target.target
    with target.writing() as tmp:
        frames = view.build_frames(run, view.step_for(speed))
        if sys.stderr.isatty():
            with click.progressbar(length=len(frames), label=f"drawing {len(frames)} frames",
                                   file=sys.stderr) as bar:
                view.save(run, frames, tmp, progress=lambda done, total: bar.update(1))
        else:
            view.save(run, frames, tmp)
    click.echo(view.summary_text(run))
    size = save_to.stat().st_size / 1e6
    click.echo(f"\nwrote {save_to} ({len(frames)} frames, {size:.1f} MB, "
               f"{frames[-1].minute / speed:.0f} s at --speed {speed:g})")


@click.command("lesson")
@click.argument("scenario", required=False)
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=None,
              help="Root seed: the same seed and levers give the same journey [default: the scenario's run.seed].")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Only this computer can open the page unless you ask for more: "
                   "--host 0.0.0.0 lets students on the same network open it (the addresses are printed).")
@click.option("--port", type=click.IntRange(0, 65535), default=8050, show_default=True,
              help="Port to listen on (0: any free port).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None,
              help="Language of the page: zh (简体中文) or en [default: the browser's language].")
@click.option("--save", "save_to", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write one self-contained page (no server, no network) with the journeys of a grid of "
                   "lever values, instead of starting the server.")
@click.option("--levers", "grid", multiple=True, metavar="LEVER=V1,V2,...",
              help="With --save: the lever values to carry (every combination is saved), e.g. "
                   "--levers contagion=0,1,2 --levers patrol=10,60. LEVER is a lever's short name "
                   "(overflow, load, patrol, peers, contagion, family) or its scenario key "
                   "(booking.overflow, ...) [default: the lesson's experiments].")
@click.option("--no-browser", is_flag=True, help="Do not open a browser window, only print the address.")
def lesson(scenario: str | None, seed: int | None, host: str, port: int, lang: str | None, save_to: Path | None,
           grid: tuple[str, ...], no_browser: bool) -> None:
    """The lesson in a browser: students pull the levers themselves.

    Starts a local web server and opens the page: the quiet car's seat map, play / pause /
    step / speed, the live numbers, and the levers (overflow rule, demand, patrols,
    neighbours, contagion, families). Moving a lever simulates the same train (same seed)
    again; "Compare two settings" plays two journeys side by side. Stop with Ctrl-C.

    With --save, writes one page that works offline from a USB stick instead, carrying the
    journeys of the lesson's experiments (or of --levers). SCENARIO is a TOML file or a
    bundled scenario's name [default: classroom]. The lesson plan is docs/classroom.md.

    \b
    Examples:
      quietcar lesson                                   # open http://127.0.0.1:8050/
      quietcar lesson --host 0.0.0.0 --lang zh          # students open it from their phones
      quietcar lesson --save lesson.html                # the three experiments, offline
      quietcar lesson --save c.html --levers contagion=0,1,2 --levers patrol=10,30,60
    """
    if grid and save_to is None:
        raise DemoInputError("--levers chooses what --save carries: add --save lesson.html")
    try:
        sc = load(DEFAULT_SCENARIO if scenario is None else resolve(scenario))
    except ScenarioError as e:
        raise DemoInputError(str(e)) from None
    seed = sc.run.seed if seed is None else seed
    if save_to is not None:
        _save_lesson(sc, seed, save_to, grid, lang)
        return
    _serve_lesson(sc, seed, host, port, lang, no_browser)


def _save_lesson(sc, seed: int, save_to: Path, grid: tuple[str, ...], lang: str | None) -> None:
    from ..lesson.journey import LeverError
    from ..lesson.offline import lesson_page, parse_grid

    try:
        levers = parse_grid(grid) if grid else None
    except LeverError as e:
        raise DemoInputError(str(e)) from None
    if save_to.suffix.lower() not in (".html", ".htm"):
        raise DemoInputError(f"cannot save {save_to}: the lesson is a web page, name it .html")
    prepare_core()  # says so when the core is being compiled (the first run after installing)
    target = _SaveTarget(save_to)  # find out now, before simulating, whether the page can be written there
    with target.writing() as tmp:
        page, count = lesson_page(sc, seed, levers, lang)
        tmp.write_text(page, encoding="utf-8")
    size = save_to.stat().st_size
    click.echo(f"wrote {save_to} ({count} journeys of seed {seed}, {size / 1e6:.1f} MB): open it in any browser, "
               "no network needed")


def _serve_lesson(sc, seed: int, host: str, port: int, lang: str | None, no_browser: bool) -> None:
    from ..lesson.server import addresses, make_app, serve

    prepare_core()  # says so when the core is being compiled (the first run after installing)
    try:
        app = make_app(sc, seed, lang, log=lambda text: click.echo(text, err=True))
    except ValueError as e:
        raise DemoInputError(str(e)) from None

    def ready(url: str) -> None:
        shown = url.rstrip("/").rsplit(":", 1)[1]
        everywhere = host in ("0.0.0.0", "::", "")
        if everywhere:
            url = f"http://127.0.0.1:{shown}/"
        click.echo(f"The lesson is at {url}" + (" on this computer" if everywhere else "") + "  (stop with Ctrl-C)")
        if everywhere:
            found = addresses()
            for address in found:
                click.echo(f"  students on this network: http://{address}:{shown}/")
            if not found:
                click.echo(f"  students on this network: http://<this computer's address>:{shown}/ "
                           "(no network address found here)")
        if not no_browser and _has_browser():
            import webbrowser

            webbrowser.open(url)

    try:
        serve(app, host, port, ready)
    except OSError as e:
        why = "is in use (another program, or a lesson already running?); try --port 0 for any free port" \
            if e.errno in (98, 48, 10048) else f"cannot be used: {e.strerror or e}"
        raise DemoInputError(f"--host {host} --port {port} {why}") from None


def _has_browser() -> bool:
    """Whether opening a browser makes sense here (a desktop session, not a terminal-only machine)."""
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
