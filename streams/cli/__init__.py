"""The ``txscreen`` command line: one module per command group, and the only room that reads flags and env.

``main`` builds the parser from each group's ``register`` (screen, kafka, dlq, broker, loadgen, demo), turns
flags and ``TXSCREEN_*`` variables into frozen settings, and hands them to the engines below.
"""

from streams.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
