"""`python -m mlvigil`: the same as the `mlvigil` command."""

from mlvigil.cli import main

main()
