"""One file per topic, each defining the :class:`~derivations.core.Derivation` entries.

Entries are module-level constants (``DENSE``, ``RELU``...); the registry
(:mod:`derivations.registry`) lists each once by ``"module:NAME"``.
"""
