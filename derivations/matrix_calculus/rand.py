"""The random draws of ``derive``: sizes, points and upstream gradients.

One generator, in plain Python (``random.Random``, the Mersenne Twister), so
that the numpy backend and the plain-Python one (the browser) draw the same
sizes, the same points and the same upstream gradients from the same seed,
and so give the same answers with the same checks.
"""

from __future__ import annotations

import random

__all__ = ["Random", "as_random"]


class Random:
    """Seeded draws: a sample of distinct sizes, normal and uniform blocks
    (lists of rows). ``choice(pool, size, replace=False)`` is spelled as
    numpy's, which ``shapes.sample_sizes`` calls."""

    def __init__(self, seed: int = 0):
        self._random = random.Random(seed)

    def choice(self, pool, size: int, replace: bool = False) -> list:
        if replace:
            raise ValueError("Random.choice: only draws without replacement")
        return self._random.sample(list(pool), size)

    def standard_normal(self, shape: tuple[int, int]) -> list[list[float]]:
        rows, cols = shape
        return [[self._random.gauss(0.0, 1.0) for _ in range(cols)] for _ in range(rows)]

    def uniform(self, low: float, high: float, shape: tuple[int, int]) -> list[list[float]]:
        rows, cols = shape
        return [[self._random.uniform(low, high) for _ in range(cols)] for _ in range(rows)]


def as_random(rng) -> Random:
    """A :class:`Random` from a seed, a :class:`Random` or a numpy ``Generator``
    (whose next integer seeds it: callers that hold one keep working)."""
    if isinstance(rng, Random):
        return rng
    if rng is None or isinstance(rng, int):
        return Random(rng or 0)
    return Random(int(rng.integers(2**63)))
