"""The bundled Chinese font, so that figures with Chinese labels render their glyphs on a
machine with no CJK font installed.

``NotoSansSC-quietcar.otf`` is a subset of Noto Sans CJK SC (Regular, © 2014-2021 Adobe,
SIL Open Font License 1.1: ``OFL.txt`` beside it) holding exactly the characters of the
project's Chinese labels; ``docs/make_cjk_font.py`` regenerates it from the table of labels.
Its family is renamed (:data:`FAMILY`) so that it never shadows a full Noto on the machine.

:func:`register` adds it to matplotlib's font manager (once, when a figure is made, never at
import); the house style (:data:`sim.present.plots.STYLE`) lists it after DejaVu Sans, so
Latin text keeps DejaVu and Chinese characters fall back to this font.
"""
from __future__ import annotations

import functools
from pathlib import Path

#: The family name of the bundled subset.
FAMILY = "Noto Sans SC quietcar"
#: The font file, inside the package (shipped in the wheel: pyproject package-data).
PATH = Path(__file__).resolve().parent / "NotoSansSC-quietcar.otf"
#: Its licence.
LICENCE = PATH.parent / "OFL.txt"


@functools.cache
def register() -> str:
    """Add the bundled font to matplotlib's font manager (idempotent); return its family."""
    from matplotlib import font_manager
    font_manager.fontManager.addfont(str(PATH))
    return FAMILY
