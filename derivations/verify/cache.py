"""A disk cache of SymPy results that can never hand back a stale verdict.

A result (a Jacobian, an exact-check verdict) is stored under the SHA-256 of
everything it is computed from:

* the engine: the source of ``derivations/verify/*.py``, ``derivations/core.py``
  (and ``derivations/notation.py`` when present), SymPy's and Python's versions;
* the entry's source: every file of the ``derivations`` modules that define
  the entry, its forward map and its stated VJPs, with the ``derivations``
  modules they use, transitively;
* the entry itself as it is at run time: a fingerprint of its forward map, its
  arguments, shape set, constants and assumptions, and (for a verdict) the
  stated VJP checked - a SymPy expression by ``srepr``, a function by its
  compiled code and the values it closes over. So an entry copied with a
  wrong stated VJP (a mutant, a monkeypatched test) gets its own key; when
  something cannot be fingerprinted the result is computed and not stored.

Where: ``$NETLIB_CACHE`` if set, else ``.cache/derivations/`` under the
repository root. ``configure(enabled=False)`` (``check --no-cache``) bypasses
it. Results are also kept in memory for the life of the process.
"""

from __future__ import annotations

import copyreg
import dataclasses
import functools
import hashlib
import io
import marshal
import os
import pickle
import sys
import types
from collections.abc import Callable
from pathlib import Path

import sympy

from derivations.registry import ENTRY_PATHS

PACKAGE = Path(__file__).resolve().parents[1]          # derivations/
ROOT = PACKAGE.parent

_settings = {"enabled": True, "directory": None}
_memory: dict = {}


def directory() -> Path:
    """Where results are stored: ``$NETLIB_CACHE``, else ``<repo>/.cache/derivations``."""
    chosen = _settings["directory"] or os.environ.get("NETLIB_CACHE")
    return Path(chosen) if chosen else ROOT / ".cache" / "derivations"


def configure(*, enabled: bool = True, path: str | Path | None = None) -> None:
    """Switch the disk cache on or off, or point it at ``path``; clears the memory copy."""
    _settings.update(enabled=enabled, directory=path)
    _memory.clear()


def enabled() -> bool:
    """Whether results are read from and written to disk."""
    return bool(_settings["enabled"])


# -- what a result depends on ------------------------------------------------------
_digests: dict = {}


def _file_digest(path: Path) -> str:
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _digests:
        _digests[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return _digests[key]


def engine_sources() -> list[Path]:
    """The files whose code computes every cached result."""
    files = sorted((PACKAGE / "verify").glob("*.py"))
    return files + [p for p in (PACKAGE / "core.py", PACKAGE / "notation.py") if p.exists()]


@functools.cache
def engine_digest() -> str:
    """SHA-256 of the engine's sources and the SymPy, FLINT and Python versions.

    Once per process: the engine that runs is the one imported at its start.
    (With or without python-flint a zero is proved by a different route, so
    its version is part of the key too.)
    """
    from derivations.verify.zero import flint

    parts = [f"sympy {sympy.__version__}", f"python {sys.version_info[:2]}",
             f"flint {getattr(flint, '__version__', None)}"]
    parts += [f"{p.name} {_file_digest(p)}" for p in engine_sources()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _derivations_module(obj) -> types.ModuleType | None:
    name = obj.__name__ if isinstance(obj, types.ModuleType) else getattr(obj, "__module__", None)
    if isinstance(name, str) and (name == "derivations" or name.startswith("derivations.")):
        return sys.modules.get(name)
    return None


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _used_globals(objects) -> list:
    """``objects`` and the globals their functions (and closed-over functions) name."""
    found, todo = [], list(objects)
    while todo:
        obj = todo.pop()
        found.append(obj)
        if isinstance(obj, types.MethodType):
            todo.append(obj.__func__)
        elif isinstance(obj, types.FunctionType) and len(found) < 1000:
            namespace = obj.__globals__
            todo += [namespace[n] for n in _code_names(obj.__code__) if n in namespace]
            todo += [c.cell_contents for c in obj.__closure__ or ()
                     if isinstance(c.cell_contents, types.FunctionType)]
    return found


def source_digest(objects) -> str:
    """SHA-256 of the files of the ``derivations`` modules defining ``objects``, transitively.

    A function counts with the globals it names (a test's lambda calling
    ``softmax_rows`` depends on ``derivations/layers/softmax.py``).
    """
    seen: dict[str, types.ModuleType] = {}
    todo = [m for m in map(_derivations_module, _used_globals(objects)) if m is not None]
    while todo:
        module = todo.pop()
        if module.__name__ in seen or not getattr(module, "__file__", None):
            continue
        seen[module.__name__] = module
        todo += [m for m in map(_derivations_module, vars(module).values()) if m is not None]
    return hashlib.sha256("\n".join(
        f"{name} {_file_digest(Path(seen[name].__file__))}" for name in sorted(seen)).encode()
    ).hexdigest()


class Unfingerprintable(Exception):
    """A value whose identity across runs cannot be told from what it holds."""


def fingerprint(value, depth: int = 0) -> str:
    """A text that changes whenever ``value`` could compute something else."""
    if depth > 20:
        raise Unfingerprintable("nested too deeply")
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return repr(value)
    if isinstance(value, sympy.Basic):
        return sympy.srepr(value)
    if isinstance(value, sympy.MatrixBase):
        return sympy.srepr(sympy.ImmutableMatrix(value))
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__}[" + ",".join(fingerprint(v, depth + 1) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{fingerprint(k, depth + 1)}:{fingerprint(v, depth + 1)}"
                              for k, v in sorted(value.items(), key=lambda kv: repr(kv[0]))) + "}"
    if isinstance(value, (types.FunctionType, types.MethodType)):
        return _function_fingerprint(value, depth)
    if isinstance(value, (type, types.ModuleType, types.BuiltinFunctionType)):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}" \
            if hasattr(value, "__qualname__") else value.__name__
    if dataclasses.is_dataclass(value):
        return f"{type(value).__qualname__}(" + ",".join(
            f"{f.name}={fingerprint(getattr(value, f.name), depth + 1)}"
            for f in dataclasses.fields(value)) + ")"
    if hasattr(value, "__dict__") and type(value).__module__.startswith("derivations"):
        # A plain object of ours (an entry's helper): its class's code is in the
        # source digest, its state in its attributes.
        return f"{type(value).__qualname__}({fingerprint(vars(value), depth + 1)})"
    raise Unfingerprintable(f"cannot fingerprint a {type(value).__name__}")


def _function_fingerprint(function, depth: int) -> str:
    if isinstance(function, types.MethodType):
        return (fingerprint(function.__self__, depth + 1) + "."
                + _function_fingerprint(function.__func__, depth + 1))
    parts = [hashlib.sha256(marshal.dumps(function.__code__)).hexdigest()]
    parts += [fingerprint(cell.cell_contents, depth + 1) for cell in function.__closure__ or ()]
    parts += [fingerprint(v, depth + 1) for v in function.__defaults__ or ()]
    return "fn(" + ",".join(parts) + ")"


def _entry_modules() -> list[tuple[types.ModuleType, str]]:
    """``(module, attribute)`` of every registry entry (the registry has imported them)."""
    pairs = [path.partition(":") for path in ENTRY_PATHS]
    return [(sys.modules[module], attribute) for module, _, attribute in pairs
            if module in sys.modules]


def entry_key(kind: str, d, shapes, wrt: str, *, stated: bool) -> str | None:
    """The cache key of result ``kind`` for ``d`` at ``shapes``; ``None`` if it cannot be made."""
    what = [d.forward, d.fixed_constants, *([d.stated[wrt]] if stated else [])]
    # The classes of a bound method and of every node of a stated expression
    # (an entry's own operators), and the module that registers the entry.
    what += [type(w) for w in what]
    what += [type(node) for w in what if isinstance(w, sympy.Basic)
             for node in sympy.preorder_traversal(w)]
    what += [module for module, attribute in _entry_modules()
             if getattr(getattr(module, attribute, None), "name", None) == d.name]
    try:
        text = "\n".join([
            kind, wrt, engine_digest(), source_digest(what),
            fingerprint([d.name, d.forward, d.inputs, d.constants, d.fixed_constants,
                         d.assumptions, sorted((k, tuple(v)) for k, v in shapes.items())]),
            fingerprint(d.stated[wrt]) if stated else "",
        ])
    except Unfingerprintable:
        return None
    return hashlib.sha256(text.encode()).hexdigest()


#: Classes stored so that loading rebuilds them as they were, without evaluating
#: them again: re-canonicalising max pooling's Piecewise conditions on every
#: load took longer than computing the Jacobian.
UNEVALUATED = (sympy.Piecewise, sympy.And, sympy.Or, sympy.StrictGreaterThan,
               sympy.StrictLessThan, sympy.GreaterThan, sympy.LessThan)


def rebuild(cls, args):
    """``cls(*args, evaluate=False)``: how :func:`dumps` stores :data:`UNEVALUATED` nodes."""
    return cls(*args, evaluate=False)


def dumps(result) -> bytes:
    """``pickle.dumps`` of a SymPy result, :data:`UNEVALUATED` nodes stored as built."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = copyreg.dispatch_table.copy()
    for cls in UNEVALUATED:
        pickler.dispatch_table[cls] = lambda node: (rebuild, (type(node), node.args))
    pickler.dump(result)
    return buffer.getvalue()


def memo(kind: str, d, shapes, wrt: str, compute: Callable, *, stated: bool):
    """``compute()``, or its stored result for the same inputs (see the module docstring)."""
    key = entry_key(kind, d, shapes, wrt, stated=stated)
    if key is None:
        return compute()
    if key in _memory:
        return _memory[key]
    path = directory() / kind / f"{key}.pickle"
    if enabled() and path.exists():
        try:
            _memory[key] = pickle.loads(path.read_bytes())
            return _memory[key]
        except Exception:                  # a truncated or foreign file: recompute
            path.unlink(missing_ok=True)
    result = compute()
    _memory[key] = result
    if enabled():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(dumps(result))
        os.replace(temporary, temporary.with_name(path.name))     # atomic for parallel workers
    return result
