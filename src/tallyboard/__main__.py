"""``python -m tallyboard`` is the ``tallyboard`` command."""

from tallyboard.cli.main import main

main()
