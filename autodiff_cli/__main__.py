"""``python -m autodiff_cli``: the same as the ``adcli`` command."""

from .cli import main

main()
