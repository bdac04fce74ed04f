"""A calibration's folder, and reading its posterior back for runs (``--posterior``).

Layout::

    manifest.json        what ran (targets, prior, seed, settings, waves, timings), status
                         (running | complete), the model's digest and the SHA-256 of every file
    targets.toml         the targets used, resolved (scenario paths absolute)
    prior.csv            key, type, low, high (uniform prior over the box), unit, source
    design.csv           every simulated point: wave, parameter values, each target's value and
                         Monte-Carlo sd
    posterior.csv        the posterior sample: draw, then one column per parameter
    parameters.csv       per parameter: median, 90 % interval, share of the prior width, constrained
    predictive.csv       per target: observation, posterior predictive median and 90 % intervals
    validation.csv       leave-one-target-out: each target's predictive from a calibration on the others
    diagnostics.json     implausibility per wave, emulators, effective sample size
    calibrated/NAME.toml each target scenario, resolved, with the posterior medians
    figures/             marginals, pairs and predictive (PNG and SVG)
    partial/             finished design points of a calibration in progress (removed when complete)

A posterior is refused (:class:`ResultsError`, naming the folder and the file) when the folder
is unfinished, was written by another version of the model, or a file's digest differs.
"""
from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..scenario import Scenario, ScenarioError, load, resolve
from .experiment_folder import ExperimentFolder
from .integrity import check_file
from .results import ResultsError, csv_text, read_manifest, write_bytes, write_json, write_text

MANIFEST, TARGETS, PRIOR, DESIGN, POSTERIOR, PARAMETERS, PREDICTIVE, LOO, DIAGNOSTICS, CALIBRATED, FIGURES = (
    "manifest.json", "targets.toml", "prior.csv", "design.csv", "posterior.csv", "parameters.csv",
    "predictive.csv", "validation.csv", "diagnostics.json", "calibrated", "figures")
#: The spawn key of the posterior draw of each replication of a run.
POSTERIOR_KEY = 2**32 - 4
MODEL_DIR = Path(__file__).resolve().parents[1] / "model"


def model_digest() -> str:
    """SHA-256 of the model core's source (sim/model/*.py): a posterior is valid only for the
    model that produced it."""
    h = hashlib.sha256()
    for p in sorted(MODEL_DIR.glob("*.py")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class CalibrationFolder(ExperimentFolder):
    """One calibration's folder on disk (resumable like an experiment: finished design points
    wait in ``partial/``)."""

    def write_files(self, files: Mapping[str, str | bytes | dict]) -> None:
        """Write result files (relative path -> text, bytes or JSON data) atomically."""
        for rel, data in files.items():
            if isinstance(data, dict):
                write_json(self.path / rel, data)
            elif isinstance(data, bytes):
                write_bytes(self.path / rel, data)
            else:
                write_text(self.path / rel, data)

    def done_points(self) -> dict[int, list[dict]]:
        return {i: self.point_rows(i) for i in self.finished()}

    def complete_with(self, manifest: dict[str, Any], files: Sequence[str]) -> None:
        """Record each file's digest in the manifest, mark it complete, remove partial/."""
        manifest = {**manifest, "status": "complete", "quietcar_version": __version__,
                    "model_digest": model_digest()}
        self.finish(manifest, sorted(files))

    def write_running(self, manifest: dict[str, Any]) -> None:
        write_json(self.path / MANIFEST, {**manifest, "status": "running", "quietcar_version": __version__,
                                          "model_digest": model_digest()})


def table(header: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    return csv_text(header, rows)


# --- reading a posterior back ------------------------------------------------------------------
@dataclass(frozen=True)
class Posterior:
    """A calibration's posterior sample: the keys it sets and one row of values per draw."""
    path: str
    keys: tuple[str, ...]
    kinds: tuple[str, ...]
    draws: np.ndarray
    digest: str

    def index(self, seed: int, replication: int) -> int:
        """The draw of one replication: from the run's seed and the replication alone, so the
        arms of a comparison (same seed) get the same draw, whatever the workers."""
        word = np.random.SeedSequence(int(seed), spawn_key=(POSTERIOR_KEY, int(replication))).generate_state(
            1, np.uint64)[0]
        return int(word % np.uint64(len(self.draws)))

    def overrides(self, seed: int, replication: int) -> list[str]:
        row = self.draws[self.index(seed, replication)]
        return [f"{k}={int(round(v)) if kind == 'int' else repr(float(v))}"
                for k, kind, v in zip(self.keys, self.kinds, row)]

    def describe(self) -> dict[str, Any]:
        return {"posterior": self.path, "posterior_digest": self.digest, "posterior_keys": list(self.keys),
                "posterior_draws": len(self.draws)}


def load_posterior(path: str | Path) -> Posterior:
    """Read and check a finished calibration folder's posterior (ResultsError otherwise)."""
    folder = Path(path)
    if not folder.is_dir():
        raise ResultsError(f"{folder}: no such calibration folder (give the folder quietcar calibrate wrote)")
    m = read_manifest(folder)
    if m is None or m.get("kind") != "calibration":
        raise ResultsError(f"{folder}/{MANIFEST}: not a quietcar calibration folder")
    if m.get("status") != "complete":
        raise ResultsError(f"{folder}/{MANIFEST}: the calibration is unfinished; complete it with "
                           f"quietcar calibrate ... --resume")
    if m.get("model_digest") != model_digest():
        raise ResultsError(f"{folder}/{MANIFEST}: 'model_digest' differs: the posterior was calibrated with "
                           f"another version of the model (quietcar {m.get('quietcar_version', '?')}); "
                           f"calibrate again with this one")
    files = m.get("files") or {}
    for rel in (POSTERIOR, PRIOR):
        p = folder / rel
        if rel not in files:
            raise ResultsError(f"{folder}/{MANIFEST}: 'files' has no digest of {rel}; the folder is damaged")
        if not p.is_file():
            raise ResultsError(f"{p}: missing; the calibration folder is damaged, calibrate again")
        check_file(p, files[rel], "calibrate again")
    prior = list(csv.DictReader(io.StringIO((folder / PRIOR).read_text(encoding="utf-8"))))
    keys = tuple(r["key"] for r in prior)
    kinds = tuple(r["type"] for r in prior)
    text = (folder / POSTERIOR).read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames != ["draw", *keys]:
        raise ResultsError(f"{folder / POSTERIOR}: columns {reader.fieldnames} do not match {PRIOR}'s keys")
    rows = []
    for i, r in enumerate(reader, 2):
        try:
            rows.append([float(r[k]) for k in keys])
        except (TypeError, ValueError):
            raise ResultsError(f"{folder / POSTERIOR}: line {i}: not a number") from None
    if not rows:
        raise ResultsError(f"{folder / POSTERIOR}: no draws")
    draws = np.array(rows, float)
    if not np.isfinite(draws).all():
        raise ResultsError(f"{folder / POSTERIOR}: a value is not finite")
    return Posterior(str(folder), keys, kinds, draws, files[POSTERIOR]["sha256"])


def posterior_scenario(name: str, overrides: Sequence[str], posterior: Posterior, seed: int,
                       replication: int) -> Scenario:
    """One replication's scenario: the file, then the posterior draw, then the user's overrides
    (a key set on the command line keeps the value given there)."""
    return load(resolve(name), [*posterior.overrides(seed, replication), *overrides])


def check_posterior(name: str, overrides: Sequence[str], posterior: Posterior) -> None:
    """Refuse (ResultsError) a posterior whose keys the scenario cannot take, before anything runs."""
    try:
        for r in range(min(len(posterior.draws), 3)):
            posterior_scenario(name, overrides, posterior, 0, r)
    except ScenarioError as e:
        raise ResultsError(f"{posterior.path}/{POSTERIOR}: a draw does not fit the scenario: {e}") from None
