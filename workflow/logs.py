"""structlog set-up: JSON lines when stderr is not a terminal, key=value on a terminal.

Logs go to stderr only, so ``--json`` output on stdout stays one clean document.
"""

from __future__ import annotations

import logging
import os
import sys

import structlog

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}


def configure(level: str | None = None, stream=None) -> None:
    stream = stream or sys.stderr
    name = (level or os.environ.get("WORKFLOW_LOG_LEVEL") or "info").lower()
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
