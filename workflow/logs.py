"""structlog set-up: JSON lines when stderr is not a terminal, key=value on a terminal.

Logs go to stderr only, so ``--json`` output on stdout stays one clean document. structlog
(with the rich it pulls in) is imported at the first log call, not before: a command that
logs nothing, such as ``show``, does not pay the ~50 ms import.
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
Progress = Callable[[str, int, int], None]  # (step, done, total): long work says how far it is


def no_progress(step: str, done: int, total: int) -> None:
    """The default progress callback: says nothing (the CLI passes a bar on a terminal)."""


def configure(level: str | None = None, stream=None) -> None:
    """Records where and what to log; applied when something first logs."""
    _pending.clear()
    _pending.update(level=level, stream=stream or sys.stderr)
    if "structlog" in sys.modules:
        _apply()


def _apply() -> None:
    import structlog

    settings = _pending or {"level": None, "stream": sys.stderr}
    stream = settings["stream"]
    name = (settings["level"] or os.environ.get("WORKFLOW_LOG_LEVEL") or "info").lower()
    renderer = (structlog.dev.ConsoleRenderer(colors=False) if stream.isatty()
                else structlog.processors.JSONRenderer(ensure_ascii=False))
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS.get(name, logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    _pending.clear()


class _Logger:
    """A structlog logger made on first use."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str):
        import structlog

        if _pending or not structlog.is_configured():
            _apply()
        return getattr(structlog.get_logger(self._name), attr)


def get_logger(name: str) -> Any:
    return _Logger(name)
