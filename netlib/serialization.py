"""Saving and loading a model's parameters as ``.npz`` (no pickle, ever).

Two promises:

* **Saving is atomic.** The archive is written to a temporary file beside
  the target and renamed over it (``os.replace``), so an interrupted save
  leaves the previous file intact, never half of a new one.
* **Loading is all-or-nothing.** Every array is read and checked (names,
  shapes, real numbers, finite) before the first parameter is touched; on
  any failure the model is unchanged and the error names the file and what
  is wrong with it.

The suffix is handled the way ``np.savez`` handles it: a path without
``.npz`` gets it appended, by both functions, so ``save_parameters(m,
"model")`` and ``load_parameters(m, "model")`` meet at ``model.npz``.
"""

from __future__ import annotations

import os
import secrets
import zipfile
import zlib
from pathlib import Path

import numpy as np

from netlib.model import Sequential

_ARCHITECTURE_KEY = "__architecture__"
_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"


def npz_path(path: str | os.PathLike) -> Path:
    """``path`` with ``.npz`` appended unless it already ends so (as ``np.savez`` does)."""
    path = Path(os.fspath(path))
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def _check_model(who: str, model, path) -> None:
    if not isinstance(model, Sequential):
        if isinstance(model, (str, os.PathLike)):
            raise TypeError(f"{who}: expected the model first and the path second, got the "
                            f"path {os.fspath(model)!r} first; write {who}(model, path)")
        raise TypeError(f"{who}: expected a netlib Sequential model, got "
                        f"{type(model).__name__}")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{who}: expected a file path (str or pathlib.Path), got "
                        f"{type(path).__name__}")


def save_parameters(model: Sequential, path: str | os.PathLike) -> Path:
    """Write every parameter of ``model`` to ``path`` (``.npz`` appended if missing).

    Keys are those of ``model.parameters()``; a text description of the
    architecture is stored beside them (as a unicode array, not a pickle) so
    that a mismatch can be explained on load. Returns the path written.
    """
    _check_model("save_parameters", model, path)
    target = npz_path(path)
    arrays = dict(model.parameters())
    arrays[_ARCHITECTURE_KEY] = np.array(repr(model))
    # Beside the target (a rename across file systems is a copy, not atomic);
    # opened with "x" so it gets the usual permissions and never clobbers.
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    try:
        with open(temporary, "xb") as stream:
            np.savez(stream, **arrays)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


def _refuse(path: Path, problem: str, fix: str = "") -> ValueError:
    who = f"load_parameters({str(path)!r})"
    return ValueError(f"{who}: {problem}" + (f"; {fix}" if fix else ""))


def _read_archive(path: Path, given) -> dict[str, np.ndarray]:
    """Every array of the archive at ``path``, or a ``ValueError`` saying what is wrong."""
    if not path.is_file():
        hint = ""
        if Path(os.fspath(given)) != path:
            hint = (" (.npz is added to a path without it, as save_parameters does"
                    + (f"; there is a file {os.fspath(given)!r}: rename it to end in .npz"
                       if Path(os.fspath(given)).is_file() else "") + ")")
        raise FileNotFoundError(f"load_parameters: no file {str(path)!r}{hint}")
    with open(path, "rb") as stream:
        start = stream.read(64)
    if not start.startswith((_ZIP_MAGIC, _EMPTY_ZIP_MAGIC)):
        kind = "it is empty" if not start else (
            f"it starts {start[:16]!r}, like a text file" if _looks_like_text(start)
            else f"it starts with bytes {start[:8].hex(' ')}")
        raise _refuse(path, f"not an .npz archive (a zip file): {kind}",
                      "only files written by netlib.save_parameters (or np.savez) load")
    saved = {}
    try:
        with zipfile.ZipFile(path) as archive:
            names = [name for name in archive.namelist() if name.endswith(".npy")]
            for name in names:
                key = name[:-len(".npy")]
                with archive.open(name) as member:
                    try:
                        saved[key] = np.lib.format.read_array(member, allow_pickle=False)
                    except ValueError as error:
                        if "pickle" in str(error) or "Object arrays" in str(error):
                            raise _refuse(path, f"entry {key!r} holds Python objects "
                                          f"(a pickle), which netlib never loads: they "
                                          f"can run code") from None
                        raise _refuse(path, f"entry {key!r} is damaged ({error})",
                                      "save the model again") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
        raise _refuse(path, f"the archive is truncated or damaged ({error})",
                      "save the model again") from None
    return saved


def _looks_like_text(data: bytes) -> bool:
    """Whether ``data`` reads as text (UTF-8, printable apart from line breaks and tabs)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(char.isprintable() or char in "\t\n\r" for char in text)


def _mismatch(saved: dict, params: dict) -> str | None:
    """The first way the file's names and shapes differ from the model's, or ``None``."""
    if saved.keys() != params.keys():
        missing = sorted(params.keys() - saved.keys())
        extra = sorted(saved.keys() - params.keys())
        return f"parameters missing from the file {missing}, unexpected in the file {extra}"
    for key, value in params.items():
        if saved[key].shape != value.shape:
            return (f"parameter {key!r} has shape {saved[key].shape} in the file, "
                    f"model expects {value.shape}")
    return None


def _check_values(path: Path, saved: dict) -> None:
    """Refuse values that are not real numbers, or not finite (a diverged model's)."""
    for key, stored in saved.items():
        if stored.dtype.kind not in "fiu":
            kind = {"c": "complex numbers", "U": "text", "S": "bytes",
                    "b": "booleans"}.get(stored.dtype.kind, str(stored.dtype))
            raise _refuse(path, f"parameter {key!r} holds {kind} (dtype {stored.dtype}); "
                                f"expected real float values",
                          "the file was not written by netlib.save_parameters from a model")
        if stored.dtype.kind == "f" and not np.isfinite(stored).all():
            bad = np.argwhere(~np.isfinite(stored))
            raise _refuse(path, f"parameter {key!r} holds {len(bad)} non-finite values "
                                f"(NaN or infinity, first at index "
                                f"{tuple(int(i) for i in bad[0])}); expected finite values",
                          "the model was saved after its training diverged: retrain it "
                          "with a smaller learning rate")


def load_parameters(model: Sequential, path: str | os.PathLike) -> Sequential:
    """Copy the parameters saved at ``path`` into ``model`` (in place).

    ``.npz`` is appended to a path without it, as :func:`save_parameters`
    does. Raises ``FileNotFoundError`` for a missing file and ``ValueError``
    naming the file for anything else: not an ``.npz`` archive, a truncated
    or damaged one, pickled objects, non-real or non-finite values, or
    parameters whose names or shapes do not match the model (with both
    architectures). On every failure the model is left unchanged.
    """
    _check_model("load_parameters", model, path)
    given, path = path, npz_path(path)
    saved = _read_archive(path, given)
    architecture = saved.pop(_ARCHITECTURE_KEY, None)
    saved_architecture = "unknown" if architecture is None else str(architecture)
    params = model.parameters()
    problem = _mismatch(saved, params)
    if problem:
        raise _refuse(path, f"the file does not match the model: {problem}.\n"
                            f"  saved: {saved_architecture}\n  model: {model!r}")
    _check_values(path, saved)
    # Everything was read and checked above; copying floats into floats cannot fail.
    for key, value in params.items():
        np.copyto(value, saved[key], casting="same_kind")
    return model
