"""Results folders are checked before they are trusted, and one writer at a time writes them.

Every case damages a folder the way a person or a crash might (an edited number, a garbage
line, a dropped row, a truncated file, a broken manifest) and asserts that the command that
reads it refuses in one line naming the damaged file, with exit status 2."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import main

from .interrupts import interrupted
from sim.run.integrity import FolderLock, ResultsError, seal, unseal
from sim.run.results import RunFolder

SMALL = ["--set", "network.trains=4", "--workers", "1", "--no-plots"]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def refused(r, *names: str) -> bool:
    """Exit 2 with one line of error that names every one of ``names``."""
    lines = [x for x in r.output.splitlines() if x.strip()]
    errs = [x for x in lines if x.startswith("quietcar: error:")]
    ok = r.exit_code == 2 and len(errs) == 1 and all(n in errs[0] for n in names)
    if not ok:
        print(r.output)
    return ok


def interrupted_run(out: Path, monkeypatch, n: int = 4, after: int = 2) -> None:
    """A run of classroom (4 trains) stopped by Ctrl-C after ``after`` replications."""
    interrupted(monkeypatch, ["run", "classroom", "-n", n, "--out", out, *SMALL], after)


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fin") / "run"
    assert invoke("run", "classroom", "-n", 3, "--out", out, *SMALL).exit_code == 0
    return out


def copy(src: Path, dst: Path) -> Path:
    import shutil
    shutil.copytree(src, dst)
    return dst


def test_manifest_records_every_file_with_its_checksum_and_rows(finished):
    m = json.loads((finished / "manifest.json").read_text())
    assert set(m["files"]) == {"scenario.toml", "replications.csv", "trains.csv", "summary.json"}
    for name, rec in m["files"].items():
        data = (finished / name).read_bytes()
        assert rec["sha256"] == hashlib.sha256(data).hexdigest() and rec["bytes"] == len(data)
    assert m["files"]["replications.csv"]["rows"] == 3
    assert m["files"]["trains.csv"]["rows"] == 3 * 4
    assert not (finished / ".lock").exists()


def test_each_partial_file_carries_its_own_checksum(tmp_path, monkeypatch):
    out = tmp_path / "r"
    interrupted_run(out, monkeypatch)
    rep = json.loads((out / "partial" / "rep-000000.json").read_text())
    body = {k: v for k, v in rep.items() if k != "checksum"}
    assert rep["checksum"] == hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    trains = (out / "partial" / "trains-000000.csv").read_bytes()
    assert rep["trains"] == {"sha256": hashlib.sha256(trains).hexdigest(), "bytes": len(trains), "rows": 4}


def test_resume_refuses_an_edited_partial_replication(tmp_path, monkeypatch):
    out = tmp_path / "r"
    interrupted_run(out, monkeypatch)
    p = out / "partial" / "rep-000001.json"
    p.write_text(p.read_text().replace('"uptake_rate": 0.', '"uptake_rate": 0.9', 1))
    r = invoke("run", "classroom", "-n", 4, "--out", out, "--resume", *SMALL)
    assert refused(r, "rep-000001.json", "damaged")
    assert not (out / "summary.json").exists()


def test_resume_refuses_a_garbage_line_in_a_partial_trains_file(tmp_path, monkeypatch):
    out = tmp_path / "r"
    interrupted_run(out, monkeypatch)
    with open(out / "partial" / "trains-000000.csv", "a") as f:
        f.write("9,9,G,16,1,1,1,1,1,1,1,1,1\n")
    r = invoke("run", "classroom", "-n", 4, "--out", out, "--resume", *SMALL)
    assert refused(r, "trains-000000.csv", "damaged")


def test_resume_after_repair_equals_an_uninterrupted_run(tmp_path, monkeypatch, finished):
    """The way out the message gives (delete the damaged replication, --resume) ends well."""
    out = tmp_path / "r"
    interrupted_run(out, monkeypatch, n=3)
    p = out / "partial" / "rep-000001.json"
    p.write_text(p.read_text().replace("{", "{ ", 1)[:-5])  # truncated
    assert refused(invoke("run", "classroom", "-n", 3, "--out", out, "--resume", *SMALL), "rep-000001.json")
    p.unlink()
    (out / "partial" / "trains-000001.csv").unlink()
    assert invoke("run", "classroom", "-n", 3, "--out", out, "--resume", *SMALL).exit_code == 0
    for name in ("replications.csv", "trains.csv", "summary.json"):
        assert (out / name).read_bytes() == (finished / name).read_bytes()


@pytest.mark.parametrize("damage, name", [
    (lambda d: (d / "manifest.json").write_text("{not json"), "manifest.json"),
    (lambda d: (d / "manifest.json").write_text("[1, 2]"), "manifest.json"),
    (lambda d: (d / "manifest.json").write_bytes(b"\xff\xfe\x00"), "manifest.json"),
    (lambda d: (d / "summary.json").write_text((d / "summary.json").read_text().replace("0.", "1.", 1)),
     "summary.json"),
    (lambda d: (d / "summary.json").unlink(), "summary.json"),
    (lambda d: (d / "trains.csv").write_text("garbage\n"), "trains.csv"),
    (lambda d: (d / "replications.csv").write_text(
        "".join((d / "replications.csv").read_text().splitlines(True)[:-1])), "replications.csv"),
])
@pytest.mark.parametrize("command", ["show", "plot", "report"])
def test_readers_refuse_a_damaged_run_in_one_line(finished, tmp_path, damage, name, command):
    d = copy(finished, tmp_path / "d")
    damage(d)
    args = [command, d] + (["--out", tmp_path / "r.html"] if command == "report" else [])
    r = invoke(*args)
    assert refused(r, name)
    assert not (tmp_path / "r.html").exists() and not (d / "figures").exists()


def test_compare_refuses_a_member_with_a_dropped_row(tmp_path):
    out = tmp_path / "c"
    args = ["compare", "classroom", "classroom", "--each", "2:booking.overflow=never", "-n", 3, "--out", out,
            *SMALL]
    assert invoke(*args).exit_code == 0
    m = json.loads((out / "manifest.json").read_text())
    assert m["kind"] == "compare" and set(m["files"]) >= {"comparison.csv"}
    member = out / m["members"][1] / "replications.csv"
    member.write_text("".join(member.read_text().splitlines(True)[:-1]))
    assert refused(invoke(*args), "replications.csv", "damaged")
    assert refused(invoke("show", out), "replications.csv")
    assert refused(invoke("plot", out), "replications.csv")


def test_a_compare_folder_with_an_edited_table_is_refused(tmp_path):
    out = tmp_path / "c"
    assert invoke("compare", "classroom", "classroom", "--each", "2:booking.overflow=never", "-n", 2,
                  "--out", out, *SMALL).exit_code == 0
    t = out / "comparison.csv"
    t.write_text(t.read_text().replace(",paired,", ",welch,", 1))
    assert refused(invoke("show", out), "comparison.csv")
    assert refused(invoke("report", out, "--out", tmp_path / "r.html"), "comparison.csv")


def test_resume_of_a_sweep_refuses_an_edited_point(tmp_path, monkeypatch):
    out = tmp_path / "s"
    args = ["sweep", "classroom", "--vary", "booking.overflow=never,when_sold_out", "-n", 2, "--out", out, *SMALL]
    interrupted(monkeypatch, args, 1, writes="point")
    p = out / "partial" / "point-000000.json"
    p.write_text(p.read_text().replace('"replication": 1', '"replication": 7'))
    assert refused(invoke(*args, "--resume"), "point-000000.json", "damaged")
    p.unlink()
    assert invoke(*args, "--resume").exit_code == 0
    m = json.loads((out / "manifest.json").read_text())
    assert {"sweep.csv", "sweep_summary.csv", "scenario.toml"} <= set(m["files"])
    assert m["files"]["sweep.csv"]["rows"] == 2 * 2
    s = out / "sweep_summary.csv"
    s.write_text(s.read_text() + "9,never,2\n")
    assert refused(invoke("show", out), "sweep_summary.csv")
    assert refused(invoke("plot", out), "sweep_summary.csv")


def test_seal_detects_any_change():
    body = {"a": 1, "b": [0.1, None], "c": "x"}
    sealed = seal(body)
    assert {k: v for k, v in sealed.items() if k != "checksum"} == body
    assert seal({**body, "a": 2})["checksum"] != sealed["checksum"]


def test_unseal_names_the_file(tmp_path):
    p = tmp_path / "x.json"
    p.write_text(json.dumps({**seal({"a": 1}), "a": 2}))
    with pytest.raises(ResultsError, match=r"x\.json: damaged"):
        unseal(p)


# --- one writer per folder ------------------------------------------------------------------------------
HOLD = """
import sys, time
from sim.run.integrity import FolderLock
lock = FolderLock(sys.argv[1]).acquire()
print("held", flush=True)
time.sleep(60)
"""


def _holder(folder: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True, env=env)
    assert p.stdout.readline().strip() == "held"
    return p


def test_a_second_writer_is_kept_out_and_told_who_holds_the_folder(tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    holder = _holder(out)
    try:
        r = invoke("run", "classroom", "-n", 2, "--out", out, *SMALL)
        assert refused(r, str(out), "in use by another quietcar", f"pid {holder.pid}")
        assert sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing written beside the lock
        r = invoke("sweep", "classroom", "--vary", "booking.overflow=never,when_sold_out", "-n", 2, "--out", out,
                   *SMALL)
        assert refused(r, "in use by another quietcar", f"pid {holder.pid}")
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


def test_a_stale_lock_of_a_killed_process_is_taken_over(tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    holder = _holder(out)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    holder.stdout.close()
    assert (out / ".lock").exists()  # the killed holder could not remove it
    assert str(holder.pid) in (out / ".lock").read_text()
    r = invoke("run", "classroom", "-n", 2, "--out", out, *SMALL)
    assert r.exit_code == 0, r.output
    assert not (out / ".lock").exists() and RunFolder(out).complete()


def test_a_lock_is_exclusive_within_one_process_too(tmp_path):
    a = FolderLock(tmp_path).acquire()
    with pytest.raises(ResultsError, match=f"pid {os.getpid()}"):
        FolderLock(tmp_path).acquire()
    a.release()
    with FolderLock(tmp_path):
        assert (tmp_path / ".lock").exists()
    assert not (tmp_path / ".lock").exists()
