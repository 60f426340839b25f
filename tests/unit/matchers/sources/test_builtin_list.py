"""The built-in us-eo-2020 list: the 2020 US executive orders on ByteDance and Tencent."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
import yaml

from matchers.sources import BUILTIN, BUILTIN_PATH, load_source
from matchers.watchlist import Entity, EntityType, NameStrength, Watchlist

SCHEMA_PATH = Path(__file__).resolve().parents[4] / "schemas" / "watchlist.v1.schema.json"
IN_FORCE = datetime(2020, 9, 20, tzinfo=UTC)
REVOKED = datetime(2021, 6, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def builtin() -> Watchlist:
    return load_source(BUILTIN)


def entity(watchlist: Watchlist, entity_id: str) -> Entity:
    return next(e for e in watchlist.entities if e.id == entity_id)


def test_builtin_list_identity(builtin: Watchlist) -> None:
    """SRC builtin loads list us-eo-2020 with its two entities, recorded as source 'builtin'."""
    assert builtin.list_id == "us-eo-2020"
    assert builtin.source == "builtin"
    assert [e.id for e in builtin.entities] == ["us-eo-2020:bytedance", "us-eo-2020:tencent"]
    assert all(e.type is EntityType.ENTITY for e in builtin.entities)
    assert "13942" in builtin.description
    assert "14034" in builtin.description


def test_bytedance_names_and_program(builtin: Watchlist) -> None:
    """ByteDance is listed under EO13942 with its Latin and Chinese names, all strong."""
    bytedance = entity(builtin, "us-eo-2020:bytedance")
    expected = ["ByteDance Ltd.", "ByteDance", "TikTok", "字节跳动", "字節跳動", "Douyin", "抖音"]
    assert [n.text for n in bytedance.names] == expected
    assert all(n.strength is NameStrength.STRONG for n in bytedance.names)
    assert bytedance.programs == ("EO13942",)


def test_tencent_names_and_program(builtin: Watchlist) -> None:
    """Tencent is listed under EO13943 with WeChat, Weixin and the Chinese names, all strong."""
    tencent = entity(builtin, "us-eo-2020:tencent")
    expected = ["Tencent Holdings Ltd.", "Tencent", "WeChat", "Weixin", "微信", "腾讯", "騰訊"]
    assert [n.text for n in tencent.names] == expected
    assert all(n.strength is NameStrength.STRONG for n in tencent.names)
    assert tencent.programs == ("EO13943",)


@pytest.mark.parametrize(
    ("at", "in_force"),
    [
        (datetime(2020, 8, 6, 12, tzinfo=UTC), False),  # signed, not yet effective
        (IN_FORCE - timedelta(microseconds=1), False),
        (IN_FORCE, True),  # effective_from is inclusive
        (REVOKED - timedelta(microseconds=1), True),
        (REVOKED, False),  # effective_until is exclusive: revoked that day
        (datetime(2026, 1, 1, tzinfo=UTC), False),
    ],
)
def test_effective_period(builtin: Watchlist, at: datetime, in_force: bool) -> None:
    """Both orders are in force from 2020-09-20 00:00 UTC up to, not including, 2021-06-09 00:00 UTC."""
    for listed in builtin.entities:
        assert listed.effective_from == IN_FORCE
        assert listed.effective_until == REVOKED
        assert listed.in_force(at) is in_force


def test_builtin_file_matches_the_json_schema() -> None:
    """The built-in YAML is a valid txscreen-watchlist/v1 document by the JSON Schema too."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    document = yaml.safe_load(BUILTIN_PATH.read_text(encoding="utf-8"))
    as_json = json.loads(json.dumps(document, default=lambda v: v.isoformat()))
    jsonschema.Draft202012Validator(schema).validate(as_json)


def test_builtin_content_hash_is_stable(builtin: Watchlist) -> None:
    """Loading the built-in list twice gives the same content hash."""
    assert builtin.content_hash
    assert load_source(BUILTIN).content_hash == builtin.content_hash
