"""The "Ask a question" page: ``derive`` in the reader's browser, offline, as on the command line.

The tests marked ``browser`` serve the built site (``make docs``; or the
folder named by NETLIB_SITE, as in test_site.py) on 127.0.0.1 from a thread,
open ``ask.html`` in headless Chromium, and ask questions through the form.
Every answer is compared with what ``python -m derivations derive ... --json``
prints in CPython: the same answer and the same checks, each passed. The
browser is started with every host name but 127.0.0.1 unresolvable, and
every request of the page *and of its Web Worker* (where Pyodide runs) is
recorded: none may go anywhere but the local server.
``make browser-test`` runs them; ``make test`` runs only the unmarked test.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(os.environ.get("NETLIB_SITE", ROOT / "_build" / "html"))
ASSETS = SITE / "_static" / "ask" / "pyodide"
#: The issue's budget for what the Ask page adds to the site.
ASSETS_LIMIT_MB = 25
#: Loading Python on a busy 2-core machine takes 10-30 s; the benchmark
#: (benchmarks/ask_speed.py) measures it, this only bounds the wait.
LOAD_WAIT_SECONDS = 180

#: (expression, --wrt, shapes, layout): the two classics, softmax cross-entropy,
#: the README's question with fixed sizes in numerator layout, a Jacobian, a VJP.
QUESTIONS = [
    ("tr(A @ X @ B)", "X", (), "denominator"),
    ("log(det(X))", "X", (), "denominator"),
    ("sum(Y * log(softmax(Z)))", "Z", (), "denominator"),
    ("sum(tanh(X @ W))", "W", ("X=4x3", "W=3x2"), "numerator"),
    ("A @ x", "x", ("x=nx1",), "numerator"),
    ("softmax(Z)", "Z", (), "denominator"),
]
#: Bad input, answered with the command's one-line messages.
MALFORMED = [
    ("A @ ", "X", (), "denominator"),
    ("exp(X)", "Y", (), "denominator"),
    ("__import__('os')", "X", (), "denominator"),
]


# -- the command line's answers ----------------------------------------------------
def cli(expression: str, wrt: str, shapes, layout: str) -> dict:
    """``derive --json`` in CPython: the answer's JSON, or ``{"error": ...}`` from stderr."""
    command = [sys.executable, "-m", "derivations", "derive", expression, "--wrt", wrt,
               "--layout", layout, "--json"]
    for shape in shapes:
        command += ["--shape", shape]
    if expression.startswith("-"):
        command.insert(3, "--")
    process = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    return json.loads(process.stdout or process.stderr)


def check_rows(payload: dict) -> list[dict]:
    return payload["checks"] + ((payload.get("jacobian") or {}).get("checks") or [])


def same_answer(browser: dict, command: dict) -> list[str]:
    """What differs between the browser's payload and the command's (empty: nothing)."""
    problems = []
    for key in ("expression", "wrt", "kind", "layout", "shapes", "output_shape", "answer",
                "answer_latex", "answers", "confirmed"):
        if browser.get(key) != command.get(key):
            problems.append(f"{key}: browser {browser.get(key)!r}, command {command.get(key)!r}")
    if (browser.get("jacobian") or {}).get("answer") != (command.get("jacobian") or {}).get(
            "answer"):
        problems.append("the Jacobians differ")
    # The checks: the same kinds in the same order, each passed within its
    # tolerance. Sizes and errors come from random points (the browser's
    # engine draws without numpy), so they may differ; the verdicts may not.
    rows_b, rows_c = check_rows(browser), check_rows(command)
    if [r["check"] for r in rows_b] != [r["check"] for r in rows_c]:
        problems.append(f"checks: browser {[r['check'] for r in rows_b]}, "
                        f"command {[r['check'] for r in rows_c]}")
    problems += [f"browser check failed: {row}" for row in rows_b if not row["passed"]]
    return problems


# -- serving the site and driving Chromium ------------------------------------------------
class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A page left while it loads resets its downloads: not an error here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture(scope="module")
def server():
    """The built site on 127.0.0.1 at a free port; ``.paths`` lists what was asked of it."""
    if not (SITE / "ask.html").exists():
        pytest.fail(f"no ask.html in {SITE}: run `make docs` before `make browser-test`")
    if not (ASSETS / "pyodide-lock.json").exists():
        pytest.fail(f"{ASSETS} is missing: `make docs` builds it (make browser-assets)")
    paths: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, format, *args):  # the paths, not stderr noise
            paths.append(self.path)

    httpd = _Server(("127.0.0.1", 0), functools.partial(Handler, directory=str(SITE)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.paths = paths
    yield httpd
    httpd.shutdown()
    httpd.server_close()


class AskPage:
    """Chromium on one page, following its workers' requests too."""

    def __init__(self, browser) -> None:
        self.browser = browser
        self.workers: set[str] = set()
        # Workers start paused until their network is recorded (below).
        browser.send("Target.setAutoAttach", {"autoAttach": True, "waitForDebuggerOnStart": True,
                                              "flatten": True}, session=browser.session)

    def follow_workers(self) -> None:
        for event in list(self.browser.events):
            if event.get("method") != "Target.attachedToTarget":
                continue
            session = event["params"]["sessionId"]
            if session not in self.workers:
                self.workers.add(session)
                self.browser.send("Network.enable", session=session)
                self.browser.send("Runtime.runIfWaitingForDebugger", session=session)

    def evaluate(self, expression: str):
        self.follow_workers()
        return self.browser.evaluate(expression)

    def wait_for(self, expression: str, seconds: float):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"still false after {seconds} s: {expression}")

    def load(self, url: str) -> None:
        self.workers.clear()
        self.browser.load(url)
        self.follow_workers()

    def requests(self) -> list[str]:
        return self.browser.requested_urls()

    def ask(self, expression: str, wrt: str, shapes=(), layout="denominator",
            seconds: float = 120) -> dict:
        """Fill the form, press Ask, wait for the answer; return {payload, seconds} or {error}."""
        before = int(self.evaluate("document.querySelector('.ask-widget').dataset.answered"
                                   " || '0'"))
        values = json.dumps({"expression": expression, "wrt": wrt,
                             "shapes": ", ".join(shapes), "layout": layout})
        self.evaluate(f"""(() => {{
            const form = document.querySelector('.ask-widget form');
            const values = {values};
            for (const [name, value] of Object.entries(values)) form.elements[name].value = value;
            form.requestSubmit();
        }})()""")
        self.wait_for(f"Number(document.querySelector('.ask-widget').dataset.answered || 0)"
                      f" > {before}", seconds)
        return self.evaluate("document.querySelector('.ask-widget').answer")

    def shown(self, selector: str) -> str:
        return self.evaluate(f"(document.querySelector('.ask-widget {selector}') || "
                             f"{{innerText: ''}}).innerText")


@pytest.fixture(scope="module")
def page(server):
    import site_browser
    from site_browser import Browser, find_chromium

    executable = find_chromium()
    if executable is None:
        pytest.fail("chromium is not installed (apt-get install -y chromium)")
    # No host name but the local server resolves: a request for a CDN fails
    # (and shows in the recorded requests) instead of quietly working online.
    flags = site_browser.CHROMIUM_FLAGS
    site_browser.CHROMIUM_FLAGS = (*flags,
                                   "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
    try:
        browser = Browser(executable, width=1280, height=900, timeout=LOAD_WAIT_SECONDS)
    finally:
        site_browser.CHROMIUM_FLAGS = flags
    ask_page = AskPage(browser)
    ask_page.load(server.base + "ask.html")
    ask_page.wait_for("window.netlibAsk && ['ready', 'broken'].includes(netlibAsk.state.stage)",
                      LOAD_WAIT_SECONDS)
    yield ask_page
    browser.close()


# -- the tests ---------------------------------------------------------------------------
@pytest.mark.browser
def test_python_loads_from_the_site_alone(page, server):
    state = page.evaluate("netlibAsk.state")
    assert state["stage"] == "ready", f"Python did not start in the browser: {state}"
    served = "\n".join(server.paths)
    for name in ("pyodide.asm.wasm", "python_stdlib.zip", "sympy-", "mpmath-", "netlib_derive-"):
        assert name in served, f"{name} was never fetched from the local server"


@pytest.mark.browser
@pytest.mark.parametrize("question", QUESTIONS, ids=[q[0] for q in QUESTIONS])
def test_answers_equal_the_command_line(page, question):
    expression, wrt, shapes, layout = question
    shown = page.ask(expression, wrt, shapes, layout)
    assert "payload" in shown, f"no answer: {shown}"
    command = cli(expression, wrt, shapes, layout)
    assert command.get("confirmed"), f"the command did not confirm {expression}: {command}"
    problems = same_answer(shown["payload"], command)
    assert not problems, f"{expression} wrt {wrt}:\n" + "\n".join(problems)
    # ...and the page shows it: typeset, as text, with every check and the time.
    answer = (command.get("jacobian") or {}).get("answer") or command["answer"]
    assert answer in page.shown(".ask-lines"), page.shown(".ask-lines")
    assert page.evaluate("document.querySelectorAll('.ask-result mjx-container').length") >= 1
    assert page.evaluate("document.querySelectorAll('.ask-result mjx-merror').length") == 0
    lines = page.shown(".ask-checks").splitlines()
    assert len(lines) == len(check_rows(command)), lines
    assert all(line.strip().startswith("ok ") for line in lines), lines
    assert re.search(r"Answered and checked in \d+\.\d s", page.shown(".ask-time"))


@pytest.mark.browser
@pytest.mark.parametrize("question", MALFORMED, ids=[q[0] for q in MALFORMED])
def test_bad_input_gets_the_command_lines_message(page, question):
    shown = page.ask(*question)
    command = cli(*question)
    assert "error" in command, command
    assert shown["payload"] == {"error": command["error"]}
    assert page.shown("pre.ask-error") == command["error"]


@pytest.mark.browser
def test_without_a_closed_form_the_elementwise_result_is_shown(page):
    """kron has no closed-form rule: the command says so and prints the result
    entry by entry; so does the page."""
    question = ("sum(kron(A, X))", "X", (), "denominator")
    shown = page.ask(*question)["payload"]
    command = cli(*question)
    assert not command["confirmed"] and command["elementwise"]
    for key in ("confirmed", "reason", "elementwise", "elementwise_sizes"):
        assert shown[key] == command[key], key
    assert page.shown(".ask-unconfirmed") == f"no closed form confirmed: {command['reason']}"
    assert command["elementwise"][0][0] in page.shown("pre.ask-elementwise")


@pytest.mark.browser
def test_a_question_that_runs_too_long_is_stopped_and_python_restarts(page):
    # A limit no 8×8 question meets (most take a second or two in the browser).
    page.evaluate("netlibAsk.timeoutSeconds = 0.05")
    try:
        shown = page.ask("sum(tanh(X @ W) ** 3)", "W", ("X=8x8", "W=8x8"))
    finally:
        page.evaluate("netlibAsk.timeoutSeconds = 60")
    assert shown == {"error": "no answer within 0.05 s"}
    assert page.shown("pre.ask-error") == (
        "derive: no answer within 0.05 s; the question was stopped and Python restarted; "
        "fixed sizes (X=8x8) cost more than named ones (X=mxn), which are checked small")
    page.wait_for("netlibAsk.state.stage === 'ready'", LOAD_WAIT_SECONDS)
    again = page.ask("tr(A @ X @ B)", "X")
    assert again["payload"]["answer"] == "A.T @ B.T"


@pytest.mark.browser
def test_no_request_leaves_the_local_server(page, server):
    """Run after the questions: every request of the page and its workers so far."""
    requests = page.requests()
    assert any(url.endswith("pyodide.asm.wasm") for url in requests), (
        "the worker's requests were not recorded: this test would see nothing")
    elsewhere = [url for url in requests
                 if not url.startswith((server.base, "data:", "blob:"))]
    assert elsewhere == []


@pytest.mark.browser
def test_from_a_file_the_widget_says_why_in_one_line(page):
    for name in ("ask.html", "reference/identities.html"):
        page.load((SITE / name).as_uri())
        text = page.evaluate("document.querySelector('.ask-widget').innerText").strip()
        lines = [line for line in text.splitlines() if line.strip()]
        assert lines[-1].startswith("The question box cannot run here: browsers refuse "
                                    "WebAssembly"), text
        assert "make serve" in lines[-1]
        assert page.evaluate("window.netlibAsk.worker") is None, "a worker was started"


@pytest.mark.browser
def test_the_added_assets_fit_the_budget():
    size = sum(p.stat().st_size for p in ASSETS.rglob("*") if p.is_file()) / 1e6
    assert size <= ASSETS_LIMIT_MB, f"the Ask page's Python is {size:.1f} MB"


def test_the_browser_wheels_are_the_locks_versions():
    """requirements/browser-wheels.txt (what the browser gets) pins what
    requirements/lock.txt pins (what the build's CPython runs), hashes included."""
    def pins(text):
        return {name.lower(): (version, frozenset(re.findall(r"sha256:([0-9a-f]{64})", rest)))
                for name, version, rest in re.findall(
                    r"^([A-Za-z0-9_.-]+)==(\S+)((?:\s*\\\s*--hash=sha256:[0-9a-f]{64})+)",
                    text, re.MULTILINE)}
    browser = pins((ROOT / "requirements" / "browser-wheels.txt").read_text())
    lock = pins((ROOT / "requirements" / "lock.txt").read_text())
    assert {"sympy", "mpmath"} <= browser.keys()
    for name, pin in browser.items():
        assert pin == lock.get(name), f"{name}: browser {pin[0]}, lock {lock.get(name)}"
