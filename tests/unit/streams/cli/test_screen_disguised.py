"""``txscreen screen`` blocks names disguised by invisible characters, look-alikes, spacing, punctuation."""

from __future__ import annotations

from pathlib import Path

import orjson

from schemas.records import decode_blocked
from tests.cli_runner import run_txscreen

DISGUISED = [
    "TikT\u0001ok ads",  # an ASCII control inside the word
    "Tik\u3164Tok ads",  # Hangul filler
    "Tencent\ufe0fHoldings Ltd.",  # a variation selector where a space belongs
    "ᴛɪᴋᴛᴏᴋ ads",  # small capitals
    "Tik\u0422ok ads",  # Cyrillic capital TE inside a Latin word
    "T I K T O K ads",
    "W.E.C.H.A.T. transfer",
    "Tik-Tok ads",
    "Wei.xin pay",
]


def test_screen_blocks_disguised_names(tmp_path: Path) -> None:
    """Each disguised spelling of a listed name is blocked by the command, offsets in the original text."""
    source = tmp_path / "events.jsonl"
    lines = [
        orjson.dumps(
            {
                "id": f"pay-{i}",
                "created_at": "2020-10-01T10:00:00Z",
                "amount": "9.00",
                "currency": "USD",
                "debtor": {"name": "Mary Smith"},
                "creditor": {"name": "Ads Agency LLC"},
                "remittance": text,
            }
        )
        for i, text in enumerate(["e-mail of 16.06.2020, U.S. A B C", *DISGUISED])
    ]
    source.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "out"
    result = run_txscreen("screen", str(source), "--out", str(out), "--watchlist", "builtin", clean_env=True)
    assert result.returncode == 0, result.stderr
    assert (out / "cleared.jsonl").read_bytes() == lines[0] + b"\n"
    blocked = [decode_blocked(line) for line in (out / "blocked.jsonl").read_bytes().splitlines()]
    assert len(blocked) == len(DISGUISED)
    for record in blocked:
        text = record.event["remittance"]
        assert record.hits
        for hit in record.hits:
            assert hit.field == "remittance"
            assert text[hit.start : hit.end] == hit.matched_text
