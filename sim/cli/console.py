"""What the console prints after a run, a comparison or an experiment: the report's labels,
units and per cent formatting (:mod:`sim.present.labels`), in tables no wider than
:data:`WIDTH` columns whatever the names, and a header that says what ran, overrides included."""
from __future__ import annotations

import shlex
import textwrap
from collections.abc import Mapping, Sequence

from ..present import labels

#: The widest line the console tables print.
WIDTH = 100


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(1, width - 1)] + "…"


def grid(rows: Sequence[Sequence[str]], right: Sequence[int] = (), width: int = WIDTH) -> list[str]:
    """Rows as aligned columns (two spaces apart); the first column is clipped so that every
    line fits in ``width``."""
    if not rows:
        return []
    n = len(rows[0])
    w = [max(len(r[i]) for r in rows) for i in range(n)]
    rest = sum(w[1:]) + 2 * (n - 1)
    w0 = min(w[0], max(12, width - rest))
    out = []
    for r in rows:
        cells = [clip(r[0], w0).ljust(w0)]
        cells += [c.rjust(w[i]) if i in right else c.ljust(w[i]) for i, c in enumerate(r) if i > 0]
        out.append(clip("  ".join(cells).rstrip(), width))
    return out


def overrides_line(overrides: Sequence[str], each: Sequence[str] = ()) -> str:
    """'overrides: --set k=v --each 2:k=v' (shell-quoted), or '' when there are none."""
    words = [w for o in overrides for w in ("--set", o)] + [w for e in each for w in ("--each", e)]
    if not words:
        return "overrides: none (the scenario file as it is)"
    pairs = [shlex.join(words[i:i + 2]) for i in range(0, len(words), 2)]
    return _wrap("overrides: " + " ".join(pairs))


def warning(text: str) -> str:
    """'warning: ...' wrapped to the console's width."""
    return _wrap(f"warning: {text}")


def _wrap(text: str) -> str:
    return textwrap.fill(text, WIDTH, subsequent_indent="  ", break_long_words=True, break_on_hyphens=False)


def description(text: str) -> str:
    """A scenario's description, wrapped to the console's width."""
    return textwrap.fill(" ".join(text.split()), WIDTH)


def summary_table(summary: Mapping[str, Mapping[str, float]], metrics: Sequence[str]) -> str:
    """One line per metric: its plain name and unit, mean, 95 % interval and replications."""
    rows = [["metric", "unit", "mean", "95 % interval", "n"]]
    for m in metrics:
        s = summary.get(m)
        if not s or s["n"] == 0:
            continue
        title = labels.label(m)[0]
        lo, hi, was_cut = labels.cut(m, s["ci_low"], s["ci_high"])
        ci = (f"[{labels.number(100 * lo if labels.is_share(m) else lo)}, "
              f"{labels.number(100 * hi if labels.is_share(m) else hi)}]{labels.CUT_MARK if was_cut else ''}"
              if s["n"] > 1 and s["ci_low"] == s["ci_low"] else "(one replication)")
        mean = labels.number(100 * s["mean"] if labels.is_share(m) else s["mean"])
        rows.append([title, labels.unit(m), mean, ci, str(s["n"])])
    note = [labels.CUT_NOTE] if any(labels.CUT_MARK in r[3] for r in rows[1:]) else []
    return "\n".join(grid(rows, right=(2, 4)) + [clip(x, WIDTH) for x in note])


def comparison_table(names: Sequence[str], rows: Sequence[Mapping], paired: Sequence[bool],
                     metrics: Sequence[str]) -> str:
    """Each scenario (A, B, ... named above the table) by metric: mean [95 %], and the difference
    from A with its interval; shares in per cent, their differences in percentage points."""
    tags = [chr(ord("A") + i) if i < 26 else f"S{i + 1}" for i in range(len(names))]
    lines = [f"{t} = {clip(nm, WIDTH - 4)}" for t, nm in zip(tags, names)]
    for i in range(1, len(names)):
        how = ("paired by replication (same network and demand: common random numbers)" if paired[i]
               else "Welch's t (network or demand differ, so replications are not paired)")
        lines.append(clip(f"{tags[i]} - A: {how}", WIDTH))
    by = {(r["metric"], str(r["scenario"])): r for r in rows}
    table = [["metric (unit)", "", "mean [95 %]", "difference from A [95 %]"]]
    for m in metrics:
        if (m, str(names[0])) not in by:
            continue
        unit = labels.unit(m)
        first = [labels.label(m)[0], "  " + ("% (differences: pp)" if unit == "%" else unit)]
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
    lines.append("* the interval of the difference excludes 0")
    if any(labels.CUT_MARK in c for row in table[1:] for c in row):
        lines.append(clip(labels.CUT_NOTE, WIDTH))
    for tag, r_paired, nm in zip(tags[1:], paired[1:], names[1:]):
        vr = [by[(m, str(nm))]["variance_reduction"] for m in metrics if (m, str(nm)) in by]
        vr = sorted(float(v) for v in vr if v == v)
        if r_paired and vr:
            med = vr[len(vr) // 2] if len(vr) % 2 else (vr[len(vr) // 2 - 1] + vr[len(vr) // 2]) / 2
            lines.append(clip(f"pairing {tag} with A removed {100 * med:.0f} % of the variance of the differences "
                              f"(median; per metric: comparison.csv)", WIDTH))
    return "\n".join(lines)


def identical_warning(digests: Sequence[str], names: Sequence[str]) -> list[str]:
    """Warnings for scenarios identical to an earlier one (their differences are 0 by construction)."""
    out = []
    for i, d in enumerate(digests):
        for j in range(i):
            if digests[j] == d:
                out.append(warning(f"{names[i]} is identical to {names[j]} (the same resolved scenario): their "
                                   f"differences are 0 by construction; use --each I:KEY=VALUE to change one of "
                                   f"them"))
                break
    return out
