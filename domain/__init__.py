"""Lianxin's write side: aggregates, their events and commands, the application service."""
