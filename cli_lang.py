"""The command line in the interface's language (``workflow.i18n``): which language, every
command's help, and Click's own words.

``main`` picks the language (``pick``) before anything prints: ``--lang`` anywhere on the line
(a global option, also accepted after the command name), else ``WORKFLOW_LANG``, else the
locale. Typer reads help texts when ``cli.py`` is imported, before the language is known, so
they are written in English and marked with ``N_()`` where they are declared (HELP below, the
options' ``help=``); ``localize`` sets the shown help of every command and option of the Click
tree from that English text, and only walks the tree when the language changed since the last
call (English, the language it was built in, never walks it). Click (Typer's vendored copy) does
not use gettext: its words ("Usage:", the section headings, "[default: …]", its usage errors)
are translated here, by the help formatter (``Formatter``) and ``usage_message``.
"""

from __future__ import annotations

import contextlib
import functools
import re

import typer

from workflow.errors import UsageError
from workflow.i18n import DEFAULT, LANGUAGES, N_, _, choose, language, set_language

HELP = {  # command path: its help (the root's is "")
    "": N_("Run Vietnamese implementation plans (Kế hoạch) as state machines.\n\n"
           "Example: workflow load definitions/son-la-2024-ttyt.yaml && workflow tasks\n\n"
           "Language: --lang vi (or WORKFLOW_LANG=vi, or a vi_* locale) for Vietnamese."),
    "audit": N_("Check the tamper-evident history."),
    "db": N_("Upgrade the database's schema; copy plans between databases; grant and check "
             "roles (PostgreSQL)."),
    "members": N_("Who may act for which agency (a plan without members is open to anyone)."),
    "validate": N_("Check definition files; change nothing.\n\n"
                   "Example: workflow validate --explain definitions/*.yaml"),
    "load": N_("Create the plan from a definition; loading the same file again changes "
               "nothing.\n\nExample: workflow load definitions/son-la-2024-ttyt.yaml\n"
               'Example: workflow load son-la.yaml --upgrade --as so-y-te --note "QĐ '
               '123/QĐ-UBND"'),
    "plans": N_("List plans with the number of tasks in each state.\n\n"
                "Example: workflow plans --json"),
    "tasks": N_("List a plan's tasks.\n\n"
                "Example: workflow tasks --agency so-tai-chinh --overdue --at 2024-04-30"),
    "show": N_("One task: state, lead, support, due, dependencies, open escalation, last "
               "moves.\n\nExample: workflow show dieu-chuyen-tai-san --at 2024-05-15T17:00"),
    "history": N_("The moves and escalations, oldest first; filter them, or export them.\n\n"
                  "Example: workflow history --agency so-tai-chinh --since 2024-04-01 "
                  "--format csv -o h.csv"),
    "summary": N_("Per lead agency: done on time, done late, overdue, not yet due, blocked, "
                  "escalated.\n\nExample: workflow summary --at 2024-06-30 --json"),
    "escalate": N_("Run one escalation sweep now (every plan unless --plan); print what "
                   "changed.\n\nExample: workflow escalate --json  (with "
                   "WORKFLOW_NOW=2024-05-20 to simulate a date)"),
    "escalations": N_("List open escalations: task, agency, level, reason, age.\n\n"
                      "Example: workflow escalations"),
    "watch": N_("Run the sweep on a schedule until stopped (SIGINT/SIGTERM).\n\n"
                "Example: workflow watch --every 15m"),
    "audit verify": N_("Check that the history has not been altered (exit 7 if it has).\n\n"
                       "Example: workflow audit verify --head 3f1c0a9be2d4c7f1"),
    "members add": N_("Let PERSON act for AGENCY (members of the coordinator or the issuer "
                      "only).\n\nThe first member of a plan must be added to the coordinator "
                      "or the issuer; from then on a move's --as must name an agency of the "
                      "person making it.\n\n"
                      "Example: workflow members add nguyen so-tai-chinh --plan son-la-2024-ttyt"),
    "members remove": N_("Stop PERSON acting for AGENCY (members of the coordinator or the "
                         "issuer only).\n\nThe last member of the coordinator and issuer cannot "
                         "be removed while others remain.\n\n"
                         "Example: workflow members remove nguyen so-tai-chinh"),
    "members list": N_("List who may act for which agency; say so when the plan is open to "
                       "anyone.\n\nExample: workflow members list --agency so-y-te --json"),
    "start": N_("Start a task: assigned → in_progress.\n\nWho may: the lead. Also required: "
                "every dependency approved; not before its start date.\n\n"
                "Example: workflow start quyet-toan-2023 --as so-y-te"),
    "report": N_("Report a task done: in_progress → reported.\n\nWho may: the lead. Also "
                 "required: a note: what was done. With --html/--docx instead: write the "
                 "plan's report, a page with the Gantt chart and the graph, or the Word "
                 "report.\n\nExample: workflow report quyet-toan-2023 --as so-y-te --note "
                 '"Đã gửi Sở Tài chính"\nExample: workflow report --html tinh-hinh.html '
                 "--docx bao-cao.docx --at 2024-06-30"),
    "approve": N_("Approve a reported task: reported → approved (final).\n\nWho may: the "
                  "approver (the task's approver, else the coordinator, else the issuer when "
                  "the coordinator leads the task). Also required: nothing more.\n\n"
                  "Example: workflow approve quyet-toan-2023 --as ubnd-tinh"),
    "return": N_("Send a reported task back: reported → in_progress.\n\nWho may: the "
                 "approver. Also required: a note: why it is sent back.\n\n"
                 'Example: workflow return quyet-toan-2023 --as ubnd-tinh --note "Thiếu số '
                 'liệu"'),
    "block": N_("Report a difficulty that blocks a task: assigned, in_progress or reported → "
                "blocked.\n\nWho may: the lead or a supporting agency. Also required: a note: "
                "the difficulty. The block escalates at once (see workflow escalations).\n\n"
                'Example: workflow block kiem-ke-tai-san --as ttyt-huyen --note "Thiếu biên '
                'bản"'),
    "unblock": N_("Resolve a block: blocked → the state it was blocked from.\n\nWho may: the "
                  "lead, the coordinator or the issuer. Also required: a note: how it was "
                  "resolved.\n\nExample: workflow unblock kiem-ke-tai-san --as so-y-te --note "
                  '"Đã bổ sung"'),
    "extend": N_("Extend a deadline (gia hạn) to a later day; the original is kept.\n\nWho "
                 "may: the coordinator or the issuer, not on an approved task. Also required: a "
                 "note: the reason. A late extension does not make the task on time.\n\n"
                 'Example: workflow extend 2.1 --to 30/9/2024 --as ubnd-tinh --note "Công văn '
                 '12/UBND"'),
    "import": N_("Draft a definition from the plan's own document; lines to check are marked "
                 "CHECK.\n\nExample: workflow import ke-hoach-179.docx --output "
                 "definitions/dong-nai.yaml"),
    "export": N_("Write the plan in the phụ lục layout, one row per task, with its state.\n\n"
                 "Example: workflow export --output phu-luc.xlsx --at 2024-06-30"),
    "graph": N_("Print the dependency graph between tasks, nodes marked by state (groups "
                "folded).\n\nExample: workflow graph --format dot | dot -Tpng > graph.png"),
    "db upgrade": N_("Bring the database's schema to this workflow's revision (an empty one "
                     "is created).\n\nRun it after installing a newer workflow; back the "
                     "database up first. Safe to repeat: a database already at this revision "
                     "is left alone.\n\n"
                     "Example: workflow db upgrade --db "
                     "postgresql://workflow@db.internal/workflow"),
    "db copy": N_("Copy plans with their whole history into another database, hash chain "
                  "intact.\n\nVerifies the source's history first and the copy's after, in one "
                  "transaction: nothing is written unless every plan copied and verified. Plans "
                  "already in the target are refused (exit 6). The source is only read.\n\n"
                  "Example: workflow db copy --from workflow.db --to "
                  "postgresql://workflow@db.internal/workflow"),
    "db grant": N_("Print (or apply) the grants for a person's role on PostgreSQL: exactly what "
                   "workflow needs, after revoking what the role had on the tables.\n\n"
                   "Example: workflow db grant nguyen --apply --db "
                   "postgresql://workflow@db.internal/workflow"),
    "db check": N_("List the roles with privileges on the tables; exit 7 if one has more than "
                   "db grant gives.\n\n"
                   "Example: workflow db check --db postgresql://workflow@db.internal/workflow"),
}

# Click's own words, as its vendored copy in Typer writes them (no gettext there): the help
# formatter and usage_message translate them; N_() keeps them in the catalog.
WORDS = {"Usage:": N_("Usage:"), "[OPTIONS]": N_("[OPTIONS]"),
         "COMMAND [ARGS]...": N_("COMMAND [ARGS]..."),
         "Show this message and exit.": N_("Show this message and exit."),
         "Arguments": N_("Arguments"), "Options": N_("Options"), "Commands": N_("Commands"),
         "required": N_("required"), "default": N_("default: {value}"),
         "env var": N_("env var: {value}")}
ERRORS = [(re.compile(pattern), message) for pattern, message in (
    (r"No such command '(?P<name>.+?)'\.(?: Did you mean (?P<options>.+)\?)?$",
     N_("no such command: {name}")),
    (r"No such option: (?P<name>\S+)(?: \(Possible options: (?P<options>.+)\))?$",
     N_("no such option: {name}")),
    (r"Missing argument '(?P<name>.+)'\.$", N_("missing argument {name}")),
    (r"Missing option '(?P<name>.+)'\.$", N_("missing option {name}")),
    (r"Option '(?P<name>.+)' requires (?:an argument|\d+ arguments)\.$",
     N_("option {name} needs a value")),
    (r"Option '(?P<name>.+)' does not take a value\.$", N_("option {name} takes no value")),
    (r"Got unexpected extra arguments?(?:\(s\))? \((?P<name>.+)\)$",
     N_("unexpected argument: {name}")),
    (r"Invalid value for (?P<name>.+?): (?P<detail>.+)$",
     N_("invalid value for {name}: {detail}")),
)]


def pick(args: list[str]) -> list[str]:
    """Sets the language from ``--lang X`` / ``--lang=X`` (anywhere before a lone ``--``),
    ``WORKFLOW_LANG`` or the locale; returns the arguments without ``--lang``. An unknown
    language is a usage error (exit 2), said in the environment's language."""
    explicit, rest = None, []
    words = iter(args)
    for word in words:
        if word == "--":
            rest += [word, *words]
        elif word == "--lang" or word.startswith("--lang="):
            explicit = word.partition("=")[2] if "=" in word else next(words, "")
        else:
            rest.append(word)
    set_language(DEFAULT)
    with contextlib.suppress(UsageError):  # an unknown --lang is said in the environment's
        set_language(choose(None))
    if explicit == "":
        raise UsageError(_("--lang needs a language: {languages}").format(
            languages=", ".join(LANGUAGES)))
    set_language(choose(explicit))  # WORKFLOW_LANG unknown: said in English
    return rest


def prepare(command) -> None:
    """Once, on the built tree: remember every English help text, give each command the
    translating formatter, and show arguments as their metavar (``TASK``, ``[PATTERN]``):
    Typer 0.29 adds the Python type (``TASK <str>``) and braces (``{TASK}``), which read as
    code."""
    for obj in _tree(command):
        obj._english = (obj.help, getattr(obj, "options_metavar", None),
                        getattr(obj, "subcommand_metavar", None))
        if isinstance(obj, typer.core.TyperArgument):
            obj.display_type_rich = lambda ctx: None
            obj._usage_display_name = functools.partial(_usage_name, obj)
        elif isinstance(obj, typer._click.Command):
            obj.context_class = Context
    command._language = DEFAULT


def localize(command) -> None:
    """The tree's help in the current language (a walk only when it changed)."""
    if command._language == language():
        return
    for obj in _tree(command):
        help_text, options, subcommand = obj._english
        obj.help = _(help_text) if help_text else help_text
        if options:
            obj.options_metavar = _(options)
        if subcommand:
            obj.subcommand_metavar = _(subcommand)
    command._language = language()


def _tree(command):
    yield command
    yield from command.params
    for sub in getattr(command, "commands", {}).values():
        yield from _tree(sub)


def _usage_name(param) -> str:
    name = param.display_name_raw if param.required else f"[{param.display_name_raw}]"
    return name + ("..." if param.nargs != 1 else "")


def usage_message(message: str) -> str:
    """One of Click's usage errors in the interface's language (its own words otherwise)."""
    if language() == DEFAULT:
        return message
    for pattern, msgid in ERRORS:
        found = pattern.match(message)
        if found:
            found = {"options": None, "detail": None, **found.groupdict()}
            text = _(msgid).format(name=found["name"], detail=found["detail"])
            if found["options"]:
                text += _("; did you mean {options}?").format(options=found["options"])
            return text
    return message


class Formatter(typer._click.HelpFormatter):
    """Click's help formatter, in the interface's language: the usage prefix, the section
    headings, the help option's help and the ``[default: …]`` / ``[required]`` notes."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, _(WORDS["Usage:"]) + " " if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        super().write_heading(_(WORDS.get(heading, heading)))

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
        if language() != DEFAULT:
            rows = [(term, _notes(text)) for term, text in rows]
        super().write_dl(rows, col_max, col_spacing)


NOTES = re.compile(r"(?:^|  )\[(?P<notes>[^\[\]]+)\]$")


def _notes(text: str) -> str:
    if text in WORDS:
        return _(WORDS[text])
    found = NOTES.search(text)
    if found is None:
        return text
    notes = []
    for note in found["notes"].split("; "):
        key, _sep, value = note.partition(": ")
        notes.append(_(WORDS[key]).format(value=value) if key in WORDS else note)
    return f"{text[:found.start('notes') - 1]}[{'; '.join(notes)}]"


class Context(typer.Context):
    formatter_class = Formatter
