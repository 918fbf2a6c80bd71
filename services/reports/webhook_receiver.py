"""A reference receiver of the reports' webhooks: checks the signature, dedupes by event
id, and hands each event to a function once. Standard library only, so another community
system can copy this file as it is (with `domain/webhook_signature.py`).

    WEBHOOK_SECRET=whsec_… python -m reports.webhook_receiver --port 9000 --db seen.sqlite3

prints each new event as one JSON line. Deliveries arrive at least once (a retry after a
lost answer, a replay): an event whose id was handled before is answered 200 and not
handled again. The id is recorded in the same SQLite transaction that the handler's work
commits with, so a crash in between neither loses the event nor handles it twice; a
handler that raises gets a 500, and the dispatcher retries.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from reports.domain.webhook_signature import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify,
)

MAX_BODY = 1_000_000

Handler = Callable[[dict[str, Any], sqlite3.Connection], None]


class Receiver:
    """`handle(event, db)`: the receiver's own work; it may write to `db`, which commits
    together with the event's id."""

    def __init__(self, secret: str, handle: Handler, *, db: str = ":memory:",
                 clock: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._handle = handle
        self._clock = clock
        self._lock = threading.Lock()
        self._db = sqlite3.connect(db, check_same_thread=False, isolation_level=None)
        self._db.execute("CREATE TABLE IF NOT EXISTS seen (event_id TEXT PRIMARY KEY)")

    def receive(self, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        """The status and a word of explanation to answer a delivery with."""
        # Header names are case-insensitive (a proxy or HTTP/2 lowercases them).
        headers = {name.lower(): value for name, value in headers.items()}
        if not verify(self._secret, headers.get(TIMESTAMP_HEADER.lower()),
                      headers.get(SIGNATURE_HEADER.lower()), body, self._clock()):
            return 401, "bad signature"
        try:
            event = json.loads(body)
        except ValueError:
            return 400, "not JSON"
        if not isinstance(event, dict) or event.get("id") != headers.get(ID_HEADER.lower()):
            return 400, "the id does not match the header"
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if self._db.execute("SELECT 1 FROM seen WHERE event_id = ?",
                                    (event["id"],)).fetchone():
                    self._db.execute("ROLLBACK")
                    return 200, "duplicate"
                self._handle(event, self._db)
                self._db.execute("INSERT INTO seen (event_id) VALUES (?)", (event["id"],))
                self._db.execute("COMMIT")
            except Exception as error:  # the handler's failure: answer 500, retried later
                self._db.execute("ROLLBACK")
                return 500, f"{type(error).__name__}"
        return 200, "ok"

    def server(self, host: str, port: int) -> ThreadingHTTPServer:
        receiver = self

        class Request(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                text = self.headers.get("Content-Length") or "0"
                length = int(text) if text.isascii() and text.isdigit() else 0
                if not 0 < length <= MAX_BODY:
                    self._answer(413 if length else 400, "bad length")
                    return
                body = self.rfile.read(length)
                self._answer(*receiver.receive(dict(self.headers.items()), body))

            def _answer(self, status: int, text: str) -> None:
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: object) -> None:
                pass

        return ThreadingHTTPServer((host, port), Request)


def _print(event: dict[str, Any], _db: sqlite3.Connection) -> None:
    print(json.dumps(event, ensure_ascii=False), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="a reference receiver of the webhooks")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--db", default="webhook-receiver.sqlite3",
                        help="where the ids of the events handled are kept")
    args = parser.parse_args(argv)
    secret = os.environ.get("WEBHOOK_SECRET")
    if not secret:
        sys.exit("set WEBHOOK_SECRET to the subscription's secret")
    Receiver(secret, _print, db=args.db).server(args.host, args.port).serve_forever()


if __name__ == "__main__":
    main()
