"""The planners' command line: every command, every class of bad input, resume."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import sim.run.results
from sim.cli import main
from sim.scenario import BUNDLED as SCENARIO_DIR
from sim.run.metrics import METRIC_NAMES
from sim.run.results import RunFolder

SMALL = ["--set", "network.trains=12", "--workers", "1", "--no-plots"]
BUNDLED = sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def files(folder: Path) -> dict[str, bytes]:
    """The result files that must not depend on workers or interruptions (not the manifest)."""
    return {n: (folder / n).read_bytes() for n in ("replications.csv", "trains.csv", "summary.json", "scenario.toml")}


def test_bundled_scenarios_are_the_four_of_the_brief():
    assert {"pilot", "expansion", "spring-festival", "classroom"} <= set(BUNDLED)


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_scenario_runs(name, tmp_path):
    out = tmp_path / name
    r = invoke("run", name, "-n", 2, "--out", out, *SMALL)
    assert r.exit_code == 0, r.output
    assert "Violation rate" in r.output and "starts per 100 passenger-hours" in r.output  # the planner's label
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) == set(METRIC_NAMES)
    assert all(set(v) == {"mean", "sd", "ci_low", "ci_high", "n"} for v in summary.values())
    with open(out / "replications.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["replication"] for r in rows] == ["0", "1"]
    with open(out / "trains.csv") as f:
        trains = list(csv.DictReader(f))
    assert len(trains) == 2 * 12  # --set network.trains=12 applies to every scenario
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["seed"] and manifest["replications"] == 2
    assert not (out / "partial").exists()


@pytest.mark.parametrize("name", BUNDLED)
def test_the_simpy_engine_gives_the_files_of_the_compiled_default(name, tmp_path):
    """--engine simpy runs every journey in SimPy: the very files of the default (compiled)
    engine, and the manifest says which engine ran; the engine is no part of the run's
    identity, so a finished run is reused whichever engine is asked for."""
    a, b = tmp_path / "compiled", tmp_path / "simpy"
    assert invoke("run", name, "-n", 2, "--out", a, *SMALL).exit_code == 0
    assert invoke("run", name, "-n", 2, "--out", b, "--engine", "simpy", *SMALL).exit_code == 0
    assert files(a) == files(b)
    engines = [json.loads((f / "manifest.json").read_text())["engine"] for f in (a, b)]
    assert engines == ["compiled", "simpy"]
    r = invoke("run", name, "-n", 2, "--out", b, *SMALL)
    assert r.exit_code == 0 and "already held this run" in r.output


def test_an_unknown_engine_is_refused_before_anything_runs(tmp_path):
    r = invoke("run", "pilot", "--out", tmp_path / "x", "--engine", "fast", *SMALL)
    assert r.exit_code == 2 and "'fast' is not one of 'compiled', 'simpy'" in r.output
    assert not (tmp_path / "x").exists()


def test_every_bundled_scenario_has_a_description():
    r = invoke("scenarios")
    assert r.exit_code == 0
    for name in BUNDLED:
        line = next(x for x in r.output.splitlines() if x.startswith(name))
        assert len(line.split(None, 1)[1]) > 20


def test_validate_and_show(tmp_path):
    r = invoke("validate", *BUNDLED)
    assert r.exit_code == 0 and r.output.count("ok:") == len(BUNDLED)
    out = tmp_path / "p"
    invoke("run", "pilot", "-n", 2, "--out", out, *SMALL)
    r = invoke("show", out)
    assert r.exit_code == 0 and "Noisy time" in r.output and "seed 2024" in r.output


def test_same_results_with_one_or_two_workers(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    invoke("run", "expansion", "-n", 2, "--out", a, "--set", "network.trains=30", "--workers", 1, "--no-plots")
    invoke("run", "expansion", "-n", 2, "--out", b, "--set", "network.trains=30", "--workers", 2, "--no-plots")
    assert files(a) == files(b)


def test_interrupted_run_resumed_equals_uninterrupted(tmp_path, monkeypatch):
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    assert invoke("run", "pilot", "-n", 4, "--out", whole, *SMALL).exit_code == 0
    real = sim.run.results.RunFolder.write_replication
    calls = []

    def dies_after_two(self, rep):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(rep.replication)
        real(self, rep)

    monkeypatch.setattr(sim.run.results.RunFolder, "write_replication", dies_after_two)
    r = CliRunner().invoke(main, ["run", "pilot", "-n", "4", "--out", str(broken), *SMALL])
    assert r.exit_code == 130 and "--resume" in r.output
    assert not (broken / "summary.json").exists() and RunFolder(broken).finished() == [0, 1]
    monkeypatch.setattr(sim.run.results.RunFolder, "write_replication", real)
    r = invoke("run", "pilot", "-n", 4, "--out", broken, *SMALL)
    assert r.exit_code == 2 and "--resume" in r.output  # not silently redone or mixed
    r = invoke("run", "pilot", "-n", 4, "--out", broken, "--resume", *SMALL)
    assert r.exit_code == 0, r.output
    assert json.loads((broken / "manifest.json").read_text())["resumed_replications"] == 2
    assert files(whole) == files(broken)


def test_compare_pairs_a_lever_and_uses_welch_across_networks(tmp_path):
    r = invoke("compare", "expansion", "expansion", "--each", "2:booking.overflow=never", "-n", 3,
               "--out", tmp_path / "c", "--set", "network.trains=20", "--workers", 1, "--no-plots")
    assert r.exit_code == 0, r.output
    assert "paired" in r.output and "removed" in r.output and "of the variance" in r.output
    with open(tmp_path / "c" / "comparison.csv") as f:
        rows = [x for x in csv.DictReader(f) if x["metric"] == "overflow_share"]
    assert rows[1]["method"] == "paired" and float(rows[1]["mean"]) == 0.0
    r = invoke("compare", "pilot", "expansion", "-n", 2, "--out", tmp_path / "d", "--set", "network.trains=8",
               "--workers", 1, "--no-plots")
    assert r.exit_code == 0 and "Welch" in r.output


def test_python_dash_m_sim_works_like_quietcar():
    r = subprocess.run([sys.executable, "-m", "sim", "--help"], capture_output=True, text=True, check=True)
    assert "Usage: quietcar" in r.stdout and "compare" in r.stdout


def documented(command, output: str) -> list[str]:
    """What ``command``'s --help ``output`` fails to explain: each option must have a help text of
    its own and be shown, each argument be named in the usage line."""
    missing = []
    for p in command.params:
        if isinstance(p, click.Option) and not p.hidden and (not p.help or p.opts[-1] not in output):
            missing.append(p.opts[-1])
        if isinstance(p, click.Argument) and p.human_readable_name not in output.splitlines()[0]:
            missing.append(p.human_readable_name)
    return missing


def test_every_command_explains_itself():
    for cmd in ("run", "compare", "validate", "scenarios", "show"):
        r = invoke(cmd, "--help")
        assert r.exit_code == 0 and r.output.startswith(f"Usage: main {cmd}"), cmd
        assert documented(main.commands[cmd], r.output) == [], cmd
        assert main.commands[cmd].help.split(".")[0].split()[0] in r.output, cmd  # its description


# --- bad input: a clear message naming file and key, exit status 2, nothing written ----------
def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "bad.toml"
    p.write_text(text)
    return p


BAD = [
    ("syntax", "[staff\npatrol_interval = 3\n", ["bad.toml", "TOML syntax error", "line 1"]),
    ("unknown key", "[staff]\npatrol_intervall = 3\n", ["bad.toml", "staff.patrol_intervall", "did you mean 'staff.patrol_interval'"]),
    ("wrong type", "[booking]\nwindow_days = 'two weeks'\n", ["bad.toml", "booking.window_days", "must be a number"]),
    ("probability", "[behaviour]\npeer_success = 1.5\n", ["bad.toml", "behaviour.peer_success", "in [0, 1]", "1.5"]),
    ("negative count", "[network]\ntrains = -3\n", ["bad.toml", "network.trains", "in [1, 100000]"]),
    ("negative time", "[staff]\npatrol_walk = -1.0\n", ["bad.toml", "staff.patrol_walk", ">= 0 minutes"]),
    ("shares", "[population.share]\nbusiness = 0.9\n", ["bad.toml", "population.share", "sum to 1"]),
    ("policy", "[booking]\noverflow = 'sometimes'\n", ["bad.toml", "booking.overflow", "never, when_sold_out"]),
]


@pytest.mark.parametrize("case, text, expect", BAD, ids=[b[0] for b in BAD])
def test_bad_scenario_is_refused_clearly(case, text, expect, tmp_path):
    out = tmp_path / "out"
    r = invoke("run", write(tmp_path, text), "--out", out, "-n", 1)
    assert r.exit_code == 2
    for part in expect:
        assert part in r.output, (part, r.output)
    assert not out.exists()
    assert invoke("validate", tmp_path / "bad.toml").exit_code == 2


def test_set_on_a_key_that_does_not_exist(tmp_path):
    out = tmp_path / "out"
    r = invoke("run", "pilot", "--out", out, "--set", "staff.patrol_intervl=10")
    assert r.exit_code == 2 and "staff.patrol_intervl" in r.output and "staff.patrol_interval" in r.output
    assert not out.exists()
    r = invoke("run", "pilot", "--out", out, "--set", "booking.overflow=sometimes")
    assert r.exit_code == 2 and "booking.overflow" in r.output and not out.exists()


def test_output_folder_holding_another_run(tmp_path):
    out = tmp_path / "out"
    assert invoke("run", "pilot", "-n", 2, "--out", out, *SMALL).exit_code == 0
    before = files(out)
    r = invoke("run", "pilot", "-n", 2, "--out", out, "--seed", 7, *SMALL)
    assert r.exit_code == 2 and "different run" in r.output and "seed" in r.output and "--force" in r.output
    assert files(out) == before
    r = invoke("run", "pilot", "-n", 2, "--out", out, "--seed", 7, "--force", *SMALL)
    assert r.exit_code == 0 and files(out) != before


def test_unknown_scenario_name(tmp_path):
    r = invoke("run", "pilott", "--out", tmp_path / "o")
    assert r.exit_code == 2 and "pilot" in r.output and not (tmp_path / "o").exists()


def test_precision_stops_when_every_headline_interval_is_narrow_enough(tmp_path):
    """--precision adds replications until each headline half-width <= R |mean|, then stops."""
    from sim.run.metrics import HEADLINE
    R = 0.2
    out = tmp_path / "p"
    r = invoke("run", "expansion", "-n", 3, "--precision", R, "--max-replications", 40, "--out", out,
               "--set", "network.trains=20", "--set", "booking.overflow=never", "--workers", 1, "--no-plots")
    assert r.exit_code == 0, r.output
    m = json.loads((out / "manifest.json").read_text())
    summary = json.loads((out / "summary.json").read_text())
    n = m["replications_done"]
    assert "precision reached" in r.output and m["precision_met"] and 3 < n <= 40
    for k in HEADLINE:
        s = summary[k]
        if s["n"] >= 2 and s["mean"]:
            assert s["ci_high"] - s["mean"] <= R * abs(s["mean"]) + 1e-12, k
    assert all(summary[k]["n"] in (0, n) or k.startswith("contagion") for k in HEADLINE)
    # with the first n - 1 replications the target was not yet met, else it would have stopped
    import csv as _csv
    from sim.run.metrics import imprecise
    with open(out / "replications.csv") as f:
        rows = [{k: float(row[k]) for k in HEADLINE} for row in _csv.DictReader(f)]
    assert imprecise(rows[:3], HEADLINE, R)


def test_precision_out_of_reach_is_said_plainly(tmp_path):
    out = tmp_path / "p"
    r = invoke("run", "pilot", "-n", 3, "--precision", 0.0001, "--max-replications", 4, "--out", out,
               "--set", "network.trains=4", "--workers", 1, "--no-plots")
    assert r.exit_code == 0 and "PRECISION NOT REACHED" in r.output and "--max-replications 4" in r.output
    assert json.loads((out / "manifest.json").read_text())["replications_done"] == 4


def test_force_never_deletes_a_folder_that_holds_no_run(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    r = invoke("run", "pilot", "-n", 2, "--out", out, "--force", *SMALL)
    assert r.exit_code == 2 and "holds no quietcar run" in r.output
    assert (out / "notes.txt").read_text() == "keep me"


def test_a_folder_named_like_a_bundled_scenario_does_not_hide_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pilot").mkdir()
    assert invoke("validate", "pilot").exit_code == 0


def test_run_draws_its_figures_unless_told_not_to(tmp_path):
    out = tmp_path / "f"
    r = invoke("run", "pilot", "-n", 2, "--out", out, "--set", "network.trains=6", "--workers", 1)
    assert r.exit_code == 0, r.output
    pngs = sorted((out / "figures").glob("*.png"))
    assert pngs and all(p.stat().st_size > 10_000 for p in pngs)


def test_scheduler_without_dask_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # as if the extra were not installed
    r = invoke("run", "pilot", "-n", 2, "--out", tmp_path / "o", "--scheduler", "local", *SMALL)
    assert r.exit_code == 2 and "pip install -e '.[dask]'" in r.output
    assert not (tmp_path / "o").exists()


def test_rerunning_a_finished_run_shows_it_unchanged(tmp_path):
    out = tmp_path / "again"
    assert invoke("run", "pilot", "-n", 2, "--out", out, *SMALL).exit_code == 0
    before = files(out)
    r = invoke("run", "pilot", "-n", 2, "--out", out, *SMALL)
    assert r.exit_code == 0 and "already held this run" in r.output and files(out) == before


@pytest.mark.parametrize("seconds, shown", [(1.5, True), (0.0, False)])
def test_a_slow_start_says_the_core_is_being_compiled(monkeypatch, tmp_path, seconds, shown):
    """The first run after installing compiles the core for about a minute: the user is told,
    but only when loading it takes more than a second (it is cached afterwards)."""
    import time

    import sim.cli.common
    calls = []
    import threading
    monkeypatch.setattr(sim.cli.common, "_ready", threading.Event())  # as in a new process
    monkeypatch.setattr(sim.cli.common, "warm_up", lambda: (calls.append(1), time.sleep(seconds)))
    r = invoke("run", "pilot", "-n", 1, "--out", tmp_path / "out", *SMALL)
    assert r.exit_code == 0 and calls == [1], r.output
    assert ("compiling the simulation core" in r.output) == shown, r.output
