"""PostgreSQL roles: the grants a person's role needs (``workflow db grant``), and a check that
no role has more (``workflow db check``).

Three shapes, each the one before plus what its commands write:

- read-only: SELECT on the tables (lists, reports, history, ``audit verify``);
- person: moves and members: new events, escalations and outbox rows, membership rows, and
  UPDATE of only the columns a move, a roll-up or a delivery changes;
- service (the sweep, ``workflow watch``): also new recurring occurrences (rows of ``wf_task``
  and ``wf_dependency``) and their ``next_create_at``.

Grants only keep every other change out; what the allowed writes may contain (whose name, which
agency, which chain, which row with which event) is judged by the database's guards, revision
0003 (``workflow/migrations/versions/0003_role_guards.py``).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import Connection

from workflow.errors import AuditError, UsageError
from workflow.i18n import _, ngettext

LEVELS = ("read-only", "person", "service")
TABLES = ("wf_plan", "wf_agency", "wf_task", "wf_dependency", "wf_unit", "wf_member",
          "wf_event", "wf_escalation", "wf_delivery", "wf_schema_version")
MOVE_COLUMNS = ("state", "version", "last_move_at", "stall_at", "blocked_from", "blocked_by",
                "reported_at", "approved_at", "on_time", "overdue_at", "open_deps",
                # a relative deadline fixed on approval, an extension, a reminder sent
                "due", "original_due", "remind_at", "reminded_for")
# table -> privileges beyond SELECT; "UPDATE(col)" is one column's.
PERSON: dict[str, set[str]] = {
    "wf_event": {"INSERT"},
    "wf_plan": {"UPDATE(head_seq)", "UPDATE(head_hash)"},
    "wf_task": {f"UPDATE({c})" for c in MOVE_COLUMNS},
    "wf_member": {"INSERT", "DELETE"},
    "wf_escalation": {"INSERT", *(f"UPDATE({c})" for c in (
        "level", "escalated_to", "next_climb_at", "resolved_at"))},
    "wf_delivery": {"INSERT", *(f"UPDATE({c})" for c in (
        "attempts", "next_attempt_at", "delivered_at", "last_error"))},
}
SERVICE: dict[str, set[str]] = {
    **PERSON,
    "wf_task": PERSON["wf_task"] | {"INSERT", "UPDATE(next_create_at)"},
    "wf_dependency": {"INSERT"},
}
# Sequences numbering the rows each shape inserts: (table, column).
SEQUENCES = {"person": [("wf_event", "id"), ("wf_escalation", "id"), ("wf_delivery", "id")],
             "service": [("wf_event", "id"), ("wf_escalation", "id"), ("wf_delivery", "id"),
                         ("wf_task", "pk")]}
# Functions a role may run: the guards' own question "am I the owner?" (no arguments).
CALLABLE = {"wf_trusted"}


def writes(level: str) -> dict[str, set[str]]:
    return {"read-only": {}, "person": PERSON, "service": SERVICE}[level]


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def role_name(value: str) -> str:
    name = unicodedata.normalize("NFC", value).strip()
    if not name or len(name.encode()) > 63 or any(
            unicodedata.category(c)[0] in "CZ" for c in name):
        raise UsageError(_("ROLE {role!r} is not a PostgreSQL role name: 1 to 63 bytes, "
                           "printable, no spaces").format(role=value[:40]))
    return name


def _postgresql(conn: Connection, command: str) -> None:
    if conn.dialect.name != "postgresql":
        raise UsageError(_("workflow db {command} is for PostgreSQL; on a SQLite file the "
                           "operating system's file permissions decide who may write it").format(
            command=command))


@dataclass(frozen=True)
class Place:
    schema: str
    owner: str


def place(conn: Connection) -> Place:
    row = conn.execute(text(
        "SELECT n.nspname, pg_get_userbyid(c.relowner) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = 'wf_event'::regclass")).one()
    return Place(row[0], row[1])


# --------------------------------------------------------------------------- db grant


def grants(conn: Connection, role: str, level: str) -> list[str]:
    """The statements that give ``role`` exactly ``level`` on this database's workflow tables
    (everything it had on them before is revoked first); creates the role if it is missing."""
    _postgresql(conn, "grant")
    role = role_name(role)
    where = place(conn)
    found = conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = :r"),
                         {"r": role}).one_or_none()
    if role == where.owner or (found is not None and found.rolsuper):
        raise UsageError((_("{role} owns the workflow tables: grants cannot restrict it; give "
                            "each person a login role of their own and keep this one to "
                            "administrators") if role == where.owner else
                          _("{role} is a superuser: grants cannot restrict it; give each person "
                            "a login role of their own and keep this one to administrators"))
                         .format(role=role))
    r, s = ident(role), ident(where.schema)
    out = [] if found is not None else [f"CREATE ROLE {r} LOGIN"]
    out += [f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {r}",
            f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {r}",
            f"GRANT USAGE ON SCHEMA {s} TO {r}",
            f"GRANT SELECT ON {', '.join(f'{s}.{t}' for t in TABLES)} TO {r}"]
    for table, privileges in sorted(writes(level).items()):
        whole = sorted(p for p in privileges if "(" not in p)
        columns = sorted(p[7:-1] for p in privileges if p.startswith("UPDATE("))
        if whole:
            out.append(f"GRANT {', '.join(whole)} ON {s}.{table} TO {r}")
        if columns:
            out.append(f"GRANT UPDATE ({', '.join(columns)}) ON {s}.{table} TO {r}")
    sequences = [conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                              {"t": f"{s}.{t}", "c": c}).scalar_one()
                 for t, c in SEQUENCES.get(level, [])]
    if sequences:
        out.append(f"GRANT USAGE ON SEQUENCE {', '.join(sequences)} TO {r}")
    return out


def apply(conn: Connection, statements: list[str]) -> None:
    for stmt in statements:
        conn.exec_driver_sql(stmt)


# --------------------------------------------------------------------------- db check


@dataclass
class RoleReport:
    role: str
    level: str  # read-only | person | service | more
    extra: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"role": self.role, "level": self.level, "extra": self.extra}


_TABLE_ACL = """
SELECT coalesce(r.rolname, 'PUBLIC') AS grantee, c.relname, c.relkind, NULL AS col,
       a.privilege_type, a.is_grantable
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
WHERE n.nspname = :schema AND c.relname LIKE 'wf%' AND c.relkind IN ('r', 'S', 'p')
UNION ALL
SELECT coalesce(r.rolname, 'PUBLIC'), c.relname, c.relkind, t.attname, a.privilege_type,
       a.is_grantable
FROM pg_attribute t JOIN pg_class c ON c.oid = t.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL aclexplode(t.attacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
WHERE n.nspname = :schema AND c.relname LIKE 'wf%' AND t.attnum > 0
UNION ALL
SELECT coalesce(r.rolname, 'PUBLIC'), p.proname, 'f', NULL, a.privilege_type, a.is_grantable
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
LEFT JOIN pg_roles r ON r.oid = a.grantee
WHERE n.nspname = :schema AND p.prorettype <> 'trigger'::regtype
UNION ALL
SELECT coalesce(r.rolname, 'PUBLIC'), n.nspname, 'n', NULL, a.privilege_type, a.is_grantable
FROM pg_namespace n CROSS JOIN LATERAL aclexplode(n.nspacl) a
LEFT JOIN pg_roles r ON r.oid = a.grantee WHERE n.nspname = :schema
"""


def _allowed(kind: str, name: str, column: str | None, privilege: str) -> bool:
    """Within the service shape (the most any non-owner role needs)?"""
    if kind == "n":
        return privilege == "USAGE"
    if kind == "f":
        return name in CALLABLE and privilege == "EXECUTE"
    if kind == "S":
        return privilege in ("USAGE", "SELECT")
    if privilege == "SELECT":
        return True
    wanted = SERVICE.get(name, set())
    return privilege in wanted if column is None else f"{privilege}({column})" in wanted


def _describe(kind: str, name: str, column: str | None, privilege: str,
              grantable: bool) -> str:
    what = {"n": "schema", "f": "function", "S": "sequence"}.get(kind, "")
    on = f"{what} {name}".strip()
    if kind in ("r", "p") and column is None and privilege in ("UPDATE", "INSERT"):
        on += " (every column)" if privilege == "UPDATE" else ""
    col = f" ({column})" if column else ""
    return f"{privilege}{col} on {on}" + (" WITH GRANT OPTION" if grantable else "")


def _level(privileges: set[tuple[str, str, str | None, str]]) -> str:
    writes_ = {(n, p if c is None else f"{p}({c})") for k, n, c, p in privileges
               if k in ("r", "p") and p != "SELECT"}
    for level in LEVELS:
        if all(p in writes(level).get(n, set()) for n, p in writes_):
            return level
    return "more"


def check(conn: Connection) -> list[RoleReport]:
    """Every role with privileges on the workflow schema (PUBLIC too), with what it has beyond
    the service shape; members of the owner role and roles that can make themselves members.
    The owner and superusers are administrators: not listed."""
    _postgresql(conn, "check")
    where = place(conn)
    supers = set(conn.execute(text("SELECT rolname FROM pg_roles WHERE rolsuper")).scalars())
    held: dict[str, set] = {}
    extra: dict[str, list[str]] = {}
    for grantee, name, kind, column, privilege, grantable in conn.execute(
            text(_TABLE_ACL), {"schema": where.schema}):
        if grantee == where.owner or grantee in supers:
            continue
        if grantable or not _allowed(kind, name, column, privilege):
            extra.setdefault(grantee, []).append(
                _describe(kind, name, column, privilege, grantable))
        elif kind != "f":  # everyone may ask wf_trusted(): that alone is not a role's shape
            held.setdefault(grantee, set()).add((kind, name, column, privilege))
    for member in conn.execute(text(
            "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member "
            "WHERE m.roleid = (SELECT oid FROM pg_roles WHERE rolname = :o) "
            "AND NOT r.rolsuper"), {"o": where.owner}).scalars():
        extra.setdefault(member, []).append(f"member of the owner role {where.owner}: can "
                                            "change the tables and drop the guards")
    if conn.execute(text("SELECT current_setting('server_version_num')::int")).scalar() < 160000:
        for role in conn.execute(text("SELECT rolname FROM pg_roles WHERE rolcreaterole "
                                      "AND NOT rolsuper AND rolname <> :o"),
                                 {"o": where.owner}).scalars():
            if role in held or role in extra:
                extra.setdefault(role, []).append(
                    f"CREATEROLE: can make itself a member of {where.owner}")
    reports = [RoleReport(role, "more" if role in extra else _level(held.get(role, set())),
                          sorted(set(extra.get(role, []))))
               for role in sorted(set(held) | set(extra))]
    return reports


def check_text(reports: list[RoleReport]) -> str:
    if not reports:
        return _("no role other than the owner has privileges on the workflow tables")
    width = max(len(r.role) for r in reports)
    lines = []
    for r in reports:
        what = (_("more than workflow needs: {privileges}").format(privileges="; ".join(r.extra))
                if r.extra else r.level)
        lines.append(f"{r.role:<{width}}  {what}")
    return "\n".join(lines)


def refuse_extra(reports: list) -> None:
    """``workflow db check``: AuditError (exit 7) when a role has more than workflow needs."""
    over = [r for r in reports if r.extra]
    if over:
        first = over[0].role
        raise AuditError((ngettext(
            "{n} role with more than workflow needs: {role} has {extra}; revoke it",
            "{n} roles with more than workflow needs: {role} has {extra}; revoke it", len(over))
            if first == "PUBLIC" else ngettext(
            "{n} role with more than workflow needs: {role} has {extra}; revoke it (workflow "
            "db grant {role} --apply sets exactly what it needs)",
            "{n} roles with more than workflow needs: {role} has {extra}; revoke it (workflow "
            "db grant {role} --apply sets exactly what it needs)", len(over))).format(
            n=len(over), role=first, extra=over[0].extra[0]))
