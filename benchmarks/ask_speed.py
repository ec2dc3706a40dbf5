"""How long a reader waits on the "Ask a question" page, in headless Chromium.

Serves the built site on 127.0.0.1 (as ``make serve`` does), opens
``ask.html`` in a fresh browser (empty cache) and asks the first example as
soon as the page has loaded: the *first answer* is timed from the moment the
page was requested, so it includes fetching and starting Python and SymPy.
Then every example of the page (and the README's question) is clicked in
turn: each *later answer* is timed from the click to the typeset answer.
Finally the page is opened again in the same browser (files now cached) and
the first answer timed once more.

Targets of issue 15 on the 2-core machine: the first answer within 20 s of
opening the page, later answers within 5 s. Not a test: the machine is
shared and timings vary; the load average is printed beside them. Also
prints the size of what the page adds to the site, raw and gzip-compressed
(``python -m http.server`` sends files uncompressed; a server that
compresses sends about the gzip figure).

    python benchmarks/ask_speed.py [--site _build/html]
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import os
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from site_browser import Browser, find_chromium  # noqa: E402  (tests/ is not a package)

#: The README's question (its `derive` example), asked after the page's own.
README_QUESTION = {"expression": "sum(tanh(X @ W))", "wrt": "W", "shapes": "X=4x3, W=3x2",
                   "layout": "denominator"}
TARGETS = {"first answer": 20.0, "later answer": 5.0}
WIDGET = "document.querySelector('.ask-widget')"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A page left while it loads resets its downloads: not an error here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def serve(site: Path) -> tuple[ThreadingHTTPServer, str]:
    httpd = _Server(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/"


def wait(browser: Browser, expression: str, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not browser.evaluate(f"!!({expression})"):   # a DOM node comes back as {}
        if time.monotonic() > deadline:
            raise TimeoutError(expression)
        time.sleep(0.05)


def answered(browser: Browser) -> int:
    return int(browser.evaluate(f"{WIDGET}.dataset.answered || '0'"))


def ask(browser: Browser, question: dict) -> dict:
    """Fill the form and submit; return the widget's answer once it is shown."""
    before = answered(browser)
    browser.evaluate(f"""(() => {{
        const form = {WIDGET}.querySelector('form');
        for (const [k, v] of Object.entries({json.dumps(question)})) form.elements[k].value = v;
        form.requestSubmit(); }})()""")
    wait(browser, f"Number({WIDGET}.dataset.answered || 0) > {before}")
    return browser.evaluate(f"{WIDGET}.answer")


def first_answer(browser: Browser, url: str, question: dict) -> tuple[float, float, dict]:
    """Seconds from requesting the page to Python ready, and to the first answer."""
    started = time.monotonic()
    browser.load(url)
    wait(browser, "window.netlibAsk && document.querySelector('.ask-widget form')")
    answer = ask(browser, question)
    total = time.monotonic() - started
    ready = browser.evaluate("netlibAsk.state.seconds") or float("nan")
    return ready, total, answer


def examples(browser: Browser) -> list[dict]:
    """The page's clickable examples, read from the page itself."""
    found = browser.evaluate(f"[...{WIDGET}.querySelectorAll('.ask-example')]"
                             ".map((button) => JSON.parse(button.dataset.question))")
    return [{"shapes": "", "layout": "denominator", **question} for question in found]


def click_example(browser: Browser, index: int) -> dict:
    """Press the page's example button number ``index``, as a reader does."""
    before = answered(browser)
    browser.evaluate(f"{WIDGET}.querySelectorAll('.ask-example')[{index}].click()")
    wait(browser, f"Number({WIDGET}.dataset.answered || 0) > {before}")
    return browser.evaluate(f"{WIDGET}.answer")


def sizes(folder: Path) -> tuple[float, float]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    raw = sum(p.stat().st_size for p in files)
    packed = sum(len(gzip.compress(p.read_bytes(), 6)) for p in files)
    return raw / 1e6, packed / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "html")
    args = parser.parse_args()
    assets = args.site / "_static" / "ask" / "pyodide"
    if not (args.site / "ask.html").exists() or not assets.is_dir():
        print(f"no Ask page with its Python in {args.site}: run make docs", file=sys.stderr)
        return 1
    executable = find_chromium()
    if executable is None:
        print("chromium is not installed", file=sys.stderr)
        return 1
    raw, packed = sizes(assets)
    print(f"assets: {raw:.1f} MB raw, {packed:.1f} MB gzip-compressed ({assets})")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} cores)")

    httpd, base = serve(args.site)
    browser = Browser(executable, width=1280, height=900, timeout=300)
    try:
        # The list of examples, from the page (Python is not waited for here).
        browser.load(base + "ask.html")
        wait(browser, f"{WIDGET} && {WIDGET}.querySelector('.ask-example')")
        questions = examples(browser)
        browser.load("about:blank")
        browser.send("Network.clearBrowserCache", session=browser.session)

        ready, total, answer = first_answer(browser, base + "ask.html", questions[0])
        mark = "ok" if total <= TARGETS["first answer"] else "OVER"
        print(f"\nfirst answer, empty cache: {total:.1f} s from opening the page "
              f"(Python ready after {ready:.1f} s; {questions[0]['expression']}) {mark}")
        print(f"\nlater answers (target {TARGETS['later answer']:.0f} s):")
        print(f"{'click→shown':>11} {'in Python':>9}  question")
        worst = 0.0
        for index, question in enumerate([*questions, README_QUESTION]):
            started = time.monotonic()
            answer = (click_example(browser, index) if index < len(questions)
                      else ask(browser, question))
            seconds = time.monotonic() - started
            worst = max(worst, seconds)
            payload = answer.get("payload") or {}
            shown = (payload.get("jacobian") or {}).get("answer") or payload.get("answer")
            verdict = f"answer {shown}" if payload.get("confirmed") else json.dumps(answer)[:60]
            shapes = f" ({question['shapes']})" if question["shapes"] else ""
            print(f"{seconds:10.1f}s {answer.get('seconds', float('nan')):8.1f}s  "
                  f"{question['expression']} wrt {question['wrt']}{shapes}, "
                  f"{question['layout']}: {verdict}")
        print(f"slowest later answer: {worst:.1f} s "
              f"{'ok' if worst <= TARGETS['later answer'] else 'OVER'}")

        ready, total, answer = first_answer(browser, base + "ask.html", questions[0])
        print(f"\nfirst answer, page opened again (files cached): {total:.1f} s "
              f"(Python ready after {ready:.1f} s)")
    finally:
        browser.close()
        httpd.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
