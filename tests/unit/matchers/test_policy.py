"""The matching policy on real list names (README "Matching policy", rules a–g)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matchers.automaton import NameAutomaton
from matchers.normalize import fold
from matchers.policy import (
    LEGAL_EQUIVALENTS,
    MatchRule,
    camel_split,
    legal_variants,
    match_rule,
    name_forms,
    orders,
    word_splits,
)
from matchers.screening import check_text
from matchers.watchlist import EntityType, ListedName, NameStrength

OCT_2020 = datetime(2020, 10, 1, 12, tzinfo=UTC)


def hit_ids(
    automaton: NameAutomaton, text: str, field: str = "remittance", at: datetime = OCT_2020
) -> set[str]:
    """Entity ids hit by ``text`` screened as ``field`` at ``at``."""
    return {h.entity_id for h in check_text(text, automaton, field_name=field, at=at)}


# --- rule a: normalization ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Banco Nacional de Cuba",  # case
        "BANCO NACIÓNAL DE CÜBA",  # diacritics
        "ＢＡＮＣＯ ＮＡＣＩＯＮＡＬ ＤＥ ＣＵＢＡ",  # full-width compatibility forms
        "BANCO NA\u200bCIONAL DE CU\u00adBA",  # zero-width space, soft hyphen
        "BАNCO NАCIONAL DE CUBА",  # Cyrillic А inside Latin words
        "Banco   Nacional,de\tCuba.",  # punctuation and whitespace runs
    ],
)
def test_spelling_variants_of_a_real_entity_hit(default_automaton: NameAutomaton, text: str) -> None:
    """Case, accents, compatibility forms, invisibles, look-alikes and punctuation do not hide OFAC 306."""
    assert "ofac-sdn:306" in hit_ids(default_automaton, f"transfer to {text} ref 1")


@pytest.mark.parametrize("text", ["AL-QAIDA", "AL QAIDA", "ALQAIDA", "Al-Qaida", "al qaida"])
def test_intra_word_punctuation_matches_split_and_joined(default_automaton: NameAutomaton, text: str) -> None:
    """AL-QAIDA = AL QAIDA = ALQAIDA (UN QDe.004)."""
    assert "un:QDe.004" in hit_ids(default_automaton, f"donation to {text} cell")


@pytest.mark.parametrize("text", ["AL QAIDA IN THE ISLAMIC MAGHREB", "ALQAIDA IN THE ISLAMIC MAGHREB"])
def test_a_word_with_two_marks_matches_every_join(default_automaton: NameAutomaton, text: str) -> None:
    """AL-QA'IDA has two breaks; each may be closed or kept (OFAC 6897)."""
    assert "ofac-sdn:6897" in hit_ids(default_automaton, text)


@pytest.mark.parametrize("text", ["O'NINNO", "ONINNO", "O NINNO", "O\u2019Ninno"])
def test_apostrophe_names_match_joined_and_split(default_automaton: NameAutomaton, text: str) -> None:
    """O'NINNO (a weak alias, so a whole creditor name) matches with the apostrophe, without it, or spaced."""
    assert "ofac-sdn:15232" in hit_ids(default_automaton, text, field="creditor.name")


@pytest.mark.parametrize(
    ("written", "split"),
    [
        ("TikTok", "Tik Tok"),
        ("ByteDance Ltd.", "Byte Dance Ltd."),
        ("McDONALD", "Mc DONALD"),
        ("DeLaRue", "De La Rue"),
        ("ÉcoleNormale", "École Normale"),
        ("eBay", "eBay"),  # a one-letter piece stays on its word
        ("iPhone", "iPhone"),
        ("BANCO NACIONAL", "BANCO NACIONAL"),
        ("IBMCorp", "IBMCorp"),  # capital to capital is no change of case
    ],
)
def test_camel_case_splits_only_between_pieces_of_two_letters(written: str, split: str) -> None:
    """A small-to-capital change inside a word is a word break when both pieces have two letters or more."""
    assert camel_split(written) == split


@pytest.mark.parametrize("text", ["Tik Tok", "TIK TOK", "tik-tok", "TikTok", "Tiktok"])
def test_a_camel_case_brand_matches_with_its_pieces_apart(
    default_automaton: NameAutomaton, text: str
) -> None:
    """The listed `TikTok` blocks as `Tik Tok` too, exactly, though six letters get no fuzzy budget."""
    assert hit_ids(default_automaton, f"ads for {text} campaign") == {"us-eo-2020:bytedance"}


def test_a_camel_case_split_keeps_the_other_names_whole(default_automaton: NameAutomaton) -> None:
    """`We Chat` and `Byte Dance` block exactly; `Ten cent` (no camel case in `Tencent`) does not."""
    for text, entity in (("We Chat", "us-eo-2020:tencent"), ("Byte Dance", "us-eo-2020:bytedance")):
        hits = check_text(text, default_automaton, field_name="remittance", at=OCT_2020)
        assert [(h.entity_id, h.rule) for h in hits] == [(entity, MatchRule.ANYWHERE)]
    assert hit_ids(default_automaton, "Ten cent tip") == set()


# --- rule b: legal forms -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["Anglo-Caribbean Co., Ltd.", "Anglo Caribbean Company Limited", "ANGLO-CARIBBEAN COMPANY LTD"],
)
def test_legal_form_words_are_equivalent(default_automaton: NameAutomaton, text: str) -> None:
    """Co = Company and Ltd = Limited (OFAC 173 ANGLO-CARIBBEAN CO., LTD.)."""
    assert "ofac-sdn:173" in hit_ids(default_automaton, text, field="creditor.name")


def test_legal_variants_cover_multi_word_forms() -> None:
    """Every legal-form spelling is generated, multi-word ones included."""
    assert set(legal_variants("acme llc")) >= {"acme llc", "acme l l c", "acme limited liability company"}


def test_legal_forms_compose() -> None:
    """Co. = Company inside the longer legal forms too: every spelling of `limited liability company`."""
    assert set(legal_variants("acme llc")) == {
        "acme llc",
        "acme l l c",
        "acme limited liability company",
        "acme ltd liability company",
        "acme limited liability co",
        "acme ltd liability co",
    }


# --- rule c: individuals in either order ---------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["BIN LADIN, Usama", "Usama BIN LADIN", "Usama bin Muhammad bin Awad BIN LADIN", "bin Ladin Osama"],
)
def test_individuals_match_in_either_order(default_automaton: NameAutomaton, text: str) -> None:
    """LAST, First Middle also reads First Middle Last (OFAC 6365)."""
    assert "ofac-sdn:6365" in hit_ids(default_automaton, text, field="debtor.name")


@pytest.mark.parametrize("text", ["Eric Badege", "BADEGE, Eric", "Badege Eric"])
def test_un_individuals_also_match_surname_first(default_automaton: NameAutomaton, text: str) -> None:
    """A UN name written First Last (ERIC BADEGE, CDi.001) also matches surname first."""
    assert "un:CDi.001" in hit_ids(default_automaton, text, field="creditor.name")


def test_orders_of_written_forms() -> None:
    """Orders of an individual's name; entities keep their one order."""
    assert orders("BIN LADIN, Usama", EntityType.INDIVIDUAL) == ["BIN LADIN Usama", "Usama BIN LADIN"]
    assert orders("ERIC BADEGE", EntityType.INDIVIDUAL) == ["ERIC BADEGE", "BADEGE ERIC"]
    assert orders("BANCO NACIONAL DE CUBA", EntityType.ENTITY) == ["BANCO NACIONAL DE CUBA"]


# --- rule d: scripts ---------------------------------------------------------------------------


def test_han_names_match_as_substrings(default_automaton: NameAutomaton) -> None:
    """字节跳动 inside a longer Chinese company name is a hit on ByteDance."""
    assert "us-eo-2020:bytedance" in hit_ids(default_automaton, "北京字节跳动科技有限公司 广告费")


def test_han_names_match_across_spaces_and_next_to_latin(default_automaton: NameAutomaton) -> None:
    """Spaces inside a Han run and a Latin neighbour do not hide 抖音 or 微信."""
    assert "us-eo-2020:bytedance" in hit_ids(default_automaton, "抖 音Pay")
    assert "us-eo-2020:tencent" in hit_ids(default_automaton, "付款方式:微信支付")


def test_latin_names_match_whole_words_only(default_automaton: NameAutomaton) -> None:
    """TikTok inside a longer word is no hit; as a word it is."""
    assert "us-eo-2020:bytedance" not in hit_ids(default_automaton, "tiktoker merchandise")
    assert "us-eo-2020:bytedance" in hit_ids(default_automaton, "tiktok merchandise")


# --- rule e: where a name may match --------------------------------------------------------------


def test_entity_single_word_of_five_letters_matches_anywhere(default_automaton: NameAutomaton) -> None:
    """HAMAS is a hit in free text, but not inside the word Hamasaki."""
    assert "ofac-sdn:4695" in hit_ids(default_automaton, "payment to HAMAS")
    assert "ofac-sdn:4695" not in hit_ids(default_automaton, "Hamasaki Trading", field="creditor.name")


@pytest.mark.parametrize(("vessel", "entity_id"), [("SNOW", "ofac-sdn:15089"), ("DOVER", "ofac-sdn:15046")])
def test_vessels_match_only_a_whole_party_name(
    default_automaton: NameAutomaton, vessel: str, entity_id: str
) -> None:
    """Vessel names hit a debtor/creditor name equal to them, never free text or longer names."""
    assert entity_id in hit_ids(default_automaton, vessel.lower(), field="creditor.name")
    assert entity_id not in hit_ids(default_automaton, f"{vessel} removal services", field="creditor.name")
    assert entity_id not in hit_ids(default_automaton, f"{vessel} Logistics Ltd", field="creditor.name")
    assert entity_id not in hit_ids(default_automaton, vessel, field="remittance")


@pytest.mark.parametrize(("acronym", "entity_id"), [("FSB", "ofac-sdn:21344"), ("PKK", "ofac-sdn:4702")])
def test_short_names_match_only_a_whole_party_name(
    default_automaton: NameAutomaton, acronym: str, entity_id: str
) -> None:
    """Names of four letters or fewer hit only a whole debtor/creditor name."""
    assert entity_id in hit_ids(default_automaton, acronym, field="debtor.name")
    assert entity_id not in hit_ids(default_automaton, f"{acronym} fees", field="remittance")
    assert entity_id not in hit_ids(default_automaton, f"{acronym} Holdings", field="debtor.name")


def test_weak_aliases_match_only_a_whole_party_name(default_automaton: NameAutomaton) -> None:
    """The weak alias BNC of Banco Nacional de Cuba hits a creditor named BNC, not a remittance."""
    assert "ofac-sdn:306" in hit_ids(default_automaton, "BNC", field="creditor.name")
    assert "ofac-sdn:306" not in hit_ids(default_automaton, "BNC", field="remittance")


def test_single_word_individual_names_match_only_a_whole_party_name(default_automaton: NameAutomaton) -> None:
    """AL-QADHAFI (an individual's single-word name) hits a whole name only."""
    assert "ofac-sdn:12607" in hit_ids(default_automaton, "Al Qadhafi", field="creditor.name")
    assert "ofac-sdn:12607" not in hit_ids(default_automaton, "Al Qadhafi street 5", field="remittance")


def test_agent_names_are_screened_but_not_whole_field(default_automaton: NameAutomaton) -> None:
    """A bank name is screened for anywhere-names, but whole-field names need a party-name field."""
    assert "ofac-sdn:306" in hit_ids(default_automaton, "Banco Nacional de Cuba", field="debtor.agent.name")
    assert "ofac-sdn:306" not in hit_ids(default_automaton, "BNC", field="debtor.agent.name")


@pytest.mark.parametrize(
    ("name", "etype", "rule"),
    [
        (ListedName("HAMAS"), EntityType.ENTITY, MatchRule.ANYWHERE),
        (ListedName("FSB"), EntityType.ENTITY, MatchRule.WHOLE_FIELD),
        (ListedName("AL-QADHAFI"), EntityType.INDIVIDUAL, MatchRule.WHOLE_FIELD),
        (ListedName("BIN LADIN, Usama"), EntityType.INDIVIDUAL, MatchRule.ANYWHERE),
        (ListedName("SNOW"), EntityType.VESSEL, MatchRule.WHOLE_FIELD),
        (ListedName("SEA DIAMOND PRINCESS"), EntityType.VESSEL, MatchRule.WHOLE_FIELD),
        (ListedName("BANCO NACIONAL DE CUBA", NameStrength.WEAK), EntityType.ENTITY, MatchRule.WHOLE_FIELD),
        (ListedName("A B C"), EntityType.ENTITY, MatchRule.WHOLE_FIELD),
        (ListedName("微信"), EntityType.ENTITY, MatchRule.ANYWHERE),
        (ListedName("金正恩"), EntityType.INDIVIDUAL, MatchRule.WHOLE_FIELD),
    ],
)
def test_match_rule_table(name: ListedName, etype: EntityType, rule: MatchRule) -> None:
    """Rule e, name by name: type, strength, letters and words decide anywhere vs whole-field."""
    assert match_rule(name, etype) is rule


def test_word_splits_cover_every_join() -> None:
    """A word broken in two places has four forms."""
    assert set(word_splits("al qa ida")) == {"al qa ida", "alqa ida", "al qaida", "alqaida"}


def test_name_forms_combine_orders_joins_and_legal_forms() -> None:
    """An individual with a hyphenated surname gets both orders, each split and joined."""
    forms = name_forms(ListedName("AL-QAHTANI, Saud"), EntityType.INDIVIDUAL).forms
    assert {"al qahtani saud", "alqahtani saud", "saud al qahtani", "saud alqahtani"} <= forms


# --- rule f: effective dates --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "hit"),
    [
        ("2020-08-10T09:00:00Z", False),  # signed, not yet in force
        ("2020-09-19T23:59:59Z", False),
        ("2020-09-20T00:00:00Z", True),  # in force from 2020-09-20
        ("2020-10-01T12:00:00Z", True),
        ("2021-06-08T23:59:59Z", True),
        ("2021-06-09T00:00:00Z", False),  # revoked by EO 14034
        ("2021-07-01T12:00:00Z", False),
    ],
)
def test_builtin_bans_apply_only_while_in_force(
    default_automaton: NameAutomaton, when: str, hit: bool
) -> None:
    """TikTok blocks only in [2020-09-20, 2021-06-09)."""
    at = datetime.fromisoformat(when.replace("Z", "+00:00"))
    assert ("us-eo-2020:bytedance" in hit_ids(default_automaton, "TikTok ads", at=at)) is hit


# --- rule g: what a hit says ---------------------------------------------------------------------


def test_hit_names_entity_list_field_offsets_programs_and_rule(default_automaton: NameAutomaton) -> None:
    """A hit carries the entity, the listed name, the field, offsets into the original text and the rule."""
    text = "Ref 9: ＴｉｋＴｏｋ ads"
    (hit,) = [
        h for h in check_text(text, default_automaton, at=OCT_2020) if h.entity_id == "us-eo-2020:bytedance"
    ]
    assert hit.list_id == "us-eo-2020"
    assert hit.entity_name == "ByteDance Ltd."
    assert hit.matched_name == "TikTok"
    assert hit.field == "remittance"
    assert text[hit.start : hit.end] == "ＴｉｋＴｏｋ" == hit.matched_text
    assert hit.programs == ["EO13942"]
    assert hit.rule == "anywhere"


def test_offsets_survive_lookalikes_and_invisibles(default_automaton: NameAutomaton) -> None:
    """Offsets point at the original characters even when the match needed folding."""
    text = "to B\u200bАNCO NACIONAL DE CUBA."
    (hit,) = [h for h in check_text(text, default_automaton) if h.entity_id == "ofac-sdn:306"]
    assert hit.matched_text == "B\u200bАNCO NACIONAL DE CUBA"


def test_traditional_chinese_spellings_of_the_founding_names_hit(default_automaton: NameAutomaton) -> None:
    """字節跳動 and 騰訊 (traditional characters) hit like 字节跳动 and 腾讯."""
    assert "us-eo-2020:bytedance" in hit_ids(default_automaton, "香港字節跳動有限公司")
    assert "us-eo-2020:tencent" in hit_ids(default_automaton, "騰訊控股")


@pytest.mark.parametrize(("persian", "arabic"), [("علی", "على"), ("کریمی", "كريمي"), ("فاطمة", "فاطمه")])
def test_arabic_script_letter_variants_fold_together(persian: str, arabic: str) -> None:
    """Persian yeh/keheh, alef maksura and teh marbuta fold like their Arabic counterparts."""
    from matchers.normalize import fold

    assert fold(persian) == fold(arabic)


_LEGAL_PAIRS = [(a, b) for group in LEGAL_EQUIVALENTS for a in group for b in group]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(_LEGAL_PAIRS),
    st.lists(st.sampled_from(["zeta", "wings", "private", "orbital", "nord"]), min_size=1, max_size=3),
)
def test_every_legal_equivalence_holds_both_ways(pair: tuple[str, str], stem: list[str]) -> None:
    """A name listed with one spelling of a legal form has every other spelling among its forms."""
    listed, written = pair
    name = ListedName(" ".join([*stem, listed]).upper())
    assert fold(" ".join([*stem, written])) in name_forms(name, EntityType.ENTITY).forms


def test_legal_forms_compose_inside_joint_stock_forms(default_automaton: NameAutomaton) -> None:
    """`WINGS PRIVATE JOINT STOCK Co.` is the listed WINGS PRIVATE JSC (Co. = Company inside JSC)."""
    assert "ofac-sdn:29052" in hit_ids(
        default_automaton, "WINGS PRIVATE JOINT STOCK Co.", field="creditor.name"
    )
    forms = name_forms(ListedName("WINGS PRIVATE JOINT STOCK COMPANY"), EntityType.ENTITY).forms
    assert {"wings private joint stock co", "wings pvt jsc", "wings private jsc"} <= forms
