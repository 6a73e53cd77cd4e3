"""The Vietnamese words every report uses: states, the government's buckets, assessments,
event kinds, escalation reasons, and dates as the provinces write them (dd/mm/yyyy).

They are also the one source of those words for the command line's text in Vietnamese
(``state``, ``event``, ``reason``): English text shows the contract's own ids (``in_progress``),
as JSON does in every language, so these words are not repeated in the gettext catalog.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from workflow.i18n import language
from workflow.rules.kinds import state_word

STATE = {"assigned": "Đã giao", "in_progress": "Đang thực hiện", "reported": "Đã báo cáo",
         "approved": "Đã phê duyệt", "blocked": "Vướng mắc"}

# The summary's columns (``reports.summary``) with the words the government's reports use.
BUCKETS = (("tasks", "Số nhiệm vụ"), ("on_time", "Hoàn thành đúng hạn"),
           ("done_late", "Hoàn thành trễ hạn"), ("not_yet_due", "Chưa đến hạn"),
           ("overdue", "Quá hạn"), ("awaiting_approval", "Chờ phê duyệt"),
           ("blocked", "Vướng mắc"), ("escalated", "Chuyển cấp trên"))

ON_TIME, LATE, OVERDUE, NOT_DUE = "đúng hạn", "trễ hạn", "quá hạn", "chưa đến hạn"

REASON = {"blocked": "vướng mắc", "overdue": "quá hạn", "stalled": "chậm tiến độ"}

EVENT = {"start": "bắt đầu thực hiện", "report": "báo cáo", "approve": "phê duyệt",
         "return": "trả lại",
         "block": "báo vướng mắc", "unblock": "gỡ vướng mắc", "load": "nạp kế hoạch",
         "upgrade": "cập nhật kế hoạch", "created": "tạo kỳ báo cáo", "extend": "gia hạn",
         "escalation_raised": "chuyển cấp trên", "escalation_climbed": "chuyển lên cấp cao hơn",
         "escalation_resolved": "kết thúc chuyển cấp", "member_added": "thêm thành viên",
         "member_removed": "bớt thành viên", "reminder": "nhắc việc"}


def state(value: str) -> str:
    """A state in running text: ``in_progress`` in English, ``đang thực hiện`` in Vietnamese."""
    return state_word(value)


def event(kind: str) -> str:
    """An event kind in text: ``escalation_raised`` in English, ``chuyển cấp trên`` in
    Vietnamese (a kind this version does not know stays as it is)."""
    return EVENT.get(kind, kind) if language() == "vi" else kind


def reason(value: str) -> str:
    """An escalation's reason: ``stalled`` in English, ``chậm tiến độ`` in Vietnamese."""
    return REASON.get(value, value) if language() == "vi" else value


def assessment(task: dict[str, Any]) -> str:
    """Đánh giá of one task, classified as ``reports.summary`` counts it."""
    if task["state"] == "approved":
        return ON_TIME if task.get("on_time") is not False else LATE
    return OVERDUE if task.get("overdue") else NOT_DUE


def day(value: date | datetime | str | None) -> str:
    """A date as the provinces write it (02/04/2024); '' for none."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return value.strftime("%d/%m/%Y")


def moment(value: datetime) -> str:
    """A local time: 09:00 02/04/2024."""
    return value.strftime("%H:%M %d/%m/%Y")


def long_date(value: date) -> str:
    """'ngày 02 tháng 4 năm 2024': Nghị định 30/2020 writes days below 10 and months below 3
    with a leading zero."""
    month = f"{value.month:02d}" if value.month < 3 else str(value.month)
    return f"ngày {value.day:02d} tháng {month} năm {value.year}"
