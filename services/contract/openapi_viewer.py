"""The OpenAPI viewer both services serve under `/schema`, with its assets from the
project itself (`openapi_assets/`, Swagger UI as published on npm) rather than Litestar's
default CDNs, so that the API documentation also shows on an intranet without internet."""

from __future__ import annotations

from pathlib import Path

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import OpenAPIRenderPlugin, SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

from contract.access import PUBLIC

VERSION = "5.32.0"  # swagger-ui-dist; see openapi_assets/README.md
ASSETS = Path(__file__).resolve().parent / "openapi_assets"
SCHEMA_PATH = "/schema"
ASSETS_PATH = "/assets"


def viewer_plugins(schema_path: str = SCHEMA_PATH) -> list[OpenAPIRenderPlugin]:
    """`OpenAPIConfig(render_plugins=...)`: Swagger UI at `/schema` and `/schema/swagger`,
    loading only the service's own files (and no favicon from Litestar's CDN)."""
    base = f"{schema_path}{ASSETS_PATH}"
    return [SwaggerRenderPlugin(
        version=VERSION, js_url=f"{base}/swagger-ui-bundle.js",
        css_url=f"{base}/swagger-ui.css",
        standalone_preset_js_url=f"{base}/swagger-ui-standalone-preset.js",
        favicon="", path="/swagger")]


def viewer_assets() -> Router:
    """The assets, under the schema router (public, like the documents themselves)."""
    return create_static_files_router(
        path=ASSETS_PATH, directories=[ASSETS], include_in_schema=False, opt=PUBLIC.opt(),
        # The files change only with VERSION, which is in no URL: a day, not forever.
        cache_control=CacheControlHeader(max_age=86400, public=True))
