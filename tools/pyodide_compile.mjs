// Byte-compile wheels with the Python that will run them: the site's own
// Pyodide, started here in Node.js from node_modules (no network).
// tools/browser_assets.py calls it; the work is tools/pyodide_compile.py.
//
//   node tools/pyodide_compile.mjs JOBS.json
//   JOBS.json: [{"source": "/abs/in.whl", "target": "/abs/out.whl", "keep": false,
//                "omit": ["sympy/physics/", ...]}, ...]
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const runtime = join(here, "..", "node_modules", "pyodide");
const { loadPyodide } = await import(join(runtime, "pyodide.mjs"));

const jobs = JSON.parse(readFileSync(process.argv[2], "utf8"));
const pyodide = await loadPyodide({ indexURL: runtime + "/", stdout: console.log,
  stderr: console.error });
// The host's file system under /host, so that the jobs' paths work as given.
pyodide.FS.mkdirTree("/host");
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: "/" }, "/host");
const namespace = pyodide.globals.get("dict")();
pyodide.runPython(readFileSync(join(here, "pyodide_compile.py"), "utf8"), { globals: namespace });
const compileWheel = namespace.get("compile_wheel");
const site = pyodide.runPython(
  "import sys; [p for p in sys.path if p.endswith('site-packages')][0]");
for (const job of jobs) {
  const omit = pyodide.toPy(job.omit || []);
  const count = compileWheel("/host" + job.source, "/host" + job.target, Boolean(job.keep), site,
    omit);
  omit.destroy();
  console.log(`compiled ${count} modules of ${job.source.split("/").pop()} for Python ` +
    pyodide.runPython("import sys; sys.version.split()[0]"));
}
