"""Where escalations go: decided only by the configuration of the host that delivers.

A channel is a command (gets the JSON on stdin) and/or a webhook (gets it as a POST). Channels
come from this process's environment and from a TOML file the delivering account owns; nothing
read from the database (a plan, an outbox row) is ever run or used as a URL. A plan may only
name a channel (``notify: zalo-so-y-te``); a plan that names none uses the channel ``default``.

    WORKFLOW_NOTIFY_COMMAND / WORKFLOW_NOTIFY_WEBHOOK   the channel "default"
    WORKFLOW_NOTIFY_CONFIG=/etc/workflow/notify.toml    named channels, and the budget
    WORKFLOW_DELIVERY_BUDGET=5                          seconds one sweep may spend delivering

    # /etc/workflow/notify.toml (owned by the account running watch, not writable by others)
    budget = 5
    [channels.default]
    command = "/usr/local/bin/send-zalo"
    [channels.zalo-so-y-te]
    webhook = "https://gateway.example/so-y-te"
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field

from workflow.errors import UsageError
from workflow.i18n import _
from workflow.plan.sections import CHANNEL_NAME_RE, CHANNELS_CONFIGURED_BY

DEFAULT = "default"
DEFAULT_BUDGET_S = 5.0
NAME_RE = CHANNEL_NAME_RE  # what a plan's notify may name (workflow.plan.sections)
CONFIGURED_BY = CHANNELS_CONFIGURED_BY


class ConfigError(UsageError):
    """The delivering host's notify configuration cannot be used (exit 2)."""


@dataclass(frozen=True)
class Channel:
    name: str
    command: tuple[str, ...] = ()
    webhook: str | None = None


@dataclass(frozen=True)
class HostConfig:
    channels: dict[str, Channel] = field(default_factory=dict)
    budget_s: float = DEFAULT_BUDGET_S

    def channel(self, name: str | None) -> Channel | None:
        """The channel a plan's ``notify`` names (None: the default), if this host has it."""
        return self.channels.get(name or DEFAULT)


def host_config(environ: Mapping[str, str] | None = None) -> HostConfig:
    """Reads the environment and the config file now: the channel is decided at delivery."""
    env = os.environ if environ is None else environ
    channels: dict[str, Channel] = {}
    budget: object = DEFAULT_BUDGET_S
    path = env.get("WORKFLOW_NOTIFY_CONFIG")
    if path:
        data = _read_file(path)
        budget = data.get("budget", budget)
        tables = data.get("channels", {})
        if not isinstance(tables, dict):
            raise ConfigError(_("{path}: channels: expected tables such as [channels.default]")
                              .format(path=path))
        for name, table in tables.items():
            channels[name] = _channel(f"{path}: channels.{name}", name, table)
    from_env = {k: v for k, v in (("command", env.get("WORKFLOW_NOTIFY_COMMAND")),
                                  ("webhook", env.get("WORKFLOW_NOTIFY_WEBHOOK"))) if v}
    if from_env:  # the environment's channel replaces the file's default
        channels[DEFAULT] = _channel("WORKFLOW_NOTIFY_*", DEFAULT, from_env)
    budget = env.get("WORKFLOW_DELIVERY_BUDGET") or budget
    return HostConfig(channels, _budget(budget))


def _read_file(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            info = os.fstat(f.fileno())
            _check_owner(path, info)
            return tomllib.load(f)
    except OSError as err:
        raise ConfigError(_("WORKFLOW_NOTIFY_CONFIG {path}: cannot read it ({reason})").format(
            path=path, reason=err.strerror or err)) from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(_("{path}: not valid TOML: {error}").format(path=path,
                                                                      error=err)) from err


def _check_owner(path: str, info: os.stat_result) -> None:
    """The file decides what runs: only its owner (this account or root) may change it."""
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(_("WORKFLOW_NOTIFY_CONFIG {path}: not a regular file").format(
            path=path))
    if hasattr(os, "geteuid") and info.st_uid not in (os.geteuid(), 0):
        raise ConfigError(_("WORKFLOW_NOTIFY_CONFIG {path}: owned by uid {uid}, not by this "
                            "account or root; its commands would run as this account").format(
            path=path, uid=info.st_uid))
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ConfigError(_("WORKFLOW_NOTIFY_CONFIG {path}: writable by others; fix with: chmod "
                            "go-w {quoted}").format(path=path, quoted=shlex.quote(path)))


def _channel(where: str, name: str, table: object) -> Channel:
    if not NAME_RE.match(name):
        raise ConfigError(_("{where}: a channel name is lowercase letters, digits and '-'")
                          .format(where=where))
    if not isinstance(table, dict) or not table:
        raise ConfigError(_('{where}: expected command = "..." and/or webhook = "https://..."')
                          .format(where=where))
    unknown = set(table) - {"command", "webhook"}
    if unknown:
        raise ConfigError(_("{where}: unknown key {key}; allowed keys are command, webhook")
                          .format(where=where, key=sorted(unknown)[0]))
    command, webhook = table.get("command"), table.get("webhook")
    for key, value in (("command", command), ("webhook", webhook)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigError(_("{where}: {key} must be non-empty text").format(where=where,
                                                                                key=key))
    if webhook is not None and not re.match(r"^https?://[^\s/]+", webhook):
        raise ConfigError(_("{where}: webhook {url!r} is not an http(s) URL").format(
            where=where, url=webhook))
    try:
        argv = tuple(shlex.split(command)) if command else ()
    except ValueError as err:
        raise ConfigError(_("{where}: command cannot be split into words: {error}").format(
            where=where, error=err)) from err
    return Channel(name, argv, webhook)


def _budget(value: object) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 < seconds <= 3600:
        raise ConfigError(_("delivery budget {value!r}: give seconds, more than 0 and at most "
                            "3600, e.g. WORKFLOW_DELIVERY_BUDGET=5").format(value=value))
    return seconds
