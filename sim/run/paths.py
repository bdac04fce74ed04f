"""Names of files and folders made from user text (scenario stems, overrides, run names).

No output path is ever built from what a user typed without going through :func:`safe_name`:
the result holds only letters, digits, ``.``, ``_`` and ``-`` (safe in every shell and on
every file system), never starts with a dot or a dash (so it is never ``.``, ``..`` or hidden,
and never read as an option), is at most ``limit`` characters, and - whenever the text had to
be changed - ends with 8 hex digits of the SHA-256 of the original text, so two different
texts never share a name."""
from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def short_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def _clean(text: str) -> str:
    s = _UNSAFE.sub("-", text)
    s = re.sub(r"[-.]*-[-.]*", "-", s)  # a run of dashes and dots with a dash in it: one dash
    s = re.sub(r"\.{2,}", ".", s)
    return s.strip("-._")


def safe_name(text: str, limit: int = 100) -> str:
    """A single path component made from ``text`` (see the module's docstring)."""
    s = _clean(text)
    if s == text and 0 < len(s) <= limit:
        return s
    s = s[:max(0, limit - 9)].rstrip("-._")
    return f"{s}-{short_digest(text)}" if s else short_digest(text)


def override_tag(overrides: Sequence[str], limit: int = 40) -> str:
    """A readable, shell-safe tag of every override, unique to them: ``trains-12-1a2b3c4d``."""
    text = " ".join(overrides)
    readable = _clean(text)[:limit].rstrip("-._")
    return f"{readable}-{short_digest(text)}" if readable else short_digest(text)


def child(root: Path, name: str) -> Path:
    """``root / safe_name(name)``: a folder that is certainly inside ``root``."""
    p = root / safe_name(name)
    assert p.parent == root and p.name not in ("", ".", "..")
    return p
