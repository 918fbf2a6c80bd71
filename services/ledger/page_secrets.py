"""The pages' secrets: the rotating-code key and the cookie/CSRF signing key.

Production sets `CHECKIN_CODE_SECRET` and `PAGES_SECRET` (each at least 32 characters).
In development, when unset, a random value is generated once and kept in a file outside
the repository (`$XDG_STATE_HOME/volunteer-ledger/page-secrets.json`, mode 0600), so a
restart neither logs every phone out nor invalidates printed posters' pages mid-activity.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

MIN_LENGTH = 32


@dataclass(frozen=True)
class PageSecrets:
    checkin_code: bytes
    pages: bytes

    @property
    def csrf(self) -> str:
        # Litestar's CSRF middleware wants a str; derive it so the cookie key is not reused.
        import hashlib

        return hashlib.sha256(b"csrf\0" + self.pages).hexdigest()


def _state_file() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "volunteer-ledger" / "page-secrets.json"


def _persisted(name: str) -> str:
    path = _state_file()
    stored: dict[str, str] = {}
    if path.exists():
        stored = json.loads(path.read_text())
    if name not in stored:
        stored[name] = secrets.token_urlsafe(32)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(stored))
        temporary.chmod(0o600)
        temporary.replace(path)
    return stored[name]


def _secret(name: str) -> bytes:
    value = os.environ.get(name)
    if value is None:
        value = _persisted(name)
    if len(value) < MIN_LENGTH:
        raise RuntimeError(f"{name} must be at least {MIN_LENGTH} characters")
    return value.encode()


def secret(name: str) -> bytes:
    """The environment's `name`, or in development a value generated once and kept (the
    ledger's seal key, `ledger.seal_keys`, is kept this way too)."""
    return _secret(name)


def load() -> PageSecrets:
    return PageSecrets(checkin_code=_secret("CHECKIN_CODE_SECRET"), pages=_secret("PAGES_SECRET"))
