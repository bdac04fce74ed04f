"""Nothing is written or deleted outside the folder the user chose, whatever names they type.

Hostile names are overrides that end up in run names (--each 2:description=/../../x), scenario
files with unsafe names, symbolic links given as --out, and links planted inside a results
folder that --force then clears."""
from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.run.paths import override_tag, safe_name
from sim.scenario import BUNDLED

SMALL = ["--set", "network.trains=4", "--workers", "1", "--no-plots"]
HOSTILE = ["/../../x", "../../../../tmp/evil", "..", ".", "a/b", "-rf", "$(touch pwned)", "`id`", "a b;c",
           "x" * 400, "\u9759\u97f3/../..", "~root", "*", "--force"]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize("text", HOSTILE)
def test_safe_names_are_one_plain_component(text):
    name = safe_name(text)
    assert name and name not in (".", "..") and "/" not in name and not name.startswith(("-", "."))
    assert len(name) <= 100 and shlex.quote(name) == name


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_safe_name_is_safe_and_tells_texts_apart(text):
    name = safe_name(text)
    assert name and shlex.quote(name) == name and not name.startswith(("-", ".")) and len(name) <= 100
    assert Path(name).name == name
    if name != text:
        assert safe_name(text + "x") != name


def test_override_tags_differ_for_different_overrides():
    a = override_tag(["booking.overflow=never"])
    b = override_tag(["booking.overflow=when_sold_out"])
    assert a != b and shlex.quote(a) == a


@pytest.mark.parametrize("text", HOSTILE[:6])
def test_an_each_override_never_writes_outside_the_compare_folder(tmp_path, monkeypatch, text):
    monkeypatch.chdir(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    out = work / "c"
    r = invoke("compare", "classroom", "classroom", "--each", f"2:description={text}", "-n", 2, "--out", out,
               *SMALL)
    assert r.exit_code == 0, r.output
    assert tree(tmp_path) == {"work", "work/c"} | {f"work/c/{x}" for x in tree(out)}  # nothing beside c
    m = json.loads((out / "manifest.json").read_text())
    assert all((out / d).parent == out and (out / d / "summary.json").exists() for d in m["members"])


def test_default_folders_are_shell_safe_distinct_and_carry_the_overrides(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    hostile = tmp_path / "a b;$(x)..toml"
    hostile.write_text((BUNDLED / "classroom.toml").read_text())
    seen = set()
    for each in ("2:booking.overflow=never", "2:booking.overflow=when_sold_out", "2:description=/../../x"):
        r = invoke("compare", str(hostile), "classroom", "--each", each, "-n", 2, *SMALL)
        assert r.exit_code == 0, r.output
        made = set(os.listdir(tmp_path / "results")) - seen
        assert len(made) == 1, made  # a new folder: the earlier comparisons are not overwritten
        name = made.pop()
        seen.add(name)
        assert shlex.quote(name) == name and "overflow" in name or "description" in name
    assert set(os.listdir(tmp_path)) == {"results", hostile.name}
    r = invoke("run", str(hostile), "-n", 2, *SMALL[:-1])
    assert r.exit_code == 0
    name = (set(os.listdir(tmp_path / "results")) - seen).pop()
    assert shlex.quote(name) == name and "trains-4" in name  # the --set is in the name


def test_force_never_clears_what_a_link_points_to(tmp_path):
    target = tmp_path / "precious"
    assert invoke("run", "classroom", "-n", 2, "--out", target, *SMALL).exit_code == 0
    before = tree(target)
    link = tmp_path / "link"
    link.symlink_to(target)
    r = invoke("run", "classroom", "-n", 2, "--seed", 9, "--out", link, "--force", *SMALL)
    assert r.exit_code == 2 and "symbolic link" in r.output
    assert tree(target) == before


def test_force_removes_a_planted_link_but_not_its_target(tmp_path):
    out = tmp_path / "r"
    assert invoke("run", "classroom", "-n", 2, "--out", out, *SMALL).exit_code == 0
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "sub" / "keep.txt").write_text("keep me")
    (out / "planted").symlink_to(outside / "sub")
    (out / "planted-file").symlink_to(outside / "sub" / "keep.txt")
    r = invoke("run", "classroom", "-n", 2, "--seed", 9, "--out", out, "--force", *SMALL)
    assert r.exit_code == 0, r.output
    assert (outside / "sub" / "keep.txt").read_text() == "keep me"
    assert not (out / "planted").exists() and not (out / "planted").is_symlink()


def test_a_dangling_link_as_out_is_refused_in_one_line(tmp_path):
    link = tmp_path / "dangling"
    link.symlink_to(tmp_path / "nowhere")
    r = invoke("run", "classroom", "-n", 2, "--out", link, *SMALL)
    assert r.exit_code == 2 and "dangling" in r.output and not (tmp_path / "nowhere").exists()


def test_a_manifest_naming_members_outside_is_refused(tmp_path):
    out = tmp_path / "c"
    assert invoke("compare", "classroom", "classroom", "--each", "2:booking.overflow=never", "-n", 2, "--out",
                  out, *SMALL).exit_code == 0
    m = json.loads((out / "manifest.json").read_text())
    m["members"][1] = "../../elsewhere"
    (out / "manifest.json").write_text(json.dumps(m))
    r = invoke("show", out)
    assert r.exit_code == 2 and "manifest.json" in r.output
