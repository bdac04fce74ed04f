"""Warnings for designs too small to support what they print: intervals on fewer than 3
replications, sensitivity indices from too few trajectories or samples, and metrics whose
replication noise is as large as the spread between points. They go to the console, the
manifest (``warnings``) and the report."""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

#: Below these, the indices SALib computes are not stable (Morris: about 10 trajectories;
#: Sobol': 64 base samples, the command's defaults).
MIN_REPLICATIONS, MIN_MORRIS, MIN_SOBOL = 3, 10, 64


class DesignWarning(str):
    """A warning's English text (what the manifest and the report keep), with its ``key`` and
    ``fields`` so that a console can say it in the reader's language (``warn.<key>`` in
    :data:`sim.present.labels.WORDS`)."""
    key: str
    fields: dict

    def __new__(cls, key: str, text: str, **fields: object) -> DesignWarning:
        w = super().__new__(cls, text)
        w.key, w.fields = key, fields
        return w


def design_warnings(replications: int, method: str | None = None, samples: int | None = None) -> list[str]:
    out: list[str] = []
    if replications < MIN_REPLICATIONS:
        out.append(DesignWarning(
            "replications",
            f"only {replications} replication{'s' if replications != 1 else ''}: 95 % intervals rest on "
            f"{max(0, replications - 1)} degree{'s' if replications != 2 else ''} of freedom and are very "
            f"wide or missing; use -n {MIN_REPLICATIONS} or more",
            n=replications, df=max(0, replications - 1), minimum=MIN_REPLICATIONS,
            s="s" if replications != 1 else "", dfs="s" if replications != 2 else ""))
    if method == "morris" and samples is not None and samples < MIN_MORRIS:
        out.append(DesignWarning(
            "morris", f"only {samples} Morris trajectories: the ranking of mu* is unstable below about {MIN_MORRIS} "
                      f"(--samples {MIN_MORRIS} or more)", n=samples, minimum=MIN_MORRIS))
    if method == "sobol" and samples is not None and samples < MIN_SOBOL:
        out.append(DesignWarning(
            "sobol", f"only {samples} Sobol' base samples: S1 and ST are unstable below about {MIN_SOBOL} "
                     f"(--samples {MIN_SOBOL} or more); their intervals may leave 0 to 1", n=samples,
            minimum=MIN_SOBOL))
    return out


def noise_warnings(noise: Iterable[Mapping]) -> list[str]:
    """Metrics whose replication noise alone explains the spread between points (noise share >= 1)."""
    bad = [r["metric"] for r in noise
           if isinstance(r.get("noise_share"), (int, float)) and math.isfinite(r["noise_share"])
           and r["noise_share"] >= 1]
    if not bad:
        return []
    return [DesignWarning("noise", f"noise share >= 1 for {', '.join(bad)}: replication noise is as large as the "
                                   f"spread between points, so their indices say nothing; add replications (-n)",
                          metrics=bad)]
