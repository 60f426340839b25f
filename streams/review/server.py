"""``txscreen review serve``: check the users file and lists, fence older instances, rebuild, then serve.

Start-up, in order, each failure one sentence and exit 2 before anything is served:

1. the users file (parses, known roles, at least one user) and the watchlists load;
2. the topics exist;
3. the transactional id is registered (``init_transactions``): an older instance is fenced and any
   transaction it left open is aborted;
4. the blocked and decisions topics are read to their end (read_committed): the cases;
5. uvicorn serves the app; the follower keeps reading both topics.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

import uvicorn
from confluent_kafka.admin import AdminClient

from matchers.allowlist import entity_hashes
from streams.kafka.clients import admin_config, new_client
from streams.kafka.topics import require_topics
from streams.lists import load_automaton
from streams.review.app import create_app
from streams.review.config import ReviewSettings
from streams.review.follow import ReviewFollower
from streams.review.service import ReviewService
from streams.review.state import ReviewState
from streams.review.users import load_users
from streams.review.writer import Fenced, TransactionalWriter

log = logging.getLogger(__name__)


def _leave(fenced: Fenced) -> None:
    """Another instance took over: answer the call in hand, then leave at once (exit 2)."""
    log.error("%s Stopping.", fenced)
    threading.Timer(0.5, os._exit, args=(2,)).start()


def build_service(
    settings: ReviewSettings, *, on_fenced: Callable[[Fenced], None] = _leave
) -> tuple[ReviewService, ReviewFollower]:
    """Steps 1 to 4 above: the service over a state rebuilt from the topics, and its running follower.

    ``on_fenced`` runs when another instance took over (by default: leave the process, exit 2).
    """
    users = load_users(settings.users_file)
    automaton = load_automaton(settings.watchlists or None)
    topics = settings.kafka.topics
    require_topics(
        new_client(AdminClient, admin_config(settings.kafka)),
        [topics.blocked, topics.cleared, topics.decisions, topics.confirmed, topics.allowlist],
    )
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
        entity_hashes=entity_hashes(automaton.watchlists),
        watchlist_version=automaton.version,
    )
    service.watchlists = automaton.watchlists
    return service, follower


def serve(settings: ReviewSettings) -> int:
    """Run the service until stopped (SIGTERM/SIGINT)."""
    service, follower = build_service(settings)
    app = create_app(service)
    log.info("review service on http://%s:%d (OpenAPI at /openapi.json)", settings.host, settings.port)
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False)
    finally:
        follower.stop()
        service.writer.close()
    return 0
