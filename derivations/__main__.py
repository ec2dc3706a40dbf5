"""``python -m derivations``: see :mod:`derivations.cli`."""

import sys

from derivations.cli import main

sys.exit(main())
