"""Who a bearer token is: how a service in another database verifies the tokens its callers
present (the reports, with `LEDGER_FEED_URL` set)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException

from contract.access import Principal, read
from contract.guard import bearer_token
from ledger.adapters.tokens import TokenStore


class TokenController(Controller):
    path = "/api/v1/tokens"
    tags = ("tokens",)

    @get("/current", operation_id="whoAmI", opt=read(),
         summary="The principal of the presented bearer token",
         description="Tenant, token id, label, role, organiser, scope unit (null: the whole "
                     "tenant) and whether it may write. Looked up afresh, not from the "
                     "ledger's own cache, so a caller that caches the answer for a few "
                     "seconds stops accepting a revoked token within those seconds. 401 for "
                     "a token unknown, revoked or malformed.")
    async def who_am_i(self, request: Request[Any, Any, Any],
                       tokens: NamedDependency[TokenStore]) -> Principal:
        principal = await tokens.verify(bearer_token(request), max_age=0)
        if principal is None:
            raise NotAuthorizedException("The token is unknown or revoked")
        return principal
