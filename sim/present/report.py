"""One self-contained HTML report of some results folders.

The file embeds its figures (base64 PNG), carries its own style sheet and refers to nothing
outside itself: no scripts, fonts or images from the network. Sections: the question, the
scenarios side by side (the keys in which their resolved scenarios differ), the headline
metrics with 95 % intervals and differences from the first run, the figures, the
experiments, the assumptions that matter most (from a sensitivity folder) and the
manifest of every run and experiment.
"""
from __future__ import annotations

import base64
import html
import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import __version__
from ..experiments import key_info
from ..run.experiment_folder import SENSITIVITY
from ..run.metrics import METRIC_NAMES
from ..run.results import RunFolder, write_text
from .plots import (FOCUS, Collection, Run, collect, differences, figure_bytes, figures, label, paired_with,
                    slug)
from . import fonts, labels

#: The questions a report answers (``report.q.*`` of the table of labels) and the metrics that answer them.
QUESTIONS: tuple[tuple[str, str], ...] = (
    ("uptake", "uptake_rate"),
    ("load", "quiet_load_factor"),
    ("overflow", "overflow_share"),
    ("rate", "violations_per_100_pax_h"),
    ("length", "noisy_time_share, mean_violation_min"),
    ("disturbed", "disturbed_pax_min_per_pax_h"),
    ("enders", "ended_by.self / peer / staff / alighting"),
    ("crew", "staff_interventions_per_train, staff_min_per_train"),
    ("complaints", "complaints_per_1000_pax"),
    ("contagion", "contagion_lift"),
)
#: Rows of the headline table.
TABLE_METRICS = ("uptake_rate", "quiet_load_factor", "overflow_share", "refused_share", "violations_per_100_pax_h",
                 "noisy_time_share", "mean_violation_min", "disturbed_pax_min_per_pax_h", "ended_by.self",
                 "ended_by.peer", "ended_by.staff", "ended_by.alighting", "staff_interventions_per_train",
                 "staff_min_per_train", "complaints_per_1000_pax", "contagion_lift")
#: Figures (by a part of their name) with a caption (``caption.*`` of the table of labels).
CAPTIONS = ("headline", "ended_by", "violation_mix", "noisy_time_ecdf", "timeline", "overflow_curve", "sweep",
            "sensitivity")
STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, 'PingFang SC',
       'Microsoft YaHei', 'Noto Sans CJK SC', 'Noto Sans SC quietcar', sans-serif;
       max-width: 62rem; margin: 2rem auto; padding: 0 1rem; color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ccc; }
h3 { margin-top: 1.5rem; }
.meta { color: #555; font-size: .9rem; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .88rem; max-width: 100%; }
td code { overflow-wrap: anywhere; }
th, td { border: 1px solid #d0d0d0; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.sig { font-weight: 600; } .unit { color: #666; font-size: .8rem; }
figure { margin: 1.2rem 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #444; font-size: .88rem; }
pre { background: #f7f7f7; padding: .6rem; overflow-x: auto; font-size: .8rem; }
nav ul { columns: 2; } .note { color: #555; font-size: .9rem; }
"""


def esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def num(v: Any) -> str:
    """A number for a table: 3 significant digits, a dash for undefined."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    if v == 0:
        return "0"
    a = abs(v)
    return f"{v:.3g}" if a < 1000 else f"{v:,.0f}"


def interval(mean: float, lo: float, hi: float) -> str:
    return f"{num(mean)} [{num(lo)}, {num(hi)}]" if lo == lo else num(mean)


def table(head: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] | None = None,
          raw: bool = False) -> str:
    """An HTML table; the ``numeric`` columns (default: all but the first) are right-aligned."""
    numeric = set(range(1, len(head)) if numeric is None else numeric)
    out = ["<table><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for r in rows:
        cells = []
        for j, c in enumerate(r):
            cls = ' class="num"' if j in numeric else ""
            cells.append(f"<td{cls}>{c if raw else esc(c)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def resolved(path: Path) -> dict[str, Any]:
    """The flattened resolved scenario of a run or experiment folder ({} if missing)."""
    p = path / "scenario.toml"
    if not p.exists():
        return {}
    return flatten(tomllib.loads(p.read_text(encoding="utf-8")))


# --- sections -------------------------------------------------------------------------------------
def section_question(coll: Collection) -> str:
    names = [r.name for r in coll.runs] + [e.folder.path.name for e in coll.experiments]
    rows = [(esc(labels.word(f"report.q.{q}")), f"<code>{esc(m)}</code>") for q, m in QUESTIONS]
    return (f"<h2 id='question'>{esc(labels.word('report.question'))}</h2>\n<p>How does the quiet-car booking policy shape who sits in the "
            f"quiet car, how often and for how long the silence is broken, who ends it and what it costs the crew; "
            f"and how does that differ between the results compared here ({esc(', '.join(names))})? Each question "
            f"is answered by a metric, computed per replication (a simulated network day) and reported as a mean "
            f"with a 95 % Student-t interval across replications.</p>\n"
            + table((labels.word("report.col_question"), labels.word("report.col_metric")), rows, numeric=(),
                    raw=True))


def section_scenarios(coll: Collection) -> str:
    runs = coll.runs
    if not runs:
        return ""
    flat = [resolved(r.path) for r in runs]
    keys = sorted(k for k in set().union(*flat) if k != "description" and not k.startswith("run."))
    differ = [k for k in keys if len({json.dumps(f.get(k), sort_keys=True) for f in flat}) > 1]
    head = ("", *[r.name for r in runs])
    rows: list[list[str]] = [["description", *[esc(str(f.get("description", "")).strip()) for f in flat]]]
    for what, k in (("seed", "seed"), ("replications", "replications"),
                    ("trains per replication", "trains_per_replication")):
        rows.append([what, *[esc(r.manifest.get(k, "–")) for r in runs]])
    for k in differ:
        info = key_info(k)
        unit = f" <span class='unit'>({esc(info['unit'])})</span>" if info.get("unit") else ""
        rows.append([f"<code>{esc(k)}</code>{unit}", *[esc(_show(f.get(k))) for f in flat]])
    same = len(keys) - len(differ)
    text = (f"<p>The resolved scenarios (every value, defaults included) differ in {len(differ)} keys and agree in "
            f"{same}; only the differing keys are shown.</p>" if len(runs) > 1 else
            "<p>One run; its resolved scenario is in its folder (scenario.toml).</p>")
    return (f"<h2 id='scenarios'>{esc(labels.word('report.scenarios'))}</h2>\n" + text + "\n"
            + table(head, rows, numeric=(), raw=True))


def _show(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, list):
        return "[" + ", ".join(map(str, v)) + "]"
    return str(v)


def _paired(a: Run, b: Run) -> bool:
    return paired_with(a, b)


def section_headline(coll: Collection) -> str:
    runs = coll.runs
    if not runs:
        return ""
    reps = [RunFolder(r.path).replications() for r in runs]
    paired = [True] + [_paired(runs[0], r) for r in runs[1:]]
    head = [labels.word("report.col_metric"), *[labels.word("report.col_mean", name=r.name) for r in runs],
            *[f"{r.name} − {runs[0].name} [95 %]" for r in runs[1:]]]
    rows = []
    for m in TABLE_METRICS:
        if m not in METRIC_NAMES or all(r.summary[m]["n"] == 0 for r in runs):
            continue
        title = label(m)[0]
        cells = [f"{esc(title)}<br><code>{esc(m)}</code> <span class='unit'>{esc(labels.unit(m))}</span>"]
        for r in runs:
            s = r.summary[m]
            cells.append(esc(labels.interval(m, s["mean"], s["ci_low"], s["ci_high"])) + _predictive_cell(s))
        for i in range(1, len(runs)):
            d = differences(reps[0], reps[i], m, paired[i])
            sig = d["ci_low"] > 0 or d["ci_high"] < 0
            text = esc(labels.interval(m, d["mean"], d["ci_low"], d["ci_high"], difference=True))
            cells.append(f"<b>{text}</b>" if sig else text)
        rows.append(cells)
    how = ""
    if len(runs) > 1:
        kinds = [f"{r.name}: {labels.word('report.paired' if p else 'report.welch')}"
                 for r, p in zip(runs[1:], paired[1:])]
        how = (f"<p class='note'>{esc(labels.word('report.differences_from', name=runs[0].name))}: "
               + esc("; ".join(kinds)) + ". " + esc(labels.word("report.bold")) + "</p>")
    if any(labels.CUT_MARK in c for row in rows for c in row):
        how += f"<p class='note'>{esc(labels.cut_note())}.</p>"
    if any(r.manifest.get("posterior") for r in runs):
        how += ("<p class='note'>Runs with a posterior (" + esc(", ".join(sorted({str(r.manifest['posterior'])
                for r in runs if r.manifest.get('posterior')}))) + ") draw each replication's parameters from it. "
                "Under each Monte-Carlo interval: the <i>total predictive</i> 95 % interval, what the metric can be "
                "given the parameters' remaining uncertainty, and which part dominates (docs/calibration.md).</p>")
    return (f"<h2 id='headline'>{esc(labels.word('report.headline'))}</h2>\n" + table(head, rows, raw=True) + "\n"
            + how)


def _predictive_cell(s: Mapping[str, Any]) -> str:
    """The total predictive interval under the Monte-Carlo one, for runs with a posterior."""
    p = s.get("predictive") or {}
    if not p.get("dominates"):
        return ""
    who = {"parameters": "parameters dominate", "monte_carlo": "noise dominates"}.get(p["dominates"], "undetermined")
    return (f"<br><span class='unit'>predictive [{esc(num(p['low']))}, {esc(num(p['high']))}]; "
            f"{esc(who)}</span>")


def _img(name: str, fig) -> str:
    data = base64.b64encode(figure_bytes(fig, "png")).decode("ascii")
    key = next((k for k in sorted(CAPTIONS, key=len, reverse=True) if k in name), "")
    cap = labels.word(f"caption.{key}") if key else ""
    return (f"<figure><img alt='{esc(name)}' src='data:image/png;base64,{data}'>"
            f"<figcaption><b>{esc(name)}</b>. {esc(cap)}</figcaption></figure>")


def section_figures(coll: Collection, train: int | None) -> str:
    figs = _report_figures(coll, train)
    run_figs = [(n, f) for n, f in figs if not _exp_figure(n, coll)]
    exp_figs = [(n, f) for n, f in figs if _exp_figure(n, coll)]
    out = []
    if run_figs:
        out.append(f"<h2 id='figures'>{esc(labels.word('report.figures'))}</h2>")
        out += [_img(n, f) for n, f in run_figs]
    if coll.experiments:
        out.append(f"<h2 id='experiments'>{esc(labels.word('report.experiments'))}</h2>")
        for e in coll.experiments:
            m = e.manifest
            d = m.get("design", {})
            out.append(f"<h3>{esc(e.folder.path.name)}</h3><p>{esc(m.get('kind', 'sweep'))} of "
                       f"<code>{esc(m.get('scenario', '?'))}</code>: {esc(d.get('method', '?'))} design over "
                       f"{esc(', '.join(m.get('keys', [])))}; {len(e.summary)} points x {esc(m.get('replications'))} "
                       f"replications of {esc(m.get('trains_per_replication'))} trains on seed {esc(m.get('seed'))}, "
                       f"the same seeds at every point.</p>")
        out += [_img(n, f) for n, f in exp_figs]
    return "\n".join(out)


def _exp_figure(name: str, coll: Collection) -> bool:
    return any(k in name for k in ("overflow_curve", "sweep-", "sensitivity"))


def _report_figures(coll: Collection, train: int | None) -> list:
    """The figures of the report: those of `quietcar plot`, without the point clouds of
    sensitivity designs (their indices say it more briefly)."""
    sens = {slug(e.folder.path.name) for e in coll.experiments if (e.folder.path / SENSITIVITY).exists()}
    return [(n, f) for n, f in figures(coll, train)
            if not any(n.startswith(f"{s}-sweep-") or (n.startswith("sweep-") and len(coll.experiments) == 1
                                                      and not coll.runs) for s in sens)]


def section_assumptions(coll: Collection, top: int = 3) -> str:
    sens = [e for e in coll.experiments if (e.folder.path / SENSITIVITY).exists()]
    head = f"<h2 id='assumptions'>{esc(labels.word('report.assumptions'))}</h2>\n"
    if not sens:
        return head + ("<p>No sensitivity folder was given. Rank the assumptions with, e.g., <code>quietcar "
                       "sensitivity expansion --param behaviour.contagion=0:1 --param behaviour.commitment=0.05:0.5 "
                       "-n 3</code> and add its folder to the report.</p>")
    import pandas as pd
    out = [head]
    for e in sens:
        df = pd.read_csv(e.folder.path / SENSITIVITY)
        method = str(df["method"].iloc[0]) if len(df) else "?"
        main = "mu_star" if method == "morris" else "ST"
        what = ("mu*: the mean absolute change of the metric as the parameter moves across its range"
                if method == "morris" else "ST: the share of the metric's variance in which the parameter takes part")
        ranges = {f["key"]: (f.get("low"), f.get("high")) for f in e.manifest.get("design", {}).get("factors", [])}
        rows, first = [], {}
        metrics = [m for m in FOCUS if m in set(df["metric"])]
        for m in metrics:
            d = df[(df["metric"] == m) & (df["index"] == main) & (df["ci_high"] > 0)]
            d = d.sort_values("value", ascending=False).head(top)
            if len(d):
                first[d["parameter"].iloc[0]] = first.get(d["parameter"].iloc[0], 0) + 1
            for i, (_, r) in enumerate(d.iterrows()):
                info = key_info(r["parameter"])
                lo, hi = ranges.get(r["parameter"], (None, None))
                rows.append([
                    esc(label(m)[0]) if i == 0 else "",
                    f"<code>{esc(r['parameter'])}</code><br><span class='unit'>{esc(info.get('doc', ''))}</span>",
                    esc(f"{num(lo)} to {num(hi)} {info.get('unit', '')}".strip()),
                    esc(interval(r["value"], r["ci_low"], r["ci_high"])),
                    esc(f"± {num(r['noise_se'])}") if r["noise_se"] == r["noise_se"] else "–",
                    esc(info.get("source", "")),
                ])
        ranked = sorted(first.items(), key=lambda kv: -kv[1])
        lead = "; ".join(f"<code>{esc(p)}</code> first for {k} of {len(metrics)} metrics" for p, k in ranked)
        out.append(f"<p>From <b>{esc(e.folder.path.name)}</b> ({esc(method)}, {len(e.summary)} points x "
                   f"{esc(e.manifest.get('replications'))} replications; {esc(what)}). {lead}.</p>"
                   f"<p class='note'>For each metric, the {top} parameters with the largest index whose interval "
                   f"is not zero; [95 %] is SALib's bootstrap interval over the design, <i>noise</i> the standard "
                   f"error that replication noise adds (indices recomputed from each replication alone). A "
                   f"source marked [G] or [A] is an assumption: where it leads a metric, it is the assumption "
                   f"that matters.</p>")
        out.append(table(("metric", "parameter", "range studied", f"{main} [95 %]", "noise", "source of the default"),
                         rows, numeric=(3, 4), raw=True))
    return "\n".join(out)


def section_manifests(coll: Collection) -> str:
    out = [f"<h2 id='manifests'>{esc(labels.word('report.manifests'))}</h2>",
           "<p>Each run can be repeated exactly from its scenario digest, seed and replications (and the "
           "quietcar version); the command line that made it is in its manifest.</p>"]
    items = [(r.name, r.path, r.manifest) for r in coll.runs]
    items += [(e.folder.path.name, e.folder.path, e.manifest) for e in coll.experiments]
    rows = [[esc(n), esc(m.get("quietcar_version", "?")),
             f"<code>{esc(str(m.get('scenario_digest', '?'))[:16])}</code>", esc(m.get("seed", "?")), esc(m.get("replications", "?")), f"<code>{esc(m.get('command', ''))}</code>"]
            for n, _, m in items]
    out.append(table(("run", "version", "scenario digest", "seed", "replications", "command"), rows, numeric=(),
                     raw=True))
    for n, p, m in items:
        out.append(f"<details><summary>{esc(n)}: manifest.json ({esc(p)})</summary><pre>"
                   f"{esc(json.dumps(m, indent=2, ensure_ascii=False))}</pre></details>")
    return "\n".join(out)


def section_warnings(coll: Collection) -> str:
    """The warnings the runs and experiments recorded (designs too small for what they show)."""
    items = [(r.name, w) for r in coll.runs for w in r.manifest.get("warnings") or []]
    items += [(e.folder.path.name, w) for e in coll.experiments for w in e.manifest.get("warnings") or []]
    if not items:
        return ""
    return (f"<div class='note'><p><b>{esc(labels.word('report.read_with_care'))}</b></p><ul>"
            + "".join(f"<li>{esc(n)}: {esc(w)}</li>" for n, w in items) + "</ul></div>")


def render(paths: Sequence[str | Path], title: str | None = None, train: int | None = None,
           lang: str | None = None) -> str:
    """The report of some results folders as one HTML string, in ``lang`` (en or zh; default:
    the language chosen with :func:`sim.present.labels.speaking`, else English): headings,
    metric labels, units, captions and the figures' labels. A Chinese report embeds the
    bundled font's subset (about 200 kB), so its labels render with no CJK font installed."""
    with labels.speaking(lang):
        return _render(paths, title, train)


def _render(paths: Sequence[str | Path], title: str | None, train: int | None) -> str:
    coll = collect(paths)
    names = [r.name for r in coll.runs] or [e.folder.path.name for e in coll.experiments]
    title = title or ("quietcar: " + " vs ".join(names[:4]) + (" ..." if len(names) > 4 else ""))
    w = labels.word
    nav = [("question", w("report.question")), ("scenarios", w("report.nav_scenarios")),
           ("headline", w("report.headline")), ("figures", w("report.figures")),
           ("experiments", w("report.experiments")), ("assumptions", w("report.nav_assumptions")),
           ("manifests", w("report.nav_manifests"))]
    if not coll.runs:
        nav = [n for n in nav if n[0] not in ("scenarios", "headline", "figures")]
    if not coll.experiments:
        nav = [n for n in nav if n[0] != "experiments"]
    body = [f"<h1>{esc(title)}</h1>",
            f"<p class='meta'>Written by quietcar {esc(__version__)} from {len(paths)} results folder"
            f"{'s' if len(paths) != 1 else ''}. Self-contained: figures are embedded; nothing is loaded from "
            f"elsewhere.</p>",
            "<nav><ul>" + "".join(f"<li><a href='#{a}'>{esc(t)}</a></li>" for a, t in nav) + "</ul></nav>",
            section_question(coll), section_warnings(coll), section_scenarios(coll), section_headline(coll), section_figures(coll, train),
            section_assumptions(coll), section_manifests(coll)]
    zh = labels.current() == "zh"
    style = STYLE + (_font_face() if zh else "")
    return (f"<!DOCTYPE html>\n<html lang='{'zh-Hans' if zh else 'en'}'>\n<head>\n<meta charset='utf-8'>\n"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>\n<title>{esc(title)}</title>\n"
            f"<style>{style}</style>\n</head>\n<body>\n" + "\n".join(b for b in body if b) + "\n</body>\n</html>\n")


def _font_face() -> str:
    """The bundled Chinese font as an embedded @font-face (a data: URL: nothing is fetched)."""
    data = base64.b64encode(fonts.PATH.read_bytes()).decode("ascii")
    return (f"@font-face {{ font-family: '{fonts.FAMILY}'; "
            f"src: url(data:font/otf;base64,{data}) format('opentype'); }}\n")


def write_report(paths: Sequence[str | Path], out: str | Path, title: str | None = None,
                 train: int | None = None, lang: str | None = None) -> Path:
    """Write the report of some results folders to ``out`` (atomically), in ``lang``; return its path."""
    text = render(paths, title, train, lang)
    write_text(out, text)
    return Path(out)
