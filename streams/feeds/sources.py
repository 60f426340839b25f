"""The official feeds ``txscreen lists fetch`` knows, their publishers' URLs and where each copy lands.

A feed is named on the command line as ``ofac``, ``un``, ``eu-fsf`` or ``opensanctions:DATASET``
(any OpenSanctions dataset or collection, e.g. ``opensanctions:gb_fcdo_sanctions`` for the UK list).
Each lands in its own place under ``--out DIR``, which is what ``--watchlist`` and ``lists publish``
are given afterwards:

* ``ofac`` → ``DIR/ofac-sdn/`` holding ``sdn.csv``, ``alt.csv``, ``add.csv``, ``sdn_comments.csv``;
* ``un`` → ``DIR/un/consolidated.xml``;
* ``eu-fsf`` → ``DIR/eu-fsf/export.xml``;
* ``opensanctions:DATASET`` → ``DIR/opensanctions-DATASET/entities.ftm.json``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from schemas.errors import ConfigError

#: OFAC's Sanctions List Service serves the legacy CSV set under this prefix (file names upper case).
OFAC_URL: Final = "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/"
OFAC_FILES: Final = (("SDN.CSV", "sdn.csv"), ("ALT.CSV", "alt.csv"), ("ADD.CSV", "add.csv"))
OFAC_OPTIONAL: Final = (("SDN_COMMENTS.CSV", "sdn_comments.csv"),)
UN_URL: Final = "https://scsanctions.un.org/resources/xml/en/consolidated.xml"
#: The EU's Financial Sanctions Files, XML 1.1; the token is the public one the EU's download page uses.
EU_FSF_URL: Final = (
    "https://webgate.ec.europa.eu/fsd/fsf/public/files/xmlFullSanctionsList_1_1/content?token=dG9rZW4tMjAxNw"
)
OPENSANCTIONS_URL: Final = "https://data.opensanctions.org/datasets/latest/{dataset}/entities.ftm.json"
OPENSANCTIONS_PREFIX: Final = "opensanctions:"
_DATASET: Final = re.compile(r"[a-z0-9][a-z0-9_]{0,99}")
KNOWN: Final = "ofac, un, eu-fsf or opensanctions:DATASET"


@dataclass(frozen=True, slots=True)
class FeedUrls:
    """Where each publisher's files are fetched from (the defaults, or mirrors given by flag or env)."""

    ofac: str = OFAC_URL
    un: str = UN_URL
    eu_fsf: str = EU_FSF_URL
    opensanctions: str = OPENSANCTIONS_URL


@dataclass(frozen=True, slots=True)
class FeedFile:
    """One file of a feed: its URL and its name in the feed's folder; optional files may be missing (404)."""

    url: str
    name: str
    optional: bool = False


@dataclass(frozen=True, slots=True)
class Feed:
    """One feed: its name, its files, and the folder (``folder`` true) or file it installs as."""

    name: str
    files: tuple[FeedFile, ...]
    place: str
    folder: bool

    def target(self, out: Path) -> Path:
        """What is installed under ``out`` and given to ``--watchlist``: the folder or the single file."""
        return out / self.place if self.folder else out / self.place / self.files[0].name


def parse_feed(token: str, urls: FeedUrls) -> Feed:
    """The feed a command-line SOURCE names; ConfigError for an unknown one."""
    name = token.strip()
    if name == "ofac":
        base = urls.ofac if urls.ofac.endswith("/") else urls.ofac + "/"
        files = [FeedFile(base + remote, local) for remote, local in OFAC_FILES]
        files += [FeedFile(base + remote, local, optional=True) for remote, local in OFAC_OPTIONAL]
        return Feed(name, tuple(files), "ofac-sdn", folder=True)
    if name == "un":
        return Feed(name, (FeedFile(urls.un, "consolidated.xml"),), "un", folder=False)
    if name == "eu-fsf":
        return Feed(name, (FeedFile(urls.eu_fsf, "export.xml"),), "eu-fsf", folder=False)
    if name.startswith(OPENSANCTIONS_PREFIX):
        dataset = name.removeprefix(OPENSANCTIONS_PREFIX)
        if not _DATASET.fullmatch(dataset):
            raise ConfigError(
                f"{token!r}: an OpenSanctions dataset name is lower case letters, digits and '_'."
            )
        url = urls.opensanctions.replace("{dataset}", dataset)
        return Feed(name, (FeedFile(url, "entities.ftm.json"),), f"opensanctions-{dataset}", folder=False)
    raise ConfigError(f"unknown feed {token!r}; expected {KNOWN}.")


def parse_feeds(tokens: list[str], urls: FeedUrls) -> tuple[Feed, ...]:
    """Every SOURCE given, each once."""
    feeds: dict[str, Feed] = {}
    for token in tokens:
        feed = parse_feed(token, urls)
        if feed.name in feeds:
            raise ConfigError(f"feed {feed.name!r} is given twice.")
        feeds[feed.name] = feed
    if not feeds:
        raise ConfigError(f"no feed given; expected {KNOWN}.")
    return tuple(feeds.values())
