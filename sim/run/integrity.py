"""Trust nothing unchecked: what a results folder holds is recorded when it is written and
verified before it is read; one writer per folder at a time.

- A finished folder's ``manifest.json`` lists, under ``files``, every data file it holds
  with its SHA-256, size in bytes and number of rows (CSV: data rows after the header).
- A partial file of a run in progress (``partial/rep-NNNNNN.json``, an experiment's
  ``partial/point-NNNNNN.json``) carries the SHA-256 of its own content (``checksum``), and a
  replication's also the SHA-256 and row count of its trains file.
- :func:`verify` checks a folder of any kind (run, compare, sweep, sensitivity) against
  its records and raises :class:`ResultsError` naming the first file that does not match.
- :class:`FolderLock` keeps a second writer out of a folder (``.lock``, an advisory
  ``flock`` that the kernel releases when its holder dies, so a stale lock left by a killed
  process is taken over safely) and names the holder when it refuses.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shlex
import socket
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
LOCK = ".lock"
#: Files whose first line is a header (their ``rows`` count the lines after it).
_HEADERLESS = re.compile(r"trains-\d{6}\.csv$")


class ResultsError(RuntimeError):
    """A results folder that cannot be used as asked (the message says why and what to do)."""


class UnreadableError(ResultsError):
    """A file that exists but cannot be read (an input/output error, no permission ...): unlike a
    damaged file, nothing can be concluded from it, so callers that treat a damaged file as
    'not there' must not swallow this one."""


# --- records ---------------------------------------------------------------------------------------
def digest_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def count_rows(data: bytes, header: bool) -> int:
    """Data rows of a CSV file as written by quietcar (one record per line, no embedded newlines)."""
    lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    return max(0, lines - (1 if header else 0))


def record(path: Path) -> dict[str, Any]:
    """What a file holds: its SHA-256, bytes and (CSV) rows."""
    data = read_bytes(path)
    rec: dict[str, Any] = {"sha256": digest_bytes(data), "bytes": len(data)}
    if path.suffix == ".csv":
        rec["rows"] = count_rows(data, header=not _HEADERLESS.search(path.name))
    return rec


def records(folder: Path, names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``{name: record}`` of the named files that exist in ``folder`` (names may hold a /)."""
    return {n: record(folder / n) for n in names if (folder / n).is_file()}


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ResultsError(f"{path}: missing") from None
    except OSError as e:
        raise UnreadableError(f"{path}: cannot be read ({e.strerror or e})") from None


def load_json(path: Path) -> Any:
    """A JSON file, or a one-line ResultsError naming it (missing, unreadable, not UTF-8, not JSON)."""
    data = read_bytes(path)
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ResultsError(f"{path}: damaged (not UTF-8 text)") from None
    except (json.JSONDecodeError, RecursionError) as e:
        raise ResultsError(f"{path}: damaged (not valid JSON: {getattr(e, 'msg', e)})") from None


def _canonical(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, ensure_ascii=True, separators=(",", ":"), allow_nan=True).encode()


def seal(obj: Mapping[str, Any]) -> dict[str, Any]:
    """``obj`` with a ``checksum``: the SHA-256 of its canonical JSON (without the checksum)."""
    body = {k: v for k, v in obj.items() if k != "checksum"}
    return {**body, "checksum": digest_bytes(_canonical(body))}


def unseal(path: Path) -> dict[str, Any]:
    """A sealed JSON file's content, checked against its own checksum."""
    obj = load_json(path)
    if not isinstance(obj, dict) or "checksum" not in obj:
        raise ResultsError(f"{path}: damaged (no checksum); delete it to redo that part, then --resume")
    body = {k: v for k, v in obj.items() if k != "checksum"}
    if digest_bytes(_canonical(body)) != obj["checksum"]:
        raise ResultsError(f"{path}: damaged (its content does not match its checksum); delete it to redo that "
                           f"part, then --resume")
    return body


def check_file(path: Path, rec: Mapping[str, Any], hint: str) -> None:
    """Raise a ResultsError naming ``path`` unless it matches its record."""
    data = read_bytes(path)
    if "rows" in rec:
        rows = count_rows(data, header=not _HEADERLESS.search(path.name))
        if rows != rec["rows"]:
            raise ResultsError(f"{path}: damaged ({rows} rows where {rec['rows']} were written); {hint}")
    if digest_bytes(data) != rec.get("sha256"):
        raise ResultsError(f"{path}: damaged (its SHA-256 differs from the one recorded when it was written); "
                           f"{hint}")


# --- verification of a folder -----------------------------------------------------------------------
def manifest_of(folder: Path) -> dict[str, Any] | None:
    """A folder's manifest (checked to be a JSON object), or None if it has none."""
    p = folder / MANIFEST
    if not p.exists() and not p.is_symlink():
        return None
    m = load_json(p)
    if not isinstance(m, dict):
        raise ResultsError(f"{p}: damaged (not a JSON object)")
    return m


def kind_of(folder: Path, m: Mapping[str, Any] | None = None) -> str | None:
    """run, compare, sweep or sensitivity (None: no quietcar folder)."""
    m = manifest_of(folder) if m is None else m
    if m is None:
        return None
    return str(m.get("kind", "run"))


def verify(folder: str | Path) -> dict[str, Any]:
    """Check a finished folder of any kind against its manifest; return the manifest.

    Raises ResultsError naming the folder or the first file that is missing, unreadable or
    different from what was written."""
    folder = Path(folder)
    m = manifest_of(folder)
    if m is None:
        raise ResultsError(f"{folder}: holds no quietcar results (no {MANIFEST})")
    if m.get("status") != "complete":
        raise ResultsError(f"{folder}: holds an unfinished {kind_of(folder, m)}; complete it with the same "
                           f"command and --resume")
    files = m.get("files")
    if not isinstance(files, dict) or not files:
        raise ResultsError(f"{folder / MANIFEST}: records no checksums of the files (written by an older "
                           f"quietcar, or damaged); run it again with --force")
    hint = "the folder was changed after it was written; run it again with --force"
    for name, rec in files.items():
        if not isinstance(rec, dict) or not _safe_relative(name):
            raise ResultsError(f"{folder / MANIFEST}: damaged (a bad entry under files: {name!r})")
        check_file(folder / name, rec, hint)
    if kind_of(folder, m) == "compare":
        for name in m.get("members") or []:
            if not _safe_relative(name):
                raise ResultsError(f"{folder / MANIFEST}: damaged (a bad member name {name!r})")
            if f"{name}/{MANIFEST}" not in files:
                raise ResultsError(f"{folder / MANIFEST}: damaged (member {name} is not recorded)")
            verify(folder / name)
    return m


def _safe_relative(name: Any) -> bool:
    return (isinstance(name, str) and name != "" and not name.startswith("/")
            and ".." not in Path(name).parts and "\\" not in name and "\0" not in name)


# --- one writer per folder ---------------------------------------------------------------------------
class FolderLock:
    """An exclusive lock on a results folder, held by this process until :meth:`release`.

    The lock is an advisory ``flock`` on ``<folder>/.lock``, which the kernel drops when the
    holding process ends however it ends; the file itself names the holder (pid, host,
    command, start time) for the message a second writer gets. A ``.lock`` left by a killed
    process is therefore not held, and the next writer takes it over. Releasing removes the
    file (after checking, under the lock, that it is still ours)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.path = self.folder / LOCK
        self.fd: int | None = None

    def acquire(self) -> "FolderLock":
        if self.fd is not None:
            return self
        for _ in range(20):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            except OSError as e:
                raise ResultsError(f"{self.path}: cannot create the folder's lock ({e.strerror or e})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = self._holder(fd)
                os.close(fd)
                raise ResultsError(f"{self.folder}: in use by another quietcar ({holder}); wait for it to finish "
                                   f"or stop it, then try again") from None
            # the file we locked must still be the one at the path (not unlinked by a releasing holder)
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path, follow_symlinks=False))
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            info = {"pid": os.getpid(), "host": socket.gethostname(), "command": shlex.join(sys.argv),
                    "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            try:
                os.ftruncate(fd, 0)
                os.write(fd, (json.dumps(info) + "\n").encode())
            except OSError as e:
                os.close(fd)
                raise ResultsError(f"{self.path}: cannot write the folder's lock ({e.strerror or e})") from None
            self.fd = fd
            return self
        raise ResultsError(f"{self.path}: the lock keeps changing hands; try again")  # pragma: no cover

    @staticmethod
    def _holder(fd: int) -> str:
        try:
            info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
            return f"pid {info.get('pid')} on {info.get('host')} since {info.get('since')}: {info.get('command')}"
        except (OSError, ValueError):
            return "holder unknown"

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            if os.path.samestat(os.fstat(self.fd), os.stat(self.path, follow_symlinks=False)):
                os.unlink(self.path)
        except OSError:
            pass
        finally:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> "FolderLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def __del__(self) -> None:  # pragma: no cover - a lock dropped without release
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
