"""The reports service's front door at `/`: what it serves and to whom, Chinese first and
English second (its pages have no language switch), with links that answer without a
token: the API documentation and the health check."""

from __future__ import annotations

from litestar import Controller, get
from litestar.response import Template

from contract.access import PUBLIC


class LandingController(Controller):
    include_in_schema = False

    @get("/", operation_id="pageReportsLanding", opt=PUBLIC.opt(), media_type="text/html")
    async def landing(self) -> Template:
        return Template(template_name="landing.html")
