"""Replay tools for auditors and inspectors (issue #5): any read model as it stood at a past
time or position (``lianxin replay``, :mod:`.replay`), a live read model checked against its log
(``lianxin diff``, :mod:`.diff`), one issue's state at a time and its steps (``lianxin history``,
:mod:`.history`), a rebuild that swaps new tables in atomically (``lianxin rebuild NAME --swap``,
:mod:`.swap`), and the leadership views as of a past time for the API (:mod:`.as_of`).

The submodules are imported where used (the CLI imports this package on every start).
"""
