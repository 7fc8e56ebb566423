"""Headless Chromium driven over the DevTools protocol, for tests that click and type.

Chromium's ``--remote-debugging-pipe`` speaks the protocol over file descriptors 3 (commands
in) and 4 (answers and events out), one JSON message per NUL byte: no WebSocket library and
no port. The page is driven as a reader would drive it: keys typed into focused inputs,
mouse clicks at a button's place on the screen. Nothing runs script inside the page.

    with Chromium(profile) as browser:
        browser.open(url + "/login")
        browser.type_into('input[name="name"]', "alice")
        browser.click("form.login button")      # waits for the next page to load
        html = browser.html()
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import subprocess
import time
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
# a headless Chromium that contacts nothing but the pages it is given
HEADLESS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
DEADLINE = 60.0  # seconds: a safety net for a hung browser, never a timing assertion


def _high(fds: tuple[int, int]) -> tuple[int, int]:
    """The pipe's ends moved to descriptors above 9, clear of the 3 and 4 they become."""
    moved = tuple(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in fds)
    for fd in fds:
        os.close(fd)
    return moved[0], moved[1]


class Chromium:
    def __init__(self, profile: Path, *, size: tuple[int, int] = (1100, 1600)) -> None:
        commands_r, self._commands = _high(os.pipe())
        self._answers, answers_w = _high(os.pipe())
        args = [
            *HEADLESS,
            f"--window-size={size[0]},{size[1]}",
            f"--user-data-dir={profile}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        # bash puts our pipe ends where Chromium looks for them, fds 3 and 4 (dash, the
        # usual sh, takes only one-digit descriptors in redirections)
        self._process = subprocess.Popen(
            ["bash", "-c", f'exec "$0" "$@" 3<&{commands_r} 4>&{answers_w}', str(CHROMIUM), *args],
            pass_fds=(commands_r, answers_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(commands_r)
        os.close(answers_w)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        self.session = ""

    # ------------------------------------------------------------------ protocol
    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._answers], [], [], max(left, 0))
            if not ready:
                raise TimeoutError("Chromium did not answer within the deadline")
            chunk = os.read(self._answers, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed its DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        found: dict[str, Any] = json.loads(message)
        return found

    def send(self, method: str, params: dict[str, Any] | None = None, *, page: bool = True) -> Any:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if page and self.session:
            message["sessionId"] = self.session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + DEADLINE
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            if "method" in answer:
                self._events.append(answer)

    def wait_for(self, event: str) -> dict[str, Any]:
        deadline = time.monotonic() + DEADLINE
        while True:
            for i, seen in enumerate(self._events):
                if seen["method"] == event:
                    del self._events[: i + 1]
                    return seen
            answer = self._read_message(deadline)
            if "method" in answer:
                self._events.append(answer)

    # ------------------------------------------------------------------ a reader's actions
    def __enter__(self) -> Chromium:
        target = self.send("Target.createTarget", {"url": "about:blank"}, page=False)
        attached = self.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}, page=False
        )
        self.session = attached["sessionId"]
        self.send("Page.enable")
        return self

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.send("Browser.close", page=False)
        try:
            self._process.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        os.close(self._commands)
        os.close(self._answers)

    def open(self, url: str) -> None:
        self._events.clear()
        self.send("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")

    def _node(self, selector: str) -> int:
        root = self.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        node = int(self.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"])
        if not node:
            raise LookupError(f"nothing on the page matches {selector!r}")
        return node

    def type_into(self, selector: str, text: str) -> None:
        self.send("DOM.focus", {"nodeId": self._node(selector)})
        self.send("Input.insertText", {"text": text})

    def click(self, selector: str) -> None:
        """A left click in the middle of the element; waits for the page it leads to."""
        node = self._node(selector)
        self.send("DOM.scrollIntoViewIfNeeded", {"nodeId": node})
        quad = self.send("DOM.getBoxModel", {"nodeId": node})["model"]["border"]
        x, y = sum(quad[0::2]) / 4, sum(quad[1::2]) / 4
        self._events.clear()
        for kind, button in (
            ("mouseMoved", "none"),
            ("mousePressed", "left"),
            ("mouseReleased", "left"),
        ):
            self.send(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": x, "y": y, "button": button, "clickCount": 1},
            )
        self.wait_for("Page.loadEventFired")

    def html(self) -> str:
        root = self.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        return str(self.send("DOM.getOuterHTML", {"nodeId": root})["outerHTML"])

    def url(self) -> str:
        history = self.send("Page.getNavigationHistory")
        return str(history["entries"][history["currentIndex"]]["url"])

    def cookies(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.send("Storage.getCookies", page=False)["cookies"]
        return found

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))
        return path
