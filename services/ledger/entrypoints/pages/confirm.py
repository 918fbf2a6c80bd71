"""The second step before an action that cannot be undone (closing or cancelling an
activity, publishing an honor roll).

With JavaScript, `confirm.js` asks in a native <dialog> before the form leaves the page,
and marks the form `confirmed=yes`. Without it (or when the dialog is bypassed) the form
arrives unconfirmed and the handler answers with this page instead of acting: the same
question, and a form that re-posts the same fields confirmed. Either way nothing is
recorded before a person has said yes twice."""

from __future__ import annotations

from typing import Any

from ledger.entrypoints.pages.common import OrganiserSession, Page

YES = "yes"


def confirmation(page: Page, organiser: OrganiserSession, *, question: str, action: str,
                 fields: dict[str, str], yes: str, back: str) -> Any:
    return page.render("confirm_step.html", organiser=organiser, question=question,
                       action=action, fields=fields, yes=yes, back=back)
