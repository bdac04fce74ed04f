"""The diagnostics figures of a calibration: posterior marginals, pairs, and each target's
posterior predictive against its observation (PNG and SVG, in the folder's figures/)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .plots import _styled, is_share, key_label, label, new_figure, save

PRIOR_COLOUR, POSTERIOR_COLOUR, OBSERVED_COLOUR = "#bbbbbb", "#1f6f8b", "#c0392b"


@_styled
def fig_marginals(prior: Sequence[Mapping[str, Any]], draws: np.ndarray,
                  design: np.ndarray | None = None) -> Figure:
    """One panel per parameter: the posterior histogram over the prior box (flat grey line:
    the uniform prior), ticks for the simulated design points."""
    d = len(prior)
    cols = min(3, d)
    rows = -(-d // cols)
    fig = new_figure(2.3 * rows + 0.4)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for j, p in enumerate(prior):
        ax = axes[j]
        lo, hi = float(p["low"]), float(p["high"])
        ax.hist(draws[:, j], bins=25, range=(lo, hi), density=True, color=POSTERIOR_COLOUR, alpha=0.85,
                label="posterior")
        ax.axhline(1.0 / (hi - lo), color=PRIOR_COLOUR, lw=2, label="prior")
        med = float(np.median(draws[:, j]))
        ax.axvline(med, color="black", lw=1, ls="--", label=f"median {med:.3g}")
        if design is not None:
            ax.plot(design[:, j], np.zeros(len(design)), "|", color="#555555", ms=6, label="simulated points")
        ax.set_xlim(lo, hi)
        ax.set_xlabel(key_label(str(p["key"])), fontsize=8)
        ax.set_yticks([])
        ax.legend(fontsize=6, loc="upper right")
    for ax in axes[d:]:
        ax.set_visible(False)
    fig.suptitle("Posterior of each parameter (histogram) against its uniform prior (grey line)")
    return fig


@_styled
def fig_pairs(prior: Sequence[Mapping[str, Any]], draws: np.ndarray) -> Figure:
    """Every pair of parameters: the posterior draws (where the targets allow both together)."""
    d = len(prior)
    size = min(9.0, 1.9 * d + 0.6)
    fig = new_figure(size, size)
    axes = np.atleast_2d(fig.subplots(d, d, squeeze=False))
    for i in range(d):
        for j in range(d):
            ax = axes[i, j]
            lo_j, hi_j = float(prior[j]["low"]), float(prior[j]["high"])
            lo_i, hi_i = float(prior[i]["low"]), float(prior[i]["high"])
            if i == j:
                ax.hist(draws[:, j], bins=20, range=(lo_j, hi_j), color=POSTERIOR_COLOUR)
                ax.set_yticks([])
            elif i > j:
                ax.plot(draws[:, j], draws[:, i], ".", ms=2, alpha=0.3, color=POSTERIOR_COLOUR)
                ax.set_ylim(lo_i, hi_i)
            else:
                ax.set_visible(False)
                continue
            ax.set_xlim(lo_j, hi_j)
            ax.tick_params(labelsize=6)
            if i == d - 1:
                ax.set_xlabel(str(prior[j]["key"]).rsplit(".", 1)[-1], fontsize=7)
            if j == 0 and i > 0:
                ax.set_ylabel(str(prior[i]["key"]).rsplit(".", 1)[-1], fontsize=7)
    fig.suptitle("Posterior draws, two parameters at a time")
    return fig


@_styled
def fig_predictive(rows: Sequence[Mapping[str, Any]],
                   title: str = "Each target: observation (red) against the calibrated model (blue)") -> Figure:
    """Each target: the observation (centre ± 2 sd) against the posterior predictive (the
    model's value, median and 90 % interval; the thin bar adds the observation's own error)."""
    n = len(rows)
    fig = new_figure(0.75 * n + 1.4)
    axes = np.atleast_1d(fig.subplots(n, 1))
    for ax, r in zip(axes, rows):
        z, s = float(r["observed"]), float(r["observed_sd"])
        ax.errorbar([z], [0.25], xerr=[[2 * s], [2 * s]], fmt="o", color=OBSERVED_COLOUR, capsize=3,
                    label="observed ± 2 sd")
        ax.plot([r["predictive_low"], r["predictive_high"]], [-0.2, -0.2], color=POSTERIOR_COLOUR, lw=1)
        ax.plot([r["model_low"], r["model_high"]], [-0.2, -0.2], color=POSTERIOR_COLOUR, lw=5, alpha=0.7,
                label="posterior predictive: model 90 % (thick), observation 90 % (thin)")
        ax.plot([r["model_median"]], [-0.2], "|", color="black", ms=10)
        ax.set_ylim(-0.7, 0.7)
        ax.set_yticks([])
        name, unit = label(str(r["metric"]))
        ax.set_title(f"{r['target']}: {name}" + ("" if r["inside"] in (True, "True") else "  (observation OUTSIDE)"),
                     fontsize=8,
                     loc="left")
        if is_share(str(r["metric"])):
            import matplotlib.ticker
            ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.tick_params(labelsize=7)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="outside lower center", ncol=2)
    fig.suptitle(title)
    return fig


def write_figures(folder: str | Path, prior: Sequence[Mapping[str, Any]], draws: np.ndarray,
                  predictive_rows: Sequence[Mapping[str, Any]], design: np.ndarray | None = None) -> list[Path]:
    """The three diagnostics figures into ``folder`` (PNG and SVG); the paths written."""
    out = []
    out += save(fig_marginals(prior, draws, design), folder, "marginals")
    if len(prior) > 1:
        out += save(fig_pairs(prior, draws), folder, "pairs")
    out += save(fig_predictive(predictive_rows), folder, "predictive")
    return out


def folder_figures(folder: str | Path, out: str | Path | None = None) -> list[Path]:
    """Redraw a finished calibration folder's figures from its files (into ``out`` or its
    figures/): what ``quietcar plot CAL`` does, e.g. after ``calibrate --no-plots``."""
    import csv
    import io
    from ..run.calibration_folder import DESIGN, FIGURES, POSTERIOR, PREDICTIVE, PRIOR

    def rows(name: str) -> list[dict[str, Any]]:
        text = (Path(folder) / name).read_text(encoding="utf-8")
        out_rows = []
        for r in csv.DictReader(io.StringIO(text)):
            row: dict[str, Any] = {}
            for k, v in r.items():
                try:
                    row[k] = float(v)
                except (TypeError, ValueError):
                    row[k] = v
            out_rows.append(row)
        return out_rows

    prior = rows(PRIOR)
    keys = [str(p["key"]) for p in prior]
    draws = np.array([[r[k] for k in keys] for r in rows(POSTERIOR)], float)
    design = np.array([[r[k] for k in keys] for r in rows(DESIGN)], float)
    return write_figures(Path(out) if out else Path(folder) / FIGURES, prior, draws, rows(PREDICTIVE), design)
