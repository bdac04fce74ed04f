"""The seed tree: every random number comes from a named stream of one (replication, train).

``SeedSequence(seed, spawn_key=(replication, train, stream))`` makes the streams independent
of worker count and order, and lets two policies on the same seed draw the same demand
(common random numbers). Nothing here touches global random state.
"""
from __future__ import annotations

import numpy as np

STREAMS: tuple[str, ...] = ("network", "demand", "booking", "behaviour", "staff", "control")
NETWORK_TRAIN = 2**32 - 1  # the train index under which a replication's network day is drawn


def stream(seed: int, replication: int, train: int, name: str) -> np.random.Generator:
    """The generator of one named stream of one train in one replication."""
    ss = np.random.SeedSequence(int(seed), spawn_key=(int(replication), int(train), STREAMS.index(name)))
    return np.random.Generator(np.random.PCG64(ss))


def train_streams(seed: int, replication: int, train: int) -> dict[str, np.random.Generator]:
    """All per-train streams (everything but ``network``) of one train."""
    return {name: stream(seed, replication, train, name) for name in STREAMS if name != "network"}
