"""The resource guard: before any work, estimate and refuse what would not fit in memory,
naming the key that causes it; --allow-large goes ahead."""
from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

import sim.run.guard as guard
from sim.cli import main
from sim.scenario import BUNDLED, load

SMALL = ["--set", "network.trains=3", "--workers", "1", "--no-plots"]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.parametrize("value", ["1e-6", "1e-9"])
def test_a_tiny_other_duty_mean_is_refused_before_anything_runs(tmp_path, value):
    start = time.monotonic()
    r = invoke("run", "pilot", "--set", f"staff.other_duty_mean={value}", "--out", tmp_path / "o", "--no-plots")
    assert r.exit_code == 2 and "staff.other_duty_mean" in r.output and "--allow-large" in r.output
    assert "GiB" in r.output or "TiB" in r.output
    assert not (tmp_path / "o").exists() and time.monotonic() - start < 30


def test_a_huge_factorial_is_refused_before_it_is_built(tmp_path):
    start = time.monotonic()
    r = invoke("sweep", "pilot", "--vary", "staff.patrol_interval=1:60:1000", "--vary", "behaviour.contagion=0:1:1000",
               "--vary", "network.load_factor_mean=0.5:1:1000", "--out", tmp_path / "s")
    assert r.exit_code == 2 and "1,000,000,000 points" in r.output and "--allow-large" in r.output
    assert time.monotonic() - start < 30 and not (tmp_path / "s").exists()
    r = invoke("sweep", "pilot", "--vary", "staff.patrol_interval=1:60:1000000000", "--out", tmp_path / "s")
    assert r.exit_code == 2 and "at most 10,000 levels" in r.output


def test_allow_large_goes_ahead(tmp_path, monkeypatch):
    monkeypatch.setattr(guard, "available_memory", lambda: 1e6)  # a machine with 1 MB to spare
    r = invoke("run", "classroom", "-n", 2, "--out", tmp_path / "a", *SMALL)
    assert r.exit_code == 2 and "more than the" in r.output and not (tmp_path / "a").exists()
    r = invoke("run", "classroom", "-n", 2, "--out", tmp_path / "a", "--allow-large", *SMALL)
    assert r.exit_code == 0, r.output
    for args in (["compare", "classroom", "classroom", "--each", "2:booking.overflow=never"],
                 ["sweep", "classroom", "--vary", "booking.overflow=never,when_sold_out"],
                 ["sensitivity", "classroom", "--param", "behaviour.contagion=0:1", "--samples", "2"]):
        r = invoke(*args, "-n", 2, "--out", tmp_path / args[0], *SMALL)
        assert r.exit_code == 2 and "--allow-large" in r.output, args


@pytest.mark.parametrize("name", sorted(p.stem for p in BUNDLED.glob("*.toml")))
def test_the_bundled_scenarios_fit_easily(name):
    """No false alarm: every bundled scenario's largest train needs little memory."""
    sc = load(BUNDLED / f"{name}.toml")
    est = guard.estimate([sc], sc.run.replications, 2)
    assert est.largest_train_bytes < 100 * 2**20
    guard.check(est, limit=4 * 2**30)


def test_the_estimate_follows_the_key_that_drives_it():
    base = load(BUNDLED / "pilot.toml")
    small = load(BUNDLED / "pilot.toml", ["staff.other_duty_mean=0.001"])
    a = guard.estimate([base], 1, 1).terms["staff.other_duty_mean"]
    b = guard.estimate([small], 1, 1).terms["staff.other_duty_mean"]
    assert b == pytest.approx(a * base.params.staff.other_duty_mean / 0.001)
    with pytest.raises(guard.TooLarge, match="staff.other_duty_mean"):
        guard.check(guard.estimate([load(BUNDLED / "pilot.toml", ["staff.other_duty_mean=1e-7"])], 1, 1),
                    limit=8 * 2**30)
