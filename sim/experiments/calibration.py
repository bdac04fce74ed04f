"""Calibration: history matching with Gaussian-process emulators, then importance resampling.

The parameters varied (``--vary KEY=LOW:HIGH``) have a uniform prior over their box. The
simulator is run at the points of a design; one Gaussian process (scikit-learn) per target
learns how the target's metric depends on the parameters; regions where some target cannot be
matched are ruled out; a second design is drawn inside what is left; and the posterior sample
is drawn by importance resampling under the emulated likelihood. Step by step:

1. **Wave 1**: a Latin hypercube of ``waves[0]`` points over the prior box. At every point each
   target's scenario runs the same replications with the same seeds (common random numbers),
   with ``network.trains`` small; a target's value at a point is the mean of its replications,
   its Monte-Carlo variance the replications' variance over their number.
2. **Emulators**: per target a GP (constant x anisotropic RBF + white noise) on the unit cube.
3. **Implausibility** of a parameter set: I_j = |z_j - m_j| / sqrt(s_obs^2 + v_em + v_mc) with
   z_j, s_obs the observation's centre and sd, m_j and v_em the emulator's mean and latent
   variance, v_mc the Monte-Carlo variance of a design point there (a second GP, of the log
   of the replications' variance, since the noise changes with the parameters). With common random numbers the
   simulated values share one draw of noise, so the emulator is smooth but may sit off the
   model's long-run value by about sqrt(v_mc): that variance is counted here and in the
   likelihood. A parameter set is *implausible* if some target has I_j > ``cutoff`` (3).
4. **Wave 2**: ``waves[1]`` points chosen space-filling (greedy maximin) among the plausible
   candidates; the emulators are refitted on both waves.
5. **Posterior**: candidates drawn uniformly in the box around the plausible region are
   weighted by the emulated likelihood prod_j N(z_j; m_j, s_obs^2 + v_em + v_mc) (zero when
   implausible) and resampled (systematic resampling) to ``posterior_size`` draws.
6. **Posterior predictive** of each target: for every draw, the metric ~ N(m_j, v_em + v_mc)
   (the model's value) and the observation ~ that + N(0, s_obs^2).

Every random number (design, candidates, the GP optimiser's restarts, resampling, predictive
draws) comes from ``SeedSequence(seed, spawn_key=(CALIBRATION_KEY, stream, ...))``; nothing
touches global random state, and the numbers do not depend on the workers.
"""
from __future__ import annotations

import hashlib
import json
import math
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..run.runner import pool
from ..run.targets import Targets
from ..scenario import Scenario, ScenarioError, load, with_values
from .designs import latin_hypercube
from .factors import DesignError, Factor, toml_literal
from .sweep import run_points

#: The spawn key of calibration streams (replications use keys below 100,000; designs 2**32 - 2).
CALIBRATION_KEY = 2**32 - 3
DESIGN_STREAM, CANDIDATE_STREAM, GP_STREAM, RESAMPLE_STREAM, PREDICTIVE_STREAM = range(5)


class CalibrationError(RuntimeError):
    """The targets cannot be matched (no plausible parameter set), said with the worst target."""


def calibration_rng(seed: int, stream: int, *sub: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(
        np.random.SeedSequence(int(seed), spawn_key=(CALIBRATION_KEY, stream, *sub))))


@dataclass(frozen=True)
class Settings:
    """How hard to look: design points per wave, candidates, posterior draws, cutoff."""
    waves: tuple[int, ...] = ()  # default: 10 x parameters in each of two waves
    candidates: int = 20_000
    posterior_size: int = 1_000
    cutoff: float = 3.0
    restarts: int = 2  # restarts of the GP hyperparameter optimiser

    def wave_points(self, d: int) -> tuple[int, ...]:
        return self.waves or (max(10, 10 * d), max(10, 10 * d))

    def describe(self, d: int) -> dict[str, Any]:
        return {"waves": list(self.wave_points(d)), "candidates": self.candidates,
                "posterior_size": self.posterior_size, "cutoff": self.cutoff, "restarts": self.restarts}


# --- the prior box --------------------------------------------------------------------------
def check_prior(factors: Sequence[Factor], targets: Targets, option: str = "--vary") -> None:
    """Every prior range must lie inside the key's allowed range in every target's scenario."""
    bases = {t.scenario: t for t in targets.targets}
    for f in factors:
        for name, t in bases.items():
            base = load(t.scenario)
            for end, x in (("LOW", f.low), ("HIGH", f.high)):
                try:
                    with_values(base, [f"{f.key}={toml_literal(f.cast(x))}"])
                except ScenarioError as e:
                    raise DesignError(f"{option} {f.key}={f.low:g}:{f.high:g}: {end} {x:g} is outside the key's "
                                      f"allowed range ({str(e).split(': ', 1)[-1]})") from None


def to_unit(factors: Sequence[Factor], x: np.ndarray) -> np.ndarray:
    lo, hi = np.array([f.low for f in factors]), np.array([f.high for f in factors])
    return (np.asarray(x, float) - lo) / (hi - lo)


def from_unit(factors: Sequence[Factor], u: np.ndarray) -> np.ndarray:
    lo, hi = np.array([f.low for f in factors]), np.array([f.high for f in factors])
    x = lo + np.asarray(u, float) * (hi - lo)
    for j, f in enumerate(factors):
        if f.kind == "int":
            x[:, j] = np.round(x[:, j])
    return x


def values(factors: Sequence[Factor], x: Sequence[float]) -> list[str]:
    """A parameter set as ``KEY=VALUE`` overrides."""
    return [f"{f.key}={toml_literal(f.cast(v))}" for f, v in zip(factors, x)]


# --- simulating design points ----------------------------------------------------------------
@dataclass
class Simulated:
    """Design points (parameter units) and each target's value and Monte-Carlo variance there."""
    x: np.ndarray  # (points, parameters)
    y: dict[str, np.ndarray] = field(default_factory=dict)  # target -> (points,)
    v: dict[str, np.ndarray] = field(default_factory=dict)  # target -> (points,) MC variance of the mean

    def take(self, rows: np.ndarray) -> "Simulated":
        return Simulated(self.x[rows], {k: a[rows] for k, a in self.y.items()}, {k: a[rows] for k, a in self.v.items()})


def point_values(targets: Targets, group_rows: Mapping[int, Sequence[Mapping[str, float]]]) -> dict[str, tuple]:
    """Each target's (mean, MC variance of the mean) from its group's replication metrics."""
    groups = targets.groups()
    out = {}
    for t in targets.targets:
        reps = np.array([r[t.metric] for r in group_rows[groups.index(t.group)]], float)
        reps = reps[np.isfinite(reps)]
        mean = float(reps.mean()) if len(reps) else math.nan
        var = float(reps.var(ddof=1) / len(reps)) if len(reps) > 1 else math.nan
        out[t.name] = (mean, var)
    return out


def group_scenarios(targets: Targets, factors: Sequence[Factor], x: Sequence[float]) -> list[Scenario]:
    """The scenario of every target group at one parameter set."""
    out = []
    for scenario, overrides in targets.groups():
        base = _base(scenario)
        out.append(with_values(base, [*values(factors, x), *overrides]))
    return out


_BASES: dict[str, Scenario] = {}


def _base(path: str) -> Scenario:
    if path not in _BASES:
        _BASES[path] = load(path)
    return _BASES[path]


def simulate(targets: Targets, factors: Sequence[Factor], points: np.ndarray, seed: int, mapper,
             on_trains: Callable[[int], None] | None = None, first: int = 0
             ) -> Iterator[tuple[int, list[dict]]]:
    """Run every target group at every point (common random numbers: replications 0..R-1 of
    ``seed`` everywhere); yield (first + point, rows) in point order, one row per group and
    replication holding the targets' metrics."""
    groups = targets.groups()
    scenarios = [sc for x in points for sc in group_scenarios(targets, factors, x)]
    needed = sorted({t.metric for t in targets.targets})
    g = len(groups)
    pending: dict[int, dict[int, list[dict]]] = {}
    for k, reps in run_points(scenarios, list(range(len(scenarios))), seed, targets.replications, mapper,
                              64, on_trains):
        p, grp = divmod(k, g)
        pending.setdefault(p, {})[grp] = [{m: r[m] for m in needed} for r in reps]
        if len(pending[p]) == g:
            got = pending.pop(p)
            yield first + p, [{"group": j, "replication": r, **row} for j in range(g) for r, row in enumerate(got[j])]


def rows_to_groups(rows: Sequence[Mapping[str, Any]]) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    for r in sorted(rows, key=lambda r: (r["group"], r["replication"])):
        out.setdefault(int(r["group"]), []).append(dict(r))
    return out


# --- emulators -------------------------------------------------------------------------------
class _GP:
    """A scikit-learn Gaussian process (constant x anisotropic RBF + white noise) of standardised
    values over the unit cube; ConvergenceWarnings are kept for the diagnostics, not raised."""

    def __init__(self, u: np.ndarray, y: np.ndarray, random_state: int, restarts: int):
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
        self.mu = float(y.mean())
        self.sd = float(y.std()) or 1.0
        d = u.shape[1]
        kernel = (ConstantKernel(1.0, (1e-3, 1e3)) * RBF(np.full(d, 0.5), (1e-2, 1e2))
                  + WhiteKernel(1e-2, (1e-8, 1.0)))
        self.gp = GaussianProcessRegressor(kernel, normalize_y=False, n_restarts_optimizer=restarts,
                                           random_state=random_state)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            self.gp.fit(u, (y - self.mu) / self.sd)
        self.warnings = sorted({str(w.message).split(".")[0] for w in caught})
        self.noise = float(self.gp.kernel_.k2.noise_level)

    def predict(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and latent variance (the GP's own uncertainty, white noise excluded)."""
        ms, vs = [], []
        for s in range(0, len(u), 5000):
            m, sd = self.gp.predict(u[s:s + 5000], return_std=True)
            ms.append(m)
            vs.append(sd**2)
        m, v = np.concatenate(ms), np.concatenate(vs)
        return self.mu + self.sd * m, np.maximum(v - self.noise, 0.0) * self.sd**2


class Emulator:
    """One target's metric over the unit cube of the parameters: a GP of its value, and a GP of
    the log of its Monte-Carlo variance (which changes with the parameters: more violations,
    more noise). Replication variances are chi-squared with R - 1 degrees of freedom; the log's
    bias, digamma(k/2) - log(k/2), is removed before fitting."""

    def __init__(self, u: np.ndarray, y: np.ndarray, v: np.ndarray, replications: int, random_state: int,
                 restarts: int):
        from scipy.special import digamma
        ok = np.isfinite(y)
        if ok.sum() < 3:
            raise CalibrationError("too few design points where the metric is defined to fit an emulator")
        self.value = _GP(u[ok], y[ok], random_state, restarts)
        okv = ok & np.isfinite(v)
        floor = max(float(np.nanmax(v[okv])) * 1e-9, 1e-300) if okv.any() else 1e-300
        k = replications - 1
        logv = np.log(np.maximum(v[okv], floor)) - (digamma(k / 2) - math.log(k / 2))
        self.noise = _GP(u[okv], logv, random_state + 1, restarts) if okv.sum() >= 3 else None
        self.warnings = self.value.warnings
        self.length_scales = [float(x) for x in np.atleast_1d(self.value.gp.kernel_.k1.k2.length_scale)]

    def predict(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean, latent variance of the emulator, and the Monte-Carlo variance of a design point."""
        m, vem = self.value.predict(u)
        vmc = np.exp(self.noise.predict(u)[0]) if self.noise is not None else np.zeros(len(u))
        return m, vem, vmc

    def describe(self) -> dict[str, Any]:
        return {"length_scales": self.length_scales, "noise_sd": math.sqrt(self.value.noise) * self.value.sd,
                "kernel": str(self.value.gp.kernel_), "warnings": self.warnings}


def fit_emulators(targets: Targets, factors: Sequence[Factor], sim: Simulated, seed: int, wave: int,
                  restarts: int) -> dict[str, Emulator]:
    u = to_unit(factors, sim.x)
    out = {}
    for j, t in enumerate(targets.targets):
        rs = int(calibration_rng(seed, GP_STREAM, wave, j).integers(2**31 - 2))
        out[t.name] = Emulator(u, sim.y[t.name], sim.v[t.name], targets.replications, rs, restarts)
    return out


def mc_variance(sim: Simulated, name: str) -> float:
    """Monte-Carlo variance of one design point's value (its replications' mean), averaged."""
    v = sim.v[name]
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else 0.0


@dataclass
class Emulated:
    """Each target's emulated mean and total variance (observation + emulator + MC) at candidates."""
    mean: dict[str, np.ndarray]
    var: dict[str, np.ndarray]
    impl: dict[str, np.ndarray]

    def max_impl(self) -> np.ndarray:
        return np.max(np.vstack(list(self.impl.values())), axis=0)

    def loglik(self, names: Sequence[str]) -> np.ndarray:
        return sum(-0.5 * (self._z2(n) + np.log(2 * np.pi * self.var[n])) for n in names)

    def _z2(self, n: str) -> np.ndarray:
        return self.impl[n] ** 2


def emulate(targets: Targets, emulators: Mapping[str, Emulator], u: np.ndarray) -> Emulated:
    mean, var, impl = {}, {}, {}
    for t in targets.targets:
        z, s = t.observation.normal()
        m, vem, vmc = emulators[t.name].predict(u)
        total = s**2 + vem + vmc
        mean[t.name], var[t.name], impl[t.name] = m, total, np.abs(z - m) / np.sqrt(total)
    return Emulated(mean, var, impl)


def maximin(candidates: np.ndarray, k: int, existing: np.ndarray) -> np.ndarray:
    """Greedy maximin: pick k rows of ``candidates``, each the farthest from all picked so far
    (and from ``existing``); the indices, in the order picked."""
    if len(candidates) <= k:
        return np.arange(len(candidates))
    d = np.full(len(candidates), np.inf)
    for e in existing:
        d = np.minimum(d, ((candidates - e) ** 2).sum(1))
    picked = []
    if not len(existing):
        picked.append(0)
        d = np.minimum(d, ((candidates - candidates[0]) ** 2).sum(1))
    while len(picked) < k:
        i = int(np.argmax(d))
        picked.append(i)
        d = np.minimum(d, ((candidates - candidates[i]) ** 2).sum(1))
    return np.array(picked)


# --- the calibration ---------------------------------------------------------------------------
@dataclass
class Calibration:
    """What a calibration found; written to a folder by :mod:`sim.run.calibration_folder`."""
    factors: tuple[Factor, ...]
    targets: Targets
    sim: Simulated
    waves: list[int]
    posterior: np.ndarray  # (posterior_size, parameters), parameter units
    predictive: list[dict]  # per target
    diagnostics: dict[str, Any]
    emulators: dict[str, Emulator]
    loo: list[dict] = field(default_factory=list)

    def medians(self) -> list[float]:
        return [float(f.cast(v)) for f, v in zip(self.factors, np.median(self.posterior, axis=0))]


def identity(targets: Targets, factors: Sequence[Factor], seed: int, settings: Settings) -> str:
    """What makes two calibrations the same: targets, prior, seed, settings, the scenarios' values."""
    scen = {p: _base(p).digest() for p, _ in targets.groups()}
    ident = {"targets": targets.digest(), "scenarios": scen, "seed": seed,
             "prior": [{"key": f.key, "type": f.kind, "low": f.low, "high": f.high} for f in factors],
             "settings": settings.describe(len(factors))}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()


def wave1_points(factors: Sequence[Factor], k: int, seed: int) -> np.ndarray:
    d = latin_hypercube(factors, k, seed)
    return np.array(d.points, float)


def run_waves(targets: Targets, factors: Sequence[Factor], seed: int, settings: Settings, mapper,
              done: Mapping[int, Sequence[Mapping[str, Any]]],
              store: Callable[[int, list[dict]], None], on_start: Callable[[int], None] | None = None,
              on_trains: Callable[[int], None] | None = None, on_wave: Callable[[str], None] | None = None
              ) -> tuple[Simulated, list[int], dict[str, Emulator], dict[str, Any]]:
    """Simulate both waves (reusing the points in ``done``, storing new ones with ``store``);
    return the simulated points, the wave sizes, the final emulators and the diagnostics."""
    d = len(factors)
    n1, n2 = settings.wave_points(d)[:2]
    trains_per_point = sum(_base_trains(targets, g) for g in targets.groups()) * targets.replications
    rows = {int(k): list(v) for k, v in done.items()}
    diag: dict[str, Any] = {"waves": []}

    def run(points: np.ndarray, first: int) -> None:
        todo = [i for i in range(len(points)) if first + i not in rows]
        if on_start:
            on_start(len(todo) * trains_per_point)
        for k, r in simulate(targets, factors, points[todo], seed, mapper, on_trains):
            idx = first + todo[k]
            store(idx, r)
            rows[idx] = r

    x1 = wave1_points(factors, n1, seed)
    if on_wave:
        on_wave(f"wave 1: {n1} points over the prior box")
    run(x1, 0)
    sim1 = assemble(targets, x1, [rows[i] for i in range(n1)])
    em1 = fit_emulators(targets, factors, sim1, seed, 1, settings.restarts)
    cand = calibration_rng(seed, CANDIDATE_STREAM, 1).random((settings.candidates, d))
    e1 = emulate(targets, em1, cand)
    plausible = e1.max_impl() <= settings.cutoff
    diag["waves"].append(_wave_diag(1, n1, e1, plausible, targets, settings.cutoff))
    if not plausible.any():
        raise CalibrationError(_no_plausible(targets, e1))
    pick = maximin(cand[plausible], n2, to_unit(factors, x1))
    x2 = from_unit(factors, cand[plausible][pick])
    if on_wave:
        on_wave(f"wave 2: {len(x2)} points in the {100 * plausible.mean():.1f} % of the box not ruled out")
    run(x2, n1)
    x = np.vstack([x1, x2])
    sim = assemble(targets, x, [rows[i] for i in range(n1 + len(x2))])
    em = fit_emulators(targets, factors, sim, seed, 2, settings.restarts)
    return sim, [n1, len(x2)], em, diag


def _base_trains(targets: Targets, group: tuple[str, tuple[str, ...]]) -> int:
    return with_values(_base(group[0]), list(group[1])).network.trains


def assemble(targets: Targets, x: np.ndarray, point_rows: Sequence[Sequence[Mapping[str, Any]]]) -> Simulated:
    sim = Simulated(np.asarray(x, float))
    vals = [point_values(targets, rows_to_groups(r)) for r in point_rows]
    for t in targets.targets:
        sim.y[t.name] = np.array([v[t.name][0] for v in vals])
        sim.v[t.name] = np.array([v[t.name][1] for v in vals])
    return sim


def _wave_diag(wave: int, n: int, e: Emulated, plausible: np.ndarray, targets: Targets,
               cutoff: float) -> dict[str, Any]:
    return {"wave": wave, "points": n, "plausible_share": float(plausible.mean()),
            "ruled_out_by": {t.name: float((e.impl[t.name] > cutoff).mean()) for t in targets.targets}}


def _no_plausible(targets: Targets, e: Emulated) -> str:
    worst = int(np.argmin(e.max_impl()))
    per = sorted(((float(e.impl[t.name][worst]), t) for t in targets.targets), key=lambda p: -p[0])
    i, t = per[0]
    z, _ = t.observation.normal()
    return (f"no parameter set in the prior box reproduces every target: at the best candidate, target "
            f"'{t.name}' ({t.metric} observed {t.observation.describe()}) is emulated at "
            f"{float(e.mean[t.name][worst]):.4g}, implausibility {i:.1f}; widen the prior (--vary), "
            f"question the target, or vary the parameters that move it")


def posterior_sample(targets: Targets, factors: Sequence[Factor], emulators: Mapping[str, Emulator],
                     seed: int, settings: Settings, names: Sequence[str] | None = None
                     ) -> tuple[np.ndarray, dict[str, Any]]:
    """Importance resampling under the emulated likelihood of the targets ``names`` (all by
    default): candidates uniform in a box around the plausible region, refined up to three times
    while the effective sample size is small. Returns draws in unit coordinates and diagnostics."""
    names = list(names or [t.name for t in targets.targets])
    sub = targets.only(names)
    d = len(factors)
    lo, hi = np.zeros(d), np.ones(d)
    diag: dict[str, Any] = {}
    for step in range(4):
        rng = calibration_rng(seed, CANDIDATE_STREAM, 2, step)
        u = lo + rng.random((settings.candidates, d)) * (hi - lo)
        e = emulate(sub, emulators, u)
        ll = e.loglik(names)
        ll[e.max_impl() > settings.cutoff] = -np.inf
        if not np.isfinite(ll).any():
            raise CalibrationError(_no_plausible(sub, e))
        w = np.exp(ll - ll.max())
        w /= w.sum()
        ess = float(1.0 / (w**2).sum())
        diag = {"candidates": settings.candidates, "refinements": step, "effective_sample_size": ess,
                "box_low": lo.tolist(), "box_high": hi.tolist(), "plausible_share": float(np.isfinite(ll).mean())}
        if ess >= min(settings.posterior_size, settings.candidates / 20) or step == 3:
            break
        keep = u[w > w.max() * 1e-4]
        span = np.maximum(keep.max(0) - keep.min(0), 0.02)
        new_lo, new_hi = np.maximum(keep.min(0) - 0.1 * span, 0.0), np.minimum(keep.max(0) + 0.1 * span, 1.0)
        if np.allclose(new_lo, lo) and np.allclose(new_hi, hi):
            break
        lo, hi = new_lo, new_hi
    k = settings.posterior_size
    start = calibration_rng(seed, RESAMPLE_STREAM).random()
    idx = np.searchsorted(np.cumsum(w), (start + np.arange(k)) / k)
    idx = np.minimum(idx, len(w) - 1)
    diag["distinct_draws"] = int(len(np.unique(idx)))
    return u[idx], diag


def predictive(targets: Targets, emulators: Mapping[str, Emulator], u_post: np.ndarray, seed: int,
               level: float = 0.90) -> list[dict]:
    """Each target's posterior predictive: the model's value and the observation, with the
    central ``level`` interval, and whether the observation's centre lies inside."""
    rng = calibration_rng(seed, PREDICTIVE_STREAM)
    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
    out = []
    for t in targets.targets:
        z, s = t.observation.normal()
        m, vem, vmc = emulators[t.name].predict(u_post)
        model = m + np.sqrt(vem + vmc) * rng.standard_normal(len(m))
        obs = model + s * rng.standard_normal(len(m))
        q = np.quantile(model, [lo_q, 0.5, hi_q])
        qo = np.quantile(obs, [lo_q, hi_q])
        out.append({"target": t.name, "metric": t.metric, "observed": z, "observed_sd": s,
                    "observation": t.observation.describe(), "model_median": float(q[1]),
                    "model_low": float(q[0]), "model_high": float(q[2]),
                    "predictive_low": float(qo[0]), "predictive_high": float(qo[1]),
                    "inside": bool(qo[0] <= z <= qo[1]), "mc_sd": float(np.sqrt(np.median(vmc)))})
    return out


def calibrate(targets: Targets, factors: Sequence[Factor], seed: int, settings: Settings, mapper,
              done: Mapping[int, Sequence[Mapping[str, Any]]], store: Callable[[int, list[dict]], None],
              on_start: Callable[[int], None] | None = None, on_trains: Callable[[int], None] | None = None,
              on_wave: Callable[[str], None] | None = None) -> Calibration:
    """The whole calibration (see the module's docstring)."""
    factors = tuple(factors)
    sim, waves, em, diag = run_waves(targets, factors, seed, settings, mapper, done, store, on_start, on_trains,
                                     on_wave)
    u_post, pdiag = posterior_sample(targets, factors, em, seed, settings)
    post = from_unit(factors, u_post)
    pred = predictive(targets, em, u_post, seed)
    diag.update(posterior=pdiag, emulators={n: e.describe() for n, e in em.items()},
                mc_sd={t.name: math.sqrt(mc_variance(sim, t.name)) for t in targets.targets},
                constrained=constrained(factors, post))
    loo = leave_one_out(targets, factors, em, seed, settings) if len(targets.targets) > 1 else []
    result = Calibration(factors, targets, sim, waves, post, pred, diag, em, loo)
    diag["informed_by"] = informed_by(result)
    return result


def leave_one_out(targets: Targets, factors: Sequence[Factor], emulators: Mapping[str, Emulator], seed: int,
                  settings: Settings) -> list[dict]:
    """For each target: the posterior from the other targets alone, and whether the held-out
    observation lies inside its posterior predictive interval (90 %). The emulators are those of
    the full calibration (a property of the model, not of the observations); the held-out
    observation enters neither the likelihood nor the implausibility. Only the placement of the
    second wave saw it."""
    out = []
    for k, t in enumerate(targets.targets):
        others = [o.name for o in targets.targets if o.name != t.name]
        try:
            u_post, diag = posterior_sample(targets, factors, emulators, seed, settings, others)
        except CalibrationError as e:
            out.append({"target": t.name, "metric": t.metric, "observation": t.observation.describe(),
                        "status": f"the other targets alone cannot be matched: {e}"})
            continue
        row = predictive(targets.only([t.name]), emulators, u_post, seed)[0]
        widths = {k: v["width_share"] for k, v in constrained(factors, from_unit(factors, u_post)).items()}
        out.append({**row, "status": "ok", "effective_sample_size": diag["effective_sample_size"],
                    "width_share": widths})
    return out


def informed_by(cal: "Calibration", threshold: float = 1.25) -> dict[str, list[str]]:
    """Per parameter, the targets that constrain it: those without which its 90 % posterior
    interval is at least ``threshold`` times wider (from the leave-one-out posteriors)."""
    full = {k: v["width_share"] for k, v in cal.diagnostics["constrained"].items()}
    out: dict[str, list[str]] = {k: [] for k in full}
    for row in cal.loo:
        for k, w in (row.get("width_share") or {}).items():
            if w >= threshold * full[k]:
                out[k].append(row["target"])
    return out


def constrained(factors: Sequence[Factor], post: np.ndarray, threshold: float = 0.75) -> dict[str, dict]:
    """Per parameter: the 90 % posterior interval as a share of the prior width, and whether the
    targets constrain it: the interval covers less than ``threshold`` of the prior's width, at
    most 5/6 of the 90 % a flat posterior would cover."""
    out = {}
    for j, f in enumerate(factors):
        lo, hi = np.quantile(post[:, j], [0.05, 0.95])
        share = float((hi - lo) / (f.high - f.low))
        out[f.key] = {"median": float(np.median(post[:, j])), "low90": float(lo), "high90": float(hi),
                      "prior_low": f.low, "prior_high": f.high, "width_share": share,
                      "constrained": share < threshold}
    return out


def run_calibration(targets: Targets, factors: Sequence[Factor], seed: int, settings: Settings, workers: int,
                    scheduler: str | None, done: Mapping[int, Sequence[Mapping[str, Any]]],
                    store: Callable[[int, list[dict]], None], **callbacks) -> Calibration:
    """:func:`calibrate` on the project's pool (local processes, or a Dask cluster)."""
    with pool(workers, scheduler) as mapper:
        return calibrate(targets, factors, seed, settings, mapper, done, store, **callbacks)


# --- the folder's files ----------------------------------------------------------------------------
def prior_rows(factors: Sequence[Factor]) -> list[dict]:
    from .factors import key_info
    return [{"key": f.key, "type": f.kind, "low": f.low, "high": f.high, "unit": key_info(f.key).get("unit", ""),
             "source": key_info(f.key).get("source", "")} for f in factors]


PRIOR_COLUMNS = ("key", "type", "low", "high", "unit", "source")
PARAMETER_COLUMNS = ("key", "median", "low90", "high90", "prior_low", "prior_high", "width_share", "constrained",
                     "informed_by")
PREDICTIVE_COLUMNS = ("target", "metric", "observation", "observed", "observed_sd", "model_median", "model_low",
                      "model_high", "predictive_low", "predictive_high", "inside", "mc_sd")
LOO_COLUMNS = (*PREDICTIVE_COLUMNS, "status")


def design_rows(cal: Calibration) -> tuple[tuple[str, ...], list[dict]]:
    cols = ("point", "wave", *(f.key for f in cal.factors),
            *(c for t in cal.targets.targets for c in (t.name, f"{t.name}.mc_sd")))
    rows = []
    for i, x in enumerate(cal.sim.x):
        row: dict[str, Any] = {"point": i, "wave": 1 if i < cal.waves[0] else 2}
        row.update({f.key: f.cast(v) for f, v in zip(cal.factors, x)})
        for t in cal.targets.targets:
            row[t.name] = float(cal.sim.y[t.name][i])
            v = float(cal.sim.v[t.name][i])
            row[f"{t.name}.mc_sd"] = math.sqrt(v) if v == v else math.nan
        rows.append(row)
    return cols, rows


def posterior_rows(cal: Calibration) -> list[dict]:
    return [{"draw": i, **{f.key: f.cast(v) for f, v in zip(cal.factors, row)}} for i, row in enumerate(cal.posterior)]


def calibrated_scenarios(cal: Calibration) -> dict[str, str]:
    """Each target scenario file, resolved, with the posterior medians (name -> TOML)."""
    out = {}
    for path in dict.fromkeys(t.scenario for t in cal.targets.targets):
        base = _base(path)
        sc = with_values(base, values(cal.factors, cal.medians()))
        stem = path.rsplit("/", 1)[-1].removesuffix(".toml")
        head = (f"# {stem}, calibrated: posterior medians of {', '.join(f.key for f in cal.factors)}\n"
                f"# on the targets {', '.join(t.name for t in cal.targets.targets)}.\n")
        out[stem] = head + sc.to_toml()
    return out
