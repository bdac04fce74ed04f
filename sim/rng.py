"""The seed tree: every random number comes from a named stream of one (replication, train).

``SeedSequence(seed, spawn_key=(replication, train, stream))`` makes the streams independent
of worker count and order, and lets two policies on the same seed draw the same demand
(common random numbers). Nothing here touches global random state.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

STREAMS: tuple[str, ...] = ("network", "demand", "booking", "behaviour", "staff", "control")
NETWORK_TRAIN = 2**32 - 1  # the train index under which a replication's network day is drawn


def stream(seed: int, replication: int, train: int, name: str) -> np.random.Generator:
    """The generator (PCG64) of one named stream of one train in one replication."""
    return np.random.default_rng(np.random.SeedSequence(
        int(seed), spawn_key=(int(replication), int(train), STREAMS.index(name))))


class TrainStreams(Mapping):
    """The named streams of one train, each made on first use (making one costs tens of
    microseconds, and a train without a control car never needs that stream)."""

    def __init__(self, seed: int, replication: int, train: int):
        self.key = (int(seed), int(replication), int(train))
        self.made: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        if name not in self.made:
            if name not in STREAMS or name == "network":
                raise KeyError(name)
            self.made[name] = stream(*self.key, name)
        return self.made[name]

    def __iter__(self) -> Iterator[str]:
        return (n for n in STREAMS if n != "network")

    def __len__(self) -> int:
        return len(STREAMS) - 1


def train_streams(seed: int, replication: int, train: int) -> TrainStreams:
    """All per-train streams (everything but ``network``) of one train."""
    return TrainStreams(seed, replication, train)
