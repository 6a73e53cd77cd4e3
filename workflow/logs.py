"""structlog set-up: JSON lines when stderr is not a terminal, key=value on a terminal.

Logs go to stderr only, so ``--json`` output on stdout stays one clean document. structlog
(with the rich it pulls in) is imported at the first log call at or above the level, not
before: a command that logs nothing, such as ``show``, or only below the level (a move's
``task_moved`` with ``WORKFLOW_LOG_LEVEL=warning``) does not pay the ~50-100 ms import.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import Any

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}
_pending: dict[str, Any] = {}  # the settings of the last configure(), not yet applied
_chosen: dict[str, Any] = {"level": None}  # the level of the last configure(), kept
Progress = Callable[[str, int, int], None]  # (step, done, total): long work says how far it is


def no_progress(step: str, done: int, total: int) -> None:
    """The default progress callback: says nothing (the CLI passes a bar on a terminal)."""


def configure(level: str | None = None, stream=None) -> None:
    """Records where and what to log; applied when something first logs."""
    _pending.clear()
    _pending.update(level=level, stream=stream or sys.stderr)
    _chosen["level"] = level
    if "structlog" in sys.modules:
        _apply()


def threshold() -> int:
    """The lowest level logged: configure()'s, else WORKFLOW_LOG_LEVEL, else info."""
    name = (_chosen["level"] or os.environ.get("WORKFLOW_LOG_LEVEL") or "info").lower()
    return LEVELS.get(name, logging.INFO)


def _apply() -> None:
    import structlog

    stream = _pending.get("stream") or sys.stderr
    renderer = (structlog.dev.ConsoleRenderer(colors=False) if stream.isatty()
                else structlog.processors.JSONRenderer(ensure_ascii=False))
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(threshold()),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    _pending.clear()


def _drop(*_args: Any, **_kw: Any) -> None:
    """A log call below the level: nothing to do, nothing to import."""


class _Logger:
    """A structlog logger made on first use at or above the level."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str):
        if LEVELS.get(attr, logging.CRITICAL) < threshold():
            return _drop
        import structlog

        if _pending or not structlog.is_configured():
            _apply()
        return getattr(structlog.get_logger(self._name), attr)


def get_logger(name: str) -> Any:
    return _Logger(name)
