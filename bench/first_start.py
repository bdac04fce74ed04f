"""The first start: compiling the Numba core with an empty cache, step by step, then the cached start.

Run: python bench/first_start.py [--runs N] [--functions]
Each run starts a fresh Python process with an empty temporary NUMBA_CACHE_DIR and times, in
wall and process CPU seconds (CPU time is the robust figure on a shared machine), the steps
of loading the compiled core as `quietcar run` does (the imports, the on-board event loop,
then one small train step by step: demand, serving, seating, the journey, the tally); then a
second fresh process on the same (now filled) cache: the cached start. It prints the figures
and the compile CPU time against the target of issue 14 (at most 20 s on 2 cores). With
``--functions`` it also lists the compile time of each compiled function (exclusive of the
functions it compiled in turn, from Numba's ``numba:compile`` events) and how many times each
was compiled.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

TARGET_S = 20.0  # issue 14 item 9: at most 20 s of compile time on 2 cores
ROOT = Path(__file__).resolve().parent.parent

# The child: the steps of prepare_core (sim/cli/common.py CORE_STEPS), the warm-up train split
# into the calls of simulate_train, each timed in wall and process CPU time.
CHILD = r'''
import json, os, sys, time
from collections import defaultdict
from numba.core import event

steps, functions, stack = [], defaultdict(lambda: [0.0, 0]), []

class Exclusive(event.Listener):
    """Per function: CPU seconds compiling it, less the functions compiled inside it."""
    def on_start(self, ev):
        stack.append([time.process_time(), 0.0])
    def on_end(self, ev):
        start, inner = stack.pop()
        spent = time.process_time() - start
        d = ev.data["dispatcher"]
        name = f"{d.py_func.__module__.rsplit('.', 1)[-1]}.{d.py_func.__name__}"
        functions[name][0] += spent - inner
        functions[name][1] += 1
        if stack:
            stack[-1][1] += spent

event.register("numba:compile", Exclusive())

def step(label, fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    steps.append((label, time.perf_counter() - w, time.process_time() - c))
    return out

import importlib
step("imports (numpy, numba, sim.model but the loop)", lambda: [importlib.import_module(m) for m in (
    "numpy", "numba", "sim.model.params", "sim.model.onboard", "sim.model.population", "sim.model.booking",
    "sim.run.metrics", "sim.rng")])
step("the on-board event loop (import sim.model.onboard_loop)",
     lambda: importlib.import_module("sim.model.onboard_loop"))
from sim.model.params import Params, TrainSpec
from sim.model.population import draw_requests
from sim.model.booking import intentions, serve, seat_quiet_passengers
from sim.model.onboard_loop import run_journey
from sim.model.train import TrainResult
from sim.rng import train_streams
from sim.run.metrics import tally
spec, params, rngs = TrainSpec(), Params(), train_streams(0, 0, 0)
req = step("demand (population._columns)",
           lambda: draw_requests(spec, params.population, params.booking, rngs["demand"]))
booked = step("serving (booking._serve)",
              lambda: serve(req, spec, intentions(req, params.population, params.booking)))
pax = step("seating (booking._quiet_travellers, _hand_out_seats, _traveller_columns)",
           lambda: seat_quiet_passengers(req, booked, spec, rngs["booking"]))
onboard = step("the journey (onboard_loop._bounds, _assemble, _journey)",
               lambda: run_journey(spec, params, pax, rngs))
step("the tally (metrics._request_counts)",
     lambda: tally(TrainResult(spec, params, req, booked, pax, onboard)))
json.dump({"steps": steps, "functions": {k: v for k, v in functions.items()}}, sys.stdout)
'''


def child(cache: str) -> dict:
    """One fresh process loading the core with NUMBA_CACHE_DIR=cache: its steps and its compiles,
    and its total CPU time (user + system, as the OS counts it)."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONPATH": str(ROOT)}
    before = os.times()
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, cwd=ROOT, check=True, capture_output=True,
                         text=True)
    after = os.times()
    result = json.loads(out.stdout)
    result["process_cpu"] = (after.children_user - before.children_user) + (
        after.children_system - before.children_system)
    return result


def show(title: str, result: dict) -> tuple[float, float]:
    """Print a run's steps; return its wall and CPU seconds summed over the steps."""
    print(title)
    wall = cpu = 0.0
    for label, w, c in result["steps"]:
        print(f"  {label:<78} {w:6.2f} s wall {c:6.2f} s CPU")
        wall, cpu = wall + w, cpu + c
    print(f"  {'all steps':<78} {wall:6.2f} s wall {cpu:6.2f} s CPU "
          f"(the whole process: {result['process_cpu']:.2f} s CPU)")
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1, help="first starts to measure (default 1)")
    ap.add_argument("--functions", action="store_true", help="list each compiled function's compile time")
    args = ap.parse_args()
    firsts = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="numba-first-start-") as cache:
            first = child(cache)
            cached = child(cache)
        print(f"--- run {run + 1} of {args.runs}")
        wall, cpu = show("first start (empty cache): compiles", first)
        compiled = sum(t for t, _ in first["functions"].values())
        print(f"  compiling (numba:compile events, summed): {compiled:.2f} s CPU in "
              f"{sum(n for _, n in first['functions'].values())} compilations of {len(first['functions'])} functions")
        c_wall, c_cpu = show("second start (cached): loads", cached)
        loading = cpu - first["steps"][0][2]  # the steps after the imports
        print(f"  first start after the imports: {loading:.2f} s CPU = {loading / TARGET_S:.2f} x the "
              f"{TARGET_S:.0f} s target; cached: {c_cpu - cached['steps'][0][2]:.2f} s CPU")
        if args.functions:
            print("  compile CPU seconds per function (exclusive), compilations:")
            for name, (t, n) in sorted(first["functions"].items(), key=lambda kv: -kv[1][0]):
                print(f"    {name:<40} {t:6.2f} s {n:3d}")
        firsts.append(loading)
    if args.runs > 1:
        print(f"first start after the imports, CPU: {', '.join(f'{x:.2f}' for x in firsts)} s; "
              f"best {min(firsts):.2f} s = {min(firsts) / TARGET_S:.2f} x the target")


if __name__ == "__main__":
    main()
