"""Experiments: many scenario points, each run on the same seeds; no plotting.

- :mod:`.factors`: the keys an experiment varies (``--vary``, ``--param``) and the design streams;
- :mod:`.designs`: factorial, Latin hypercube, Morris and Sobol' designs; the overflow curve;
- :mod:`.sweep`: run every point of a design on the same seeds (common random numbers);
- :mod:`.sensitivity`: SALib's indices with the share of replication noise.

Every point runs replications ``0 .. R-1`` with the same root seed, so every point sees the same
network days and, as far as its parameters allow, the same passengers. The names below are the
package's public API (``from sim import experiments as ex``).
"""
from .designs import (OPTIN_EXPOSURE, OVERFLOW_KEY, OVERFLOW_LEVELS, OVERFLOW_METRICS, Design, factorial,
                      latin_hypercube, morris_design, ordinary_seat_share, overflow_factor, point_scenarios,
                      problem, sobol_design)
from .factors import (DESIGN_KEY, DesignError, Factor, check_unique, design_int_seed, design_rng, key_info,
                      parse_levels, parse_range, toml_literal, value_at)
from .sensitivity import (INDEX_BOUNDS, NOISE_COLUMNS, SENSITIVITY_COLUMNS, analyse, cut_index, noise_row,
                          run_sensitivity, write_sensitivity)
from ..run.experiment_folder import ExperimentFolder, is_experiment
from .sweep import (EXPERIMENT_METRICS, ExperimentResult, all_metrics, experiment_digest, finish,
                    load_experiment, run_chunk_tally, run_design, run_sweep, summarise_points,
                    summary_columns, sweep_columns)

__all__ = [n for n in dir() if not n.startswith("_") and n not in ("designs", "factors", "sensitivity", "sweep")]
