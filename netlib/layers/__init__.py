"""netlib layers: each a forward map and its vector-Jacobian product.

Every module lists its layers in its ``__all__``; this package re-exports
them, so a new layer is exported by naming it in its own module.
"""

from netlib.layers import (
    activations,
    attention,
    base,
    combinators,
    conv,
    dense,
    dropout,
    embedding,
    normalization,
    pooling,
    shape,
    smooth_activations,
    softmax,
)
from netlib.layers.activations import *  # noqa: F403
from netlib.layers.attention import *  # noqa: F403
from netlib.layers.base import *  # noqa: F403
from netlib.layers.combinators import *  # noqa: F403
from netlib.layers.conv import *  # noqa: F403
from netlib.layers.dense import *  # noqa: F403
from netlib.layers.dropout import *  # noqa: F403
from netlib.layers.embedding import *  # noqa: F403
from netlib.layers.normalization import *  # noqa: F403
from netlib.layers.pooling import *  # noqa: F403
from netlib.layers.shape import *  # noqa: F403
from netlib.layers.smooth_activations import *  # noqa: F403
from netlib.layers.softmax import *  # noqa: F403

__all__ = [
    *base.__all__,
    *dense.__all__,
    *activations.__all__,
    *softmax.__all__,
    *smooth_activations.__all__,
    *normalization.__all__,
    *dropout.__all__,
    *shape.__all__,
    *conv.__all__,
    *pooling.__all__,
    *embedding.__all__,
    *attention.__all__,
    *combinators.__all__,
]
