"""Browser check of the built book: every page loads and works offline.

Usage: python tools/check_site.py [--site _build/html] [--chromium /usr/bin/chromium]

Serves the site on a localhost port (http.server, in a thread), opens every HTML page in
headless Chromium (driven by Playwright) and checks that

  - the page loads (HTTP 200) without a JavaScript error or console error;
  - no request leaves the machine: requests to any other host are aborted and reported;
  - the maths is typeset: on pages with maths, MathJax has finished, every math element
    holds an mjx-container, and no raw \\( or \\[ delimiter is left in the text;
  - every internal link points to a file of the site, and every #anchor to an element id.

It saves a full-page screenshot of every page to _build/screenshots/ for a person to look
at, and exits non-zero with a report of every problem found.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import re
import sys
import tempfile
import threading
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SKIP_DIRS = {"_static", "_sources", "_images", "mathjax"}  # assets, not pages
PAGE_TIMEOUT_MS = 30_000
MATHJAX_TIMEOUT_MS = 20_000
REDIRECT = re.compile(r'<meta http-equiv="refresh" content="\d+; ?url=([^"]+)"', re.IGNORECASE)

# Run in the page once it has loaded: wait for MathJax (if the page loads it), then report
# what the maths looks like and which links the page has.
INSPECT_PAGE = """async (timeoutMs) => {
  let mathjaxDone = !(window.MathJax && MathJax.startup && MathJax.startup.promise);
  if (!mathjaxDone) {
    const timeout = new Promise(resolve => setTimeout(() => resolve(false), timeoutMs));
    mathjaxDone = await Promise.race([MathJax.startup.promise.then(() => true), timeout]);
  }
  const math = Array.from(document.querySelectorAll('.math'));
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, textarea').forEach(e => e.remove());
  const text = clone.textContent;
  return {
    mathjaxLoaded: !!(window.MathJax && MathJax.startup),
    mathjaxDone: mathjaxDone,
    mathElements: math.length,
    untypeset: math.filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 60)),
    containers: document.querySelectorAll('mjx-container').length,
    rawDelimiters: (text.match(/\\\\[\\(\\[]/g) || []).length,
    links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
  };
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


def serve(site: Path) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(QuietHandler, directory=str(site))
    server = QuietServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def pages_of(site: Path) -> list[Path]:
    return sorted(
        p for p in site.rglob("*.html")
        if not SKIP_DIRS.intersection(p.relative_to(site).parts[:-1])
    )


def local_target(site: Path, base: str, url: str) -> tuple[Path, str] | None:
    """(file, anchor) of a link into the site, or None for a link elsewhere."""
    url, fragment = urldefrag(url)
    if not url.startswith(base):
        return None
    path = unquote(urlsplit(url).path)
    target = site / path.lstrip("/")
    if path.endswith("/"):
        target = target / "index.html"
    return target, unquote(fragment)


def check_page(page, site: Path, base: str, path: Path, shots: Path) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"JavaScript error: {e}"))
    page.on("requestfailed", lambda r: r.url.startswith(base) and problems.append(
        f"request failed: {r.url} ({r.failure})"))
    page.on("response", lambda r: r.url.startswith(base) and r.status >= 400 and problems.append(
        f"HTTP {r.status}: {r.url}"))

    rel = path.relative_to(site).as_posix()
    redirect = REDIRECT.search(path.read_text(encoding="utf-8", errors="replace")[:1000])
    if redirect:  # e.g. index.html -> intro.html: check the target exists, nothing else
        target = path.parent / redirect.group(1)
        return [] if target.is_file() else [f"redirects to a missing page: {redirect.group(1)}"]
    response = page.goto(base + rel, wait_until="load", timeout=PAGE_TIMEOUT_MS)
    if response is None or response.status != 200:
        return problems + [f"page did not load (status {response and response.status})"]
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

    page.screenshot(path=str(shots / (rel.replace("/", "__").removesuffix(".html") + ".png")),
                    full_page=True)
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--screenshots", type=Path, default=ROOT / "_build" / "screenshots")
    args = parser.parse_args()

    site = args.site.resolve()
    pages = pages_of(site)
    if not pages:
        print(f"browser check: no HTML pages under {site}; build the book first", file=sys.stderr)
        return 1
    args.screenshots.mkdir(parents=True, exist_ok=True)
    for old in args.screenshots.glob("*.png"):
        old.unlink()

    server = serve(site)
    base = f"http://127.0.0.1:{server.server_port}/"
    problems: dict[str, list[str]] = defaultdict(list)
    outside: list[str] = []

    def keep_local(route):
        if route.request.url.startswith(base) or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with tempfile.TemporaryDirectory(prefix="check-site-profile-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        context.route("**/*", keep_local)
        for path in pages:
            rel = path.relative_to(site).as_posix()
            page = context.new_page()
            before = len(outside)
            try:
                problems[rel] += check_page(page, site, base, path, args.screenshots)
            except Exception as error:  # a timeout or a crash is a failure of this page
                problems[rel].append(f"could not check the page: {error}")
            problems[rel] += [f"request to another host (blocked): {u}" for u in outside[before:]]
            page.close()
        context.close()
    server.shutdown()

    failed = {rel: found for rel, found in problems.items() if found}
    for rel, found in failed.items():
        print(f"\n{rel}:")
        for problem in dict.fromkeys(found):  # each distinct problem once, in order
            print(f"  - {problem}")
    print(f"\nbrowser check: {len(pages)} pages, {len(failed)} with problems; "
          f"screenshots in {args.screenshots.relative_to(ROOT) if args.screenshots.is_relative_to(ROOT) else args.screenshots}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
