"""Tested by attack: generated scenario files, --set/--each/--vary values and whole command
lines. Every case must end in exit 0 or in exactly one line of error with exit 2: never a
traceback. The simulation itself is replaced by a marker once the input has been accepted
(what runs is tested elsewhere), so hundreds of cases take seconds."""
from __future__ import annotations

import json
import math
import tomllib

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim.cli.planners
import sim.cli.research
from sim.cli import main
from sim.scenario import BUNDLED, known_keys

KEYS = known_keys()
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                           HealthCheck.too_slow])


class Accepted(Exception):
    """The input was accepted and work would start now."""


@pytest.fixture(autouse=True)
def no_work(monkeypatch):
    def accepted(*a, **kw):
        raise Accepted
    monkeypatch.setattr(sim.cli.planners, "execute", accepted)
    monkeypatch.setattr(sim.cli.research, "_run_experiment", accepted)


def outcome(args: list[str]) -> str:
    """'ok', 'refused' (one line, exit 2), or a description of what went wrong."""
    r = CliRunner().invoke(main, args)
    if isinstance(r.exception, Accepted) or (r.exit_code == 0 and r.exception is None):
        return "ok"
    if r.exit_code == 2 and not isinstance(r.exception, Exception) or isinstance(r.exception, SystemExit):
        lines = [x for x in r.output.splitlines() if x.strip()]
        errors = [x for x in lines if x.startswith(("quietcar: error:", "error:"))]
        if r.exit_code == 2 and errors and "Traceback" not in r.output:
            return "refused"
    return f"exit {r.exit_code}, {r.exception!r}:\n{r.output[-500:]}"


def assert_clean(args):
    got = outcome(args)
    assert got in ("ok", "refused"), f"{args}\n{got}"
    return got


# --- values --------------------------------------------------------------------------------------------
NUMBERS = st.one_of(st.integers(-10**20, 10**20), st.floats(allow_nan=True, allow_infinity=True))
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
VALUE_TEXT = st.one_of(TEXT, NUMBERS.map(str), st.sampled_from(["nan", "inf", "-inf", "1e309", "true", "[1,2]",
                                                               "{a=1}", "\"x\"", "'", "=", "", "0x10", "1_000"]))


@SETTINGS
@given(key=st.one_of(st.sampled_from(KEYS), TEXT), value=VALUE_TEXT)
def test_any_set_value_is_accepted_or_refused_in_one_line(key, value):
    assert_clean(["validate", "classroom", "--set", f"{key}={value}"])


@SETTINGS
@given(index=st.one_of(st.integers(-3, 5).map(str), TEXT), key=st.sampled_from(KEYS), value=VALUE_TEXT)
def test_any_each_value_is_accepted_or_refused_in_one_line(index, key, value):
    assert_clean(["compare", "classroom", "classroom", "--each", f"{index}:{key}={value}", "-n", "2"])


LEVELS = st.one_of(
    st.lists(VALUE_TEXT, max_size=4).map(",".join),
    st.tuples(NUMBERS, NUMBERS, st.one_of(st.integers(-5, 20_000), NUMBERS)).map(lambda t: ":".join(map(str, t))),
    TEXT)


@SETTINGS
@given(key=st.one_of(st.sampled_from(KEYS), TEXT), levels=LEVELS, lhs=st.booleans())
def test_any_vary_value_is_accepted_or_refused_in_one_line(key, levels, lhs):
    assert_clean(["sweep", "classroom", "--vary", f"{key}={levels}", *(["--lhs", "3"] if lhs else [])])


@SETTINGS
@given(key=st.sampled_from(KEYS), low=VALUE_TEXT, high=VALUE_TEXT, method=st.sampled_from(["morris", "sobol"]))
def test_any_sensitivity_range_is_accepted_or_refused_in_one_line(key, low, high, method):
    assert_clean(["sensitivity", "classroom", "--param", f"{key}={low}:{high}", "--method", method,
                  "--samples", "4"])


# --- scenario files ---------------------------------------------------------------------------------------
BASE = tomllib.loads((BUNDLED / "classroom.toml").read_text())
LEAF = st.recursive(st.one_of(NUMBERS, TEXT, st.booleans()),
                    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=3)),
                    max_leaves=8)


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + "}"


@SETTINGS
@given(changes=st.lists(st.tuples(st.sampled_from(KEYS), LEAF), max_size=4), garbage=st.one_of(st.none(), TEXT))
def test_any_scenario_file_is_accepted_or_refused_in_one_line(tmp_path_factory, changes, garbage):
    lines = []
    for key, value in changes:
        lines.append(f"{json.dumps(key)} = {toml_value(value)}" if "." not in key
                     else f"{'.'.join(json.dumps(p) for p in key.split('.'))} = {toml_value(value)}")
    if garbage is not None:
        lines.append(garbage)
    p = tmp_path_factory.mktemp("fuzz") / "s.toml"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert_clean(["validate", str(p)])
    assert_clean(["run", str(p), "-n", "2", "--out", str(p.parent / "out")])


@SETTINGS
@given(data=st.binary(max_size=200))
def test_any_bytes_as_a_scenario_file_are_accepted_or_refused_in_one_line(tmp_path_factory, data):
    p = tmp_path_factory.mktemp("fuzz") / "s.toml"
    p.write_bytes(data)
    assert_clean(["validate", str(p)])


# --- command lines ------------------------------------------------------------------------------------------
WORDS = ["run", "compare", "validate", "scenarios", "show", "sweep", "sensitivity", "plot", "report", "classroom",
         "pilot", "-n", "--seed", "--workers", "--set", "--each", "--vary", "--lhs", "--precision", "--out", "--force",
         "--resume", "--no-plots", "--param", "--method", "--samples", "--levels", "--max-replications", "--help",
         "--overflow-curve", "--all", "--train", "--title", "--allow-large", "0", "1", "2", "-1", "nan", "inf",
         "1e9", "network.trains=2", "2:booking.overflow=never", "booking.overflow=never,when_sold_out",
         "behaviour.contagion=0:1", "x=y", "", "/", "..", "results/x", "--", "-"]


@settings(max_examples=200, deadline=None)
@given(words=st.lists(st.one_of(st.sampled_from(WORDS), TEXT), min_size=1, max_size=8))
def test_any_command_line_is_accepted_or_refused_in_one_line(words, tmp_path_factory):
    if words[0] == "demo" or "demo" in words[:1]:
        return
    import os
    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("cmd"))
    try:
        got = outcome(words)
    finally:
        os.chdir(here)
    assert got in ("ok", "refused"), f"{words}\n{got}"
