"""The command-line arguments every drain process takes (Faust engine, quixstreams peer).

No third-party imports: the peer imports this from its own virtualenv.
"""

from __future__ import annotations

import argparse


def drain_parser(description: str) -> argparse.ArgumentParser:
    """A parser with the broker, the four topics, the group and the number of events to drain."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--bootstrap-servers", required=True)
    parser.add_argument("--input-topic", required=True)
    parser.add_argument("--cleared-topic", required=True)
    parser.add_argument("--blocked-topic", required=True)
    parser.add_argument("--dlq-topic", required=True)
    parser.add_argument("--group-id", required=True)
    parser.add_argument("--max-events", type=int, required=True)
    return parser
