"""The ledger's JSON API, for the adapters that reach a ledger in another database: token
verification (`http_tokens.py`) and names (`http_directory.py`). The feed has a client of
its own (`http_feed.py`): its long polls need a longer read timeout than these.

A ledger that cannot be reached, or answers other than the API says, is a 503 problem
(`ledger_unavailable`, with `Retry-After`) for the caller of the reports: neither a 401
(the token may well be valid) nor a 500.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from contract.problems import Refusal

log = logging.getLogger(__name__)

# A request of a report waits at most this long for the ledger (seconds).
TIMEOUT = 5.0


def ledger_unavailable() -> Refusal:
    return Refusal("ledger_unavailable", "台账服务暂时不可用，请稍后重试",
                   "the ledger could not be reached; retry later", status=503,
                   headers={"Retry-After": "5"})


class LedgerApi:
    def __init__(self, base_url: str, *,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, transport=transport,
                                         timeout=TIMEOUT)

    async def close(self) -> None:
        await self._client.aclose()

    async def request(self, method: str, path: str, token: str,
                      **kwargs: Any) -> httpx.Response:
        """The ledger's answer to a request with `token`; raises `ledger_unavailable()`
        when there is none."""
        try:
            return await self._client.request(
                method, path, headers={"Authorization": f"Bearer {token}",
                                       **kwargs.pop("headers", {})}, **kwargs)
        except httpx.HTTPError as error:
            log.warning("ledger %s %s: %r", method, path, error)
            raise ledger_unavailable() from error


def unexpected(response: httpx.Response) -> Refusal:
    """An answer the API does not give: logged, and a 503 for the caller."""
    log.warning("ledger %s %s: HTTP %s %s", response.request.method, response.request.url.path,
                response.status_code, response.text[:200])
    return ledger_unavailable()
