"""Observables a field study or an operator could publish: every one a metric, consistent with
the others, and well defined from no quiet car at all to a whole quiet train."""
from __future__ import annotations

import math

import numpy as np
import pytest

from sim.run.metrics import add, metrics, tally
from sim.model.onboard import ENDERS
from sim.model.params import KINDS
from sim.run.runner import network_day, simulate_one
from sim.scenario import ScenarioError, load

FORMATIONS = ("8", "16", "17", "8+8")


def day(*extra: str, trains: int = 150, seed: int = 3) -> list[dict]:
    """The tallies of the first trains of an expansion day."""
    sc = load("scenarios/expansion.toml", [f"network.trains={trains}", *extra])
    return [tally(simulate_one(sc, spec, seed, 0)) for spec in network_day(sc, seed, 0)]


def test_the_observables_add_up():
    """By kind, the enders share every violation; sanctioned violations include those a
    neighbour ended; the warned mix is the interventions by kind; the mean number running is
    violation-minutes per car-minute; a day's metric is its summed tallies' ratio."""
    tallies = day("switches.control_car=true")
    t, m = add(tallies), metrics(add(tallies))
    for k in KINDS:
        if t[f"starts_{k}"]:
            assert sum(m[f"ended_by.{w}.{k}"] for w in ENDERS) == pytest.approx(1.0)
            assert m[f"sanctioned.{k}"] >= m[f"ended_by.peer.{k}"]
    for w in ENDERS:
        by_kind = sum(m[f"violation_mix.{k}"] * m[f"ended_by.{w}.{k}"] for k in KINDS if t[f"starts_{k}"])
        assert by_kind == pytest.approx(m[f"ended_by.{w}"])
    assert sum(t[f"interventions_{k}"] for k in KINDS) == t["interventions"] > 0
    assert sum(m[f"warned_mix.{k}"] for k in KINDS) == pytest.approx(1.0)
    assert m["staff_interventions_per_car_h"] == pytest.approx(t["interventions"] / (t["car_min"] / 60.0))
    assert 0 < m["calls_running"] < m["violations_running"] < m["control.violations_running"]
    assert m["calls_running"] < m["control.calls_running"]
    assert 0 < m["sanctioned.all"] < 1 and 0 < m["damping_lift"] < 1
    trips = sum(x["trip_min"] for x in tallies) / sum(x["trip_travellers"] for x in tallies)
    assert m["mean_trip_min"] == pytest.approx(trips)
    assert 1.0 <= m["mean_trip_legs"] and 1.0 <= m["second_class.mean_trip_legs"]


def test_no_quiet_car_leaves_quiet_car_metrics_undefined():
    """The baseline without a quiet car: nothing crashes; what needs a quiet car is NaN,
    what does not (bookings, trips of second class, crew time on the quiet car) is defined."""
    m = metrics(add(day(*(f"network.quiet_cars.{f}=0" for f in FORMATIONS), "switches.control_car=true",
                        trains=40)))
    for name in ("uptake_rate", "quiet_load_factor", "violations_per_100_pax_h", "calls_running",
                 "sanctioned.all", "warned_mix.call", "ended_by.peer.call", "contagion_lift", "damping_lift",
                 "mean_trip_min", "staff_interventions_per_car_h", "control.calls_running"):
        assert math.isnan(m[name]), name
    assert m["staff_interventions_per_train"] == 0.0
    assert m["refused_share"] >= 0 and m["second_class.mean_trip_min"] > 0


def test_a_whole_quiet_train_runs():
    """Every car of every formation a quiet car (seats per car so that they fit)."""
    cars = {"8": 8, "16": 16, "17": 17, "8+8": 16}
    extra = [f"network.quiet_cars.{f}={n}" for f, n in cars.items()]
    extra += [f"network.quiet_car_seats.{f}=60" for f in cars]
    tallies = day(*extra, trains=30)
    m = metrics(add(tallies))
    assert all(np.isfinite(m[name]) for name in ("violations_per_100_pax_h", "calls_running", "mean_trip_min",
                                                  "staff_interventions_per_car_h", "quiet_load_factor"))
    assert m["quiet_load_factor"] > 0.5  # most travellers ride in a quiet car now


@pytest.mark.parametrize("key, value", [("network.quiet_cars.8", 9), ("network.quiet_cars.8+8", 17),
                                        ("network.quiet_cars.16", -1)])
def test_more_quiet_cars_than_the_formation_has_is_an_error(key, value):
    with pytest.raises(ScenarioError, match=key.replace("+", r"\+")):
        load("scenarios/expansion.toml", [f"{key}={value}"])


def test_a_run_without_quiet_car_writes_its_files_and_figures(tmp_path):
    """quietcar run on the baseline without a quiet car: results with NaN, and every figure
    that has something to show (no journey timeline: nobody rides a quiet car)."""
    from click.testing import CliRunner

    from sim.cli import main
    out = tmp_path / "none"
    args = ["run", "expansion", "-n", "2", "--out", str(out), "--set", "network.trains=8", "--workers", "1"]
    args += [x for f in FORMATIONS for x in ("--set", f"network.quiet_cars.{f}=0")]
    r = CliRunner().invoke(main, args, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert (out / "summary.json").exists() and (out / "figures" / "headline.png").exists()
    assert not (out / "figures" / "timeline.png").exists()


def test_the_demo_says_when_its_train_has_no_quiet_car():
    from sim import demo
    with pytest.raises(ValueError, match="no quiet car"):
        demo.run(load("scenarios/classroom.toml", ["network.quiet_cars.8=0"]), 20)
