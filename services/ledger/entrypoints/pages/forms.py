"""What the organiser's activity forms share in turning what was typed into a command: the
command id the form carried, the fields that must not be blank, a whole number, and a day
with two clock times. What is wrong goes into `errors` by field name, in the page's words;
the command's own rules are checked again by the decision it reaches."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime, time

from contract.calendar import SHANGHAI
from ledger.entrypoints.pages.common import Page


def command_id_of(text: str) -> uuid.UUID:
    """The id the form was rendered with (a retry appends nothing twice), or a new one."""
    try:
        return uuid.UUID(text)
    except ValueError:
        return uuid.uuid4()


def required(typed: Iterable[tuple[str, str]], errors: dict[str, str], page: Page) -> None:
    """Each (field, text) typed blank is an error of its field."""
    for name, text in typed:
        if not text.strip():
            errors[name] = page.t("required")


def whole_number(text: str, name: str, errors: dict[str, str], page: Page) -> int | None:
    """A number typed, None when blank (the decision bounds it)."""
    try:
        return int(text) if text.strip() else None
    except ValueError:
        errors[name] = page.t("bad_number")
        return None


def parse_window(day_text: str, starts: str, ends: str, errors: dict[str, str],
                 page: Page) -> dict[str, datetime]:
    """A day and two clock times as typed, in Shanghai: {"starts": …, "ends": …} when
    all three parse, with what did not in `errors` (by field name)."""
    typed = {"day": day_text.strip(), "starts": starts.strip(), "ends": ends.strip()}
    required(typed.items(), errors, page)
    try:
        day = date.fromisoformat(typed["day"])
    except ValueError:
        errors.setdefault("day", page.t("bad_date"))
    moments: dict[str, datetime] = {}
    for name in ("starts", "ends"):
        try:
            moment = time.fromisoformat(typed[name])
        except ValueError:
            errors.setdefault(name, page.t("bad_time"))
            continue
        if "day" not in errors:
            moments[name] = datetime.combine(day, moment, SHANGHAI)
    return moments
