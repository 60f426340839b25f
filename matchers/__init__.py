"""Watchlists, name normalization, the automaton and the matching policy.

Pure: no Kafka, no network, no I/O beyond reading list files. Depends on ``schemas`` only.
"""
