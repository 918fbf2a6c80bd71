"""How both services' command lines run: each sub-command's parser sets `run`, a
coroutine function of the parsed arguments that returns the exit code."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import NoReturn


def run(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> NoReturn:
    args = parser.parse_args(argv)
    try:
        code = asyncio.run(args.run(args))
    except KeyboardInterrupt:
        code = 130
    sys.exit(code or 0)
