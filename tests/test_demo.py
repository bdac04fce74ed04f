"""The classroom demo: frames agree with the model's records, the saved page is self-contained
and plays in a browser, the levers change the run, and the lesson's numbers are what runs."""
from __future__ import annotations

import io
import json
import math
import os
import re
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from sim import demo  # noqa: E402
from sim.cli.classroom import DEFAULT_SCENARIO  # noqa: E402
from sim.cli.classroom import demo as demo_command  # noqa: E402
from sim.run.metrics import add, metrics, tally, train_metrics  # noqa: E402
from sim.model.params import KINDS  # noqa: E402
from sim.run.runner import network_day, simulate_one  # noqa: E402
from sim.scenario import load  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SEED = 88
FAST = "30"  # --speed: minutes of journey per second; 30 -> a frame every 3.75 minutes


def classroom(*overrides: str):
    return load(DEFAULT_SCENARIO, overrides)


def invoke(*args: str):
    return CliRunner().invoke(demo_command, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def base_run():
    return demo.run(classroom(), SEED)


@pytest.fixture(scope="module")
def frames(base_run):
    return demo.build_frames(base_run, step=0.5)


@pytest.fixture(scope="module")
def saved_page(tmp_path_factory):
    """The classroom train saved as HTML by the command, once for the module."""
    path = tmp_path_factory.mktemp("demo") / "demo.html"
    r = invoke("--seed", SEED, "--speed", FAST, "--save", path)
    assert r.exit_code == 0, r.output
    return path


# --- frames against the model's records --------------------------------------------------------
def test_frames_cover_the_journey_and_every_stop(base_run, frames):
    stops = base_run.result.spec.stop_times()
    times = [f.minute for f in frames]
    assert times[0] == 0.0 and times[-1] == stops[-1] and times == sorted(times)
    assert set(stops) <= set(times)
    assert [f.at_stop for f in frames if f.at_stop >= 0] == list(range(len(stops)))
    assert frames[-1].final and not any(f.final for f in frames[:-1])
    assert frames[-1].on_board == 0


def test_seats_and_violations_in_each_frame_match_the_records(base_run, frames):
    r = base_run.result
    p, ob = r.passengers, r.onboard
    records = [v for v in ob.violations if not v.control and v.car == 0]
    for f in frames:
        t = f.minute
        on = (p.car == 0) & (ob.board_time <= t) & (t < ob.alight_time)
        assert f.on_board == np.count_nonzero(on)
        assert f.count(demo.OVERFLOW) == np.count_nonzero(on & ~p.optin & ~p.infant)
        assert f.count(demo.INFANT) == np.count_nonzero(on & p.infant)
        running = sorted((int(p.seat[v.pax]), v.kind) for v in records if v.start <= t < v.end)
        assert sorted(f.noisy) == running
        assert all(f.occupant[seat] != demo.EMPTY for seat, _ in f.noisy)


def test_live_counts_grow_to_the_train_metrics_exactly(base_run, frames):
    t = base_run.tally
    last = frames[-1]
    assert last.live == {k: t[k] for k in demo.LIVE_KEYS}
    assert last.values == {k: train_metrics(base_run.result)[k] for k in demo.SHOWN}
    starts = [f.live["starts"] for f in frames]
    assert starts == sorted(starts) and starts[-1] == len(base_run.result.onboard.violations)
    # the frame before arrival is counted from the records alone, the same way as every frame
    rebuilt = demo._partial_tally(base_run, last.minute, demo._Context(base_run))
    for k in demo.LIVE_KEYS:
        assert rebuilt[k] == pytest.approx(t[k], rel=1e-9, abs=1e-9), k


def test_a_train_with_two_quiet_cars_draws_the_first_and_counts_both():
    sc = load(ROOT / "scenarios" / "expansion.toml")
    day = network_day(sc, 2026, 0)  # the first long run of a set with two quiet cars: both see violations
    train = next(s.train_id for s in day if len(s.quiet_seats) == 2 and s.run_min >= 180.0)
    run_ = demo.run(sc, 2026, train)
    assert len(run_.result.spec.quiet_seats) == 2
    frames = demo.build_frames(run_, step=2.0)
    p = run_.result.passengers
    car0 = [v for v in run_.result.onboard.violations if v.car == 0]
    assert 0 < len(car0) < run_.tally["starts"]
    for f in frames:  # the map shows car 0 only
        on = (p.car == 0) & (run_.result.onboard.board_time <= f.minute) & (f.minute < run_.result.onboard.alight_time)
        assert f.on_board == np.count_nonzero(on)
        assert sorted(f.noisy) == sorted((int(p.seat[v.pax]), v.kind) for v in car0 if v.start <= f.minute < v.end)
    rebuilt = demo._partial_tally(run_, frames[-1].minute, demo._Context(run_))
    for k in demo.LIVE_KEYS:
        assert rebuilt[k] == pytest.approx(run_.tally[k], rel=1e-9, abs=1e-9), k
    assert frames[-1].values == {k: run_.metrics[k] for k in demo.SHOWN}  # the panels: both cars


def test_every_reminder_complaint_and_patrol_is_on_screen(base_run, frames):
    trace = [e for e in base_run.trace if e.car == 0 and not e.control]
    seat = base_run.result.passengers.seat
    for e in trace:
        if e.what in ("reminder_ok", "reminder_failed", "complaint", "intervene", "moved"):
            assert any(b.what == e.what and b.seat == seat[e.pax] for f in frames for b in f.bubbles
                       if e.minute <= f.minute), e
        if e.what == "patrol":
            assert any(f.staff for f in frames if e.minute <= f.minute <= e.minute + 3), e
    assert sum(e.what == "patrol" for e in trace) >= 3


def test_halo_covers_the_rows_a_violation_reaches(base_run, frames):
    reach = dict(zip(KINDS, base_run.result.params.behaviour.reach_rows))
    f = max(frames, key=lambda f: len(f.noisy))
    assert f.noisy
    for seat, kind in f.noisy:
        row = seat // 5
        lo, hi = max(0, row - int(reach[kind])), min(len(f.halo) - 1, row + int(reach[kind]))
        assert (f.halo[lo:hi + 1] >= 1).all()


# --- drawing headless ---------------------------------------------------------------------------
def _seat_pixels(view, image):
    """The colour in the lower left of each seat box (inside it, clear of its edge)."""
    h = image.shape[0]
    xy = view.ax_car.transData.transform(view.seat_xy + np.array([-0.22, -0.18]))
    return [tuple(int(c) for c in image[int(round(h - y)), int(round(x)), :3]) for x, y in xy]


def test_headless_journey_draws_every_frame_with_the_seats_it_counts(base_run):
    frames = demo.build_frames(base_run, step=demo.step_for(60))
    images = list(demo.render_frames(base_run, frames, dpi=50))
    assert len(images) == len(frames)
    height, width = (round(inches * 50) for inches in demo.FIGSIZE[::-1])  # the figure's size at dpi 50
    assert all(im.shape == (height, width, 4) for im in images)
    view = demo.frozen_view(base_run, frames, dpi=50)
    colours = [tuple(int(c * 255 + 0.5) for c in matplotlib.colors.to_rgb(h)) for h in demo.OCCUPANT_COLOURS]
    checked = 0
    for f, im in zip(frames[:-1], images):  # the last frame's summary box covers the car
        seen = _seat_pixels(view, im)
        covered = {seat for seat, _ in f.noisy}  # a glyph sits on a noisy seat
        for b in f.bubbles:  # a note above or below a seat may cover its neighbours
            near = np.abs(view.seat_xy - view.seat_xy[b.seat]).max(axis=1) <= 1.5
            covered |= set(np.flatnonzero(near).tolist())
        for seat, colour in enumerate(seen):
            if seat not in covered:
                assert colour == colours[f.occupant[seat]], (f.minute, seat)
                checked += 1
    assert checked > 0.9 * len(frames[:-1]) * len(view.seat_xy)
    assert not np.array_equal(images[0], images[len(images) // 2])


def test_the_final_frame_speaks_plain_words(base_run):
    """No metric code names (overflow_share, quiet_load_factor, ...) on any frame; only the
    levers' column writes the --set keys, as the command to type."""
    from matplotlib.text import Text

    frames = demo.build_frames(base_run, step=demo.step_for(60))
    view = demo.frozen_view(base_run, frames, dpi=40)
    for i in (len(frames) // 2, len(frames) - 1):
        view.update(i)
        words = [t.get_text() for t in view.fig.findobj(Text) if t is not view.lever_text]
        coded = [w for w in words if re.search(r"\b[a-z]+_[a-z_]+\b|\b(peer|self|alighting)\b", w)]
        assert coded == [], coded


def test_the_gif_holds_its_last_frame_with_the_legends_colours(tmp_path):
    from PIL import Image

    path = tmp_path / "d.gif"
    r = invoke("--seed", SEED, "--speed", "120", "--save", path)
    assert r.exit_code == 0, r.output
    with Image.open(path) as im:
        durations = []
        for i in range(im.n_frames):
            im.seek(i)
            durations.append(im.info["duration"])
        im.seek(im.n_frames - 1)  # the car is empty at arrival: the legend alone shows the seat colours
        seen = set(map(tuple, np.asarray(im.convert("RGB")).reshape(-1, 3).tolist()))
    assert durations[-1] >= 2000 > durations[0]  # the final numbers stay on screen before it loops
    for colour in (*demo.OCCUPANT_COLOURS, demo.NOISE, demo.STAFF):
        rgb = tuple(int(round(255 * c)) for c in matplotlib.colors.to_rgb(colour))
        assert rgb in seen, colour


def test_one_frame_as_png(base_run, frames, tmp_path):
    demo.render_png(base_run, frames, len(frames) // 3, tmp_path / "f.png", dpi=40)
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- saving -------------------------------------------------------------------------------------
def test_saved_html_embeds_its_frames_and_references_nothing_outside(saved_page, base_run):
    page = saved_page.read_text(encoding="utf-8")
    frames = demo.embedded_frames(page)
    assert len(frames) == len(demo.build_frames(base_run, demo.step_for(float(FAST))))
    assert all(f[:8] == b"\x89PNG\r\n\x1a\n" for f in frames)
    from PIL import Image

    assert Image.open(io.BytesIO(frames[0])).size == (1280, 720)
    outside = re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import|<link""",
                         page, flags=re.IGNORECASE)
    assert outside == []
    assert "font-awesome" not in page and "fa fa-" not in page
    assert page.startswith("<!DOCTYPE html>") and 'charset="utf-8"' in page


def test_save_gif_and_clear_messages_for_what_cannot_be_written(tmp_path, monkeypatch):
    r = invoke("--speed", "120", "--save", tmp_path / "d.gif")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "d.gif").read_bytes()[:6] in (b"GIF89a", b"GIF87a")
    r = invoke("--save", tmp_path / "d.avi")
    assert r.exit_code == 2 and "unknown format .avi" in r.output and not (tmp_path / "d.avi").exists()
    monkeypatch.setattr(matplotlib.animation.writers, "is_available", lambda name: name != "ffmpeg")
    r = invoke("--save", tmp_path / "d.mp4")
    assert r.exit_code == 2 and "needs ffmpeg" in r.output and "demo.html" in r.output
    assert r.output.strip().count("\n") == 0 and not (tmp_path / "d.mp4").exists()


def _one_line_exit_2_and_nothing_left(r, folder: Path, before: list[str], words: str) -> None:
    assert r.exit_code == 2, r.output
    assert words in r.output and r.output.strip().count("\n") == 0 and "Traceback" not in r.output, r.output
    assert sorted(p.name for p in folder.iterdir()) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_save_into_an_unwritable_folder_is_one_line_exit_2(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        for name in ("d.html", "sub/d.gif"):
            r = invoke("--speed", "120", "--save", ro / name)
            _one_line_exit_2_and_nothing_left(r, ro, [], f"cannot write {ro / name}: Permission denied")
    finally:
        ro.chmod(0o700)


def test_save_on_a_read_only_file_system_is_one_line_exit_2(tmp_path, monkeypatch):
    """EROFS when the file is made (refused before anything is simulated), and EROFS halfway
    through writing it (refused after: the partial file is removed, the folder made for it too)."""
    import errno
    import tempfile

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    with monkeypatch.context() as m:
        m.setattr(tempfile, "mkstemp", read_only)
        r = invoke("--speed", "120", "--save", tmp_path / "d.html")
    _one_line_exit_2_and_nothing_left(r, tmp_path, [], "read-only")

    real_save = demo.save

    def half_then_read_only(run_, frames, path, **kwargs):
        Path(path).write_bytes(b"half a page")
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    monkeypatch.setattr(demo, "save", half_then_read_only)
    r = invoke("--speed", "120", "--save", tmp_path / "new" / "d.html")
    _one_line_exit_2_and_nothing_left(r, tmp_path, [], "cannot write")
    assert real_save is not demo.save


def test_without_display_or_save_it_prints_the_numbers_and_says_how(monkeypatch):
    monkeypatch.setattr(demo, "has_display", lambda: False)
    r = invoke("--seed", SEED)
    assert r.exit_code == 0
    assert "noisy_time_share" in r.output and "--save demo.html" in r.output


def test_the_replay_command_makes_the_same_run(monkeypatch):
    """The command written on a saved page (every lever spelled out) gives the same train."""
    import shlex

    monkeypatch.setattr(demo, "has_display", lambda: False)
    for scenario in (DEFAULT_SCENARIO, ROOT / "scenarios" / "expansion.toml"):
        original = demo.run(load(scenario, ["network.load_factor_mean=1.1"]), 5)
        argv = shlex.split(demo.replay_command(original))
        assert argv[:2] == ["quietcar", "demo"]
        r = invoke(*argv[2:])
        assert r.exit_code == 0, r.output
        assert r.output.startswith(demo.summary_text(original))


def test_bad_levers_are_input_errors():
    r = invoke("--set", "booking.overflow=nevr")
    assert r.exit_code == 2 and "booking.overflow" in r.output and "never" in r.output
    r = invoke("--set", "staff.patrol_intervall=10")
    assert r.exit_code == 2 and "staff.patrol_interval" in r.output
    r = invoke("no-such-scenario")
    assert r.exit_code == 2 and "classroom" in r.output


# --- levers ---------------------------------------------------------------------------------------
def _occupants(run_):
    return {o for f in demo.build_frames(run_, step=2.0) for o in np.unique(f.occupant)}


def test_levers_change_the_run(base_run):
    assert demo.OVERFLOW in _occupants(base_run)
    never = demo.run(classroom("booking.overflow=never"), SEED)
    assert demo.OVERFLOW not in _occupants(never)
    busy = demo.run(classroom("network.load_factor_mean=1.3"), SEED)
    assert busy.tally["passengers"] > base_run.tally["passengers"]
    assert busy.metrics["overflow_share"] > base_run.metrics["overflow_share"]
    often = demo.run(classroom("staff.patrol_interval=10"), SEED)
    assert sum(e.what == "patrol" for e in often.trace) > sum(e.what == "patrol" for e in base_run.trace)
    deaf = demo.run(classroom(demo.LEVERS[3].override(0.0)), SEED)
    assert deaf.tally["ended_peer"] == 0
    no_family = demo.run(classroom("network.load_factor_mean=1.3", "booking.family_advice=exclude"), SEED)
    assert demo.INFANT not in _occupants(no_family)


def test_the_contagion_lever_lowers_the_lift_in_distribution():
    """The contagion lever at 0 lowers the contagion lift of the classroom train: pooled over 400
    seeds (common random numbers), the log lifts differ by more than Z = 4 standard errors, each
    sqrt(1/noisy starts + 1/calm starts) (Poisson counts; independence is conservative here)."""
    def pooled(*overrides):
        sc = classroom(*overrides)
        t = add(tally(simulate_one(sc, network_day(sc, s, 0)[0], s, 0)) for s in range(400))
        return math.log(metrics(t)["contagion_lift"]), 1 / t["noisy_starts"] + 1 / t["calm_starts"]
    (base, var_base), (calm, var_calm) = pooled(), pooled("behaviour.contagion=0")
    assert base - calm > 4 * math.sqrt(var_base + var_calm), (base, calm)


def test_widgets_rerun_the_same_seed_with_the_levers():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=demo.WINDOW_FIGSIZE)
    FigureCanvasAgg(fig)
    room = demo.Classroom(fig, classroom(), SEED, speed=60)
    assert demo.OVERFLOW in _occupants(room.run)
    labels = [t.get_text() for t in room.radios["overflow"].labels]
    room.radios["overflow"].set_active(labels.index("never"))
    room.sliders["patrol"].set_val(10.0)
    assert room.overrides() == ["booking.overflow=never", "staff.patrol_interval=10"]
    room.rerun()  # what the "Run again" button calls
    assert room.run.seed == SEED and demo.OVERFLOW not in _occupants(room.run)
    assert "--set 'booking.overflow=never'" in room.command.get_text()
    room.tick()
    fig.canvas.draw()


# --- the page in a browser --------------------------------------------------------------------------
def _chromium_or_skip() -> str:
    if CHROMIUM.exists():
        return str(CHROMIUM)
    if os.environ.get("CI") == "true":
        pytest.fail("CI must run the browser test: install Debian's chromium (apt-get install -y chromium)")
    pytest.skip("headless Chromium (/usr/bin/chromium) is not installed: apt-get install -y chromium")


def _chromium(exe: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}"]
    return subprocess.run([exe, *flags, *args], capture_output=True, text=True, timeout=120)


PROBE = """<script>
window.addEventListener('load', function () {
  setTimeout(function () {
    var a = window['anim%(id)s'], img = document.getElementById('_anim_img%(id)s');
    var out = {frames: a.frames.length, before: a.current_frame, src: img.src.slice(0, 22)};
    document.querySelector('button[title="Play"]').click();
    setTimeout(function () {
      out.after = a.current_frame;
      out.slider = parseInt(document.getElementById('_anim_slider%(id)s').value);
      out.width = img.naturalWidth;
      var pre = document.createElement('pre');
      pre.id = 'probe';
      pre.textContent = JSON.stringify(out);
      document.body.appendChild(pre);
    }, 1000);
  }, 200);
});
</script>"""


def test_saved_page_plays_in_headless_chromium(saved_page, tmp_path):
    exe = _chromium_or_skip()
    page = saved_page.read_text(encoding="utf-8")
    (anim_id,) = set(re.findall(r"anim([0-9a-f]{32})", page))
    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("</body>", PROBE % {"id": anim_id} + "</body>"), encoding="utf-8")
    r = _chromium(exe, tmp_path / "profile", "--virtual-time-budget=5000", "--dump-dom", probed.as_uri())
    found = re.search(r'<pre id="probe">([^<]*)</pre>', r.stdout)
    assert found, r.stderr[-2000:]
    out = json.loads(found.group(1))
    assert out["frames"] == len(demo.embedded_frames(page)) > 10
    assert out["before"] == 0 and out["src"] == "data:image/png;base64,"
    assert out["width"] == 1280  # the frame image decoded
    assert out["after"] > 0 and out["slider"] == out["after"]  # Play moved the frames and the slider on

    shot = tmp_path / "shot.png"
    r = _chromium(exe, tmp_path / "profile2", "--virtual-time-budget=3000", "--window-size=1400,1000",
                  f"--screenshot={shot}", saved_page.as_uri())
    assert shot.exists(), r.stderr[-2000:]
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3).astype(int)
    blue = np.array([0x56, 0xB4, 0xE9])  # opted-in seats of the first frame
    assert (np.abs(pixels - blue).sum(axis=1) < 30).sum() > 2000


SIZE_PROBE = """<script>
window.addEventListener('load', function () {
  setTimeout(function () {
    var img = document.getElementById('_anim_img%(id)s'), box = img.getBoundingClientRect();
    var pre = document.createElement('pre');
    pre.id = 'probe';
    pre.textContent = JSON.stringify({shown: box.width, natural: img.naturalWidth, viewport: window.innerWidth,
                                      bottom: box.bottom, height: window.innerHeight});
    document.body.appendChild(pre);
  }, 200);
});
</script>"""


def test_text_is_readable_on_a_1024x768_projector(saved_page, base_run, tmp_path):
    """At 1024x768 the saved page shows the frame at some scale (measured in the browser); every
    text of every kind of frame (a journey, its busiest moment, the final numbers), at that scale,
    is at least 14 px for body text (headings, numbers, the final box) and 12 px for the rest
    (axes, legend, labels, what just happened): readable from the back of a room."""
    exe = _chromium_or_skip()
    page = saved_page.read_text(encoding="utf-8")
    (anim_id,) = set(re.findall(r"anim([0-9a-f]{32})", page))
    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("</body>", SIZE_PROBE % {"id": anim_id} + "</body>"), encoding="utf-8")
    r = _chromium(exe, tmp_path / "profile", "--virtual-time-budget=3000", "--window-size=1024,768", "--dump-dom",
                  probed.as_uri())
    found = re.search(r'<pre id="probe">([^<]*)</pre>', r.stdout)
    assert found, r.stderr[-2000:]
    out = json.loads(found.group(1))
    assert out["natural"] == 1280 and out["viewport"] <= 1024
    scale = out["shown"] / out["natural"]
    assert scale > 0.7, out  # the frame fills the projector's width

    frames = demo.build_frames(base_run, demo.step_for(float(FAST)))
    busiest = max(range(len(frames)), key=lambda i: len(frames[i].noisy) + len(frames[i].bubbles))
    view = demo.frozen_view(base_run, frames, dpi=80)  # as saved
    smallest = {"body": math.inf, "secondary": math.inf}
    for i in (1, busiest, len(frames) - 1):
        view.update(i)
        for kind, texts in zip(smallest, view.texts()):
            for t in texts:
                smallest[kind] = min(smallest[kind], t.get_fontsize() * 80 / 72 * scale)
    assert smallest["body"] >= 14 and smallest["secondary"] >= 12, (smallest, out)

    shot = tmp_path / "demo-1024.png"  # to look at: the frame as the class sees it
    _chromium(exe, tmp_path / "profile2", "--virtual-time-budget=3000", "--window-size=1024,768",
              f"--screenshot={shot}", saved_page.as_uri())
    assert shot.exists()
    if os.environ.get("QUIETCAR_SCREENSHOTS"):
        import shutil

        shutil.copy(shot, Path(os.environ["QUIETCAR_SCREENSHOTS"]) / "demo-1024.png")


# --- the lesson says what happens -------------------------------------------------------------------
#: The seeds the lesson's claims are checked on: 100 trains of the classroom kind (a fixed set,
#: so the test is reproducible; none of them was picked by looking at its outcome).
CLAIM_SEEDS = range(1000, 1100)
#: A claim holds if its mean paired difference is above Z standard errors: one-sided
#: p < 0.0005 per claim, so a claim that were false (mean difference <= 0) passes by chance
#: with probability below 0.0005, and all 14 together below 0.007 (Bonferroni). The smallest
#: margin found is 5.2 standard errors, so a true claim fails by chance essentially never.
Z = 3.29


def doc_tables() -> list[str]:
    text = (ROOT / "docs" / "classroom.md").read_text(encoding="utf-8")
    return [b.strip() for b in re.findall(r"<!-- results -->\n(.*?)\n\n", text, flags=re.S)]


def documented_seed() -> int:
    return load(DEFAULT_SCENARIO).run.seed


@pytest.mark.slow
def test_the_lessons_claims_hold_for_the_average_train():
    """Every statement docs/classroom.md makes about what a lever does holds on average over 100
    trains (paired: the same seeds for both settings), beyond a statistical tolerance of Z
    standard errors of the mean difference."""
    from statistics import mean, stdev

    from sim.lesson import plan

    outcomes = plan.outcomes(classroom(), CLAIM_SEEDS)
    failed = []
    for claim in plan.CLAIMS:
        d = plan.differences(claim, outcomes)
        se = stdev(d) / len(d) ** 0.5
        if not mean(d) > Z * se:
            failed.append(f"{claim.text}: mean difference {mean(d):.4g}, {Z} x se = {Z * se:.4g}")
    assert failed == []


def _near(x: float, quoted: float, unit: float = 1.0) -> bool:
    """``x`` is what the prose quotes as ``quoted``, rounded to ``unit``."""
    return abs(x - quoted) <= unit / 2


#: Every average the lesson plans quote, as the English and the Chinese words, and what must hold
#: of the means over CLAIM_SEEDS (m[setting][metric]; '' the classroom train, 'accepts' the share of
#: requests that would accept the agreement).
NEVER, L, C = "booking.overflow=never", "network.load_factor_mean=", "behaviour.contagion="
QUOTED = (
    ("about one traveller in twelve in the quiet car", "大约每十二位旅客就有一位",
     lambda m: round(1 / m[""]["overflow_share"]) == 12),
    ("about half as many violations again per passenger-hour (about 14 instead of 9 per 100 passenger-hours)",
     "违规多了一半左右（每百人·小时约 14 次，而不是 9 次）",
     lambda m: _near(m[""]["per_100_pax_h"] / m[NEVER]["per_100_pax_h"], 1.5, 0.2)
     and _near(m[""]["per_100_pax_h"], 14) and _near(m[NEVER]["per_100_pax_h"], 9)),
    ("is noisy 28 % of the time instead of 19 %", "有噪声的时间占 28 %，而不是 19 %",
     lambda m: _near(100 * m[""]["noisy_time"], 28) and _near(100 * m[NEVER]["noisy_time"], 19)),
    ("fewer than one seat in ten goes to someone who did not choose it", "售给未选静音者的座位还不到十分之一",
     lambda m: m[""]["overflow_share"] < 0.1),
    ("Only about one traveller in nine accepts the agreement when offered", "只有大约九分之一的旅客接受约定",
     lambda m: round(1 / m[""]["accepts"]) == 9),
    ("On a quiet day the car is a third full", "平常日子里车厢只坐满三分之一",
     lambda m: _near(m[L + "0.6"]["quiet_load"], 1 / 3, 0.1)),
    ("rises from none at 0.6 to about 9 % at 0.75 and over a third at 1.0 and 1.3",
     "从需求0.6 时的零，升到 0.75 时的约 9 %，1.0 和 1.3 时超过三分之一",
     lambda m: m[L + "0.6"]["overflow_share"] == 0 and _near(100 * m[""]["overflow_share"], 9)
     and min(m[L + "1.0"]["overflow_share"], m[L + "1.3"]["overflow_share"]) > 1 / 3),
    ("violations per passenger-hour triple (about 9, 14, 28 and 28 per 100 passenger-hours)",
     "每人·小时违规次数增加到三倍（每百人·小时约 9、14、28、28 次）",
     lambda m: _near(m[L + "1.3"]["per_100_pax_h"] / m[L + "0.6"]["per_100_pax_h"], 3, 0.6)
     and all(_near(m[k]["per_100_pax_h"], q) for k, q in ((L + "0.6", 9), ("", 14), (L + "1.0", 28),
                                                           (L + "1.3", 28)))),
    ("brings the car back to about 9 per 100 passenger-hours - while about three booking requests in ten find "
     "no seat at all (as many as with the 2026 rule", "车厢又回到每百人·小时约 9 次——而大约十分之三的购票请求",
     lambda m: _near(m[L + "1.3 " + NEVER]["per_100_pax_h"], 9) and _near(10 * m[L + "1.3 " + NEVER]["refused_share"], 3)
     and _near(10 * m[L + "1.3"]["refused_share"], 3)),
    ("from about a quarter without contagion to nearly half at 1 and three in five at 2",
     "从没有传染时的约四分之一，升到传染 1 时的近一半、传染 2 时的五分之三",
     lambda m: _near(m[C + "0"]["chained"], 0.25, 0.1) and 0.4 < m[C + "1"]["chained"] < 0.5
     and _near(m[C + "2"]["chained"], 0.6, 0.1)),
    ("more than double (about 12 at 0, 20 at 1, 28 at 2 per 100 passenger-hours)",
     "增加到两倍多（每百人·小时：传染 0 约 12 次，1 约 20 次，2 约 28 次）",
     lambda m: m[C + "2"]["per_100_pax_h"] > 2 * m[C + "0"]["per_100_pax_h"]
     and all(_near(m[C + c]["per_100_pax_h"], q) for c, q in (("0", 12), ("1", 20), ("2", 28)))),
    ("patrols every 10 minutes bring it down to about 21, once an hour let it run to about 32",
     "每 10 分钟巡视一次可降到约 21 次，每小时一次则升到约 32 次",
     lambda m: _near(m[C + "2 staff.patrol_interval=10"]["per_100_pax_h"], 21)
     and _near(m[C + "2 staff.patrol_interval=60"]["per_100_pax_h"], 32)),
)


@pytest.mark.slow
def test_the_averages_the_lesson_quotes_are_the_average_train():
    """Every number the lesson plans quote about the average train (English and Chinese) is the
    mean over CLAIM_SEEDS, as rounded in the prose: the prose follows the model."""
    from statistics import mean

    from sim.lesson import plan
    from sim.model.booking import accept_probability
    from sim.scenario import with_values

    sc = classroom()
    m = {}
    for s in plan.SETTINGS:
        runs = [demo.run(with_values(sc, s) if s else sc, seed) for seed in CLAIM_SEEDS]
        outcomes = [{**plan.outcome(r), "quiet_load": r.metrics["quiet_load_factor"]} for r in runs]
        m[" ".join(s)] = {k: mean(o[k] for o in outcomes) for k in outcomes[0]}
        if not s:
            m[""]["accepts"] = mean(float(accept_probability(r.result.requests, r.result.params.population).mean())
                                    for r in runs)
    en = " ".join((ROOT / "docs" / "classroom.md").read_text(encoding="utf-8").split())
    zh = "".join((ROOT / "docs" / "classroom.zh.md").read_text(encoding="utf-8").split())
    wrong = [english for english, chinese, holds in QUOTED
             if english not in en or "".join(chinese.split()) not in zh or not holds(m)]
    assert wrong == [], {k: {n: round(x, 4) for n, x in v.items()} for k, v in m.items()}


def _table_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_lesson_tables", ROOT / "docs" / "make_lesson_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_lesson_tables_are_what_the_demo_shows():
    """Both lesson plans, English and Chinese, carry the classroom train's tables as they are now."""
    from sim.lesson import plan

    script = _table_script()
    runs = plan.runs(classroom(), documented_seed())
    assert doc_tables() == plan.tables(runs), "the model's draws changed: python docs/make_lesson_tables.py"
    for lang in ("en", "zh"):
        expected = script.tables(runs, lang)
        assert len(expected) == len(plan.EXPERIMENTS)
        assert script.doc_tables(lang) == expected, f"{lang}: python docs/make_lesson_tables.py"
    zh = "\n".join(script.doc_tables("zh"))
    assert not re.search(r"[a-z]{3,}", re.sub(r"`[^`]*`", "", zh)), zh  # no English words left in it


def test_demo_is_not_part_of_the_core():
    core = ROOT / "sim" / "model"
    imports = re.compile(r"^\s*(from|import)\s+\S*(demo|matplotlib)", re.M)
    assert not [p.name for p in core.glob("*.py") if imports.search(p.read_text(encoding="utf-8"))]
