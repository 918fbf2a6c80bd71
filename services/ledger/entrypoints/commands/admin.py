"""Tenants, organiser accounts and API tokens."""

from __future__ import annotations

import argparse
import getpass
import sys
import uuid

from ledger.adapters.directory import Organisers
from ledger.adapters.tokens import TokenStore
from ledger.entrypoints.cli import open_pool


async def create_tenant(args: argparse.Namespace) -> int:
    pool = await open_pool()
    try:
        await pool.execute(
            "INSERT INTO ledger.tenants (tenant_id, name) VALUES ($1, $2) "
            "ON CONFLICT (tenant_id) DO NOTHING",
            args.tenant, args.name,
        )
    finally:
        await pool.close()
    print(f"tenant {args.tenant} ({args.name})")
    return 0


async def add_organiser(args: argparse.Namespace) -> int:
    password = args.password
    if password is None and sys.stdin.isatty():
        password = getpass.getpass("password (empty: token-only account): ") or None
    pool = await open_pool()
    try:
        account = await Organisers(pool).add(args.tenant, unit_id=args.unit, name=args.name,
                                             login=args.login, password=password)
    finally:
        await pool.close()
    print(f"organiser {account.login}: id {account.organiser_id}, unit {account.unit_id}")
    return 0


async def mint_token(args: argparse.Namespace) -> int:
    pool = await open_pool()
    try:
        organiser_id = scope = None
        if args.organiser:
            organiser_id = await pool.fetchval(
                "SELECT organiser_id FROM ledger.organisers WHERE tenant_id = $1 AND login = $2",
                args.tenant, args.organiser,
            )
            scope = await pool.fetchval(
                "SELECT unit_id FROM ledger.organisers WHERE tenant_id = $1 AND login = $2",
                args.tenant, args.organiser,
            )
            if organiser_id is None:
                print(f"no organiser {args.organiser!r} in {args.tenant}", file=sys.stderr)
                return 1
        minted = await TokenStore(pool).mint(
            args.tenant, label=args.label or args.organiser or "client",
            role="organiser" if organiser_id else "client", can_write=args.write,
            scope_unit_id=args.unit or scope, organiser_id=organiser_id,
        )
    finally:
        await pool.close()
    # The secret is shown once; only its hash is stored.
    print(minted.token)
    return 0


async def revoke_token(args: argparse.Namespace) -> int:
    pool = await open_pool()
    try:
        revoked = await TokenStore(pool).revoke(args.token_id)
    finally:
        await pool.close()
    print("revoked" if revoked else "no such active token")
    return 0 if revoked else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    tenant = subparsers.add_parser("tenant", help="create a tenant (a district)")
    tenant.add_argument("tenant", help="tenant id, e.g. xinluo")
    tenant.add_argument("name", help="display name, e.g. 新罗区")
    tenant.set_defaults(run=create_tenant)

    organiser = subparsers.add_parser("organiser", help="add an organiser account")
    organiser.add_argument("--tenant", required=True)
    organiser.add_argument("--unit", required=True, type=uuid.UUID,
                           help="the unit whose subtree the organiser may manage")
    organiser.add_argument("--name", required=True)
    organiser.add_argument("--login", required=True)
    organiser.add_argument("--password", help="asked for when omitted (on a terminal)")
    organiser.set_defaults(run=add_organiser)

    token = subparsers.add_parser("token", help="mint or revoke API tokens")
    actions = token.add_subparsers(dest="action", required=True)
    mint = actions.add_parser("mint", help="mint a bearer token (printed once)")
    mint.add_argument("--tenant", required=True)
    mint.add_argument("--organiser", help="login of the organiser the token acts as")
    mint.add_argument("--label", help="who the token is for (client systems)")
    mint.add_argument("--unit", type=uuid.UUID,
                      help="limit to this unit's subtree (default: the organiser's unit, or "
                           "the whole tenant)")
    mint.add_argument("--write", action="store_true", help="allow commands, not only reads")
    mint.set_defaults(run=mint_token)
    revoke = actions.add_parser("revoke", help="revoke a token by its id (the part after lt_)")
    revoke.add_argument("token_id")
    revoke.set_defaults(run=revoke_token)
