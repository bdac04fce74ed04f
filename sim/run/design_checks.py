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


def design_warnings(replications: int, method: str | None = None, samples: int | None = None) -> list[str]:
    out = []
    if replications < MIN_REPLICATIONS:
        out.append(f"only {replications} replication{'s' if replications != 1 else ''}: 95 % intervals rest on "
                   f"{max(0, replications - 1)} degree{'s' if replications != 2 else ''} of freedom and are very "
                   f"wide or missing; use -n {MIN_REPLICATIONS} or more")
    if method == "morris" and samples is not None and samples < MIN_MORRIS:
        out.append(f"only {samples} Morris trajectories: the ranking of mu* is unstable below about {MIN_MORRIS} "
                   f"(--samples {MIN_MORRIS} or more)")
    if method == "sobol" and samples is not None and samples < MIN_SOBOL:
        out.append(f"only {samples} Sobol' base samples: S1 and ST are unstable below about {MIN_SOBOL} "
                   f"(--samples {MIN_SOBOL} or more); their intervals may leave 0 to 1")
    return out


def noise_warnings(noise: Iterable[Mapping]) -> list[str]:
    """Metrics whose replication noise alone explains the spread between points (noise share >= 1)."""
    bad = [r["metric"] for r in noise
           if isinstance(r.get("noise_share"), (int, float)) and math.isfinite(r["noise_share"])
           and r["noise_share"] >= 1]
    if not bad:
        return []
    return [f"noise share >= 1 for {', '.join(bad)}: replication noise is as large as the spread between "
            f"points, so their indices say nothing; add replications (-n)"]
