"""``--fuzzy on|off`` and ``--fuzzy-lists``: flags, environment variables, defaults, errors."""

from __future__ import annotations

import argparse

import pytest

from schemas.errors import ConfigError
from streams.lists import load_automaton
from streams.settings import FuzzyChoice, add_fuzzy_arguments, fuzzy_choice


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_fuzzy_arguments(parser)
    return parser.parse_args(argv)


def test_fuzzy_is_on_for_every_list_by_default() -> None:
    """No flag and no environment variable: the fuzzy tier is on, for every list."""
    assert fuzzy_choice(_parse(), {}) == FuzzyChoice(on=True, lists=None)


def test_flag_beats_environment() -> None:
    """`--fuzzy off` wins over TXSCREEN_FUZZY=on; the env var applies without the flag."""
    assert not fuzzy_choice(_parse("--fuzzy", "off"), {"TXSCREEN_FUZZY": "on"}).on
    assert not fuzzy_choice(_parse(), {"TXSCREEN_FUZZY": "OFF"}).on
    assert fuzzy_choice(_parse(), {"TXSCREEN_FUZZY_LISTS": "ofac-sdn, un"}).lists == ("ofac-sdn", "un")


def test_bad_value_is_a_config_error() -> None:
    """`--fuzzy maybe` is one clear sentence (a ConfigError), not a traceback."""
    with pytest.raises(ConfigError, match="--fuzzy must be 'on' or 'off'"):
        fuzzy_choice(_parse("--fuzzy", "maybe"), {})


def test_unknown_fuzzy_list_stops_the_load() -> None:
    """A --fuzzy-lists id that is not a loaded list stops the command before anything is screened."""
    with pytest.raises(ConfigError, match="--fuzzy-lists names nope"):
        load_automaton(["builtin"], fuzzy=FuzzyChoice(lists=("nope",)), report=None)


def test_fuzzy_lists_limit_the_tier() -> None:
    """With --fuzzy-lists, only those lists' names are in the fuzzy tier."""
    automaton = load_automaton(["builtin"], fuzzy=FuzzyChoice(lists=("us-eo-2020",)), report=None)
    assert automaton.fuzzy_name_count > 0
    off = load_automaton(["builtin"], fuzzy=FuzzyChoice(on=False), report=None)
    assert off.fuzzy_name_count == 0
    assert off.anchor_count == 0
