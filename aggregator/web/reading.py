"""What a logged-in reader sees and does on the pages: unread counts, marking stories read,
stars, the unread-only front page and the starred list.

    POST /read     story=ID (repeatable) read=1|0   mark stories read (or unread again)
    POST /star     article=ID star=1|0               star or unstar an article
    GET  /starred                                    the reader's starred articles

The rules are the store's (:mod:`aggregator.store.accounts`): reading a story marks the
articles it holds now, so one that joins it later counts as unread; wire copies share their
original's marks. Every POST is a plain form with the session's CSRF token and comes back to
the page it was sent from (303), so the counts a reader sees are always fresh.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from aggregator.errors import AccountError, StorageError
from aggregator.store import Account
from aggregator.store.sqlite import SqliteStore
from aggregator.types import StoredArticle, StoryRecord
from aggregator.web.forms import Form, button, checked_reader, here, local_path, read_form
from aggregator.web.forms import field as form_field
from aggregator.web.html import layout, plural, story_href, time_tag
from aggregator.web.queries import MAX_LIMIT, open_store, paging
from aggregator.web.responses import context
from aggregator.web.safety import outbound_link, text
from aggregator.web.session import reader, writer

STARRED_PAGE = 30
NO_STORE = "This server cannot save readers' marks: its storage is read-only or unavailable."


# ---------------------------------------------------------------------- what pages show
@dataclass(frozen=True)
class ReaderMarks:
    """One reader's marks on what a page shows, and the forms that change them; without a
    reader every fragment is empty, so anonymous pages stay as they were."""

    request: Request | None = None
    unread: dict[str, int] = field(default_factory=dict)  # per story
    read: frozenset[int] = frozenset()  # article ids
    starred: frozenset[int] = frozenset()

    def _button(self, action: str, fields: Mapping[str, str | Sequence[str]], label: str) -> str:
        assert self.request is not None
        return button(action, fields, label, self.request, here(self.request))

    def card(self, story_id: str, cls: str = "reading") -> str:
        """A front-page card's line: unread count and a button to mark the story read."""
        if self.request is None:
            return ""
        n = self.unread.get(story_id, 0)
        if n:
            state, label = f'<span class="unread">{n} unread</span>', "Mark read"
        else:
            state, label = '<span class="done">Read</span>', "Mark unread"
        change = {"story": story_id, "read": "1" if n else "0"}
        return f'<div class="{cls}">{state}{self._button("/read", change, label)}</div>'

    def page(self, story_ids: Sequence[str]) -> str:
        """A button that marks every story of this page read."""
        if self.request is None or not any(self.unread.get(s) for s in story_ids):
            return ""
        return self._button(
            "/read", {"story": list(story_ids), "read": "1"}, "Mark all on this page read"
        )

    def story(self, story_id: str) -> str:
        """The story page's line: how many articles are unread, mark the story (un)read."""
        return self.card(story_id, "reading story")

    def article(self, article: StoredArticle) -> str:
        """An article's state on the story page: unread, and a star to toggle."""
        if self.request is None:
            return ""
        new = "" if article.id in self.read else '<span class="unread">Unread</span>'
        on = article.id in self.starred
        star = self._button(
            "/star",
            {"article": str(article.id), "star": "0" if on else "1"},
            "★ Starred" if on else "☆ Star",
        )
        return f'<div class="reading">{new}{star}</div>'


def reader_marks(
    request: Request,
    store: SqliteStore,
    story_ids: Sequence[str] = (),
    article_ids: Sequence[int] = (),
) -> ReaderMarks:
    user = reader(request)
    if user is None:
        return ReaderMarks()
    return ReaderMarks(
        request,
        store.story_unread_counts(user, story_ids) if story_ids else {},
        frozenset(store.read_ids(user, article_ids)) if article_ids else frozenset(),
        frozenset(store.starred_ids(user, article_ids)) if article_ids else frozenset(),
    )


def unread_only(request: Request) -> bool:
    """Whether the front page shows only stories with unread articles (``?unread=1``)."""
    return request.query_params.get("unread") == "1" and reader(request) is not None


def keep_unread(
    store: SqliteStore, user: Account
) -> Callable[[list[StoryRecord]], list[StoryRecord]]:
    """A filter of a story list down to the stories with articles ``user`` has not read."""

    def keep(records: list[StoryRecord]) -> list[StoryRecord]:
        counts = store.story_unread_counts(user, [r.id for r in records])
        return [r for r in records if counts.get(r.id)]

    return keep


# ---------------------------------------------------------------------- the forms' targets
async def mark_read(request: Request) -> Response:
    form = await read_form(request)
    return await run_in_threadpool(_mark_read, request, form)


def _mark_read(request: Request, form: Form) -> Response:
    user = checked_reader(request, form)
    stories = [s for s in form.get("story", []) if s.strip()]
    if not stories:
        raise HTTPException(400, "story: which story to mark?")
    if len(stories) > MAX_LIMIT:
        raise HTTPException(400, f"story: at most {MAX_LIMIT} stories at once")
    read = form_field(form, "read", "1") != "0"
    known = 0
    try:
        with writer(context(request).storage) as store, store.atomic():
            for story_id in stories:
                try:
                    store.mark_story_read(user, story_id, read)
                    known += 1
                except AccountError:  # expired since the page was shown: nothing to mark
                    continue
    except StorageError as exc:
        raise HTTPException(503, NO_STORE) from exc
    if not known:
        raise HTTPException(404, "No such story. It may have expired from the store.")
    return RedirectResponse(local_path(form_field(form, "next")), status_code=303)


async def star(request: Request) -> Response:
    form = await read_form(request)
    return await run_in_threadpool(_star, request, form)


def _star(request: Request, form: Form) -> Response:
    user = checked_reader(request, form)
    try:
        article_id = int(form_field(form, "article"))
    except ValueError:
        raise HTTPException(400, "article: expected an article number") from None
    try:
        with writer(context(request).storage) as store:
            store.mark_starred(user, [article_id], form_field(form, "star", "1") != "0")
    except StorageError as exc:
        raise HTTPException(503, NO_STORE) from exc
    return RedirectResponse(local_path(form_field(form, "next")), status_code=303)


# ---------------------------------------------------------------------- starred
def starred_page(request: Request) -> Response:
    user = reader(request)
    if user is None:
        return RedirectResponse("/login?next=/starred", status_code=303)
    ctx = context(request)
    limit, offset = paging(request.query_params, default_limit=STARRED_PAGE, pages=True)
    now = ctx.now()
    with open_store(ctx.storage) as store:
        articles, total = store.starred_articles(user, limit=limit, offset=offset)
        marks = reader_marks(request, store, (), [a.id for a in articles])
    items = "".join(_starred_item(a, marks, now) for a in articles)
    if not items:
        items = (
            '<p class="empty">Nothing starred yet. Star an article on its story page '
            "to keep it here.</p>"
        )
    body = (
        '<h1 class="story">Starred</h1>'
        f'<p class="status">{plural(total, "starred article")}</p>{items}'
        f"{_pager(offset, limit, total)}"
    )
    return layout(request, "Starred", body)


def _starred_item(a: StoredArticle, marks: ReaderMarks, now: datetime) -> str:
    story = (
        f' · <a href="{text(story_href(a.story_id))}#article-{a.id}">its story</a>'
        if a.story_id
        else ""
    )
    return (
        f'<article class="item" id="article-{a.id}">'
        f"<h3>{outbound_link(a.url, a.title)}</h3>"
        f'<p class="meta"><strong>{text(a.source or "unknown")}</strong> · '
        f"{time_tag(a.published or a.fetched, now)}{story}</p>{marks.article(a)}</article>"
    )


def _pager(offset: int, limit: int, total: int) -> str:
    if total <= limit:
        return ""
    number = offset // limit + 1
    links: Iterable[str] = (
        f'<a rel="prev" href="/starred?page={number - 1}">← Newer</a>'
        if number > 1
        else "<span></span>",
        f'<span class="here">Page {number} of {(total + limit - 1) // limit}</span>',
        f'<a rel="next" href="/starred?page={number + 1}">Older →</a>'
        if offset + limit < total
        else "<span></span>",
    )
    return f'<nav class="pager">{"".join(links)}</nav>'


ROUTES = [
    Route("/read", mark_read, methods=["POST"]),
    Route("/star", star, methods=["POST"]),
    Route("/starred", starred_page, methods=["GET"]),
]
