"""Saving and loading a model's parameters as ``.npz`` (no pickle, ever)."""

from __future__ import annotations

import os

import numpy as np

from netlib.model import Sequential

_ARCHITECTURE_KEY = "__architecture__"


def save_parameters(model: Sequential, path: str | os.PathLike) -> None:
    """Write every parameter of ``model`` to ``path`` (an ``.npz`` file).

    Keys are those of ``model.parameters()``; a text description of the
    architecture is stored beside them (as a unicode array, not a pickle) so
    that a mismatch can be explained on load.
    """
    arrays = dict(model.parameters())
    arrays[_ARCHITECTURE_KEY] = np.array(repr(model))
    np.savez(path, **arrays)


def load_parameters(model: Sequential, path: str | os.PathLike) -> Sequential:
    """Copy the parameters saved at ``path`` into ``model`` (in place).

    Raises ``ValueError`` naming the first parameter whose name or shape does
    not match, with both architectures, and leaves ``model`` unchanged.
    """
    with np.load(path, allow_pickle=False) as data:
        saved = {key: data[key] for key in data.files}
    saved_architecture = str(saved.pop(_ARCHITECTURE_KEY, "unknown"))
    params = model.parameters()
    problem = None
    if saved.keys() != params.keys():
        missing = sorted(params.keys() - saved.keys())
        extra = sorted(saved.keys() - params.keys())
        problem = f"parameters missing from the file {missing}, unexpected in the file {extra}"
    else:
        for key, value in params.items():
            if saved[key].shape != value.shape:
                problem = (f"parameter {key!r} has shape {saved[key].shape} in the file, "
                           f"model expects {value.shape}")
                break
    if problem:
        raise ValueError(f"load_parameters: the file does not match the model: {problem}.\n"
                         f"  saved: {saved_architecture}\n  model: {model!r}")
    for key, value in params.items():
        np.copyto(value, saved[key], casting="same_kind")
    return model
