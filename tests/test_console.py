"""A planner's console: the report's labels, units and per cent, tables within 100 columns,
overrides in every header, show for every kind of folder, and a warning for a comparison of
identical scenarios."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.present import labels
from sim.run.metrics import HEADLINE, METRICS

SMALL = ["--set", "network.trains=3", "--workers", "1", "--no-plots"]


def invoke(*args):
    r = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


def widest(text: str) -> int:
    """The widest line, leaving out lines that name a folder (a path is as long as it is)."""
    return max(len(x) for x in text.splitlines() if "/tmp" not in x)


def test_every_metric_has_a_planners_label():
    """A metric added to METRICS needs a label in sim/present/labels.py (this test names it);
    until then it is shown under a name made from its own."""
    assert [m for m in METRICS if m not in labels.LABELS] == []
    assert labels.label("some_new_metric_share") == ("Some new metric share", "share")


def test_numbers_read_like_the_report():
    assert labels.number(0.000031416) == "0.0000314" and labels.number(1234567.8) == "1,234,568"
    assert labels.value("overflow_share", 0.3123) == "31.2 %"
    assert labels.interval("overflow_share", -0.04, -0.05, -0.03, difference=True) == "-4 pp [-5, -3]"
    assert labels.value("violations_per_100_pax_h", 24.81) == "24.8"


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    base = tmp_path_factory.mktemp("console")
    out = {"run": invoke("run", "pilot", "-n", 2, "--out", base / "run", *SMALL)}
    out["compare"] = invoke("compare", "classroom", "classroom", "--each", "2:booking.overflow=never", "--each",
                            "2:description=" + "a very long description " * 8, "-n", 2, "--out", base / "cmp",
                            *SMALL)
    out["sweep"] = invoke("sweep", "classroom", "--vary", "booking.overflow=never,when_sold_out", "--vary",
                          "network.load_factor_mean=0.6:1.4:3", "-n", 2, "--out", base / "sweep", *SMALL)
    out["sens"] = invoke("sensitivity", "classroom", "--param", "behaviour.contagion=0:1", "--param",
                         "staff.patrol_interval=15:60", "--samples", 2, "-n", 2, "--out", base / "sens", *SMALL)
    return base, out


@pytest.mark.parametrize("kind", ["run", "compare", "sweep", "sens"])
def test_every_command_prints_labels_units_and_overrides_within_100_columns(folders, kind):
    base, out = folders
    text = out[kind]
    assert widest(text) <= 100, max(text.splitlines(), key=len)
    assert "overrides: --set network.trains=3" in text
    if kind in ("run", "compare"):
        assert "Overflow (not opted in)" in text and "Noisy time" in text and " %" in text
        assert "overflow_share" not in text and "e-0" not in text
    if kind == "compare":
        assert "--each 2:booking.overflow=never" in text and " pp" in text


@pytest.mark.parametrize("kind, words", [
    ("run", ["pilot: 2 replications", "overrides: --set network.trains=3", "Uptake of the agreement"]),
    ("cmp", ["comparison on seed", "--each 2:booking.overflow=never", "B - A: paired"]),
    ("sweep", ["sweep of classroom", "6 points", "overrides: --set network.trains=3", "overflow share (%)"]),
    ("sens", ["sensitivity of classroom", "overrides: --set network.trains=3"]),
])
def test_show_understands_every_kind_of_folder(folders, kind, words):
    base, _ = folders
    text = invoke("show", base / kind)
    assert all(w in text for w in words), text
    assert widest(text) <= 100
    assert "unfinished" not in text and "no quietcar run" not in text


@pytest.mark.parametrize("kind", ["run", "cmp", "sweep", "sens"])
def test_show_speaks_chinese_within_100_columns(folders, kind, monkeypatch):
    """--lang zh (or QUIETCAR_LANG=zh): the labels, units and headings of the one table, aligned
    by display width (a Chinese character takes two columns)."""
    from sim.cli.console import columns
    base, _ = folders
    text = invoke("show", base / kind, "--lang", "zh")
    lines = [x for x in text.splitlines() if "/tmp" not in x]
    assert max(columns(x) for x in lines) <= 100, max(lines, key=columns)
    title, unit = labels.label("violations_per_100_pax_h", "zh")
    if kind in ("run", "cmp"):
        assert title in text and unit in text and labels.label("noisy_time_share", "zh")[0] in text
        assert "Noisy time" not in text and labels.word("head.metric", "zh") in text
    if kind == "cmp":
        assert labels.word("unit.pp", "zh") in text and labels.word("note.paired", "zh") in text
    if kind in ("sweep", "sens"):
        assert labels.word("short.overflow_share", "zh") in text
    monkeypatch.setenv("QUIETCAR_LANG", "zh")
    assert invoke("show", base / kind) == text
    assert invoke("show", base / kind, "--lang", "en") != text
    monkeypatch.setenv("QUIETCAR_LANG", "fr")
    r = CliRunner().invoke(main, ["show", str(base / kind)])
    assert r.exit_code == 2 and "'fr' is not one of 'en', 'zh'" in r.output and "Traceback" not in r.output


def test_a_chinese_report_names_metrics_in_chinese_and_carries_its_font(folders, tmp_path):
    """Its figures draw every glyph (a missing one is a warning, and warnings are errors here)."""
    base, _ = folders
    invoke("report", base / "cmp", base / "sens", "--lang", "zh", "--out", tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<html lang='zh-Hans'>" in html and labels.word("report.headline", "zh") in html
    assert labels.label("noisy_time_share", "zh")[0] in html and labels.word("report.q.enders", "zh") in html
    assert "@font-face" in html and "Headline metrics" not in html
    invoke("report", base / "cmp", "--out", tmp_path / "en.html")
    assert "@font-face" not in (tmp_path / "en.html").read_text() and labels.current() == "en"


def test_show_of_a_compare_member_says_its_overrides(folders):
    base, _ = folders
    member = next(p for p in (base / "cmp").iterdir() if p.is_dir() and p.name != "classroom")
    text = invoke("show", member)
    assert "--set network.trains=3 --set booking.overflow=never" in text


def test_comparing_two_identical_scenarios_warns(tmp_path):
    r = CliRunner().invoke(main, ["compare", "classroom", "classroom", "-n", "2", "--out", str(tmp_path / "c"),
                                  *SMALL])
    assert r.exit_code == 0 and "warning:" in r.output and "identical" in r.output and "--each" in r.output
    r = CliRunner().invoke(main, ["compare", "classroom", "classroom", "--each", "2:booking.overflow=never", "-n",
                                  "2", "--out", str(tmp_path / "d"), *SMALL])
    assert r.exit_code == 0 and "is identical to" not in r.output


def test_headline_metrics_all_have_labels_and_units():
    for m in HEADLINE:
        title, unit = labels.label(m)
        assert title and title != m and labels.unit(m), m


def test_tiny_designs_are_warned_about_in_the_console_the_manifest_and_the_report(folders, tmp_path):
    import json
    base, out = folders
    assert "warning: only 2 replications" in out["run"] and "warning: only 2 replications" in out["compare"]
    assert "only 2 Morris trajectories" in out["sens"]
    for kind in ("run", "cmp", "sweep", "sens"):
        m = json.loads((base / kind / "manifest.json").read_text())
        assert any("only 2 replications" in w for w in m["warnings"]), kind
    assert "warning: only 2 replications" in invoke("show", base / "run")
    invoke("report", base / "run", base / "sens", "--out", tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    assert "Read with care" in html and "Morris trajectories" in html


def test_noise_share_of_one_or_more_is_warned_about():
    from sim.run.design_checks import noise_warnings
    assert noise_warnings([{"metric": "a", "noise_share": 1.2}, {"metric": "b", "noise_share": 0.1},
                           {"metric": "c", "noise_share": float("nan")}]) == [
        "noise share >= 1 for a: replication noise is as large as the spread between points, so their indices "
        "say nothing; add replications (-n)"]


def test_the_differences_figure_and_the_same_train_in_every_timeline(folders, tmp_path):
    from sim.present.plots import collect, figures
    base, _ = folders
    coll = collect([base / "cmp"])
    figs = dict(figures(coll))
    assert "differences" in figs
    titles = [ax.get_title() for ax in figs["differences"].axes if ax.get_visible()]
    assert "Overflow (not opted in)" in titles
    import re
    timelines = [f for n, f in figs.items() if n.startswith("timeline-")]
    trains = {m.group(0) for f in timelines for t in f.texts if (m := re.search(r"train \d+ of replication \d+",
                                                                             t.get_text()))}
    assert len(timelines) == 2 and len(trains) == 1, trains


def test_runs_of_different_lengths_on_one_seed_are_paired_on_the_replications_both_ran(folders, tmp_path):
    """A 3-replication run beside a comparison's 2-replication run of the same scenario and seed
    (plot and report used to fail: arrays of different lengths differenced pair by pair)."""
    base, _ = folders
    invoke("run", "classroom", "-n", 3, "--out", tmp_path / "three", *SMALL)
    invoke("plot", tmp_path / "three", base / "cmp", "--out", tmp_path / "figs")
    assert (tmp_path / "figs" / "differences.png").stat().st_size > 10_000
    invoke("report", tmp_path / "three", base / "cmp", "--out", tmp_path / "r.html")
    assert "paired" in (tmp_path / "r.html").read_text()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_posterior_tables_speak_the_planners_language(lang):
    """--posterior tables: plain names and units (shares in per cent, differences in points),
    never code names, within 100 display columns, in either language."""
    from sim.cli.console import columns, posterior_comparison_note, predictive_table
    summary = {m: {"mean": 0.25, "ci_low": 0.2, "ci_high": 0.3, "n": 8,
                   "predictive": {"low": 0.1, "high": 0.4, "dominates": "parameters"}} for m in HEADLINE}
    rows = [{"metric": m, "scenario": nm, "diff_ci_low": -0.05, "diff_ci_high": 0.01, "diff_pred_low": -0.2,
             "diff_pred_high": 0.15} for m in HEADLINE for nm in ("base", "never")]
    with labels.speaking(lang):
        text = predictive_table(summary, HEADLINE) + posterior_comparison_note(["base", "never"], rows, HEADLINE)
    assert max(columns(x) for x in text.splitlines()) <= 100
    assert not any(m in text for m in HEADLINE), "a code name in a planner's table"
    share = next(m for m in HEADLINE if labels.is_share(m))
    assert labels.label(share, lang)[0] in text and "[20, 30]" in text and "[10, 40]" in text  # per cent
    assert "[-5, 1]" in text and "[-20, 15]" in text  # differences of shares in percentage points
    assert labels.word("dominates.parameters", lang) in text


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_design_warnings_speak_the_readers_language_with_plain_metric_names(lang):
    """Every design warning the run layer can raise has its words in both languages, and the
    console names metrics by their labels, never by code names."""
    from sim.cli.console import warning
    from sim.run.design_checks import design_warnings, noise_warnings
    every = [*design_warnings(1), *design_warnings(2, "morris", 3), *design_warnings(2, "sobol", 8),
             *noise_warnings([{"metric": "overflow_share", "noise_share": 1.5},
                              {"metric": "contagion_lift", "noise_share": 2.0}])]
    assert {w.key for w in every} == {"replications", "morris", "sobol", "noise"}
    with labels.speaking(lang):
        shown = [warning(w) for w in every]
    for w, text in zip(every, shown):
        assert text.startswith(labels.word("warn.prefix", lang)) and str(w.fields.get("n", "")) in text
        if lang == "en" and w.key != "noise":  # the words of the table say what the manifest keeps
            assert " ".join(text.split()) == "warning: " + w
    noise = shown[-1]
    assert "overflow_share" not in noise and labels.label("overflow_share", lang)[0] in noise
    assert labels.label("contagion_lift", lang)[0] in noise
    if lang == "zh":
        assert not any("replication" in t or "trajector" in t for t in shown)


def _figure_words(fig) -> list[str]:
    """Every text a reader sees in a figure, tick labels left out."""
    texts = [t.get_text() for t in fig.texts]
    if fig._suptitle is not None:
        texts.append(fig._suptitle.get_text())
    for ax in fig.axes:
        texts += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel(), *(t.get_text() for t in ax.texts)]
        if ax.get_legend():
            texts += [t.get_text() for t in ax.get_legend().get_texts()]
    for leg in fig.legends:
        texts += [t.get_text() for t in leg.get_texts()]
    return [t for t in texts if t]


def test_the_timeline_and_the_noisy_time_figures_speak_chinese(folders):
    """--lang zh: no English word left in the timeline and the ECDF (names of scenarios and
    overrides, and the 'h'/'min' of a duration, are not words to translate)."""
    import re
    from sim.present.plots import collect, figures
    base, _ = folders
    with labels.speaking("zh"):
        figs = dict(figures(collect([base / "cmp"])))
    chosen = {n: f for n, f in figs.items() if n.startswith("timeline-") or n == "noisy_time_ecdf"}
    assert len(chosen) == 3, sorted(figs)
    for name, fig in chosen.items():
        for text in _figure_words(fig):
            left = re.sub(r"classroom(\[[^\]（]*\]?)?|\bmin\b", "", text)  # a name, maybe clipped with …
            assert not re.search(r"[A-Za-z]{3,}", left), (name, text)
    with labels.speaking("en"):
        en = dict(figures(collect([base / "cmp"])))
    assert any("seat by seat" in t for t in _figure_words(en[next(iter(n for n in en if n.startswith("timeline-")))]))
