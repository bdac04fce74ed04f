"""The lesson plan of docs/classroom.md as data: its three experiments (the lever settings the
class compares and the columns of each result table), the tables for one seed, and the
claims the lesson makes about the average train, which the tests check over many seeds.

The tables in docs/classroom.md are written from the scenario's documented seed by
``python docs/make_lesson_tables.py``: a change to the model's draws regenerates them; the
lesson's statements are about the average train (:data:`CLAIMS`), not about that one seed.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ..demo import DemoRun, lesson_cells, run
from ..scenario import Scenario, with_values

Setting = tuple[str, ...]  # --set items, () for the classroom train itself


@dataclass(frozen=True)
class Experiment:
    title: str
    settings: tuple[Setting, ...]
    columns: tuple[str, ...]


L = "network.load_factor_mean="
C2 = "behaviour.contagion=2"
NEVER = "booking.overflow=never"

EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment("Experiment 1", ((NEVER,), ()),
               ("overflow travellers", "violations", "by overflow travellers", "per 100 passenger-hours",
                "noisy time")),
    Experiment("Experiment 2", ((L + "0.6",), (), (L + "1.0",), (L + "1.3",), (L + "1.3", NEVER)),
               ("quiet car full", "overflow share", "requests refused", "violations", "per 100 passenger-hours",
                "noisy time")),
    Experiment("Experiment 3", (("behaviour.contagion=0",), (), ("behaviour.contagion=1",), (C2,),
                                (C2, "staff.patrol_interval=10"), (C2, "staff.patrol_interval=60")),
               ("violations", "began while another ran", "per 100 passenger-hours", "noisy time", "ended by staff")),
)
SETTINGS: tuple[Setting, ...] = tuple(dict.fromkeys(s for e in EXPERIMENTS for s in e.settings))


def runs(scenario: Scenario, seed: int) -> dict[Setting, DemoRun]:
    """Every setting of the lesson, simulated for one seed (the same train, other levers)."""
    return {s: run(with_values(scenario, s) if s else scenario, seed) for s in SETTINGS}


def tables(by_setting: Mapping[Setting, DemoRun]) -> list[str]:
    """The result tables of docs/classroom.md (Markdown, one per experiment)."""
    out = []
    for e in EXPERIMENTS:
        lines = ["| levers (`--set`) | " + " | ".join(e.columns) + " |", "|---" * (len(e.columns) + 1) + "|"]
        for s in e.settings:
            cells = lesson_cells(by_setting[s])
            label = " ".join(f"`{x}`" for x in s) or "(none: the classroom train)"
            lines.append(f"| {label} | " + " | ".join(cells[c] for c in e.columns) + " |")
        out.append("\n".join(lines))
    return out


# --- what the lesson says about the average train ---------------------------------------------------
def outcome(r: DemoRun) -> dict[str, float]:
    """The numbers of one train the claims are about."""
    m, t = r.metrics, r.tally
    violations = [v for v in r.result.onboard.violations if not v.control]
    return {
        "per_100_pax_h": m["violations_per_100_pax_h"],
        "noisy_time": m["noisy_time_share"],
        "overflow_share": m["overflow_share"],
        "refused_share": m["refused_share"],
        # share of the violations made by travellers who did not choose the quiet car
        "by_overflow": sum(not v.optin for v in violations) / max(1, len(violations)),
        # share of the violations that began while another was running
        "chained": t["noisy_starts"] / max(1.0, t["starts"]),
    }


@dataclass(frozen=True)
class Claim:
    """'``metric`` is larger under ``high`` than under ``low``, by more than ``margin``', on
    average over trains: what the lesson tells the class, checked on paired trains (the same
    seeds for both settings). ``low`` None: the metric under ``high`` exceeds ``margin``;
    ``low`` ('@name',): it exceeds the high setting's own ``name`` (e.g. the share of the
    violations against the share of the seats)."""
    text: str
    metric: str
    low: Setting | None
    high: Setting
    margin: float = 0.0


CLAIMS: tuple[Claim, ...] = (
    Claim("1: letting others in makes the car noisier (violations per passenger-hour)",
          "per_100_pax_h", (NEVER,), ()),
    Claim("1: and noisy for more of the time", "noisy_time", (NEVER,), ()),
    Claim("1: the travellers who did not choose it make more of the violations than their share of "
          "the seats", "by_overflow", ("@overflow_share",), ()),
    Claim("2: the busier the train, the more of the quiet car goes to those who did not choose it "
          "(0.6 -> 0.75)", "overflow_share", (L + "0.6",), ()),
    Claim("2: (0.75 -> 1.0)", "overflow_share", (), (L + "1.0",), 0.1),
    Claim("2: violations per passenger-hour rise with demand (0.6 -> 1.0)", "per_100_pax_h", (L + "0.6",),
          (L + "1.0",)),
    Claim("2: (0.75 -> 1.3)", "per_100_pax_h", (), (L + "1.3",)),
    Claim("2: at the Spring Festival, opt-in only keeps the car calmer ...", "per_100_pax_h",
          (L + "1.3", NEVER), (L + "1.3",)),
    Claim("2: ... but, like the 2026 rule, finds no seat for more than one request in five", "refused_share", None,
          (L + "1.3", NEVER), 0.2),
    Claim("3: strong contagion makes more violations than none", "per_100_pax_h", ("behaviour.contagion=0",),
          (C2,)),
    Claim("3: more of them begin while another is running (0 -> 1)", "chained", ("behaviour.contagion=0",),
          ("behaviour.contagion=1",)),
    Claim("3: (1 -> 2)", "chained", ("behaviour.contagion=1",), (C2,)),
    Claim("3: with strong contagion, patrols every 10 minutes hold it back (against 30)", "per_100_pax_h",
          (C2, "staff.patrol_interval=10"), (C2,)),
    Claim("3: patrols once an hour let it run (against 30)", "per_100_pax_h", (C2,),
          (C2, "staff.patrol_interval=60")),
)


def _own(low: Setting | None) -> bool:
    return low is not None and len(low) == 1 and low[0].startswith("@")


def differences(claim: Claim, outcomes: Sequence[Mapping[Setting, Mapping[str, float]]]) -> list[float]:
    """high - low - margin for each train (seed): positive on average if the claim holds."""
    out = []
    for o in outcomes:
        high = o[claim.high][claim.metric]
        if claim.low is None:
            low = 0.0
        elif _own(claim.low):
            low = o[claim.high][claim.low[0][1:]]
        else:
            low = o[claim.low][claim.metric]
        out.append(high - low - claim.margin)
    return out


def claim_settings() -> tuple[Setting, ...]:
    used = {s for c in CLAIMS for s in (c.low, c.high) if s is not None and not _own(s)}
    return tuple(s for s in SETTINGS if s in used)


def outcomes(scenario: Scenario, seeds: Sequence[int],
             progress: Callable[[int], None] | None = None) -> list[dict[Setting, dict[str, float]]]:
    out = []
    for seed in seeds:
        out.append({s: outcome(run(with_values(scenario, s) if s else scenario, seed)) for s in claim_settings()})
        if progress:
            progress(seed)
    return out
