"""Every example in `quietcar --help`, each command's --help and the README runs as written.

The examples are run in order, in an empty folder, as a newcomer would type them (later
ones read the folders earlier ones wrote). To keep the test quick, every scenario loaded is
given ``network.trains=2`` on top of what the example says, behind the command's back: the
command line, the folder names and everything else are exactly the example's. The demo's
examples open a window and are left to the demo's own tests."""
from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import sim.cli.planners
import sim.cli.research
from sim.cli import main
from sim.scenario import BUNDLED

ROOT = Path(__file__).resolve().parents[1]
ORDER = ["run", "compare", "validate", "scenarios", "show", "sweep", "sensitivity", "plot", "report"]


def help_examples(text: str) -> list[str]:
    """The commands under 'Examples:' in a help text, continuation lines joined."""
    out, cur, on = [], "", False
    for line in text.splitlines():
        s = line.strip()
        if s == "Examples:":
            on = True
            continue
        if not on:
            continue
        if not s:
            if cur:
                out.append(cur)
                cur = ""
            on = False
            continue
        cur = f"{cur} {s}" if cur else s
        if cur.endswith("\\"):
            cur = cur[:-1].rstrip()
        else:
            out.append(cur)
            cur = ""
    if cur:
        out.append(cur)
    return [c.split("  #")[0].strip() for c in out if c.startswith("quietcar ")]


def readme_examples() -> list[str]:
    text = (ROOT / "README.md").read_text()
    cmds = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        block = re.sub(r"\\\n\s*", " ", block)  # a command continued over lines is one command
        cmds += [ln.split("  #")[0].split(" # ")[0].strip() for ln in block.splitlines() if ln.startswith("quietcar ")]
    cmds += [m for m in re.findall(r"`(quietcar [^`]+)`", text) if "<" not in m and "NAME" not in m]
    return list(dict.fromkeys(cmds))


def all_examples() -> list[str]:
    runner = CliRunner()
    helps = [runner.invoke(main, ["--help"]).output]
    helps += [runner.invoke(main, [c, "--help"]).output for c in ORDER]
    main_ex = help_examples(helps[0])
    readme = readme_examples()
    per_cmd = [c for h in helps[1:] for c in help_examples(h)]
    return list(dict.fromkeys(main_ex + readme + per_cmd))


def test_the_examples_are_found():
    ex = all_examples()
    for needle in ("quietcar show results/pilot-s2024-n20", "quietcar sweep expansion --overflow-curve",
                   "quietcar report", "quietcar plot", "quietcar sensitivity pilot --method sobol",
                   "quietcar compare expansion expansion --each 2:booking.overflow=never"):
        assert any(c.startswith(needle) for c in ex), needle
    assert not any("--set booking.overflow=never -n 20" in c and "compare expansion expansion" in c for c in ex)


@pytest.mark.slow
def test_every_example_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(BUNDLED / "pilot.toml", tmp_path / "my-scenario.toml")  # the README's "your own file"
    for module in (sim.cli.planners, sim.cli.research):
        real = module.load_scenario
        monkeypatch.setattr(module, "load_scenario",
                            lambda name, overrides, real=real: real(name, [*overrides, "network.trains=2"]))
    failed = []
    for cmd in all_examples():
        args = shlex.split(cmd)[1:]
        if args and args[0] == "demo":
            continue
        if args and args[0] == "lesson" and "--save" not in args:
            continue  # serves until Ctrl-C: tests/test_lesson.py starts the server and drives the page
        if args and (args[0] == "calibrate" or "--posterior" in args):
            continue  # minutes of simulation: tests/test_calibration.py runs both on small targets
        if "--scheduler" in args:
            pytest.importorskip("dask.distributed")
        r = CliRunner().invoke(main, args)
        if r.exit_code != 0:
            failed.append(f"{cmd}\n  -> exit {r.exit_code}: {r.output.strip().splitlines()[-1:]} {r.exception!r}")
    assert not failed, "\n".join(failed)
