"""Scale without changing the numbers: workers, Dask, memory, and the fast core against a
straightforward reference implementation."""
from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from scipy import stats

from sim.run.metrics import metrics, tally
from sim.model import onboard
from sim.model.onboard_loop import run_journey
from sim.model.train import TrainResult, book_train
from sim.run.results import RunFolder, run_into
from sim.run.runner import network_day
from sim.rng import train_streams
from sim.scenario import load

from .test_cli import files

SCENARIO = "scenarios/expansion.toml"


def small(trains: int, *extra: str):
    return load(SCENARIO, [f"network.trains={trains}", *extra])


@pytest.mark.slow
def test_one_worker_two_workers_and_dask_give_identical_files(tmp_path, monkeypatch):
    distributed = pytest.importorskip("dask.distributed")
    clusters = []

    class Recorded(distributed.LocalCluster):
        """The cluster the run starts, its scheduler's services recorded before it closes."""

        def close(self, *a, **kw):
            web = self.scheduler.services.get("dashboard")
            clusters.append([sock.getsockname() for sock in web._sockets.values()] if web else [])
            return super().close(*a, **kw)
    monkeypatch.setattr(distributed, "LocalCluster", Recorded)
    sc = small(240)
    out = {}
    for name, workers, scheduler in (("one", 1, None), ("two", 2, None), ("dask", 2, "local")):
        run_into(RunFolder(tmp_path / name), sc, 5, 2, workers, resume=False, force=False, scheduler=scheduler)
        out[name] = files(tmp_path / name)
    assert out["one"] == out["two"] == out["dask"]
    # runs in parallel (other tests, other users) never compete for Dask's default port 8787, and
    # the scheduler's web server listens on this machine only
    assert len(clusters) == 1 and all(host == "127.0.0.1" and port != 8787 for host, port in clusters[0]), clusters


def peak_memory(tmp_path, trains: int, n: int) -> int:
    sc = small(trains)
    tracemalloc.start()
    run_into(RunFolder(tmp_path / f"t{trains}-n{n}"), sc, 1, n, 1, resume=False, force=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_memory_per_replication_is_small_and_independent_of_trains(tmp_path):
    """What a run keeps per replication is its row of metrics (tens of numbers, under
    100 KB with its dicts), whatever the number of trains: train rows are streamed to disk."""
    peak_memory(tmp_path, 3, 1)  # imports and caches out of the way
    per_rep = []
    for trains in (4, 16):
        a, b = peak_memory(tmp_path, trains, 2), peak_memory(tmp_path, trains, 5)
        per_rep.append((b - a) / 3)
    assert per_rep[0] < 100_000 and per_rep[1] < 100_000, per_rep
    assert per_rep[1] < per_rep[0] + 20_000, per_rep


# --- a straightforward reference of the on-board core -----------------------------------------
class ReferenceCar(onboard._Car):
    """The plain reading of the model: one SimPy process per traveller waiting exponential
    times at its bound rate (thinned at each wake-up), and one uniform per neighbour for
    each reminder and complaint decision. Everything else is the production car's."""

    def process(self):
        env, stops = self.sim.env, self.sim.stop_times
        for i in range(len(self.members)):
            env.process(self.traveller(i))
        for k, t in enumerate(stops):
            if t > env.now:
                yield env.timeout(t - env.now)
            self._stop(k)
        self._advance()

    def traveller(self, i):
        env, s, rng = self.sim.env, self.sim, self.rng
        bound = s.m_max * self.weight[i]
        if bound <= 0:
            return
        warned = s.params.behaviour.warned_factor if s.switches.warned else 1.0
        if self.t_on[i] > env.now:
            yield env.timeout(self.t_on[i] - env.now)
        while True:
            yield env.timeout(rng.exponential(1.0 / bound))
            if env.now >= self.planned_off[i] or self.moved[i]:
                return
            if self.noisy[i] is not None:
                continue
            m = self.multiplier() * (warned if self.warned[i] else 1.0)
            if rng.random() * s.m_max < m:
                kind = int(np.searchsorted(self.kind_cum[i], rng.random(), side="right"))
                kind = min(kind, 3)
                d = float(np.exp(s.dur_mu[kind] + s.dur_sigma[kind] * rng.standard_normal()))
                self.start(i, kind, d)

    def next_start_possible(self) -> float:
        return self.sim.env.now  # a traveller's process may start a violation at any time

    def _some(self, people, p_max, p=None):
        draws = self.rng.random(len(people))
        return [j for j, u in zip(people, draws) if u < (p_max if p is None else p[j])]


def train_metrics(sc, spec, seed, reference: bool):
    rngs = train_streams(seed, 0, spec.train_id)
    req, booked, pax = book_train(spec, sc.params, rngs)
    if reference:
        cls, onboard._Car = onboard._Car, ReferenceCar
        try:
            ob = onboard.run_onboard(spec, sc.params, pax, rngs)
        finally:
            onboard._Car = cls
    else:
        ob = run_journey(spec, sc.params, pax, rngs)
    return metrics(tally(TrainResult(spec, sc.params, req, booked, pax, ob)))


@pytest.mark.slow
def test_fast_core_matches_the_reference_on_2000_trains():
    """Means within their confidence intervals (4 se) and per-train distributions by a KS test."""
    sc = small(2000, "network.run_hours_mean.G=1.0", "network.run_hours_mean.D=0.8",
               "network.formation_mix.G.8=0.7", "network.formation_mix.G.16=0.1")
    specs = network_day(sc, 3, 0)
    checked = ("violations_per_100_pax_h", "noisy_time_share", "disturbed_pax_min_per_pax_h",
               "ended_by.peer", "ended_by.staff", "complaints_per_1000_pax", "mean_violation_min")
    fast = [train_metrics(sc, s, 3, False) for s in specs]
    ref = [train_metrics(sc, s, 3, True) for s in specs]
    for m in checked:
        a = np.array([x[m] for x in fast if x[m] == x[m]])
        b = np.array([x[m] for x in ref if x[m] == x[m]])
        se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
        assert abs(a.mean() - b.mean()) < 4 * se, (m, a.mean(), b.mean(), se)
        assert stats.ks_2samp(a, b).pvalue > 1e-4, m
