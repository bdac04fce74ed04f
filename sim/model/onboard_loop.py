"""The journey of `onboard` as one Numba-compiled event loop: same events, same order, same draws.

`onboard._Journey` is the readable statement of the on-board model: SimPy processes for the
cars, the patrols and the responses to complaints, callbacks for everything else. This module
runs the same model without SimPy's per-event Python: a heap of (time, priority, sequence,
event, index) entries ordered exactly as SimPy orders its queue (time, then URGENT before
NORMAL, then the order of scheduling), each process a small state machine resumed by its
events, and every random number taken from the same stream in the same order:

- the candidates of every car, the other duties and the patrol phases are drawn here in
  Python with the very calls of `onboard`, in the order SimPy's processes make them (the
  arithmetic around the candidates' draws is compiled; numpy still takes their exp);
- the per-violation decisions take the cars' blocks of 256 uniforms (`onboard._Uniforms`)
  from arrays drawn ahead from the same generators, and the crew's scalar draws from an
  array of the staff stream. Should an array run short, it is drawn longer (the stream's
  continuation, so nothing changes) and the journey is run again.

The state is declared once, below: each table is a structured numpy array whose row type
(PARAMETERS, TRAVELLER, CAR, VIOLATION, ...) names its fields, per-kind fields as wide as
`KINDS`, the output records' and trace's fields taken from `onboard.Violation` and
`onboard.Event`. Compiled code reads ``s.pax[j].alight``, never a column number. A rule of
`onboard` has its counterpart here under the same name (``_Car.start`` is `_start`, ...).

So a journey gives the very records and trace (`onboard.Event`) of `onboard._Journey`, checked on
thousands of trains in `tests/test_onboard_loop.py`; this is the default engine of every run
(``--engine compiled``). Times are minutes after departure; the model records, never prints or
writes.
"""
from __future__ import annotations

import math
from collections import namedtuple
from typing import get_type_hints

import numpy as np
from numba import njit, typeof, types

from .booking import QuietPassengers
from .onboard import (ENDERS, EVENTS, CarTotals, Event, OnboardResult, Violation, _constants, draw_duties,
                      passenger_rates)
from .params import KINDS, SEATS_PER_ROW, Params, TrainSpec, per_params

BLOCK = 256  # uniforms per block, as onboard._Uniforms takes them
URGENT, NORMAL = 0, 1  # SimPy's priorities: process initialisation before everything else
N_KINDS = len(KINDS)
STREAMS = ("behaviour", "control")  # the cars' streams: the enforced cars', then the control cars'
#: a car's states for the starts and expected starts (onboard.CarTotals): calm or noisy (another
#: violation running), outside or inside a damping window; state = noisy + 2 x damped
STATES = ("calm", "noisy", "calm_damped", "noisy_damped")

# --- codes: names declared once, numbered in order --------------------------------------------------
#: what an entry of the heap resumes (E_END: a violation's planned end; E_STOP: all cars arrived)
LOOP_EVENTS = ("car", "patrol", "respond", "duty", "hold", "release", "grant", "end", "failed", "complaint",
               "car_done", "stop")
(E_CAR, E_PATROL, E_RESPOND, E_DUTY, E_HOLD, E_RELEASE, E_GRANT, E_END, E_FAILED, E_COMPLAINT, E_CAR_DONE,
 E_STOP) = range(len(LOOP_EVENTS))
SELF, PEER, STAFF, ALIGHTING = (ENDERS.index(e) for e in ("self", "peer", "staff", "alighting"))
# what the trace records: codes of onboard.EVENTS (X_END + ender for the ends)
(X_BOARD, X_ALIGHT, X_START, X_END, X_DISTURBED, X_REMINDER_OK, X_REMINDER_FAILED, X_COMPLAINT, X_CALLED,
 X_INTERVENE, X_MOVED, X_PATROL_DUE, X_PATROL, X_PATROL_AT, X_PATROL_OUT) = (
    EVENTS.index(w) for w in ("board", "alight", "start", "end_" + ENDERS[0], "disturbed", "reminder_ok",
                              "reminder_failed", "complaint", "called", "intervene", "moved", "patrol_due",
                              "patrol", "patrol_at", "patrol_out"))
# where a process waits: a car, a patroller (its pass and sweep), the response to a complaint
S_LOOP, S_STOP, S_CAND, S_DONE = range(4)
P_INIT, P_TOP, P_DUE, P_GRANTED, P_SWEEP, P_WALK, P_ROW, P_ITER, P_SWEPT = range(9)
R_INIT, R_GRANTED, R_WALKED, R_DONE = range(4)
#: what may run short (then drawn longer, or given more room, and the journey run again)
SHORT_NAMES = ("short_uniforms", "short_staff", "short_room", "short_trace")
SHORT_CAR, SHORT_STAFF, SHORT_ROOM, SHORT_TRACE = range(1, len(SHORT_NAMES) + 1)
# first sizes of the arrays that may run short (any size gives the same journey; the tests
# set them to their least to run the redraw path): extra blocks per stream, staff uniforms,
# room (heap and crew queue), trace events
FIRST_BLOCKS, FIRST_STAFF, FIRST_ROOM, FIRST_TRACE = 2, 64, 64, 256

# --- the state: one row type per table -------------------------------------------------------------
i8, f8 = np.int64, np.float64


def _row(*fields) -> np.dtype:
    """A table's row type: (name, type) or (name, type, width) fields, aligned for compiled code."""
    return np.dtype(list(fields), align=True)


def _like(record: type, leave_out: tuple[str, ...] = ()) -> np.dtype:
    """The row type of a NamedTuple's fields (onboard.Violation, onboard.Event): floats, bools,
    and integers for everything else (names coded by their index); ``leave_out`` names fields the
    loop folds into others."""
    kinds = {float: f8, bool: np.bool_}
    return _row(*((name, kinds.get(kind, i8)) for name, kind in get_type_hints(record).items()
                  if name not in leave_out))


#: the model's parameters for one train (``_parameters``; run_min and crew set per train)
PARAMETERS = _row(
    ("run_min", f8), ("contagion", f8), ("damping", f8), ("damping_min", f8), ("warned_factor", f8),
    ("peer_delay", f8), ("peer_success", f8), ("after_failed", f8), ("complaint_delay", f8), ("period", f8),
    ("walk", f8), ("intervention", f8), ("staff_success", f8), ("response_walk", f8),
    ("complain", f8, (N_KINDS,)), ("detect", f8, (N_KINDS,)), ("reach", i8, (N_KINDS,)),
    ("crew", i8), ("patrollers", i8), ("cap", i8), ("contagion_on", i8), ("peers", i8), ("complaints", i8),
    ("escalation", i8), ("escalation_contacts", i8))
#: a traveller: seat row, trip (stops), state (``noisy``: the running violation or -1), board and
#: alight times (alight changes if moved out), probability of reminding a neighbour, unwarned rate
TRAVELLER = _row(
    ("row", i8), ("origin", i8), ("dest", i8), ("optin", i8), ("on", i8), ("noisy", i8), ("warned", i8),
    ("contacts", i8), ("moved", i8), ("boardings", i8), ("board", f8), ("alight", f8), ("peer_q", f8),
    ("rate", f8))
#: a car: its travellers [pax_from, pax_to), candidates [next_cand, cand_end), its process's state,
#: violations running, travellers on board and quiet (``q_rate``: their summed own rates), its
#: block of uniforms, its tallies (``starts`` and ``expected`` starts per state of STATES)
CAR = _row(
    ("pax_from", i8), ("pax_to", i8), ("rows", i8), ("enforced", i8), ("stream", i8), ("next_cand", i8),
    ("cand_end", i8), ("state", i8), ("next_stop", i8), ("running", i8), ("on", i8), ("quiet", i8),
    ("u_block", i8), ("u_used", i8), ("starts", i8, (len(STATES),)), ("peer_q_max", f8), ("last", f8),
    ("damp_until", f8), ("pax_min", f8), ("noisy_min", f8), ("q_rate", f8), ("expected", f8, (len(STATES),)))
#: a candidate start (onboard.draw_candidates): ``who`` is the traveller within its car
CANDIDATE = _row(("time", f8), ("accept", f8), ("length", f8), ("who", i8), ("kind", i8))
DUTY = _row(("arrival", f8), ("length", f8))
#: the journey's clock and counters (one row): the crew free, the heap's and the crew queue's
#: extent, what ran short, the blocks of uniforms taken per stream, ...
CLOCK = _row(
    ("now", f8), ("staff_min", f8), ("seq", i8), ("events", i8), ("heap_size", i8), ("free", i8),
    ("queue_head", i8), ("queue_tail", i8), ("interventions", i8), ("complaints", i8), ("violations", i8),
    ("ended", i8), ("staff_next", i8), ("cars_done", i8), ("enforced", i8), ("short", i8), ("tracing", i8),
    ("traced", i8), ("blocks", i8, (len(STREAMS),)))
#: a violation while it runs and once ended: the fields of onboard.Violation it knows (``ended_by``
#: planned, then actual) and its state (``ended``, ``called``, its response's ``respond``)
VIOLATION = _row(
    ("car", i8), ("pax", i8), ("kind", i8), ("row", i8), ("running_before", i8), ("neighbours", i8),
    ("ended", i8), ("called", i8), ("complaints", i8), ("staff_contacts", i8), ("ended_by", i8), ("moved", i8),
    ("reminded", i8), ("respond", i8), ("start", f8), ("end", f8), ("disturbed_pax_min", f8),
    ("disturbed_optin_pax_min", f8))
PATROLLER = _row(("state", i8), ("car", i8), ("row", i8), ("to", i8), ("cursor", i8), ("snap", i8),
                 ("phase", f8), ("due", f8))
HEAP = _row(("t", f8), ("prio", i8), ("seq", i8), ("ev", i8), ("idx", i8))
QUEUED = _row(("ev", i8), ("idx", i8))  # a request for a crew member
RECORD = _like(Violation)  # the output: onboard.Violation's fields, names by their codes
TRACE = _like(Event, leave_out=("control",))  # onboard.Event's; ``car`` counts the control cars after the others


def _words(row: np.dtype) -> int:
    """A row type's width in 8-byte words. `_journey` makes each table as zeroed words viewed as
    rows: np.zeros(n, ROW) would compile Numba's zeros anew for each row type (0.1-0.3 s each)."""
    assert row.itemsize % 8 == 0, row
    return row.itemsize // 8


(W_TRAVELLER, W_CAR, W_CANDIDATE, W_DUTY, W_CLOCK, W_VIOLATION, W_PATROLLER, W_HEAP, W_QUEUED, W_TRACE,
 W_RECORD) = map(_words, (TRAVELLER, CAR, CANDIDATE, DUTY, CLOCK, VIOLATION, PATROLLER, HEAP, QUEUED, TRACE, RECORD))

# One journey's state, shared by the compiled functions below: inputs (par, stops, cand, uniforms,
# staff_u, duties; read-only), tables the loop changes, and scratch (near, chosen, ctimes).
Journey = namedtuple("Journey", "par stops cars pax cand uniforms staff_u duties clock viol ended near chosen ctimes "
                                "pat heap queue trace")
# The inputs of `_journey`, grouped:
# Train: par the Params' parameters; bounds: travellers per car; groups: 1, or 2 with the control cars
Train = namedtuple("Train", "par run_min crew stops rows bounds groups")
# Seating: order the travellers car by car; signed whether each accepted the agreement (opt-in or
# overflow with agreement); weight each one's unwarned rate, in the loop's order (car by car, group by group)
Seating = namedtuple("Seating", "order origin dest row optin signed segment peer_q weight")
Candidates = namedtuple("Candidates", "time who accept kind length first")  # first: each car's first candidate
Draws = namedtuple("Draws", "uniforms staff_u duty_t duty_len")
Room = namedtuple("Room", "heap trace")


def _state_type():
    """Numba's type of a Journey: every field a C-contiguous, writable array."""
    z = np.zeros
    return typeof(Journey(
        par=z(1, PARAMETERS), stops=z(1), cars=z(1, CAR), pax=z(1, TRAVELLER), cand=z(1, CANDIDATE),
        uniforms=z((1, 1)), staff_u=z(1), duties=z(1, DUTY), clock=z(1, CLOCK), viol=z(1, VIOLATION),
        ended=z(1, i8), near=z(1, i8), chosen=z(1, i8), ctimes=z(1), pat=z(1, PATROLLER), heap=z(1, HEAP),
        queue=z(1, QUEUED), trace=z(1, TRACE)))


_S = _state_type()


def _compiled(restype, *argtypes):
    """A function of the loop: compiled once for the journey's state and these argument types
    (no specialisation on constant arguments), cached on disk, called only from compiled code."""
    return njit(restype(_S, *argtypes), cache=True, no_cpython_wrapper=True)


i64, f64, boolean, void = types.int64, types.float64, types.boolean, types.void


# --- SimPy's queue -----------------------------------------------------------------------------------
_HEAP = typeof(np.zeros(1, HEAP))  # compiled for it and two int64 (not also for a literal 0)


@njit(boolean(_HEAP, i64, i64), cache=True, no_cpython_wrapper=True)
def _earlier(heap, a, b):
    """Heap entry a comes before b: by time, then priority, then order of scheduling."""
    x, y = heap[a], heap[b]
    if x.t != y.t:
        return x.t < y.t
    if x.prio != y.prio:
        return x.prio < y.prio
    return x.seq < y.seq


@njit(void(_HEAP, i64, i64), cache=True, no_cpython_wrapper=True)
def _swap(heap, a, b):
    x, y = heap[a], heap[b]
    x.t, y.t = y.t, x.t
    x.prio, y.prio = y.prio, x.prio
    x.seq, y.seq = y.seq, x.seq
    x.ev, y.ev = y.ev, x.ev
    x.idx, y.idx = y.idx, x.idx


@_compiled(void, f64, i64, i64, i64)
def _push(s, t, prio, ev, idx):
    """Schedule event ``ev`` of ``idx`` at time t: SimPy's queue entry, in its order."""
    g, heap = s.clock[0], s.heap
    g.seq += 1
    k = g.heap_size
    if k == len(heap):
        g.short = SHORT_ROOM
        return
    g.heap_size = k + 1
    h = heap[k]
    h.t, h.prio, h.seq, h.ev, h.idx = t, prio, g.seq, ev, idx
    while k > 0:
        up = (k - 1) // 2
        if not _earlier(heap, k, up):
            break
        _swap(heap, k, up)
        k = up


@_compiled(i64)
def _pop(s):
    """Take the first entry out of the heap; it is left in the slot returned."""
    g, heap = s.clock[0], s.heap
    last = g.heap_size - 1
    _swap(heap, 0, last)
    g.heap_size = last
    k = 0
    while True:
        a, b, m = 2 * k + 1, 2 * k + 2, k
        if a < last and _earlier(heap, a, m):
            m = a
        if b < last and _earlier(heap, b, m):
            m = b
        if m == k:
            return last
        _swap(heap, k, m)
        k = m


@_compiled(void, f64, i64, i64)
def _after(s, delay, ev, idx):
    """A SimPy Timeout: due at now + delay."""
    _push(s, s.clock[0].now + delay, NORMAL, ev, idx)


# --- draws and the trace -----------------------------------------------------------------------------
@_compiled(f64, i64)
def _uniform(s, c):
    """Car c's next uniform: onboard._Uniforms, block by block from the car's stream."""
    car = s.cars[c]
    if car.u_used == BLOCK:
        g = s.clock[0]
        car.u_block = g.blocks[car.stream] * BLOCK
        g.blocks[car.stream] += 1
        car.u_used = 0
        if car.u_block + BLOCK > s.uniforms.shape[1]:
            g.short = SHORT_CAR
            car.u_block = 0
    car.u_used += 1
    return s.uniforms[car.stream, car.u_block + car.u_used - 1]


@_compiled(f64)
def _staff_uniform(s):
    """The staff stream's next uniform (its first ones are the patrol phases)."""
    g = s.clock[0]
    k = g.staff_next
    if k >= len(s.staff_u):
        g.short = SHORT_STAFF
        return 0.5
    g.staff_next = k + 1
    return s.staff_u[k]


@_compiled(i64, i64, i64, i64, i64)
def _log(s, what, c, i, kind):
    """onboard._Car._log: trace event ``what`` now, in car c (-1: the train), about traveller i
    and a violation of ``kind`` (each -1: none), in the traveller's row. Returns its slot, for
    the caller to set the Event's other fields, or -1 when not tracing."""
    g = s.clock[0]
    if not g.tracing:
        return -1
    x = g.traced
    if x == len(s.trace):
        g.short = SHORT_TRACE
        return -1
    g.traced = x + 1
    e = s.trace[x]
    e.minute, e.what, e.car, e.pax, e.kind = g.now, what, c, i, kind
    e.row = s.pax[i].row if i >= 0 else -1
    e.until, e.staff, e.by, e.reach = -1.0, -1, -1, 0
    return x


# --- a car: onboard._Car -------------------------------------------------------------------------------
@_compiled(void, i64)
def _advance(s, c):
    """onboard._Car._advance: the time-weighted levels of car c up to now (the expected starts
    split where a damping window closed since the last update)."""
    now, car = s.clock[0].now, s.cars[c]
    dt = now - car.last
    if dt > 0:
        car.pax_min += car.on * dt
        noisy = 1 if car.running else 0
        if noisy:
            car.noisy_min += dt
        until, last = car.damp_until, car.last
        if until > last:
            cut = until if until < now else now
            car.expected[2 + noisy] += car.q_rate * (cut - last)
            if now > cut:
                car.expected[noisy] += car.q_rate * (now - cut)
        else:
            car.expected[noisy] += car.q_rate * dt
        car.last = now


@_compiled(f64, i64)
def _own_rate(s, i):
    """onboard._Car.own_rate: traveller i's rate without contagion or damping."""
    who = s.pax[i]
    return who.rate * s.par[0].warned_factor if who.warned else who.rate


@_compiled(void, i64, f64)
def _quiet_rate(s, c, change):
    """onboard._Car._quiet_rate: add ``change`` to car c's summed own rates of quiet travellers
    (0 when none is left)."""
    car = s.cars[c]
    car.q_rate += change
    if car.quiet == 0:
        car.q_rate = 0.0


@_compiled(f64, i64)
def _multiplier(s, c):
    """onboard._Car.multiplier: contagion and enforcement damping in car c, now."""
    p, car = s.par[0], s.cars[c]
    m = 1.0
    if p.contagion_on:
        m = 1.0 + p.contagion * min(car.running, p.cap)
    if s.clock[0].now < car.damp_until:
        m *= 1.0 - p.damping
    return m


@_compiled(i64, i64, i64, f64, boolean)
def _some(s, c, k, p_max, use_p):
    """onboard._Car._some over the k travellers in ``near`` (with p = their peer_q if use_p),
    into ``chosen``; returns how many."""
    if p_max <= 0.0:
        return 0
    people, out, n, pax = s.near, s.chosen, 0, s.pax
    log_q = 0.0
    if p_max >= 1.0:
        pos = 0
    else:
        log_q = math.log1p(-p_max)
        x = math.log1p(-_uniform(s, c)) / log_q
        pos = k if x >= k else int(x)
    while pos < k:
        j = people[pos]
        if not use_p or pax[j].peer_q >= p_max or _uniform(s, c) * p_max < pax[j].peer_q:
            out[n] = j
            n += 1
        if p_max >= 1.0:
            pos += 1
        else:
            x = math.log1p(-_uniform(s, c)) / log_q
            pos = k if x >= k - pos else pos + 1 + int(x)
    return n


@_compiled(void, i64, i64, boolean)
def _end(s, v, by, move):
    """onboard._Car.end: violation v ends now, by ender ``by``; ``move`` takes the violator out."""
    vio = s.viol[v]
    if vio.ended:
        return
    c = vio.car
    car = s.cars[c]
    _advance(s, c)
    vio.ended = 1
    i = vio.pax
    car.running -= 1
    car.quiet += 1
    car.q_rate += _own_rate(s, i)  # as warned now: who warns does so before the end
    pax, g = s.pax, s.clock[0]  # arrays bound once: each s.<field> costs a reference count
    pax[i].noisy = -1
    kind = vio.kind
    t, start, reach, r = g.now, vio.start, s.par[0].reach[kind], pax[i].row
    _log(s, X_END + by, c, i, kind)
    disturbed = disturbed_optin = 0.0
    for j in range(car.pax_from, car.pax_to):  # the overlap with each neighbour's stay
        near = pax[j]
        if abs(near.row - r) <= reach:
            a = near.board if near.board > start else start
            b = near.alight if near.alight < t else t
            d = b - a
            if d > 0.0 and j != i:
                disturbed += d
                if near.optin:
                    disturbed_optin += d
                slot = _log(s, X_DISTURBED, c, j, kind)
                if slot >= 0:
                    e = s.trace[slot]
                    e.minute, e.until, e.by = a, b, i
    vio.end, vio.disturbed_pax_min, vio.disturbed_optin_pax_min = t, disturbed, disturbed_optin
    vio.ended_by, vio.moved = by, move
    s.ended[g.ended] = v
    g.ended += 1
    if move:
        pax[i].on = 0
        pax[i].moved = 1
        pax[i].alight = t
        car.on -= 1
        car.quiet -= 1
        _quiet_rate(s, c, -_own_rate(s, i))
        _log(s, X_MOVED, c, i, kind)


@_compiled(void, i64, i64, i64, f64)
def _start(s, c, i, kind, length):
    """onboard._Car.start: traveller i of car c starts a violation of ``kind`` lasting ``length``."""
    g, car, p = s.clock[0], s.cars[c], s.par[0]
    t = g.now
    _advance(s, c)
    car.starts[(1 if car.running else 0) + (2 if t < car.damp_until else 0)] += 1
    pax, near, chosen = s.pax, s.near, s.chosen
    r, reach = pax[i].row, p.reach[kind]
    k = 0
    for j in range(car.pax_from, car.pax_to):
        if pax[j].on and j != i and abs(pax[j].row - r) <= reach:
            near[k] = j
            k += 1
    v = g.violations
    g.violations += 1
    vio = s.viol[v]
    vio.car, vio.pax, vio.kind, vio.row, vio.running_before, vio.neighbours = c, i, kind, r, car.running, k
    vio.start = t
    car.running += 1
    car.quiet -= 1
    _quiet_rate(s, c, -_own_rate(s, i))
    pax[i].noisy = v
    slot = _log(s, X_START, c, i, kind)
    if slot >= 0:
        s.trace[slot].reach = reach
    end_t, ender, n_c = t + length, SELF, 0
    here = p.complaints and car.enforced
    if p.peers and k:
        tp = np.inf
        for x in range(_some(s, c, k, car.peer_q_max, True)):
            j = chosen[x]
            tj = t + -p.peer_delay * math.log1p(-_uniform(s, c))
            if tj < pax[j].alight and tj < tp:
                tp = tj
        if tp < end_t:
            if _uniform(s, c) < p.peer_success:
                end_t, ender = tp, PEER
            else:
                _after(s, tp - t, E_FAILED, v)
                if here and _uniform(s, c) < p.after_failed:
                    s.ctimes[n_c] = tp
                    n_c += 1
    if here and k:
        for x in range(_some(s, c, k, p.complain[kind], False)):
            j = chosen[x]
            tj = t + -p.complaint_delay * math.log1p(-_uniform(s, c))
            if tj < pax[j].alight:
                s.ctimes[n_c] = tj
                n_c += 1
    if n_c:
        times = s.ctimes
        for x in range(1, n_c):  # sorted (as np.sort, which compiles for a second): an insertion sort
            tx, y = times[x], x - 1
            while y >= 0 and times[y] > tx:
                times[y + 1] = times[y]
                y -= 1
            times[y + 1] = tx
        for x in range(n_c):
            if times[x] < end_t:
                _after(s, times[x] - t, E_COMPLAINT, v)
    if end_t < np.inf:
        vio.ended_by = ender
        _after(s, end_t - t, E_END, v)


@_compiled(void, i64, i64)
def _stop(s, c, k):
    """onboard._Car._stop: at stop k, travellers of car c alight (ending their violations), then board."""
    _advance(s, c)
    car, pax = s.cars[c], s.pax
    gone = boarded = 0
    for j in range(car.pax_from, car.pax_to):
        if pax[j].dest == k and not pax[j].moved:
            if pax[j].noisy >= 0:
                _end(s, pax[j].noisy, ALIGHTING, False)
            pax[j].on = 0
            car.q_rate -= _own_rate(s, j)
            gone += 1
            _log(s, X_ALIGHT, c, j, -1)
    for j in range(car.pax_from, car.pax_to):
        if pax[j].origin == k:
            pax[j].on = 1
            car.q_rate += _own_rate(s, j)
            pax[j].boardings += 1
            boarded += 1
            _log(s, X_BOARD, c, j, -1)
    car.on += boarded - gone
    car.quiet += boarded - gone
    _quiet_rate(s, c, 0.0)


@_compiled(void, i64)
def _car(s, c):
    """onboard._Car.process, from where car c waits to its next wait."""
    stops, now, car = s.stops, s.clock[0].now, s.cars[c]
    while True:
        st = car.state
        if st == S_STOP:
            _stop(s, c, car.next_stop)
            car.next_stop += 1
        elif st == S_CAND:
            cand = s.cand[car.next_cand]
            car.next_cand += 1
            i = car.pax_from + cand.who
            if s.pax[i].noisy < 0 and s.pax[i].on:
                m = _multiplier(s, c)
                if s.pax[i].warned:
                    m *= s.par[0].warned_factor
                if cand.accept < m:
                    _start(s, c, i, cand.kind, cand.length)
        x, k = car.next_cand, car.next_stop
        if x < car.cand_end:  # stops up to the next candidate, then the candidate
            t = s.cand[x].time
            stop_first = k < len(stops) and stops[k] <= t
            car.state = S_STOP if stop_first else S_CAND
            due = stops[k] if stop_first else t
        elif k < len(stops):  # the remaining stops
            car.state = S_STOP
            due = stops[k]
        else:
            _advance(s, c)
            car.state = S_DONE
            _push(s, now, NORMAL, E_CAR_DONE, c)
            return
        if due > now:
            _after(s, due - now, E_CAR, c)
            return


# --- the crew: onboard._Crew and onboard._Journey's staff processes -----------------------------------
@_compiled(void)
def _grant(s):
    """onboard._Crew._grant: a free crew member goes to the first request waiting."""
    g = s.clock[0]
    if g.free and g.queue_head < g.queue_tail:
        g.free -= 1
        q = s.queue[g.queue_head]
        g.queue_head += 1
        _push(s, g.now, NORMAL, q.ev, q.idx)


@_compiled(void, i64, i64)
def _request(s, ev, idx):
    """onboard._Crew.request: event ev of idx is scheduled when a crew member is its."""
    g = s.clock[0]
    k = g.queue_tail
    if k == len(s.queue):
        g.short = SHORT_ROOM
        return
    q = s.queue[k]
    q.ev, q.idx = ev, idx
    g.queue_tail = k + 1
    _grant(s)


@_compiled(void)
def _release(s):
    """onboard._Crew.release."""
    g = s.clock[0]
    g.free += 1
    if g.queue_head < g.queue_tail:
        _after(s, 0.0, E_GRANT, 0)


@_compiled(boolean, i64, i64, i64)
def _intervene(s, v, ev, idx):
    """onboard._Journey.intervene; True if the crew member is then held (until event ev of idx:
    patroller idx's, or the response to a complaint's)."""
    p, vio, g = s.par[0], s.viol[v], s.clock[0]
    g.interventions += 1
    g.staff_min += p.intervention
    vio.staff_contacts += 1
    i = vio.pax
    who = s.pax[i]
    who.contacts += 1
    if p.damping_min > 0:  # a damping window, damping on or off
        _advance(s, vio.car)
        s.cars[vio.car].damp_until = g.now + p.damping_min
    slot = _log(s, X_INTERVENE, vio.car, i, vio.kind)
    if slot >= 0:
        e = s.trace[slot]
        e.until, e.staff = g.now + p.intervention, idx if ev == E_PATROL else -1
    if _staff_uniform(s) < p.staff_success:
        who.warned = 1
        _end(s, v, STAFF, False)
    elif p.escalation and who.contacts >= p.escalation_contacts:
        _end(s, v, STAFF, True)
    else:
        who.warned = 1
    if p.intervention > 0:
        _after(s, p.intervention, ev, idx)
        return True
    return False


@_compiled(void, i64)
def _respond(s, v):
    """onboard._Journey.respond to violation v, from where it waits to its next wait."""
    vio = s.viol[v]
    st = vio.respond
    if st == R_INIT:
        vio.respond = R_GRANTED
        _request(s, E_RESPOND, v)
        return
    if st == R_GRANTED:
        g = s.clock[0]
        walk = s.par[0].response_walk
        g.staff_min += walk
        slot = _log(s, X_CALLED, vio.car, vio.pax, vio.kind)
        if slot >= 0:
            s.trace[slot].until = g.now + walk
        vio.respond = R_WALKED
        if walk > 0:
            _after(s, walk, E_RESPOND, v)
            return
        st = R_WALKED
    if st == R_WALKED:
        vio.respond = R_DONE
        if not vio.ended and _intervene(s, v, E_RESPOND, v):
            return
    _release(s)


@_compiled(void, i64, i64, i64)
def _log_patrol(s, what, p, row):
    """Trace patroller p's event ``what`` in its car, at ``row`` (-1: the door)."""
    slot = _log(s, what, s.pat[p].car, -1, -1)
    if slot >= 0:
        e = s.trace[slot]
        e.row, e.staff = row, p


@_compiled(void, i64)
def _patrol(s, p):
    """onboard._Journey.patrol and .sweep for patroller p, from where it waits to its next wait."""
    par, pat = s.par[0], s.pat[p]
    period, walk = par.period, par.walk
    while True:
        st, now = pat.state, s.clock[0].now
        if st == P_INIT:
            pat.phase = period * s.staff_u[p]
            pat.due = pat.phase
            pat.state = P_TOP
        elif st == P_TOP:
            if pat.due >= par.run_min:
                return
            pat.state = P_DUE
            if pat.due > now:
                _after(s, pat.due - now, E_PATROL, p)
                return
        elif st == P_DUE:
            slot = _log(s, X_PATROL_DUE, -1, -1, -1)
            if slot >= 0:
                s.trace[slot].staff = p
            pat.state = P_GRANTED
            _request(s, E_PATROL, p)
            return
        elif st == P_GRANTED:
            pat.car, pat.row, pat.state = 0, 0, P_SWEEP
            _log_patrol(s, X_PATROL, p, -1)
        elif st == P_SWEEP:  # at row pat.row of car pat.car (sweep's loop)
            c = pat.car
            if c == s.clock[0].enforced:
                _release(s)
                pat.due = pat.phase + math.ceil((now - pat.phase) / period + 1e-12) * period
                pat.state = P_TOP
                continue
            car = s.cars[c]
            rows, r = car.rows, pat.row
            if r >= rows:
                pat.state = P_SWEPT
                continue
            step = walk / rows
            if step > 0:
                k, viol = rows, s.viol
                for v in range(s.clock[0].violations):
                    x = viol[v]
                    if x.car == c and not x.ended and r <= x.row < k:
                        k = x.row
                if car.next_cand < car.cand_end:  # rows reached at or after the next candidate
                    nxt = s.cand[car.next_cand].time
                    k = min(k, r + max(0, math.ceil((nxt - now) / step - 1.0)))
                if k >= rows:
                    pat.state = P_SWEPT
                    _after(s, (rows - r) * step, E_PATROL, p)
                    return
                pat.to, pat.state = k, P_WALK
                _after(s, (k - r + 1) * step, E_PATROL, p)
                return
            pat.state = P_ROW
        elif st == P_WALK:
            pat.row, pat.state = pat.to, P_ROW
            _log_patrol(s, X_PATROL_AT, p, pat.to)
        elif st == P_ROW:  # the violations running in this row now, in order of start
            pat.cursor, pat.snap, pat.state = 0, s.clock[0].violations, P_ITER
        elif st == P_ITER:
            c, r, viol = pat.car, pat.row, s.viol
            while pat.cursor < pat.snap:
                v = pat.cursor
                pat.cursor += 1
                x = viol[v]
                if x.car == c and x.row == r and not x.ended:
                    if _staff_uniform(s) < par.detect[x.kind] and _intervene(s, v, E_PATROL, p):
                        return
            pat.row, pat.state = r + 1, P_SWEEP
        else:  # P_SWEPT: on to the next car
            _log_patrol(s, X_PATROL_OUT, p, s.cars[pat.car].rows - 1)
            pat.car, pat.row, pat.state = pat.car + 1, 0, P_SWEEP
            if pat.car < s.clock[0].enforced:
                _log_patrol(s, X_PATROL, p, -1)


# --- the loop --------------------------------------------------------------------------------------------
@_compiled(void)
def _run_loop(s):
    """SimPy's start (the cars' and patrollers' processes, then the duties' arrivals) and event
    loop, until every car has arrived (or an array has run short)."""
    g = s.clock[0]
    n_cars = len(s.cars)
    for c in range(n_cars):
        _push(s, 0.0, URGENT, E_CAR, c)
    for p in range(len(s.pat)):
        _push(s, 0.0, URGENT, E_PATROL, p)
    for d in range(len(s.duties)):
        _push(s, s.duties[d].arrival, NORMAL, E_DUTY, d)
    while g.heap_size and not g.short:
        h = s.heap[_pop(s)]
        g.now = h.t
        ev, idx = h.ev, h.idx
        g.events += 1
        if ev == E_CAR:
            _car(s, idx)
        elif ev == E_END:  # onboard._Car._natural_end
            vio = s.viol[idx]
            if not vio.ended:
                if vio.ended_by == PEER:
                    s.pax[vio.pax].warned = 1
                    vio.reminded = 1
                    _log(s, X_REMINDER_OK, vio.car, vio.pax, vio.kind)
                _end(s, idx, vio.ended_by, False)
        elif ev == E_PATROL:
            _patrol(s, idx)
        elif ev == E_DUTY:
            _request(s, E_HOLD, idx)
        elif ev == E_HOLD:
            _after(s, s.duties[idx].length, E_RELEASE, idx)
        elif ev == E_RELEASE:
            _release(s)
        elif ev == E_GRANT:
            _grant(s)
        elif ev == E_COMPLAINT:  # onboard._Car._complaint
            vio = s.viol[idx]
            if not vio.ended:
                vio.complaints += 1
                g.complaints += 1
                _log(s, X_COMPLAINT, vio.car, vio.pax, vio.kind)
                if not vio.called:
                    vio.called = 1
                    _push(s, g.now, URGENT, E_RESPOND, idx)
        elif ev == E_RESPOND:
            _respond(s, idx)
        elif ev == E_FAILED:  # onboard._Car._failed_reminder
            vio = s.viol[idx]
            if not vio.ended:
                s.pax[vio.pax].warned = 1
                vio.reminded = 1
                _log(s, X_REMINDER_FAILED, vio.car, vio.pax, vio.kind)
        elif ev == E_CAR_DONE:  # env.run(until=all_of(cars))
            g.cars_done += 1
            if g.cars_done == n_cars:
                _push(s, g.now, NORMAL, E_STOP, 0)
        else:  # E_STOP
            break


# --- one journey -----------------------------------------------------------------------------------------
@njit(cache=True, no_cpython_wrapper=True)
def _before(a, b) -> bool:
    """Record a sorts before record b as onboard._Journey._result sorts them: by (control, start,
    car, traveller)."""
    if a.control != b.control:
        return a.control < b.control
    if a.start != b.start:
        return a.start < b.start
    if a.car != b.car:
        return a.car < b.car
    return a.pax < b.pax


@njit(cache=True)
def _journey(train, seating, candidates, draws, room):
    """Build one journey's tables from the travellers (``seating.order``: car by car,
    ``train.bounds`` per car) and the candidates of each car of each group (the enforced cars,
    then the control cars), run it, and return its clock (what ran short, counters, staff
    minutes), the records sorted as `onboard` sorts them, the cars, the travellers and the
    trace (traced when ``room.trace`` > 0)."""
    n, n_cars, groups, stops = len(seating.order), len(train.rows), train.groups, train.stops
    pax = np.zeros(groups * n * W_TRAVELLER, i8).view(TRAVELLER)
    for g in range(groups):
        for x in range(n):
            t, src = pax[g * n + x], seating.order[x]
            o, d, opt = seating.origin[src], seating.dest[src], seating.optin[src]
            t.row, t.origin, t.dest, t.optin, t.noisy = seating.row[src], o, d, opt, -1
            t.board, t.alight = stops[o], stops[d]
            t.peer_q = seating.peer_q[seating.segment[src], 1 if seating.signed[src] else 0]
            t.rate = seating.weight[g * n + x]
    cars = np.zeros(groups * n_cars * W_CAR, i8).view(CAR)
    for c in range(len(cars)):
        g, k = c // n_cars, c % n_cars
        car = cars[c]
        car.pax_from, car.pax_to = g * n + train.bounds[k], g * n + train.bounds[k + 1]
        car.rows, car.enforced, car.stream, car.state = train.rows[k], g == 0, g, S_LOOP
        car.next_cand, car.cand_end, car.u_used = candidates.first[c], candidates.first[c + 1], BLOCK
        car.damp_until = -np.inf
        for j in range(car.pax_from, car.pax_to):
            car.peer_q_max = max(car.peer_q_max, pax[j].peer_q)
    m = len(candidates.time)
    cand = np.zeros(m * W_CANDIDATE, i8).view(CANDIDATE)
    for x in range(m):
        e = cand[x]
        e.time, e.accept, e.length = candidates.time[x], candidates.accept[x], candidates.length[x]
        e.who, e.kind = candidates.who[x], candidates.kind[x]
    duties = np.zeros(len(draws.duty_t) * W_DUTY, i8).view(DUTY)
    for x in range(len(duties)):
        duties[x].arrival, duties[x].length = draws.duty_t[x], draws.duty_len[x]
    pars = train.par.copy()  # the Params' parameters, and this train's
    par = pars[0]
    par.run_min, par.crew = train.run_min, train.crew
    cap, n_pat = m + 1, par.patrollers  # at most one violation per candidate
    clock = np.zeros(W_CLOCK, i8).view(CLOCK)
    g0 = clock[0]
    g0.free, g0.staff_next, g0.enforced, g0.tracing = par.crew, n_pat, n_cars, room.trace > 0  # the
    # first staff uniforms are the patrol phases
    s = Journey(pars, stops, cars, pax, cand, draws.uniforms, draws.staff_u, duties, clock,
                np.zeros(cap * W_VIOLATION, i8).view(VIOLATION), np.zeros(cap, i8), np.zeros(n + 1, i8),
                np.zeros(n + 1, i8), np.zeros(n + 2, i8).view(f8), np.zeros(n_pat * W_PATROLLER, i8).view(PATROLLER),
                np.zeros(room.heap * W_HEAP, i8).view(HEAP), np.zeros(room.heap * W_QUEUED, i8).view(QUEUED),
                np.zeros(room.trace * W_TRACE, i8).view(TRACE))
    _run_loop(s)
    records = np.zeros(g0.ended * W_RECORD, i8).view(RECORD)
    for x in range(len(records)):  # in the order they ended, as onboard._Car.end records them
        vio, r = s.viol[s.ended[x]], records[x]
        c, src = vio.car, seating.order[vio.pax % n]
        r.control, r.car, r.pax, r.segment, r.optin = c >= n_cars, c % n_cars, src, seating.segment[src], \
            seating.optin[src]
        r.kind, r.start, r.end, r.ended_by, r.moved = vio.kind, vio.start, vio.end, vio.ended_by, vio.moved
        r.running_before, r.neighbours, r.complaints, r.staff_contacts = (vio.running_before, vio.neighbours,
                                                                           vio.complaints, vio.staff_contacts)
        r.disturbed_pax_min, r.disturbed_optin_pax_min = vio.disturbed_pax_min, vio.disturbed_optin_pax_min
        r.reminded = vio.reminded
    order = np.zeros(len(records), i8)
    for x in range(len(order)):
        order[x] = x
    for x in range(1, len(order)):  # insertion sort (stable): the records come nearly in order
        k, y = order[x], x - 1
        while y >= 0 and _before(records[k], records[order[y]]):
            order[y + 1] = order[y]
            y -= 1
        order[y + 1] = k
    return clock, records[order], cars, pax, s.trace[:g0.traced]


@njit(cache=True)
def _bounds(rates, weight, board, alight, m_max):
    """onboard.rate_shares and the Poisson means of onboard.draw_candidates, for travellers whose
    total rate ``weight`` numpy has summed: cumulative kind shares and m_max x weight x span."""
    n, kinds = rates.shape
    kind_cum, lam = np.empty((n, kinds)), np.empty(n)
    for j in range(n):
        w = weight[j]
        total = 0.0
        for k in range(kinds):
            total = rates[j, k] if k == 0 else total + rates[j, k]
            kind_cum[j, k] = total / w if w > 0.0 else 1.0
        lam[j] = m_max * w * (alight[j] - board[j])
    return kind_cum, lam


@njit(cache=True)
def _stable_order(keys):
    """np.argsort(keys, kind="stable") for finite keys (any stable sort gives the same order):
    insertion sorts of runs of 16, then merges, which compile in a fraction of the time of numpy's."""
    n, run = len(keys), 16
    order, merged = np.empty(n, np.int64), np.empty(n, np.int64)
    for x in range(n):
        k, y = keys[x], x - 1
        while y >= x - x % run and keys[order[y]] > k:  # within the run, after any equal key
            order[y + 1] = order[y]
            y -= 1
        order[y + 1] = x
    width = run
    while width < n:
        for lo in range(0, n, 2 * width):
            mid, hi = min(lo + width, n), min(lo + 2 * width, n)
            a, b = lo, mid
            for x in range(lo, hi):  # the left run's first unless the right run's is smaller
                if a < mid and (b == hi or keys[order[b]] >= keys[order[a]]):
                    merged[x] = order[a]
                    a += 1
                else:
                    merged[x] = order[b]
                    b += 1
        order, merged = merged, order
        width *= 2
    return order


# one car's travellers as draw_candidates needs them: planned stays, kind shares, the bound
# multiplier and the log-normal lengths' parameters per kind
CarDraw = namedtuple("CarDraw", "board alight kind_cum m_max mu sigma")


@njit(cache=True)
def _assemble(count, u, z, car):
    """onboard.draw_candidates after its draws (``count`` per traveller, ``u`` its 3n uniforms,
    ``z`` its n normals) for ``car`` (a CarDraw): times in order, traveller, acceptance draw, kind
    and the log-normal's exponent (numpy takes the exp, as onboard does)."""
    n = len(z)
    board, alight, kind_cum = car.board, car.alight, car.kind_cum
    who = np.empty(n, np.int64)
    x = 0
    for j in range(len(count)):
        for _ in range(count[j]):
            who[x] = j
            x += 1
    times = np.empty(n)
    for x in range(n):
        j = who[x]
        times[x] = board[j] + u[x] * (alight[j] - board[j])
    order = _stable_order(times)  # as onboard's np.argsort(times, kind="stable")
    t_out, w_out, accept = np.empty(n), np.empty(n, np.int64), np.empty(n)
    kind, exponent = np.empty(n, np.int64), np.empty(n)
    for x in range(n):
        j = who[order[x]]
        t_out[x], w_out[x], accept[x] = times[order[x]], j, u[n + x] * car.m_max
        k = 0
        for c in range(kind_cum.shape[1] - 1):
            if u[2 * n + x] >= kind_cum[j, c]:
                k += 1
        kind[x] = k
        exponent[x] = car.mu[k] + car.sigma[k] * z[x]
    return t_out, w_out, accept, kind, exponent


def _candidates(rng, rates, weight, stay: tuple, lengths: tuple) -> tuple:
    """onboard.draw_candidates for one car (the same draws, the same arrays), its arithmetic
    compiled; ``weight`` the travellers' total rates (``rates.sum(axis=1)``, as
    onboard.rate_shares), ``stay`` their (board, alight) times, ``lengths`` (m_max, mu, sigma) of
    `onboard._constants`."""
    (board, alight), (m_max, mu, sigma) = stay, lengths
    kind_cum, lam = _bounds(rates, weight, board, alight, m_max)
    count = rng.poisson(lam)
    n = int(count.sum())
    u = rng.random(3 * n)
    times, who, accept, kind, exponent = _assemble(count, u, rng.standard_normal(n),
                                                   CarDraw(board, alight, kind_cum, m_max, mu, sigma))
    return times, who, accept, kind, np.exp(exponent)


@per_params
def _parameters(params: Params) -> tuple[np.ndarray, np.ndarray, int]:
    """The loop's parameters (one PARAMETERS row; run_min and crew are set per train), the
    peer-reminder table and the number of patrollers, computed once per Params object."""
    b, st, sw = params.behaviour, params.staff, params.switches
    reach, peer_q = _constants(params)[3:]
    par = np.zeros(1, PARAMETERS)
    for name, value in dict(
            contagion=b.contagion, damping=b.enforcement_damping if sw.damping else 0.0, damping_min=b.damping_min,
            warned_factor=b.warned_factor if sw.warned else 1.0, peer_delay=b.peer_delay_mean,
            peer_success=b.peer_success, after_failed=b.complain_after_failed,
            complaint_delay=b.complaint_delay_mean, period=st.patrol_interval, walk=st.patrol_walk,
            intervention=st.intervention_min, staff_success=st.staff_success, response_walk=st.response_walk,
            complain=b.complain, detect=st.detect, reach=reach, patrollers=st.patrol_staff if sw.patrols else 0,
            cap=b.contagion_cap, contagion_on=sw.contagion, peers=sw.peers, complaints=sw.complaints,
            escalation=st.escalation, escalation_contacts=st.escalation_contacts).items():
        par[name] = value
    unset = set(PARAMETERS.names) - {"run_min", "crew"} - set(par.dtype.names)
    assert not unset, unset
    return par, np.asarray(peer_q, dtype=float), int(par["patrollers"][0])


_NAMES = {"kind": KINDS, "ended_by": ENDERS, "what": EVENTS}  # names by their codes
_KIND_OR_NONE = np.array([*KINDS, ""], dtype=object)  # index -1: no kind
_HINTS = tuple(get_type_hints(Violation).items())


def _records(table: np.ndarray) -> tuple[Violation, ...]:
    """The Violation records of a RECORD table, field by field, with Python bools, ints, floats and
    strings (as onboard makes them; the names from their codes)."""
    columns = []
    for name, kind in _HINTS:
        column = table[name].tolist()
        if kind is str:
            names = _NAMES[name]
            column = [names[code] for code in column]
        columns.append(column)
    return tuple(map(Violation, *columns))


def _trace(trace: np.ndarray, order: np.ndarray, n_cars: int) -> list[Event]:
    """The loop's trace as the Events `onboard` traces (travellers by their index in the train;
    the loop counts the control cars after the enforced ones)."""
    n = len(order)
    fields = {}
    for name in ("pax", "by"):  # the loop's travellers are car by car, enforced cars then control cars
        local = trace[name]
        mapped = np.full(len(local), -1, dtype=np.int64)
        some = local >= 0
        mapped[some] = order[local[some] % n] if n else -1
        fields[name] = mapped.tolist()
    car = trace["car"]
    fields.update(minute=trace["minute"].tolist(), what=[EVENTS[code] for code in trace["what"].tolist()],
                  car=np.where(car >= 0, car % n_cars, -1).tolist(), control=(car >= n_cars).tolist(),
                  kind=_KIND_OR_NONE[trace["kind"]].tolist(),
                  **{name: trace[name].tolist() for name in ("row", "until", "staff", "reach")})
    return list(map(Event, *(fields[name] for name in Event._fields)))


def run_journey(spec: TrainSpec, params: Params, pax: QuietPassengers, rngs, *,
                counts: dict | None = None, trace: list | None = None) -> OnboardResult:
    """Simulate the journey of one train's quiet car(s): what `onboard.run_onboard` gives.
    ``rngs`` holds the ``behaviour``, ``staff`` and ``control`` generators. If ``trace`` is a
    list, the journey's events are appended to it (`onboard.Event`, the very events
    `onboard.run_onboard` traces). If ``counts`` is a dict, the events scheduled and processed
    are added to it (``events``, ``processed``), and how often each array ran short and the
    journey was run again (``short_uniforms``, ``short_staff``, ``short_room``, ``short_trace``)."""
    st, sw = params.staff, params.switches
    if not spec.quiet_seats:  # no quiet car: nothing happens that the records hold
        nothing = np.zeros(0)
        return OnboardResult(violations=(), cars=(), control=(), board_time=nothing, alight_time=nothing.copy(),
                             boardings=np.zeros(0, dtype=np.int64), moved=np.zeros(0, dtype=bool), interventions=0,
                             staff_min=0.0, complaints=0)
    lengths = _constants(params)[:3]  # m_max and the log-normal lengths' mu and sigma per kind
    par, peer_q_table, patrollers = _parameters(params)
    stops = np.asarray(spec.stop_times())
    n_cars = len(spec.quiet_seats)
    # one car (most trains): travellers are already in car order, and skipping the reordering
    # here, for the rates and in the results saves ~0.06 ms per train (measured; ~10 % on board)
    if n_cars == 1:
        order, bounds = np.arange(pax.n), [0, pax.n]
    else:  # travellers car by car, in traveller order
        order = np.argsort(pax.car, kind="stable")
        bounds = [0, *np.cumsum(np.bincount(pax.car, minlength=n_cars)).tolist()]
    board, alight = (stops[pax.origin], stops[pax.dest]) if n_cars == 1 else (stops[pax.origin[order]],
                                                                              stops[pax.dest[order]])
    # the cars' candidates (car by car, as their processes start) and the blocks of uniforms
    # after them, from the behaviour stream and, for the control cars, the control stream
    groups = [(True, rngs["behaviour"])] + ([(False, rngs["control"])] if sw.control_car else [])
    cands, first, uniforms, weights = [], [0], [], []
    for agreement, rng in groups:
        rates = passenger_rates(pax, params, agreement)
        if n_cars > 1:
            rates = rates[order]
        for c in range(n_cars):
            a, z = bounds[c], bounds[c + 1]
            weights.append(rates[a:z].sum(axis=1))
            cands.append(_candidates(rng, rates[a:z], weights[-1], (board[a:z], alight[a:z]), lengths))
            first.append(first[-1] + len(cands[-1][0]))
        uniforms.append(rng.random(BLOCK * (n_cars + FIRST_BLOCKS)))
    cand = [np.concatenate([d[f] for d in cands]) for f in range(5)] if len(cands) > 1 else cands[0]
    candidates = Candidates(*cand, np.asarray(first))
    # the staff stream: the other duties (drawn before the run), then the patrol phases
    duty_t = duty_len = np.zeros(0)
    if sw.other_duties and st.other_duty_load > 0:
        duty_t, duty_len = draw_duties(st, spec, rngs["staff"])
    staff_u = rngs["staff"].random(patrollers + FIRST_STAFF)
    rows = np.array([-(-q // SEATS_PER_ROW) for q in spec.quiet_seats], dtype=np.int64)
    train = Train(par, spec.run_min, spec.crew, stops, rows, np.asarray(bounds), len(groups))
    seating = Seating(order, pax.origin, pax.dest, pax.row, pax.optin, pax.signed, pax.segment, peer_q_table,
                      np.concatenate(weights))
    room = Room(heap=max(1, FIRST_ROOM + 2 * (len(duty_t) + len(cand[0]))),
                trace=0 if trace is None else max(1, FIRST_TRACE + 2 * len(groups) * pax.n + 20 * len(cand[0])))
    reruns = [0] * len(SHORT_NAMES)
    while True:  # should an array run short: draw it longer (the stream goes on) and run again
        u = uniforms[0][None, :] if len(uniforms) == 1 else np.stack(uniforms)
        clock, records, cars, travellers, traced = _journey(train, seating, candidates,
                                                            Draws(u, staff_u, duty_t, duty_len), room)
        clock = dict(zip(CLOCK.names, clock.tolist()[0]))
        short = clock["short"]
        if short == 0:
            break
        reruns[short - 1] += 1
        if short == SHORT_CAR:
            uniforms = [np.concatenate((x, rng.random(len(x) + BLOCK))) for x, (_, rng) in zip(uniforms, groups)]
        elif short == SHORT_STAFF:
            staff_u = np.concatenate((staff_u, rngs["staff"].random(len(staff_u) + 1)))
        elif short == SHORT_ROOM:
            room = room._replace(heap=2 * room.heap + 1)
        else:
            room = room._replace(trace=2 * room.trace + 1)
    if counts is not None:
        for key, value in (("events", clock["seq"]), ("processed", clock["events"]),
                           *zip(SHORT_NAMES, reruns)):
            counts[key] = counts.get(key, 0) + int(value)
    if trace is not None:
        trace.extend(_trace(traced, order, n_cars))
    n = len(order)
    totals = []
    stay, boardings_all, optin_all = travellers["alight"] - travellers["board"], travellers["boardings"], \
        travellers["optin"] > 0
    for c, row in enumerate(cars.tolist()):
        car = dict(zip(CAR.names, row))
        a, z = (c // n_cars) * n + bounds[c % n_cars], (c // n_cars) * n + bounds[c % n_cars + 1]
        starts, expected = dict(zip(STATES, car["starts"])), dict(zip(STATES, car["expected"]))
        totals.append(CarTotals(
            car_min=spec.run_min, pax_min=car["pax_min"], noisy_min=car["noisy_min"],
            calm_starts=starts["calm"] + starts["calm_damped"], noisy_starts=starts["noisy"] + starts["noisy_damped"],
            calm_damped_starts=starts["calm_damped"], noisy_damped_starts=starts["noisy_damped"],
            expected_calm=expected["calm"], expected_noisy=expected["noisy"],
            expected_calm_damped=expected["calm_damped"], expected_noisy_damped=expected["noisy_damped"],
            passengers=int(boardings_all[a:z].sum()), optin_pax_min=float(stay[a:z][optin_all[a:z]].sum())))
    first_group = travellers[:n]
    if n_cars == 1:
        board_time, alight_time = first_group["board"].copy(), first_group["alight"].copy()
        boardings, moved = first_group["boardings"].copy(), first_group["moved"] > 0
    else:
        board_time, alight_time = np.empty(n), np.empty(n)
        boardings, moved = np.empty(n, dtype=np.int64), np.empty(n, dtype=bool)
        board_time[order], alight_time[order] = first_group["board"], first_group["alight"]
        boardings[order], moved[order] = first_group["boardings"], first_group["moved"] > 0
    return OnboardResult(violations=_records(records),
                         cars=tuple(totals[:n_cars]), control=tuple(totals[n_cars:]), board_time=board_time,
                         alight_time=alight_time, boardings=boardings, moved=moved,
                         interventions=clock["interventions"], staff_min=clock["staff_min"],
                         complaints=clock["complaints"])
