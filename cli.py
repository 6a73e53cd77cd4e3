"""The `workflow` command line: parse, one call into ``workflow.ops`` or ``workflow.views``,
one renderer (``workflow.views.render``), and errors mapped to exit codes once (``main``).

Errors: one line on stderr (``Error: ...``), details after, a traceback only with --debug.
The language (``--lang``, ``WORKFLOW_LANG``, the locale) is chosen first, before anything
prints; help texts are marked ``N_()`` and shown translated (``cli_lang``).
Exit codes are SPEC.md's (and 8 for a database that cannot be used); each error class in
workflow.errors carries its own. The package is a heavy import (SQLAlchemy, the models: about
a quarter of a second), so commands import what they call inside themselves: ``--help``
stays fast.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Annotated

import typer
from typer._click.exceptions import NoArgsIsHelpError  # Typer vendors Click; no public name

from workflow.i18n import N_, _, ngettext  # light: gettext, read on the first Vietnamese word
from workflow.rules.kinds import State  # light: the names only, nothing of the engine

if __package__:  # installed: kehoach_workflow/cli.py, its parts beside it
    from . import cli_lang as lang
    from . import cli_parts as parts
else:  # the repository: cli.py at the top
    import cli_lang as lang
    import cli_parts as parts
As, At, Db, Force, Json = parts.As, parts.At, parts.Db, parts.Force, parts.Json
Note, Plan, TaskArg = parts.Note, parts.Plan, parts.TaskArg
Person, AgencyArg, Manages = parts.Person, parts.AgencyArg, parts.Manages
HELP = lang.HELP

app = typer.Typer(
    add_completion=False, no_args_is_help=True, rich_markup_mode=None,
    pretty_exceptions_enable=False, pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    help=HELP[""])
audit_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help=HELP["audit"])
app.add_typer(audit_app, name="audit")
db_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help=HELP["db"])
app.add_typer(db_app, name="db")
members_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help=HELP["members"])
app.add_typer(members_app, name="members")

_now, _store, _out, _usage, _err = parts.now, parts.store, parts.out, parts.usage, parts.err

app.callback()(parts.top)


# --------------------------------------------------------------------------- definitions


@app.command(help=HELP["validate"])
def validate(files: Annotated[list[str], typer.Argument(
                 metavar="FILE", help=N_("Definition files."))],
             as_json: Json = False, explain: Annotated[bool, typer.Option(
                 "--explain", help=N_("Also say what every deadline and clock was read as."))]
             = False) -> None:
    from workflow.plan.check import check_files  # the package: heavy, see the docstring
    from workflow.views.explain import explain_plan, validation
    results, error = check_files(files, explain_plan if explain else None)
    _out(results, as_json, validation)
    if error is not None:
        raise error


@app.command(help=HELP["load"])
def load(file: Annotated[str, typer.Argument(metavar="FILE",
                                             help=N_("Definition file (YAML)."))],
         upgrade: Annotated[bool, typer.Option("--upgrade", help=N_(
             "Apply a changed definition to the loaded plan."))] = False,
         actor: As = None, note: Note = None, db: Db = None, as_json: Json = False) -> None:
    from workflow.ops.load import load as load_file  # the package: heavy, see the docstring
    from workflow.views import render
    with parts.progress("load") as tick:
        r = load_file(file, db, now=_now(), actor=actor, note=note, upgrade=upgrade,
                      progress=tick)
    _out({"plan": r.plan, "status": r.status, "tasks": r.tasks, "changes": r.changes},
         as_json, render.loaded)


# --------------------------------------------------------------------------- queries


@app.command(help=HELP["plans"])
def plans(db: Db = None, as_json: Json = False) -> None:
    from workflow.views import read, render  # the package: heavy, see the module docstring
    _out(read.plans(db, _now()), as_json, render.plans_table)


@app.command(help=HELP["tasks"])
def tasks(pattern: Annotated[str | None, typer.Argument(
              metavar="PATTERN",
              help=N_("Only ids matching this pattern ('*' and '?' wildcards)."))] = None,
          state: Annotated[str | None, typer.Option(
              "--state", metavar="STATE",
              help=N_("Only tasks in this state: assigned, in_progress, reported, approved, "
                      "blocked."))] = None,
          agency: Annotated[str | None, typer.Option(
              "--agency", metavar="AGENCY",
              help=N_("Only tasks this agency leads or supports."))] = None,
          lead: Annotated[str | None, typer.Option(
              "--lead", metavar="AGENCY", help=N_("Only tasks it leads."))] = None,
          overdue: Annotated[bool, typer.Option("--overdue",
                                                help=N_("Only overdue tasks."))] = False,
          blocked: Annotated[bool, typer.Option("--blocked",
                                                help=N_("Only blocked tasks."))] = False,
          at: At = None, plan: Plan = None, db: Db = None, as_json: Json = False) -> None:
    from workflow.views import read, render  # the package: heavy, see the module docstring
    if state is not None and state not in {s.value for s in State}:
        _usage(_("unknown state {state}; states are {states}").format(
            state=repr(state), states=", ".join(State)))
    _out(read.tasks(_store(db), plan=plan, at=at, now=_now(), state=state, agency=agency,
                    lead=lead, overdue=overdue, blocked=blocked, pattern=pattern),
         as_json, render.task_table)


@app.command(help=HELP["show"])
def show(task: TaskArg, at: At = None, plan: Plan = None, db: Db = None,
         as_json: Json = False) -> None:
    from workflow.views import read, render  # the package: heavy, see the module docstring
    _out(read.show(_store(db), plan=plan, task=task, at=at, now=_now()), as_json,
         render.task_view)


@app.command(help=HELP["history"])
def history(task: Annotated[str | None, typer.Argument(
                metavar="TASK", help=N_("Only this task's events."))] = None,
            agency: Annotated[str | None, typer.Option(
                "--agency", metavar="AGENCY",
                help=N_("Only events this agency made or was escalated to."))] = None,
            event: Annotated[list[str] | None, typer.Option(
                "--event", metavar="KIND",
                help=N_("Only these kinds (repeat or comma list): start, report, approve, "
                        "return, block, unblock, extend, load, upgrade, created, "
                        "escalation_raised|climbed|resolved, or escalation, "
                        "member_added|removed."))] = None,
            since: Annotated[str | None, typer.Option(
                "--since", metavar="WHEN",
                help=N_("From this date or ISO date-time on (inclusive)."))] = None,
            until: Annotated[str | None, typer.Option(
                "--until", metavar="WHEN",
                help=N_("Up to this date (its end) or ISO date-time."))] = None,
            fmt: Annotated[str | None, typer.Option(
                "--format", metavar="FORMAT",
                help=N_("text (default), json, jsonl or csv (UTF-8 with BOM, for Excel)."))]
            = None,
            output: Annotated[str | None, typer.Option(
                "--output", "-o", metavar="FILE",
                help=N_("Write to this file (replaced whole, keeping its mode and owner; - "
                        "is stdout) instead of stdout."))] = None,
            plan: Plan = None, db: Db = None, as_json: Json = False) -> None:
    from workflow.views import history as events  # the package: heavy, see the docstring
    if as_json and fmt not in (None, "json"):
        _usage(_("--json and --format {format} disagree; give one of them").format(format=fmt))
    fmt = "json" if as_json else (fmt or "text").lower()
    if fmt not in events.FORMATS:
        _usage(_("--format {format}: formats are {formats}").format(
            format=repr(fmt), formats=", ".join(events.FORMATS)))
    sys.stdout.flush()
    count = events.export(_store(db), sys.stdout.buffer, plan=plan, task=task,
                          agency=agency, kinds=event, since=since, until=until, fmt=fmt,
                          output=output)
    if output and output != "-":
        _err(ngettext("wrote {count} event to {output} ({format})",
                      "wrote {count} events to {output} ({format})", count).format(
            count=count, output=output, format=fmt))


@app.command(help=HELP["summary"])
def summary(by: Annotated[str, typer.Option(
                "--by", metavar="GROUP",
                help=N_("Group by agency (lead), task or unit."))] = "agency",
            at: At = None, plan: Plan = None, db: Db = None, as_json: Json = False) -> None:
    if by not in ("agency", "task", "unit"):
        _usage(_("--by {by}: group by agency, task or unit").format(by=repr(by)))
    from workflow.views import read, render  # the package: heavy, see the module docstring
    data, names = read.summary(_store(db), plan=plan, by=by, at=at, now=_now())
    _out(data, as_json, render.summary_table, names)


# --------------------------------------------------------------------------- moves
# start, report, approve, return, block, unblock and extend: cli_parts.register_moves
parts.register_moves(app)


# --------------------------------------------------------------------------- escalation


@app.command(help=HELP["escalate"])
def escalate(plan: Plan = None, db: Db = None, as_json: Json = False) -> None:
    from workflow.ops.sweep import sweep  # the package: heavy, see the module docstring
    from workflow.views import render
    actions = sweep(_store(db), plan_id=plan, now=_now())
    _out([a.as_dict() for a in actions], as_json, render.swept)


@app.command(help=HELP["escalations"])
def escalations(plan: Plan = None, db: Db = None, as_json: Json = False) -> None:
    from workflow.views import read, render  # the package: heavy, see the module docstring
    _out(read.escalations(_store(db), plan=plan, now=_now()), as_json, render.escalation_table)


@app.command(help=HELP["watch"])
def watch(every: Annotated[str, typer.Option(
              "--every", metavar="INTERVAL",
              help=N_("How often: 30s, 15m, 1h, 1d; at most 366d."))] = "15m",
          plan: Plan = None, db: Db = None) -> None:
    from workflow.ops.scheduler import watch as run  # the package: heavy, see the docstring
    run(every, _store(db), plan)


@audit_app.command(help=HELP["audit verify"])
def verify(head: Annotated[str | None, typer.Option(
               "--head", metavar="HASH", help=N_("A head hash written down earlier: prove it "
                                                 "is still in the history."))] = None,
           plan: Plan = None, db: Db = None, as_json: Json = False) -> None:
    from workflow.errors import AuditError  # the package: heavy, see the module docstring
    from workflow.views import history, render
    try:
        data = history.verify(_store(db), plan=plan, head=head)
    except AuditError as err:
        if as_json:  # scripts get a document too; the error line and exit 7 still follow
            _out([{"plan": plan, "ok": False, "error": str(err)}], True)
        raise
    _out(data, as_json, render.verified, head)


# --------------------------------------------------------------------------- database
db_app.command("upgrade", help=HELP["db upgrade"])(parts.db_upgrade)
db_app.command("copy", help=HELP["db copy"])(parts.db_copy)
app.command("import", help=HELP["import"])(parts.import_)
app.command(help=HELP["export"])(parts.export)
app.command(help=HELP["graph"])(parts.graph)
db_app.command("grant", help=HELP["db grant"])(parts.db_grant)
db_app.command("check", help=HELP["db check"])(parts.db_check)


# --------------------------------------------------------------------------- members


@members_app.command("add", help=HELP["members add"])
def members_add(person: Person, agency: AgencyArg, manages: Manages = None, plan: Plan = None,
                db: Db = None, as_json: Json = False) -> None:
    from workflow.ops import members  # the package: heavy, see the module docstring
    from workflow.views import render
    change = members.add(_store(db), plan_id=plan, person=person, agency=agency, now=_now(),
                         as_agency=manages)
    _out(change.as_dict(), as_json, render.member_change)


@members_app.command("remove", help=HELP["members remove"])
def members_remove(person: Person, agency: AgencyArg, manages: Manages = None,
                   plan: Plan = None, db: Db = None, as_json: Json = False) -> None:
    from workflow.ops import members  # the package: heavy, see the module docstring
    from workflow.views import render
    change = members.remove(_store(db), plan_id=plan, person=person, agency=agency,
                            now=_now(), as_agency=manages)
    _out(change.as_dict(), as_json, render.member_change)


@members_app.command("list", help=HELP["members list"])
def members_list(agency: Annotated[str | None, typer.Option(
                     "--agency", metavar="AGENCY", help=N_("Only this agency's members."))]
                 = None,
                 plan: Plan = None, db: Db = None, as_json: Json = False) -> None:
    from workflow.views import read, render  # the package: heavy, see the module docstring
    p, rows, total, agency_id = read.members(_store(db), plan=plan, agency=agency)
    _out(rows, as_json, lambda data: render.member_list(p, data, total, agency_id))


# --------------------------------------------------------------------------- entry point


@functools.cache
def _command():
    """The Click command tree, built once per process (building it costs ~15 ms)."""
    command = typer.main.get_command(app)
    lang.prepare(command)
    return command


def _error(exc: Exception, debug: bool) -> int:
    """Every error, mapped once: ours carry their exit code; anything else is a bug (1)."""
    from workflow.errors import WorkflowError  # the package: heavy, see the module docstring
    if debug:
        import traceback  # only with --debug
        traceback.print_exc()
    if isinstance(exc, WorkflowError):
        _err(_("Error: {message}").format(message=exc))
        for line in exc.details:
            _err(f"  {line}")
        return exc.exit_code
    _err(_("Error: internal error ({error}); this is a bug: rerun with --debug and report the "
           "traceback").format(error=f"{type(exc).__name__}: {exc}"))
    return 1


def _usage_error(exc: typer.TyperException) -> int:
    """Typer's (vendored Click's) usage errors: exit 2 and where to look."""
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, NoArgsIsHelpError) and ctx is not None:
        sys.stdout.write(ctx.get_help() + "\n")
        return 0
    path = ctx.command_path.split(" ", 1) if ctx is not None else []
    where = f"workflow {path[1]} --help" if len(path) > 1 else "workflow --help"
    _err(_("Error: {message} (see '{where}')").format(
        message=lang.usage_message(exc.format_message()), where=where))
    return getattr(exc, "exit_code", 2)


def main(argv: list[str] | None = None) -> int:
    """Runs one command; returns (and, as a console script, exits with) its exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("WORKFLOW_DEBUG") == "1"
    args = [a for a in args if a != "--debug"]
    from workflow import logs  # the package: heavy, see the module docstring
    logs.configure()
    try:
        args = lang.pick(args)  # the language, before anything prints
        command = _command()
        lang.localize(command)
        code = command.main(args=args, prog_name="workflow", standalone_mode=False)
        code = code if isinstance(code, int) else 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.TyperException as exc:
        code = _usage_error(exc)
    except (typer.Abort, KeyboardInterrupt):
        _err(_("Error: interrupted; nothing half-written (each move is one transaction)"))
        code = 130
    except Exception as exc:
        code = _error(exc, debug)
    sys.stdout.flush()
    return code


def run() -> None:
    raise SystemExit(main())


if __name__ == "__main__":
    run()
