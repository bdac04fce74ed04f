"""Tables a researcher can join: every CSV loads with pandas into the documented dtypes, runs
carry their identity, and every ratio metric its denominators, so any grouping can be
recomputed from the rows."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.run.denominators import DENOMINATOR_COLUMNS, DENOMINATORS
from sim.run.metrics import METRIC_NAMES, METRICS
from sim.scenario import BUNDLED

SMALL = ["--set", "network.trains=5", "--workers", "1", "--no-plots"]
IDENTITY = ["scenario", "scenario_digest", "overrides_digest", "seed"]


def text(col) -> bool:
    """A text column (object in pandas 2, str in pandas 3), never numbers read as text."""
    return pd.api.types.is_string_dtype(col) and not pd.api.types.is_numeric_dtype(col)


def invoke(*args):
    r = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    base = tmp_path_factory.mktemp("tables")
    invoke("run", "pilot", "-n", 3, "--out", base / "run", *SMALL)
    invoke("compare", "classroom", "classroom", "--each", "2:booking.overflow=never", "-n", 3, "--out",
           base / "cmp", *SMALL)
    invoke("sweep", "classroom", "--vary", "booking.overflow=never,when_sold_out", "-n", 2, "--out",
           base / "sweep", *SMALL)
    invoke("sensitivity", "classroom", "--param", "behaviour.contagion=0:1", "--param",
           "staff.patrol_interval=15:60", "--samples", 2, "-n", 2, "--out", base / "sens", *SMALL)
    return base


def test_every_metric_has_its_denominators():
    """A new metric needs an entry in sim/run/denominators.py (this test names it)."""
    assert [m for m in METRICS if m not in DENOMINATORS] == []
    assert [m for m in DENOMINATORS if m not in METRICS] == []


def test_run_tables_have_numbers_as_numbers_and_text_as_text(folders):
    for name in ("replications.csv", "trains.csv"):
        df = pd.read_csv(folders / "run" / name)
        assert list(df.columns[:4]) == IDENTITY
        assert all(text(df[c]) for c in ("scenario", "scenario_digest", "overrides_digest")), name
        assert df["seed"].dtype == np.int64 and df["replication"].dtype == np.int64
        assert all(df[m].dtype == np.float64 for m in METRIC_NAMES), name
        assert all(df[c].dtype == np.float64 for c in DENOMINATOR_COLUMNS), name
    trains = pd.read_csv(folders / "run" / "trains.csv")
    assert text(trains["formation"]) and text(trains["type"])
    assert set(trains["formation"]) <= {"8-car", "16-car", "17-car", "8+8-car"}


@pytest.mark.parametrize("name", sorted(p.stem for p in BUNDLED.glob("*.toml")))
def test_formation_is_text_for_every_scenario(tmp_path, name):
    invoke("run", name, "-n", 1, "--out", tmp_path / "r", "--set", "network.trains=3", "--workers", "1",
           "--no-plots")
    assert text(pd.read_csv(tmp_path / "r" / "trains.csv")["formation"])


def test_the_identity_tells_runs_apart(folders):
    a = pd.read_csv(folders / "cmp" / "classroom" / "trains.csv")
    members = [p for p in (folders / "cmp").iterdir() if p.is_dir() and p.name != "classroom"]
    b = pd.read_csv(members[0] / "trains.csv")
    assert a["overrides_digest"].nunique() == 1 and b["overrides_digest"].nunique() == 1
    assert a["overrides_digest"][0] != b["overrides_digest"][0]
    assert a["scenario_digest"][0] != b["scenario_digest"][0] and a["seed"][0] == b["seed"][0]
    both = pd.concat([a, b])
    assert len(both.groupby(["scenario_digest", "replication", "train"])) == len(both)


def test_every_ratio_regroups_exactly_from_the_train_rows(folders):
    """A replication's metric = sum(m_i d_i) / sum(d_i) over its trains: the denominators are right."""
    trains = pd.read_csv(folders / "run" / "trains.csv")
    reps = pd.read_csv(folders / "run" / "replications.csv").set_index("replication")
    checked = 0
    for m, keys in DENOMINATORS.items():
        for r, g in trains.groupby("replication"):
            want = reps.loc[r, m]
            if len(keys) > 1:  # a lift: a ratio of two observed-over-expected rates, from the summed columns
                got = METRICS[m]({k: g[f"tally.{k}"].sum() for k in keys})
            else:
                d = g[f"tally.{keys[0]}"]
                ok = d > 0
                got = (g.loc[ok, m] * d[ok]).sum() / d[ok].sum() if ok.any() else math.nan
                assert reps.loc[r, f"tally.{keys[0]}"] == pytest.approx(d.sum(), rel=1e-12)
            if math.isnan(want):
                assert math.isnan(got), (m, r)
            else:
                assert got == pytest.approx(want, rel=1e-9), (m, r)
                checked += 1
    assert checked > len(DENOMINATORS)


def test_comparison_numbers_are_numbers(folders):
    df = pd.read_csv(folders / "cmp" / "comparison.csv")
    for c in ("mean", "ci_low", "ci_high", "diff_mean", "diff_ci_low", "diff_ci_high", "variance_reduction"):
        assert df[c].dtype == np.float64, c
    assert df["n"].dtype == np.int64 and text(df["metric"]) and text(df["scenario"])
    assert not df["mean"].astype(str).str.contains("np.").any()


def test_experiment_tables_have_numbers_as_numbers(folders):
    for folder in ("sweep", "sens"):
        sweep = pd.read_csv(folders / folder / "sweep.csv")
        assert sweep["point"].dtype == np.int64 and sweep["replication"].dtype == np.int64
        assert all(sweep[m].dtype == np.float64 for m in METRIC_NAMES)
        summary = pd.read_csv(folders / folder / "sweep_summary.csv")
        assert all(summary[f"{m}.mean"].dtype == np.float64 for m in METRIC_NAMES)
    sens = pd.read_csv(folders / "sens" / "sensitivity.csv")
    assert all(sens[c].dtype == np.float64 for c in ("value", "ci_low", "ci_high"))
    noise = pd.read_csv(folders / "sens" / "sensitivity_noise.csv")
    assert text(noise["metric"])
    assert all(noise[c].dtype == np.float64 for c in noise.columns if c not in ("metric", "status"))
