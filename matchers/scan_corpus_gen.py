"""Write ``matchers/data/scan-corpus.txt``: sample traffic that the native automaton's layout is profiled on.

Usage::

    txscreen loadgen --count 500 --listed-share 0 --seed 11 --out /tmp/corpus-latin.jsonl
    txscreen loadgen --count 500 --listed-share 0 --seed 11 --profile multilingual \\
        --out /tmp/corpus-multi.jsonl
    python -m matchers.scan_corpus_gen /tmp/corpus-latin.jsonl /tmp/corpus-multi.jsonl \\
        > matchers/data/scan-corpus.txt

One line per clean event: the batch string the screener scans for it, its screened texts and their other
readings folded (policy a), with ``|`` for the NUL that separates texts (no folded text holds a ``|``).
The double-array automaton (``matchers._native.KeySearch``) places the states that scanning these lines
visits next to each other, so that a scan of ordinary traffic stays in the processor's cache; no find
changes. The seed differs from the benchmarks' events (seed 1), so the benchmarks do not scan the sample.
"""

from __future__ import annotations

import sys

import orjson

from matchers.backend import NUL_MARK
from matchers.fuzzy_grams_gen import screened_texts
from matchers.normalize import fold_batch, readings_of_many


def corpus_line(texts: list[str]) -> str:
    """The batch string of ``texts`` and their other readings, folded, NUL written as :data:`NUL_MARK`."""
    every = [*texts, *(reading for _, reading in readings_of_many(texts))]
    return fold_batch(every).replace("\0", NUL_MARK)


def main(paths: list[str]) -> int:
    """Print the corpus lines of every event of the JSON Lines files ``paths``, after a comment line."""
    lines = []
    for path in paths:
        with open(path, "rb") as handle:
            lines += [corpus_line(screened_texts(orjson.loads(line))) for line in handle if line.strip()]
    names = ", ".join(path.rsplit("/", 1)[-1] for path in paths)
    print(f"# the native automaton's layout sample: {len(lines)} clean loadgen events of {names}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
