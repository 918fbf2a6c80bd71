"""Optional OpenTelemetry tracing of both services' requests.

Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set; then, if the OpenTelemetry packages are
installed (they are not dependencies of this project: `opentelemetry-sdk`,
`opentelemetry-exporter-otlp-proto-http`, `opentelemetry-instrumentation-asgi`), every
request is a span exported over OTLP/HTTP to that endpoint, through Litestar's
OpenTelemetry plugin. Off, nothing of OpenTelemetry is imported and nothing runs per
request. The exporter reads the standard `OTEL_*` variables itself (headers, timeouts,
`OTEL_SERVICE_NAME`).
"""

from __future__ import annotations

import logging
import os
from typing import Any

log = logging.getLogger("tracing")
ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"


def plugins(service: str) -> list[Any]:
    """The Litestar plugins that trace `service`'s requests: none when tracing is off."""
    if not os.environ.get(ENDPOINT):
        return []
    try:
        from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as error:
        log.warning("%s is set but OpenTelemetry is not installed (%s): no tracing",
                    ENDPOINT, error)
        return []
    provider = TracerProvider(resource=Resource.create(
        {"service.name": os.environ.get("OTEL_SERVICE_NAME", service)}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return [OpenTelemetryPlugin(OpenTelemetryConfig(tracer_provider=provider))]
