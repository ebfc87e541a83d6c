"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Handler:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        # Per DATA, in order: seconds to wait before answering, and what to do then
        # ("ok", "drop": close the connection without an answer, or a reply such as "550 ...").
        self.delays: list[float] = []
        self.behaviours: list[str] = []
        self.in_data = threading.Event()
        self.answered = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(parsed)  # type: ignore[arg-type]
        self.in_data.set()
        delay = self.delays.pop(0) if self.delays else 0.0
        behaviour = self.behaviours.pop(0) if self.behaviours else "ok"
        if delay:
            await asyncio.sleep(delay)
        self.answered.set()
        if behaviour == "drop":
            server.transport.abort()  # the message arrived; the client never hears so
            return "250 never delivered"
        if behaviour != "ok":
            return behaviour
        return "250 Message accepted for delivery"


class SmtpSink:
    """Every message it receives is kept, also those it then drops or refuses (a real server
    may have taken a message whose answer was lost)."""

    def __init__(self) -> None:
        self.handler = _Handler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def script(self, *steps: tuple[float, str]) -> None:
        """The next DATA commands: (seconds to wait, "ok" | "drop" | a reply line)."""
        self.handler.delays.extend(delay for delay, _ in steps)
        self.handler.behaviours.extend(what for _, what in steps)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages
