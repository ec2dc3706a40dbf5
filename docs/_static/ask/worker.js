// The Python half of the "Ask a question" widget (ask.js is the page half).
//
// It runs in a Web Worker so that the page stays responsive while SymPy
// works, and so that a question that runs too long can be stopped: the page
// terminates this worker and starts a new one (Python has no way to interrupt
// itself here). Everything it loads comes from the site's own folder
// ./pyodide/ (tools/browser_assets.py puts it there): the Pyodide runtime,
// and the wheels of SymPy, mpmath and the project's engine, named with their
// sha256 in our own pyodide-lock.json. Pyodide's stock lock, which points at
// its CDN, is not used.
//
// Messages in:  {type: "ask", id, question: {expression, wrt, shapes, layout}}
// Messages out: {type: "progress", stage, seconds}  stage: runtime | sympy | engine
//               {type: "ready", seconds, versions}
//               {type: "answer", id, payload, seconds}   payload: derive's --json
//               {type: "failed", id?, message}           (a bug, not bad input)
// A module worker: Pyodide's loader refuses classic workers.

const INDEX = new URL("./pyodide/", import.meta.url).href;
const started = performance.now();
const seconds = (since) => (performance.now() - since) / 1000;

// The call into the engine. The question arrives as one JSON string, decoded
// by Python: user text is data handed to the engine's parser, never code.
const ASK = `
import dataclasses
import json
import math


def ask(question_json):
    question = json.loads(question_json)
    try:
        from derivations.matrix_calculus.web import answer
    except ImportError as error:  # an engine without its browser entry point
        return json.dumps({"error": f"this site's engine has no web entry point ({error})"})
    payload = answer(question["expression"], question["wrt"], question["shapes"] or None,
                     layout=question["layout"])
    if "error" not in payload:
        payload["check_lines"] = check_lines(payload)
    return json.dumps(finite(payload))


def check_lines(payload):
    """The checks as the command prints them, by the command's own function."""
    from derivations.matrix_calculus.cli import check_lines as command_lines
    from derivations.verify.rows import CheckRow

    names = {field.name for field in dataclasses.fields(CheckRow)}
    rows = payload["checks"] + ((payload.get("jacobian") or {}).get("checks") or [])
    return command_lines([CheckRow(**{k: v for k, v in row.items() if k in names})
                          for row in rows])


def finite(value):
    """JSON for JavaScript: an infinite margin (a failed check) becomes the text 'inf'."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [finite(item) for item in value]
    return value


def versions():
    import sys

    import mpmath
    import sympy
    return json.dumps({"python": sys.version.split()[0], "sympy": sympy.__version__,
                       "mpmath": mpmath.__version__})
`;

let ask = null;

async function boot() {
  post({ type: "progress", stage: "runtime", seconds: seconds(started) });
  // Our lock, fetched by us with revalidation: it names each wheel with its
  // sha256, which the browser checks as Pyodide fetches the wheel. (The
  // engine's wheel has a hash of its sources in its name, so a rebuilt site
  // never meets a stale cached copy; SymPy's changes only with Pyodide.)
  const response = await fetch(INDEX + "pyodide-lock.json", { cache: "no-cache" });
  if (!response.ok) {
    throw new Error("this site was built without the in-browser Python " +
      "(_static/ask/pyodide/ is missing): build it with make docs");
  }
  const lock = await response.json();
  // Imported only now, so that a site without the files gets the message above.
  const { loadPyodide } = await import("./pyodide/pyodide.mjs");
  // packageBaseUrl is also where Pyodide would look for a package its lock
  // does not name (its cdnUrl): here, not a CDN.
  const pyodide = await loadPyodide({
    indexURL: INDEX, lockFileContents: lock, packageBaseUrl: INDEX,
    stdout: () => {}, stderr: (text) => console.warn(text),
  });
  post({ type: "progress", stage: "sympy", seconds: seconds(started) });
  const quiet = { messageCallback: () => {}, errorCallback: (text) => console.warn(text) };
  await pyodide.loadPackage(["sympy"], quiet);
  await pyodide.runPythonAsync("import sympy");
  post({ type: "progress", stage: "engine", seconds: seconds(started) });
  await pyodide.loadPackage(["netlib-derive"], quiet);
  const namespace = pyodide.globals.get("dict")();
  pyodide.runPython(ASK, { globals: namespace });
  // Importing the engine now, not at the first question, keeps that first
  // answer's time to the derivation itself.
  pyodide.runPython("try:\n  import derivations.matrix_calculus.web\nexcept ImportError:\n  pass");
  ask = namespace.get("ask");
  const versions = JSON.parse(namespace.get("versions")());
  post({ type: "ready", seconds: seconds(started), versions });
}

function post(message) {
  self.postMessage(message);
}

const ready = boot().catch((error) => {
  post({ type: "failed", message: lastLine(error) });
  throw error;
});

self.onmessage = async (event) => {
  const { type, id, question } = event.data;
  if (type !== "ask") return;
  try {
    await ready;
  } catch {
    return;  // already reported
  }
  const begun = performance.now();
  try {
    const payload = JSON.parse(ask(JSON.stringify(question)));
    post({ type: "answer", id, payload, seconds: seconds(begun) });
  } catch (error) {
    post({ type: "failed", id, message: lastLine(error) });
  }
};

// A Python traceback's last line says what went wrong; the rest is for the console.
function lastLine(error) {
  const text = String(error && error.message ? error.message : error).trim();
  if (text.includes("Traceback")) console.error(text);
  return text.split("\n").filter((line) => line.trim()).pop() || "unknown error";
}
