"""No interval is shown beyond what its quantity can take without saying why.

With 2 replications a t interval rests on one degree of freedom (t = 12.7): shares get
intervals below 0 % or above 100 %, rates below 0; with 2 Morris trajectories or 2 Sobol' base
samples, bootstrap intervals of ST/S1 leave 0 to 1 and those of mu* go below 0. The files keep
the estimators' intervals as computed; the console, the report and every figure cut them at the
possible range and say so (a † and a footnote; a line under a figure's title). Each test first
checks that the raw interval does reach past the range, so it cannot pass vacuously."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import matplotlib.collections
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.experiments import INDEX_BOUNDS, cut_index, load_experiment
from sim.present import labels, plots
from sim.present.labels import CUT_MARK, bounds, cut, cut_note, interval

CUT_NOTE = cut_note("en")

SMALL = ["--set", "network.trains=4", "--workers", "1", "--no-plots"]
NUM = r"(-?[\d,]+(?:\.\d+)?)"
INTERVAL = re.compile(rf"\[{NUM}, {NUM}\]")


def invoke(*args):
    r = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


def f(text: str) -> float:
    return float(text.replace(",", ""))


# --- the rule --------------------------------------------------------------------------------------
def test_a_share_interval_is_cut_at_0_and_100_percent_and_marked():
    assert interval("overflow_share", 0.2, -0.051, 0.45) == f"20 % [0, 45]{CUT_MARK}"
    assert interval("overflow_share", 0.9, 0.7, 1.3) == f"90 % [70, 100]{CUT_MARK}"
    assert interval("overflow_share", 0.2, 0.1, 0.3) == "20 % [10, 30]"  # inside: untouched, unmarked


def test_a_rate_interval_is_cut_at_0_only():
    assert interval("contagion_lift", 1.0, -0.5, 2.5) == f"1 [0, 2.5]{CUT_MARK}"
    assert interval("violations_per_100_pax_h", 20, 1, 4000) == "20 [1, 4,000]"


def test_a_difference_of_shares_is_cut_at_plus_minus_100_points_and_a_difference_of_rates_never():
    assert interval("overflow_share", -0.04, -1.2, 0.1, difference=True) == f"-4 pp [-100, 10]{CUT_MARK}"
    assert interval("overflow_share", -0.04, -0.05, -0.03, difference=True) == "-4 pp [-5, -3]"
    assert interval("contagion_lift", -1.0, -9.0, 3.0, difference=True) == "-1 [-9, 3]"


def test_undefined_ends_stay_undefined():
    assert cut("overflow_share", math.nan, math.nan) == (pytest.approx(math.nan, nan_ok=True),) * 2 + (False,)
    assert interval("overflow_share", 0.2, math.nan, math.nan) == "20 %"


def test_every_metric_has_a_lower_bound_of_0():
    from sim.run.metrics import METRIC_NAMES
    from sim.run.uncertainty import metric_bounds
    for m in METRIC_NAMES:  # the console's rule and the predictive intervals' rule agree
        assert bounds(m) == metric_bounds(m), m


def test_sensitivity_indices_are_cut_at_their_range():
    assert cut_index("ST", -9.71, 16.0) == (0.0, 1.0, True)
    assert cut_index("S1", 1.25, 2.8) == (1.0, 1.0, True)  # all of it beyond: both ends at the edge
    assert cut_index("mu_star", -2.0, 5.0) == (0.0, 5.0, True)
    assert cut_index("mu", -2.0, 5.0) == (-2.0, 5.0, False)  # signed: no range
    assert cut_index("ST", 0.2, 0.4) == (0.2, 0.4, False)


# --- a run and a comparison of 2 replications: the console and the report -----------------------------
@pytest.fixture(scope="module")
def two(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cut") / "two"
    invoke("run", "classroom", "-n", 2, "--out", out, *SMALL)
    return out


def table_intervals(text: str) -> list[tuple[str, float, float, bool]]:
    """(line, low, high, marked) of every interval in console lines."""
    out = []
    for line in text.splitlines():
        for mt in INTERVAL.finditer(line):
            marked = line[mt.end():mt.end() + 1] == CUT_MARK
            out.append((line, f(mt.group(1)), f(mt.group(2)), marked))
    return out


def test_the_run_summary_cuts_and_says_why(two):
    summary = json.loads((two / "summary.json").read_text())
    assert any(s["ci_low"] is not None and s["ci_low"] < 0 for s in summary.values())  # the raw t interval crosses 0
    for text in (invoke("show", two, "--all"), invoke("run", "classroom", "-n", 2, "--out", two, *SMALL)):
        rows = table_intervals(text)
        assert rows and any(marked for *_, marked in rows)
        for line, lo, hi, _ in rows:
            assert 0 <= lo <= hi, line
            if " % " in line:
                assert hi <= 100, line
        assert CUT_NOTE in text


def test_a_comparison_of_two_replications_cuts_and_says_why(tmp_path):
    text = invoke("compare", "classroom", "classroom", "--each", "2:booking.overflow=never", "-n", 2,
                  "--out", tmp_path / "c", *SMALL)
    lines = [ln for ln in text.splitlines() if INTERVAL.search(ln)]
    assert any(CUT_MARK in ln for ln in lines) and CUT_NOTE in text
    for line in lines:
        for k, mt in enumerate(INTERVAL.finditer(line)):
            lo, hi = f(mt.group(1)), f(mt.group(2))
            assert lo <= hi, line
            if line[:mt.start()].rstrip().endswith("pp"):  # a difference of shares, in points
                assert -100 <= lo and hi <= 100, line
            elif k == 0:  # a mean's interval: every metric is >= 0
                assert lo >= 0, line


def test_the_report_says_why(two, tmp_path):
    invoke("report", two, "--out", tmp_path / "r.html")
    import html
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert CUT_MARK in page and html.escape(CUT_NOTE) in page


# --- figures ----------------------------------------------------------------------------------------
def drawn_intervals(fig) -> list[tuple[str, np.ndarray]]:
    """(panel title, y values or x values) of every band (fill) and whisker (vlines/hlines) drawn."""
    out = []
    for ax in fig.axes:
        for c in ax.collections:
            if isinstance(c, matplotlib.collections.LineCollection):
                segs = c.get_segments()
                if not segs:
                    continue
                pts = np.concatenate(segs)
                vertical = all(np.isclose(s[0][0], s[-1][0]) for s in segs)
                out.append((ax.get_title(), pts[:, 1] if vertical else pts[:, 0]))
            elif isinstance(c, matplotlib.collections.PolyCollection):
                for p in c.get_paths():
                    out.append((ax.get_title(), p.vertices[:, 1]))
    return out


def title_of(m: str) -> str:
    return labels.label(m)[0]


def test_sweep_bands_of_two_replications_stay_in_range_and_say_why(tmp_path):
    out = tmp_path / "s"
    invoke("sweep", "classroom", "--vary", "behaviour.contagion=0,1", "-n", 2, "--out", out, *SMALL)
    s = pd.read_csv(out / "sweep_summary.csv")
    assert (s.filter(like=".ci_low") < 0).to_numpy().any()  # the raw bands cross 0
    exp = load_experiment(out)
    fig = plots.fig_sweep(exp, "behaviour.contagion")
    drawn = drawn_intervals(fig)
    assert drawn
    by_title = {title_of(m): m for m in s.columns.str.rsplit(".", n=1).str[0]}
    for title, ys in drawn:
        low, high = bounds(by_title[title])
        ys = ys[np.isfinite(ys)]
        assert (ys >= low - 1e-12).all() and (ys <= high + 1e-12).all(), title
    assert labels.word("figure.cut", "en") in fig._suptitle.get_text()


@pytest.mark.parametrize("method", ["morris", "sobol"])
def test_sensitivity_intervals_of_two_samples_stay_in_range_and_say_why(tmp_path, method):
    out = tmp_path / method
    text = invoke("sensitivity", "classroom", "--method", method, "--param", "behaviour.contagion=0:1",
                  "--param", "staff.patrol_interval=15:60", "-n", 2, "--samples", 2, "--out", out, *SMALL)
    df = pd.read_csv(out / "sensitivity.csv")
    main = "mu_star" if method == "morris" else "ST"
    raw = df[df["index"].isin(["mu_star", "ST", "S1"])]
    lows = raw["index"].map(lambda ix: INDEX_BOUNDS[ix][0])
    highs = raw["index"].map(lambda ix: INDEX_BOUNDS[ix][1])
    assert ((raw["ci_low"] < lows) | (raw["ci_high"] > highs)).any()  # the raw bootstrap leaves the range
    # the console
    shown = [(ln, mt) for ln in text.splitlines() for mt in re.finditer(rf"(mu\*|ST|S1) {NUM} \[{NUM}, {NUM}\]", ln)]
    assert shown
    for line, mt in shown:
        ix = {"mu*": "mu_star"}.get(mt.group(1), mt.group(1))
        low, high = INDEX_BOUNDS[ix]
        lo, hi = f(mt.group(3)), f(mt.group(4))
        scale = 100 if ix == "mu_star" and "percentage points" in text else 1
        assert low <= lo <= hi <= high * scale, line
    assert CUT_MARK in text and "cut at the index's possible range" in text
    # the figure
    fig = plots.fig_sensitivity(load_experiment(out))
    drawn = drawn_intervals(fig)
    assert drawn
    for title, xs in drawn:
        xs = xs[np.isfinite(xs)]
        if main == "ST":
            assert (xs >= 0).all() and (xs <= 1).all(), title
        else:
            assert (xs >= 0).all(), title
    assert labels.word("figure.cut_index", "en") in fig._suptitle.get_text()
