"""Who may act: the people who may act for each agency of a plan (``workflow members``).

A person is who ``Store.person`` says is at the keyboard: the connected database role on
PostgreSQL, the operating-system user on SQLite (``WORKFLOW_PERSON`` overrides it there only).

- A plan with no members is open: anyone may act as any agency (``--as`` is taken on trust).
- Once it has members, a move's ``--as`` agency must be one the person is a member of
  (``check``, called by every move in its read transaction), else the move is refused (exit 4).
- Only members of the coordinator or the issuer add and remove members. The first member of a
  plan with none (the bootstrap) must be added to the coordinator or the issuer, so that
  somebody can manage the others; removing the last such member while other members remain is
  refused (nobody could manage the plan any more). Removing every member opens the plan again.
- Each change is a history event (``member_added`` / ``member_removed``, no task): the person
  who made it, the agency they managed for (``actor``), and whom it added or removed to which
  agency (``note``, and ``data``), hash-chained with the rest of the history.

On a shared SQLite file this guards against mistakes (acting for the wrong agency), not against
someone who sets ``WORKFLOW_PERSON`` or edits the file; on PostgreSQL the person is the role the
server authenticated, so it holds as far as the roles do (README: "Who may act").
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection, Row

from workflow import clock
from workflow.errors import MoveRefusedError, NotFoundError, UsageError
from workflow.i18n import _, ngettext
from workflow.rules.kinds import EventKind
from workflow.rules.membership import command, described, either, managers
from workflow.store import lookup
from workflow.store.audit import Appender
from workflow.store.db import Store
from workflow.store.models import MemberRow
from workflow.store.timeorder import refuse_backwards
from workflow.text import nfc

MEMBER = MemberRow.__table__
MAX_PERSON = 128  # PostgreSQL role names have at most 63 bytes, OS user names far fewer


# --------------------------------------------------------------------------- helpers


def person_name(value: str) -> str:
    """A person as given on the command line: NFC, trimmed, printable, not too long."""
    name = nfc(value).strip()
    if not name:
        raise UsageError(_("PERSON is empty: give the user name (or database role) of the "
                           "person, e.g. workflow members add nguyen so-y-te"))
    if len(name) > MAX_PERSON or any(unicodedata.category(c)[0] in "CZ" and c != " "
                                     for c in name):
        raise UsageError(_("PERSON {person} is not a user name: at most {limit} printable "
                           "characters").format(
            person=repr(name[:40]) + ("..." if len(name) > 40 else ""), limit=MAX_PERSON))
    return name


def _membership(person: str, mine: list[str]) -> str:
    if not mine:
        return _("{person} is not a member of any of its agencies").format(person=person)
    return _("{person} is a member of {agencies}").format(person=person,
                                                          agencies=", ".join(mine))


def _rows(conn: Connection, plan_id: str) -> list[Row]:
    return conn.execute(select(MEMBER).where(MEMBER.c.plan_id == plan_id)
                        .order_by(MEMBER.c.agency, MEMBER.c.person)).all()


# --------------------------------------------------------------------------- moves


def check(conn: Connection, plan: Row, person: str, agency: str) -> None:
    """Refuses (exit 4) a move by ``person`` as ``agency`` when the plan has members and the
    person is not one of that agency's. A plan without members is open: nothing to check."""
    person = nfc(person)
    mine = conn.execute(select(MEMBER.c.agency).where(
        MEMBER.c.plan_id == plan.id, MEMBER.c.person == person)
        .order_by(MEMBER.c.agency)).scalars().all()
    if agency in mine:
        return
    if not mine and conn.execute(select(MEMBER.c.person).where(
            MEMBER.c.plan_id == plan.id).limit(1)).first() is None:
        return  # no members: the plan is open
    managed = [a for a in managers(plan) if conn.execute(select(MEMBER.c.person).where(
        MEMBER.c.plan_id == plan.id, MEMBER.c.agency == a).limit(1)).first() is not None]
    ask = described(plan, (managed or managers(plan))[0])
    raise MoveRefusedError(_("{person} may not act for {agency} in plan {plan}: {membership}; "
                             "ask a member of {ask} to add you: {command}").format(
        person=person, agency=agency, plan=plan.id, membership=_membership(person, mine),
        ask=ask, command=command("add", person, agency)))


# --------------------------------------------------------------------------- membership


@dataclass
class Change:
    plan: str
    person: str
    agency: str
    status: str  # added | removed | unchanged
    by: str  # the person who made the change
    actor: str | None  # the agency they managed for
    seq: int | None  # the history event (None when nothing changed)
    members: int  # memberships in the plan afterwards

    def as_dict(self) -> dict[str, Any]:
        return {"plan": self.plan, "person": self.person, "agency": self.agency,
                "status": self.status, "by": self.by, "actor": self.actor, "seq": self.seq,
                "members": self.members, "open": self.members == 0}


def _acting_for(plan: Row, who: str, rows: list[Row], as_agency: str | None) -> str:
    """The coordinator or issuer agency ``who`` manages membership for; refuses others."""
    mine = [r.agency for r in rows if r.person == who]
    allowed = [a for a in managers(plan) if a in mine]
    if as_agency is not None:
        if as_agency not in managers(plan):
            raise MoveRefusedError(_("--as {agency}: members are managed for {either} only")
                                   .format(agency=as_agency, either=either(plan)))
        if as_agency not in allowed:
            raise MoveRefusedError(_("{person} may not manage the members of plan {plan} for "
                                     "{agency}: {membership}").format(
                person=who, plan=plan.id, agency=as_agency, membership=_membership(who, mine)))
        return as_agency
    if not allowed:
        can = sorted({r.person for r in rows if r.agency in managers(plan)})
        said = {"person": who, "plan": plan.id, "either": either(plan),
                "membership": _membership(who, mine), "ask": ", ".join(can)}
        raise MoveRefusedError((_("{person} may not manage the members of plan {plan}: only "
                                  "members of {either} may, and {membership}; ask {ask}") if can
                                else _("{person} may not manage the members of plan {plan}: "
                                       "only members of {either} may, and {membership}")
                                ).format(**said))
    return allowed[0]


def _begin(store: Store, conn: Connection, plan_id: str | None, agency: str,
           as_agency: str | None, now: datetime
           ) -> tuple[Row, str, str | None, Appender, list[Row]]:
    plan = lookup.select_plan(conn, plan_id, lock=True)  # the plan's lock, then read
    target = lookup.find_agency(conn, plan, agency)
    acting = lookup.find_agency(conn, plan, as_agency) if as_agency else None
    events = Appender(conn, plan.id, store.person(conn), head=plan)
    refuse_backwards(conn, plan, None, now,
                     _("a membership change of {agency}").format(agency=target))
    return plan, target, acting, events, _rows(conn, plan.id)


def add(store: Store, *, plan_id: str | None, person: str, agency: str, now: datetime,
        as_agency: str | None = None) -> Change:
    """Makes ``person`` a member of ``agency``; a membership that exists is left alone."""
    person = person_name(person)
    with store.write() as conn:
        plan, target, acting, events, rows = _begin(store, conn, plan_id, agency, as_agency,
                                                    now)
        who = events.person
        if not rows:  # the bootstrap: the first member must be able to manage the others
            if target not in managers(plan):
                raise MoveRefusedError(_(
                    "plan {plan} has no members yet: the first member must be added to "
                    "{either}, who then add the others: {command}").format(
                    plan=plan.id, either=either(plan),
                    command=command("add", person, plan.coordinator)))
            if acting is not None and acting not in managers(plan):
                raise MoveRefusedError(_("--as {agency}: members are managed for {either} only")
                                       .format(agency=acting, either=either(plan)))
            actor = acting or target
            note = (f"added {person} to {target}: the plan's first member (only members of "
                    f"its agencies may act for them from now on)")
        else:
            actor = _acting_for(plan, who, rows, acting)
            note = f"added {person} to {target}"
        if any(r.person == person and r.agency == target for r in rows):
            return Change(plan.id, person, target, "unchanged", who, actor, None, len(rows))
        # The event first: on PostgreSQL the database judges it against the membership as it
        # stood before this change (the caller must be a member of the coordinator or issuer).
        event = events.add(event=EventKind.MEMBER_ADDED, at=now, actor=actor, note=note,
                           data={"person": person, "agency": target})
        events.flush()
        conn.execute(MEMBER.insert().values(plan_id=plan.id, person=person, agency=target,
                                            added_by=who, added_at=clock.to_utc(now)))
    return Change(plan.id, person, target, "added", who, actor, event["seq"], len(rows) + 1)


def remove(store: Store, *, plan_id: str | None, person: str, agency: str, now: datetime,
           as_agency: str | None = None) -> Change:
    """Ends ``person``'s membership of ``agency``. Refused when it would leave members but
    nobody to manage them; removing the last member opens the plan again."""
    person = person_name(person)
    with store.write() as conn:
        plan, target, acting, events, rows = _begin(store, conn, plan_id, agency, as_agency,
                                                    now)
        if not rows:
            raise NotFoundError(_("plan {plan} has no members (it is open: anyone may act for any "
                                  "agency); nothing to remove").format(plan=plan.id))
        who = events.person
        actor = _acting_for(plan, who, rows, acting)
        if not any(r.person == person and r.agency == target for r in rows):
            theirs = [r.person for r in rows if r.agency == target]
            raise NotFoundError(_("{person} is not a member of {agency} in plan {plan}; its "
                                  "members: {members}").format(
                person=person, agency=target, plan=plan.id,
                members=", ".join(theirs) or _("none")))
        left = [r for r in rows if not (r.person == person and r.agency == target)]
        if left and not any(r.agency in managers(plan) for r in left):
            raise MoveRefusedError(ngettext(
                "cannot remove {person} from {agency}: nobody else is a member of {either}, so "
                "nobody could manage the {left} membership left; add another member first: "
                "{command}",
                "cannot remove {person} from {agency}: nobody else is a member of {either}, so "
                "nobody could manage the {left} memberships left; add another member first: "
                "{command}", len(left)).format(
                person=person, agency=target, either=either(plan), left=len(left),
                command=command("add", "PERSON", target)))
        note = f"removed {person} from {target}" + (
            "" if left else ": no members are left, the plan is open again")
        event = events.add(event=EventKind.MEMBER_REMOVED, at=now, actor=actor, note=note,
                           data={"person": person, "agency": target})
        events.flush()  # before the row, as in add
        conn.execute(delete(MEMBER).where(MEMBER.c.plan_id == plan.id,
                                          MEMBER.c.person == person, MEMBER.c.agency == target))
    return Change(plan.id, person, target, "removed", who, actor, event["seq"], len(left))
