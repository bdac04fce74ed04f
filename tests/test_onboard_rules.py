"""Trace tests: scripted violations, and the whole sequence of what happens asserted."""
from __future__ import annotations

import numpy as np
import pytest

from sim.model.onboard import _Journey
from sim.model.params import KINDS, TrainSpec
from sim.rng import train_streams

from .conftest import full_car, isolated, one_leg


def scripted(spec, params, pax, script, seed=0):
    """A journey with no random starts; violations ``(minute, passenger, kind, length)`` are
    started by the script. Returns the result and the trace."""
    log: list = []
    j = _Journey(spec, params, pax, train_streams(seed, 0, 0), log)

    def go():
        for t, i, kind, length in script:
            yield j.env.timeout(t - j.env.now)
            j.cars[0].start(i, KINDS.index(kind), length)

    j.env.process(go())
    return j.run(), log


def events(log, pax=None, what=None):
    return [(e.minute, e.what) for e in log if (pax is None or e.pax == pax) and (what is None or e.what in what)]


def test_boarding_and_alighting_follow_the_trips():
    """Travellers board at their origin's time and alight at their destination's, in stop order."""
    pax = full_car(10)
    pax = type(pax)(**{**{k: getattr(pax, k) for k in pax.__dataclass_fields__},
                       "origin": np.array([0, 0, 1, 1, 2, 0, 0, 0, 0, 0]),
                       "dest": np.array([1, 3, 2, 3, 3, 3, 3, 3, 3, 3])})
    spec = TrainSpec(run_min=90.0, stops=4, ordinary_seats=0, quiet_seats=(10,), crew=2)
    ob, log = scripted(spec, isolated(), pax, [])
    assert events(log, pax=2) == [(30.0, "board"), (60.0, "alight")]
    assert events(log, pax=0) == [(0.0, "board"), (30.0, "alight")]
    assert events(log, pax=4) == [(60.0, "board"), (90.0, "alight")]
    at_30 = [e.what for e in log if e.minute == 30.0]
    assert at_30 == ["alight", "board", "board"]  # those leaving free their seats first
    assert (ob.boardings == 1).all()


def test_violation_running_at_arrival_is_unresolved():
    ob, log = scripted(one_leg(60.0), isolated(), full_car(5), [(50.0, 3, "media", 100.0)])
    (v,) = ob.violations
    assert (v.ended_by, v.start, v.end, v.pax) == ("alighting", 50.0, 60.0, 3)


def test_natural_end_and_disturbed_minutes():
    """A 4-minute talk in row 0 with reach 1 disturbs rows 0-1 (9 others) for 4 minutes each."""
    params = isolated(behaviour=dict(reach_rows=(1,) * 4))
    ob, log = scripted(one_leg(60.0), params, full_car(20), [(10.0, 0, "talk", 4.0)])
    (v,) = ob.violations
    assert (v.ended_by, v.end, v.neighbours) == ("self", 14.0, 9)
    assert v.disturbed_pax_min == pytest.approx(36.0)
    assert ob.cars[0].noisy_min == pytest.approx(4.0)
    assert ob.cars[0].pax_min == pytest.approx(20 * 60.0)


def test_escalation_second_failed_contact_moves_the_passenger():
    """Staff never succeed: first pass reminds, second pass moves the violator out."""
    params = isolated(switches=dict(patrols=True),
                      staff=dict(patrol_interval=10.0, patrol_walk=0.0, detect=(1.0,) * 4, staff_success=0.0,
                                 escalation=True, escalation_contacts=2, intervention_min=1.0))
    ob, log = scripted(one_leg(100.0), params, full_car(10), [(11.0, 4, "call", 1000.0)])
    passes = [t for t, w in events(log, what={"patrol"})]
    first = min(p for p in passes if p >= 11.0)
    assert events(log, pax=4, what={"start", "intervene", "end_staff", "moved"}) == [
        (11.0, "start"), (first, "intervene"), (first + 10.0, "intervene"), (first + 10.0, "end_staff"),
        (first + 10.0, "moved")]
    (v,) = ob.violations
    assert v.moved and v.staff_contacts == 2 and v.ended_by == "staff"
    assert ob.moved[4] and ob.alight_time[4] == first + 10.0
    assert ob.interventions == 2 and ob.staff_min == 2.0


def test_without_escalation_failed_contacts_repeat():
    params = isolated(switches=dict(patrols=True),
                      staff=dict(patrol_interval=10.0, patrol_walk=0.0, detect=(1.0,) * 4, staff_success=0.0,
                                 escalation=False, intervention_min=0.0))
    ob, log = scripted(one_leg(100.0), params, full_car(10), [(0.5, 4, "call", 1000.0)])
    (v,) = ob.violations
    assert not v.moved and v.ended_by == "alighting" and v.staff_contacts == 10


def test_complaint_calls_a_crew_member_who_walks_over():
    """Every neighbour complains; the first complaint brings staff after response_walk."""
    params = isolated(switches=dict(complaints=True),
                      behaviour=dict(complain=(1.0,) * 4, reach_rows=(0,) * 4, complaint_delay_mean=2.0),
                      staff=dict(response_walk=3.0, intervention_min=2.0, staff_success=1.0))
    ob, log = scripted(one_leg(100.0), params, full_car(10), [(20.0, 0, "call", 500.0)])
    complaints = [t for t, w in events(log, what={"complaint"})]
    (v,) = ob.violations
    assert len(complaints) == v.complaints >= 1 and complaints == sorted(complaints)
    assert v.ended_by == "staff" and v.end == pytest.approx(complaints[0] + 3.0)
    assert all(t <= v.end for t in complaints)
    assert ob.staff_min == pytest.approx(5.0) and ob.interventions == 1


def test_crew_is_a_shared_busy_resource():
    """With one crew member, the second complaint waits until the first case is handled."""
    params = isolated(switches=dict(complaints=True),
                      behaviour=dict(complain=(1.0,) * 4, reach_rows=(0,) * 4, complaint_delay_mean=0.5),
                      staff=dict(response_walk=3.0, intervention_min=2.0, staff_success=1.0))
    spec = TrainSpec(run_min=100.0, stops=2, ordinary_seats=0, quiet_seats=(20,), crew=1)
    ob, log = scripted(spec, params, full_car(20), [(10.0, 0, "call", 500.0), (10.0, 10, "talk", 500.0)])
    first, second = sorted(ob.violations, key=lambda v: v.end)
    c_first = min(e.minute for e in log if e.what == "complaint")  # whichever case complained first
    assert first.end == pytest.approx(c_first + 3.0)
    assert second.end == pytest.approx(first.end + 2.0 + 3.0)  # waits for the crew member


def test_peer_reminder_ends_the_violation_and_warns():
    params = isolated(switches=dict(peers=True, warned=True),
                      behaviour=dict(peer_remind=(1.0,) * 5, peer_success=1.0, reach_rows=(0,) * 4,
                                     peer_delay_mean=1.0))
    ob, log = scripted(one_leg(100.0), params, full_car(5), [(10.0, 2, "call", 50.0)])
    (v,) = ob.violations
    assert v.ended_by == "peer" and 10.0 < v.end < 60.0
    assert events(log, pax=2, what={"reminder_ok"}) == [(v.end, "reminder_ok")]
