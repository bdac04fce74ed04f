"""One table of translated labels: every metric in English and Simplified Chinese, the lesson
page reading its metric, unit, kind and ender words from it (no second copy), every Chinese
character in the bundled font, and figures with Chinese labels that render every glyph."""
from __future__ import annotations

import re
import unicodedata
import warnings

import pytest

from sim.model.onboard import ENDERS
from sim.model.params import KINDS
from sim.present import fonts, labels
from sim.run.metrics import METRICS

CJK = re.compile(r"[\u3400-\u9fff]")
SHARED = ("metric.", "unit.", "kind.", "ender.", "count.")


def test_every_metric_is_labelled_in_both_languages():
    assert [m for m in METRICS if m not in labels.METRIC_LABELS] == [], "add them to sim/present/labels.py"
    assert labels.missing() == []
    for m in METRICS:
        (en, en_unit), (zh, zh_unit) = labels.METRIC_LABELS[m]
        assert en and en_unit and not CJK.search(en + en_unit), m
        assert CJK.search(zh) and CJK.search(zh_unit), m  # Chinese, not English left in place
        assert not re.search(r"[a-z]_[a-z]|\bpax\b", en + en_unit + zh + zh_unit), f"plain words, no code: {m}"
    for key, (en, zh) in labels.WORDS.items():
        assert en.strip() and zh.strip(), key
        assert key.startswith("unit.") or CJK.search(zh), key


def test_a_label_follows_the_language_asked_for_or_chosen_for_the_block():
    assert labels.label("noisy_time_share") == ("Noisy time", "share of running time")
    assert labels.label("noisy_time_share", "zh") == ("有噪声的时间", "占运行时间的比例")
    with labels.speaking("zh"):
        assert labels.label("noisy_time_share")[0] == "有噪声的时间"
        assert labels.unit("mean_violation_min") == "分钟" and labels.unit("noisy_time_share") == "%"
        assert labels.interval("overflow_share", -0.04, -0.05, -0.03, difference=True) == "-4 个百分点 [-5, -3]"
        assert labels.label("noisy_time_share", "en")[0] == "Noisy time"
    assert labels.current() == "en"
    assert labels.is_share("ended_by.peer") and labels.is_share("ended_by.peer.call")
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        labels.label("noisy_time_share", "fr")


def test_kinds_and_enders_are_named_in_words_not_code():
    """Not "ended by self", "of kind call", "Share of violations: media" (the model's code names)."""
    code = re.compile(r"\bby (self|peer|alighting)\b|\bkind\b|: (call|talk|media|child)$")
    names = [m for m in METRICS if m.startswith(("ended_by.", "violation_mix.", "sanctioned.", "warned_mix."))]
    assert len(names) == len(ENDERS) * (1 + len(KINDS)) + 3 * len(KINDS) + 1
    assert [m for m in names if code.search(labels.label(m)[0])] == []
    assert labels.label("ended_by.staff.call")[0] == "Phone calls ended by staff"


def test_the_lesson_takes_the_shared_words_from_the_one_table():
    from sim.lesson import labels as lesson
    own = [k for k in lesson.PAGE if k.startswith(SHARED)]
    assert own == [], "metric, unit, kind and ender words belong in sim/present/labels.py"
    for lang in labels.LANGUAGES:
        page = lesson.table(lang)
        for m in METRICS:
            assert page[f"metric.{m}"] == labels.heading(m, lang)
        for k in KINDS:
            assert page[f"kind.{k}"] == labels.word(f"kind.{k}", lang)
        for w in ENDERS:
            assert page[f"ender.{w}"] == labels.word(f"ender.{w}", lang)
        assert page["unit.points"] == labels.word("unit.points", lang)


def _chinese(text: str) -> set[str]:
    """The characters a CJK font must draw (wide or full-width ones)."""
    return {c for c in text if unicodedata.east_asian_width(c) in ("W", "F")}


def test_every_chinese_character_is_in_the_bundled_font():
    """Adding a label with a new character fails here until `python docs/make_cjk_font.py`
    regenerates the font."""
    from fontTools.ttLib import TTFont
    from sim.lesson import labels as lesson
    with TTFont(fonts.PATH, lazy=True) as font:
        cmap = font.getBestCmap()
        assert font["name"].getDebugName(1) == fonts.FAMILY
    text = labels.zh_text()
    lost = sorted({c for c in text if not c.isspace() and ord(c) not in cmap})
    assert lost == [], f"not in {fonts.PATH.name}: {''.join(lost)} (run python docs/make_cjk_font.py)"
    page = "".join(lesson.table("zh").values())
    lost = sorted(c for c in _chinese(page) if ord(c) not in cmap)
    assert lost == [], f"not in {fonts.PATH.name}: {''.join(lost)} (run python docs/make_cjk_font.py)"
    assert fonts.LICENCE.is_file() and "SIL OPEN FONT LICENSE Version 1.1" in fonts.LICENCE.read_text()


def _zh_figure(family):
    import matplotlib
    from sim.present import plots

    fonts.register()
    with matplotlib.rc_context({**plots.STYLE, "font.family": family}):
        fig = plots.new_figure(3)
        ax = fig.subplots()
        with labels.speaking("zh"):
            title, unit = labels.label("disturbed_pax_min_per_pax_h")
            ax.set_title(title + " 12.3 %")
            ax.set_ylabel(unit)
            ax.set_xlabel(" ".join(labels.label(m)[0] for m in list(METRICS)[:6]))
        return plots.figure_bytes(fig, "png")


def test_a_figure_with_chinese_labels_draws_every_glyph():
    """With the house style (DejaVu Sans, then the bundled font), no glyph is missing; with
    DejaVu Sans alone the same figure would miss them (the check can fail)."""
    from sim.present import plots
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _zh_figure(plots.STYLE["font.family"])[:4] == b"\x89PNG"
    with pytest.warns(UserWarning, match="missing from font"):
        _zh_figure(["DejaVu Sans"])
