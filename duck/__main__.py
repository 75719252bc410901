"""``python -m duck`` is ``duck``."""

import sys

from duck.cli import main

sys.exit(main())
