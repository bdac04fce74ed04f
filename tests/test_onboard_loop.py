"""The compiled event loop is the SimPy journey: the very same records, train by train.

`onboard._Journey` (SimPy) states the on-board model; `onboard_loop` runs it without SimPy
for network runs. Given the same travellers and streams, every record must be identical:
violations (field by field, floats bit for bit), car totals, per-traveller times, staff
figures. Checked on every scenario and on variants that reach the rarer paths: crew starved
by duties, escalation, zero walking and intervention times, mechanisms switched off."""
from __future__ import annotations

import numpy as np
import pytest

from sim.model import onboard_loop
from sim.model.onboard import run_onboard
from sim.model.onboard_loop import run_journey
from sim.model.train import book_train
from sim.rng import train_streams
from sim.run.runner import network_day
from sim.scenario import load

SEED = 11


def travellers(sc, trains: int):
    """The first ``trains`` trains of the scenario's day: spec and quiet-car travellers."""
    for spec in network_day(sc, SEED, 0)[:trains]:
        rngs = train_streams(SEED, 0, spec.train_id)
        yield spec, book_train(spec, sc.params, rngs)[2]


def assert_same(a, b, where) -> None:
    assert a.violations == b.violations, where
    assert a.cars == b.cars and a.control == b.control, where
    for f in ("board_time", "alight_time", "boardings", "moved"):
        assert np.array_equal(getattr(a, f), getattr(b, f), equal_nan=True), (where, f)
    assert (a.interventions, a.staff_min, a.complaints) == (b.interventions, b.staff_min, b.complaints), where


CASES = {
    "expansion": ("expansion", 600, []),
    "pilot": ("pilot", 92, []),  # the whole pilot day
    "spring festival, control car": ("spring-festival", 120, ["switches.control_car=true"]),
    "overflow signers (with_agreement)": ("spring-festival", 150, ["booking.overflow=with_agreement"]),
    "escalation at first contact": ("expansion", 300, ["staff.escalation_contacts=1", "behaviour.commitment=0.5"]),
    "crew starved by duties": ("expansion", 300, [
        "staff.other_duty_load=0.9", "network.crew.8=1", "network.crew.16=1", "network.crew.17=2",
        "network.crew.8+8=1", "staff.patrol_interval=10"]),
    "no walking, no intervention time": ("expansion", 200, [
        "staff.intervention_min=0", "staff.response_walk=0", "staff.patrol_walk=0", "staff.patrol_staff=3"]),
    "damping off, contagion on": ("expansion", 200, ["switches.damping=false"]),
    "mechanisms off": ("expansion", 200, ["switches.contagion=false", "switches.peers=false",
                                          "switches.other_duties=false", "switches.warned=false"]),
}


@pytest.mark.parametrize("case", CASES)
def test_the_compiled_loop_gives_the_records_of_the_simpy_journey(case):
    name, trains, extra = CASES[case]
    sc = load(f"scenarios/{name}.toml", extra)
    violations = 0
    for spec, pax in travellers(sc, trains):
        a = run_onboard(spec, sc.params, pax, train_streams(SEED, 0, spec.train_id))
        b = run_journey(spec, sc.params, pax, train_streams(SEED, 0, spec.train_id))
        assert_same(a, b, (case, spec.train_id))
        violations += len(a.violations)
    assert violations > trains  # the comparison covered plenty of violations


def test_arrays_that_run_short_are_drawn_longer_without_changing_the_journey(monkeypatch):
    """With the least first sizes every kind of array runs short (on 40 trains: room 173 times,
    staff draws 68, the cars' uniforms 23): the journey is run again on longer draws of the
    same streams, and the records do not change."""
    monkeypatch.setattr(onboard_loop, "FIRST_BLOCKS", 0)
    monkeypatch.setattr(onboard_loop, "FIRST_STAFF", 0)
    monkeypatch.setattr(onboard_loop, "FIRST_ROOM", -10**9)
    sc = load("scenarios/spring-festival.toml", ["switches.control_car=true"])
    counts: dict = {}
    for spec, pax in travellers(sc, 40):
        a = run_onboard(spec, sc.params, pax, train_streams(SEED, 0, spec.train_id))
        b = run_journey(spec, sc.params, pax, train_streams(SEED, 0, spec.train_id), counts)
        assert_same(a, b, spec.train_id)
    assert all(counts[name] > 0 for name in onboard_loop.SHORT_NAMES), counts  # each path was taken
