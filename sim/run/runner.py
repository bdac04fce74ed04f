"""Replications x trains: enumerate the work with its seeds, run it in chunks, gather in order.

A replication is one network day drawn from its ``network`` stream; each train of it is an
independent unit of work whose streams come from ``(seed, replication, train)``. Chunks of
trains run in this process, in a local process pool or on a Dask cluster; whatever runs
them, results are gathered in train order, so the numbers never depend on the workers.
Workers reduce each train to a small row (its description and per-train metrics) and a
tally; records never leave the worker.
"""
from __future__ import annotations

import contextlib
import gc
import math
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .denominators import denominators
from .metrics import Tally, add, metrics, tally
from .uncertainty import jackknife
from ..model.network import draw_day
from ..model.params import Params, TrainSpec
from ..rng import NETWORK_TRAIN, stream, train_streams
from ..scenario import Scenario

if TYPE_CHECKING:  # the compiled core is imported when a train first runs, not with the CLI
    from ..model.train import TrainResult

TRAIN_COLUMNS: tuple[str, ...] = ("replication", "train", "type", "formation", "run_min", "stops", "seats",
                                  "quiet_cars", "quiet_seats", "crew", "load_factor", "requests",
                                  "quiet_passengers")


def network_day(scenario: Scenario, seed: int, replication: int) -> tuple[TrainSpec, ...]:
    """The trains of one replication (the same for every scenario with the same network section)."""
    return draw_day(scenario.network, stream(seed, replication, NETWORK_TRAIN, "network"))


def simulate_one(scenario: Scenario, spec: TrainSpec, seed: int, replication: int,
                 trace: list | None = None, engine: str = "compiled") -> TrainResult:
    """One train of one replication, with its own named streams, its journey run by ``engine``."""
    from ..model.train import simulate_train  # the compiled core: loaded when a train first runs
    return simulate_train(spec, scenario.params, train_streams(seed, replication, spec.train_id), trace, engine)


def train_row(replication: int, result: TrainResult, t: Tally) -> dict:
    """One row of trains.csv: what the train was, then its per-train metrics."""
    s = result.spec
    row = {"replication": replication, "train": s.train_id, "type": s.kind, "formation": f"{s.formation}-car",
           "run_min": round(s.run_min, 6), "stops": s.stops, "seats": s.seats, "quiet_cars": len(s.quiet_seats),
           "quiet_seats": sum(s.quiet_seats), "crew": s.crew, "load_factor": round(s.load_factor, 6),
           "requests": result.requests.n, "quiet_passengers": result.passengers.n}
    row.update(metrics(t))
    row.update(denominators(t))
    return row


@dataclass(frozen=True)
class Chunk:
    """A unit of work for a worker: some consecutive trains of one replication, and the engine
    that runs their journeys (``sim.model.train.ENGINES``; the same numbers either way)."""
    scenario: Scenario
    seed: int
    replication: int
    specs: tuple[TrainSpec, ...]
    engine: str = "compiled"


def run_chunk(chunk: Chunk) -> tuple[list[dict], Tally]:
    """Simulate a chunk; return its train rows (in train order) and its summed tally."""
    rows, tallies = [], []
    for spec in chunk.specs:
        result = simulate_one(chunk.scenario, spec, chunk.seed, chunk.replication, engine=chunk.engine)
        t = tally(result)
        rows.append(train_row(chunk.replication, result, t))
        tallies.append(t)
    if gc.get_freeze_count():
        gc.collect()  # journeys leave reference cycles; with older objects frozen this costs ~1 ms
        gc.freeze()  # and what survives (the rows gathered so far) need not be traversed again
    return rows, add(tallies)


def chunks(scenario: Scenario, seed: int, replication: int, size: int, engine: str = "compiled") -> list[Chunk]:
    specs = network_day(scenario, seed, replication)
    return [Chunk(scenario, seed, replication, specs[i:i + size], engine) for i in range(0, len(specs), size)]


def chunk_size(trains: int) -> int:
    """Trains per chunk: a function of the day alone, never of the workers, because the
    replication's tally is summed chunk by chunk and floating-point sums depend on their
    grouping. Up to 100 trains a chunk amortises the per-chunk overhead (pickling the
    scenario, one round trip); at least 32 chunks a day keep a pool or a cluster busy."""
    return max(1, min(100, math.ceil(trains / 32)))


@dataclass(frozen=True)
class ReplicationResult:
    """One replication: its metrics (ratios of the day's summed tally), tally and train rows, and
    each metric's Monte-Carlo variance within the day (jackknife over its chunks of trains)."""
    replication: int
    metrics: dict[str, float]
    tally: Tally
    trains: list[dict]
    mc_var: dict[str, float] = field(default_factory=dict)


MapFn = Callable[[Callable, Sequence], Iterator]


def run_replication(scenario: Scenario, seed: int, replication: int, mapper: MapFn | None = None,
                    on_trains: Callable[[int], None] | None = None, engine: str = "compiled") -> ReplicationResult:
    """Run every train of one replication. ``mapper(fn, items)`` must yield results in the
    order of ``items`` (like the built-in ``map``); ``on_trains(k)`` reports progress;
    ``engine`` runs the journeys (the same numbers either way)."""
    work = chunks(scenario, seed, replication, chunk_size(scenario.network.trains), engine)
    rows: list[dict] = []
    tallies: list[Tally] = []
    for chunk, (r, t) in zip(work, (mapper or map)(run_chunk, work)):
        rows.extend(r)
        tallies.append(t)
        if on_trains:
            on_trains(len(chunk.specs))
    total = add(tallies)
    return ReplicationResult(replication, metrics(total), total, rows, jackknife(tallies, total))


def run_replications(scenario: Scenario, seed: int, replications: Iterable[int], mapper: MapFn | None = None,
                     on_trains: Callable[[int], None] | None = None,
                     engine: str = "compiled", scenario_of: Callable[[int], Scenario] | None = None
                     ) -> Iterator[ReplicationResult]:
    """Run replications one after another (each spread over the workers), in the given order;
    ``scenario_of(r)``, if given, is replication r's scenario (a posterior draw)."""
    for r in replications:
        yield run_replication(scenario_of(r) if scenario_of else scenario, seed, r, mapper, on_trains, engine)


def warm_up() -> None:
    """Load the Numba-compiled loops of the core in this process by simulating one small train
    of the default model. On the first use after installing they are compiled (about 15 s on
    the project's machine: bench/first_start.py) and cached on disk; done before a pool starts,
    its workers then load them instead of each compiling them."""
    from ..model.train import simulate_train
    tally(simulate_train(TrainSpec(), Params(), train_streams(0, 0, 0)))


def default_workers() -> int:
    """All the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _worker_init(parent: int) -> None:
    """Workers leave Ctrl-C to the parent, which stops the run and keeps what is finished,
    die with the run (:func:`_die_with`), and freeze what they imported so that a full
    garbage collection per chunk is cheap."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with(parent)
    gc.freeze()


def _die_with(parent: int) -> None:
    """End this worker when the run that started it ends, however it ends (even by SIGKILL,
    which gives the pool no chance to stop its workers).

    A worker's parent is the forkserver, which exits when the run's process is gone; the
    kernel then kills the worker (``PR_SET_PDEATHSIG``, Linux). A watcher thread covers the
    rest: it ends the worker within half a second of the run's process or its own parent
    disappearing."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
    own_parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # pragma: no cover - the pid now belongs to someone else
                os._exit(1)
            if os.getppid() != own_parent:
                os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


@contextlib.contextmanager
def local_pool(workers: int) -> Iterator[MapFn | None]:
    """A mapper over a local process pool (``None``: run in this process when workers == 1).

    ``Executor.map`` yields in submission order, so results come back in train order. On an
    error or Ctrl-C, chunks not yet started are cancelled rather than run."""
    if workers <= 1:
        gc.freeze()  # as in the workers: per-chunk collections then skip everything older
        try:
            yield None
        finally:
            gc.unfreeze()
        return
    ctx = multiprocessing.get_context("forkserver")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init,
                               initargs=(os.getpid(),))
    try:
        yield pool.map
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


#: Where a LocalCluster's scheduler serves its dashboard: any free port, on the loopback interface.
LOCAL_DASHBOARD = "127.0.0.1:0"

#: Seconds to wait for a Dask scheduler before giving up (environment: QUIETCAR_SCHEDULER_TIMEOUT).
SCHEDULER_TIMEOUT = 5.0


class SchedulerError(RuntimeError):
    """--scheduler names a scheduler that cannot be reached (the message says which and why)."""


def scheduler_timeout() -> float:
    """The connect timeout: QUIETCAR_SCHEDULER_TIMEOUT seconds if set (a positive number), else 5."""
    text = os.environ.get("QUIETCAR_SCHEDULER_TIMEOUT")
    if text is None:
        return SCHEDULER_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise SchedulerError(f"QUIETCAR_SCHEDULER_TIMEOUT={text!r}: must be a positive number of seconds")
    return value


class DaskMissing(RuntimeError):
    """--scheduler was given but Dask's distributed scheduler is not installed."""

    def __init__(self) -> None:
        super().__init__("--scheduler needs Dask's distributed scheduler, an optional extra: "
                         "pip install -e '.[dask]'  (or: pip install 'dask[distributed]')")


def require_dask() -> None:
    """Raise DaskMissing now, before anything is written, if Dask cannot be used."""
    try:
        import dask.distributed  # noqa: F401
    except ImportError:
        raise DaskMissing() from None


@contextlib.contextmanager
def dask_pool(address: str, workers: int) -> Iterator[MapFn]:
    """A mapper over a Dask cluster: ``address`` of a running scheduler, or ``local`` for a
    LocalCluster of ``workers`` single-threaded processes on this machine.

    Futures are collected in submission order, so results come back in train order."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise DaskMissing() from None
    cluster = None
    if address == "local":
        # The scheduler's web server starts whatever is asked; None means Dask's default :8787,
        # which another run (another test, another user) may hold: any free port, on this machine only.
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=LOCAL_DASHBOARD)
        client = Client(cluster)
    else:
        timeout = scheduler_timeout()
        try:
            client = Client(address, timeout=timeout)
        except Exception as e:  # unreachable (OSError, TimeoutError), unknown scheme (ValueError), ...
            why = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
            raise SchedulerError(f"--scheduler {address}: no Dask scheduler reached within {timeout:g} s ({why}); "
                                 f"give its address as tcp://HOST:8786, or 'local' (wait longer: "
                                 f"QUIETCAR_SCHEDULER_TIMEOUT=SECONDS)") from None

    def mapper(fn: Callable, items: Sequence) -> Iterator:
        futures = client.map(fn, list(items), pure=False)
        try:
            for f in futures:
                yield f.result()
        finally:
            client.cancel(futures)

    try:
        yield mapper
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def pool(workers: int, scheduler: str | None = None):
    """The mapper for a run: a Dask cluster if a scheduler is named, else a local pool."""
    return dask_pool(scheduler, workers) if scheduler else local_pool(workers)


def same_demand(a: Scenario, b: Scenario) -> bool:
    """Whether two scenarios draw the same network day and the same requests for every train
    (common random numbers), so that their replications can be compared pair by pair."""
    keep_pop = ("share", "party_size", "infant_prob")
    keep_book = ("window_days", "lead_days_mean", "lead_uniform_share", "terminal_share", "trip_fraction")
    pa, pb = a.params, b.params
    return (a.network == b.network
            and all(getattr(pa.population, k) == getattr(pb.population, k) for k in keep_pop)
            and all(getattr(pa.booking, k) == getattr(pb.booking, k) for k in keep_book))

