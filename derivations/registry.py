"""The registry: the only list of layers and losses in the project.

Tests, the command line and the site iterate over :data:`REGISTRY`. To add a
layer, write its netlib class, one file in ``derivations/layers/`` defining a
:class:`~derivations.core.Derivation`, and one line in :data:`ENTRY_PATHS`.
"""

from __future__ import annotations

import importlib

from derivations.core import Derivation

#: ``"module:ATTRIBUTE"`` of every entry, in the order the CLI and site show them.
ENTRY_PATHS: tuple[str, ...] = (
    "derivations.layers.dense:DENSE",
    "derivations.layers.dense:DENSE_COLUMNS",
    "derivations.layers.dense:DENSE_NO_BIAS",
    "derivations.layers.activations:IDENTITY",
    "derivations.layers.activations:RELU",
    "derivations.layers.activations:LEAKY_RELU",
    "derivations.layers.activations:SIGMOID",
    "derivations.layers.activations:TANH",
    "derivations.layers.activations:SOFTPLUS",
    "derivations.layers.softmax:SOFTMAX",
    "derivations.layers.softmax:LOG_SOFTMAX",
    "derivations.layers.smooth_activations:GELU_EXACT",
    "derivations.layers.smooth_activations:GELU_TANH",
    "derivations.layers.smooth_activations:SILU",
    "derivations.layers.smooth_activations:ELU_ENTRY",
    "derivations.layers.normalization:LAYER_NORM",
    "derivations.layers.normalization:BATCH_NORM",
    "derivations.layers.normalization:RMS_NORM",
    "derivations.layers.dropout:DROPOUT",
    "derivations.layers.shape:FLATTEN",
    "derivations.layers.conv:CONV2D",
    "derivations.layers.conv:CONV2D_STRIDED",
    "derivations.layers.pooling:MAX_POOL",
    "derivations.layers.pooling:AVG_POOL",
    "derivations.layers.embedding:EMBEDDING",
    "derivations.layers.attention:ATTENTION",
    "derivations.layers.attention:ATTENTION_CAUSAL",
    "derivations.layers.combinators:RESIDUAL",
    "derivations.layers.losses:MSE",
    "derivations.layers.losses:BCE",
    "derivations.layers.losses:BCE_LOGITS",
    "derivations.layers.losses:SOFTMAX_CROSS_ENTROPY",
)


def _load(path: str) -> Derivation:
    module_name, _, attribute = path.partition(":")
    entry = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(entry, Derivation):
        raise TypeError(f"derivations.registry: expected {path} to be a Derivation, "
                        f"got {type(entry).__name__}")
    return entry


def _build_registry() -> dict[str, Derivation]:
    registry: dict[str, Derivation] = {}
    for path in ENTRY_PATHS:
        entry = _load(path)
        if entry.name in registry:
            raise ValueError(f"derivations.registry: two entries named {entry.name!r} "
                             f"(the second from {path})")
        registry[entry.name] = entry
    return registry


REGISTRY: dict[str, Derivation] = _build_registry()


def names() -> list[str]:
    """The registry keys, in registry order."""
    return list(REGISTRY)


def get(name: str) -> Derivation:
    """The entry called ``name``; a ``KeyError`` listing the known names otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"derivations: no entry named {name!r}; known entries: "
                       f"{', '.join(REGISTRY)}") from None
