"""Properties that must hold for every input, checked on inputs Hypothesis draws (and shrinks
to the simplest failing one): the booking's invariants, common random numbers across policies,
the scenario file's round trip and the additivity of tallies."""
from __future__ import annotations

import math
import sys
from dataclasses import fields

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sim.model.booking import OPTIN, ORDINARY, OUTCOMES, OVERFLOW, intentions
from sim.model.params import FAMILY_ADVICE, OVERFLOW_POLICIES, Params, TrainSpec
from sim.model.train import book_train, simulate_train
from sim.rng import train_streams
from sim.run.metrics import add, metrics, tally
from sim.scenario import SECTIONS, ScenarioError, from_dict, load

from .test_booking import leg_loads

PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- booking --------------------------------------------------------------------------------------
trains = st.builds(
    TrainSpec, run_min=st.floats(20.0, 600.0), stops=st.integers(2, 12), ordinary_seats=st.integers(0, 400),
    quiet_seats=st.lists(st.integers(1, 100), min_size=1, max_size=3).map(tuple), crew=st.integers(1, 4),
    load_factor=st.floats(0.02, 2.0))
policies = st.fixed_dictionaries({"overflow": st.sampled_from(OVERFLOW_POLICIES),
                                  "family_advice": st.sampled_from(FAMILY_ADVICE),
                                  "release_hours": st.floats(0.0, 72.0)})
seeds = st.integers(0, 2**63 - 1)


@PROPERTY
@given(spec=trains, policy=policies, seed=seeds)
def test_no_leg_is_oversold_and_every_request_has_one_outcome(spec, policy, seed):
    params = Params().replace(booking=policy)
    req, booked, pax = book_train(spec, params, train_streams(seed, 0, 0))
    out = booked.outcome
    assert len(out) == req.n and set(np.unique(out)) <= set(range(len(OUTCOMES)))
    assert sum(booked.counts().values()) == req.n
    assert leg_loads(req, out, [OPTIN, OVERFLOW], spec.legs).max(initial=0) <= sum(spec.quiet_seats)
    assert leg_loads(req, out, [ORDINARY], spec.legs).max(initial=0) <= spec.ordinary_seats
    if policy["overflow"] == "never":
        assert not (out == OVERFLOW).any()
    assert pax.n == int(req.size[(out == OPTIN) | (out == OVERFLOW)].sum())  # each seated once
    assert (pax.optin == np.repeat(out[(out == OPTIN) | (out == OVERFLOW)] == OPTIN,
                                   req.size[(out == OPTIN) | (out == OVERFLOW)])).all()


@PROPERTY
@given(spec=trains, a=policies, b=policies, seed=seeds)
def test_two_policies_serve_the_same_requests_with_the_same_intentions(spec, a, b, seed):
    """Common random numbers: the requests, with every uniform a decision may need, do not
    depend on the policy; nor does the opt-in decision, given the family advice."""
    ra, _, _ = book_train(spec, Params().replace(booking=a), train_streams(seed, 0, 0))
    rb, _, _ = book_train(spec, Params().replace(booking=b), train_streams(seed, 0, 0))
    for name in ra.__dataclass_fields__:
        assert np.array_equal(getattr(ra, name), getattr(rb, name)), name
    same_advice = {**b, "family_advice": a["family_advice"]}
    pa, pb = Params().replace(booking=a), Params().replace(booking=same_advice)
    assert np.array_equal(intentions(ra, pa.population, pa.booking).accepts,
                          intentions(rb, pb.population, pb.booking).accepts)


# --- the scenario file ------------------------------------------------------------------------------
def _value(default, meta):
    """A strategy for a valid value of one scalar parameter (within its range and choices)."""
    if isinstance(default, bool):
        return st.booleans()
    if isinstance(default, str):
        return st.sampled_from(meta["choices"]) if meta.get("choices") else st.text(max_size=20)
    lo, hi = meta.get("range") or (None, None)
    if isinstance(default, int):
        lo = 0 if lo is None else int(math.ceil(lo))
        return st.integers(lo, int(hi) if hi is not None else lo + 1000)
    lo = -1e6 if lo is None else lo
    return st.floats(lo, hi if hi is not None else lo + 1e6, allow_nan=False, allow_infinity=False)


def _keys():
    """(section, field, sub-key or None, strategy) for every parameter a scenario may set alone
    (shares that must sum to one are left out: a single one cannot change)."""
    out = []
    for name, cls in SECTIONS.items():
        for f in fields(cls):
            meta, default = f.metadata, f.default
            if meta.get("sums_to_one") or meta.get("keys2") or isinstance(default, (list, dict)):
                continue
            keys = meta.get("keys")
            if keys is None and not isinstance(default, tuple):
                out.append((name, f.name, None, _value(default, meta)))
            elif keys is not None and not isinstance(default[0], tuple):
                out += [(name, f.name, k, _value(default[0], meta)) for k in keys]
    return out


KEYS = _keys()


@st.composite
def scenarios(draw):
    data: dict = {"description": draw(st.text(st.characters(blacklist_categories=("Cs",)), max_size=40))}
    for section, name, key, values in draw(st.lists(st.sampled_from(KEYS), max_size=8, unique_by=lambda k: k[:3])):
        value = draw(values)
        table = data.setdefault(section, {})
        if key is None:
            table[name] = value
        else:
            table.setdefault(name, {})[key] = value
    try:
        return from_dict(data)
    except ScenarioError:
        assume(False)  # a combination the loader refuses as a whole (e.g. more patrollers than crew)


@PROPERTY
@given(sc=scenarios())
def test_the_resolved_scenario_file_loads_back_to_the_same_scenario(sc, tmp_path_factory):
    path = tmp_path_factory.mktemp("round") / "resolved.toml"
    path.write_text(sc.to_toml(), encoding="utf-8")
    again = load(path)
    assert again.to_dict() == sc.to_dict()
    assert again.digest() == sc.digest()


# --- tallies ----------------------------------------------------------------------------------------
def _tallies() -> list[dict]:
    """The tallies of 24 small trains of every size (some without any violation)."""
    out = []
    for s in range(24):
        spec = TrainSpec(stops=2 + s % 6, run_min=30.0 + 15 * s, ordinary_seats=150, quiet_seats=(40, 20)[: 1 + s % 2],
                         crew=2, load_factor=0.3 + 0.06 * s)
        out.append(tally(simulate_train(spec, Params(), train_streams(s, 0, s))))
    return out


TALLIES = _tallies()


@PROPERTY
@given(order=st.permutations(range(len(TALLIES))), cuts=st.lists(st.integers(1, len(TALLIES) - 1), max_size=6))
def test_a_day_s_tally_is_the_sum_of_its_trains_however_they_are_grouped(order, cuts):
    """Counts add exactly; minutes differ from the one-by-one sum only by the rounding of
    floating-point addition (at most n x machine epsilon x the sum of magnitudes), and so do
    the metrics computed from them."""
    whole = add(TALLIES)
    bounds = [0, *sorted(set(cuts)), len(order)]
    grouped = add(add(TALLIES[i] for i in order[a:z]) for a, z in zip(bounds, bounds[1:]) if z > a)
    assert set(grouped) == set(whole)
    n = len(TALLIES)
    for k, v in whole.items():
        magnitude = sum(abs(t.get(k, 0.0)) for t in TALLIES)
        assert abs(grouped[k] - v) <= 2 * n * sys.float_info.epsilon * magnitude, k
        if all(float(t.get(k, 0.0)).is_integer() for t in TALLIES):
            assert grouped[k] == v, k  # counts: exact
    for name, m in metrics(whole).items():
        g = metrics(grouped)[name]
        assert (math.isnan(m) and math.isnan(g)) or abs(g - m) <= 1e-9 * max(1.0, abs(m)), name
    assert all(v >= 0 for v in whole.values())  # every tally is a count or a time: never negative
