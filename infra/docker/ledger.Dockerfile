# The ledger service (and, with another command, the migration job of infra/compose.yaml).
# Built from the repository root: docker build -f infra/docker/ledger.Dockerfile .
# Not built by CI (no container engine there): tests/integration/test_compose.py checks
# the compose file against the compose specification instead.

# --- build: the locked dependencies, then the project, into /app/.venv -------------------
FROM python:3.11-slim-bookworm AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv PIP_DISABLE_PIP_VERSION_CHECK=1
# The uv the Makefile uses (same version, same lock file).
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
# Dependencies first, in a layer of their own that a code change does not invalidate.
RUN uv sync --frozen --no-dev --no-install-project
COPY services ./services
COPY infra ./infra
RUN uv sync --frozen --no-dev --no-editable

# --- run: the virtual environment only, as an unprivileged user ---------------------------
FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app
COPY --from=build --chown=app:app /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 \
    LEDGER_HOST=0.0.0.0 LEDGER_PORT=8000
USER app
WORKDIR /app
EXPOSE 8000
# Readiness (database reachable, migrations at head): docs/operations.md.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['LEDGER_PORT']}/ready\", timeout=2)"]
# SIGTERM (docker stop) lets requests under way finish: contract.serving.
STOPSIGNAL SIGTERM
CMD ["ledger", "serve"]
