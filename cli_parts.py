"""The command line's shared parts (options, the one output, errors on stderr) and the
commands that move a task (start, report, approve, return, block, unblock), write documents
(import, report --html/--docx, export, graph) or manage the database (db upgrade, db copy,
db grant, db check). ``cli.py`` is the entry point and registers these commands; installed,
both live in ``kehoach_workflow``.

As in ``cli.py``, the package is imported inside the commands: ``--help`` stays fast.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Annotated, Any

import typer

from workflow.i18n import N_, _  # light: gettext, read on the first Vietnamese word
from workflow.text import escape, escape_lines, json_safe  # small: unicodedata only

if __package__:  # installed: kehoach_workflow/cli_parts.py, beside cli_lang
    from . import cli_lang as lang
else:  # the repository: at the top
    import cli_lang as lang

Plan = Annotated[str | None, typer.Option(
    "--plan", metavar="PLAN", envvar="WORKFLOW_PLAN", show_envvar=False,
    help=N_("Plan id (WORKFLOW_PLAN); optional with one plan."))]
Db = Annotated[str | None, typer.Option(
    "--db", metavar="DB", envvar="WORKFLOW_DB", show_envvar=False,
    help=N_("SQLAlchemy URL or SQLite file (WORKFLOW_DB); default ./workflow.db."))]
Json = Annotated[bool, typer.Option("--json", help=N_("Print one JSON document on stdout."))]
As = Annotated[str | None, typer.Option(
    "--as", metavar="AGENCY", envvar="WORKFLOW_ACTOR", show_envvar=False,
    help=N_("The agency acting (WORKFLOW_ACTOR)."))]
Note = Annotated[str | None, typer.Option("--note", metavar="NOTE",
                                          help=N_("What was done / why / the difficulty."))]
TaskArg = Annotated[str, typer.Argument(
    metavar="TASK", help=N_("Task id (or the document's numbering, e.g. II.4)."),
    show_default=False)]
At = Annotated[str | None, typer.Option(
    "--at", metavar="WHEN",
    help=N_("As the history says it stood then: a date (its end) or an ISO date-time."))]
Force = Annotated[bool, typer.Option("--force", help=N_("Replace an existing file."))]
Person = Annotated[str, typer.Argument(
    metavar="PERSON", help=N_("The person: their OS user name (SQLite) or database role "
                              "(PostgreSQL)."), show_default=False)]
AgencyArg = Annotated[str, typer.Argument(
    metavar="AGENCY", help=N_("The agency (id, name or alias)."), show_default=False)]
Manages = Annotated[str | None, typer.Option(
    "--as", metavar="AGENCY", help=N_("The agency you manage members for: the coordinator or "
                                      "the issuer (default: the one you are a member of)."))]


def now():
    from workflow import clock  # the package: heavy, see the module docstring
    return clock.now()


def store(db: str | None):
    from workflow.store.db import Store  # the package: heavy, see the module docstring
    return Store(db)


def out(data: Any, as_json: bool, render=None, *args: Any) -> None:
    """The command's one output: its data as JSON, or the renderer's text. Nothing stored is
    written raw to a terminal (an ESC in a note or title is shown escaped; JSON carries the
    same values, escaped the JSON way)."""
    if as_json:
        sys.stdout.write(json_safe(json.dumps(data, ensure_ascii=False, indent=2, default=str))
                         + "\n")
    elif render is not None:
        text = render(data, *args)
        if text is not None:
            sys.stdout.write(escape_lines(text) + "\n")


def version(value: bool) -> None:
    """``workflow --version``."""
    if value:
        from workflow import __version__  # light: the package's __init__ holds only this
        sys.stdout.write(f"workflow {__version__}\n")
        raise typer.Exit()


def top(version: Annotated[bool, typer.Option(  # acts in its callback: prints, exits
            "--version", callback=version, is_eager=True,
            help=N_("Print the version and exit."))] = False,
        lang: Annotated[str | None, typer.Option(  # read (and removed) by cli_lang.pick
            "--lang", metavar="LANG", help=N_(
                "The language: en or vi (WORKFLOW_LANG; default: the locale). Also after "
                "the command name."))] = None) -> None:
    """The root's options (its help is cli_lang.HELP[""], given to the Typer app)."""


def usage(message: str) -> None:
    from workflow.errors import UsageError  # the package: heavy, see the module docstring
    raise UsageError(message)


def err(line: str) -> None:
    """One line on stderr; whatever it echoes (a task id, a file name, a stored title) is
    escaped, so an error can never rewrite the terminal either."""
    sys.stderr.write(escape(line) + "\n")


# --------------------------------------------------------------------------- moves

MOVES = ("start", "report", "approve", "return", "block", "unblock", "extend")  # help: cli_lang
HtmlOut = Annotated[str | None, typer.Option(
    "--html", metavar="FILE", help=N_("Write the plan's status as one self-contained page."))]
DocxOut = Annotated[str | None, typer.Option(
    "--docx", metavar="FILE", help=N_("Write the periodic progress report (Word)."))]


MoveTask = Annotated[str, typer.Argument(metavar="TASK", help=N_(
    "Task id (or the document's numbering, e.g. II.4); with '*', every task it matches moves, "
    "or none does: 'kiem-ke-tai-san/*', '2.*'."), show_default=False)]
DryRun = Annotated[bool, typer.Option(
    "--dry-run", help=N_("List what would move and what would be refused; write nothing."))]
NewDue = Annotated[str, typer.Option("--to", metavar="DATE", show_default=False, help=N_(
    "The new due day (2024-09-30, 30/9/2024), later than the current one."))]


def _moved(trigger: str, task: str, actor: str | None, note: str | None, plan: str | None,
           db: str | None, as_json: bool, dry_run: bool = False, to: str | None = None) -> None:
    """One move (or extension, ``to``); a TASK with '*' moves every match, or none does."""
    from workflow.ops import extend, move  # the package: heavy, see the module docstring
    from workflow.views import render
    single = "*" not in task and not dry_run
    if single and to is None:
        return out(move.move(store(db), plan_id=plan, task=task, trigger=trigger, actor=actor,
                             note=note, now=now()).as_dict(), as_json, render.moved)
    run, how = (extend.extend, {"to": to}) if to else (move.move_many, {"trigger": trigger})
    batch = run(store(db), plan_id=plan, pattern=task, actor=actor, note=note, now=now(),
                dry_run=dry_run, **how)
    out(batch.rows()[0] if single else batch.rows(), as_json, render.moved_many)
    if batch.refused:  # a dry run that would be refused: listed above, and exit 4
        raise batch.error()


def move_command(app: typer.Typer, trigger: str) -> None:
    """The six moves and extend register alike, each with its help from cli_lang.HELP."""
    def command(task: MoveTask, actor: As = None, note: Note = None, dry_run: DryRun = False,
                plan: Plan = None, db: Db = None, as_json: Json = False) -> None:
        _moved(trigger, task, actor, note, plan, db, as_json, dry_run)

    def extend(task: MoveTask, to: NewDue, actor: As = None, note: Note = None,
               dry_run: DryRun = False, plan: Plan = None, db: Db = None,
               as_json: Json = False) -> None:
        _moved(trigger, task, actor, note, plan, db, as_json, dry_run, to)

    def report(task: Annotated[str | None, typer.Argument(
                   metavar="TASK",
                   help=N_("Task id (or the document's numbering); leave out with "
                           "--html/--docx."),
                   show_default=False)] = None,
               actor: As = None, note: Note = None, dry_run: DryRun = False, html: HtmlOut = None,
               docx: DocxOut = None, at: At = None, force: Force = False, plan: Plan = None,
               db: Db = None, as_json: Json = False) -> None:
        if html or docx:
            if task or actor or note or dry_run:
                usage(_("--html/--docx write the plan's report; a task move is a separate "
                        "command"))
            documents({".html": html, ".docx": docx}, at, force, plan, db)
            return
        if task is None:
            usage(_("missing TASK (or --html FILE / --docx FILE for the plan's report)"))
        _moved(trigger, task, actor, note, plan, db, as_json, dry_run)

    command = {"report": report, "extend": extend}.get(trigger, command)
    command.__name__ = f"{trigger}_"
    app.command(trigger, help=lang.HELP[trigger])(command)


def register_moves(app: typer.Typer) -> None:
    """The six move commands and extend, each with its help from cli_lang.HELP."""
    for trigger in MOVES:
        move_command(app, trigger)


# --------------------------------------------------------------------------- documents


def import_(file: Annotated[str, typer.Argument(
                metavar="FILE", help=N_("The plan's document: .docx, .pdf, .txt, .md, .xlsx or "
                                     ".csv."))],
            output: Annotated[str | None, typer.Option(
                "--output", "-o", metavar="FILE",
                help=N_("Write the draft here (whole or not at all); default stdout."))] = None,
            as_json: Json = False) -> None:
    from workflow.plan.importer import import_document, write_output  # heavy, see above
    with progress("import") as tick:
        draft = import_document(file, tick)
    text = (json.dumps(draft.data(), ensure_ascii=False, indent=2) + "\n" if as_json
            else draft.yaml())
    if output:
        write_output(output, text)
    else:
        sys.stdout.write(text)
    sys.stderr.write(draft.summary() + "\n")


@contextlib.contextmanager
def progress(what: str):
    """A progress bar on stderr when it is a terminal; nothing when piped."""
    if not sys.stderr.isatty():
        yield lambda step, done, total: None
        return
    from rich.console import Console  # only on a terminal: rich costs ~50 ms
    from rich.progress import Progress
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(what, total=None)
        yield lambda step, done, total: bar.update(
            task, description=f"{what}: {step}", completed=done, total=total)


def documents(paths: dict[str, str | None], at: str | None, force: bool, plan: str | None,
              db: str | None) -> None:
    """Gathers the plan once (as of --at) and writes each file asked for, whole or not at all."""
    from workflow.store import lookup  # the package: heavy, see the module docstring
    from workflow.views import files, report_data
    targets = {k: files.check_target(p, (k,), force=force) for k, p in paths.items() if p}
    with progress(_("reading the data")) as tick, store(db).read() as conn:
        p = lookup.select_plan(conn, plan)
        data = report_data.gather(conn, p, now(), at, progress=tick,
                                  history_limit=None if ".xlsx" in targets else 30)
    for suffix, target in targets.items():
        with progress(target.name) as tick, files.atomic(target) as stream:
            warning = _renderer(suffix)(data, stream, tick)
        if warning:
            err(_("warning: {message}").format(message=warning))
        err(_("wrote {file}").format(file=target))


def _renderer(suffix: str):
    if suffix == ".html":
        from workflow.views import html  # the package: heavy, see the module docstring

        def write_html(data, stream, tick):
            page, warning = html.page(data, progress=tick)
            stream.write(page.encode())
            return warning
        return write_html
    from workflow.views import docx, phuluc, xlsx  # the package: heavy, see the docstring
    return {".docx": docx.write, ".xlsx": xlsx.write, ".csv": phuluc.write_csv}[suffix]


def export(output: Annotated[str, typer.Option(
               "--output", "-o", metavar="FILE",
               help=N_("FILE.xlsx (sheets Nhiệm vụ, Tổng hợp, Lịch sử) or FILE.csv (the first "
                    "sheet, UTF-8 with BOM)."),
               show_default=False)],
           at: At = None, force: Force = False, plan: Plan = None, db: Db = None) -> None:
    suffix = os.path.splitext(output)[1].lower()
    if suffix not in (".xlsx", ".csv"):
        usage(_("--output {file}: name a file ending in .xlsx or .csv").format(file=output))
    documents({suffix: output}, at, force, plan, db)


def graph(fmt: Annotated[str, typer.Option(
              "--format", metavar="FORMAT",
              help=N_("mermaid, dot or svg (laid out by Graphviz's dot)."))] = "mermaid",
          at: At = None, plan: Plan = None, db: Db = None) -> None:
    if fmt not in ("mermaid", "dot", "svg"):
        usage(_("--format {format}: formats are {formats}").format(
            format=repr(fmt), formats="mermaid, dot, svg"))
    from workflow.store import lookup  # the package: heavy, see the module docstring
    from workflow.views import graph as graphs
    from workflow.views import report_data
    with store(db).read() as conn:
        data = report_data.gather(conn, lookup.select_plan(conn, plan), now(), at,
                                  history_limit=0)
    text = graphs.to_mermaid(data) if fmt == "mermaid" else graphs.to_dot(data)
    sys.stdout.write(graphs.to_svg(text) + "\n" if fmt == "svg" else text)


# --------------------------------------------------------------------------- database


def db_upgrade(db: Db = None, as_json: Json = False) -> None:
    from workflow.ops.transfer import upgrade_schema  # the package: heavy, see the docstring
    from workflow.views import render
    out(upgrade_schema(db), as_json, render.upgraded_schema)


def db_copy(source: Annotated[str, typer.Option(
                "--from", metavar="DB", help=N_("The database to copy from (URL or SQLite file)."),
                show_default=False)],
            target: Annotated[str, typer.Option(
                "--to", metavar="DB", help=N_("The database to copy into; created if it is a new "
                                           "SQLite file or an empty PostgreSQL database."),
                show_default=False)],
            plans: Annotated[list[str] | None, typer.Option(
                "--plan", metavar="PLAN",
                help=N_("Only this plan (repeatable); default: every plan."))] = None,
            as_json: Json = False) -> None:
    from workflow.ops.transfer import copy  # the package: heavy, see the module docstring
    from workflow.views import render
    with progress("db copy") as tick:
        copied = copy(source, target, plans, tick)
    out(copied, as_json, render.copied)


def db_grant(role: Annotated[str, typer.Argument(
                 metavar="ROLE", help=N_("The person's login role (created if missing)."),
                 show_default=False)],
             read_only: Annotated[bool, typer.Option(
                 "--read-only", help=N_("Only reading: lists, reports, history, audit verify."))]
             = False,
             service: Annotated[bool, typer.Option(
                 "--service", help=N_("The sweep's role (workflow escalate / watch): also "
                                   "creates recurring occurrences."))] = False,
             apply: Annotated[bool, typer.Option(
                 "--apply", help=N_("Run the statements (as the owner of the tables, or a role "
                                 "that may create roles) instead of printing them."))] = False,
             db: Db = None, as_json: Json = False) -> None:
    from workflow.store import roles  # the package: heavy, see the module docstring
    from workflow.views import render
    if read_only and service:
        usage(_("--read-only and --service exclude each other; pick one"))
    level = "read-only" if read_only else "service" if service else "person"
    found = store(db)
    with found.write() if apply else found.read() as conn:
        statements = roles.grants(conn, role, level)
        if apply:
            roles.apply(conn, statements)
    out({"role": role, "level": level, "applied": apply, "statements": statements}, as_json,
        render.granted)


def db_check(db: Db = None, as_json: Json = False) -> None:
    from workflow.store import roles  # the package: heavy, see the module docstring
    with store(db).read() as conn:
        reports = roles.check(conn)
    out([r.as_dict() for r in reports], as_json, lambda _data: roles.check_text(reports))
    roles.refuse_extra(reports)
