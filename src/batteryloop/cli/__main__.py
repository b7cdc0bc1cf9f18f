"""``python -m batteryloop.cli``: the ``batteryloop`` command."""

from . import main

main()
