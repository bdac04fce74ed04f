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

So a journey gives the very records of `onboard._Journey`, checked on thousands of trains in
`tests/test_onboard_loop.py`. Traces (the classroom demo) use `onboard`; this is the engine of
network runs. Times are minutes after departure; the model records, never prints or writes.
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit, typeof, types

from .booking import QuietPassengers
from .onboard import ENDERS, CarTotals, OnboardResult, Violation, _constants, draw_duties, passenger_rates
from .params import KINDS, SEATS_PER_ROW, Params, TrainSpec, per_params

BLOCK = 256  # uniforms per block, as onboard._Uniforms takes them
URGENT, NORMAL = 0, 1  # SimPy's priorities: process initialisation before everything else
# events
E_CAR, E_PATROL, E_RESPOND, E_DUTY, E_HOLD, E_RELEASE, E_GRANT = 0, 1, 2, 3, 4, 5, 6
E_END, E_FAILED, E_COMPLAINT, E_CAR_DONE, E_STOP = 7, 8, 9, 10, 11
SELF, PEER, STAFF, ALIGHTING = 0, 1, 2, 3  # enders, as onboard.ENDERS
# where a process waits
S_LOOP, S_STOP, S_CAND, S_DONE = 0, 1, 2, 3  # car
P_INIT, P_TOP, P_DUE, P_GRANTED, P_SWEEP, P_WALK, P_ROW, P_ITER, P_SWEPT = range(9)  # patrol
R_INIT, R_GRANTED, R_WALKED, R_DONE = 0, 1, 2, 3  # response to a complaint
# parameters: floats (fp) and integers (ip), by position
(F_RUN, F_CONTAGION, F_DAMPING, F_DAMPING_MIN, F_WARNED, F_PEER_DELAY, F_PEER_SUCCESS,
 F_AFTER_FAILED, F_COMPLAINT_DELAY, F_PERIOD, F_WALK, F_INTERVENTION, F_STAFF_SUCCESS,
 F_RESPONSE_WALK) = range(14)
F_COMPLAIN, F_DETECT, N_FP = 14, 18, 22  # then 4 per kind each
I_CREW, I_PATROLLERS, I_CAP, I_CONTAGION, I_PEERS, I_COMPLAINTS, I_ESCALATION, I_ESC_CONTACTS = range(8)
I_REACH, N_IP = 8, 12  # then 4 per kind
# columns of the state's tables
(T_ROW, T_ORIGIN, T_DEST, T_OPTIN, T_ON, T_NOISY, T_WARNED, T_CONTACTS, T_MOVED,
 T_BOARDINGS) = range(10)  # travellers, integers (T_NOISY: the running violation or -1)
T_BOARD, T_ALIGHT, T_PEER_Q, T_RATE = range(4)  # travellers, floats (T_ALIGHT changes if moved out;
# T_RATE: the unwarned rate)
(CI_START, CI_END, CI_ROWS, CI_ENFORCED, CI_STREAM, CI_CAND1, CI_STATE, CI_NEXT, CI_STOP,
 CI_V, CI_ON, CI_QUIET, CI_UBLK, CI_UK) = range(14)  # cars, integers (CI_NEXT: next candidate, CI_CAND1: past the last)
CF_PEER_Q_MAX, CF_LAST, CF_DAMP, CF_PAX_MIN, CF_NOISY_MIN, CF_QRATE = range(6)  # cars, floats
CF_EXPECTED, CF_STARTS, N_CF = 6, 10, 14  # then 4 each: calm, noisy, calm damped, noisy damped
A_TIME, A_ACCEPT, A_LEN = range(3)  # candidates, floats
A_WHO, A_KIND = range(2)  # candidates, integers (A_WHO: the traveller within its car)
(VI_CAR, VI_PAX, VI_KIND, VI_ROW, VI_BEFORE, VI_NB, VI_ENDED, VI_CALLED, VI_COMPLAINTS, VI_CONTACTS,
 VI_ENDER, VI_MOVED, VI_RESPOND, VI_REMINDED) = range(14)  # violations, integers (VI_ENDER: planned, then actual)
VF_START, VF_END, VF_DIST, VF_DIST_OPTIN = range(4)  # violations, floats
PI_STATE, PI_CAR, PI_ROW, PI_TO, PI_CURSOR, PI_SNAP = range(6)  # patrollers, integers
PF_PHASE, PF_DUE = range(2)  # patrollers, floats
H_PRIO, H_SEQ, H_EV, H_IDX = range(4)  # heap entries, after their time h_t
# counters (gi) and clock (gf)
(G_SEQ, G_FREE, G_INTERVENTIONS, G_COMPLAINTS, G_NV, G_SPTR, G_DONE, G_SHORT, G_NREC, G_HEAD, G_TAIL,
 G_HN, G_EVENTS, G_ENFORCED, G_BLOCKS) = range(15)  # G_BLOCKS, +1: blocks taken per stream
N_GI = 17
NOW, STAFF_MIN = 0, 1
SHORT_CAR, SHORT_STAFF, SHORT_ROOM = 1, 2, 3  # what ran short
SHORT_NAMES = ("short_uniforms", "short_staff", "short_room")
# first sizes of the arrays that may run short (any size gives the same journey; the tests
# set them to their least to run the redraw path)
FIRST_BLOCKS, FIRST_STAFF, FIRST_ROOM = 2, 64, 64  # extra blocks per stream, staff uniforms, room

# One journey's state, shared by the compiled functions below: inputs (fp, ip, stops, cand_*,
# u_streams, staff_u, duties; read-only) and tables the loop changes.
Journey = namedtuple("Journey", [
    "fp", "ip", "stops", "car_i", "car_f", "pax_i", "pax_f", "cand_f", "cand_i", "u_streams", "staff_u",
    "duties", "gi", "gf", "v_i", "v_f", "records", "buf", "ctimes", "pat_i", "pat_f", "h_t", "h_i", "queue"])


def _state_type():
    """Numba's type of a Journey: every field a C-contiguous, writable array."""
    f1, f2, i1, i2 = np.zeros(1), np.zeros((1, 1)), np.zeros(1, np.int64), np.zeros((1, 1), np.int64)
    like = dict(fp=f1, ip=i1, stops=f1, car_i=i2, car_f=f2, pax_i=i2, pax_f=f2, cand_f=f2, cand_i=i2,
                u_streams=f2, staff_u=f1, duties=f2, gi=i1, gf=f1, v_i=i2, v_f=f2, records=i1, buf=i2,
                ctimes=f1, pat_i=i2, pat_f=f2, h_t=f1, h_i=i2, queue=i2)
    return typeof(Journey(**like))


_S = _state_type()


def _compiled(restype, *argtypes):
    """A function of the loop: compiled once for the journey's state and these argument types
    (no specialisation on constant arguments), cached on disk, called only from compiled code."""
    return njit(restype(_S, *argtypes), cache=True, no_cpython_wrapper=True)


i64, f64, boolean, void = types.int64, types.float64, types.boolean, types.void


@njit(cache=True, no_cpython_wrapper=True)
def _earlier(h_t, h_i, a, b):
    """Heap entry a comes before b: by time, then priority, then order of scheduling."""
    if h_t[a] != h_t[b]:
        return h_t[a] < h_t[b]
    if h_i[a, H_PRIO] != h_i[b, H_PRIO]:
        return h_i[a, H_PRIO] < h_i[b, H_PRIO]
    return h_i[a, H_SEQ] < h_i[b, H_SEQ]


@njit(cache=True, no_cpython_wrapper=True)
def _swap(h_t, h_i, a, b):
    h_t[a], h_t[b] = h_t[b], h_t[a]
    for k in range(4):
        h_i[a, k], h_i[b, k] = h_i[b, k], h_i[a, k]


@_compiled(void, f64, i64, i64, i64)
def _push(s, t, prio, ev, idx):
    """Schedule event ``ev`` of ``idx`` at time t: SimPy's queue entry, in its order."""
    gi, h_t, h_i = s.gi, s.h_t, s.h_i
    gi[G_SEQ] += 1
    k = gi[G_HN]
    if k == len(h_t):
        gi[G_SHORT] = SHORT_ROOM
        return
    gi[G_HN] = k + 1
    h_t[k] = t
    h_i[k, H_PRIO], h_i[k, H_SEQ], h_i[k, H_EV], h_i[k, H_IDX] = prio, gi[G_SEQ], ev, idx
    while k > 0:
        up = (k - 1) // 2
        if not _earlier(h_t, h_i, k, up):
            break
        _swap(h_t, h_i, k, up)
        k = up


@_compiled(i64)
def _pop(s):
    """Take the first entry out of the heap; it is left in the slot returned."""
    gi, h_t, h_i = s.gi, s.h_t, s.h_i
    last = gi[G_HN] - 1
    _swap(h_t, h_i, 0, last)
    gi[G_HN] = last
    k = 0
    while True:
        a, b, m = 2 * k + 1, 2 * k + 2, k
        if a < last and _earlier(h_t, h_i, a, m):
            m = a
        if b < last and _earlier(h_t, h_i, b, m):
            m = b
        if m == k:
            return last
        _swap(h_t, h_i, k, m)
        k = m


@_compiled(void, f64, i64, i64)
def _after(s, delay, ev, idx):
    """A SimPy Timeout: due at now + delay."""
    _push(s, s.gf[NOW] + delay, NORMAL, ev, idx)


@_compiled(f64, i64)
def _uniform(s, c):
    """Car c's next uniform: onboard._Uniforms, block by block from the car's stream."""
    car = s.car_i[c]
    if car[CI_UK] == BLOCK:
        g = car[CI_STREAM]
        car[CI_UBLK] = s.gi[G_BLOCKS + g] * BLOCK
        s.gi[G_BLOCKS + g] += 1
        car[CI_UK] = 0
        if car[CI_UBLK] + BLOCK > s.u_streams.shape[1]:
            s.gi[G_SHORT] = SHORT_CAR
            car[CI_UBLK] = 0
    car[CI_UK] += 1
    return s.u_streams[car[CI_STREAM], car[CI_UBLK] + car[CI_UK] - 1]


@_compiled(f64)
def _staff_uniform(s):
    """The staff stream's next uniform (its first ones are the patrol phases)."""
    k = s.gi[G_SPTR]
    if k >= len(s.staff_u):
        s.gi[G_SHORT] = SHORT_STAFF
        return 0.5
    s.gi[G_SPTR] = k + 1
    return s.staff_u[k]


@_compiled(void, i64)
def _advance(s, c):
    """onboard._Car._advance: the time-weighted levels of car c up to now."""
    now, car, cf = s.gf[NOW], s.car_i[c], s.car_f[c]
    dt = now - cf[CF_LAST]
    if dt > 0:
        cf[CF_PAX_MIN] += car[CI_ON] * dt
        noisy = 1 if car[CI_V] else 0
        if noisy:
            cf[CF_NOISY_MIN] += dt
        until, last = cf[CF_DAMP], cf[CF_LAST]
        if until > last:
            cut = until if until < now else now
            cf[CF_EXPECTED + 2 + noisy] += cf[CF_QRATE] * (cut - last)
            if now > cut:
                cf[CF_EXPECTED + noisy] += cf[CF_QRATE] * (now - cut)
        else:
            cf[CF_EXPECTED + noisy] += cf[CF_QRATE] * dt
        cf[CF_LAST] = now


@_compiled(f64, i64)
def _own_rate(s, i):
    """onboard._Car.own_rate: traveller i's rate without contagion or damping."""
    w = s.pax_f[i, T_RATE]
    return w * s.fp[F_WARNED] if s.pax_i[i, T_WARNED] else w


@_compiled(void, i64, f64)
def _quiet_rate(s, c, change):
    """Add ``change`` to car c's summed own rates of quiet travellers (0 when none is left)."""
    s.car_f[c, CF_QRATE] += change
    if s.car_i[c, CI_QUIET] == 0:
        s.car_f[c, CF_QRATE] = 0.0


@_compiled(f64, i64)
def _multiplier(s, c):
    """onboard._Car.multiplier: contagion and enforcement damping in car c, now."""
    m = 1.0
    if s.ip[I_CONTAGION]:
        m = 1.0 + s.fp[F_CONTAGION] * min(s.car_i[c, CI_V], s.ip[I_CAP])
    if s.gf[NOW] < s.car_f[c, CF_DAMP]:
        m *= 1.0 - s.fp[F_DAMPING]
    return m


@_compiled(i64, i64, i64, f64, boolean)
def _some(s, c, k, p_max, use_p):
    """onboard._Car._some over the k travellers in buf[0] (with p = their peer_q if use_p), into
    buf[1]; returns how many."""
    if p_max <= 0.0:
        return 0
    people, out, n, pax_f = s.buf[0], s.buf[1], 0, s.pax_f
    log_q = 0.0
    if p_max >= 1.0:
        pos = 0
    else:
        log_q = math.log1p(-p_max)
        x = math.log1p(-_uniform(s, c)) / log_q
        pos = k if x >= k else int(x)
    while pos < k:
        j = people[pos]
        if not use_p or pax_f[j, T_PEER_Q] >= p_max or _uniform(s, c) * p_max < pax_f[j, T_PEER_Q]:
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
    vi, vf = s.v_i[v], s.v_f[v]
    if vi[VI_ENDED]:
        return
    c = vi[VI_CAR]
    car = s.car_i[c]
    _advance(s, c)
    vi[VI_ENDED] = 1
    i = vi[VI_PAX]
    car[CI_V] -= 1
    car[CI_QUIET] += 1
    s.car_f[c, CF_QRATE] += _own_rate(s, i)  # as warned now: who warns does so before the end
    s.pax_i[i, T_NOISY] = -1
    pax_i, pax_f = s.pax_i, s.pax_f  # arrays bound once: each s.<field> costs a reference count
    t, start, reach, r = s.gf[NOW], vf[VF_START], s.ip[I_REACH + vi[VI_KIND]], pax_i[i, T_ROW]
    disturbed = disturbed_optin = 0.0
    for j in range(car[CI_START], car[CI_END]):  # the overlap with each neighbour's stay
        if abs(pax_i[j, T_ROW] - r) <= reach:
            off, on = pax_f[j, T_ALIGHT], pax_f[j, T_BOARD]
            d = (off if off < t else t) - (on if on > start else start)
            if d > 0.0 and j != i:
                disturbed += d
                if pax_i[j, T_OPTIN]:
                    disturbed_optin += d
    vf[VF_END], vf[VF_DIST], vf[VF_DIST_OPTIN] = t, disturbed, disturbed_optin
    vi[VI_ENDER], vi[VI_MOVED] = by, move
    s.records[s.gi[G_NREC]] = v
    s.gi[G_NREC] += 1
    if move:
        s.pax_i[i, T_ON] = 0
        s.pax_i[i, T_MOVED] = 1
        s.pax_f[i, T_ALIGHT] = t
        car[CI_ON] -= 1
        car[CI_QUIET] -= 1
        _quiet_rate(s, c, -_own_rate(s, i))


@_compiled(void, i64, i64, i64, f64)
def _start(s, c, i, kind, length):
    """onboard._Car.start: traveller i of car c starts a violation of ``kind`` lasting ``length``."""
    t, car, fp = s.gf[NOW], s.car_i[c], s.fp
    _advance(s, c)
    s.car_f[c, CF_STARTS + (1 if car[CI_V] else 0) + (2 if t < s.car_f[c, CF_DAMP] else 0)] += 1
    near, k, pax_i, pax_f, sel = s.buf[0], 0, s.pax_i, s.pax_f, s.buf[1]
    r, reach = pax_i[i, T_ROW], s.ip[I_REACH + kind]
    for j in range(car[CI_START], car[CI_END]):
        if pax_i[j, T_ON] and j != i and abs(pax_i[j, T_ROW] - r) <= reach:
            near[k] = j
            k += 1
    v = s.gi[G_NV]
    s.gi[G_NV] += 1
    vi = s.v_i[v]
    vi[VI_CAR], vi[VI_PAX], vi[VI_KIND], vi[VI_ROW], vi[VI_BEFORE], vi[VI_NB] = c, i, kind, r, car[CI_V], k
    s.v_f[v, VF_START] = t
    car[CI_V] += 1
    car[CI_QUIET] -= 1
    _quiet_rate(s, c, -_own_rate(s, i))
    s.pax_i[i, T_NOISY] = v
    end_t, ender, n_c = t + length, SELF, 0
    here = s.ip[I_COMPLAINTS] and car[CI_ENFORCED]
    if s.ip[I_PEERS] and k:
        tp = np.inf
        for x in range(_some(s, c, k, s.car_f[c, CF_PEER_Q_MAX], True)):
            j = sel[x]
            tj = t + -fp[F_PEER_DELAY] * math.log1p(-_uniform(s, c))
            if tj < pax_f[j, T_ALIGHT] and tj < tp:
                tp = tj
        if tp < end_t:
            if _uniform(s, c) < fp[F_PEER_SUCCESS]:
                end_t, ender = tp, PEER
            else:
                _after(s, tp - t, E_FAILED, v)
                if here and _uniform(s, c) < fp[F_AFTER_FAILED]:
                    s.ctimes[n_c] = tp
                    n_c += 1
    if here and k:
        for x in range(_some(s, c, k, fp[F_COMPLAIN + kind], False)):
            j = sel[x]
            tj = t + -fp[F_COMPLAINT_DELAY] * math.log1p(-_uniform(s, c))
            if tj < pax_f[j, T_ALIGHT]:
                s.ctimes[n_c] = tj
                n_c += 1
    if n_c:
        times = np.sort(s.ctimes[:n_c])
        for x in range(n_c):
            if times[x] < end_t:
                _after(s, times[x] - t, E_COMPLAINT, v)
    if end_t < np.inf:
        vi[VI_ENDER] = ender
        _after(s, end_t - t, E_END, v)


@_compiled(void, i64, i64)
def _stop(s, c, k):
    """onboard._Car._stop: at stop k, travellers of car c alight (ending their violations), then board."""
    _advance(s, c)
    car, pax = s.car_i[c], s.pax_i
    gone = boarded = 0
    for j in range(car[CI_START], car[CI_END]):
        if pax[j, T_DEST] == k and not pax[j, T_MOVED]:
            if pax[j, T_NOISY] >= 0:
                _end(s, pax[j, T_NOISY], ALIGHTING, False)
            pax[j, T_ON] = 0
            s.car_f[c, CF_QRATE] -= _own_rate(s, j)
            gone += 1
    for j in range(car[CI_START], car[CI_END]):
        if pax[j, T_ORIGIN] == k:
            pax[j, T_ON] = 1
            s.car_f[c, CF_QRATE] += _own_rate(s, j)
            pax[j, T_BOARDINGS] += 1
            boarded += 1
    car[CI_ON] += boarded - gone
    car[CI_QUIET] += boarded - gone
    _quiet_rate(s, c, 0.0)


@_compiled(void, i64)
def _car(s, c):
    """onboard._Car.process, from where car c waits to its next wait."""
    stops, now, car = s.stops, s.gf[NOW], s.car_i[c]
    while True:
        st = car[CI_STATE]
        if st == S_STOP:
            _stop(s, c, car[CI_STOP])
            car[CI_STOP] += 1
        elif st == S_CAND:
            x = car[CI_NEXT]
            car[CI_NEXT] += 1
            i = car[CI_START] + s.cand_i[x, A_WHO]
            if s.pax_i[i, T_NOISY] < 0 and s.pax_i[i, T_ON]:
                m = _multiplier(s, c)
                if s.pax_i[i, T_WARNED]:
                    m *= s.fp[F_WARNED]
                if s.cand_f[x, A_ACCEPT] < m:
                    _start(s, c, i, s.cand_i[x, A_KIND], s.cand_f[x, A_LEN])
        x, k = car[CI_NEXT], car[CI_STOP]
        if x < car[CI_CAND1]:  # stops up to the next candidate, then the candidate
            t = s.cand_f[x, A_TIME]
            stop_first = k < len(stops) and stops[k] <= t
            car[CI_STATE] = S_STOP if stop_first else S_CAND
            due = stops[k] if stop_first else t
        elif k < len(stops):  # the remaining stops
            car[CI_STATE] = S_STOP
            due = stops[k]
        else:
            _advance(s, c)
            car[CI_STATE] = S_DONE
            _push(s, now, NORMAL, E_CAR_DONE, c)
            return
        if due > now:
            _after(s, due - now, E_CAR, c)
            return


@_compiled(void)
def _grant(s):
    """onboard._Crew._grant: a free crew member goes to the first request waiting."""
    if s.gi[G_FREE] and s.gi[G_HEAD] < s.gi[G_TAIL]:
        s.gi[G_FREE] -= 1
        h = s.gi[G_HEAD]
        s.gi[G_HEAD] = h + 1
        _push(s, s.gf[NOW], NORMAL, s.queue[h, 0], s.queue[h, 1])


@_compiled(void, i64, i64)
def _request(s, ev, idx):
    """onboard._Crew.request: event ev of idx is scheduled when a crew member is its."""
    k = s.gi[G_TAIL]
    if k == len(s.queue):
        s.gi[G_SHORT] = SHORT_ROOM
        return
    s.queue[k, 0], s.queue[k, 1] = ev, idx
    s.gi[G_TAIL] = k + 1
    _grant(s)


@_compiled(void)
def _release(s):
    """onboard._Crew.release."""
    s.gi[G_FREE] += 1
    if s.gi[G_HEAD] < s.gi[G_TAIL]:
        _after(s, 0.0, E_GRANT, 0)


@_compiled(boolean, i64, i64, i64)
def _intervene(s, v, ev, idx):
    """onboard._Journey.intervene; True if the crew member is then held (until event ev of idx)."""
    fp, vi = s.fp, s.v_i[v]
    s.gi[G_INTERVENTIONS] += 1
    s.gf[STAFF_MIN] += fp[F_INTERVENTION]
    vi[VI_CONTACTS] += 1
    i = vi[VI_PAX]
    s.pax_i[i, T_CONTACTS] += 1
    if fp[F_DAMPING_MIN] > 0:  # a damping window, damping on or off
        _advance(s, vi[VI_CAR])
        s.car_f[vi[VI_CAR], CF_DAMP] = s.gf[NOW] + fp[F_DAMPING_MIN]
    if _staff_uniform(s) < fp[F_STAFF_SUCCESS]:
        s.pax_i[i, T_WARNED] = 1
        _end(s, v, STAFF, False)
    elif s.ip[I_ESCALATION] and s.pax_i[i, T_CONTACTS] >= s.ip[I_ESC_CONTACTS]:
        _end(s, v, STAFF, True)
    else:
        s.pax_i[i, T_WARNED] = 1
    if fp[F_INTERVENTION] > 0:
        _after(s, fp[F_INTERVENTION], ev, idx)
        return True
    return False


@_compiled(void, i64)
def _respond(s, v):
    """onboard._Journey.respond to violation v, from where it waits to its next wait."""
    vi = s.v_i[v]
    st = vi[VI_RESPOND]
    if st == R_INIT:
        vi[VI_RESPOND] = R_GRANTED
        _request(s, E_RESPOND, v)
        return
    if st == R_GRANTED:
        walk = s.fp[F_RESPONSE_WALK]
        s.gf[STAFF_MIN] += walk
        vi[VI_RESPOND] = R_WALKED
        if walk > 0:
            _after(s, walk, E_RESPOND, v)
            return
        st = R_WALKED
    if st == R_WALKED:
        vi[VI_RESPOND] = R_DONE
        if not vi[VI_ENDED] and _intervene(s, v, E_RESPOND, v):
            return
    _release(s)


@_compiled(void, i64)
def _patrol(s, p):
    """onboard._Journey.patrol and .sweep for patroller p, from where it waits to its next wait."""
    period, walk, pi, pf = s.fp[F_PERIOD], s.fp[F_WALK], s.pat_i[p], s.pat_f[p]
    while True:
        st, now = pi[PI_STATE], s.gf[NOW]
        if st == P_INIT:
            pf[PF_PHASE] = period * s.staff_u[p]
            pf[PF_DUE] = pf[PF_PHASE]
            pi[PI_STATE] = P_TOP
        elif st == P_TOP:
            if pf[PF_DUE] >= s.fp[F_RUN]:
                return
            pi[PI_STATE] = P_DUE
            if pf[PF_DUE] > now:
                _after(s, pf[PF_DUE] - now, E_PATROL, p)
                return
        elif st == P_DUE:
            pi[PI_STATE] = P_GRANTED
            _request(s, E_PATROL, p)
            return
        elif st == P_GRANTED:
            pi[PI_CAR], pi[PI_ROW], pi[PI_STATE] = 0, 0, P_SWEEP
        elif st == P_SWEEP:  # at row PI_ROW of car PI_CAR (sweep's loop)
            c = pi[PI_CAR]
            if c == s.gi[G_ENFORCED]:
                _release(s)
                pf[PF_DUE] = pf[PF_PHASE] + math.ceil((now - pf[PF_PHASE]) / period + 1e-12) * period
                pi[PI_STATE] = P_TOP
                continue
            car = s.car_i[c]
            rows, r = car[CI_ROWS], pi[PI_ROW]
            if r >= rows:
                pi[PI_STATE] = P_SWEPT
                continue
            step = walk / rows
            if step > 0:
                k, v_i = rows, s.v_i
                for v in range(s.gi[G_NV]):
                    if v_i[v, VI_CAR] == c and not v_i[v, VI_ENDED] and r <= v_i[v, VI_ROW] < k:
                        k = v_i[v, VI_ROW]
                if car[CI_NEXT] < car[CI_CAND1]:  # rows reached at or after the next candidate
                    nxt = s.cand_f[car[CI_NEXT], A_TIME]
                    k = min(k, r + max(0, math.ceil((nxt - now) / step - 1.0)))
                if k >= rows:
                    pi[PI_STATE] = P_SWEPT
                    _after(s, (rows - r) * step, E_PATROL, p)
                    return
                pi[PI_TO], pi[PI_STATE] = k, P_WALK
                _after(s, (k - r + 1) * step, E_PATROL, p)
                return
            pi[PI_STATE] = P_ROW
        elif st == P_WALK:
            pi[PI_ROW], pi[PI_STATE] = pi[PI_TO], P_ROW
        elif st == P_ROW:  # the violations running in this row now, in order of start
            pi[PI_CURSOR], pi[PI_SNAP], pi[PI_STATE] = 0, s.gi[G_NV], P_ITER
        elif st == P_ITER:
            c, r, v_i = pi[PI_CAR], pi[PI_ROW], s.v_i
            while pi[PI_CURSOR] < pi[PI_SNAP]:
                v = pi[PI_CURSOR]
                pi[PI_CURSOR] += 1
                vi = v_i[v]
                if vi[VI_CAR] == c and vi[VI_ROW] == r and not vi[VI_ENDED]:
                    if _staff_uniform(s) < s.fp[F_DETECT + vi[VI_KIND]] and _intervene(s, v, E_PATROL, p):
                        return
            pi[PI_ROW], pi[PI_STATE] = r + 1, P_SWEEP
        else:  # P_SWEPT: on to the next car
            pi[PI_CAR], pi[PI_ROW], pi[PI_STATE] = pi[PI_CAR] + 1, 0, P_SWEEP


@_compiled(void)
def _run_loop(s):
    """SimPy's start (the cars' and patrollers' processes, then the duties' arrivals) and event
    loop, until every car has arrived (or an array has run short)."""
    n_cars = len(s.car_i)
    for c in range(n_cars):
        _push(s, 0.0, URGENT, E_CAR, c)
    for p in range(len(s.pat_i)):
        _push(s, 0.0, URGENT, E_PATROL, p)
    for d in range(len(s.duties)):
        _push(s, s.duties[d, 0], NORMAL, E_DUTY, d)
    while s.gi[G_HN] and not s.gi[G_SHORT]:
        k = _pop(s)
        s.gf[NOW] = s.h_t[k]
        ev, idx = s.h_i[k, H_EV], s.h_i[k, H_IDX]
        s.gi[G_EVENTS] += 1
        if ev == E_CAR:
            _car(s, idx)
        elif ev == E_END:  # onboard._Car._natural_end
            if not s.v_i[idx, VI_ENDED]:
                if s.v_i[idx, VI_ENDER] == PEER:
                    s.pax_i[s.v_i[idx, VI_PAX], T_WARNED] = 1
                    s.v_i[idx, VI_REMINDED] = 1
                _end(s, idx, s.v_i[idx, VI_ENDER], False)
        elif ev == E_PATROL:
            _patrol(s, idx)
        elif ev == E_DUTY:
            _request(s, E_HOLD, idx)
        elif ev == E_HOLD:
            _after(s, s.duties[idx, 1], E_RELEASE, idx)
        elif ev == E_RELEASE:
            _release(s)
        elif ev == E_GRANT:
            _grant(s)
        elif ev == E_COMPLAINT:  # onboard._Car._complaint
            vi = s.v_i[idx]
            if not vi[VI_ENDED]:
                vi[VI_COMPLAINTS] += 1
                s.gi[G_COMPLAINTS] += 1
                if not vi[VI_CALLED]:
                    vi[VI_CALLED] = 1
                    _push(s, s.gf[NOW], URGENT, E_RESPOND, idx)
        elif ev == E_RESPOND:
            _respond(s, idx)
        elif ev == E_FAILED:  # onboard._Car._failed_reminder
            if not s.v_i[idx, VI_ENDED]:
                s.pax_i[s.v_i[idx, VI_PAX], T_WARNED] = 1
                s.v_i[idx, VI_REMINDED] = 1
        elif ev == E_CAR_DONE:  # env.run(until=all_of(cars))
            s.gi[G_DONE] += 1
            if s.gi[G_DONE] == n_cars:
                _push(s, s.gf[NOW], NORMAL, E_STOP, 0)
        else:  # E_STOP
            break


@njit(cache=True)
def _journey(run_min, crew, stops, fp, ip, order, bounds, rows, origin, dest, row, optin, signed, segment, peer_q_table,
             weights, groups, cand_time, cand_who, cand_accept, cand_kind, cand_len, cand_first, u_streams, staff_u,
             duty_t, duty_len, room):
    """Build one journey's tables from the travellers (``order``: car by car, ``bounds`` per car)
    and the candidates of each car of each group (the enforced cars, then the control cars), run
    it, and return its counters (shortfall, interventions, complaints, events scheduled and
    processed), the staff minutes, the records sorted as `onboard` sorts them (integer and float
    fields), the cars' tallies and the travellers' tables."""
    n, n_cars = len(order), len(rows)
    n_all = groups * n_cars
    fp, ip = fp.copy(), ip.copy()
    fp[F_RUN], ip[I_CREW] = run_min, crew
    pax_i, pax_f = np.zeros((groups * n, 10), np.int64), np.zeros((groups * n, 4))
    for g in range(groups):
        for x in range(n):
            j, src = g * n + x, order[x]
            o, d, opt = origin[src], dest[src], optin[src]
            pax_i[j, T_ROW], pax_i[j, T_ORIGIN], pax_i[j, T_DEST], pax_i[j, T_OPTIN] = row[src], o, d, opt
            pax_i[j, T_NOISY] = -1
            pax_f[j, T_BOARD], pax_f[j, T_ALIGHT] = stops[o], stops[d]
            pax_f[j, T_PEER_Q] = peer_q_table[segment[src], 1 if signed[src] else 0]
            pax_f[j, T_RATE] = weights[j]
    car_i, car_f = np.zeros((n_all, CI_UK + 1), np.int64), np.zeros((n_all, N_CF))
    for c in range(n_all):
        g, k = c // n_cars, c % n_cars
        car = car_i[c]
        car[CI_START], car[CI_END] = g * n + bounds[k], g * n + bounds[k + 1]
        car[CI_ROWS], car[CI_ENFORCED], car[CI_STREAM], car[CI_STATE] = rows[k], g == 0, g, S_LOOP
        car[CI_CAND1], car[CI_NEXT], car[CI_UK] = cand_first[c + 1], cand_first[c], BLOCK
        car_f[c, CF_DAMP] = -np.inf
        for j in range(car[CI_START], car[CI_END]):
            car_f[c, CF_PEER_Q_MAX] = max(car_f[c, CF_PEER_Q_MAX], pax_f[j, T_PEER_Q])
    m = len(cand_time)
    cand_f, cand_i = np.empty((m, 3)), np.empty((m, 2), np.int64)
    cand_f[:, A_TIME], cand_f[:, A_ACCEPT], cand_f[:, A_LEN] = cand_time, cand_accept, cand_len
    cand_i[:, A_WHO], cand_i[:, A_KIND] = cand_who, cand_kind
    duties = np.empty((len(duty_t), 2))
    duties[:, 0], duties[:, 1] = duty_t, duty_len
    cap, n_pat = m + 1, ip[I_PATROLLERS]  # at most one violation per candidate
    gi = np.zeros(N_GI, np.int64)
    gi[G_FREE], gi[G_SPTR] = crew, n_pat  # the first staff uniforms are the patrol phases
    gi[G_ENFORCED] = n_cars
    s = Journey(fp, ip, stops, car_i, car_f, pax_i, pax_f, cand_f, cand_i, u_streams, staff_u, duties, gi,
                np.zeros(2), np.zeros((cap, VI_REMINDED + 1), np.int64), np.zeros((cap, 4)), np.zeros(cap, np.int64),
                np.zeros((2, n + 1), np.int64), np.zeros(n + 2), np.zeros((n_pat, 6), np.int64),
                np.zeros((n_pat, 2)), np.zeros(room), np.zeros((room, 4), np.int64), np.zeros((room, 2), np.int64))
    _run_loop(s)
    # the records, by (control, start, car, traveller) as onboard._Journey._result sorts them
    nrec = gi[G_NREC]
    rec_i, rec_f = np.empty((nrec, 13), np.int64), np.empty((nrec, 4))
    for x in range(nrec):
        v = s.records[x]
        vi, vf = s.v_i[v], s.v_f[v]
        c = vi[VI_CAR]
        src = order[vi[VI_PAX] % n]
        rec_i[x, 0], rec_i[x, 1], rec_i[x, 2], rec_i[x, 3] = c >= n_cars, c % n_cars, src, segment[src]
        rec_i[x, 4], rec_i[x, 5], rec_i[x, 6], rec_i[x, 7] = optin[src], vi[VI_KIND], vi[VI_ENDER], vi[VI_MOVED]
        rec_i[x, 8], rec_i[x, 9], rec_i[x, 10], rec_i[x, 11] = (vi[VI_BEFORE], vi[VI_NB], vi[VI_COMPLAINTS],
                                                                 vi[VI_CONTACTS])
        rec_i[x, 12] = vi[VI_REMINDED]
        rec_f[x, 0], rec_f[x, 1], rec_f[x, 2], rec_f[x, 3] = vf[VF_START], vf[VF_END], vf[VF_DIST], vf[VF_DIST_OPTIN]
    for x in range(1, nrec):  # insertion sort: the records come nearly in order
        ki, kf = rec_i[x].copy(), rec_f[x].copy()
        y = x - 1
        while y >= 0 and (rec_i[y, 0] > ki[0] or (rec_i[y, 0] == ki[0] and (
                rec_f[y, 0] > kf[0] or (rec_f[y, 0] == kf[0] and (
                    rec_i[y, 1] > ki[1] or (rec_i[y, 1] == ki[1] and rec_i[y, 2] > ki[2])))))):
            rec_i[y + 1], rec_f[y + 1] = rec_i[y], rec_f[y]
            y -= 1
        rec_i[y + 1], rec_f[y + 1] = ki, kf
    counts = np.array([gi[G_SHORT], gi[G_INTERVENTIONS], gi[G_COMPLAINTS], gi[G_SEQ], gi[G_EVENTS]])
    return counts, s.gf[STAFF_MIN], rec_i, rec_f, s.car_f, s.pax_i, s.pax_f


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
def _assemble(count, u, z, board, alight, kind_cum, m_max, mu, sigma):
    """onboard.draw_candidates after its draws (``count`` per traveller, ``u`` its 3n uniforms,
    ``z`` its n normals): times in order, traveller, acceptance draw, kind and the log-normal's
    exponent (numpy takes the exp, as onboard does)."""
    n = len(z)
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
    order = np.argsort(times, kind="mergesort")  # stable, as onboard's
    t_out, w_out, accept = np.empty(n), np.empty(n, np.int64), np.empty(n)
    kind, exponent = np.empty(n, np.int64), np.empty(n)
    for x in range(n):
        j = who[order[x]]
        t_out[x], w_out[x], accept[x] = times[order[x]], j, u[n + x] * m_max
        k = 0
        for c in range(kind_cum.shape[1] - 1):
            if u[2 * n + x] >= kind_cum[j, c]:
                k += 1
        kind[x] = k
        exponent[x] = mu[k] + sigma[k] * z[x]
    return t_out, w_out, accept, kind, exponent


def _candidates(rng, rates, weight, board, alight, m_max, mu, sigma) -> tuple:
    """onboard.draw_candidates for one car (the same draws, the same arrays), its arithmetic
    compiled; ``weight`` the travellers' total rates (``rates.sum(axis=1)``, as onboard.rate_shares)."""
    kind_cum, lam = _bounds(rates, weight, board, alight, m_max)
    count = rng.poisson(lam)
    n = int(count.sum())
    u = rng.random(3 * n)
    times, who, accept, kind, exponent = _assemble(count, u, rng.standard_normal(n), board, alight, kind_cum,
                                                   m_max, mu, sigma)
    return times, who, accept, kind, np.exp(exponent)


@per_params
def _parameters(params: Params) -> tuple:
    """The loop's parameter arrays (fp, ip; F_RUN and I_CREW set per train) and the
    peer-reminder table, computed once per Params object."""
    b, st, sw = params.behaviour, params.staff, params.switches
    reach, peer_q = _constants(params)[3:]
    fp = np.array([0.0, b.contagion, b.enforcement_damping if sw.damping else 0.0, b.damping_min,
                   b.warned_factor if sw.warned else 1.0, b.peer_delay_mean, b.peer_success,
                   b.complain_after_failed, b.complaint_delay_mean, st.patrol_interval, st.patrol_walk,
                   st.intervention_min, st.staff_success, st.response_walk, *b.complain, *st.detect], dtype=float)
    ip = np.array([0, st.patrol_staff if sw.patrols else 0, b.contagion_cap, sw.contagion, sw.peers,
                   sw.complaints, st.escalation, st.escalation_contacts, *reach], dtype=np.int64)
    assert len(fp) == N_FP and len(ip) == N_IP, "the parameter layout above and these arrays disagree"
    return fp, ip, np.asarray(peer_q, dtype=float)


_KIND_NAMES, _ENDER_NAMES = np.array(KINDS, dtype=object), np.array(ENDERS, dtype=object)


def _columns(rec_i: np.ndarray, rec_f: np.ndarray) -> list[list]:
    """The fields of the Violation records, column by column, as Python bools, ints, floats and
    strings (as onboard makes them)."""
    i, f = rec_i.T, rec_f.T
    return [(i[0] > 0).tolist(), i[1].tolist(), i[2].tolist(), i[3].tolist(), (i[4] > 0).tolist(),
            _KIND_NAMES[i[5]].tolist(), f[0].tolist(), f[1].tolist(), _ENDER_NAMES[i[6]].tolist(),
            (i[7] > 0).tolist(), i[8].tolist(), i[9].tolist(), f[2].tolist(), f[3].tolist(), i[10].tolist(),
            i[11].tolist(), (i[12] > 0).tolist()]


def run_journey(spec: TrainSpec, params: Params, pax: QuietPassengers, rngs,
                counts: dict | None = None) -> OnboardResult:
    """Simulate the journey of one train's quiet car(s): what `onboard.run_onboard` gives without
    a trace. ``rngs`` holds the ``behaviour``, ``staff`` and ``control`` generators. If ``counts``
    is a dict, the events scheduled and processed are added to it (``events``, ``processed``), and
    how often each array ran short and the journey was run again (``short_uniforms``,
    ``short_staff``, ``short_room``)."""
    st, sw = params.staff, params.switches
    if not spec.quiet_seats:  # no quiet car: nothing happens that the records hold
        nothing = np.zeros(0)
        return OnboardResult(violations=(), cars=(), control=(), board_time=nothing, alight_time=nothing.copy(),
                             boardings=np.zeros(0, dtype=np.int64), moved=np.zeros(0, dtype=bool), interventions=0,
                             staff_min=0.0, complaints=0)
    m_max, dur_mu, dur_sigma = _constants(params)[:3]
    fp, ip, peer_q_table = _parameters(params)
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
            cands.append(_candidates(rng, rates[a:z], weights[-1], board[a:z], alight[a:z], m_max, dur_mu,
                                     dur_sigma))
            first.append(first[-1] + len(cands[-1][0]))
        uniforms.append(rng.random(BLOCK * (n_cars + FIRST_BLOCKS)))
    cand = [np.concatenate([d[f] for d in cands]) for f in range(5)] if len(cands) > 1 else cands[0]
    # the staff stream: the other duties (drawn before the run), then the patrol phases
    duty_t = duty_len = np.zeros(0)
    if sw.other_duties and st.other_duty_load > 0:
        duty_t, duty_len = draw_duties(st, spec, rngs["staff"])
    staff_u = rngs["staff"].random(ip[I_PATROLLERS] + FIRST_STAFF)
    rows = np.array([-(-q // SEATS_PER_ROW) for q in spec.quiet_seats], dtype=np.int64)
    room = max(1, FIRST_ROOM + 2 * (len(duty_t) + len(cand[0])))
    weights = np.concatenate(weights)
    reruns = [0, 0, 0]
    while True:  # should an array run short: draw it longer (the stream goes on) and run again
        u = uniforms[0][None, :] if len(uniforms) == 1 else np.stack(uniforms)
        out = _journey(spec.run_min, spec.crew, stops, fp, ip, order, np.asarray(bounds), rows, pax.origin,
                       pax.dest, pax.row, pax.optin, pax.signed, pax.segment, peer_q_table,
                       weights, len(groups), *cand, np.asarray(first), u, staff_u, duty_t, duty_len, room)
        short = out[0][0]
        if short == 0:
            break
        reruns[short - 1] += 1
        if short == SHORT_CAR:
            uniforms = [np.concatenate((x, rng.random(len(x) + BLOCK))) for x, (_, rng) in zip(uniforms, groups)]
        elif short == SHORT_STAFF:
            staff_u = np.concatenate((staff_u, rngs["staff"].random(len(staff_u) + 1)))
        else:
            room = 2 * room + 1
    tallies, staff_min, rec_i, rec_f, car_f, pax_i, pax_f = out
    if counts is not None:
        for key, value in (("events", tallies[3]), ("processed", tallies[4]), *zip(SHORT_NAMES, reruns)):
            counts[key] = counts.get(key, 0) + int(value)
    records = tuple(map(Violation, *_columns(rec_i, rec_f)))
    n = len(order)
    cars = []
    for c, cf in enumerate(car_f.tolist()):
        a, z = (c // n_cars) * n + bounds[c % n_cars], (c // n_cars) * n + bounds[c % n_cars + 1]
        cars.append(CarTotals(
            car_min=spec.run_min, pax_min=cf[CF_PAX_MIN], noisy_min=cf[CF_NOISY_MIN],
            calm_starts=int(cf[CF_STARTS] + cf[CF_STARTS + 2]), noisy_starts=int(cf[CF_STARTS + 1] + cf[CF_STARTS + 3]),
            calm_damped_starts=int(cf[CF_STARTS + 2]), noisy_damped_starts=int(cf[CF_STARTS + 3]),
            expected_calm=cf[CF_EXPECTED], expected_noisy=cf[CF_EXPECTED + 1],
            expected_calm_damped=cf[CF_EXPECTED + 2], expected_noisy_damped=cf[CF_EXPECTED + 3],
            passengers=int(pax_i[a:z, T_BOARDINGS].sum()),
            optin_pax_min=float((pax_f[a:z, T_ALIGHT] - pax_f[a:z, T_BOARD])[pax_i[a:z, T_OPTIN] > 0].sum())))
    if n_cars == 1:
        board_time, alight_time = pax_f[:n, T_BOARD].copy(), pax_f[:n, T_ALIGHT].copy()
        boardings, moved = pax_i[:n, T_BOARDINGS].copy(), pax_i[:n, T_MOVED] > 0
    else:
        board_time, alight_time = np.empty(n), np.empty(n)
        boardings, moved = np.empty(n, dtype=np.int64), np.empty(n, dtype=bool)
        board_time[order], alight_time[order] = pax_f[:n, T_BOARD], pax_f[:n, T_ALIGHT]
        boardings[order], moved[order] = pax_i[:n, T_BOARDINGS], pax_i[:n, T_MOVED] > 0
    return OnboardResult(violations=records, cars=tuple(cars[:n_cars]), control=tuple(cars[n_cars:]),
                         board_time=board_time, alight_time=alight_time, boardings=boardings, moved=moved,
                         interventions=int(tallies[1]), staff_min=float(staff_min), complaints=int(tallies[2]))
