"""Byte-compile pure-Python wheels for Pyodide's Python; run *inside* Pyodide.

``tools/pyodide_compile.mjs`` starts the site's own Pyodide in Node.js and
runs :func:`compile_wheel` on each wheel, because bytecode belongs to one
Python version (3.14 here) and the build's CPython is another. Why: the
browser otherwise compiles every module of SymPy from source as it imports
it, about 10 s of the first answer on the 2-core machine; with bytecode the
import takes under 2 s. Pyodide's own package builds do the same.

A wheel is rewritten with

* its test folders left out (SymPy's are a third of the wheel; the reader's
  browser never runs them), and the folders the caller names (``omit``:
  subpackages the engine never imports, ``LEFT_OUT`` in browser_assets.py),
* each ``.py`` file replaced by its bytecode (``name.pyc`` where ``name.py``
  was, which Python imports when there is no source), or, with ``keep``, the
  source kept and the bytecode added in ``__pycache__`` as an unchecked-hash
  pyc (our engine: tracebacks then show its lines),
* a new RECORD; entries dated 1980-01-01, so the same input makes the same
  output.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import marshal
import sys
import zipfile

TEST_FOLDERS = {"tests", "testing"}


def _pyc(source: bytes, path: str, keep: bool) -> bytes:
    code = compile(source, path, "exec", dont_inherit=True)
    if keep:
        # flags 0b01: hash-based, 0b10 unset: "unchecked" (never compared with
        # the source, whose mtime a wheel does not keep).
        flags = 0b01
        extra = importlib.util.source_hash(source)
    else:
        flags, extra = 0, b"\0" * 8   # timestamp pyc; a sourceless one is never checked
    return importlib.util.MAGIC_NUMBER + flags.to_bytes(4, "little") + extra + marshal.dumps(code)


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def compile_wheel(source_path: str, target_path: str, keep: bool, site: str,
                  omit: list[str] | tuple[str, ...] = ()) -> int:
    """Rewrite one wheel; return the number of modules compiled.

    ``omit``: folder prefixes (``"sympy/physics/"``) whose files are left out."""
    omit = tuple(omit)
    files: dict[str, bytes] = {}
    record = None
    compiled = 0
    tag = sys.implementation.cache_tag       # "cpython-314"
    with zipfile.ZipFile(source_path) as wheel:
        for name in wheel.namelist():
            parts = name.split("/")
            if name.endswith("/") or TEST_FOLDERS & set(parts[:-1]) or name.startswith(omit):
                continue
            if parts[0].endswith(".dist-info") and parts[-1] == "RECORD":
                record = name
                continue
            data = wheel.read(name)
            if name.endswith(".py"):
                pyc = _pyc(data, f"{site}/{name}", keep)
                compiled += 1
                if keep:
                    files[name] = data
                    folder, _, stem = name.rpartition("/")
                    cached = f"{stem[:-3]}.{tag}.pyc"
                    files[f"{folder}/__pycache__/{cached}" if folder else
                          f"__pycache__/{cached}"] = pyc
                else:
                    files[name[:-3] + ".pyc"] = pyc
            else:
                files[name] = data
    if record is None:
        raise ValueError(f"{source_path}: not a wheel (no RECORD)")
    lines = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in files.items()]
    files[record] = ("\n".join([*lines, f"{record},,"]) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(info, files[name])
    with open(target_path, "wb") as handle:
        handle.write(buffer.getvalue())
    return compiled
