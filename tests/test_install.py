"""A fast first start from any install: the commands that only read never load the compiled
core, and the bundled scenarios ship inside the package (.ci/smoke installs the wheel into a
fresh environment and runs every one of them by name from an empty folder)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from sim.cli import main
from sim.scenario import BUNDLED

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys
from sim.cli import main
for args in json.loads(sys.argv[1]):
    try:
        main(args, standalone_mode=False)
    except SystemExit:
        pass
import numba.core.registry
from numba.core.dispatcher import Dispatcher
import gc
compiled = sorted({o.py_func.__qualname__ for o in gc.get_objects()
                   if isinstance(o, Dispatcher) and o.signatures})
print(json.dumps({"onboard_loop": "sim.model.onboard_loop" in sys.modules, "compiled": compiled}))
"""


def test_reading_commands_compile_nothing(tmp_path):
    """--help, scenarios, validate and show with an empty compile cache: no compiled function,
    the event loop never imported, nothing written to the cache."""
    out = tmp_path / "run"
    assert CliRunner().invoke(main, ["run", "classroom", "-n", "2", "--out", str(out), "--set", "network.trains=2",
                                     "--workers", "1", "--no-plots"]).exit_code == 0
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    commands = [["--help"], ["scenarios"], ["validate", "pilot", "classroom"], ["show", str(out)], ["run", "--help"]]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NUMBA_CACHE_DIR": str(cache)}
    r = subprocess.run([sys.executable, "-c", PROBE, json.dumps(commands)], env=env, capture_output=True,
                       text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    probe = json.loads(r.stdout.strip().splitlines()[-1])
    assert probe == {"onboard_loop": False, "compiled": []}
    assert [p for p in cache.rglob("*") if p.is_file()] == []


def test_the_first_run_says_what_it_compiles_step_by_step(monkeypatch, tmp_path):
    import time

    import sim.cli.common as common
    import threading
    monkeypatch.setattr(common, "_ready", threading.Event())  # as in a new process
    monkeypatch.setattr(common, "load_loop", lambda: time.sleep(1.3))
    r = CliRunner().invoke(main, ["run", "classroom", "-n", "1", "--out", str(tmp_path / "o"), "--set",
                                  "network.trains=2", "--workers", "1", "--no-plots"])
    assert r.exit_code == 0, r.output
    assert "compiling the simulation core" in r.output
    assert "[1/2] the on-board event loop" in r.output and "[2/2]" in r.output and "done in" in r.output


def test_the_package_ships_the_bundled_scenarios_identical_to_the_top_level_copy():
    """scenarios/ is the copy users read and edit; sim/scenarios/ the one installed with the
    package. Edit the top-level one and copy it over (cp scenarios/*.toml sim/scenarios/)."""
    top = {p.name: p.read_bytes() for p in (ROOT / "scenarios").glob("*.toml")}
    shipped = {p.name: p.read_bytes() for p in BUNDLED.glob("*.toml")}
    assert BUNDLED == ROOT / "sim" / "scenarios"
    assert top and top == shipped


def test_the_wheel_declares_the_scenarios_as_package_data():
    import tomllib
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "scenarios/*.toml" in conf["tool"]["setuptools"]["package-data"]["sim"]
    fonts = conf["tool"]["setuptools"]["package-data"]["sim.present.fonts"]
    assert "*.otf" in fonts and "OFL.txt" in fonts  # the Chinese font and its licence ship in the wheel
    assert "hypothesis" in " ".join(conf["project"]["optional-dependencies"]["test"])


def test_ci_runs_the_installed_wheel_smoke_test():
    assert ".ci/smoke" in (ROOT / ".ci" / "run").read_text()
    smoke = (ROOT / ".ci" / "smoke").read_text()
    assert "pip wheel" in smoke and "venv" in smoke and 'run "$name"' in smoke
