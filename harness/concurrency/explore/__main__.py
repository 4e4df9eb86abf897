"""Entry point for `python -m harness.concurrency.explore`."""

import sys

from .cli import main

sys.exit(main())
