"""``python -m lianxin`` is the ``lianxin`` command."""

from lianxin.cli import run

run()
