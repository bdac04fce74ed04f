"""Booking against arithmetic and probability: capacity per leg, outcomes, opt-in, overflow."""
from __future__ import annotations

import math

import numpy as np
import pytest

from sim.run.metrics import add, metrics, tally
from sim.model.booking import (OPTIN, OUTCOMES, OVERFLOW, ORDINARY, REFUSED, intentions,
                               serve, serve_reference)
from sim.model.onboard import _Journey, passenger_rates
from sim.model.params import FAMILY, OVERFLOW_POLICIES, Params, TrainSpec
from sim.model.population import draw_requests, expected_requests
from sim.model.train import simulate_train
from sim.rng import stream, train_streams

Z = 4.0


def requests(spec, params, seed):
    return draw_requests(spec, params.population, params.booking, stream(seed, 0, 0, "demand"))


def leg_loads(req, outcome, pools, legs):
    load = np.zeros(legs, dtype=np.int64)
    for r in np.flatnonzero(np.isin(outcome, pools)):
        load[req.origin[r]:req.dest[r]] += req.size[r]
    return load


def mean_acceptance(logit: float, slope: float) -> tuple[float, float]:
    """E[p(z)] and E[z p(z)] for z ~ N(0,1) by Gauss-Hermite quadrature (deterministic)."""
    x, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    p = 1.0 / (1.0 + np.exp(-(logit + slope * x)))
    return float((w * p).sum()), float((w * x * p).sum())


def test_expected_demand_arithmetic():
    """E[requests] x E[party] x E[legs ridden] = load factor x seats x legs."""
    p = Params()
    spec = TrainSpec(stops=9, ordinary_seats=1103, quiet_seats=(90,), load_factor=0.8)
    ts, f = p.booking.terminal_share, p.booking.trip_fraction
    legs = ts * 8 + (1 - ts) * (1 + 7 * f)
    party = sum(s * sum((k + 1) * q for k, q in enumerate(ps))
                for s, ps in zip(p.population.share, p.population.party_size))
    assert expected_requests(spec, p.population, p.booking) * party * legs == pytest.approx(0.8 * 1193 * 8)


@pytest.mark.slow
def test_realised_load_factor_matches_the_scenario_with_room_to_spare():
    """With seats to spare nobody is refused and seat-legs sold / seat-legs = load factor."""
    p = Params()
    spec = TrainSpec(stops=7, ordinary_seats=10_000, quiet_seats=(10_000,), load_factor=0.5)
    sold, offered = [], 0.0
    for s in range(60):
        req = requests(spec, p, s)
        res = serve(req, spec, intentions(req, p.population, p.booking))
        assert not (res.outcome == REFUSED).any()
        sold.append(float(((req.dest - req.origin) * req.size.astype(int)).sum()))
        offered = spec.seats * spec.legs
    lf = np.array(sold) / offered
    assert abs(lf.mean() - 0.5) < Z * lf.std(ddof=1) / math.sqrt(len(lf))


@pytest.mark.slow
def test_uptake_with_unlimited_seats_is_the_share_weighted_acceptance():
    """Opted-in share of requests = sum_g share_g E_z[logistic(a_g + b z)]; opt-ins are quieter."""
    p = Params().replace(booking=dict(family_advice="none"))
    spec = TrainSpec(stops=4, ordinary_seats=100_000, quiet_seats=(100_000,), load_factor=0.02)
    pop = p.population
    accepted = n = 0
    z_sum = 0.0
    for s in range(30):
        req = requests(spec, p, s)
        res = serve(req, spec, intentions(req, pop, p.booking))
        assert res.offered.all()
        accepted += int((res.outcome == OPTIN).sum())
        z_sum += float(req.z[res.outcome == OPTIN].sum())
        n += req.n
    moments = [mean_acceptance(a, pop.optin_trait_slope) for a in pop.optin_logit]
    expected = sum(sh * m[0] for sh, m in zip(pop.share, moments))
    z_expected = sum(sh * m[1] for sh, m in zip(pop.share, moments)) / expected
    assert abs(accepted / n - expected) < Z * math.sqrt(expected * (1 - expected) / n)
    assert z_expected > 0.3  # self-selection: those who accept are quieter
    assert abs(z_sum / accepted - z_expected) < Z / math.sqrt(accepted)  # sd of z among accepters < 1


@pytest.mark.slow
@pytest.mark.parametrize("advice, heed", [("advise", 0.6), ("exclude", 0.0)])
def test_family_advice(advice, heed):
    """Families with an infant opt in with probability (1 - heed) E[p], or never if excluded."""
    p = Params().replace(booking=dict(family_advice=advice, family_heed=heed, overflow="when_sold_out"),
                         population=dict(infant_prob=1.0))
    spec = TrainSpec(stops=3, ordinary_seats=100_000, quiet_seats=(100_000,), load_factor=0.05)
    fam = opt = 0
    for s in range(30):
        req = requests(spec, p, s)
        res = serve(req, spec, intentions(req, p.population, p.booking))
        f = req.segment == FAMILY
        fam += int(f.sum())
        opt += int((res.outcome[f] == OPTIN).sum())
    pbar = mean_acceptance(p.population.optin_logit[FAMILY], p.population.optin_trait_slope)[0]
    expected = 0.0 if advice == "exclude" else (1 - heed) * pbar
    assert abs(opt / fam - expected) <= Z * math.sqrt(expected * (1 - expected) / fam)


@pytest.mark.parametrize("policy", OVERFLOW_POLICIES)
@pytest.mark.parametrize("load", [0.6, 1.0, 1.6])
def test_fast_booking_equals_one_by_one(policy, load):
    """The compiled server decides every request exactly as the plain Python loop does."""
    p = Params().replace(booking=dict(overflow=policy, release_hours=30.0))
    for s in range(8):
        spec = TrainSpec(stops=2 + s, ordinary_seats=200 + 40 * s, quiet_seats=(45,) * (1 + s % 2),
                         load_factor=load)
        req = requests(spec, p, s)
        intent = intentions(req, p.population, p.booking)
        fast, ref = serve(req, spec, intent), serve_reference(req, spec, intent)
        assert np.array_equal(fast.outcome, ref.outcome)
        assert np.array_equal(fast.offered, ref.offered)
        assert np.array_equal(fast.signed, ref.signed)


@pytest.mark.slow
@pytest.mark.parametrize("policy", OVERFLOW_POLICIES)
def test_booking_invariants_over_many_seeds(policy):
    """No leg oversold, one outcome per request, every traveller seated once and riding its trip."""
    p = Params().replace(booking=dict(overflow=policy), switches=dict(control_car=True))
    for s in range(25):
        spec = TrainSpec(stops=2 + s % 9, run_min=60 + 10 * s, ordinary_seats=300, quiet_seats=(60, 30)[: 1 + s % 2],
                         crew=2, load_factor=0.5 + 0.05 * s)
        r = simulate_train(spec, p, train_streams(s, 1, s))
        req, out = r.requests, r.booking.outcome
        assert set(np.unique(out)) <= set(range(len(OUTCOMES)))
        assert sum(r.booking.counts().values()) == req.n
        assert leg_loads(req, out, [OPTIN, OVERFLOW], spec.legs).max(initial=0) <= sum(spec.quiet_seats)
        assert leg_loads(req, out, [ORDINARY], spec.legs).max(initial=0) <= spec.ordinary_seats
        if policy == "never":
            assert not (out == OVERFLOW).any()
        pax, ob = r.passengers, r.onboard
        assert pax.n == int(req.size[(out == OPTIN) | (out == OVERFLOW)].sum())
        assert (ob.boardings == 1).all()
        times = np.asarray(spec.stop_times())
        assert np.array_equal(ob.board_time, times[pax.origin])
        stayed = ~ob.moved
        assert np.array_equal(ob.alight_time[stayed], times[pax.dest[stayed]])
        assert (ob.alight_time[ob.moved] < times[pax.dest[ob.moved]]).all()
        for c, seats in enumerate(spec.quiet_seats):  # no seat holds two travellers at once
            in_car = np.flatnonzero(pax.car == c)
            assert (pax.seat[in_car] < seats).all()
            for seat in np.unique(pax.seat[in_car]):
                who = in_car[pax.seat[in_car] == seat]
                spans = sorted(zip(pax.origin[who], pax.dest[who]))
                assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


def overflow_share(policy: str, load: float, seeds: range) -> np.ndarray:
    """Overflow share of quiet passenger-legs when opt-in demand alone would not fill the car."""
    p = Params().replace(booking=dict(overflow=policy), population=dict(optin_logit=(-2.5,) * 5))
    spec = TrainSpec(stops=6, ordinary_seats=486, quiet_seats=(90,), load_factor=load)
    out = []
    for s in seeds:
        req = requests(spec, p, s)
        res = serve(req, spec, intentions(req, p.population, p.booking))
        legs = (req.dest - req.origin) * req.size.astype(int)
        q = (res.outcome == OPTIN) | (res.outcome == OVERFLOW)
        out.append(legs[res.outcome == OVERFLOW].sum() / max(1, legs[q].sum()))
    return np.array(out)


def test_never_means_no_overflow():
    assert (overflow_share("never", 1.5, range(10)) == 0).all()


@pytest.mark.slow
def test_overflow_share_rises_with_demand_then_levels_off():
    """when_sold_out: as ordinary seats sell out, more demand puts more non-choosers in the
    quiet car; far above capacity the share levels off, because opt-ins booked before the
    ordinary seats ran out scale like 1/demand x demand (docs/model.md) -- it never falls."""
    means = []
    for load in (0.6, 0.75, 0.9, 1.2, 1.8, 2.5):
        x = overflow_share("when_sold_out", load, range(40))
        means.append((x.mean(), x.std(ddof=1) / math.sqrt(len(x))))
    for (m0, s0), (m1, s1) in zip(means[:3], means[1:3]):
        assert m1 - m0 > Z * math.hypot(s0, s1)
    for (m0, s0), (m1, s1) in zip(means[2:], means[3:]):
        assert m1 - m0 > -Z * math.hypot(s0, s1)


@pytest.mark.parametrize("policy, signs", [("with_agreement", True), ("when_sold_out", False)])
def test_overflow_travellers_who_accepted_the_agreement_are_signers(policy, signs):
    """Under with_agreement an overflow traveller accepted the agreement: a signer (rates x
    commitment, the signer's reminder boost) though not opted in (still overflow in
    overflow_share); under when_sold_out an overflow traveller signed nothing (signage)."""
    p = Params().replace(booking=dict(overflow=policy))
    b = p.behaviour
    spec = TrainSpec(stops=6, ordinary_seats=200, quiet_seats=(90,), load_factor=1.6)
    overflow = 0
    for s in range(6):
        r = simulate_train(spec, p, train_streams(s, 0, 0))
        pax = r.passengers
        over = ~pax.optin
        overflow += int(over.sum())
        free = passenger_rates(pax, p, agreement=False)
        factor = np.where(pax.optin, b.commitment, b.commitment if signs else b.signage)
        assert np.array_equal(passenger_rates(pax, p, agreement=True), free * factor[:, None])
        car = _Journey(spec, p, pax, train_streams(s, 0, 0), None).cars[0]
        boost = (1.0, b.peer_optin_boost)
        assert car.peer_q == [min(1.0, b.peer_remind[g] * boost[int(o or signs)])
                              for g, o in zip(pax.segment.tolist(), pax.optin.tolist())]
        assert metrics(tally(r))["overflow_share"] > 0
        assert np.array_equal(pax.signed, pax.optin | (over & signs))
    assert overflow > 100


def test_policy_change_leaves_demand_identical():
    """Common random numbers: the requests do not depend on the booking policy."""
    spec = TrainSpec(load_factor=1.2)
    a = Params().replace(booking=dict(overflow="never"))
    b = Params().replace(booking=dict(overflow="with_agreement", family_advice="exclude"))
    ra, rb = simulate_train(spec, a, train_streams(5, 2, 7)), simulate_train(spec, b, train_streams(5, 2, 7))
    for name in ra.requests.__dataclass_fields__:
        assert np.array_equal(getattr(ra.requests, name), getattr(rb.requests, name))
    assert not np.array_equal(ra.booking.outcome, rb.booking.outcome)


def test_optin_exposure_equals_overall_exposure_when_everyone_opted_in():
    """With overflow never every quiet-car traveller opted in: the two exposures coincide."""
    p = Params().replace(booking=dict(overflow="never"))
    tallies = [tally(simulate_train(TrainSpec(load_factor=1.3), p, train_streams(s, 0, 0))) for s in range(6)]
    m = metrics(add(tallies))
    assert m["disturbed_pax_min_per_pax_h"] > 0
    assert m["optin.disturbed_pax_min_per_pax_h"] == pytest.approx(m["disturbed_pax_min_per_pax_h"], rel=1e-12)


def test_quiet_load_factor_weighs_legs_by_their_running_time():
    """Across trains of different leg counts the quiet load factor is quiet seat-minutes sold
    / offered (seat-km at a common speed), not seat-legs: a leg of a 2-leg train counts for
    as long as it runs, five times a leg of a 10-leg train of the same running time."""
    p = Params()
    sold = offered = 0.0
    tallies = []
    for s, (stops, load) in enumerate([(3, 1.4), (11, 0.5)]):
        spec = TrainSpec(run_min=120.0, stops=stops, ordinary_seats=300, quiet_seats=(90,), load_factor=load)
        r = simulate_train(spec, p, train_streams(s, 0, 0))
        tallies.append(tally(r))
        quiet = (r.booking.outcome == OPTIN) | (r.booking.outcome == OVERFLOW)
        legs = ((r.requests.dest - r.requests.origin) * r.requests.size.astype(int))[quiet].sum()
        sold += legs * spec.run_min / spec.legs
        offered += 90 * spec.run_min
    t = add(tallies)
    assert abs(t["quiet_pax_legs"] / t["quiet_seat_legs"] - sold / offered) > 0.05  # the two differ here
    assert metrics(t)["quiet_load_factor"] == pytest.approx(sold / offered, rel=1e-12)
