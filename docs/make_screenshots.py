"""Remake the lesson's screenshots in docs/img/ (run by hand after the page changes, not by CI):

    python docs/make_screenshots.py

The browser tests take them (tests/test_lesson.py, headless Chromium at 1024x768 and at a
phone's 390x844); this script points them at docs/img/ and shrinks each PNG to a 256-colour
palette (without dithering: the legend's colours stay exact) so the docs stay small.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
IMG = ROOT / "docs" / "img"


def main() -> int:
    IMG.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "QUIETCAR_SCREENSHOTS": str(IMG), "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        str(ROOT / "tests" / "test_lesson.py"), "-k", "plays_reruns or side_by_side or chinese or phone"],
                       env=env, cwd=ROOT)
    if r.returncode:
        return r.returncode
    for png in sorted(IMG.glob("lesson-*.png")):
        image = Image.open(png).convert("RGB")
        image.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(png, optimize=True)
        print(f"{png.relative_to(ROOT)}  {png.stat().st_size / 1e3:.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
