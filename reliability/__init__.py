"""Fault injection and load for Lianxin, against real processes on real PostgreSQL.

Each scenario is a script (``python -m reliability.crash``, ``.retries``, ``.stall``, ``.load``)
whose small version runs as a test in ``tests/reliability``; the helpers they share live here:
a TCP proxy that drops, cuts and black-holes connections (:mod:`reliability.proxy`), a private
PostgreSQL cluster that may be restarted (:mod:`reliability.pgcluster`), the ``lianxin``
processes (:mod:`reliability.stack`), a world to act in (:mod:`reliability.world`), clients that
retry with command ids (:mod:`reliability.client`) and the checks (:mod:`reliability.verify`).
"""
