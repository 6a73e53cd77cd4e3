"""The interface's language: English (the messages as written) or Vietnamese (gettext catalog).

Every user-visible string is written in English inside ``_()`` (or ``N_()`` where it is a
constant translated when shown) and translated by ``workflow/locale/vi/LC_MESSAGES/workflow.po``,
compiled to the ``.mo`` beside it. The catalog is read on the first translated string, never at
import, so English pays nothing and Vietnamese pays one small file read.

The language is, first to last: ``--lang``, ``WORKFLOW_LANG``, then the POSIX locale variables
(``LC_ALL``, ``LC_MESSAGES``, ``LANG``: ``vi_VN.UTF-8`` means Vietnamese). JSON output is never
translated: ids, states and event kinds there stay the contract's English words.
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Mapping
from pathlib import Path

from workflow.errors import UsageError

DOMAIN = "workflow"
LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = {"en": "English", "vi": "Tiếng Việt"}
DEFAULT = "en"

_state: dict[str, object] = {"lang": DEFAULT, "catalog": None}


def choose(explicit: str | None = None, environ: Mapping[str, str] = os.environ) -> str:
    """The language to speak: an explicit choice (``--lang``) must be known (exit 2 otherwise);
    ``WORKFLOW_LANG`` likewise; a locale variable only picks Vietnamese when it says ``vi``."""
    for source, value in (("--lang", explicit), ("WORKFLOW_LANG", environ.get("WORKFLOW_LANG"))):
        if value:
            code = value.strip().lower().replace("-", "_").split("_")[0].split(".")[0]
            if code not in LANGUAGES:
                known = ", ".join(f"{k} ({v})" for k, v in LANGUAGES.items())
                raise UsageError(_("unknown language {value} in {source}; the languages are: "
                                   "{languages}").format(value=repr(value), source=source,
                                                         languages=known))
            return code
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name)
        if value:  # the first one set decides, as POSIX says
            return "vi" if value.lower().startswith("vi") else DEFAULT
    return DEFAULT


def set_language(lang: str) -> None:
    if lang not in LANGUAGES:
        raise UsageError(_("unknown language {value}; the languages are: {languages}").format(
            value=repr(lang), languages=", ".join(LANGUAGES)))
    _state["lang"], _state["catalog"] = lang, None


def language() -> str:
    return str(_state["lang"])


def _catalog() -> gettext.NullTranslations:
    catalog = _state["catalog"]
    if catalog is None:
        catalog = gettext.translation(DOMAIN, LOCALE_DIR, languages=[language()], fallback=True)
        _state["catalog"] = catalog
    return catalog  # type: ignore[return-value]


def _(message: str) -> str:
    """``message`` in the interface's language (itself in English or when untranslated)."""
    if _state["lang"] == DEFAULT:
        return message
    return _catalog().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    if _state["lang"] == DEFAULT:
        return singular if n == 1 else plural
    return _catalog().ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a constant for extraction; translate it with ``_()`` where it is shown."""
    return message
