"""The keys that seal events and sign checkpoints (`ledger.adapters.chain`): never in the
database, so that whoever can change its rows cannot forge what verifies.

Production sets `LEDGER_SEAL_KEY` (at least 32 characters, e.g. `openssl rand -base64 48`)
for the ledger service and its commands (`ledger import`, `ledger verify`, `ledger seal`)
and any other writer (the demo loader). After a rotation the keys that sealed earlier
events go into `LEDGER_SEAL_RETIRED_KEYS` (comma-separated): they verify, never seal.
In development, when `LEDGER_SEAL_KEY` is unset, a key is generated once and kept with the
page secrets (`$XDG_STATE_HOME/volunteer-ledger/page-secrets.json`, mode 0600).
"""

from __future__ import annotations

import os

from ledger.adapters.chain import Sealer
from ledger.page_secrets import MIN_LENGTH, secret

KEY = "LEDGER_SEAL_KEY"
RETIRED = "LEDGER_SEAL_RETIRED_KEYS"


def load() -> Sealer:
    retired = [k.strip() for k in os.environ.get(RETIRED, "").split(",") if k.strip()]
    for value in retired:
        if len(value) < MIN_LENGTH:
            raise RuntimeError(f"every key in {RETIRED} must be at least {MIN_LENGTH} "
                               "characters")
    return Sealer(secret(KEY), [k.encode() for k in retired])
