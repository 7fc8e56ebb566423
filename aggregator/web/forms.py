"""Readers' POST forms without JavaScript: reading them safely, checking their CSRF token,
and the small forms (one button each) that pages show.

    form = await read_form(request)           # url-encoded, size-capped; 400/413/415
    user = checked_reader(request, form)      # the session's reader, or 403: nothing changes
    button("/read", {"story": sid}, "Mark read", request, back)

Every form carries ``csrf``, an HMAC of the session token (:func:`session.form_token`);
``next`` says where to go afterwards and is kept to paths on this server, so a form can
never send a reader elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import parse_qs

from starlette.exceptions import HTTPException
from starlette.requests import Request

from aggregator.store import Account
from aggregator.web.safety import text
from aggregator.web.session import form_token, reader, same_token

Form = Mapping[str, list[str]]

MAX_FORM_BYTES = 64 * 1024  # "mark all on this page read" sends at most 200 story ids
MAX_FIELDS = 500
FORM_TYPE = "application/x-www-form-urlencoded"
EXPIRED = (
    "This form has expired or did not come from this site, so nothing was changed. "
    "Reload the page and try again."
)


async def read_form(request: Request) -> Form:
    """The fields of a url-encoded POST body (what HTML forms send)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != FORM_TYPE:
        raise HTTPException(415, f"expected a form ({FORM_TYPE})")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise HTTPException(413, f"the form is larger than {MAX_FORM_BYTES // 1024} KB")
    try:
        return parse_qs(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400, "the form could not be read") from None


def field(form: Form, name: str, default: str = "") -> str:
    values = form.get(name)
    return values[0] if values else default


def checked_reader(request: Request, form: Form) -> Account:
    """The reader whose session sent this form; 403 (and no change) when the form's token is
    missing or is not this session's."""
    user = reader(request)
    if user is None:
        raise HTTPException(403, "You are not logged in (or your session ended): log in again.")
    if not same_token(form_token(request), field(form, "csrf")):
        raise HTTPException(403, EXPIRED)
    return user


def local_path(value: str, default: str = "/") -> str:
    """``value`` when it is a path on this server, else ``default`` (no open redirect)."""
    value = value.strip()
    if (
        not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(c) < 32 or c == "\x7f" for c in value)
    ):
        return default
    return value


def here(request: Request) -> str:
    """This page's path and query: where a form on it comes back to."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def hidden(fields: Mapping[str, str | Sequence[str]]) -> str:
    out = []
    for name, value in fields.items():
        for one in [value] if isinstance(value, str) else value:
            out.append(f'<input type="hidden" name="{text(name)}" value="{text(one)}">')
    return "".join(out)


def button(
    action: str,
    fields: Mapping[str, str | Sequence[str]],
    label: str,
    request: Request,
    back: str,
    *,
    cls: str = "act",
    title: str = "",
) -> str:
    """A form that is one button: POST ``fields`` (with the CSRF token) to ``action``."""
    tip = f' title="{text(title)}"' if title else ""
    return (
        f'<form class="{text(cls)}" method="post" action="{text(action)}">'
        + hidden({**fields, "csrf": form_token(request), "next": back})
        + f'<button type="submit"{tip}>{text(label)}</button></form>'
    )
