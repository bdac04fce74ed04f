"""The denominators of the ratio metrics, written beside them so tables can be regrouped.

Every metric is a ratio of tallies (:mod:`.metrics`). A metric over a group of trains or
replications is *not* the mean of their values but the ratio of the summed tallies; with
each row's denominator ``d_i`` the group's value is ``sum(m_i * d_i) / sum(d_i)`` over the
rows where ``d_i > 0``. trains.csv and replications.csv therefore carry, for every metric,
the tallies it is divided by, as ``tally.<key>`` columns (several metrics share one).
``contagion_lift`` and ``damping_lift`` are ratios of two observed-over-expected rates:
they carry both rates' numerators and denominators.

A metric missing from :data:`DENOMINATORS` gets no column; a test lists it, so a new metric
is given its denominator here.
"""
from __future__ import annotations

from collections.abc import Mapping

from ..model.onboard import ENDERS
from ..model.params import KINDS

#: metric -> the tallies it is divided by (and, for contagion_lift, the numerators of its rates).
DENOMINATORS: dict[str, tuple[str, ...]] = {
    "uptake_rate": ("offered",),
    "quiet_load_factor": ("quiet_seat_min",),
    "overflow_share": ("quiet_pax_legs",),
    "refused_share": ("requests",),
    "violations_per_100_pax_h": ("pax_min",),
    **{f"violation_mix.{k}": ("starts",) for k in KINDS},
    "noisy_time_share": ("car_min",),
    "mean_violation_min": ("ended_count",),
    "disturbed_pax_min_per_pax_h": ("pax_min",),
    "optin.disturbed_pax_min_per_pax_h": ("optin_pax_min",),
    **{f"ended_by.{w}": ("starts",) for w in ENDERS},
    "staff_interventions_per_train": ("trains",),
    "staff_min_per_train": ("trains",),
    "complaints_per_1000_pax": ("passengers",),
    **{f"ended_by.{w}.{k}": (f"starts_{k}",) for w in ENDERS for k in KINDS},
    **{f"sanctioned.{k}": (f"starts_{k}",) for k in KINDS},
    "sanctioned.all": ("starts",),
    "calls_running": ("car_min",),
    "violations_running": ("car_min",),
    "control.calls_running": ("control_car_min",),
    "control.violations_running": ("control_car_min",),
    "staff_interventions_per_car_h": ("car_min",),
    **{f"warned_mix.{k}": ("interventions",) for k in KINDS},
    # the lifts are ratios of two observed/expected ratios: both numerators and denominators
    "contagion_lift": ("noisy_starts", "noisy_damped_starts", "expected_noisy", "calm_starts",
                       "calm_damped_starts", "expected_calm"),
    "damping_lift": ("calm_damped_starts", "expected_calm_damped", "calm_starts", "expected_calm"),
    "mean_trip_min": ("trip_travellers",),
    "mean_trip_legs": ("trip_travellers",),
    "second_class.mean_trip_min": ("seated_travellers",),
    "second_class.mean_trip_legs": ("seated_travellers",),
    "control.violations_per_100_pax_h": ("control_pax_min",),
    "control.noisy_time_share": ("control_car_min",),
    "control.disturbed_pax_min_per_pax_h": ("control_pax_min",),
}

#: The ``tally.<key>`` columns, in a fixed order (first use in DENOMINATORS).
DENOMINATOR_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(
    f"tally.{k}" for keys in DENOMINATORS.values() for k in keys))


def denominators(t: Mapping[str, float]) -> dict[str, float]:
    """The ``tally.*`` columns of a tally (a train's, or a replication's summed tally)."""
    return {c: float(t.get(c[6:], 0.0)) for c in DENOMINATOR_COLUMNS}
