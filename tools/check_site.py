"""Browser check of the built book: every page loads, works offline, and is accessible.

Usage: python tools/check_site.py [--site _build/html] [--chromium /usr/bin/chromium]
                                  [--screenshots DIR] [--require-pdf]

Serves the site on a localhost port (http.server, in a thread), opens every HTML page in
headless Chromium (driven by Playwright) and checks that

  - the page loads (HTTP 200) without a JavaScript error or console error;
  - no request leaves the machine: requests to any other host are aborted and reported;
  - the maths is typeset: on pages with maths, MathJax has finished, every math element
    holds an mjx-container, and no raw \\( or \\[ delimiter is left in the text;
  - every image has loaded (naturalWidth > 0);
  - every internal link points to a file of the site, and every #anchor to an element id;

and, once for the site,

  - search works: search.html?q=label+smoothing lists the label-smoothing chapter;
  - the colour-mode button works: it switches the page to the dark theme and back;
  - the PDF edition (cross-entropy-course.pdf at the site's root), when present, is a PDF
    and is linked from the intro page and from the download menu of the chapters
    (--require-pdf: its absence is a failure too).

Accessibility basics, on the main content (<article>) of every page:

  - every image has alt text (not just its file name), or sits in a <figure> with a caption;
  - headings do not skip a level (h1 then h3 without an h2 in between);
  - every code cell whose notebook has output shows it: the output area is there, not
    empty, and visible, at once or once the reader opens the toggles they can see (a
    hide-output cell's "Show code cell output", a dropdown solution).

Layout, on every page:

  - at 390 px (a phone) the page does not scroll sideways (document scrollWidth <= clientWidth;
    the run names what sticks out), and a screenshot of it is saved as phone__*.png;
  - no typeset formula shows a TeX macro as text (a backslash in an <mtext>, e.g. "cross\\_entropy");
  - at 1280 px, display equations wider than their box (the reader scrolls them sideways) are
    counted and listed, as check "wide-maths" of the known-failures list below;
  - at 1280 px and at 390 px, every course figure (a matplotlib PNG: its dpi is in the file)
    shows its smallest text (ce_lib.style.MIN_FONT_PT) at least at the page's small print
    (SMALL_PRINT_PX): text px = points x dpi / 72 x rendered width / natural width. Checks
    "small-figure-text" and "small-figure-text-phone" of the known-failures list.

Known accessibility failures are listed, per page and check, in
tools/accessibility_known_failures.txt: they are reported but do not fail the run, a page
with more failures than listed fails, and one with fewer asks for the list to be lowered.

It saves a full-page screenshot of every page to _build/screenshots/, at 1280 px and at 390 px
(phone__*.png), and of one chapter in the dark theme (at both widths) and of the search results, for a person to look at, and exits non-zero with a report of every problem.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import re
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
KNOWN_FAILURES = ROOT / "tools" / "accessibility_known_failures.txt"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SKIP_DIRS = {"_static", "_sources", "_images", "_downloads", "mathjax"}  # assets, not pages
PAGE_TIMEOUT_MS = 30_000
MATHJAX_TIMEOUT_MS = 20_000
REDIRECT = re.compile(r'<meta http-equiv="refresh" content="\d+; ?url=([^"]+)"', re.IGNORECASE)

# What the search check asks, and the page it must find.
SEARCH_QUERY = "label smoothing"
SEARCH_EXPECTS = "chapters/04_soft_targets_and_label_smoothing.html"
# The page on which the colour-mode button is tried (and screenshotted in the dark theme).
DARK_MODE_PAGE = "chapters/02_softmax_and_nll.html"
PDF_NAME = "cross-entropy-course.pdf"   # _config.yml latex.latex_documents.targetname, .pdf

# Run in the page after its screenshot: open every toggle a reader can see (hide-output
# cells, dropdown solutions; nested ones too), then report each code cell's output areas:
# whether they hold anything, and whether they are visible once the toggles are open.
OPEN_TOGGLES_AND_INSPECT_CELLS = """async () => {
  const article = document.querySelector('article') || document.body;
  const closedToggle = '.toggle-hidden, details:not([open])';
  const rendered = e => !!e && e.getClientRects().length > 0 && e.offsetHeight > 0
    && getComputedStyle(e).visibility !== 'hidden';
  const visible = e => rendered(e) && !e.closest(closedToggle);
  // a toggle's control can be clicked when it is rendered and no closed toggle holds its own
  const clickable = (control, toggle) => rendered(control)
    && !(toggle.parentElement && toggle.parentElement.closest(closedToggle));
  for (let round = 0; round < 5; round++) {
    const closed = [
      ...Array.from(article.querySelectorAll('.toggle-hidden > .admonition-title'))
        .filter(title => clickable(title, title.parentElement)),
      ...Array.from(article.querySelectorAll('details:not([open]) > summary'))
        .filter(summary => clickable(summary, summary.parentElement)),
    ];
    if (!closed.length) break;
    closed.forEach(e => e.click());
    await new Promise(resolve => setTimeout(resolve, 100));
  }
  return Array.from(article.querySelectorAll('div.cell')).map(cell => ({
    outputs: Array.from(cell.querySelectorAll('.cell_output')).map(out => ({
      content: out.textContent.trim().length > 0
        || out.querySelector('img, svg, mjx-container, table, iframe') !== null,
      visible: visible(out),
    })),
  }));
}"""

# Run in the page once it has loaded: wait for MathJax (if the page loads it) and for every
# image, then report what the maths, images, headings and code cells look like.
INSPECT_PAGE = """async (timeoutMs) => {
  let mathjaxDone = !(window.MathJax && MathJax.startup && MathJax.startup.promise);
  if (!mathjaxDone) {
    const timeout = new Promise(resolve => setTimeout(() => resolve(false), timeoutMs));
    mathjaxDone = await Promise.race([MathJax.startup.promise.then(() => true), timeout]);
  }
  const images = Array.from(document.images);
  images.forEach(img => { if (img.loading === 'lazy') img.loading = 'eager'; });
  await Promise.all(images.map(img => img.complete ? null : new Promise(resolve => {
    img.addEventListener('load', resolve, {once: true});
    img.addEventListener('error', resolve, {once: true});
    setTimeout(resolve, timeoutMs);
  })));

  const math = Array.from(document.querySelectorAll('.math'));
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, textarea').forEach(e => e.remove());
  const text = clone.textContent;
  const article = document.querySelector('article') || document.body;
  const cells = Array.from(article.querySelectorAll('div.cell'));
  const visible = e => !!e && e.getClientRects().length > 0 && e.offsetHeight > 0
    && getComputedStyle(e).visibility !== 'hidden';
  return {
    mathjaxLoaded: !!(window.MathJax && MathJax.startup),
    mathjaxDone: mathjaxDone,
    mathElements: math.length,
    untypeset: math.filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 60)),
    containers: document.querySelectorAll('mjx-container').length,
    rawDelimiters: (text.match(/\\\\[\\(\\[]/g) || []).length,
    links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
    images: images.map(img => {
      const figure = img.closest('figure');
      const caption = figure && figure.querySelector('figcaption');
      return {
        src: img.getAttribute('src') || '',
        alt: img.getAttribute('alt'),
        decorative: img.getAttribute('role') === 'presentation' || img.getAttribute('aria-hidden') === 'true',
        loaded: img.complete && img.naturalWidth > 0,
        inContent: article.contains(img),
        caption: caption ? caption.textContent.trim() : '',
        cell: cells.indexOf(img.closest('div.cell')),
      };
    }),
    headings: Array.from(article.querySelectorAll('h1, h2, h3, h4, h5, h6')).map(h => {
      const copy = h.cloneNode(true);
      copy.querySelectorAll('.headerlink').forEach(e => e.remove());
      return {level: Number(h.tagName[1]), text: copy.textContent.trim().slice(0, 60)};
    }),
  };
}"""


# Run in the page at the desktop width, once MathJax has finished: the display equations wider
# than their box (the reader must scroll them sideways), and the typeset formulas that show a
# TeX macro as text (a backslash in an <mtext>, e.g. \texttt{cross\_entropy} without the
# textmacros extension shows "cross\_entropy").
INSPECT_MATHS = r"""() => {
  const doc = window.MathJax && MathJax.startup && MathJax.startup.document;
  if (!doc || !doc.math) return {wide: [], rawMacros: []};
  const wide = [], rawMacros = [];
  for (const item of Array.from(doc.math)) {
    const root = item.typesetRoot;
    if (!root || !root.isConnected) continue;
    const tex = String(item.math || '').replace(/\s+/g, ' ').trim();
    let mml = '';
    try { mml = MathJax.startup.toMML(item.root); } catch (e) { mml = ''; }
    const texts = (mml.match(/<mtext[^>]*>[^<]*<\/mtext>/g) || []).join(' ');
    if (/\\[_A-Za-z{}$&%#]/.test(texts)) rawMacros.push(tex.slice(0, 80));
    if (item.display && root.scrollWidth > root.clientWidth + 1) {
      const box = root.closest('.admonition');
      let title = box ? box.querySelector('.admonition-title') : null;
      if (!title) {
        const section = root.closest('section');
        title = section ? section.querySelector('h1, h2, h3, h4, h5, h6') : null;
      }
      const where = title ? title.textContent.replace(/[#¶]/g, '').replace(/\s+/g, ' ').trim() : '';
      wide.push({tex: tex.slice(0, 90), width: root.scrollWidth, column: root.clientWidth,
                 where: where.slice(0, 70)});
    }
  }
  return {wide, rawMacros};
}"""

# Run in the page at the phone width: does the page scroll sideways, and what sticks out (the
# outermost elements past the right edge, or the innermost box whose own text overflows).
INSPECT_PHONE = r"""() => {
  const root = document.documentElement, vw = root.clientWidth;
  const name = e => e.tagName.toLowerCase() + (e.classList.length ? '.' + [...e.classList].join('.') : '')
    + ' "' + (e.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 50) + '"';
  const culprits = [];
  if (root.scrollWidth > vw) {
    for (const e of document.querySelectorAll('body *')) {
      const r = e.getBoundingClientRect(), parent = e.parentElement.getBoundingClientRect();
      if (r.width && r.right > vw + 1 && parent.right <= vw + 1)
        culprits.push(name(e) + ' sticks out ' + Math.round(r.right - vw) + ' px');
    }
    if (!culprits.length) {
      const over = [...document.querySelectorAll('body *')].filter(e => e.clientWidth > 0
        && e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible');
      over.filter(e => !over.some(o => o !== e && e.contains(o))).forEach(e =>
        culprits.push(name(e) + ': its text is ' + (e.scrollWidth - e.clientWidth) + ' px too wide'));
    }
  }
  return {scrollWidth: root.scrollWidth, clientWidth: vw, culprits: culprits.slice(0, 5)};
}"""
PHONE_VIEWPORT = {"width": 390, "height": 844}     # a phone (iPhone 12 to 15) in portrait
DESKTOP_VIEWPORT = {"width": 1280, "height": 900}
PHONE_SETTLE_MS = 600   # the theme animates its layout change (sidebars, margins) on resize

# Figure text: the smallest text of a course figure (ce_lib.style's tick labels and legends,
# MIN_FONT_PT points, drawn at the PNG's dpi) shrinks with the image, once the page shows the
# image narrower than its natural width. It must stay at least the page's small print.
try:
    sys.path.insert(0, str(ROOT))
    from ce_lib.style import MIN_FONT_PT, MIN_TEXT_PX
except ImportError:  # matplotlib missing: the style's values, as documented there
    MIN_FONT_PT, MIN_TEXT_PX = 11, 12
SMALL_PRINT_PX = MIN_TEXT_PX

# Every image of the main content: its address, natural and rendered width.
INSPECT_FIGURES = r"""() => {
  const article = document.querySelector("article") || document.body;
  return [...article.querySelectorAll("img")]
    .filter(img => img.naturalWidth > 0 && img.getBoundingClientRect().width > 0)
    .map(img => ({src: img.currentSrc || img.src, natural: img.naturalWidth,
                  rendered: Math.round(img.getBoundingClientRect().width * 10) / 10}));
}"""

class _IdCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key == "id" or (tag == "a" and key == "name"):
                self.ids.add(value)


@functools.cache
def ids_in(path: Path) -> frozenset[str]:
    parser = _IdCollector()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(parser.ids)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # one line per request would drown the report
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # The browser drops connections it no longer needs (a page closed while a font was
        # still arriving): not a problem of the site. Anything else is reported as usual.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def serve(site: Path, base_path: str = "/") -> http.server.ThreadingHTTPServer:
    """Serve the site at http://127.0.0.1:PORT{base_path}; anything outside base_path is a 404."""

    class Handler(QuietHandler):
        def translate_path(self, path):
            if not path.startswith(base_path):
                return os.path.join(str(site), "(outside the site's folder)")  # a 404
            return super().translate_path("/" + path[len(base_path):])

    handler = functools.partial(Handler, directory=str(site))
    server = QuietServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def pages_of(site: Path) -> list[Path]:
    return sorted(
        p for p in site.rglob("*.html")
        if not SKIP_DIRS.intersection(p.relative_to(site).parts[:-1])
    )


def origin_of(base: str) -> str:
    """http://host:port/ of the server, whatever sub-path the site is served under."""
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}/"


def local_target(site: Path, base: str, url: str) -> tuple[Path, str] | None:
    """(file, anchor) of a link into the site, or None for a link elsewhere."""
    url, fragment = urldefrag(url)
    if not url.startswith(origin_of(base)):
        return None
    if not url.startswith(base):  # same server, outside the site's folder: cannot resolve
        return site / "(outside the site's folder)", ""
    path = unquote(urlsplit(url.removeprefix(base)).path)
    target = site / path.lstrip("/")
    if path == "" or path.endswith("/"):
        target = target / "index.html"
    return target, unquote(fragment)


def screenshot_name(rel: str) -> str:
    return rel.replace("/", "__").removesuffix(".html") + ".png"


# --- notebooks behind the pages (for the code-output check and the alt-text hints) ---------

@dataclass
class NotebookCell:
    index: int            # position among all the notebook's cells (0-based)
    shows_output: bool    # has output that the page should show
    source: str


def _rendered(output: dict) -> bool:
    """Whether myst-nb shows this stored output (stderr is the config's choice: not judged)."""
    kind = output.get("output_type")
    if kind == "stream":
        return output.get("name") == "stdout" and bool("".join(output.get("text", "")).strip())
    if kind == "error":
        return True
    # display_data / execute_result; glue(..., display=False) stores only papermill records
    return any(not mime.startswith("application/papermill.record/") for mime in output.get("data", {}))


@functools.cache
def notebook_cells(site: Path, rel: str) -> list[NotebookCell] | None:
    """The code cells a page of the site shows, from the notebook copied to _sources/."""
    source = site / "_sources" / (rel.removesuffix(".html") + ".ipynb")
    if not source.is_file():
        return None
    cells = []
    for index, cell in enumerate(json.loads(source.read_text(encoding="utf-8"))["cells"]):
        if cell["cell_type"] != "code":
            continue
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & {"remove-cell", "remove_cell"}:
            continue  # not on the page at all
        shows = (not tags & {"remove-output", "remove_output"}
                 and any(_rendered(o) for o in cell.get("outputs", [])))
        cells.append(NotebookCell(index, shows, "".join(cell.get("source", ""))))
    return cells


TITLE_IN_SOURCE = re.compile(r"""(?:title|suptitle|set_title)\s*[=(]\s*[rfb]?["']([^"']+)""")


def cell_hint(cells: list[NotebookCell] | None, position: int) -> str:
    """ "notebook cell 12, title '...'" for the code cell at this position of the page."""
    if cells is None or not 0 <= position < len(cells):
        return ""
    cell = cells[position]
    titles = TITLE_IN_SOURCE.findall(cell.source)
    shown = "; ".join(titles[:2])
    return f" (notebook cell {cell.index}" + (f", title {shown!r}" if shown else "") + ")"


# --- accessibility ------------------------------------------------------------------------

def alt_text_findings(info: dict, cells: list[NotebookCell] | None) -> list[str]:
    found = []
    for img in info["images"]:
        if not img["inContent"] or img["decorative"]:
            continue
        alt = (img["alt"] or "").strip()
        file_name = img["src"].rsplit("/", 1)[-1]
        alt_is_file_name = bool(alt) and (alt == img["src"] or alt.rsplit("/", 1)[-1] == file_name)
        if (alt and not alt_is_file_name) or img["caption"]:
            continue
        why = "alt text is the file name" if alt_is_file_name else "no alt text"
        found.append(f"{img['src']}: {why}, no caption{cell_hint(cells, img['cell'])}")
    return found


def heading_findings(info: dict) -> list[str]:
    found, previous = [], None
    for h in info["headings"]:
        if previous is None and h["level"] != 1:
            found.append(f"first heading is h{h['level']}, not h1: {h['text']!r}")
        elif previous is not None and h["level"] > previous + 1:
            found.append(f"h{previous} then h{h['level']} (skips a level): {h['text']!r}")
        previous = h["level"]
    return found


def output_findings(page_cells: list[dict], cells: list[NotebookCell] | None) -> list[str]:
    if cells is None:
        return []  # not a notebook page
    if len(page_cells) != len(cells):
        return [f"the page shows {len(page_cells)} code cells, the notebook has {len(cells)}: "
                "cannot match them"]
    found = []
    for position, (cell, shown) in enumerate(zip(cells, page_cells)):
        if not cell.shows_output:
            continue
        where = f"notebook cell {cell.index}"
        outputs = shown["outputs"]
        if not outputs:
            found.append(f"{where} has output, the page shows no output area")
        elif not any(o["content"] for o in outputs):
            found.append(f"{where} has output, the page's output area is empty")
        elif not all(o["visible"] for o in outputs if o["content"]):
            found.append(f"{where} has output, the page's output area stays hidden "
                         "(even with every toggle of the page opened)")
    return found


def matplotlib_png_dpi(path: Path) -> float | None:
    """The dpi a matplotlib PNG was drawn at (its pHYs chunk), or None for any other image."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    pos, dpi, by_matplotlib = 8, None, False
    while pos + 8 <= len(data):
        length, kind = int.from_bytes(data[pos:pos + 4], "big"), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"pHYs" and body[8:9] == b"\x01":      # unit: metre
            dpi = int.from_bytes(body[:4], "big") * 0.0254
        elif kind == b"tEXt" and body.startswith(b"Software\x00Matplotlib"):
            by_matplotlib = True
        elif kind == b"IDAT":
            break
        pos += 12 + length
    return dpi if by_matplotlib and dpi else None


def figure_text_findings(figures: list[dict], site: Path, base: str) -> list[str]:
    """Course figures whose smallest text is shown below the page's small print."""
    found = []
    for figure in figures:
        target = local_target(site, base, figure["src"])
        dpi = target and matplotlib_png_dpi(target[0])
        if not dpi:
            continue   # not a matplotlib figure of the course
        text_px = MIN_FONT_PT * dpi / 72 * figure["rendered"] / figure["natural"]
        if text_px < SMALL_PRINT_PX - 0.05:
            found.append(f"{target[0].name[:12]}…: {MIN_FONT_PT} pt text at {dpi:.0f} dpi, "
                         f"{figure['natural']} px image shown {figure['rendered']:.0f} px wide: "
                         f"{text_px:.1f} px (< {SMALL_PRINT_PX} px)")
    return found


ACCESSIBILITY_CHECKS = {
    "img-alt": "images without alt text or caption",
    "headings": "heading levels skipped",
    "cell-outputs": "code cells whose output is not shown",
    "wide-maths": f"display equations wider than their box at {DESKTOP_VIEWPORT['width']} px",
    "small-figure-text": f"figures whose smallest text is below {SMALL_PRINT_PX} px at "
                         f"{DESKTOP_VIEWPORT['width']} px",
    "small-figure-text-phone": f"figures whose smallest text is below {SMALL_PRINT_PX} px at "
                               f"{PHONE_VIEWPORT['width']} px",
}


def read_known_failures(path: Path) -> dict[tuple[str, str], int]:
    known = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                page, check, count = line.split()
                known[(page, check)] = int(count)
    return known


# --- the checks ---------------------------------------------------------------------------

def check_page(page, site: Path, base: str, path: Path, shots: Path) -> tuple[list[str], dict]:
    """Problems of one page, and its accessibility findings {check: [finding, ...]}."""
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"JavaScript error: {e}"))
    origin = origin_of(base)
    page.on("requestfailed", lambda r: r.url.startswith(origin) and problems.append(
        f"request failed: {r.url} ({r.failure})"))
    page.on("response", lambda r: r.url.startswith(origin) and r.status >= 400 and problems.append(
        f"HTTP {r.status}: {r.url}"))

    rel = path.relative_to(site).as_posix()
    redirect = REDIRECT.search(path.read_text(encoding="utf-8", errors="replace")[:1000])
    if redirect:  # e.g. index.html -> intro.html: check the target exists, nothing else
        target = path.parent / redirect.group(1)
        return ([] if target.is_file() else [f"redirects to a missing page: {redirect.group(1)}"]), {}
    response = page.goto(base + rel, wait_until="load", timeout=PAGE_TIMEOUT_MS)
    if response is None or response.status != 200:
        return problems + [f"page did not load (status {response and response.status})"], {}
    info = page.evaluate(INSPECT_PAGE, MATHJAX_TIMEOUT_MS)

    if info["mathElements"] or info["rawDelimiters"]:
        if not info["mathjaxLoaded"]:
            problems.append(f"{info['mathElements']} math elements but MathJax did not load")
        elif not info["mathjaxDone"]:
            problems.append(f"MathJax did not finish within {MATHJAX_TIMEOUT_MS / 1000:.0f} s")
        for raw in info["untypeset"]:
            problems.append(f"maths not typeset: {raw!r}")
        if info["rawDelimiters"]:
            problems.append(f"{info['rawDelimiters']} raw \\( or \\[ delimiters left in the text")
        if not info["containers"]:
            problems.append("no mjx-container on a page with maths")

    for img in info["images"]:
        if not img["loaded"]:
            problems.append(f"image did not load: {img['src']}")

    for link in info["links"]:
        target = local_target(site, base, link)
        if target is None:
            continue  # external link: not followed (and the browser never requested it)
        file, anchor = target
        shown = link.removeprefix(base)
        if not file.is_file():
            problems.append(f"broken link: {shown}")
        elif anchor and file.suffix == ".html" and anchor not in ids_in(file):
            problems.append(f"broken anchor: {shown}")

    page.screenshot(path=str(shots / screenshot_name(rel)), full_page=True)
    maths = page.evaluate(INSPECT_MATHS) if info["containers"] else {"wide": [], "rawMacros": []}
    for tex in maths["rawMacros"]:
        problems.append(f"a TeX macro shown as text in typeset maths: {tex!r}")
    wide_maths = [f"{w['width']} px in a {w['column']} px box"
                  + (f", in {w['where']!r}" if w["where"] else "") + f": {w['tex']}"
                  for w in maths["wide"]]

    small_text = figure_text_findings(page.evaluate(INSPECT_FIGURES), site, base)

    page.set_viewport_size(PHONE_VIEWPORT)   # the phone: nothing may scroll the page sideways
    page.wait_for_timeout(PHONE_SETTLE_MS)
    phone = page.evaluate(INSPECT_PHONE)
    small_text_phone = figure_text_findings(page.evaluate(INSPECT_FIGURES), site, base)
    if phone["scrollWidth"] > phone["clientWidth"]:
        problems.append(f"at {PHONE_VIEWPORT['width']} px the page scrolls sideways "
                        f"({phone['scrollWidth']} px wide): " + "; ".join(phone["culprits"]))
    page.screenshot(path=str(shots / ("phone__" + screenshot_name(rel))), full_page=True)
    page.set_viewport_size(DESKTOP_VIEWPORT)

    cells = notebook_cells(site, rel)
    accessibility = {
        "img-alt": alt_text_findings(info, cells),
        "headings": heading_findings(info),
        "cell-outputs": output_findings(page.evaluate(OPEN_TOGGLES_AND_INSPECT_CELLS), cells),
        "wide-maths": wide_maths,
        "small-figure-text": small_text,
        "small-figure-text-phone": small_text_phone,
    }
    return problems, accessibility


def check_search(context, base: str, shots: Path) -> list[str]:
    """search.html?q=... lists the chapter the query is about."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"JavaScript error: {e}"))
    try:
        page.goto(base + "search.html?q=" + SEARCH_QUERY.replace(" ", "+"), wait_until="load",
                  timeout=PAGE_TIMEOUT_MS)
        # Sphinx's searchtools sets the results title to "Search Results" when it has finished.
        page.wait_for_function(
            "() => { const h = document.querySelector('#search-results h2');"
            " return h && h.textContent.startsWith('Search Results'); }",
            timeout=PAGE_TIMEOUT_MS)
        hrefs = page.eval_on_selector_all("#search-results ul.search li a", "as => as.map(a => a.href)")
        page.screenshot(path=str(shots / "search__label_smoothing.png"))
    except Exception as error:
        return errors + [f"search for {SEARCH_QUERY!r} did not finish: {error}"]
    finally:
        page.close()
    found = {urlsplit(h.removeprefix(base)).path for h in hrefs}
    if SEARCH_EXPECTS not in found:
        errors.append(f"search for {SEARCH_QUERY!r} does not list {SEARCH_EXPECTS} "
                      f"({len(found)} results: {', '.join(sorted(found)) or 'none'})")
    return errors


def check_dark_mode(context, base: str, shots: Path) -> list[str]:
    """The colour-mode button switches html[data-theme] to dark and back to light."""
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"JavaScript error: {e}"))
    try:
        page.goto(base + DARK_MODE_PAGE, wait_until="load", timeout=PAGE_TIMEOUT_MS)
        theme = lambda: page.evaluate("document.documentElement.dataset.theme")  # noqa: E731
        button = page.locator(".theme-switch-button:visible").first
        start = theme()
        if start != "light":
            problems.append(f"the page starts in the {start!r} theme, not 'light' "
                            "(the browser asks for light)")
        seen = [start]
        for _ in range(3):  # the button cycles auto -> dark -> light -> auto
            button.click()
            seen.append(theme())
            if seen[-1] == "dark":
                page.wait_for_timeout(300)  # let the colours settle before the screenshot
                page.screenshot(path=str(shots / ("dark-mode__" + screenshot_name(DARK_MODE_PAGE))))
                page.set_viewport_size(PHONE_VIEWPORT)
                page.wait_for_timeout(PHONE_SETTLE_MS)
                page.screenshot(path=str(shots / ("dark-mode__phone__" + screenshot_name(DARK_MODE_PAGE))))
                page.set_viewport_size(DESKTOP_VIEWPORT)
        if "dark" not in seen:
            problems.append(f"the colour-mode button never switched to the dark theme (saw {seen})")
        elif seen[-1] != start or "light" not in seen[seen.index("dark"):]:
            problems.append(f"the colour-mode button did not switch back from dark (saw {seen})")
        mode = page.evaluate("document.documentElement.dataset.mode")
        if mode != "auto":
            problems.append(f"three clicks of the colour-mode button end in mode {mode!r}, not 'auto'")
    except Exception as error:
        problems.append(f"could not try the colour-mode button: {error}")
    finally:
        page.evaluate("localStorage.clear()")  # leave no mode behind in the profile
        page.close()
    return problems


def check_pdf(site: Path, base: str, context, required: bool) -> tuple[list[str], str]:
    """The PDF edition: a PDF, linked from the intro page and the chapters' download menu."""
    pdf = site / PDF_NAME
    if not pdf.is_file():
        if required:
            return [f"{PDF_NAME} is not in the site"], ""
        return [], f"PDF edition: no {PDF_NAME} in the site (not built): its links not checked"
    problems = []
    data = pdf.read_bytes()
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-1024:]:
        problems.append(f"{PDF_NAME} is not a complete PDF file")
    page = context.new_page()
    try:
        for rel, selector in [("intro.html", "article a.pdf-edition-link"),
                              (DARK_MODE_PAGE, "a.btn-download-book-pdf-button")]:
            page.goto(base + rel, wait_until="load", timeout=PAGE_TIMEOUT_MS)
            hrefs = page.eval_on_selector_all(selector, "as => as.map(a => a.href)")
            if base + PDF_NAME not in hrefs:
                problems.append(f"{rel} has no link to {PDF_NAME} ({selector})")
    finally:
        page.close()
    return problems, f"PDF edition: {PDF_NAME} ({len(data) / 1e6:.1f} MB), linked"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--screenshots", type=Path, default=ROOT / "_build" / "screenshots")
    parser.add_argument("--require-pdf", action="store_true",
                        help=f"fail if the site has no {PDF_NAME} (the PDF edition was built)")
    parser.add_argument("--base-path", default="/",
                        help="serve the site under this path, e.g. /cross-entropy-course/ as on "
                             "GitHub Pages: a link that is not relative then fails (default: /)")
    parser.add_argument("--known-failures", type=Path, default=KNOWN_FAILURES,
                        help="the list of known accessibility failures (default: %(default)s)")
    args = parser.parse_args()

    site = args.site.resolve()
    pages = pages_of(site)
    if not pages:
        print(f"browser check: no HTML pages under {site}; build the book first", file=sys.stderr)
        return 1
    args.screenshots.mkdir(parents=True, exist_ok=True)
    for old in args.screenshots.glob("*.png"):
        old.unlink()

    base_path = "/" + args.base_path.strip("/") + "/" if args.base_path.strip("/") else "/"
    server = serve(site, base_path)
    origin = f"http://127.0.0.1:{server.server_port}/"
    base = origin + base_path.lstrip("/")
    problems: dict[str, list[str]] = defaultdict(list)
    accessibility: dict[str, dict[str, list[str]]] = {}
    outside: list[str] = []
    notes: list[str] = []

    def keep_local(route):
        if route.request.url.startswith((origin, "data:", "blob:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with tempfile.TemporaryDirectory(prefix="check-site-profile-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS,
            viewport=DESKTOP_VIEWPORT, color_scheme="light",
        )
        context.route("**/*", keep_local)
        started = time.monotonic()
        for path in pages:
            rel = path.relative_to(site).as_posix()
            page = context.new_page()
            before = len(outside)
            try:
                found, accessibility[rel] = check_page(page, site, base, path, args.screenshots)
                problems[rel] += found
            except Exception as error:  # a timeout or a crash is a failure of this page
                problems[rel].append(f"could not check the page: {error}")
            problems[rel] += [f"request to another host (blocked): {u}" for u in outside[before:]]
            page.close()
        pages_seconds, started = time.monotonic() - started, time.monotonic()
        before = len(outside)
        problems["(search)"] += check_search(context, base, args.screenshots)
        problems["(colour-mode button)"] += check_dark_mode(context, base, args.screenshots)
        pdf_problems, pdf_note = check_pdf(site, base, context, args.require_pdf)
        problems["(PDF edition)"] += pdf_problems
        notes += [pdf_note] if pdf_note else []
        problems["(site-wide checks)"] += [f"request to another host (blocked): {u}" for u in outside[before:]]
        site_seconds = time.monotonic() - started
        context.close()
    server.shutdown()

    failed = {rel: found for rel, found in problems.items() if found}
    for rel, found in failed.items():
        print(f"\n{rel}:")
        for problem in dict.fromkeys(found):  # each distinct problem once, in order
            print(f"  - {problem}")

    # Accessibility: compare with the list of known failures.
    known = read_known_failures(args.known_failures)
    try:
        known_file = args.known_failures.relative_to(ROOT)
    except ValueError:
        known_file = args.known_failures
    a11y_failed = a11y_known = 0
    report: list[str] = []
    for rel, checks in accessibility.items():
        for check, findings in checks.items():
            allowed = known.get((rel, check), 0)
            if not findings and not allowed:
                continue
            if len(findings) > allowed:
                status = "FAIL" + (f" (known: {allowed})" if allowed else "")
                a11y_failed += 1
            elif len(findings) < allowed:
                status = f"FAIL: fewer than the {allowed} known, lower the count in {known_file}"
                a11y_failed += 1
            else:
                status = f"known, listed in {known_file}"
                a11y_known += len(findings)
            report.append(f"  {rel}: {ACCESSIBILITY_CHECKS[check]}: {len(findings)} [{status}]")
            report += [f"    - {finding}" for finding in findings]
    for (rel, check), allowed in known.items():
        if rel not in accessibility:
            report.append(f"  {rel}: listed in {known_file} ({check} {allowed}) but not in the site "
                          "[FAIL: remove the line]")
            a11y_failed += 1
    if report:
        print("\naccessibility and layout (alt text, heading levels, code-cell outputs, wide maths, "
              "figure text):")
        print("\n".join(report))
        if a11y_failed:
            print("  To fix an image: give its code cell the metadata "
                  '{"mystnb": {"image": {"alt": "what the figure shows"}}}, or glue it into a '
                  "{glue:figure} with a caption.")

    shots = args.screenshots
    shots = shots.relative_to(ROOT) if shots.is_relative_to(ROOT) else shots
    for note in notes:
        print(f"\n{note}")
    print(f"\nbrowser check: {len(pages)} pages in {pages_seconds:.0f} s, search, colour mode and "
          f"PDF links in {site_seconds:.0f} s")
    print(f"browser check: {len(pages)} pages, {len(failed)} with problems; accessibility: "
          f"{a11y_failed} failing, {a11y_known} known failures not yet fixed; "
          f"screenshots in {shots}")
    return 1 if failed or a11y_failed else 0


if __name__ == "__main__":
    sys.exit(main())
