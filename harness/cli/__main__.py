"""`python -m harness.cli`: the same as the `harness` console script."""

from .main import main

main()
