"""Bulk inserts that stay fast at 100,000 rows.

On SQLite, SQLAlchemy's per-value type processing (UTC conversion, date formatting) costs
more than SQLite itself. Here only the date and time columns are converted, once per distinct
value, into exactly the text SQLAlchemy's SQLite types store (so reads through SQLAlchemy see
the same values), and the rows go to the driver's ``executemany``. Other databases take the
Core ``insert``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Table
from sqlalchemy.engine import Connection


def _text(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        v = value.astimezone(UTC) if value.tzinfo else value
        return (f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}:"
                f"{v.second:02d}.{v.microsecond:06d}")
    if isinstance(value, date):
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    return value


def _needs_text(table: Table, column: str) -> bool:
    kind = table.c[column].type
    kind = getattr(kind, "impl", kind)  # SQLModel's UTCDateTime decorates DateTime
    return isinstance(kind, DateTime | Date | Boolean)


def sqlite_params(table: Table, rows: list[dict[str, Any]]) -> tuple[str, list[tuple]]:
    """The INSERT statement and its parameter tuples, as SQLAlchemy would store them."""
    columns = list(rows[0])
    get = itemgetter(*columns)
    convert = [i for i, c in enumerate(columns) if _needs_text(table, c)]
    cache: dict[Any, Any] = {}
    params = []
    for row in rows:
        values = get(row)
        if convert:
            values = list(values)
            for i in convert:
                v = values[i]
                found = cache.get(v)
                if found is None and v is not None:
                    found = cache[v] = _text(v)
                values[i] = found
        params.append(tuple(values))
    sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) "
           f"VALUES ({', '.join('?' * len(columns))})")
    return sql, params


def insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(table.insert(), rows)
        return
    conn.exec_driver_sql(*sqlite_params(table, rows))
