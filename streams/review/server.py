"""``txscreen review serve``: check the users file and lists, fence older instances, rebuild, then serve.

Start-up, in order, each failure one sentence and exit 2 before anything is served:

1. the users file (parses, known roles, at least one user) and the watchlists load;
2. the topics exist;
3. with ``--watchlist-topic``: the newest version of the topic that builds is built, waiting (serving
   nothing, fencing nobody) until there is one; SIGTERM meanwhile is a clean stop (exit 0);
4. the transactional id is registered (``init_transactions``): an older instance is fenced and any
   transaction it left open is aborted;
5. the blocked and decisions topics are read to their end (read_committed): the cases;
6. uvicorn serves the app; the follower keeps reading both topics, and the watchlist follower the
   watchlist topic: each new version replaces the lists in use (:meth:`ReviewService.use_lists`), so
   case pages show its names and allowlist entries are judged (void or not) against its hashes.

Fail closed: until the first version is built nothing is served, so nothing is written; a version that
does not build is skipped and the last good one stays (the follower's rule).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

import uvicorn
from confluent_kafka.admin import AdminClient

from matchers.automaton import NameAutomaton
from schemas.errors import TxscreenError
from streams.kafka.clients import admin_config, new_client
from streams.kafka.topics import require_topics
from streams.lists import load_automaton
from streams.review.app import create_app
from streams.review.config import ReviewSettings
from streams.review.follow import ReviewFollower
from streams.review.lists import ServiceLists
from streams.review.service import ReviewService
from streams.review.state import ReviewState
from streams.review.users import load_users
from streams.review.writer import Fenced, TransactionalWriter
from streams.watchlists.follower import Swap, WatchlistFollower, wait_first_version

log = logging.getLogger(__name__)


class StoppedWaiting(TxscreenError):
    """SIGTERM or SIGINT came while the service waited for its first watchlist version."""


def _leave(fenced: Fenced) -> None:
    """Another instance took over: answer the call in hand, then leave at once (exit 2)."""
    log.error("%s Stopping.", fenced)
    threading.Timer(0.5, os._exit, args=(2,)).start()


def build_service(
    settings: ReviewSettings, *, on_fenced: Callable[[Fenced], None] = _leave
) -> tuple[ReviewService, ReviewFollower]:
    """Steps 1 to 5 above: the service over a state rebuilt from the topics, and its running follower.

    ``on_fenced`` runs when another instance took over (by default: leave the process, exit 2).
    """
    users = load_users(settings.users_file)
    topics = settings.kafka.topics
    lists: WatchlistFollower | None = None
    if settings.watchlist_topic is None:
        loaded = load_automaton(settings.watchlists or None)
        first = ServiceLists.of(loaded.version, loaded.watchlists)
    require_topics(
        new_client(AdminClient, admin_config(settings.kafka)),
        [topics.blocked, topics.cleared, topics.decisions, topics.confirmed, topics.allowlist],
    )
    if settings.watchlist_topic is not None:
        lists = WatchlistFollower(settings.kafka, settings.watchlist_topic).start()
        automaton = wait_first_version(lists)  # fail closed: nothing served, nobody fenced until then
        if automaton is None:
            lists.close()
            raise StoppedWaiting("stopped while waiting for a watchlist version: nothing was served.")
        first = _lists_of(automaton, lists.swaps[-1] if lists.swaps else None)
    writer = TransactionalWriter(settings.kafka, settings.transactional_id, on_fenced=on_fenced)
    writer.start()
    state = ReviewState()
    follower = ReviewFollower(settings.kafka, state)
    follower.start()
    follower.wait_caught_up()
    log.info("rebuilt %d cases from %s and %s", len(state.blocked), topics.blocked, topics.decisions)
    service = ReviewService(
        settings,
        state,
        writer=writer,
        users=users,
        entity_hashes={},
        watchlist_version=first.version,
    )
    service.use_lists(first)
    if lists is not None:
        following = lists
        service.list_follower = following

        def swap(built: NameAutomaton, swapped: Swap) -> None:
            service.use_lists(_lists_of(built, swapped))

        following.on_swap = swap
        if following.current is not None and following.current.version != first.version:
            swap(following.current, following.swaps[-1])  # built while the state was being rebuilt
    return service, follower


def _lists_of(automaton: NameAutomaton, swapped: Swap | None) -> ServiceLists:
    return ServiceLists.of(
        automaton.version,
        automaton.watchlists,
        published_at=swapped.published_at if swapped is not None else None,
    )


def serve(settings: ReviewSettings) -> int:
    """Run the service until stopped (SIGTERM/SIGINT)."""
    try:
        service, follower = build_service(settings)
    except StoppedWaiting as stopped:
        log.info("%s", stopped)
        return 0
    app = create_app(service)
    log.info("review service on http://%s:%d (OpenAPI at /openapi.json)", settings.host, settings.port)
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False)
    finally:
        follower.stop()
        if service.list_follower is not None:
            service.list_follower.close()
        service.writer.close()
    return 0
