"""Calibration: the targets file, the method (parameter recovery), the folder, --posterior runs.

The recovery test is the method's check against a known answer: observations made by the
model itself at parameters drawn from the prior must be recovered, the truth falling inside
the 90 % posterior interval in about 90 % of repeated recoveries (exact for a Bayesian
posterior averaged over its prior, when the likelihood is right)."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from sim.experiments import calibration as cal
from sim.experiments.factors import Factor
from sim.run.calibration_folder import load_posterior
from sim.run.results import ResultsError
from sim.run.targets import TargetError, load_targets, parse_targets
from sim.run.uncertainty import metric_bounds

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "calibration" / "targets.toml"


def _targets(**extra) -> dict:
    t = {"name": "rate", "metric": "violations_per_100_pax_h", "scenario": "expansion", "value": 9.0, "se": 0.5,
         "source": "test"}
    t.update(extra)
    return {"defaults": {"trains": 10, "replications": 2}, "target": [t]}


# --- the targets file ------------------------------------------------------------------------------
def test_each_observation_becomes_a_centre_and_an_sd():
    obs = [t.observation for t in parse_targets({"target": [
        {"metric": "uptake_rate", "scenario": "pilot", "value": 0.3, "se": 0.05, "source": "s"},
        {"metric": "ended_by.peer", "scenario": "pilot", "k": 12, "n": 40, "source": "s", "name": "b"},
        {"metric": "contagion_lift", "scenario": "pilot", "low": 1.0, "high": 2.0, "source": "s"}]}).targets]
    assert obs[0].normal() == (0.3, 0.05)
    z, s = obs[1].normal()
    p = 12.5 / 41
    assert z == 12 / 40 and s == pytest.approx(math.sqrt(p * (1 - p) / 40))
    assert obs[2].normal() == (1.5, 0.25)  # the range read as a 95 % interval


@pytest.mark.parametrize("change, words", [
    ({"metric": "violations_per_100_pax"}, ["target 1 ('rate')", "unknown metric", "did you mean"]),
    ({"set": ["behaviour.comitment=0.1"]}, ["target 1 ('rate')", "behaviour.comitment", "no such scenario key"]),
    ({"set": ["behaviour.commitment=2"]}, ["target 1 ('rate')", "behaviour.commitment", "[0, 1]"]),
    ({"value": -1.0}, ["'value' -1 is outside", ">= 0"]),
    ({"metric": "uptake_rate", "value": 1.2}, ["outside", "[0, 1]"]),
    ({"se": 0.0}, ["'se' must be > 0"]),
    ({"value": None, "se": None, "k": 3, "n": 10}, ["not a share"]),
    ({"value": None, "se": None, "low": 3.0, "high": 2.0}, ["'low' must be below 'high'"]),
    ({"scenario": "nowhere"}, ["no such scenario file"]),
    ({"colour": "red"}, ["unknown key 'colour'"]),
])
def test_bad_targets_are_refused_with_the_file_and_the_entry(change, words, tmp_path):
    data = _targets()
    t = data["target"][0]
    for k, v in change.items():
        if v is None:
            t.pop(k)
        else:
            t[k] = v
    with pytest.raises(TargetError) as e:
        parse_targets(data, "my-targets.toml")
    msg = str(e.value)
    assert msg.startswith("my-targets.toml: "), msg
    for w in words:
        assert w in msg, msg


def test_metric_bounds_know_shares_from_rates():
    assert metric_bounds("violation_mix.call") == (0.0, 1.0)
    assert metric_bounds("noisy_time_share") == (0.0, 1.0)
    assert metric_bounds("violations_per_100_pax_h") == (0.0, math.inf)


def test_the_shipped_targets_load_and_name_their_sources():
    t = load_targets(SHIPPED)
    assert len(t.targets) >= 4
    for target in t.targets:
        assert len(target.source) > 10, target.name


# --- the method: parameter recovery ---------------------------------------------------------------------
FACTORS = (Factor("behaviour.commitment", "float", low=0.04, high=0.4),
           Factor("behaviour.contagion", "float", low=0.0, high=1.0))
METRICS = ("violations_per_100_pax_h", "contagion_lift", "noisy_time_share")
RECOVERIES = 60


def _recovery_targets(trains: int, reps: int, observed: dict[str, tuple[float, float]] | None = None):
    observed = observed or {m: (1.0, 1.0) for m in METRICS}
    return parse_targets({"defaults": {"trains": trains, "replications": reps}, "target": [
        {"name": m, "metric": m, "scenario": "expansion", "value": observed[m][0], "se": observed[m][1],
         "source": "the model itself"} for m in METRICS]})


@pytest.fixture(scope="module")
def recoveries():
    """RECOVERIES recoveries sharing one emulator. The emulator is a property of the model, not
    of the data, so sharing it is sound; its own error is common to all recoveries, so it is
    made small: the design has 4 x the trains of an observation (about a quarter of the
    Monte-Carlo variance), and that variance is counted in every likelihood."""
    seed = 11
    design_targets = _recovery_targets(30, 4)
    d = len(FACTORS)
    x = np.array(cal.latin_hypercube(FACTORS, 40, seed).points, float)
    rows = dict(cal.simulate(design_targets, FACTORS, x, seed, None))
    sim = cal.assemble(design_targets, x, [rows[i] for i in range(len(x))])
    emulators = cal.fit_emulators(design_targets, FACTORS, sim, seed, 1, restarts=2)
    obs_targets = _recovery_targets(2, 16)
    truth_rng = cal.calibration_rng(seed, 100)
    truths = cal.from_unit(FACTORS, truth_rng.random((RECOVERIES, d)))
    settings = cal.Settings(candidates=6000, posterior_size=600)
    out = []
    for k, theta in enumerate(truths):
        got = dict(cal.simulate(obs_targets, FACTORS, theta[None, :], 1000 + k, None))[0]
        vals = cal.point_values(obs_targets, cal.rows_to_groups(got))
        observed = {m: (vals[m][0], math.sqrt(vals[m][1])) for m in METRICS}
        targets = _recovery_targets(2, 16, observed)
        u_post, _ = cal.posterior_sample(targets, FACTORS, emulators, seed + k, settings)
        post = cal.from_unit(FACTORS, u_post)
        out.append((theta, post))
    return out


def _coverage(recoveries, j: int, level: float) -> int:
    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
    return sum(int(np.quantile(post[:, j], lo_q) <= theta[j] <= np.quantile(post[:, j], hi_q))
               for theta, post in recoveries)


def _acceptance(n: int, p: float, alpha: float = 0.001) -> tuple[int, int]:
    """Counts a Binomial(n, p) falls outside with probability below alpha (two-sided), per parameter."""
    return int(stats.binom.ppf(alpha / 2, n, p)), int(stats.binom.isf(alpha / 2, n, p))


@pytest.mark.slow
@pytest.mark.parametrize("j", range(len(FACTORS)), ids=[f.key for f in FACTORS])
def test_the_truth_is_inside_the_90_percent_posterior_interval_about_90_percent_of_the_time(recoveries, j):
    lo, hi = _acceptance(RECOVERIES, 0.90, 0.001 / len(FACTORS))
    hits = _coverage(recoveries, j, 0.90)
    assert lo <= hits <= hi, f"{FACTORS[j].key}: {hits} of {RECOVERIES} inside, expected {lo}..{hi}"


@pytest.mark.slow
def test_a_wrong_interval_would_fail_the_recovery_test(recoveries):
    """The 50 % interval, taken for a 90 % one, falls outside the acceptance region, and the
    posterior is informative (narrower than the prior) where the targets constrain it."""
    lo, hi = _acceptance(RECOVERIES, 0.90, 0.001 / len(FACTORS))
    assert not lo <= _coverage(recoveries, 0, 0.50) <= hi
    widths = [np.subtract(*np.quantile(post[:, 0], [0.95, 0.05])) / (FACTORS[0].high - FACTORS[0].low)
              for _, post in recoveries]
    assert np.median(widths) < 0.5  # commitment is pinned down by the violation rate


# --- the folder and the command ------------------------------------------------------------------------
def _write(tmp_path: Path, data: dict) -> Path:
    lines = [f"[defaults]\ntrains = {data['defaults']['trains']}\nreplications = {data['defaults']['replications']}"]
    for t in data["target"]:
        lines.append("[[target]]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in t.items()))
    p = tmp_path / "targets.toml"
    p.write_text("\n\n".join(lines) + "\n")
    return p


TINY = ["--vary", "behaviour.commitment=0.05:0.4", "--points", "6", "--draws", "50"]


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "sim", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT)


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cal")
    targets = _write(tmp, _targets())
    out = tmp / "cal"
    r = _cli("calibrate", targets, *TINY, "--out", out, "--workers", "1")
    assert r.returncode == 0, r.stderr
    return targets, out, r


def test_show_reads_a_calibration_folder_back_as_calibrate_printed_it(calibrated):
    _, out, r = calibrated
    s = _cli("show", out)
    assert s.returncode == 0 and "Traceback" not in s.stderr, s.stderr
    assert "behaviour.commitment" in s.stdout and "posterior predictive" in s.stdout
    report = r.stdout[r.stdout.index("parameter"):]
    assert s.stdout.strip() == report.strip()


def test_calibrate_writes_the_documented_folder(calibrated):
    _, out, r = calibrated
    for name in ("manifest.json", "targets.toml", "prior.csv", "design.csv", "posterior.csv", "parameters.csv",
                 "predictive.csv", "validation.csv", "diagnostics.json", "calibrated/expansion.toml",
                 "figures/marginals.png", "figures/predictive.png"):
        assert (out / name).is_file(), name
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "complete" and m["kind"] == "calibration"
    assert not (out / "partial").exists()
    post = load_posterior(out)
    assert post.keys == ("behaviour.commitment",) and len(post.draws) == 50
    assert ((0.05 <= post.draws) & (post.draws <= 0.4)).all()
    assert "inside their posterior predictive interval" in r.stdout


def test_calibration_is_reproducible_whatever_the_workers(calibrated, tmp_path):
    targets, out, _ = calibrated
    again = tmp_path / "again"
    r = _cli("calibrate", targets, *TINY, "--out", again, "--workers", "2", "--no-plots")
    assert r.returncode == 0, r.stderr
    for name in ("posterior.csv", "design.csv", "predictive.csv", "parameters.csv", "calibrated/expansion.toml"):
        assert (out / name).read_bytes() == (again / name).read_bytes(), name


def test_an_interrupted_calibration_resumes_to_the_same_numbers(calibrated, tmp_path):
    """Keep only some design points of a finished calibration in partial/, as an interruption
    would, and mark it running: --resume simulates the rest and gives the same posterior."""
    targets, out, _ = calibrated
    part = tmp_path / "part"
    from sim.run.calibration_folder import CalibrationFolder
    data = load_targets(targets)
    ident = cal.identity(data, [Factor("behaviour.commitment", "float", low=0.05, high=0.4)], 2026,
                         cal.Settings(waves=(6, 6), posterior_size=50))
    folder = CalibrationFolder(part)
    folder.prepare(ident, resume=False, force=False)
    folder.write_running({"kind": "calibration", "experiment_digest": ident})
    x = cal.wave1_points([Factor("behaviour.commitment", "float", low=0.05, high=0.4)], 6, 2026)
    for i, rows in cal.simulate(data, [Factor("behaviour.commitment", "float", low=0.05, high=0.4)], x[:3], 2026,
                                None):
        folder.write_point(i, rows)
    folder.release()  # the interrupted writer is gone: its lock with it
    r = _cli("calibrate", targets, *TINY, "--out", part, "--workers", "1", "--no-plots")
    assert r.returncode == 2 and "--resume" in r.stderr
    r = _cli("calibrate", targets, *TINY, "--out", part, "--workers", "1", "--no-plots", "--resume")
    assert r.returncode == 0, r.stderr
    assert json.loads((part / "manifest.json").read_text())["resumed_points"] == 3
    assert (part / "posterior.csv").read_bytes() == (out / "posterior.csv").read_bytes()


@pytest.mark.parametrize("vary, words", [
    ("behaviour.commitment=0.05:1.5", ["behaviour.commitment", "HIGH 1.5", "outside", "[0, 1]"]),
    ("behaviour.comitment=0:1", ["no such scenario key", "did you mean"]),
])
def test_a_prior_outside_the_allowed_range_is_an_input_error(calibrated, vary, words, tmp_path):
    targets, _, _ = calibrated
    r = _cli("calibrate", targets, "--vary", vary, "--out", tmp_path / "x")
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    for w in words:
        assert w in r.stderr, r.stderr
    assert not (tmp_path / "x").exists()


def test_a_bad_targets_file_is_one_line_and_writes_nothing(tmp_path):
    bad = _targets(metric="no_such_metric")
    p = _write(tmp_path, bad)
    r = _cli("calibrate", p, "--vary", "behaviour.commitment=0.05:0.4", "--out", tmp_path / "x")
    assert r.returncode == 2
    assert r.stderr.strip().startswith("quietcar: error: ") and str(p) in r.stderr and "target 1" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


# --- --posterior ------------------------------------------------------------------------------------
def test_run_with_a_posterior_draws_per_replication_and_reports_both_intervals(calibrated, tmp_path):
    _, out, _ = calibrated
    run = tmp_path / "run"
    r = _cli("run", "expansion", "--posterior", out, "-n", "4", "--set", "network.trains=20", "--out", run,
             "--no-plots", "--workers", "1")
    assert r.returncode == 0, r.stderr
    assert "total predictive 95 %" in r.stdout and "dominated by" in r.stdout
    s = json.loads((run / "summary.json").read_text())
    p = s["violations_per_100_pax_h"]["predictive"]
    assert p["low"] <= max(s["violations_per_100_pax_h"]["ci_low"], 0) and p["high"] >= s["violations_per_100_pax_h"]["ci_high"]
    assert p["low"] >= 0
    assert p["dominates"] in ("parameters", "monte_carlo")
    m = json.loads((run / "manifest.json").read_text())
    assert m["posterior"] == str(out) and m["posterior_keys"] == ["behaviour.commitment"]
    from sim.present.report import render
    html = render([run])
    assert "total predictive" in html and "predictive [" in html


def test_each_replication_uses_its_posterior_draw(calibrated):
    """Replication r of a --posterior run is the plain run of the scenario with r's draw set."""
    from sim.run.calibration_folder import posterior_scenario
    from sim.run.runner import run_replication
    from sim.scenario import load, resolve
    _, out, _ = calibrated
    post = load_posterior(out)
    draws = {post.index(7, r) for r in range(20)}
    assert len(draws) > 5  # the replications do not all share one draw
    for r in (0, 3):
        sc = posterior_scenario("classroom", [], post, 7, r)
        plain = load(resolve("classroom"), post.overrides(7, r))
        assert sc.digest() == plain.digest()
        assert run_replication(sc, 7, r).metrics == run_replication(plain, 7, r).metrics


def test_a_comparison_with_a_posterior_gives_both_arms_the_same_draw(calibrated, tmp_path):
    _, out, _ = calibrated
    cmp = tmp_path / "cmp"
    r = _cli("compare", "classroom", "classroom", "--each", "2:booking.overflow=never", "--posterior", out,
             "-n", "3", "--out", cmp, "--no-plots", "--workers", "1")
    assert r.returncode == 0, r.stderr
    assert "predictive 95 %" in r.stdout
    import csv
    import io
    rows = list(csv.DictReader(io.StringIO((cmp / "comparison.csv").read_text())))
    diff = [row for row in rows if row["diff_pred_low"] not in ("", "NaN")]
    assert diff and all(float(row["diff_pred_low"]) <= float(row["diff_ci_low"]) for row in diff)


@pytest.mark.parametrize("damage, words", [
    ("posterior", ["posterior.csv", "damaged", "SHA-256"]),
    ("model", ["model_digest", "another version of the model"]),
    ("unfinished", ["unfinished", "--resume"]),
    ("missing", ["posterior.csv", "missing"]),
])
def test_a_damaged_or_foreign_posterior_is_refused(calibrated, damage, words, tmp_path):
    import shutil
    _, out, _ = calibrated
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    m = json.loads((bad / "manifest.json").read_text())
    if damage == "posterior":
        text = (bad / "posterior.csv").read_text().replace("0.", "0.9", 1)
        (bad / "posterior.csv").write_text(text)
    elif damage == "model":
        m["model_digest"] = "0" * 64
    elif damage == "unfinished":
        m["status"] = "running"
    else:
        (bad / "posterior.csv").unlink()
    (bad / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ResultsError) as e:
        load_posterior(bad)
    for w in words:
        assert w in str(e.value)
    r = _cli("run", "classroom", "--posterior", bad, "-n", "2", "--out", tmp_path / "run")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "run").exists()


def test_a_sweep_with_a_posterior_adds_predictive_columns(calibrated, tmp_path):
    _, out, _ = calibrated
    sw = tmp_path / "sw"
    r = _cli("sweep", "expansion", "--vary", "booking.overflow=never,when_sold_out", "--posterior", out, "-n", "3",
             "--set", "network.trains=10", "--out", sw, "--no-plots", "--workers", "1")
    assert r.returncode == 0, r.stderr
    assert "total predictive 95 %" in r.stdout
    import pandas as pd
    s = pd.read_csv(sw / "sweep_summary.csv")
    m = "violations_per_100_pax_h"
    # the predictive interval holds the Monte-Carlo one, both clipped to what a rate can be (>= 0)
    assert (s[f"{m}.pred_low"] <= s[f"{m}.ci_low"].clip(lower=0) + 1e-12).all()
    assert (s[f"{m}.pred_high"] >= s[f"{m}.ci_high"] - 1e-12).all() and (s[f"{m}.pred_low"] >= 0).all()
    assert set(s[f"{m}.dominates"]) <= {"parameters", "monte_carlo"}
    assert json.loads((sw / "manifest.json").read_text())["posterior"] == str(out)


# --- the split of the spread into noise and parameters ---------------------------------------------
@pytest.mark.slow
def test_the_jackknife_within_a_day_estimates_the_variance_between_days():
    """At fixed parameters the spread between replications is Monte-Carlo noise alone, so the
    mean jackknife variance within a day must match the sample variance between days: their
    ratio lies in the chi-squared interval of the sample variance (29 degrees of freedom; the
    jackknife mean over 30 days is far less noisy), at a 0.1 % false-alarm rate."""
    from sim.run.runner import run_replication
    from sim.scenario import load, resolve
    sc = load(resolve("expansion"), ["network.trains=64"])
    reps = [run_replication(sc, 5, r) for r in range(30)]
    lo, hi = stats.chi2.ppf(0.0005, 29) / 29, stats.chi2.ppf(0.9995, 29) / 29
    for m in ("violations_per_100_pax_h", "noisy_time_share", "uptake_rate"):
        values = np.array([r.metrics[m] for r in reps])
        jack = np.mean([r.mc_var[m] for r in reps])
        ratio = values.var(ddof=1) / jack
        assert lo <= ratio <= hi, f"{m}: between-day variance / jackknife variance = {ratio:.2f}"


def test_a_wrong_noise_estimate_would_fail_the_jackknife_test():
    """The acceptance interval above is narrow enough to catch a jackknife off by its (g - 1)
    factor's usual slips: a variance a third or three times the truth falls outside it."""
    lo, hi = stats.chi2.ppf(0.0005, 29) / 29, stats.chi2.ppf(0.9995, 29) / 29
    assert not lo <= 3.0 <= hi and not lo <= 1 / 3 <= hi


def test_the_predictive_interval_splits_noise_from_parameters():
    """Closed forms: with a jackknife variance equal to the spread the parameters add nothing;
    with none, all of it is theirs; clipping keeps a rate's interval above 0."""
    from sim.run.uncertainty import predictive
    values = [1.0, 2.0, 3.0, 4.0]
    s2 = np.var(values, ddof=1)
    p = predictive(values, [s2] * 4)
    assert p["parameter_sd"] == 0 and p["dominates"] == "monte_carlo"
    half = stats.t.ppf(0.975, 3) * math.sqrt(s2 / 4)
    assert p["low"] == pytest.approx(2.5 - half) and p["high"] == pytest.approx(2.5 + half)
    p = predictive(values, [0.0] * 4, bounds=(0.0, math.inf))
    assert p["parameter_sd"] == pytest.approx(math.sqrt(s2)) and p["dominates"] == "parameters"
    assert p["low"] == 0.0 and p["high"] == pytest.approx(2.5 + stats.t.ppf(0.975, 3) * math.sqrt(s2 * 1.25))


def test_targets_no_parameter_set_can_match_are_said_plainly(tmp_path):
    """A target far outside what the varied parameters can reach: no plausible set; the message
    names the target, its observation and the emulated value, exit status 1."""
    p = _write(tmp_path, _targets(value=500.0, se=1.0))
    r = _cli("calibrate", p, *TINY, "--out", tmp_path / "x", "--workers", "1", "--no-plots")
    assert r.returncode == 1, r.stderr
    assert "no parameter set in the prior box reproduces every target" in r.stderr
    assert "'rate'" in r.stderr and "500 ± 1" in r.stderr


def test_every_calibration_column_is_documented():
    text = (ROOT / "docs" / "outputs.md").read_text()
    for col in {*cal.PRIOR_COLUMNS, *cal.PARAMETER_COLUMNS, *cal.LOO_COLUMNS, "point", "wave", "draw"}:
        assert f"`{col}`" in text, col
    for name in ("manifest.json", "targets.toml", "prior.csv", "design.csv", "posterior.csv", "parameters.csv",
                 "predictive.csv", "validation.csv", "diagnostics.json", "calibrated/NAME.toml", "figures/"):
        assert f"`{name}`" in text, name


def test_a_run_with_a_posterior_gives_the_same_numbers_whatever_the_workers(calibrated, tmp_path):
    _, out, _ = calibrated
    files = []
    for w in (1, 2):
        run = tmp_path / f"w{w}"
        r = _cli("run", "expansion", "--posterior", out, "-n", "3", "--set", "network.trains=12", "--out", run,
                 "--no-plots", "--workers", w)
        assert r.returncode == 0, r.stderr
        files.append(((run / "replications.csv").read_bytes(), (run / "summary.json").read_bytes()))
    assert files[0] == files[1]


def test_plot_redraws_a_calibration_folder_from_its_files(calibrated, tmp_path):
    _, out, _ = calibrated
    r = _cli("plot", out, "--out", tmp_path / "figs")
    assert r.returncode == 0, r.stderr
    for name in ("marginals.png", "predictive.png"):
        assert (tmp_path / "figs" / name).read_bytes() == (out / "figures" / name).read_bytes(), name
