"""Lianxin's benchmarks: ``python -m bench`` runs them and writes ``BENCHMARKS.md``.

Each benchmark is a module with ``NAME``, ``TITLE`` and ``run(options) -> Section`` (see
``bench/common.py``); list it in ``BENCHMARKS`` in ``bench/__main__.py`` to add it.
"""
