"""Synthetic watchlists of any size, for the list-size scaling benchmark (not for tests of the policy).

Names are built from syllables, so they look like names and share prefixes the way real lists do:
60% individuals written ``LAST, First Middle``, 30% entities with a legal form, 10% vessels.
Deterministic for a given seed.
"""

from __future__ import annotations

import random

from matchers.watchlist import Entity, EntityType, ListedName, NameStrength, Watchlist

_SYLLABLES = (
    "al ba ka ri mo sa na di ha lu ze vo pe ti go ra ne mi ko su ya el an or ul is ab ib ov ic "
    "ek ar ma no la ju fe qi xu wa yo de te ki zo bu ro sh ch kh th gh zh"
).split()
_KINDS = ["TRADING", "SHIPPING", "HOLDINGS", "INDUSTRIES", "GROUP", "INVESTMENT", "PETROLEUM", "BANK"]
_LEGAL = ["LTD", "LLC", "CO", "CORP", "SA", "GMBH", "JSC", "INC"]


def _word(rng: random.Random, low: int = 2, high: int = 4) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(low, high))).upper()


def synthetic_watchlist(names: int, *, seed: int = 7, list_id: str = "synthetic") -> Watchlist:
    """A list with about ``names`` names (each entity has one to three)."""
    rng = random.Random(seed)
    entities: list[Entity] = []
    count = 0
    while count < names:
        roll = rng.random()
        if roll < 0.6:
            etype = EntityType.INDIVIDUAL
            texts = [f"{_word(rng)}, {_word(rng)} {_word(rng)}" for _ in range(rng.randint(1, 3))]
        elif roll < 0.9:
            etype = EntityType.ENTITY
            texts = [
                f"{_word(rng)} {rng.choice(_KINDS)} {rng.choice(_LEGAL)}" for _ in range(rng.randint(1, 2))
            ]
        else:
            etype = EntityType.VESSEL
            texts = [f"{_word(rng)} {_word(rng, 1, 2)}"]
        texts = texts[: names - count]
        listed = tuple(
            ListedName(t, NameStrength.WEAK if i and rng.random() < 0.1 else NameStrength.STRONG)
            for i, t in enumerate(texts)
        )
        entities.append(Entity(f"{list_id}:{len(entities)}", list_id, etype, listed, ("SYN",)))
        count += len(listed)
    return Watchlist.build(list_id, f"synthetic:{names}", entities)
