// "Ask a question": `python -m derivations derive` in the reader's browser.
//
// A page asks for the widget with one element,
//   <div class="ask-widget" data-load="open"></div>
// data-load="open" starts Python as the page opens (the Ask page);
// data-load="ask" waits for the first question (the identities page, whose
// readers mostly read: 20 MB are not fetched for them unasked); data-lead
// is an optional sentence put above the box.
//
// This file is the page half: the form, the examples, progress, the answer
// typeset with the site's own MathJax. worker.js is the Python half: Pyodide,
// SymPy and the engine in a Web Worker, all served from this site.
(function () {
  "use strict";

  // The URL of this script; the worker, Pyodide and MathJax sit beside it.
  const SCRIPT = document.currentScript ? document.currentScript.src : "";
  // A question that runs longer is stopped: the worker is terminated and a
  // new one started (the same limit as the command's default --timeout).
  const TIMEOUT_SECONDS = 60;
  const LAYOUTS = ["denominator", "numerator"];

  // Questions to click: the README's and the command's own examples, the
  // two classics every matrix-calculus table opens with, softmax.
  const EXAMPLES = [
    { expression: "tr(A @ X @ B)", wrt: "X" },
    { expression: "log(det(X))", wrt: "X" },
    { expression: "sum(tanh(X @ W))", wrt: "W", shapes: "X=4x3, W=3x2" },
    { expression: "x.T @ A @ x", wrt: "x", shapes: "x=nx1" },
    { expression: "sum(Y * log(softmax(Z)))", wrt: "Z" },
    { expression: "softmax(Z)", wrt: "Z" },
    { expression: "A @ x", wrt: "x", shapes: "x=nx1", layout: "numerator" },
    { expression: "tr(matrix_power(X, 3))", wrt: "X" },
  ];

  // ---- the Python worker (one per page, shared by its widgets) -------------------
  class Python {
    constructor() {
      this.listeners = new Set();
      this.worker = null;
      this.state = { stage: "idle" };
      this.pending = null;   // {id, question, resolve, reject, timer}
      this.nextId = 0;
      this.timeoutSeconds = TIMEOUT_SECONDS;   // the browser test shortens it
    }

    on(listener) {
      this.listeners.add(listener);
      listener(this.state);
    }

    emit(state) {
      this.state = state;
      this.listeners.forEach((listener) => listener(state));
    }

    start() {
      if (this.worker) return;
      this.worker = new Worker(new URL("worker.js", SCRIPT), { type: "module" });
      this.worker.onmessage = (event) => this.receive(event.data);
      this.worker.onerror = (event) => {
        event.preventDefault();
        this.fail(event.message || "the worker could not start");
      };
      this.emit({ stage: "runtime" });
    }

    receive(message) {
      if (message.type === "progress") {
        this.emit({ stage: message.stage });
      } else if (message.type === "ready") {
        this.versions = message.versions;
        this.emit({ stage: "ready", seconds: message.seconds });
        this.startClock();
      } else if (message.type === "answer" && this.pending && message.id === this.pending.id) {
        const pending = this.finish();
        pending.resolve({ payload: message.payload, seconds: message.seconds });
      } else if (message.type === "failed") {
        this.fail(message.message);
      }
    }

    fail(text) {
      const pending = this.finish();
      if (this.state.stage !== "ready") this.emit({ stage: "broken", message: text });
      if (pending) pending.reject(new Error(text));
    }

    finish() {
      const pending = this.pending;
      if (pending) clearTimeout(pending.timer);
      this.pending = null;
      return pending;
    }

    // The limit counts from when Python is ready, not from the page's opening:
    // loading is not the question's fault.
    startClock() {
      const pending = this.pending;
      if (!pending || pending.timer || this.state.stage !== "ready") return;
      const limit = this.timeoutSeconds;
      pending.timer = setTimeout(() => this.stop(`no answer within ${limit} s`), limit * 1000);
    }

    ask(question) {
      // Python that could not start (files missing, an old browser) will not answer.
      if (this.state.stage === "broken") return Promise.reject(new Error(this.state.message));
      if (this.pending) this.stop("stopped for a new question");
      this.start();
      return new Promise((resolve, reject) => {
        this.pending = { id: ++this.nextId, question, resolve, reject, timer: null };
        this.worker.postMessage({ type: "ask", id: this.pending.id, question });
        this.startClock();
      });
    }

    // Python cannot be interrupted from outside: end the worker, start afresh.
    stop(reason) {
      const pending = this.finish();
      if (this.worker) this.worker.terminate();
      this.worker = null;
      this.start();
      if (pending) pending.reject(Object.assign(new Error(reason), { stopped: true }));
    }
  }

  // ---- formatting what the command prints ----------------------------------------
  function element(tag, attributes, ...children) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([key, value]) => {
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    });
    children.forEach((child) => child && node.append(child));
    return node;
  }

  // What the answer is, in the command's words (cli.py, run).
  function describe(payload, layout) {
    if (payload.kind === "gradient") return `gradient, ${layout} layout`;
    if (payload.jacobian) {
      return `Jacobian, ${layout} layout: ` +
        (layout === "numerator" ? "J[i, j] = dy_i/dx_j" : "J^T, x's rows");
    }
    return `VJP with upstream G of shape ${payload.output_shape}`;
  }

  // One line per row, as printed; on a narrow screen a row wraps under its
  // text (not under "ok"), and never inside a number such as 1.1e-16.
  function checkRows(lines) {
    const box = element("div", { class: "ask-checks" });
    lines.forEach((line) => {
      const row = element("div", { class: "ask-check" });
      line.split(/(\S*\d\S*)/).forEach((part, index) => {
        row.append(index % 2 ? element("span", { class: "ask-nowrap", text: part }) : part);
      });
      box.append(row);
    });
    return box;
  }

  function displayMath(latex) {
    // Sphinx's MathJax set-up typesets elements of class "math".
    return element("div", { class: "math notranslate nohighlight ask-math", text: `\\[${latex}\\]` });
  }

  function typeset(node) {
    const mathjax = window.MathJax;
    if (mathjax && mathjax.typesetPromise) {
      return (mathjax.startup ? mathjax.startup.promise : Promise.resolve())
        .then(() => mathjax.typesetPromise([node]));
    }
    return loadMathJax().then(() => window.MathJax.typesetPromise([node]));
  }

  // A page without math of its own has no MathJax: load the site's copy.
  let mathjaxLoading = null;
  function loadMathJax() {
    if (!mathjaxLoading) {
      mathjaxLoading = new Promise((resolve, reject) => {
        window.MathJax = { options: { processHtmlClass: "math" },
          startup: { pageReady: () => resolve() } };
        const script = element("script", { src: new URL("../mathjax/tex-chtml.js", SCRIPT).href });
        script.onerror = reject;
        document.head.append(script);
      });
    }
    return mathjaxLoading;
  }

  function renderAnswer(payload, seconds, layout, versions) {
    const box = element("div", { class: "ask-result" });
    if (payload.error) {
      box.append(element("pre", { class: "ask-error", text: payload.error }));
      return box;
    }
    box.append(element("p", { class: "ask-what",
      text: `d/d${payload.wrt} of ${payload.expression}   (${describe(payload, layout)})` }));
    const lines = [];
    if (payload.confirmed && payload.jacobian) {
      box.append(displayMath(payload.jacobian.answer_latex));
      lines.push(["answer", payload.jacobian.answer]);
      lines.push(["VJP with upstream G", payload.answers[layout]]);
    } else if (payload.confirmed) {
      box.append(displayMath(payload.answer_latex));
      lines.push(["answer", payload.answer]);
      if (payload.kind !== "gradient") {
        lines.push(["", "(a VJP: the Jacobian of a matrix output, or of a matrix variable, " +
          "has four indices and no matrix expression)"]);
      }
    } else {
      box.append(element("p", { class: "ask-unconfirmed",
        text: `no closed form confirmed: ${payload.reason || "see the checks below"}` }));
      if (payload.elementwise) {
        // What the command prints instead: the result entry by entry, at small sizes.
        const sizes = Object.entries(payload.elementwise_sizes)
          .map(([name, [r, c]]) => `${name}: ${r}×${c}`).join(", ");
        box.append(element("pre", { class: "ask-elementwise", text:
          `elementwise result at ${sizes}:\n` +
          payload.elementwise.map((row) => "  " + row.join("  |  ")).join("\n") }));
      }
    }
    const shapes = Object.entries(payload.shapes).map(([k, v]) => `${k}: ${v}`).join(", ");
    lines.unshift(["shapes", shapes]);
    const table = element("dl", { class: "ask-lines" });
    lines.forEach(([label, text]) => {
      table.append(element("dt", { text: label }), element("dd", {}, element("code", { text })));
    });
    box.append(table);
    // The rows as the command prints them (worker.js calls the command's printer).
    const checks = [...payload.checks, ...(payload.jacobian ? payload.jacobian.checks : [])];
    if (checks.length) {
      box.append(element("p", { class: "ask-checks-title", text:
        `${checks.filter((c) => c.passed).length} of ${checks.length} checks passed:` }));
      box.append(checkRows(payload.check_lines));
    }
    const where = versions ? ` (Python ${versions.python}, SymPy ${versions.sympy})` : "";
    box.append(element("p", { class: "ask-time",
      text: `Answered and checked in ${seconds.toFixed(1)} s in this browser${where}.` }));
    return box;
  }

  // ---- the widget ----------------------------------------------------------------
  const STAGES = {
    idle: "Python and SymPy (more than 20 MB, fetched once) load when you ask the first question.",
    runtime: "Loading Python (Pyodide)… 1/3",
    sympy: "Loading SymPy… 2/3",
    engine: "Loading derive… 3/3",
  };

  function field(label, name, attributes) {
    const input = element("input", { name, type: "text", autocomplete: "off",
      autocapitalize: "off", spellcheck: "false", ...attributes });
    return [element("label", { class: `ask-field ask-field-${name}` },
      element("span", { text: label }), input), input];
  }

  function build(root, python) {
    root.textContent = "";
    // data-lead: a sentence that introduces the box on a page about something
    // else, with a link to the Ask page (which explains it).
    if (root.dataset.lead) {
      root.append(element("p", { class: "ask-lead" }, root.dataset.lead + " ",
        element("a", { href: new URL("../../ask.html", SCRIPT).href, text: "About this box." })));
    }
    if (location.protocol === "file:") {
      root.append(element("p", { class: "ask-status ask-offline", text:
        "The question box cannot run here: browsers refuse WebAssembly (the Python it " +
        "runs on) in pages opened from files; serve the site with `make serve` and open " +
        "the address it prints." }));
      return;
    }
    const form = element("form", { class: "ask-form", novalidate: "" });
    const [expressionLabel, expression] = field("Expression", "expression",
      { placeholder: "tr(A @ X @ B)", required: "" });
    const [wrtLabel, wrt] = field("--wrt", "wrt", { placeholder: "X", required: "" });
    const [shapesLabel, shapes] = field("Shapes (optional)", "shapes",
      { placeholder: "x=nx1, W=3x4" });
    const layout = element("select", { name: "layout" },
      ...LAYOUTS.map((name) => element("option", { value: name, text: name })));
    const layoutLabel = element("label", { class: "ask-field ask-field-layout" },
      element("span", { text: "Layout" }), layout);
    const submit = element("button", { type: "submit", class: "ask-submit", text: "Ask" });
    const stop = element("button", { type: "button", class: "ask-stop", text: "Stop",
      hidden: "" });
    form.append(expressionLabel, wrtLabel, shapesLabel, layoutLabel,
      element("div", { class: "ask-buttons" }, submit, stop));

    const examples = element("div", { class: "ask-examples" },
      element("span", { class: "ask-examples-title", text: "Examples:" }));
    EXAMPLES.forEach((example) => {
      const text = example.expression + "  wrt " + example.wrt +
        (example.shapes ? `  (${example.shapes})` : "") +
        (example.layout ? `  ${example.layout}` : "");
      const button = element("button", { type: "button", class: "ask-example", text,
        "data-question": JSON.stringify(example) });
      button.addEventListener("click", () => {
        expression.value = example.expression;
        wrt.value = example.wrt;
        shapes.value = example.shapes || "";
        layout.value = example.layout || "denominator";
        form.requestSubmit();
      });
      examples.append(button);
    });

    const status = element("p", { class: "ask-status", role: "status" });
    const output = element("div", { class: "ask-output", "aria-live": "polite" });
    root.append(form, examples, status, output);

    let working = null;   // the question being answered, and its clock
    python.on((state) => {
      if (state.stage === "ready") {
        status.textContent = `Python is ready (loaded in ${state.seconds.toFixed(1)} s).`;
      } else if (state.stage === "broken") {
        status.textContent = `Python could not start: ${state.message}`;
      } else {
        status.textContent = STAGES[state.stage];
      }
      root.dataset.stage = state.stage;
      if (working && state.stage === "ready") status.textContent = "Working…";
    });

    // One question at a time: Stop ends the one that runs (and restarts Python).
    function busy(on) {
      root.dataset.busy = String(on);
      stop.hidden = !on;
      submit.disabled = on;
      examples.querySelectorAll("button").forEach((button) => { button.disabled = on; });
    }
    stop.addEventListener("click", () => python.stop("stopped"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const question = {
        // As typed: the engine reads the text (and its messages point into it).
        expression: expression.value,
        wrt: wrt.value,
        // "x=nx1, W=3x4": the engine splits it into --shape's NAME=RxC.
        shapes: shapes.value.trim(),
        layout: layout.value,
      };
      if (!question.expression.trim() || !question.wrt.trim()) {
        output.replaceChildren(element("pre", { class: "ask-error",
          text: !question.expression.trim() ? "derive: type an expression, e.g. tr(A @ X @ B)"
            : "derive: say which variable to differentiate by (--wrt), e.g. X" }));
        return;
      }
      working = question;
      busy(true);
      output.replaceChildren();
      if (python.state.stage === "ready") status.textContent = "Working…";
      try {
        const { payload, seconds } = await python.ask(question);
        if (working !== question) return;
        const result = renderAnswer(payload, seconds, question.layout, python.versions);
        output.replaceChildren(result);
        root.answer = { payload, seconds };   // for the browser test and the benchmark
        status.textContent = "Python is ready.";
        if (!payload.error) await typeset(result);
      } catch (error) {
        if (working !== question) return;
        root.answer = { error: error.message };
        // The command's timeout message, and what the page did about it.
        const hint = error.message.startsWith("no answer")
          ? "; fixed sizes (X=8x8) cost more than named ones (X=mxn), which are checked small"
          : "";
        output.replaceChildren(element("pre", { class: "ask-error", text: error.stopped
          ? `derive: ${error.message}; the question was stopped and Python restarted${hint}`
          : `derive failed in the browser: ${error.message}` }));
      } finally {
        if (working === question) {
          working = null;
          busy(false);
          root.dataset.answered = String(Number(root.dataset.answered || 0) + 1);
        }
      }
    });

    if (root.dataset.load === "open") python.start();
    else form.addEventListener("focusin", () => python.start(), { once: true });
  }

  function main() {
    const roots = document.querySelectorAll(".ask-widget");
    if (!roots.length) return;
    const python = new Python();
    window.netlibAsk = python;    // for the browser test and the benchmark
    roots.forEach((root) => build(root, python));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", main);
  else main();
})();
