"""The console's routes: login, queue, case, allowlist and live pages, and their forms.

Pages need a session (else a redirect to ``/login``); the JSON API beside them keeps its bearer
tokens and never reads the cookie, so a forged cross-site request cannot reach it with a user's
rights. Every form that changes state carries the session's CSRF token; a POST without it is
refused (403) before anything is read. Writes go through the same :class:`ReviewService` calls as
the API, so roles and four-eyes are the server's, whatever the page shows. After a POST the browser
is redirected (303) to a page that shows the outcome in one sentence.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs, urlencode

import jinja2
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from matchers.watchlist import Entity
from schemas.decisions import Scope
from streams.review.console import views
from streams.review.console.live import CHART_HEIGHT, CHART_WIDTH, WorkerScraper
from streams.review.console.sessions import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    SESSION_SECONDS,
    Session,
    Sessions,
    clear_cookie,
    same_token,
    set_cookie,
)
from streams.review.service import CaseAction, Refusal, ReviewService
from streams.review.users import PROPOSERS, Role, User

HERE: Final = Path(__file__).resolve().parent
#: The console's Content-Security-Policy: only the app's own script and styles, no inline script.
CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
CASE_ACTIONS: Final = {a.value: a for a in CaseAction}

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,  # payment text is attacker-controlled: everything is escaped
    undefined=jinja2.Undefined,  # a missing optional field of an event renders as nothing
    trim_blocks=True,
    lstrip_blocks=True,
)
_templates.filters["age"] = views.age_text


class LoginRequired(Exception):
    """No live session: the page redirects to the login form."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


@dataclass
class Console:
    """What the pages need beside the service: sessions, the listed entities, the live scraper."""

    service: ReviewService
    sessions: Sessions = field(default_factory=Sessions)
    scraper: WorkerScraper = field(default_factory=lambda: WorkerScraper(()))
    flashes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    @property
    def entities(self) -> Mapping[str, Entity]:
        """The listed entities of the lists the service uses now, by id."""
        return self.service.lists.entities

    @staticmethod
    def build(service: ReviewService, worker_metrics: tuple[str, ...]) -> Console:
        """The console of ``service``, its scraper started."""
        console = Console(service, scraper=WorkerScraper(worker_metrics))
        console.scraper.start()
        return console

    def flash(self, session: Session, kind: str, text: str) -> None:
        """A one-sentence outcome shown on the next page."""
        self.flashes.setdefault(session.session_id, []).append((kind, text))

    def take_flashes(self, session: Session) -> list[tuple[str, str]]:
        """The outcomes to show now (once)."""
        return self.flashes.pop(session.session_id, [])


def _console(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def page(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A rendered template with the console's security headers."""
    html = _templates.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=PAGE_HEADERS)


def _safe_next(target: str | None) -> str:
    """Only a path of this site (no scheme, no ``//host``) may follow the login."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def signed_in(request: Request) -> tuple[Session, User]:
    """The page's session and user, or LoginRequired."""
    console = _console(request)
    session = console.sessions.get(request.cookies.get(SESSION_COOKIE))
    user = console.service.users.by_name.get(session.user) if session is not None else None
    if session is None or user is None:
        query = f"?{request.url.query}" if request.url.query else ""
        # after signing in, come back to the page (a form's target has no page: the queue then)
        raise LoginRequired(f"{request.url.path}{query}" if request.method == "GET" else "/")
    return session, user


async def form_of(request: Request, session: Session | None) -> dict[str, str]:
    """The posted form (urlencoded); Refusal 403 unless it carries the session's CSRF token."""
    body = (await request.body()).decode("utf-8", errors="replace")
    form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
    if session is None or not same_token(form.get("csrf"), session.csrf):
        raise Refusal(403, "the form has no valid CSRF token: reload the page and try again.")
    return form


def _base(request: Request, session: Session, user: User, title: str, active: str) -> dict[str, Any]:
    return {
        "title": title,
        "active": active,
        "user": user,
        "roles": user.role_names,
        "csrf": session.csrf,
        "flashes": _console(request).take_flashes(session),
    }


router = APIRouter(include_in_schema=False)


# --- login --------------------------------------------------------------------------------------------


@router.get("/login")
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    """The login form (a double-submit CSRF token in a cookie and a field)."""
    return _login_page(request, _safe_next(next))


def _login_page(request: Request, target: str, error: str = "", status_code: int = 200) -> HTMLResponse:
    token = request.cookies.get(LOGIN_COOKIE) or Sessions().create("").csrf
    response = page("login.html", status_code, title="Sign in", next=target, csrf=token, error=error)
    set_cookie(response, request, LOGIN_COOKIE, token, max_age=3600)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the token and open a session (HttpOnly, SameSite=Strict cookie)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
    target = _safe_next(form.get("next"))
    if not same_token(form.get("csrf"), request.cookies.get(LOGIN_COOKIE)):
        return _login_page(request, target, "The form expired: sign in again.", 403)
    console = _console(request)
    user = await run_in_threadpool(console.service.users.authenticate, form.get("token", "").strip())
    if user is None:
        return _login_page(request, target, "That token is not valid.", 401)
    session = console.sessions.create(user.name)
    response = _redirect(target)
    set_cookie(response, request, SESSION_COOKIE, session.session_id, max_age=SESSION_SECONDS)
    clear_cookie(response, request, LOGIN_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session."""
    console = _console(request)
    session = console.sessions.get(request.cookies.get(SESSION_COOKIE))
    await form_of(request, session)
    if session is not None:
        console.sessions.drop(session.session_id)
        console.flashes.pop(session.session_id, None)
    response = _redirect("/login")
    clear_cookie(response, request, SESSION_COOKIE)
    return response


# --- queue --------------------------------------------------------------------------------------------


def _rows(service: ReviewService) -> list[views.QueueRow]:
    rows = []
    for message, decisions in service.state.cases():
        event = message.record.get("event") or {}
        rows.append(views.queue_row(service.case_json(message, decisions), event))
    return rows


@router.get("/")
def queue(request: Request) -> HTMLResponse:
    """Open and pending cases: sort, filter, search; CSV export for approvers."""
    session, user = signed_in(request)
    service = _console(request).service
    query = views.QueueQuery.parse(request.query_params)
    everything = _rows(service)
    rows = views.select(everything, query)
    lists = sorted({lst for row in everything for lst in row.lists})

    def link(**changes: str) -> str:
        return "/?" + urlencode(query.params(**changes))

    def sort_link(key: str) -> str:
        flip = "asc" if query.sort == key and query.descending else "desc"
        return link(sort=key, dir=flip)

    return page(
        "queue.html",
        **_base(request, session, user, "Queue", "queue"),
        rows=rows,
        query=query,
        lists=lists,
        sort_link=sort_link,
        csv_link="/queue.csv?" + urlencode(query.params()),
        can_export=user.has(Role.APPROVER),
        total=len(everything),
    )


@router.get("/queue.csv")
def queue_csv(request: Request) -> Response:
    """The queue's current view as CSV (approvers only)."""
    _session, user = signed_in(request)
    if not user.has(Role.APPROVER):
        return PlainTextResponse(
            f"{user.name} lacks the approver role the CSV export needs.", 403, headers=PAGE_HEADERS
        )
    query = views.QueueQuery.parse(request.query_params)
    rows = views.select(_rows(_console(request).service), query)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(
        views.queue_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={**PAGE_HEADERS, "Content-Disposition": f'attachment; filename="txscreen-queue-{stamp}.csv"'},
    )


# --- a case -------------------------------------------------------------------------------------------


def _buttons(case: Mapping[str, Any], user: User) -> list[tuple[str, str]]:
    """The actions this user may take on the case now: (action, label)."""
    status, proposal = case["status"], case.get("proposal")
    proposer = proposal.get("actor") if proposal else None
    buttons: list[tuple[str, str]] = []
    if status == "open" and user.roles & PROPOSERS:
        buttons += [
            ("propose-release", "Propose release"),
            ("propose-confirm", "Propose confirming the block"),
        ]
    if status == "pending":
        if user.has(Role.APPROVER) and proposer != user.name and user.name not in case.get("approvers", ()):
            buttons.append(("approve", "Approve"))
        if user.has(Role.APPROVER) and proposer != user.name:
            buttons.append(("reject", "Reject the proposal"))
        if proposer == user.name:
            buttons.append(("withdraw", "Withdraw my proposal"))
    return buttons


@router.get("/case/{case_id}")
def case_page(case_id: str, request: Request) -> HTMLResponse:
    """One case: fields with the matched text marked, hits, listed names, history, actions."""
    session, user = signed_in(request)
    console = _console(request)
    service = console.service
    found = service.state.case(case_id)
    if found is None:
        return page(
            "missing.html", 404, **_base(request, session, user, "No such case", "queue"), case_id=case_id
        )
    message, _decisions = found
    case = service.get_case(case_id)
    hits = list(message.record.get("hits") or [])
    event = message.record.get("event") or {}
    listed = {}
    for hit in hits:
        entity = console.entities.get(str(hit.get("entity_id")))
        if entity is not None:
            listed[entity.id] = entity
    return page(
        "case.html",
        **_base(request, session, user, f"Case {case_id}", "queue"),
        case=case,
        event=event,
        amount=views.amount_of(event),
        fields=views.screened_fields(event, hits),
        hits=hits,
        hits_total=message.record.get("hits_total") or len(hits),
        listed=listed,
        four_eyes=views.four_eyes(case, service.settings.approvals),
        buttons=_buttons(case, user),
        decisions=case.get("decisions", []),
    )


@router.post("/case/{case_id}/decide")
async def decide(case_id: str, request: Request) -> Response:
    """One step on a case, with its reason (four-eyes and roles on the server)."""
    session, user = signed_in(request)
    form = await form_of(request, session)
    console = _console(request)
    action = CASE_ACTIONS.get(form.get("action", ""))
    reason = form.get("reason", "").strip()[:2000]
    if action is None:
        console.flash(session, "error", "That is not an action on a case.")
    elif not reason:
        console.flash(session, "error", "Every decision needs a reason: write one and try again.")
    else:
        try:
            result = await run_in_threadpool(console.service.decide, case_id, action, reason, user)
        except Refusal as refusal:
            console.flash(session, "error", refusal.reason)
        else:
            console.flash(session, "ok", f"Case {case_id}: {result['outcome']}.")
    return _redirect(f"/case/{case_id}")


# --- the allowlist ------------------------------------------------------------------------------------


@router.get("/entries")
def entries_page(request: Request) -> HTMLResponse:
    """Allowlist entries with their state, expiry and void reasons; propose, approve and revoke."""
    session, user = signed_in(request)
    service = _console(request).service
    entries = sorted(
        service.list_entries(), key=lambda e: (e["status"] != "pending", e.get("valid_until", ""))
    )
    return page(
        "entries.html",
        **_base(request, session, user, "Allowlist", "entries"),
        entries=entries,
        can_propose=bool(user.roles & PROPOSERS),
        can_approve=user.has(Role.APPROVER),
        scopes=[s.value for s in Scope],
        max_days=service.settings.allow_max_days,
    )


@router.post("/entries")
async def propose_entry(request: Request) -> Response:
    """Propose an entry (a second user approves it)."""
    session, user = signed_in(request)
    form = await form_of(request, session)
    console = _console(request)
    try:
        scope = Scope(form.get("scope", Scope.ANY.value))
        result = await run_in_threadpool(
            lambda: console.service.propose_entry(
                user,
                entity_id=form.get("entity_id", "").strip()[:200],
                name=form.get("name", "").strip()[:500] or None,
                account=form.get("account", "").strip()[:200] or None,
                scope=scope,
                valid_until=form.get("valid_until", "").strip()[:64],
                reason=form.get("reason", "").strip()[:2000],
            )
        )
    except Refusal as refusal:
        console.flash(session, "error", refusal.reason)
    except ValueError:
        console.flash(session, "error", "The scope must be debtor, creditor or any.")
    else:
        console.flash(
            session, "ok", f"Entry {result['entry']['entry_id']} proposed: a second approver approves it."
        )
    return _redirect("/entries")


@router.post("/entries/{entry_id}/{verb}")
async def decide_entry(entry_id: str, verb: str, request: Request) -> Response:
    """Approve or revoke an entry, with a reason."""
    session, user = signed_in(request)
    form = await form_of(request, session)
    console = _console(request)
    reason = form.get("reason", "").strip()[:2000]
    call = {"approve": console.service.approve_entry, "revoke": console.service.revoke_entry}.get(verb)
    if call is None:
        console.flash(session, "error", "That is not an action on an entry.")
    elif not reason:
        console.flash(session, "error", "Every decision needs a reason: write one and try again.")
    else:
        try:
            result = await run_in_threadpool(call, entry_id, user, reason)
        except Refusal as refusal:
            console.flash(session, "error", refusal.reason)
        else:
            console.flash(session, "ok", f"Entry {entry_id}: {result['outcome']}.")
    return _redirect("/entries")


# --- live ---------------------------------------------------------------------------------------------


@router.get("/live")
def live(request: Request) -> HTMLResponse:
    """Counts per verdict, the 15-minute rate, dead letters, lag, lists, workers; refreshes by itself."""
    session, user = signed_in(request)
    console = _console(request)
    view = console.scraper.view()
    cases: dict[str, int] = {}
    for case in console.service.list_cases():
        cases[str(case["status"])] = cases.get(str(case["status"]), 0) + 1
    now = time.time()
    return page(
        "live.html",
        **_base(request, session, user, "Live", "live"),
        view=view,
        cases=cases,
        now=now,
        chart_width=CHART_WIDTH,
        chart_height=CHART_HEIGHT,
    )


def install(app: FastAPI, service: ReviewService, worker_metrics: tuple[str, ...]) -> None:
    """Add the console to the review app: its pages, its static files, the login redirect."""
    app.state.console = Console.build(service, worker_metrics)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(router)

    @app.exception_handler(LoginRequired)
    async def to_login(_request: Request, exc: LoginRequired) -> Response:
        return _redirect("/login?" + urlencode({"next": exc.path}))

    @app.middleware("http")
    async def static_headers(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        if request.url.path.startswith("/static/"):
            response.headers["Content-Security-Policy"] = CSP
            response.headers["Cache-Control"] = "no-cache"
        return response
