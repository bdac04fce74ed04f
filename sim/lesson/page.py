"""The one lesson page: HTML, CSS and JavaScript from ``static/``, with the config (labels,
levers, journeys) embedded as JSON. The server and ``--save`` write the same page; only the
config differs (``mode``: "server" asks /api/journey, "offline" carries its journeys)."""
from __future__ import annotations

import json
from importlib import resources
from typing import Any

from ..demo import LEVERS, OCCUPANT_COLOURS
from ..demo.style import ENDER_COLOURS, KIND_GLYPH, NOISE, STAFF
from ..model.onboard import ENDERS
from ..model.params import KINDS
from .journey import BUBBLES, FINAL, lever_spec
from .labels import LANGUAGES, table

API = "api/journey"


def _static(name: str) -> str:
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


def config(mode: str, seed: int, values: dict[str, Any], journey: dict[str, Any], lang: str | None = None,
           **extra: Any) -> dict[str, Any]:
    """What the page needs besides its code: words, levers, colours and the first journey."""
    return {
        "mode": mode, "api": API, "lang": lang, "seed": seed, "values": values, "journey": journey,
        "labels": {code: table(code) for code in LANGUAGES},
        "levers": [lever_spec(lever) for lever in LEVERS],
        "kinds": list(KINDS), "enders": list(ENDERS), "bubbles": list(BUBBLES),
        "glyphs": KIND_GLYPH, "final": [list(item) for item in FINAL],
        "colours": {"occupants": list(OCCUPANT_COLOURS), "noise": NOISE, "staff": STAFF,
                    "enders": [ENDER_COLOURS[w] for w in ENDERS]},
        **extra,
    }


def render(cfg: dict[str, Any]) -> str:
    """The page with ``cfg`` embedded (a JSON script block; '</' is escaped so no string in it
    can close the block)."""
    data = json.dumps(cfg, ensure_ascii=False, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    page = _static("page.html")
    for marker, text in (("/*STYLE*/", _static("page.css")), ("/*SCRIPT*/", _static("page.js")),
                         ("/*CONFIG*/", data)):
        page = page.replace(marker, text, 1)
    return page
