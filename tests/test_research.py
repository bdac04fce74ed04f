"""Researchers' outputs: interval coverage, experiments, sensitivity, figures and the report."""
from __future__ import annotations

import base64
import json
import math
import pathlib
import re
import subprocess
import sys

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from sim import experiments as ex
from sim.cli import main
from sim.run.metrics import METRIC_NAMES, summarise
from sim.model.params import KINDS, SEGMENTS
from sim.cli.research import plot, report, sensitivity, sweep
from sim.run.runner import run_replication
from sim.scenario import from_dict, load, with_values

from .test_cli import documented

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"
TINY = ["--set", "network.trains=3", "--workers", "1"]


def invoke(cmd, *args):
    return CliRunner().invoke(cmd, [str(a) for a in args], catch_exceptions=False)


# --- interval coverage on a model with a known mean ------------------------------------------------
RATE_PER_H = 1.0


def poisson_scenario():
    """One 8-car G train with 2 legs; every traveller starts calls at RATE_PER_H per hour, nothing
    else; violations last 1e-6 min (never block a start); every mechanism off. Then, given the
    passenger-minutes, starts are Poisson and E[violations_per_100_pax_h] = 100 x RATE_PER_H."""
    rates = {s: {k: (RATE_PER_H if k == "call" else 0.0) for k in KINDS} for s in SEGMENTS}
    return from_dict({
        "network": {"trains": 1, "type_share": {"G": 1.0, "D": 0.0}, "formation_mix": {"G": {"8": 1.0, "16": 0.0,
                    "17": 0.0, "8+8": 0.0}}, "run_hours_cv": {"G": 0.0}, "stops_per_hour": {"G": 0.0},
                    "load_factor_sd": 0.0},
        "behaviour": {"rate_per_h": rates, "trait_effect": 0.0, "commitment": 1.0, "signage": 1.0,
                      "duration_mean": {k: 1e-6 for k in KINDS}, "duration_cv": {k: 0.0 for k in KINDS}},
        "switches": {k: False for k in ("contagion", "peers", "patrols", "complaints", "other_duties", "warned",
                                         "control_car")},
    }, source="<poisson>")


RUNS, N = 200, 4


@pytest.fixture(scope="module")
def poisson_runs() -> np.ndarray:
    """violations_per_100_pax_h of RUNS seeded runs (seed = run) of N replications each."""
    sc = poisson_scenario()
    return np.array([[run_replication(sc, seed, r).metrics["violations_per_100_pax_h"] for r in range(N)]
                     for seed in range(RUNS)])


def test_student_t_intervals_cover_the_known_mean_about_95_percent_of_the_time(poisson_runs):
    """Over 200 seeded runs of 4 replications, the 95 % intervals contain 100 x rate as a
    Binomial(200, 0.95) count would (two-sided binomial test at the 0.1 % level)."""
    truth = 100.0 * RATE_PER_H
    hits = 0
    for x in poisson_runs:
        s = summarise(x)
        hits += s["ci_low"] <= truth <= s["ci_high"]
    assert stats.binomtest(hits, RUNS, 0.95).pvalue > 1e-3, hits
    values = poisson_runs.ravel()  # and the mean is the known one (a z-test over all replications)
    assert abs(values.mean() - truth) < 4 * values.std(ddof=1) / math.sqrt(len(values))


def test_a_wrong_interval_would_fail_the_coverage_test(poisson_runs):
    """Normal (z) intervals with 4 replications cover too rarely: the test has the power to see it."""
    truth = 100.0 * RATE_PER_H
    half = 1.96 * poisson_runs.std(axis=1, ddof=1) / math.sqrt(N)
    mean = poisson_runs.mean(axis=1)
    hits = int(((mean - half <= truth) & (truth <= mean + half)).sum())
    assert stats.binomtest(hits, RUNS, 0.95).pvalue < 1e-3, hits


# --- designs ----------------------------------------------------------------------------------------
def base(trains: int = 3):
    return load("scenarios/expansion.toml", [f"network.trains={trains}"])


def test_factorial_is_every_combination_last_key_fastest():
    """--vary A=..,.. --vary B=..,.. gives |A| x |B| points in product order."""
    b = base()
    d = ex.factorial([ex.parse_levels(b, "network.load_factor_mean=0.6:1.0:3"),
                      ex.parse_levels(b, "booking.overflow=never,when_sold_out")])
    assert d.points == ((0.6, "never"), (0.6, "when_sold_out"), (0.8, "never"), (0.8, "when_sold_out"),
                        (1.0, "never"), (1.0, "when_sold_out"))


def test_latin_hypercube_is_reproducible_and_stratified():
    """Same seed, same points; each of K equal strata of each range holds exactly one point."""
    b = base()
    fs = [ex.parse_range(b, "behaviour.contagion=0:1"), ex.parse_range(b, "staff.patrol_interval=10:60")]
    a, a2, c = ex.latin_hypercube(fs, 8, 7), ex.latin_hypercube(fs, 8, 7), ex.latin_hypercube(fs, 8, 8)
    assert a.points == a2.points and a.points != c.points
    x = np.asarray(a.points)
    for j, (lo, hi) in enumerate(((0, 1), (10, 60))):
        assert sorted(np.floor((x[:, j] - lo) / (hi - lo) * 8).astype(int)) == list(range(8))


def test_whole_number_keys_are_rounded_in_sampled_designs():
    """An integer key sampled from a range takes whole values (and validates)."""
    b = base()
    d = ex.latin_hypercube([ex.parse_range(b, "staff.patrol_staff=0:3")], 6, 1)
    assert all(isinstance(p[0], int) and 0 <= p[0] <= 3 for p in d.points)
    ex.point_scenarios(b, d)


@pytest.mark.parametrize("item, error", [
    ("network.load_factor_men=0.5,1", "did you mean 'network.load_factor_mean'"),
    ("network.quiet_cars=1,2", "is a table"),
    ("network.load_factor_mean=0.5:1", "KEY=LOW:HIGH:K"),
    ("booking.overflow=never,sometimes", "booking.overflow"),
    ("network.load_factor_mean", "expected KEY="),
])
def test_bad_vary_is_an_input_error(item, error, tmp_path):
    """A bad --vary names the key and the rule, exits 2 and runs nothing."""
    r = invoke(sweep, "expansion", "--vary", item, "-n", 1, "--out", tmp_path / "s", *TINY)
    assert r.exit_code == 2 and error in r.output, r.output
    assert not (tmp_path / "s").exists()


def test_sobol_needs_a_power_of_two(tmp_path):
    r = invoke(sensitivity, "expansion", "--method", "sobol", "--samples", 6, "--param", "behaviour.contagion=0:1",
               "--out", tmp_path / "s", *TINY)
    assert r.exit_code == 2 and "power of 2" in r.output


# --- sweep ------------------------------------------------------------------------------------------
def test_sweep_writes_the_documented_tidy_files(tmp_path):
    """sweep.csv: point x replication rows; sweep_summary.csv: one row per point; both load
    with pandas as they are; each point equals run_replication on the same seed."""
    out = tmp_path / "sw"
    r = invoke(sweep, "expansion", "--vary", "network.load_factor_mean=0.6,1.3", "--vary",
               "booking.overflow=never,when_sold_out", "-n", 2, "--seed", 5, "--out", out, "--no-plots", *TINY)
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out / "sweep.csv")
    keys = ["network.load_factor_mean", "booking.overflow"]
    assert list(df.columns) == ["point", *keys, "replication", *ex.EXPERIMENT_METRICS]
    assert len(df) == 4 * 2 and df["point"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert all(df[m].dtype == float for m in ex.EXPERIMENT_METRICS)
    sm = pd.read_csv(out / "sweep_summary.csv")
    assert list(sm.columns[:4]) == ["point", *keys, "n"] and len(sm) == 4 and (sm["n"] == 2).all()
    for m in ex.EXPERIMENT_METRICS:
        assert {f"{m}.{k}" for k in ("mean", "sd", "ci_low", "ci_high", "n")} <= set(sm.columns)
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    assert not (out / "partial").exists()
    # the same seeds at every point: point 3 is that scenario run on its own
    sc = with_values(base(3), ["network.load_factor_mean=1.3", "booking.overflow=\"when_sold_out\""])
    alone = run_replication(sc, 5, 1).metrics
    row = df[(df["point"] == 3) & (df["replication"] == 1)].iloc[0]
    assert all(row[m] == alone[m] or (math.isnan(row[m]) and math.isnan(alone[m])) for m in METRIC_NAMES)
    # an overflow-free policy leaves opted-in exposure equal to everyone's
    never = df[df["booking.overflow"] == "never"]
    assert np.allclose(never[ex.OPTIN_EXPOSURE], never["disturbed_pax_min_per_pax_h"], rtol=1e-9)
    # a second time it refuses, with --resume it reuses the finished experiment
    again = invoke(sweep, "expansion", "--vary", "network.load_factor_mean=0.6,1.3", "--vary",
                   "booking.overflow=never,when_sold_out", "-n", 2, "--seed", 5, "--out", out, "--no-plots", *TINY)
    assert again.exit_code == 2 and "--resume" in again.output
    before = (out / "sweep.csv").read_bytes()
    again = invoke(sweep, "expansion", "--vary", "network.load_factor_mean=0.6,1.3", "--vary",
                   "booking.overflow=never,when_sold_out", "-n", 2, "--seed", 5, "--out", out, "--no-plots",
                   "--resume", *TINY)
    assert again.exit_code == 0 and (out / "sweep.csv").read_bytes() == before


def test_interrupted_sweep_resumes_to_the_same_numbers(tmp_path, monkeypatch):
    """Ctrl-C after two points leaves them on disk; --resume finishes with identical files."""
    args = ["expansion", "--vary", "network.load_factor_mean=0.6,0.9,1.2", "-n", 2, "--no-plots", *TINY]
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    assert invoke(sweep, *args, "--out", whole).exit_code == 0
    real = ex.ExperimentFolder.write_point

    def dies_after_two(self, point, rows):
        if point == 2:
            raise KeyboardInterrupt
        real(self, point, rows)

    monkeypatch.setattr(ex.ExperimentFolder, "write_point", dies_after_two)
    r = invoke(sweep, *args, "--out", broken)
    assert r.exit_code == 130 and "--resume" in r.output and ex.ExperimentFolder(broken).finished() == [0, 1]
    monkeypatch.setattr(ex.ExperimentFolder, "write_point", real)
    assert invoke(sweep, *args, "--out", broken, "--resume").exit_code == 0
    for name in ("sweep.csv", "sweep_summary.csv"):
        assert (whole / name).read_bytes() == (broken / name).read_bytes()


def test_a_sweep_in_the_simpy_engine_gives_the_files_of_the_default(tmp_path):
    args = ["pilot", "--vary", "behaviour.contagion=0,0.5", "-n", 2, "--no-plots", *TINY]
    a, b = tmp_path / "compiled", tmp_path / "simpy"
    assert invoke(sweep, *args, "--out", a).exit_code == 0
    assert invoke(sweep, *args, "--out", b, "--engine", "simpy").exit_code == 0
    for name in ("sweep.csv", "sweep_summary.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    assert json.loads((b / "manifest.json").read_text())["engine"] == "simpy"


# --- sensitivity -------------------------------------------------------------------------------------
@pytest.mark.parametrize("method, samples, points", [("morris", 2, 2 * 3), ("sobol", 4, 4 * 4)])
def test_sensitivity_writes_indices_with_intervals(method, samples, points, tmp_path):
    """sensitivity.csv holds each index with its interval and noise; sensitivity_noise.csv one
    row per metric; the design's points are in sweep_summary.csv."""
    out = tmp_path / method
    r = invoke(sensitivity, "expansion", "--method", method, "--samples", samples,
               "--param", "network.load_factor_mean=0.6:1.3", "--param", "behaviour.commitment=0.05:0.5",
               "-n", 2, "--out", out, "--no-plots", "--set", "network.trains=2", "--workers", "1")
    assert r.exit_code == 0, r.output
    s = pd.read_csv(out / "sensitivity.csv")
    assert tuple(s.columns) == ex.SENSITIVITY_COLUMNS
    assert set(s["method"]) == {method}
    main = "mu_star" if method == "morris" else "ST"
    v = s[(s["metric"] == "violations_per_100_pax_h") & (s["index"] == main)]
    assert set(v["parameter"]) == {"network.load_factor_mean", "behaviour.commitment"}
    assert (v["ci_low"] <= v["value"]).all() and (v["value"] <= v["ci_high"]).all()
    assert v["noise_se"].notna().all()
    noise = pd.read_csv(out / "sensitivity_noise.csv")
    assert tuple(noise.columns) == ex.NOISE_COLUMNS and set(noise["metric"]) == set(ex.EXPERIMENT_METRICS)
    assert len(pd.read_csv(out / "sweep_summary.csv")) == points
    assert "violations_per_100_pax_h" in r.output


# --- figures and report -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A comparison of two runs, a sweep over demand and a Morris study, all tiny."""
    root = tmp_path_factory.mktemp("research")
    cmp_ = root / "cmp"
    r = CliRunner().invoke(main, ["compare", "expansion", "expansion", "--each", "2:booking.overflow=never", "-n", "2",
                                  "--out", str(cmp_), *TINY], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    oc = root / "oc"
    r = invoke(sweep, "expansion", "--vary", "network.load_factor_mean=0.7,1.3", "-n", 2, "--out", oc,
               "--no-plots", *TINY)
    assert r.exit_code == 0, r.output
    sens = root / "sens"
    r = invoke(sensitivity, "expansion", "--samples", 2, "--param", "behaviour.contagion=0:1", "--param",
               "behaviour.commitment=0.05:0.5", "-n", 2, "--out", sens, "--no-plots", *TINY)
    assert r.exit_code == 0, r.output
    return cmp_, oc, sens


def test_every_figure_command_writes_non_empty_images(folders, tmp_path):
    """plot draws each figure as a PNG and an SVG, for runs, sweeps and sensitivity studies."""
    cmp_, oc, sens = folders
    r = invoke(plot, cmp_, sens, "--out", tmp_path / "figs")
    assert r.exit_code == 0, r.output
    assert invoke(plot, oc).exit_code == 0  # one folder: into its own figures/
    files = [*(tmp_path / "figs").iterdir(), *(oc / "figures").iterdir()]
    names = {p.stem for p in files if p.suffix == ".png"}
    assert {"headline", "ended_by", "violation_mix", "noisy_time_ecdf", "overflow_curve",
            "sweep-network.load_factor_mean", "sens-sensitivity"} <= names, names
    assert sum(n.startswith("timeline-") for n in names) == 2 and any(n.startswith("sens-sweep-") for n in names)
    assert len(files) == 2 * len(names)
    for p in files:
        data = p.read_bytes()
        assert data.startswith(b"\x89PNG") if p.suffix == ".png" else b"<svg" in data[:2000], p
        if p.suffix == ".png":  # something is drawn: over 2 % of the pixels inked (a blank figure has none)
            rgb = matplotlib.image.imread(p)[..., :3]
            assert (rgb.min(axis=-1) < 0.9).mean() > 0.02, p
        else:  # and the same drawing as vector paths
            assert data.count(b"<path") > 20, p


def test_report_embeds_its_images_and_refers_to_nothing_outside(folders, tmp_path):
    """One HTML file: figures as data: URIs, no http(s) src/href, no external script."""
    out = tmp_path / "r.html"
    r = invoke(report, *folders, "--out", out)
    assert r.exit_code == 0, r.output
    text = out.read_text(encoding="utf-8")
    imgs = re.findall(r"<img[^>]*src=['\"]([^'\"]+)['\"]", text)
    assert len(imgs) >= 6 and all(s.startswith("data:image/png;base64,") for s in imgs)
    assert base64.b64decode(imgs[0].split(",", 1)[1]).startswith(b"\x89PNG")
    assert not re.search(r"(src|href)\s*=\s*['\"]?\s*(https?:)?//", text, re.I)
    assert not re.search(r"<script[^>]*\bsrc\s*=", text, re.I) and not re.search(r"<link\b", text, re.I)
    for section in ("The question", "scenarios side by side", "Headline metrics", "assumptions that matter most",
                    "manifest of every run"):
        assert section in text, section
    assert "booking.overflow" in text  # the one key in which the two runs differ
    assert "paired" in text


def test_plot_refuses_a_folder_with_nothing_to_plot(tmp_path):
    r = invoke(plot, tmp_path)
    assert r.exit_code == 2 and "not a finished quietcar" in r.output


def test_importing_plots_does_not_import_pyplot():
    """Headless by construction: figures are bare matplotlib Figures, pyplot is never imported."""
    code = "import sys, sim.present.plots, sim.present.report, sim.cli.research; print('matplotlib.pyplot' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "False"


def test_every_research_column_is_documented():
    """docs/research.md names every fixed column of sweep, summary and sensitivity files."""
    text = (DOCS / "research.md").read_text(encoding="utf-8")
    cols = {"point", "replication", "n", "<metric>.mean", "<metric>.sd", "<metric>.ci_low", "<metric>.ci_high",
            "<metric>.n", *ex.SENSITIVITY_COLUMNS, *ex.NOISE_COLUMNS}
    for col in cols:
        assert f"`{col}`" in text, col


def test_every_research_command_explains_itself():
    for cmd in (sweep, sensitivity, plot, report):
        r = invoke(cmd, "--help")
        assert r.exit_code == 0 and "Examples:" in r.output, cmd.name
        assert documented(cmd, r.output) == [], cmd.name
