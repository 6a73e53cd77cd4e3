"""The message a recipient gets: one digest of its items, as data and as Vietnamese text.

The JSON carries the structured items (for a gateway that formats its own) and ``text``, ready
to send as it is (Zalo, SMS, mail). Times are local to the plan's timezone.

The text is Vietnamese whatever the interface's language (``--lang``, the locale): it is
written for the officials who receive it, not for the account whose sweep sends it (a service
under ``LANG=C`` must not send English to a Sở).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfoNotFoundError

from workflow.clock import DEFAULT_TIMEZONE, local, read_iso, zone

NULLABLE = ("ref", "note", "due", "blocked_by", "blocked_by_name")
BLANK: dict[str, Any] = dict.fromkeys(
    ("plan", "plan_title", "task", "title", "action", "level", "reason", "escalated_to",
     "escalated_to_name", "must_act_name", "lead_name", "at"), "?") | {
    "timezone": DEFAULT_TIMEZONE} | dict.fromkeys(NULLABLE)
REASONS = {"blocked": "vướng mắc", "overdue": "quá hạn",
           "stalled": "chậm tiến độ (không có cập nhật)", "due_soon": "sắp đến hạn"}


def digest(items: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """One message for one recipient of one plan; ``items`` in outbox order, each with ``id``.

    Items are data read back from the database: a field missing from one (a row written by
    an older version, or by hand) shows as "?", never stops the delivery."""
    items = [{**BLANK, **{k: v for k, v in i.items() if v is not None or k in NULLABLE}}
             for i in items]
    first = items[0]
    tz = _timezone(first["timezone"])
    message = {
        "type": "escalation_digest", "plan": first["plan"], "plan_title": first["plan_title"],
        "recipient": first["escalated_to"], "recipient_name": first["escalated_to_name"],
        "at": local(now, tz).isoformat(), "count": len(items),
        "ids": [i["id"] for i in items], "items": items,
    }
    return message | {"text": text(message)}


def text(message: dict[str, Any]) -> str:
    count = message["count"]
    lines = [f"[{message['plan_title']}] Gửi {message['recipient_name']}: {count} nhiệm vụ "
             f"cần xử lý (tính đến {_when(message['at'])}).", ""]
    for n, item in enumerate(message["items"], 1):
        lines += item_lines(n, item)
    lines.append(f"Mã kế hoạch: {message['plan']}.")
    return "\n".join(lines)


def item_lines(n: int, item: dict[str, Any]) -> list[str]:
    ref = f"{item['ref']} " if item.get("ref") else ""
    step = ("Nhắc việc" if item["action"] == "reminder"
            else ("Báo lên" if item["action"] == "raised"
                  else "Chưa được giải quyết, chuyển lên") + f" cấp {item['level']}")
    lines = [f"{n}. {ref}{item['title']} (mã {item['task']})",
             f"   Lý do: {REASONS.get(item['reason'], item['reason'])}. {step}, lúc "
             f"{_when(item['at'])}.",
             f"   Đơn vị phải xử lý: {item['must_act_name']}; chủ trì: {item['lead_name']}."]
    if item.get("note"):
        by = f" ({item['blocked_by_name']} nêu)" if item.get("blocked_by_name") else ""
        lines.append(f"   Nội dung vướng mắc{by}: \"{item['note']}\"")
    if item.get("due"):
        lines.append(f"   Hạn: {_day(item['due'])}.")
    return [*lines, ""]


def _timezone(name: object) -> str:
    try:
        zone(name)  # type: ignore[arg-type]
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return DEFAULT_TIMEZONE
    return str(name)


def _when(iso: object) -> str:
    moment = read_iso(iso) if isinstance(iso, str) else None
    return f"{moment:%H:%M} ngày {moment:%d/%m/%Y}" if moment else str(iso)


def _day(iso: object) -> str:
    moment = read_iso(iso) if isinstance(iso, str) else None
    return f"{moment:%d/%m/%Y}" if moment else str(iso)
