"""Tests of the documentation site.

Two kinds, run at different times:

* ``test_broken_stated_formula_fails_the_build`` runs with the normal suite
  (``make test``). It builds a small site from a copy of the repository in
  which the stated VJP of the dense layer is wrong, with the real ``conf.py``,
  the real page generator and the real execution, and asserts that the build
  fails and says why.
* The tests marked ``browser`` check the site that ``make docs`` built, in
  headless Chromium. ``make test`` deselects them (``-m "not browser"`` in
  pyproject's addopts) because they need a built site; ``make browser-test``
  runs them after ``make docs`` (``.ci/run`` does both) and they FAIL, not
  skip, when the site or Chromium is missing. Every page is loaded at
  1280×900 and at 390×844 once (the ``measured`` fixture); the tests then
  fail on: an element cut at 1280 px, a page wider than 390 px, raw TeX,
  a MathJax error, a broken image, a request leaving the site, pages over
  20 MB, an in-browser Python (the Ask page's) over 25 MB. The counts are
  written, one line, to ``_build/browser-summary.txt`` (pages; cut at 1280;
  wider than 390; raw TeX; MathJax errors; broken images; external
  requests; site MB, and its two parts).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: The built site: ``_build/html`` (``make docs``), or the folder named by NETLIB_SITE.
SITE = Path(os.environ.get("NETLIB_SITE", ROOT / "_build" / "html"))
SCREENSHOTS = ROOT / "_build" / "screenshots"


# -- a wrong formula fails the build ---------------------------------------------------
def test_broken_stated_formula_fails_the_build(tmp_path):
    """Flip the sign of the stated ``dL/dx = G Wᵀ`` of ``dense`` and build its page."""
    copy = tmp_path / "repo"
    for name in ("netlib", "derivations"):
        shutil.copytree(ROOT / name, copy / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "conf.py", copy / "conf.py")
    shutil.copytree(ROOT / "docs" / "_ext", copy / "docs" / "_ext",
                    ignore=shutil.ignore_patterns("__pycache__"))
    # A two-page site: a root page and the registry's layer section, which
    # the generator fills (here with the dense page only).
    (copy / "docs" / "index.md").write_text(
        "# Broken formula\n\n```{toctree}\nlayers/index\n```\n", encoding="utf-8")

    source = copy / "derivations" / "layers" / "dense.py"
    text = source.read_text(encoding="utf-8")
    correct = '"x": G * W.T,'
    assert text.count(correct) >= 1, f"expected the stated dL/dx of dense in {source}"
    # Only the first occurrence: the row-layout entry "dense".
    source.write_text(text.replace(correct, '"x": -G * W.T,', 1),
                      encoding="utf-8")

    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-T", "-b", "html", "-c", str(copy),
         "-D", "netlib_layer_pages=dense", str(copy / "docs"), str(copy / "_build")],
        cwd=copy, capture_output=True, text=True, timeout=600, check=False,
        env={**_clean_env(), "PYTHONPATH": str(copy)})
    output = build.stdout + build.stderr
    assert build.returncode != 0, f"the build passed with a broken formula:\n{output[-3000:]}"
    # The failure must be the broken formula, reported by the site's check run.
    assert "registry check(s) failed" in output, output[-3000:]
    assert "dense d/dx" in output, f"expected dense's dL/dx to be named:\n{output[-3000:]}"
    assert not (copy / "_build" / "index.html").exists(), "a failed build must not write a site"


def _clean_env() -> dict:
    import os

    # The copy, not this checkout, must be what the build and its kernel import.
    return {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


# -- the built site in a browser -----------------------------------------------------
class _Links(HTMLParser):
    """Every local reference of one HTML page, and the ids it defines."""

    def __init__(self) -> None:
        super().__init__()
        self.references: list[tuple[str, str]] = []    # (tag.attribute, value)
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for attribute in ("href", "src"):
            value = attrs.get(attribute)
            if value is not None and tag in ("a", "link", "script", "img", "source", "iframe"):
                self.references.append((f"{tag}.{attribute}", value))


def _site_pages() -> list[Path]:
    if not (SITE / "index.html").exists():
        pytest.fail(f"no built site in {SITE}: run `make docs` before `make browser-test`")
    return sorted(p for p in SITE.rglob("*.html") if "_static" not in p.parts)


def _parse(page: Path) -> _Links:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


@pytest.mark.browser
def test_every_link_and_asset_resolves():
    pages = _site_pages()
    ids = {page: _parse(page).ids for page in pages}
    broken, external = [], []
    for page in pages:
        for kind, value in _parse(page).references:
            parts = urlsplit(value)
            if parts.scheme in ("http", "https") or value.startswith("//"):
                if kind != "a.href":       # a script, style, font or image from elsewhere
                    external.append(f"{page.relative_to(SITE)}: {kind}={value}")
                continue
            if parts.scheme or not (parts.path or parts.fragment):
                continue                   # mailto:, data:, javascript:, "#"
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(SITE)}: {kind}={value} (no such file)")
            elif parts.fragment and target.suffix == ".html" and target in ids \
                    and unquote(parts.fragment) not in ids[target]:
                broken.append(f"{page.relative_to(SITE)}: {kind}={value} (no such anchor)")
    assert not external, "pages load assets from other hosts:\n" + "\n".join(external)
    assert not broken, f"{len(broken)} broken references:\n" + "\n".join(broken[:50])


def _content_pages() -> list[Path]:
    """The pages people read: every page except the search/index machinery."""
    skip = {"search.html", "genindex.html", "py-modindex.html"}
    return [p for p in _site_pages() if p.name not in skip]


@pytest.fixture(scope="module")
def browser():
    from site_browser import Browser, find_chromium

    executable = find_chromium()
    if executable is None:
        pytest.fail("chromium is not installed (apt-get install -y chromium); "
                    "the browser test needs it")
    instance = Browser(executable)
    yield instance
    instance.close()


# What the page looks like once MathJax is done: counted in the browser.
MATH_STATE = r"""
(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const body = document.body.cloneNode(true);
  body.querySelectorAll('pre, code, mjx-container, script, style').forEach(e => e.remove());
  const images = [...document.querySelectorAll('article img, main img')];
  return {
    mathElements: document.querySelectorAll('.math').length,
    typeset: document.querySelectorAll('mjx-container').length,
    mathErrors: document.querySelectorAll('mjx-merror').length,
    text: body.innerText,
    images: images.map(i => ({src: i.getAttribute('src'),
                              ok: i.complete && i.naturalWidth > 0})),
    mathjax: !!(window.MathJax && MathJax.version),
  };
})()
"""

# What does not fit: the page's own width, and every element of the article
# whose content reaches past its box. An element with ``overflow-x`` other
# than ``visible`` whose content is wider than its box hides part of it
# (``hidden``, ``clip``) or needs sideways scrolling (``auto``, ``scroll``);
# a wide element without such a box (a table, a picture, a code block)
# reaching past the article's right edge runs under the sidebar or off the
# page. Inside a formula only the formula's own box counts; content folded
# away in a closed <details> is not on screen and is measured when opened.
LAYOUT_STATE = r"""
(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await new Promise(resolve => requestAnimationFrame(() => setTimeout(resolve, 50)));
  document.querySelectorAll('details').forEach(d => d.open = true);
  await new Promise(resolve => requestAnimationFrame(() => setTimeout(resolve, 50)));
  const root = document.scrollingElement || document.documentElement;
  const article = document.querySelector('article.bd-article') || document.querySelector('main')
                  || document.body;
  const edge = article.getBoundingClientRect().right;
  const describe = e => {
    let name = e.tagName.toLowerCase();
    if (typeof e.className === 'string' && e.className.trim()) {
      name += '.' + e.className.trim().split(/\s+/).slice(0, 2).join('.');
    }
    const text = (e.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 70);
    return text ? `${name} "${text}"` : name;
  };
  const clipped = e => {
    for (let a = e.parentElement; a && a !== article; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') return true;
    }
    return false;
  };
  const cut = [];
  for (const e of article.querySelectorAll('*')) {
    if (e.closest('mjx-container') && e.tagName !== 'MJX-CONTAINER') continue;
    const style = getComputedStyle(e);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const overflow = style.overflowX;
    if (overflow !== 'visible' && e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1) {
      cut.push({what: describe(e), by: e.scrollWidth - e.clientWidth,
                scrolls: overflow === 'auto' || overflow === 'scroll',
                labelled: !!e.closest('.netlib-scrolls'),
                folded: !!e.closest('details.netlib-fold')});
    } else if (e.matches('pre, table, img, mjx-container, .highlight, .cell_output')
               && e.getBoundingClientRect().right > edge + 1 && !clipped(e)) {
      cut.push({what: describe(e), by: Math.round(e.getBoundingClientRect().right - edge),
                scrolls: false, labelled: false, folded: false});
    }
  }
  return {width: root.scrollWidth, viewport: window.innerWidth, cut: cut};
})()
"""

RAW_TEX = re.compile(r"\\begin\{|\\frac\{|\\partial|\$\$|\\\(|\\\[|\$[A-Za-z\\]")
#: (width, height) of the two screens every page is measured on.
DESKTOP, PHONE = (1280, 900), (390, 844)
# Two budgets: 20 MB for the pages (issue 14), and at most 25 MB for the
# Python that the Ask page runs in the reader's browser (issue 15: Pyodide,
# SymPy, the engine, in _static/ask/pyodide; loaded only by that page's widget).
PAGES_LIMIT_MB, BROWSER_PYTHON_LIMIT_MB = 20, 25
BROWSER_PYTHON = Path("_static", "ask", "pyodide")


@pytest.fixture(scope="module")
def measured(browser):
    """Every content page loaded at both screen sizes: what it requested, threw and showed."""
    results = {}
    for size in (DESKTOP, PHONE):
        browser.resize(*size)
        for page in _content_pages():
            browser.load(page.as_uri())
            math = browser.evaluate(MATH_STATE) if size == DESKTOP else None
            layout = browser.evaluate(LAYOUT_STATE)
            results[page, size] = {
                "math": math, "layout": layout, "requests": browser.requested_urls(),
                "exceptions": browser.exceptions()}
    browser.resize(1200, 2400)
    return results


def _site_megabytes(part: str = "all") -> float:
    """The published site (Sphinx's own .doctrees and .buildinfo are not part
    of it): ``"all"``, ``"pages"`` (without the in-browser Python) or
    ``"python"`` (only that)."""
    total = 0
    for path in SITE.rglob("*"):
        relative = path.relative_to(SITE)
        if not path.is_file() or any(p.startswith(".") for p in relative.parts):
            continue
        python = relative.is_relative_to(BROWSER_PYTHON)
        if part == "all" or python == (part == "python"):
            total += path.stat().st_size
    return total / 1e6


def _summary(measured) -> dict:
    pages = {page for page, _ in measured}
    counts = {
        "pages": len(pages),
        "cut at 1280": sum(not (item["scrolls"] and item["folded"])
                           for (_, size), m in measured.items() if size == DESKTOP
                           for item in m["layout"]["cut"]),
        "wider than 390": sum(m["layout"]["width"] > m["layout"]["viewport"] + 1
                              for (_, size), m in measured.items() if size == PHONE),
        "raw TeX": sum(bool(RAW_TEX.search(m["math"]["text"])) for m in measured.values()
                       if m["math"]),
        "MathJax errors": sum(m["math"]["mathErrors"] for m in measured.values() if m["math"]),
        "broken images": sum(not image["ok"] for m in measured.values() if m["math"]
                             for image in m["math"]["images"]),
        "external requests": len({url for m in measured.values() for url in m["requests"]
                                  if not url.startswith(("file://", "data:", "blob:",
                                                         "about:"))}),
        "site MB": round(_site_megabytes(), 1),
        "pages MB": round(_site_megabytes("pages"), 1),
        "in-browser Python MB": round(_site_megabytes("python"), 1),
    }
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY.write_text("; ".join(f"{key} {value}" for key, value in counts.items()) + "\n",
                       encoding="utf-8")
    return counts


SUMMARY = ROOT / "_build" / "browser-summary.txt"


@pytest.mark.browser
def test_pages_typeset_their_math_offline(measured):
    problems, typeset_pages = [], 0
    for (page, _size), m in measured.items():
        name = page.relative_to(SITE)
        for url in m["requests"]:
            if not url.startswith(("file://", "data:", "blob:", "about:")):
                problems.append(f"{name}: requested {url} (the site must work offline)")
        problems += [f"{name}: JavaScript error {text}" for text in m["exceptions"]]
        state = m["math"]
        if state is None:
            continue
        if state["mathElements"]:
            typeset_pages += 1
            if not state["mathjax"]:
                problems.append(f"{name}: has math but MathJax did not load")
            elif state["typeset"] < state["mathElements"]:
                problems.append(f"{name}: {state['mathElements']} math elements, only "
                                f"{state['typeset']} typeset")
        if state["mathErrors"] or "Math input error" in state["text"]:
            problems.append(f"{name}: MathJax reported {state['mathErrors']} math error(s)")
        raw = RAW_TEX.search(state["text"])
        if raw:
            start = max(raw.start() - 60, 0)
            problems.append(f"{name}: raw TeX left in the text: "
                            f"...{state['text'][start:raw.end() + 60]!r}")
        problems += [f"{name}: image {image['src']} did not load"
                     for image in state["images"] if not image["ok"]]
    summary = _summary(measured)
    assert typeset_pages >= 5, f"expected math on most pages, found it on {typeset_pages}"
    assert not problems, "\n".join(problems) + f"\n{summary}"


@pytest.mark.browser
def test_nothing_is_cut_at_1280_and_no_page_is_wider_than_a_phone(measured):
    """At 1280 px nothing needs scrolling or is hidden; at 390 px the page fits the screen.

    On a phone a wide table or formula may scroll inside its own box, but a
    table's box must say so (netlib.js labels it), and nothing may be clipped.
    Machine output that a layer page folds away (a collapsed block the reader
    opens on purpose: SymPy's Jacobians entry by entry) may scroll inside its
    own box at 1280 px too; everything in the page's flow must fit.
    """
    problems = []
    for (page, size), m in measured.items():
        name, layout = page.relative_to(SITE), m["layout"]
        if layout["width"] > layout["viewport"] + 1:
            problems.append(f"{name} at {size[0]} px: the page is {layout['width']} px wide")
        for item in layout["cut"]:
            if size == DESKTOP and not (item["scrolls"] and item["folded"]):
                problems.append(f"{name} at 1280 px: {item['what']} is cut by {item['by']} px"
                                + (" (it scrolls)" if item["scrolls"] else ""))
            elif not item["scrolls"]:
                problems.append(f"{name} at 390 px: {item['what']} is clipped by "
                                f"{item['by']} px")
            elif item["what"].startswith("div.pst-scrollable-table-container") \
                    and not item["labelled"]:
                problems.append(f"{name} at 390 px: a table scrolls without saying so")
    summary = _summary(measured)
    assert not problems, (f"{len(problems)} layout problems ({summary}):\n"
                          + "\n".join(problems[:80]))


@pytest.mark.browser
def test_the_site_is_small():
    pages, python = _site_megabytes("pages"), _site_megabytes("python")
    assert pages < PAGES_LIMIT_MB, (f"the site without {BROWSER_PYTHON} is {pages:.1f} MB "
                                    f"(limit {PAGES_LIMIT_MB} MB)")
    assert 0 < python <= BROWSER_PYTHON_LIMIT_MB, (
        f"{BROWSER_PYTHON} holds {python:.1f} MB (limit {BROWSER_PYTHON_LIMIT_MB} MB)")


@pytest.mark.browser
def test_why_the_transpose_shows_math_and_the_heat_map(browser):
    page = SITE / "why-transpose.html"
    assert page.exists(), f"missing {page}"
    browser.load(page.as_uri())
    state = browser.evaluate(MATH_STATE)
    assert state["typeset"] >= 20, f"expected typeset formulas, got {state['typeset']}"
    loaded = [image for image in state["images"] if image["ok"]]
    assert loaded, f"expected the Jacobian heat map, images: {state['images']}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.screenshot(SCREENSHOTS / "why-transpose-top.png",
                       clip={"x": 0, "y": 0, "width": 1200, "height": 2400})
    # A viewport as tall as the page: nothing scrolls, so the sticky header
    # stays at the top instead of covering the figure.
    height = browser.evaluate("document.documentElement.scrollHeight")
    browser.resize(1200, height)
    box = browser.evaluate("""(() => { const img = document.querySelector('article img, main img');
        const r = img.getBoundingClientRect();
        return {x: r.left + window.scrollX, y: r.top + window.scrollY,
                width: r.width, height: r.height}; })()""")
    browser.screenshot(SCREENSHOTS / "why-transpose-heatmap.png",
                       clip={"x": max(box["x"] - 20, 0), "y": max(box["y"] - 200, 0),
                             "width": box["width"] + 40, "height": box["height"] + 240})
    for name in ("why-transpose-top.png", "why-transpose-heatmap.png"):
        data = (SCREENSHOTS / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, name


#: Width of the code boxes, against 80 columns of their own font, in the browser.
CODE_COLUMNS = """
(() => {
  const out = [];
  for (const pre of document.querySelectorAll('article div.highlight pre')) {
    const style = getComputedStyle(pre);
    const probe = document.createElement('span');
    probe.textContent = '0'.repeat(80);
    probe.style.font = style.font;
    probe.style.whiteSpace = 'pre';
    probe.style.position = 'absolute';
    probe.style.visibility = 'hidden';
    document.body.appendChild(probe);
    const columns80 = probe.getBoundingClientRect().width;
    probe.remove();
    const inner = pre.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    out.push({inner: inner, columns80: columns80,
              first: (pre.textContent.split('\\n')[0] || '').slice(0, 60)});
  }
  return out;
})()
"""


@pytest.mark.browser
def test_code_holds_80_columns_at_1280(browser):
    """At 1280 px every code box is at least 80 columns of its font wide.

    Longer lines (the library's limit is 100) wrap inside the box (CSS
    ``pre-wrap``), so nothing is cut; 80 columns fit without wrapping.
    """
    browser.resize(*DESKTOP)
    problems, boxes = [], 0
    for page in _content_pages():
        if 'class="highlight' not in page.read_text(encoding="utf-8"):
            continue
        browser.load(page.as_uri())
        for box in browser.evaluate(CODE_COLUMNS):
            boxes += 1
            if box["inner"] + 0.5 < box["columns80"]:
                problems.append(f"{page.relative_to(SITE)}: a code box holds "
                                f"{80 * box['inner'] / box['columns80']:.0f} columns "
                                f"({box['first']!r})")
    browser.resize(1200, 2400)
    assert boxes, "no code boxes found"
    assert not problems, "\n".join(problems[:40])
