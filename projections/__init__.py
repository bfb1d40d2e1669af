"""Lianxin's read side: one package per read model, named by the question it answers.

Every read model is a :class:`projections.machinery.Projection`: it turns events from the global
log into rows, and its tracking position is written in the same transaction as those rows.
"""
