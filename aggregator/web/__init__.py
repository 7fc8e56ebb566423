"""The readers' HTTP server: web pages, a JSON API, subscribable feeds, and the APIs of the
readers' own apps. Read-only but for readers' logins and their marks (read, starred).

    app.py      create_app(), serve(): every URL, security headers, the uvicorn runner
    queries.py  request parameters -> validated filters; the store reads one request needs
    html.py     what every HTML page shares: layout, error page, times, plurals
    pages.py    HTML pages: front page, sources, API overview
    story.py    the story page: timeline, coverage, why each article is here
    auth.py     the password check and the limiter on failed logins
    session.py  session cookies, CSRF tokens, the gate of a private server (public: false)
    forms.py    readers' POST forms: reading them, checking their token, one-button forms
    login.py    /login and /logout
    reading.py  unread counts, mark read, stars, the unread-only and starred views
    api.py      the JSON API
    openapi.py  its OpenAPI description
    feeds.py    Atom, RSS 2.0 and JSON Feed of stories, per filter
    safety.py   sanitising and URL checks for everything that came from a feed
    greader/    the Google Reader API at /greader/ (NetNewsWire, Reeder, newsboat, ...)
    fever.py    the Fever API at /fever/
    app_calls.py  what those two share: bounded parameters, the store per call
    auth.py     the password check and the failed-login limiter
    style.py    the stylesheet (served from /static: the CSP forbids inline styles)

Handlers are synchronous: Starlette runs them in its thread pool, and each request opens its
own read-only SQLite connection, so a slow query never blocks the event loop (or the daemon
sharing it) and connections never cross threads.
"""

from aggregator.web.app import create_app, serve, serve_until_signalled

__all__ = ["create_app", "serve", "serve_until_signalled"]
