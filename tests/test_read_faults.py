"""Faults where quietcar READS: an input/output error (EIO) or a missing permission at every
read of every command that reads a folder or a scenario file.

Each case records the reads a command makes of the files under test (every ``open`` for
reading: ``Path.read_text``/``read_bytes``, csv and pandas readers, the scenario loader) and
where in quietcar each happens, then runs the command again once per read point (a place in
the code and a kind of file: the reads of replication 0 and 7 at one place are one point),
failing its first read. Every failure must end in one
line naming the file, exit status 2, no traceback, no temporary file; nothing finished is
lost (the folder read holds the same files as before, or more finished ones); and the same
command without the fault then gives files identical to a run that never met one."""
from __future__ import annotations

import builtins
import errno
import hashlib
import io
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import main

from .interrupts import interrupted

SMALL = ["--set", "network.trains=4", "--workers", "1", "--no-plots"]
RUN_FILES = ("replications.csv", "trains.csv", "summary.json", "scenario.toml")
ROOT = Path(__file__).resolve().parents[1]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


class ReadFaults:
    """Count, or fail, the reads of files under ``root``.

    ``fail`` is None (count only) or ``(k, exc)``: the k-th read (from 0) raises ``exc(path)``."""

    def __init__(self, monkeypatch, root: Path):
        self.root = str(root.resolve())
        self.reads: list[str] = []
        self.points: list[tuple[str, str]] = []
        self.fail: tuple[int, type] | None = None
        self.failed: str | None = None
        real = builtins.open

        def opening(file, mode="r", *a, **kw):
            if isinstance(file, (str, bytes, os.PathLike)) and not any(c in mode for c in "wax+"):
                path = os.path.realpath(os.fsdecode(file))
                if path.startswith(self.root + os.sep):
                    k = len(self.reads)
                    self.reads.append(path)
                    self.points.append(read_point(path))
                    if self.fail is not None and self.fail[0] == k:
                        self.failed = path
                        raise self.fail[1](path)
            return real(file, mode, *a, **kw)

        monkeypatch.setattr(builtins, "open", opening)
        monkeypatch.setattr(io, "open", opening)

    def __call__(self, k: int | None, exc=None) -> "ReadFaults":
        self.reads, self.points, self.failed = [], [], None
        self.fail = None if k is None else (k, exc)
        return self


SIM = str(ROOT / "sim") + os.sep


def read_point(path: str) -> tuple[str, str]:
    """Where in quietcar a read happens (the innermost frame in sim/) and what kind of file it
    reads (its name with digits as N): the same read of replication 0 and of replication 7 is
    one read point."""
    frame = sys._getframe(2)
    while frame is not None and not frame.f_code.co_filename.startswith(SIM):
        frame = frame.f_back
    site = f"{frame.f_code.co_filename[len(SIM):]}:{frame.f_lineno}" if frame else "?"
    return site, re.sub(r"\d+", "N", os.path.basename(path))


def eio(path: str) -> OSError:
    return OSError(errno.EIO, os.strerror(errno.EIO), path)


def eacces(path: str) -> OSError:
    return PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)


FAULTS = {"EIO": (eio, os.strerror(errno.EIO)), "EACCES": (eacces, os.strerror(errno.EACCES))}


def one_line(r, *words: str, prefix: str = "quietcar: error:") -> bool:
    lines = [x for x in r.output.splitlines() if x.strip()]
    errs = [x for x in lines if x.startswith(prefix)]
    ok = (r.exit_code == 2 and "Traceback" not in r.output and len(errs) == 1
          and all(w in errs[0] for w in words))
    if not ok:
        print(r.exit_code, r.output)
    return ok


def snapshot(folder: Path) -> dict[str, str]:
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}


def debris(root: Path) -> list[str]:
    return [str(p) for p in root.rglob("*") if ".tmp-" in p.name or p.name == ".lock"]


def interrupt(out: Path, monkeypatch, n: int, after: int, args=("run", "classroom")) -> None:
    """A run stopped by Ctrl-C after ``after`` replications (its partial files on disk)."""
    interrupted(monkeypatch, [*args, "-n", n, "--out", out, *SMALL], after)


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """Finished folders of every kind that commands read, made once."""
    base = tmp_path_factory.mktemp("read")
    out = {"run": base / "run", "compare": base / "cmp", "sweep": base / "sweep", "sensitivity": base / "sens"}
    assert invoke("run", "classroom", "-n", 3, "--out", out["run"], *SMALL).exit_code == 0
    assert invoke("compare", "classroom", "classroom", "--each", "2:booking.overflow=never", "-n", 3,
                  "--out", out["compare"], *SMALL).exit_code == 0
    assert invoke("sweep", "classroom", "--vary", "booking.overflow=never,when_sold_out", "-n", 2,
                  "--out", out["sweep"], *SMALL).exit_code == 0
    assert invoke("sensitivity", "classroom", "--param", "behaviour.contagion=0:1", "--param",
                  "staff.patrol_interval=15:60", "-n", 2, "--samples", 2, "--out", out["sensitivity"],
                  *SMALL).exit_code == 0
    return out


def each_read(monkeypatch, tmp_path, setup, command, fault, words=(), prefix="quietcar: error:"):
    """Run ``command(work)`` once per read it makes under ``tmp_path/work`` failing that read;
    ``setup(work)`` prepares a fresh copy each time. Yields (k, the folder, the file that failed)."""
    exc, text = FAULTS[fault]
    faults = ReadFaults(monkeypatch, tmp_path)
    work = tmp_path / "probe"
    setup(work)
    faults(None)
    r = command(work)
    assert r.exit_code == 0, r.output
    assert faults.reads, "the command read nothing under test: the fault cannot be injected"
    # the first read at each read point (a place in the code and a kind of file)
    firsts = sorted({p: k for k, p in reversed(list(enumerate(faults.points)))}.values())
    for k in firsts:
        work = tmp_path / f"k{k}"
        setup(work)
        before = snapshot(work)
        faults(k, exc)
        r = command(work)
        failed = faults.failed
        faults(None)
        assert failed, k
        assert one_line(r, text, *words, prefix=prefix), (k, failed)
        assert Path(failed).name in r.output, (k, failed, r.output)
        assert not debris(tmp_path), (k, debris(tmp_path))
        after = snapshot(work)
        lost = [f for f in before if f not in after and not f.startswith("partial/")]
        assert not lost, (k, lost)
        yield k, work, failed


def copier(src: Path):
    def setup(work: Path) -> None:
        shutil.copytree(src, work)
    return setup


@pytest.mark.parametrize("fault", FAULTS)
def test_resume_reading_partial_files(tmp_path, monkeypatch, folders, fault):
    """--resume reads every partial replication (and its trains) of an interrupted run."""
    def setup(work):
        interrupt(work, monkeypatch, n=3, after=2)

    def command(work):
        return invoke("run", "classroom", "-n", 3, "--out", work, "--resume", *SMALL)

    for k, work, failed in each_read(monkeypatch, tmp_path, setup, command, fault):
        r = command(work)
        assert r.exit_code == 0, (k, r.output)
        for f in RUN_FILES:
            assert (work / f).read_bytes() == (folders["run"] / f).read_bytes(), (k, f)


@pytest.mark.parametrize("fault", FAULTS)
def test_resume_of_a_sweep_reading_partial_points(tmp_path, monkeypatch, folders, fault):
    args = ["sweep", "classroom", "--vary", "booking.overflow=never,when_sold_out", "-n", 2, *SMALL]

    def setup(work):
        interrupted(monkeypatch, [*args, "--out", work], 1, writes="point")

    def command(work):
        return invoke(*args, "--out", work, "--resume")

    for k, work, failed in each_read(monkeypatch, tmp_path, setup, command, fault):
        assert command(work).exit_code == 0, k
        for f in ("sweep.csv", "sweep_summary.csv", "scenario.toml"):
            assert (work / f).read_bytes() == (folders["sweep"] / f).read_bytes(), (k, f)


@pytest.mark.parametrize("fault", FAULTS)
def test_a_finished_run_reused(tmp_path, monkeypatch, folders, fault):
    """run into a folder holding this run, finished, checks and reuses it."""
    def command(work):
        return invoke("run", "classroom", "-n", 3, "--out", work, *SMALL)

    for k, work, failed in each_read(monkeypatch, tmp_path, copier(folders["run"]), command, fault):
        assert command(work).exit_code == 0, k
        assert snapshot(work) == snapshot(folders["run"]), k


@pytest.mark.parametrize("fault", FAULTS)
def test_a_comparison_reusing_its_runs(tmp_path, monkeypatch, folders, fault):
    def command(work):
        return invoke("compare", "classroom", "classroom", "--each", "2:booking.overflow=never", "-n", 3,
                      "--out", work, *SMALL)

    for k, work, failed in each_read(monkeypatch, tmp_path, copier(folders["compare"]), command, fault):
        assert command(work).exit_code == 0, k
        assert snapshot(work) == snapshot(folders["compare"]), k


READERS = {
    "show": lambda work: invoke("show", work),
    "show --all": lambda work: invoke("show", work, "--all"),
    "plot": lambda work: invoke("plot", work, "--out", work.parent / f"{work.name}-figs"),
    "report": lambda work: invoke("report", work, "--out", work.parent / f"{work.name}.html"),
}


@pytest.mark.parametrize("kind", ["run", "compare", "sweep", "sensitivity"])
@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("reader", READERS)
def test_readers_of_a_folder(tmp_path, monkeypatch, folders, fault, kind, reader):
    """show, plot and report read (and check) every file of a finished folder."""
    command = READERS[reader]
    for k, work, failed in each_read(monkeypatch, tmp_path, copier(folders[kind]), command, fault):
        # byte for byte the folder the fault-free probe (in each_read) read with exit 0: the same
        # command on it succeeds again without drawing every figure once more per read point
        assert snapshot(work) == snapshot(folders[kind]), k


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("command", ["validate", "run"])
def test_reading_a_scenario_file(tmp_path, monkeypatch, fault, command):
    def setup(work):
        work.mkdir()
        shutil.copy(ROOT / "scenarios" / "classroom.toml", work / "mine.toml")

    def cmd(work, *more):
        extra = ["-n", 2, "--out", work / "o", *SMALL, *more] if command == "run" else []
        return invoke(command, work / "mine.toml", *extra)

    prefix = "error:" if command == "validate" else "quietcar: error:"  # validate: one line per file it checks
    for k, work, failed in each_read(monkeypatch, tmp_path, setup, cmd, fault, prefix=prefix):
        if failed.endswith("mine.toml"):  # the scenario itself: refused before anything was written
            assert not (work / "o").exists(), k
        assert cmd(work, *(["--resume"] if command == "run" else [])).exit_code == 0, k


@pytest.fixture(scope="module")
def calibration(tmp_path_factory) -> Path:
    """A small finished calibration folder (as tests/test_calibration.py makes one)."""
    base = tmp_path_factory.mktemp("cal")
    targets = base / "targets.toml"
    targets.write_text('[defaults]\ntrains = 10\nreplications = 2\n\n[[target]]\nname = "rate"\n'
                       'metric = "violations_per_100_pax_h"\nscenario = "expansion"\nvalue = 9.0\nse = 0.5\n'
                       'source = "test"\n')
    out = base / "cal"
    r = invoke("calibrate", targets, "--vary", "behaviour.commitment=0.05:0.4", "--points", 6, "--draws", 50,
               "--out", out, "--workers", 1, "--no-plots")
    assert r.exit_code == 0, r.output
    return out


CALIBRATION_READERS = {
    "run --posterior": lambda work, *more: invoke("run", "expansion", "--posterior", work, "-n", 2, "--out",
                                                  work.parent / f"{work.name}-run", *SMALL, *more),
    "plot": lambda work, *more: invoke("plot", work, "--out", work.parent / f"{work.name}-figs"),
}


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("reader", CALIBRATION_READERS)
def test_readers_of_a_calibration_folder(tmp_path, monkeypatch, calibration, fault, reader):
    """--posterior reads a calibration folder's posterior and checks it; plot draws it again."""
    command = CALIBRATION_READERS[reader]
    for k, work, failed in each_read(monkeypatch, tmp_path, copier(calibration), command, fault):
        assert snapshot(work) == snapshot(calibration), k
        if Path(failed).is_relative_to(work):  # the calibration: refused before a run folder was made
            assert not (tmp_path / f"{work.name}-run").exists(), (k, failed)
        assert command(work, "--resume").exit_code == 0, k
