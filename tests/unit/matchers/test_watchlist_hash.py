"""Entity content hashes: stable for equal content, different when a listed fact changes."""

from __future__ import annotations

import dataclasses

from matchers.watchlist import Entity, EntityType, ListedName, NameStrength


def _entity() -> Entity:
    names = (ListedName("ACME TRADING"), ListedName("ACME", NameStrength.WEAK))
    return Entity("x:1", "x", EntityType.ENTITY, names)


def test_content_hash_is_stable_for_equal_content() -> None:
    """Two entities with the same facts have the same content hash."""
    assert _entity().content_hash() == _entity().content_hash()
    assert _entity().content_hash().startswith("sha256:")


def test_content_hash_changes_with_a_name_or_program() -> None:
    """Adding a name or a program changes the entity's content hash."""
    base = _entity()
    renamed = dataclasses.replace(base, names=(*base.names, ListedName("ACME TRADING LLC")))
    programmed = dataclasses.replace(base, programs=("SDGT",))
    hashes = {base.content_hash(), renamed.content_hash(), programmed.content_hash()}
    assert len(hashes) == 3
