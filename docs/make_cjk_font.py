"""Regenerate the bundled Chinese font: a subset of Noto Sans CJK SC holding exactly the
characters of the project's Chinese labels.

    python docs/make_cjk_font.py [--source /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc]

Reads every Chinese string of the one table of labels (:mod:`sim.present.labels`) and of the
lesson page's own words (:mod:`sim.lesson.labels`), keeps those characters' glyphs of Noto
Sans CJK SC (Regular; Debian's fonts-noto-cjk, SIL Open Font License 1.1), renames the family
so it never shadows a full Noto installed on the machine, and writes
``sim/present/fonts/NotoSansSC-quietcar.otf``. Run it after adding or changing a Chinese label:
``tests/test_labels.py`` fails until every character is in the font. fontTools (``pip install
fonttools``) is needed here only, never at run time. The output is the same for the same
labels and the same source font (no timestamps).
"""
from __future__ import annotations

import argparse
import string
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.lesson import labels as lesson  # noqa: E402
from sim.present import fonts  # noqa: E402
from sim.present import labels  # noqa: E402

SOURCE = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
SC = "Noto Sans CJK SC"  # the face wanted from the collection


def characters() -> str:
    """Every character the Chinese labels use (plus printable ASCII, for fields filled in)."""
    text = labels.zh_text() + "".join(lesson.table("zh").values()) + string.printable
    return "".join(sorted({c for c in text if c.isprintable()}))


def _face(source: str):
    from fontTools.ttLib import TTCollection, TTFont
    if source.lower().endswith((".ttc", ".otc")):
        faces = TTCollection(source, lazy=True).fonts
        number = next((i for i, f in enumerate(faces) if f["name"].getDebugName(1) == SC), None)
        if number is None:
            sys.exit(f"{source}: no face named {SC!r} in this collection")
        return TTFont(source, fontNumber=number, recalcTimestamp=False)
    return TTFont(source, recalcTimestamp=False)


def main() -> None:
    from fontTools import subset
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default=SOURCE, help=f"Noto Sans CJK (.ttc or the SC .otf) [{SOURCE}]")
    args = parser.parse_args()
    font = _face(args.source)
    options = subset.Options()
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]
    options.layout_features = ["*"]
    options.hinting = False
    options.desubroutinize = True
    sub = subset.Subsetter(options)
    sub.populate(text=characters())
    sub.subset(font)
    name = font["name"]
    version = name.getDebugName(5) or ""
    for rec in list(name.names):
        if rec.nameID in (1, 3, 4, 6, 16, 17):
            name.removeNames(nameID=rec.nameID)
    for pid, eid, lid in ((3, 1, 0x409), (1, 0, 0)):
        name.setName(fonts.FAMILY, 1, pid, eid, lid)
        name.setName(f"{fonts.FAMILY} Regular; {version}", 3, pid, eid, lid)
        name.setName(fonts.FAMILY, 4, pid, eid, lid)
        name.setName(fonts.FAMILY.replace(" ", "") + "-Regular", 6, pid, eid, lid)
    if "CFF " in font:  # the PostScript name inside the CFF table
        cff = font["CFF "].cff
        cff.fontNames = [fonts.FAMILY.replace(" ", "") + "-Regular"]
        top = cff.topDictIndex[0]
        top.FullName = top.FamilyName = fonts.FAMILY
    lost = [c for c in characters() if ord(c) not in font.getBestCmap()]
    if lost:  # symbols Noto CJK does not draw (the page's ✔ ✖): the browser finds them elsewhere
        print(f"not in {SC}: {' '.join(lost)}")
    out = fonts.PATH
    out.parent.mkdir(parents=True, exist_ok=True)
    font.save(out)
    print(f"{out.relative_to(ROOT)}: {len(characters())} characters, {out.stat().st_size / 1024:.0f} KiB "
          f"(from {args.source})")


if __name__ == "__main__":
    main()
