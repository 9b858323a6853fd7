"""Make docs/screenshot.png, the picture on the README's first screen, from the browser check.

Usage: .venv/bin/python tools/readme_screenshot.py [PAGE]
       (after ./course test or ./course check-site; PAGE default chapters/02_softmax_and_nll.html)

Takes the browser check's full-page screenshot of PAGE (_build/screenshots/), keeps its
first screen (what a visitor sees before scrolling), reduces it to a 256-colour palette and
writes docs/screenshot.png, which must stay under 300 KB.
"""
from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
FIRST_SCREEN = (1280, 760)      # the check's viewport is 1280 x 900; the top 760 px suffice
LIMIT_BYTES = 300_000


def main() -> int:
    page = sys.argv[1] if len(sys.argv) > 1 else "chapters/02_softmax_and_nll.html"
    shot = ROOT / "_build" / "screenshots" / (page.replace("/", "__").removesuffix(".html") + ".png")
    if not shot.is_file():
        print(f"no {shot.relative_to(ROOT)}: run ./course check-site first", file=sys.stderr)
        return 1
    image = Image.open(shot).convert("RGB")
    width, height = min(FIRST_SCREEN[0], image.width), min(FIRST_SCREEN[1], image.height)
    screen = image.crop((0, 0, width, height))
    small = screen.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = ROOT / "docs" / "screenshot.png"
    out.parent.mkdir(exist_ok=True)
    small.save(out, optimize=True)
    size = out.stat().st_size
    print(f"{out.relative_to(ROOT)}: {width} x {height}, {size / 1000:.0f} KB (from {shot.name})")
    if size > LIMIT_BYTES:
        print(f"larger than {LIMIT_BYTES / 1000:.0f} KB: crop less or choose a simpler page",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
