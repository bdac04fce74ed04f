"""Every error a user can cause or meet ends in one line and exit status 2, with no debris,
and nothing finished is lost: fault injection at every write, bad inputs, unreachable
schedulers, and a run killed with its workers."""
from __future__ import annotations

import contextlib
import errno
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import sim.run.results
from sim.cli import main

SMALL = ["--set", "network.trains=4", "--workers", "1", "--no-plots"]
RESULT_FILES = ("replications.csv", "trains.csv", "summary.json", "scenario.toml")
ROOT = Path(__file__).resolve().parents[1]


def invoke(*args, env=None):
    return CliRunner(env=env).invoke(main, [str(a) for a in args], catch_exceptions=False)


def one_line_error(r, *words: str) -> bool:
    lines = [x for x in r.output.splitlines() if x.strip()]
    ok = (r.exit_code == 2 and "Traceback" not in r.output and len(lines) >= 1
          and sum(x.startswith("quietcar: error:") for x in lines) == 1
          and all(w in r.output for w in words))
    if not ok:
        print(r.output)
    return ok


def debris(root: Path) -> list[str]:
    return [str(p) for p in root.rglob("*") if ".tmp-" in p.name or p.name == ".lock"]


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clean") / "run"
    assert invoke("run", "classroom", "-n", 3, "--out", out, *SMALL).exit_code == 0
    return out


def count_writes(tmp_path) -> int:
    """How many times a 3-replication run calls fsync (once per file written)."""
    calls = []
    real = os.fsync

    def counting(fd):
        calls.append(fd)
        real(fd)
    sim.run.results.os.fsync = counting
    try:
        assert invoke("run", "classroom", "-n", 3, "--out", tmp_path / "count", *SMALL).exit_code == 0
    finally:
        sim.run.results.os.fsync = real
    return len(calls)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_a_failure_at_any_write_is_one_line_leaves_no_debris_and_resume_completes_the_run(
        tmp_path, monkeypatch, clean, code):
    """Fail the k-th write of a run, for every k: one line naming the file, nothing half
    written, and --resume then gives exactly the files of an uninterrupted run."""
    n_writes = count_writes(tmp_path)
    assert n_writes >= 3 * 2 + 5  # two per replication, scenario, manifest, three tables, manifest
    real = os.fsync
    for k in range(n_writes):
        out = tmp_path / f"run-{k}"
        seen = []

        def fails(fd):
            seen.append(fd)
            if len(seen) == k + 1:
                raise OSError(code, os.strerror(code))
            real(fd)

        monkeypatch.setattr(os, "fsync", fails)
        r = invoke("run", "classroom", "-n", 3, "--out", out, *SMALL)
        monkeypatch.setattr(os, "fsync", real)
        assert one_line_error(r, os.strerror(code)), k
        assert str(out) in r.output and ".tmp-" not in r.output
        assert not debris(tmp_path), (k, debris(tmp_path))
        if out.exists():
            assert json.loads((out / "manifest.json").read_text())["status"] == "running"
        r = invoke("run", "classroom", "-n", 3, "--out", out, "--resume", *SMALL)
        assert r.exit_code == 0, (k, r.output)
        assert all((out / f).read_bytes() == (clean / f).read_bytes() for f in RESULT_FILES), k
        assert not debris(tmp_path)


def test_a_report_or_figures_that_cannot_be_written_leave_nothing(tmp_path, monkeypatch, clean):
    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(os, "fsync", full)
    r = invoke("report", clean, "--out", tmp_path / "r.html")
    assert one_line_error(r, "r.html", "No space left") and not list(tmp_path.iterdir())
    r = invoke("plot", clean, "--out", tmp_path / "figs")
    assert one_line_error(r, "No space left") and not debris(tmp_path) and not list((tmp_path / "figs").iterdir())


def test_a_folder_that_cannot_be_made_is_one_line(tmp_path, monkeypatch):
    def refuse(self, *a, **kw):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
    monkeypatch.setattr(Path, "mkdir", refuse)
    r = invoke("run", "classroom", "-n", 2, "--out", tmp_path / "ro" / "x", *SMALL)
    assert one_line_error(r, "Read-only file system", "choose another --out")


@pytest.mark.parametrize("content, words", [
    (b'description = "\xff\xfe"\n', ["not UTF-8", "offset"]),
    (("a = " + "[" * 3000 + "]" * 3000 + "\n").encode(), ["nested too deeply"]),
    (b"[network\n", ["TOML syntax error"]),
])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_scenario_file_that_is_not_text_or_nested_too_deeply_is_one_line(tmp_path, content, words, command):
    p = tmp_path / "bad.toml"
    p.write_bytes(content)
    r = invoke(command, p, *(["--out", tmp_path / "o"] if command == "run" else []))
    assert r.exit_code == 2 and "Traceback" not in r.output and all(w in r.output for w in words)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1", "x"])
def test_precision_must_be_a_finite_positive_number(tmp_path, value):
    r = invoke("run", "classroom", "--precision", value, "--out", tmp_path / "o", *SMALL)
    assert one_line_error(r, "--precision") and not (tmp_path / "o").exists()


@pytest.mark.parametrize("address", ["127.0.0.1:1", "foo://bar"])
def test_an_unreachable_scheduler_is_one_line_within_the_timeout_and_leaves_no_folder(tmp_path, address):
    pytest.importorskip("dask.distributed")
    start = time.monotonic()
    r = invoke("run", "classroom", "-n", 2, "--out", tmp_path / "o", "--scheduler", address, *SMALL,
               env={"QUIETCAR_SCHEDULER_TIMEOUT": "1"})
    assert one_line_error(r, f"--scheduler {address}", "within 1 s")
    assert time.monotonic() - start < 20  # 1 s, not the 30 s of Dask's own default
    assert not (tmp_path / "o").exists()
    r = invoke("sweep", "classroom", "--vary", "booking.overflow=never,when_sold_out", "-n", 2, "--out",
               tmp_path / "s", "--scheduler", address, *SMALL, env={"QUIETCAR_SCHEDULER_TIMEOUT": "1"})
    assert one_line_error(r, f"--scheduler {address}") and not (tmp_path / "s").exists()


def test_a_bad_scheduler_timeout_is_one_line(tmp_path):
    pytest.importorskip("dask.distributed")
    r = invoke("run", "classroom", "-n", 2, "--out", tmp_path / "o", "--scheduler", "127.0.0.1:1", *SMALL,
               env={"QUIETCAR_SCHEDULER_TIMEOUT": "nan"})
    assert one_line_error(r, "QUIETCAR_SCHEDULER_TIMEOUT") and not (tmp_path / "o").exists()


@pytest.mark.parametrize("args, word", [(["--bogus"], "--help"), (["run"], "--help"), (["nosuchcommand"], "--help"),
                                        (["run", "classroom", "-n", "x"], "--help"), (["show"], "--help"),
                                        (["compare", "classroom"], "two scenarios")])
def test_usage_errors_are_one_line_too(args, word):
    r = invoke(*args)
    assert one_line_error(r, word)


def test_commands_in_manifests_are_shell_quoted(tmp_path, monkeypatch):
    out = tmp_path / "a b"
    monkeypatch.setattr(sys, "argv", ["quietcar", "run", "classroom", "--set", "description=it's $HOME"])
    assert invoke("run", "classroom", "-n", 2, "--out", out, *SMALL).exit_code == 0
    command = json.loads((out / "manifest.json").read_text())["command"]
    assert shlex.split(command) == ["quietcar", "run", "classroom", "--set", "description=it's $HOME"]


def _descendants(pid: int) -> set[int]:
    kids: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d.name))
    out, todo = set(), [pid]
    while todo:
        for k in kids.get(todo.pop(), []):
            out.add(k)
            todo.append(k)
    return out


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux)")
def test_workers_die_with_their_parent(tmp_path):
    """SIGKILL the parent of a 2-worker run: its workers are gone within a few seconds."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen([sys.executable, "-m", "sim", "run", "pilot", "-n", "50", "--workers", "2", "--no-plots",
                          "--set", "network.trains=2000", "--out", str(tmp_path / "o")],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        workers: set[int] = set()
        while time.monotonic() < deadline and len(workers) < 3:  # the forkserver and two workers
            time.sleep(0.5)
            workers = _descendants(p.pid)
        assert len(workers) >= 3, "the run did not start its workers"
        time.sleep(1)
        p.send_signal(signal.SIGKILL)
        p.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.2)
        assert not [w for w in workers if _alive(w)]
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_a_failure_at_any_write_of_a_sweep_is_one_line_and_resume_completes_it(tmp_path, monkeypatch):
    """The same for an experiment: fail each write of a sweep in turn; --resume then gives the
    tables of an uninterrupted sweep."""
    args = ["sweep", "classroom", "--vary", "booking.overflow=never,when_sold_out", "-n", 2, *SMALL]
    clean = tmp_path / "clean"
    real = os.fsync
    calls = []

    def counting(fd):
        calls.append(fd)
        real(fd)
    monkeypatch.setattr(os, "fsync", counting)
    assert invoke(*args, "--out", clean).exit_code == 0
    monkeypatch.setattr(os, "fsync", real)
    for k in range(len(calls)):
        out = tmp_path / f"s-{k}"
        seen = []

        def fails(fd):
            seen.append(fd)
            if len(seen) == k + 1:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            real(fd)
        monkeypatch.setattr(os, "fsync", fails)
        r = invoke(*args, "--out", out)
        monkeypatch.setattr(os, "fsync", real)
        assert one_line_error(r, "No space left"), k
        assert not debris(tmp_path), k
        r = invoke(*args, "--out", out, "--resume")
        assert r.exit_code == 0, (k, r.output)
        for name in ("sweep.csv", "sweep_summary.csv", "scenario.toml"):
            assert (out / name).read_bytes() == (clean / name).read_bytes(), (k, name)


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().decode(errors="replace")
    except OSError:  # gone meanwhile
        return ""


@contextlib.contextmanager
def _quietcar(*args) -> Iterator[subprocess.Popen]:
    """quietcar in a process of its own, killed on the way out if it still runs (a failed test)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen([sys.executable, "-m", "sim", *map(str, args)], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield p
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux)")
def test_a_run_sigkilled_mid_way_resumes_to_identical_files_and_leaves_no_worker(tmp_path):
    """kill -9 a 2-worker run once some replications are in partial/: its workers go too, and
    --resume then gives exactly the files of a run that was never interrupted."""
    args = ["run", "classroom", "-n", 8, "--set", "network.trains=60", "--no-plots"]
    clean = tmp_path / "clean"
    assert invoke(*args, "--workers", 1, "--out", clean).exit_code == 0
    out = tmp_path / "killed"
    with _quietcar(*args, "--workers", 2, "--out", out) as p:
        done = lambda: len(list((out / "partial").glob("rep-*.json"))) if (out / "partial").is_dir() else 0  # noqa: E731
        _wait_for(lambda: done() >= 2 or p.poll() is not None, 120, "no replication finished")
        workers = _descendants(p.pid)
        p.send_signal(signal.SIGKILL)
        p.wait()
    assert p.returncode == -signal.SIGKILL and 2 <= done() < 8, (p.returncode, done())  # killed mid-way
    assert not (out / "summary.json").exists()
    _wait_for(lambda: not [w for w in workers if _alive(w)], 10, f"workers outlived the run: {workers}")
    # a temporary file as a kill in the middle of a write leaves it: removed on --resume
    (out / ".summary.json.tmp-999999").write_text("{")
    r = invoke(*args, "--workers", 2, "--out", out, "--resume")
    assert r.exit_code == 0, r.output
    for f in RESULT_FILES:
        assert (out / f).read_bytes() == (clean / f).read_bytes(), f
    assert not debris(tmp_path) and not (out / "partial").exists()
    assert json.loads((out / "manifest.json").read_text())["resumed_replications"] >= 2


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux)")
def test_dask_workers_die_with_their_parent(tmp_path):
    """The same for --scheduler local: the LocalCluster's worker processes (and multiprocessing's
    resource tracker) are gone within seconds of a SIGKILL of the run."""
    pytest.importorskip("dask.distributed")
    out = tmp_path / "o"
    with _quietcar("run", "pilot", "-n", 50, "--workers", 2, "--scheduler", "local", "--no-plots",
                   "--set", "network.trains=2000", "--out", out) as p:
        spawned = lambda: [w for w in _descendants(p.pid) if "spawn_main" in _cmdline(w)]  # noqa: E731
        _wait_for(lambda: len(spawned()) >= 2 or p.poll() is not None, 120, "the cluster did not start its workers")
        _wait_for(lambda: (out / "partial").is_dir() or p.poll() is not None, 60, "the run did not start")
        workers = _descendants(p.pid)
        assert p.poll() is None and len(spawned()) >= 2
        p.send_signal(signal.SIGKILL)
        p.wait()
    _wait_for(lambda: not [w for w in workers if _alive(w)], 15, f"Dask workers outlived the run: {workers}")
