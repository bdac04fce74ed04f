"""The seed tree: every random number comes from a named stream of one (replication, train).

Each (replication, train) has one ``SeedSequence(seed, spawn_key=(replication, train))``;
its named streams are PCG64 generators seeded from consecutive blocks of that sequence's
output (four 64-bit words each, what PCG64 asks of any seed sequence). That makes the
streams independent of worker count and order, and lets two policies on the same seed draw
the same demand (common random numbers), for one hashing of the seed per train instead of
one per stream. Nothing here touches global random state.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
from numpy.random.bit_generator import ISeedSequence

STREAMS: tuple[str, ...] = ("network", "demand", "booking", "behaviour", "staff", "control")
NETWORK_TRAIN = 2**32 - 1  # the train index under which a replication's network day is drawn
WORDS = 4  # uint64 words of seed per PCG64 stream


class _Block(ISeedSequence):
    """One stream's block of a SeedSequence's output, handed to PCG64 as its seed."""
    __slots__ = ("words",)

    def __init__(self, words: np.ndarray):
        self.words = words

    def generate_state(self, n_words: int, dtype=np.uint32) -> np.ndarray:
        if np.dtype(dtype) != np.uint64 or n_words != len(self.words):  # pragma: no cover - PCG64 asks 4 x uint64
            raise ValueError(f"a stream's seed block is {len(self.words)} uint64 words")
        return self.words


def _seed_words(seed: int, replication: int, train: int) -> np.ndarray:
    return np.random.SeedSequence(int(seed), spawn_key=(int(replication), int(train))).generate_state(
        WORDS * len(STREAMS), np.uint64)


def _generator(words: np.ndarray, name: str) -> np.random.Generator:
    k = STREAMS.index(name)
    return np.random.Generator(np.random.PCG64(_Block(words[WORDS * k:WORDS * (k + 1)])))


def stream(seed: int, replication: int, train: int, name: str) -> np.random.Generator:
    """The generator (PCG64) of one named stream of one train in one replication."""
    return _generator(_seed_words(seed, replication, train), name)


class TrainStreams(Mapping):
    """The named streams of one train, each made on first use (a train without a control
    car never needs that stream)."""

    def __init__(self, seed: int, replication: int, train: int):
        self.words = _seed_words(seed, replication, train)
        self.made: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        if name not in self.made:
            if name not in STREAMS or name == "network":
                raise KeyError(name)
            self.made[name] = _generator(self.words, name)
        return self.made[name]

    def __iter__(self) -> Iterator[str]:
        return (n for n in STREAMS if n != "network")

    def __len__(self) -> int:
        return len(STREAMS) - 1


def train_streams(seed: int, replication: int, train: int) -> TrainStreams:
    """All per-train streams (everything but ``network``) of one train."""
    return TrainStreams(seed, replication, train)
