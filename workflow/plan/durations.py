"""Durations of a plan: "7d", "36h", "2w", working days "5wd" / "15 ngày làm việc", and "never".

``read_duration`` keeps working days apart from calendar days (a ``Duration`` with unit "wd"
can only be turned into days with a working-day calendar); ``parse_duration`` is the older
reading of calendar durations as a ``timedelta``.
"""

from __future__ import annotations

import datetime
import re

from workflow.i18n import N_, _
from workflow.plan.datevalues import NEVER, DateParseError, Duration
from workflow.text import MAX_DURATION, DurationError, strip_accents
from workflow.text import parse_duration as _duration

__all__ = ["NEVER", "Duration", "parse_duration", "read_duration"]

_DURATION_HELP = N_("durations are a whole number with h, d or w, e.g. 7d, 36h, 2w")
_HELP = N_('durations are a whole number with h, d, w or wd (working days), e.g. 7d, 36h, 2w, '
           '5wd or "15 ngày làm việc"')
_TOO_LONG = N_("it must be at most ten years (3650d): the engine's times must stay on the "
               "calendar")

_UNITS = {"h": "h", "d": "d", "w": "w", "wd": "wd", "gio": "h", "ngay": "d", "tuan": "w",
          "ngay lam viec": "wd"}
_FORM = re.compile(r"([0-9]{1,6}) ?(wd|h|d|w|gio|ngay lam viec|ngay|tuan)")


def parse_duration(value: object) -> datetime.timedelta:
    """A positive whole number of hours, days or weeks: "36h", "7d", "2w" (any case)."""
    try:
        return _duration(value)
    except DurationError as err:
        reason = {"zero": _("it must be more than zero; {help}").format(help=_(_DURATION_HELP)),
                  "long": _(_TOO_LONG)}.get(err.why, _(_DURATION_HELP))
    raise DateParseError(_("cannot read {value} as a duration: {reason}").format(
        value=_shown(value), reason=reason))


def read_duration(value: object, *, never: bool = False) -> Duration:
    """A positive duration: "36h", "7d", "2w", "5wd", "15 ngày làm việc", "2 tuần"; with
    ``never=True`` also "never" (stall_after: no stalling), returned as NEVER."""
    text = fold_duration(value) if isinstance(value, str) else None
    if never and text in ("never", "khong bao gio"):
        return NEVER
    match = _FORM.fullmatch(text or "")
    if match is None:
        reason = (_('{help}; or "never" for no stalling').format(help=_(_HELP)) if never
                  else _(_HELP))
        raise DateParseError(_("cannot read {value} as a duration: {reason}").format(
            value=_shown(value), reason=reason))
    duration = Duration(int(match[1]), _UNITS[match[2]])
    days = duration.amount * {"h": 1 / 24, "d": 1, "w": 7, "wd": 7 / 5}[duration.unit]
    if not duration.amount:
        raise DateParseError(_("cannot read {value} as a duration: {reason}").format(
            value=_shown(value), reason=_("it must be more than zero; {help}").format(
                help=_(_HELP))))
    if days > MAX_DURATION.days:
        raise DateParseError(_("cannot read {value} as a duration: {reason}").format(
            value=_shown(value), reason=_(_TOO_LONG)))
    return duration


def fold_duration(text: str) -> str:
    """Lower case, one space, no diacritics: "15 Ngày làm việc" -> "15 ngay lam viec"."""
    return strip_accents(" ".join(text.casefold().split()))


def _shown(value: object) -> str:
    text = f'"{" ".join(value.split())}"' if isinstance(value, str) else repr(value)
    return text if len(text) <= 62 else text[:59] + "…" + text[-1]
