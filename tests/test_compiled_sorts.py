"""The compiled core's own sorts give numpy's stable order exactly (they replace np.argsort,
whose Numba version compiled for seconds on the first start): on inputs with many ties, of
every length up to a few runs of the merge sort and beyond, and on the inputs they get."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.model.booking import _stable_order as stops_order
from sim.model.onboard_loop import _stable_order as times_order


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 12), max_size=200))
def test_the_stops_order_is_numpys_stable_argsort(stops):
    stops = np.asarray(stops, dtype=np.int64)
    assert np.array_equal(stops_order(stops), np.argsort(stops, kind="stable"))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.25, 7.0, 1e-9, 300.0]) | st.floats(0, 1e4), max_size=300))
def test_the_times_order_is_numpys_stable_argsort(times):
    times = np.asarray(times, dtype=float)
    assert np.array_equal(times_order(times), np.argsort(times, kind="stable"))


def test_long_inputs_with_ties():
    """Lengths around the runs (16) and merges, and a long one; ties everywhere."""
    rng = np.random.default_rng(5)
    for n in [*range(40), 63, 64, 65, 127, 128, 129, 1000, 5000]:
        times = rng.integers(0, 1 + n // 3, n).astype(float) / 4
        assert np.array_equal(times_order(times), np.argsort(times, kind="stable")), n
        stops = rng.integers(0, 15, n)
        assert np.array_equal(stops_order(stops), np.argsort(stops, kind="stable")), n
