"""Folders left by Ctrl-C: a command stopped after its k-th finished replication (run) or point
(sweep), with its partial files on disk, for the tests of --resume."""
from __future__ import annotations

from collections.abc import Sequence

from click.testing import CliRunner

import sim.experiments as ex
import sim.run.results
from sim.cli import main


def interrupted(monkeypatch, args: Sequence[object], after: int, writes: str = "replication") -> None:
    """Invoke ``quietcar args`` and press Ctrl-C when it is about to write its ``after``-th (from 0)
    replication (``writes="replication"``) or sweep point (``writes="point"``); exit status 130."""
    cls, name = ((sim.run.results.RunFolder, "write_replication") if writes == "replication"
                 else (ex.ExperimentFolder, "write_point"))
    real = getattr(cls, name)
    calls = []

    def dies(self, *a):
        if len(calls) == after:
            raise KeyboardInterrupt
        calls.append(a[0])
        real(self, *a)

    monkeypatch.setattr(cls, name, dies)
    try:
        r = CliRunner().invoke(main, [str(a) for a in args])
    finally:
        monkeypatch.setattr(cls, name, real)
    assert r.exit_code == 130, r.output
