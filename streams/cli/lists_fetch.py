"""``txscreen lists fetch SOURCE... --out DIR``: download the official list files, verify them, install them.

SOURCE is ``ofac``, ``un``, ``eu-fsf`` or ``opensanctions:DATASET`` (:mod:`streams.feeds.sources`).
Exit status: 0 when every feed was fetched, verified and installed (one line each on stdout saying
what changed); 2 with one sentence on stderr when any failed, in which case nothing was installed and
the previous copies are kept (:mod:`streams.feeds.fetch`).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from schemas.errors import ConfigError
from streams.feeds.fetch import FetchSettings, fetch
from streams.feeds.sources import EU_FSF_URL, OFAC_URL, OPENSANCTIONS_URL, UN_URL, FeedUrls, parse_feeds
from streams.settings import Setting


def _fetch_seconds(raw: str, where: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value <= 86_400:
        raise ConfigError(f"{where} must be a number of seconds above 0 and at most 86400, not {raw!r}.")
    return value


def _percent(raw: str, where: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 100:
        raise ConfigError(f"{where} must be a percentage from 0 to 100, not {raw!r}.")
    return value


def _url(raw: str, where: str) -> str:
    value = raw.strip()
    if not value.startswith(("https://", "http://")):
        raise ConfigError(f"{where} must be an https:// URL, not {raw!r}.")
    return value


FETCH_OUT = Setting(
    "out",
    "--out",
    "TXSCREEN_LISTS_DIR",
    None,
    "folder the fetched lists are installed in (required)",
    metavar="DIR",
)
FETCH_TIMEOUT = Setting(
    "timeout",
    "--timeout",
    "TXSCREEN_FETCH_TIMEOUT",
    600.0,
    "seconds one file's whole download may take",
    parse=_fetch_seconds,
    metavar="SECONDS",
)
FETCH_MAX_SHRINK = Setting(
    "max_shrink",
    "--max-shrink",
    "TXSCREEN_FETCH_MAX_SHRINK",
    10.0,
    "largest drop in a list's entity count from the previous copy, in percent, that is accepted",
    parse=_percent,
    metavar="PERCENT",
)
OFAC_FEED_URL = Setting(
    "ofac_url",
    "--ofac-url",
    "TXSCREEN_OFAC_URL",
    OFAC_URL,
    "where OFAC's SDN.CSV, ALT.CSV, ADD.CSV and SDN_COMMENTS.CSV are fetched from (a URL prefix)",
    parse=_url,
    metavar="URL",
)
UN_FEED_URL = Setting(
    "un_url",
    "--un-url",
    "TXSCREEN_UN_URL",
    UN_URL,
    "the UN Security Council Consolidated List XML",
    parse=_url,
    metavar="URL",
)
EU_FSF_FEED_URL = Setting(
    "eu_fsf_url",
    "--eu-fsf-url",
    "TXSCREEN_EU_FSF_URL",
    EU_FSF_URL,
    "the EU Financial Sanctions Files XML 1.1",
    parse=_url,
    metavar="URL",
)
OPENSANCTIONS_FEED_URL = Setting(
    "opensanctions_url",
    "--opensanctions-url",
    "TXSCREEN_OPENSANCTIONS_URL",
    OPENSANCTIONS_URL,
    "OpenSanctions FtM export; `{dataset}` is replaced by the dataset name",
    parse=_url,
    metavar="URL",
)
FETCH_TABLE_SETTINGS: tuple[Setting, ...] = (
    FETCH_OUT,
    FETCH_TIMEOUT,
    FETCH_MAX_SHRINK,
    OFAC_FEED_URL,
    UN_FEED_URL,
    EU_FSF_FEED_URL,
    OPENSANCTIONS_FEED_URL,
)


def add_fetch_verb(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``fetch`` to the ``txscreen lists`` verbs."""
    parser = verbs.add_parser(
        "fetch",
        help="download the official list files over HTTPS, verify them and install them in --out",
        description="Download each SOURCE (ofac, un, eu-fsf, opensanctions:DATASET) from its publisher, load "
        "it with the reader --watchlist uses, check it has entities and has not shrunk by more than "
        "--max-shrink percent, then install all of them in --out and print what changed. If any fails, "
        "nothing is installed and the previous copies are kept (exit 2). Proxy variables are honoured.",
    )
    parser.add_argument(
        "sources", nargs="+", metavar="SOURCE", help="ofac, un, eu-fsf or opensanctions:DATASET"
    )
    for setting in FETCH_TABLE_SETTINGS:
        setting.add_to(parser)
    parser.set_defaults(handler=_run_fetch)


def fetch_settings(args: argparse.Namespace, environ: dict[str, str]) -> FetchSettings:
    """The run's settings from the flags, falling back to ``environ`` and the defaults."""
    out = FETCH_OUT.value(args, environ)
    if not out:
        raise ConfigError(
            "--out DIR (or TXSCREEN_LISTS_DIR) is required: the folder the lists are installed in."
        )
    urls = FeedUrls(
        ofac=OFAC_FEED_URL.value(args, environ),
        un=UN_FEED_URL.value(args, environ),
        eu_fsf=EU_FSF_FEED_URL.value(args, environ),
        opensanctions=OPENSANCTIONS_FEED_URL.value(args, environ),
    )
    return FetchSettings(
        out=Path(out),
        feeds=parse_feeds(list(args.sources), urls),
        timeout=FETCH_TIMEOUT.value(args, environ),
        max_shrink=FETCH_MAX_SHRINK.value(args, environ),
    )


def _run_fetch(args: argparse.Namespace) -> int:
    settings = fetch_settings(args, dict(os.environ))
    for result in fetch(settings):
        print(result.describe(), flush=True)
    return 0
