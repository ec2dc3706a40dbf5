"""Gather what the site's "Ask a question" page runs in the reader's browser.

``make docs`` runs this before Sphinx (``make browser-assets``); conf.py adds
the output folder to ``html_static_path``, so everything lands in the built
site under ``_static/ask/pyodide/`` and nothing is fetched from a CDN:

* the Pyodide runtime (loader, WebAssembly, standard library) from the npm
  package ``pyodide``, pinned with its integrity hash in package-lock.json and
  installed by ``npm ci``;
* the pure-Python wheels of SymPy and mpmath, downloaded by pip from
  ``requirements/browser-wheels.txt`` (pins and sha256 hashes, compiled by
  ``make lock`` against the project's lock), and checked against those
  hashes here too, since a cached file is reused without pip;
* a wheel of the project's matrix-calculus engine, ``derivations`` without
  numpy, built here from this checkout;
* all three byte-compiled for Pyodide's Python by Pyodide itself, in Node.js
  (tools/pyodide_compile.mjs): importing SymPy from source costs the reader
  about 10 s of compiling, from bytecode under 2 s. The downloads are
  verified before this step; the lock below names the compiled files;
* ``pyodide-lock.json``: our own package lock naming exactly these three
  wheels with their sha256. Pyodide's stock lock names 350 packages on its
  CDN; ours names nothing that is not in the folder, and the browser checks
  each wheel's hash as it loads it (fetch's ``integrity``).

Run: ``python tools/browser_assets.py OUT`` (idempotent; a file is rewritten
only when its content changes, so Sphinx's copy and the browser's cache stay
valid).
"""

from __future__ import annotations

import argparse
import ast
import base64
import hashlib
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NODE_PYODIDE = ROOT / "node_modules" / "pyodide"
WHEEL_PINS = ROOT / "requirements" / "browser-wheels.txt"
WHEEL_CACHE = ROOT / ".cache" / "browser-wheels"
#: What the loader needs from the npm package (its console pages, type
#: declarations, source maps and the stock lock stay out of the site).
RUNTIME_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip")
#: The engine's entry point in the browser, and what to use until it exists.
ENGINE_ENTRY = "derivations.matrix_calculus.web"
ENGINE_PACKAGE = "derivations.matrix_calculus"
ENGINE_DIST = "netlib_derive"
#: Files the engine reads by path rather than imports: netlib's finite-
#: difference rule is plain Python, but importing it through the netlib
#: package would import numpy (derivations/matrix_calculus/backend.py).
ENGINE_FILES_BY_PATH = ("netlib/gradcheck/rule.py",)
#: Subpackages of a third-party wheel that the browser never gets: SymPy's
#: physics, statistics, vector calculus and parsers of other languages are a
#: fifth of its wheel, and the engine imports none of them (``import sympy``
#: does not either). tests/test_derive_without_numpy.py answers its questions
#: with these blocked, and tests/test_ask_browser.py runs the shipped wheel.
LEFT_OUT = {"sympy": ("benchmarks", "categories", "crypto", "diffgeom", "holonomic",
                      "liealgebras", "physics", "sandbox", "stats", "unify", "vector",
                      "parsing/autolev", "parsing/c", "parsing/fortran", "parsing/latex")}


class AssetError(Exception):
    """Something the build cannot do; the message says what to run."""


# -- writing only what changed -----------------------------------------------------
def write_if_changed(path: Path, data: bytes) -> bool:
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- the Pyodide runtime -------------------------------------------------------------
def pyodide_runtime(target: Path) -> dict:
    """Copy the runtime files; return the stock lock's ``info`` (ABI, Python version)."""
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    pinned = locked["node_modules/pyodide"]["version"]
    manifest = NODE_PYODIDE / "package.json"
    if not manifest.exists():
        raise AssetError("node_modules/pyodide is missing: run `npm ci` (make browser-assets)")
    installed = json.loads(manifest.read_text())["version"]
    if installed != pinned:
        raise AssetError(f"node_modules has pyodide {installed}, package-lock.json pins "
                         f"{pinned}: run `npm ci`")
    for name in RUNTIME_FILES:
        write_if_changed(target / name, (NODE_PYODIDE / name).read_bytes())
    info = json.loads((NODE_PYODIDE / "pyodide-lock.json").read_text())["info"]
    return {**info, "pyodide_version": pinned}


# -- SymPy and mpmath ------------------------------------------------------------------
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+)((?:\s*\\\s*--hash=sha256:[0-9a-f]{64})+)",
                 re.MULTILINE)


def wheel_pins(text: str) -> dict[str, tuple[str, set[str]]]:
    """``name -> (version, allowed sha256 hashes)`` from a pip-compile'd file."""
    pins = {name.lower(): (version, set(re.findall(r"sha256:([0-9a-f]{64})", hashes)))
            for name, version, hashes in PIN.findall(text)}
    if not pins:
        raise AssetError(f"{WHEEL_PINS.relative_to(ROOT)} pins nothing: run `make lock`")
    return pins


def _cached_wheel(name: str, version: str, hashes: set[str]) -> Path | None:
    pattern = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    path = WHEEL_CACHE / pattern
    return path if path.exists() and sha256(path.read_bytes()) in hashes else None


def third_party_wheels() -> list[tuple[str, str, Path]]:
    """Download (once) and verify the pinned wheels: ``(name, version, path)``."""
    pins = wheel_pins(WHEEL_PINS.read_text())
    if any(_cached_wheel(n, v, h) is None for n, (v, h) in pins.items()):
        # pip checks every hash on download (--require-hashes); pure-Python
        # wheels only: the browser cannot run a compiled extension.
        command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check",
                   "--quiet", "--no-deps", "--only-binary=:all:", "--require-hashes",
                   "-r", str(WHEEL_PINS), "-d", str(WHEEL_CACHE)]
        if subprocess.run(command).returncode != 0:
            raise AssetError("could not download the wheels of requirements/browser-wheels.txt "
                             "(needs PyPI once; later builds reuse .cache/browser-wheels)")
    wheels = []
    for name, (version, hashes) in sorted(pins.items()):
        path = _cached_wheel(name, version, hashes)
        if path is None:
            raise AssetError(f"{name} {version}: no wheel in {WHEEL_CACHE} matches the sha256 "
                             f"in {WHEEL_PINS.relative_to(ROOT)}")
        wheels.append((name, version, path))
    return wheels


def compile_for_pyodide(wheels: list[tuple[Path, bool, tuple[str, ...]]],
                        pyodide_version: str) -> list[Path]:
    """The wheels byte-compiled by Pyodide's Python (``keep``: keep the sources
    too; ``omit``: folders of the wheel left out, see :data:`LEFT_OUT`).

    Cached per Pyodide version and input hash: Node.js runs only for what changed."""
    folder = WHEEL_CACHE / f"compiled-pyodide-{pyodide_version}"
    folder.mkdir(parents=True, exist_ok=True)
    jobs, targets = [], []
    for source, keep, omit in wheels:
        target = folder / source.name
        stamp = target.with_name(target.name + ".from")
        wanted = f"{sha256(source.read_bytes())} keep={keep} omit={','.join(omit)}"
        if not (target.exists() and stamp.exists() and stamp.read_text() == wanted):
            jobs.append({"source": str(source.resolve()), "target": str(target.resolve()),
                         "keep": keep, "omit": list(omit), "stamp": str(stamp),
                         "wanted": wanted})
        targets.append(target)
    if jobs:
        listing = folder / "jobs.json"
        listing.write_text(json.dumps(jobs))
        try:
            process = subprocess.run(["node", str(ROOT / "tools" / "pyodide_compile.mjs"),
                                      str(listing)])
        except FileNotFoundError:
            raise AssetError("node (Node.js) is missing; on Debian: "
                             "sudo apt-get install nodejs npm") from None
        if process.returncode != 0:
            raise AssetError("byte-compiling the wheels in Pyodide failed (see above)")
        for job in jobs:
            Path(job["stamp"]).write_text(job["wanted"])
    # Compiled engines of older sources go (their names carry the source hash).
    keep_names = {t.name for t in targets} | {t.name + ".from" for t in targets}
    for path in folder.glob(f"{ENGINE_DIST}-*"):
        if path.name not in keep_names:
            path.unlink()
    return targets


# -- the project's engine as a wheel -------------------------------------------------------
def _module_file(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.exists():
            return candidate
    return None


def _imports(path: Path, module: str) -> set[str]:
    """Every ``derivations`` module that ``path`` imports, at any depth in the file
    (a function-level import still runs in the browser when that function does)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[:len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] == "derivations"
            and _module_file(name) is not None}


def engine_modules() -> list[Path]:
    """The engine's files: its entry module (``web``, or the whole package until
    ``web`` exists) and every ``derivations`` module they import, with the
    ``__init__`` of each package on the way (Python runs those first)."""
    entry = ENGINE_ENTRY if _module_file(ENGINE_ENTRY) else ENGINE_PACKAGE
    todo = [entry]
    package_dir = _module_file(ENGINE_PACKAGE).parent
    todo += [f"{ENGINE_PACKAGE}.{p.stem}" for p in sorted(package_dir.glob("*.py"))
             if p.stem != "__init__"]
    seen: dict[str, Path] = {}
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        path = _module_file(module)
        seen[module] = path
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        todo += sorted(_imports(path, module))
    return sorted(set(seen.values()))


def engine_wheel(version: str) -> tuple[str, bytes]:
    """A reproducible pure-Python wheel (PEP 427) of :func:`engine_modules`.

    The local version label is a hash of the sources, so a changed engine gets
    a new file name and no browser keeps a stale copy from its cache."""
    paths = [*engine_modules(), *(ROOT / name for name in ENGINE_FILES_BY_PATH)]
    files = {p.relative_to(ROOT).as_posix(): p.read_bytes() for p in paths}
    label = sha256(b"".join(name.encode() + b"\0" + data for name, data in files.items()))[:10]
    full_version = f"{version}+{label}"
    dist_info = f"{ENGINE_DIST}-{full_version}.dist-info"
    files[f"{dist_info}/METADATA"] = (
        "Metadata-Version: 2.1\n"
        f"Name: {ENGINE_DIST.replace('_', '-')}\n"
        f"Version: {full_version}\n"
        "Summary: netlib's matrix-calculus engine (derive), without numpy, for Pyodide\n"
        "Requires-Dist: sympy\n").encode()
    files[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: netlib tools/browser_assets.py\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    records = [f"{name},sha256={_record_hash(data)},{len(data)}" for name, data in files.items()]
    files[f"{dist_info}/RECORD"] = ("\n".join([*records, f"{dist_info}/RECORD,,"]) + "\n").encode()
    buffer = _zip(files)
    return f"{ENGINE_DIST}-{full_version}-py3-none-any.whl", buffer


def _record_hash(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _zip(files: dict[str, bytes]) -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            # A fixed date: the same sources make the same bytes (and sha256).
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def project_version() -> str:
    text = (ROOT / "pyproject.toml").read_text()
    return re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE).group(1)


# -- the whole folder ----------------------------------------------------------------------
#: What each package needs loaded first, and the module names it provides.
DEPENDS = {"sympy": ["mpmath"], ENGINE_DIST.replace("_", "-"): ["sympy"]}
IMPORTS = {ENGINE_DIST.replace("_", "-"): ["derivations"]}


def build(out: Path) -> dict:
    target = out / "ask" / "pyodide"
    target.mkdir(parents=True, exist_ok=True)
    info = pyodide_runtime(target)
    wheels = third_party_wheels()
    name, data = engine_wheel(project_version())
    engine = WHEEL_CACHE / "engine" / name
    write_if_changed(engine, data)
    for path in engine.parent.glob(f"{ENGINE_DIST}-*.whl"):
        if path != engine:
            path.unlink()
    wheels.append((ENGINE_DIST.replace("_", "-"), name.split("-")[1], engine))
    # SymPy and mpmath without their sources (size); the engine keeps its own
    # (its tracebacks, should one ever show, are worth reading).
    compiled = compile_for_pyodide(
        [(path, path == engine, tuple(f"{package}/{sub}/" for sub in LEFT_OUT.get(package, ())))
         for package, _, path in wheels], info["pyodide_version"])
    packages = []
    for (package, version, _), path in zip(wheels, compiled, strict=True):
        data = path.read_bytes()
        write_if_changed(target / path.name, data)
        packages.append({"name": package, "version": version, "file_name": path.name,
                         "sha256": sha256(data), "imports": IMPORTS.get(package, [package]),
                         "depends": DEPENDS.get(package, [])})
    lock = {"info": {key: info[key] for key in ("abi_version", "arch", "platform", "python")},
            "packages": {p["name"]: {**p, "install_dir": "site", "package_type": "package",
                                     "unvendored_tests": False}
                         for p in packages}}
    write_if_changed(target / "pyodide-lock.json",
                     (json.dumps(lock, indent=1, sort_keys=True) + "\n").encode())
    # Old engine wheels (other source hashes) go: the folder holds what the lock names.
    keep = {*RUNTIME_FILES, "pyodide-lock.json", *(p["file_name"] for p in packages)}
    for path in target.iterdir():
        if path.name not in keep:
            path.unlink()
    return {"pyodide": info["pyodide_version"], "python": info["python"],
            "wheels": [p["file_name"] for p in packages],
            "bytes": sum(p.stat().st_size for p in target.iterdir())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder that conf.py adds to html_static_path")
    args = parser.parse_args(argv)
    try:
        summary = build(args.out)
    except AssetError as error:
        print(f"browser assets: {error}", file=sys.stderr)
        return 1
    print(f"browser assets: Pyodide {summary['pyodide']} (Python {summary['python']}), "
          f"{', '.join(summary['wheels'])}; {summary['bytes'] / 1e6:.1f} MB in "
          f"{args.out / 'ask' / 'pyodide'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
