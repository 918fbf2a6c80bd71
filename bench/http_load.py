"""A lean HTTP/1.1 keep-alive client for load generation.

httpx spends 2–4 ms of CPU per request, which on a 2-core machine caps a benchmark near
200 requests/s whatever the server does. This client writes the request bytes itself and
reads `Content-Length` bodies: tens of microseconds per request, so the server is measured.
"""

from __future__ import annotations

import asyncio


class HttpConnection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 host: str, headers: dict[str, str]) -> None:
        self._reader = reader
        self._writer = writer
        self._fixed = "".join(f"{k}: {v}\r\n" for k, v in {"Host": host, **headers}.items())

    @classmethod
    async def open(cls, host: str, port: int, headers: dict[str, str]) -> HttpConnection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}", headers)

    async def post_json(self, path: str, body: bytes) -> tuple[int, bytes]:
        head = (f"POST {path} HTTP/1.1\r\n{self._fixed}Content-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n")
        self._writer.write(head.encode() + body)
        return await self.answer()

    def send_get(self, path: str) -> None:
        """Send a GET; `answer()` reads its response (e.g. a long poll's, much later)."""
        self._writer.write(f"GET {path} HTTP/1.1\r\n{self._fixed}\r\n".encode())

    async def answer(self) -> tuple[int, bytes]:
        status_line = await self._reader.readuntil(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        while True:
            line = await self._reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        return status, await self._reader.readexactly(length)

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()

    def abandon(self) -> None:
        """Close without waiting: the server may be gone."""
        self._writer.close()
