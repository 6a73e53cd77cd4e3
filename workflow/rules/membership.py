"""Who manages a plan's members: the coordinator's and the issuer's members (pure rules and
the words the refusals and listings use for them)."""

from __future__ import annotations

import shlex
from typing import Any

from workflow.i18n import _


def managers(plan: Any) -> list[str]:
    """The agencies whose members manage membership: the coordinator, then the issuer."""
    return list(dict.fromkeys([plan.coordinator, plan.issuer]))


def role(plan: Any, agency: str) -> str | None:
    if agency == plan.coordinator:
        return "coordinator"
    if agency == plan.issuer:
        return "issuer"
    return None


def described(plan: Any, agency: str) -> str:
    """``so-y-te (the coordinator)``; other agencies as their id."""
    r = role(plan, agency)
    if r is None:
        return agency
    return (_("{agency} (the coordinator)") if r == "coordinator" else
            _("{agency} (the issuer)")).format(agency=agency)


def either(plan: Any) -> str:
    return (" " + _("or") + " ").join(described(plan, a) for a in managers(plan))


def command(*words: str) -> str:
    return "workflow members " + " ".join(shlex.quote(w) for w in words)
