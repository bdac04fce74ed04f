"""What the console prints after a run, a comparison or an experiment: the report's labels,
units and per cent formatting (:mod:`sim.present.labels`), in English or Chinese (``--lang``:
the language chosen with :func:`sim.present.labels.speaking`), in tables no wider than
:data:`WIDTH` columns whatever the names (a Chinese character takes two columns), and a header
that says what ran, overrides included."""
from __future__ import annotations

import math
import re
import shlex
import textwrap
import unicodedata
from collections.abc import Mapping, Sequence

from ..present import labels

#: The widest line the console tables print.
WIDTH = 100


def columns(text: str) -> int:
    """How many console columns ``text`` takes: two for a wide (Chinese) character, one otherwise."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` columns, with '…' where it was cut."""
    if columns(text) <= width:
        return text
    out, used = [], 0
    for c in text:
        used += columns(c)
        if used > max(1, width - 1):
            break
        out.append(c)
    return "".join(out) + "…"


def ljust(text: str, width: int) -> str:
    return text + " " * max(0, width - columns(text))


def rjust(text: str, width: int) -> str:
    return " " * max(0, width - columns(text)) + text


def grid(rows: Sequence[Sequence[str]], right: Sequence[int] = (), width: int = WIDTH) -> list[str]:
    """Rows as aligned columns (two spaces apart); the first column is clipped so that every
    line fits in ``width`` columns."""
    if not rows:
        return []
    n = len(rows[0])
    w = [max(columns(r[i]) for r in rows) for i in range(n)]
    rest = sum(w[1:]) + 2 * (n - 1)
    w0 = min(w[0], max(12, width - rest))
    out = []
    for r in rows:
        cells = [ljust(clip(r[0], w0), w0)]
        cells += [rjust(c, w[i]) if i in right else ljust(c, w[i]) for i, c in enumerate(r) if i > 0]
        out.append(clip("  ".join(cells).rstrip(), width))
    return out


def overrides_line(overrides: Sequence[str], each: Sequence[str] = ()) -> str:
    """'overrides: --set k=v --each 2:k=v' (shell-quoted), or '' when there are none."""
    words = [w for o in overrides for w in ("--set", o)] + [w for e in each for w in ("--each", e)]
    if not words:
        return labels.word("overrides.none")
    pairs = [shlex.join(words[i:i + 2]) for i in range(0, len(words), 2)]
    return _wrap(labels.word("overrides.prefix") + " ".join(pairs))


def warning(text: str) -> str:
    """'warning: ...' wrapped to the console's width; a design warning (one with a ``key``) in
    the reader's language, metrics by their plain names."""
    key, fields = getattr(text, "key", None), dict(getattr(text, "fields", {}))
    if key:
        if "metrics" in fields:
            fields["metrics"] = "、".join(labels.label(m)[0] for m in fields["metrics"]) if labels.current() == "zh" \
                else ", ".join(labels.label(m)[0] for m in fields["metrics"])
        text = labels.word(f"warn.{key}", **fields)
    return _wrap(labels.word("warn.prefix") + text)


def _wrap(text: str, width: int = WIDTH) -> str:
    """Text filled to ``width`` display columns, later lines indented by two: words break at
    spaces, Chinese between any two characters (each takes two columns)."""
    tokens: list[str] = []
    for tok in re.findall(r"\S+\s*", text):
        tokens += re.findall(r"[^\u2e80-\uffef]+|.", tok) if any(columns(c) == 2 for c in tok) else [tok]
    lines, cur = [], ""
    for tok in tokens:
        if cur.strip() and columns(cur + tok.rstrip()) > width:
            lines.append(cur.rstrip())
            cur = "  "
        cur += tok
    lines.append(cur.rstrip())
    return "\n".join(lines)


def description(text: str) -> str:
    """A scenario's description, wrapped to the console's width."""
    return textwrap.fill(" ".join(text.split()), WIDTH)


def summary_table(summary: Mapping[str, Mapping[str, float]], metrics: Sequence[str]) -> str:
    """One line per metric: its plain name and unit, mean, 95 % interval and replications."""
    w = labels.word
    rows = [[w("head.metric"), w("head.unit"), w("head.mean"), w("head.interval"), w("head.n")]]
    for m in metrics:
        s = summary.get(m)
        if not s or s["n"] == 0:
            continue
        title = labels.label(m)[0]
        lo, hi, was_cut = labels.cut(m, s["ci_low"], s["ci_high"])
        ci = (f"[{labels.number(100 * lo if labels.is_share(m) else lo)}, "
              f"{labels.number(100 * hi if labels.is_share(m) else hi)}]{labels.CUT_MARK if was_cut else ''}"
              if s["n"] > 1 and s["ci_low"] == s["ci_low"] else w("note.one_replication"))
        mean = labels.number(100 * s["mean"] if labels.is_share(m) else s["mean"])
        rows.append([title, labels.unit(m), mean, ci, str(s["n"])])
    note = [labels.cut_note()] if any(labels.CUT_MARK in r[3] for r in rows[1:]) else []
    return "\n".join(grid(rows, right=(2, 4)) + [clip(x, WIDTH) for x in note])


def comparison_table(names: Sequence[str], rows: Sequence[Mapping], paired: Sequence[bool],
                     metrics: Sequence[str]) -> str:
    """Each scenario (A, B, ... named above the table) by metric: mean [95 %], and the difference
    from A with its interval; shares in per cent, their differences in percentage points."""
    tags = [chr(ord("A") + i) if i < 26 else f"S{i + 1}" for i in range(len(names))]
    lines = [f"{t} = {clip(nm, WIDTH - 4)}" for t, nm in zip(tags, names)]
    for i in range(1, len(names)):
        how = labels.word("note.paired" if paired[i] else "note.welch")
        lines.append(clip(f"{tags[i]} - A: {how}", WIDTH))
    by = {(r["metric"], str(r["scenario"])): r for r in rows}
    table = [[labels.word("head.metric_unit"), "", labels.word("head.mean_interval"), labels.word("head.difference")]]
    for m in metrics:
        if (m, str(names[0])) not in by:
            continue
        unit = labels.unit(m)
        first = [labels.label(m)[0], "  " + (labels.word("head.differences_pp") if unit == "%" else unit)]
        for i, (tag, nm) in enumerate(zip(tags, names)):
            r = by[(m, str(nm))]
            diff = ""
            if i > 0:
                lo, hi = r["diff_ci_low"], r["diff_ci_high"]
                star = " *" if (lo == lo and (lo > 0 or hi < 0)) else ""
                diff = labels.interval(m, r["diff_mean"], lo, hi, difference=True) + star
            table.append([first[i] if i < 2 else "", tag, labels.interval(m, r["mean"], r["ci_low"], r["ci_high"]),
                          diff])
    lines.append("")
    lines += grid(table)
    lines.append(labels.word("note.excludes_zero"))
    if any(labels.CUT_MARK in c for row in table[1:] for c in row):
        lines.append(clip(labels.cut_note(), WIDTH))
    for tag, r_paired, nm in zip(tags[1:], paired[1:], names[1:]):
        vr = [by[(m, str(nm))]["variance_reduction"] for m in metrics if (m, str(nm)) in by]
        vr = sorted(float(v) for v in vr if v == v)
        if r_paired and vr:
            med = vr[len(vr) // 2] if len(vr) % 2 else (vr[len(vr) // 2 - 1] + vr[len(vr) // 2]) / 2
            lines.append(clip(labels.word("note.pairing_removed", tag=tag, share=f"{100 * med:.0f}"), WIDTH))
    return "\n".join(lines)


def identical_warning(digests: Sequence[str], names: Sequence[str]) -> list[str]:
    """Warnings for scenarios identical to an earlier one (their differences are 0 by construction)."""
    out = []
    for i, d in enumerate(digests):
        for j in range(i):
            if digests[j] == d:
                out.append(warning(labels.word("warn.identical", this=names[i], earlier=names[j])))
                break
    return out


def _bracket(metric: str, low: float, high: float) -> str:
    """'[low, high]' in the metric's unit (shares in per cent or percentage points)."""
    k = 100 if labels.is_share(metric) else 1
    return f"[{labels.number(k * low)}, {labels.number(k * high)}]"


def predictive_table(summary: Mapping[str, Mapping], metrics: Sequence[str]) -> str:
    """With a posterior, per metric: mean, Monte-Carlo interval, total predictive interval and
    which of the two dominates."""
    w = labels.word
    rows = [[w("head.metric_unit"), w("head.mean"), w("head.monte_carlo"), w("head.predictive"),
             w("head.dominated_by")]]
    for m in metrics:
        s = summary.get(m)
        if not s or s["n"] == 0:
            continue
        p = s.get("predictive") or {}
        mc = _bracket(m, s["ci_low"], s["ci_high"]) if s["n"] > 1 else w("note.one_replication")
        tot = _bracket(m, p.get("low", math.nan), p.get("high", math.nan)) if p.get("dominates") else "–"
        dom = w(f"dominates.{p['dominates']}") if p.get("dominates") in ("parameters", "monte_carlo",
                                                                          "undetermined") else "–"
        mean = labels.number(100 * s["mean"] if labels.is_share(m) else s["mean"])
        unit = labels.unit(m)
        rows.append([labels.label(m)[0] + (" (%)" if unit == "%" else ""), mean, mc, tot, dom])
        if unit != "%":
            rows.append(["  " + unit, "", "", "", ""])
    return "\n".join([*grid(rows, right=(1,)), _wrap(w("note.predictive"))])


def posterior_comparison_note(names: Sequence[str], rows: Sequence[Mapping], metrics: Sequence[str]) -> str:
    """With a posterior: each difference's Monte-Carlo interval beside its predictive interval."""
    by = {(r["metric"], str(r["scenario"])): r for r in rows}
    table = [[labels.word("head.metric_unit"), labels.word("head.monte_carlo"),
              labels.word("head.predictive_difference")]]
    for nm in names[1:]:
        table.append([f"{clip(str(nm), 30)} − {clip(str(names[0]), 30)}", "", ""])
        for m in metrics:
            r = by.get((m, str(nm)))
            if not r or r["diff_pred_low"] != r["diff_pred_low"]:
                continue
            unit = labels.word("unit.pp") if labels.is_share(m) else labels.unit(m)
            table.append([f"  {labels.label(m)[0]} ({unit})", _bracket(m, r["diff_ci_low"], r["diff_ci_high"]),
                          _bracket(m, r["diff_pred_low"], r["diff_pred_high"])])
    return "\n".join(["", _wrap(labels.word("note.posterior_differences")), *grid(table)])
