"""Write ``matchers/data/anchor-grams.tsv``: how often each 4-character gram occurs in clean traffic.

Usage::

    txscreen loadgen --count 300000 --pool 300000 --listed-share 0 --seed 7 --out /tmp/clean-latin.jsonl
    txscreen loadgen --count 300000 --pool 300000 --listed-share 0 --seed 7 --profile multilingual \\
        --out /tmp/clean-multi.jsonl
    python -m matchers.fuzzy_grams_gen /tmp/clean-latin.jsonl 100000 /tmp/clean-multi.jsonl \\
        > matchers/data/anchor-grams.tsv

The sample: each clean loadgen event (the grams of its screened texts as folded, and of their other
readings folded, as the screener searches them; a gram counts once per event), and as many more
party names again as the second argument, made by Faker (seed 1) in the locales of :data:`LOCALES`
(loadgen's name pools are small; real traffic has many more names).
Each further file (another traffic profile: the multilingual one) is counted on its own, and a gram's
figure is the highest of the sample sets: an anchor must be rare in every kind of traffic. The table
holds, per gram, the samples per million that hold it, for grams in at least one per million.
:mod:`matchers.fuzzy` bounds an anchor's frequency by its rarest gram.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator

import orjson

from matchers.fuzzy import GRAM
from matchers.normalize import fold, readings


def screened_texts(event: dict[str, object]) -> list[str]:
    """The screened texts of a decoded event (debtor/creditor names, their agents' names, remittance)."""
    out = []
    for party in ("debtor", "creditor"):
        body = event.get(party)
        if isinstance(body, dict):
            out.append(str(body.get("name", "")))
            agent = body.get("agent")
            if isinstance(agent, dict):
                out.append(str(agent.get("name", "")))
    out.append(str(event.get("remittance", "")))
    return out


#: Faker locales of ordinary names: Latin-script names of many origins, and a few other scripts.
LOCALES = (
    "en_US", "en_GB", "en_IN", "es_ES", "es_MX", "pt_BR", "fr_FR", "de_DE", "it_IT", "nl_NL", "pl_PL",
    "tr_TR", "id_ID", "vi_VN", "fil_PH", "sw", "yo_NG", "ru_RU", "uk_UA", "ar_AA", "fa_IR", "zh_CN",
)  # fmt: skip


def ordinary_names(count: int, seed: int, locales: tuple[str, ...] = LOCALES) -> Iterator[str]:
    """``count`` ordinary person (two in three) and company names, round-robin over ``locales``."""
    from faker import Faker  # a dev dependency: only the generator and the tests need it

    fakers = []
    for i, locale in enumerate(locales):
        fake = Faker(locale)
        fake.seed_instance(seed * 1000 + i)
        fakers.append(fake)
    for n in range(count):
        fake = fakers[n % len(fakers)]
        yield fake.company() if n % 3 == 2 else fake.name()


def _grams(texts: list[str]) -> set[str]:
    """The grams of the texts as the screener searches them: folded, and each of their other readings
    folded (policy a: a Cyrillic word read as Latin look-alikes is searched too, so its grams count)."""
    grams: set[str] = set()
    for text in texts:
        for read in (text, *(reading for reading, _ in readings(text))):
            folded = fold(read)
            grams.update(folded[i : i + GRAM] for i in range(len(folded) - GRAM + 1))
    return grams


def _per_million(path: str, names: int) -> tuple[dict[str, int], int]:
    """Per gram, the samples per million that hold it: the events of ``path`` and ``names`` Faker names."""
    counts: Counter[str] = Counter()
    events = 0
    with open(path, "rb") as handle:
        for line in handle:
            events += 1
            counts.update(_grams(screened_texts(orjson.loads(line))))
    for name in ordinary_names(names, seed=1):
        counts.update(_grams([name]))
    samples = events + names
    return {gram: count * 1_000_000 // samples for gram, count in counts.items()}, events


def main(argv: list[str]) -> int:
    """Count grams over the JSON Lines file ``argv[0]`` with ``argv[1]`` Faker names, and over each further
    file (another traffic profile) on its own; a gram's figure is its highest; print the table."""
    names = int(argv[1]) if len(argv) > 1 else 0
    table, events = _per_million(argv[0], names)
    described = [f"{events} clean loadgen events of {argv[0].rsplit('/', 1)[-1]} and {names} Faker names"]
    for path in argv[2:]:
        more, count = _per_million(path, 0)
        described.append(f"{count} of {path.rsplit('/', 1)[-1]}")
        for gram, per_million in more.items():
            table[gram] = max(table.get(gram, 0), per_million)
    print(
        f"# {GRAM}-character grams of the screened texts of "
        + "; ".join(described)
        + " (Faker seed 1), per million samples of each sample set, the highest"
    )
    for gram, per_million in sorted(table.items()):
        if per_million >= 1:
            print(f"{gram}\t{per_million}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
