"""Apply the alembic revisions to DATABASE_URL (or to the embedded server).

    python -m infra.migrate            # upgrade to head
    python -m infra.migrate current    # show the applied revision
"""

from __future__ import annotations

import argparse
from pathlib import Path

from alembic import command
from alembic.config import Config

from infra import postgres

ALEMBIC_INI = Path(__file__).resolve().parent / "alembic.ini"


def alembic_config(database_url: str) -> Config:
    config = Config(str(ALEMBIC_INI))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(database_url), revision)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.migrate",
                                     description="Apply the database migrations.")
    parser.add_argument("action", nargs="?", default="upgrade", choices=["upgrade", "current"])
    parser.add_argument("--revision", default="heads")
    args = parser.parse_args(argv)
    url = postgres.database_url()
    if args.action == "upgrade":
        upgrade(url, args.revision)
    else:
        command.current(alembic_config(url), verbose=True)


if __name__ == "__main__":
    main()
