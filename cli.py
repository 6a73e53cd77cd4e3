"""The `workflow` command line: parse, one call into ``workflow.ops`` or ``workflow.views``,
one renderer (``workflow.views.render``), and errors mapped to exit codes once (``main``).

Errors: one line on stderr (``Error: ...``), details after, a traceback only with --debug.
Exit codes are SPEC.md's (and 8 for a database that cannot be used); each error class in
workflow.errors carries its own. The package is a heavy import (SQLAlchemy, the models: about
a quarter of a second), so commands import what they call inside themselves: ``--help``
stays fast.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from typing import Annotated, Any

import typer
from typer._click.exceptions import NoArgsIsHelpError  # Typer vendors Click; no public name

from workflow.rules.kinds import State  # light: the names only, nothing of the engine

app = typer.Typer(
    add_completion=False, no_args_is_help=True, rich_markup_mode=None,
    pretty_exceptions_enable=False, pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    help="Run Vietnamese implementation plans (Kế hoạch) as state machines.\n\n"
         "Example: workflow load definitions/son-la-2024-ttyt.yaml && workflow tasks",
)
audit_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                        help="Check the tamper-evident history.")
app.add_typer(audit_app, name="audit")
db_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                     help="Upgrade the database's schema; copy plans between databases.")
app.add_typer(db_app, name="db")
members_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                          help="Who may act for which agency (a plan without members is "
                               "open to anyone).")
app.add_typer(members_app, name="members")

Plan = Annotated[str | None, typer.Option("--plan", envvar="WORKFLOW_PLAN", show_envvar=False,
                                          help="Plan id (WORKFLOW_PLAN); optional with one plan.")]
Db = Annotated[str | None, typer.Option("--db", envvar="WORKFLOW_DB", show_envvar=False,
                                        help="SQLAlchemy URL or SQLite file (WORKFLOW_DB); "
                                             "default ./workflow.db.")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
As = Annotated[str | None, typer.Option("--as", envvar="WORKFLOW_ACTOR", show_envvar=False,
                                        help="The agency acting (WORKFLOW_ACTOR).")]
Note = Annotated[str | None, typer.Option("--note", help="What was done / why / the difficulty.")]
TaskArg = Annotated[str, typer.Argument(help="Task id (or the document's numbering, e.g. II.4).",
                                        show_default=False)]
At = Annotated[str | None, typer.Option(
    "--at", help="As the history says it stood then: a date (its end) or an ISO date-time.")]
Person = Annotated[str, typer.Argument(help="The person: their OS user name (SQLite) or "
                                            "database role (PostgreSQL).", show_default=False)]
AgencyArg = Annotated[str, typer.Argument(help="The agency (id, name or alias).",
                                          show_default=False)]
Manages = Annotated[str | None, typer.Option(
    "--as", help="The agency you manage members for: the coordinator or the issuer "
                 "(default: the one you are a member of).")]


def _now():
    from workflow import clock  # the package: heavy, see the module docstring
    return clock.now()


def _store(db: str | None):
    from workflow.store.db import Store  # the package: heavy, see the module docstring
    return Store(db)


def _out(data: Any, as_json: bool, render=None, *args: Any) -> None:
    """The command's one output: its data as JSON, or the renderer's text."""
    if as_json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    elif render is not None:
        text = render(data, *args)
        if text is not None:
            sys.stdout.write(text + "\n")


def _usage(message: str) -> None:
    from workflow.errors import UsageError  # the package: heavy, see the module docstring
    raise UsageError(message)


# --------------------------------------------------------------------------- definitions


@app.command()
def validate(files: Annotated[list[str], typer.Argument(help="Definition files.")],
             as_json: Json = False) -> None:
    """Check definition files; change nothing.

    Example: workflow validate definitions/*.yaml
    """
    from workflow.plan.check import check_files  # the package: heavy, see the docstring
    from workflow.views import render
    results, error = check_files(files)
    _out(results, as_json, render.validation)
    if error is not None:
        raise error


@app.command()
def load(file: Annotated[str, typer.Argument(help="Definition file (YAML).")],
         upgrade: Annotated[bool, typer.Option("--upgrade", help="Apply a changed definition "
                                               "to the loaded plan.")] = False,
         actor: As = None, db: Db = None, as_json: Json = False) -> None:
    """Create the plan from a definition; loading the same file again changes nothing.

    Example: workflow load definitions/son-la-2024-ttyt.yaml
    """
    from workflow.ops.load import load as load_file  # the package: heavy, see the docstring
    from workflow.views import render
    r = load_file(file, db, now=_now(), actor=actor, upgrade=upgrade)
    _out({"plan": r.plan, "status": r.status, "tasks": r.tasks, "changes": r.changes},
         as_json, render.loaded)


# --------------------------------------------------------------------------- queries


@app.command()
def plans(db: Db = None, as_json: Json = False) -> None:
    """List plans with the number of tasks in each state.

    Example: workflow plans --json
    """
    from workflow.views import read, render  # the package: heavy, see the module docstring
    _out(read.plans(db, _now()), as_json, render.plans_table)


@app.command()
def tasks(pattern: Annotated[str | None, typer.Argument(
              help="Only ids matching this pattern ('*' and '?' wildcards).")] = None,
          state: Annotated[str | None, typer.Option(
              "--state", help=f"Only tasks in this state: {', '.join(State)}")] = None,
          agency: Annotated[str | None, typer.Option(
              "--agency", help="Only tasks this agency leads or supports.")] = None,
          lead: Annotated[str | None, typer.Option("--lead", help="Only tasks it leads.")] = None,
          overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue tasks.")] = False,
          blocked: Annotated[bool, typer.Option("--blocked", help="Only blocked tasks.")] = False,
          at: At = None, plan: Plan = None, db: Db = None, as_json: Json = False) -> None:
    """List a plan's tasks.

    Example: workflow tasks --agency so-tai-chinh --overdue --at 2024-04-30
    """
    from workflow.views import read, render  # the package: heavy, see the module docstring
    if state is not None and state not in {s.value for s in State}:
        _usage(f"unknown state {state!r}; states are {', '.join(State)}")
    _out(read.tasks(_store(db), plan=plan, at=at, now=_now(), state=state, agency=agency,
                    lead=lead, overdue=overdue, blocked=blocked, pattern=pattern),
         as_json, render.task_table)


@app.command()
def show(task: TaskArg, at: At = None, plan: Plan = None, db: Db = None,
         as_json: Json = False) -> None:
    """One task: state, lead, support, due, dependencies, open escalation, last moves.

    Example: workflow show dieu-chuyen-tai-san --at 2024-05-15T17:00
    """
    from workflow.views import read, render  # the package: heavy, see the module docstring
    _out(read.show(_store(db), plan=plan, task=task, at=at, now=_now()), as_json,
         render.task_view)


@app.command()
def history(task: Annotated[str | None, typer.Argument(help="Only this task's events.")] = None,
            agency: Annotated[str | None, typer.Option(
                "--agency", help="Only events this agency made or was escalated to.")] = None,
            event: Annotated[list[str] | None, typer.Option(
                "--event", metavar="KIND",
                help="Only these kinds (repeat or comma list): start, report, approve, return, "
                     "block, unblock, load, upgrade, created, "
                     "escalation_raised|climbed|resolved, or escalation, "
                     "member_added|removed.")] = None,
            since: Annotated[str | None, typer.Option(
                "--since", help="From this date or ISO date-time on (inclusive).")] = None,
            until: Annotated[str | None, typer.Option(
                "--until", help="Up to this date (its end) or ISO date-time.")] = None,
            fmt: Annotated[str | None, typer.Option(
                "--format", help="text (default), json, jsonl or csv (UTF-8 with BOM, for "
                                 "Excel).")] = None,
            output: Annotated[str | None, typer.Option(
                "--output", "-o", help="Write to this file instead of stdout.")] = None,
            plan: Plan = None, db: Db = None, as_json: Json = False) -> None:
    """The moves and escalations, oldest first; filter them, or export them.

    Example: workflow history --agency so-tai-chinh --since 2024-04-01 --format csv -o h.csv
    """
    from workflow.views import read  # the package: heavy, see the module docstring
    from workflow.views.history import FORMATS
    if as_json and fmt not in (None, "json"):
        _usage(f"--json and --format {fmt} disagree; give one of them")
    fmt = "json" if as_json else (fmt or "text").lower()
    if fmt not in FORMATS:
        _usage(f"--format {fmt!r}: formats are {', '.join(FORMATS)}")
    sys.stdout.flush()
    count = read.export_history(_store(db), sys.stdout.buffer, plan=plan, task=task,
                                agency=agency, kinds=event, since=since, until=until, fmt=fmt,
                                output=output)
    if output:
        sys.stderr.write(f"wrote {count} event{'s' * (count != 1)} to {output} ({fmt})\n")


@app.command()
def summary(by: Annotated[str, typer.Option("--by", help="Group by agency (lead), task "
                                              "or unit.")] = "agency",
            at: At = None, plan: Plan = None, db: Db = None, as_json: Json = False) -> None:
    """Per lead agency: done on time, done late, overdue, not yet due, blocked, escalated.

    Example: workflow summary --at 2024-06-30 --json
    """
    if by not in ("agency", "task", "unit"):
        _usage(f"--by {by!r}: group by agency, task or unit")
    from workflow.views import read, render  # the package: heavy, see the module docstring
    data, names = read.summary(_store(db), plan=plan, by=by, at=at, now=_now())
    _out(data, as_json, render.summary_table, names)


# --------------------------------------------------------------------------- moves

MOVES = {  # trigger: its help (the triggers themselves: workflow.rules.kinds.Trigger)
    "start": "Start a task (its lead; every dependency approved; not before its start date)."
             "\n\nExample: workflow start quyet-toan-2023 --as so-y-te",
    "report": "Report a task done (its lead; a note saying what was done).\n\nExample: "
              'workflow report quyet-toan-2023 --as so-y-te --note "Đã gửi Sở Tài chính"',
    "approve": "Approve a reported task (its approver).\n\n"
               "Example: workflow approve quyet-toan-2023 --as ubnd-tinh",
    "return": "Send a reported task back to in_progress (its approver; a note saying why)."
              '\n\nExample: workflow return quyet-toan-2023 --as ubnd-tinh --note "Thiếu số liệu"',
    "block": "Report a difficulty that blocks a task (its lead or a supporting agency; a "
             'note).\n\nExample: workflow block kiem-ke-tai-san --as ttyt-huyen --note '
             '"Thiếu biên bản"',
    "unblock": "Resolve a block; the task returns to where it was (lead, coordinator or "
               "issuer; a note).\n\nExample: workflow unblock kiem-ke-tai-san --as so-y-te "
               '--note "Đã bổ sung"',
}


def _move_command(trigger: str) -> None:
    def command(task: TaskArg, actor: As = None, note: Note = None, plan: Plan = None,
                db: Db = None, as_json: Json = False) -> None:
        from workflow.ops.move import move  # the package: heavy, see the module docstring
        from workflow.views import render
        r = move(_store(db), plan_id=plan, task=task, trigger=trigger, actor=actor, note=note,
                 now=_now())
        _out({"plan": r.plan, "task": r.task, "event": trigger, "from": r.from_state,
              "to": r.to_state, "actor": r.actor, "seq": r.events[0]["seq"],
              "escalations": [a.as_dict() for a in r.escalations]}, as_json, render.moved)

    command.__doc__ = MOVES[trigger]
    command.__name__ = f"{trigger}_"
    app.command(trigger)(command)


for _trigger in MOVES:
    _move_command(_trigger)


# --------------------------------------------------------------------------- escalation


@app.command()
def escalate(plan: Plan = None, db: Db = None, as_json: Json = False) -> None:
    """Run one escalation sweep now (every plan unless --plan); print what changed.

    Example: workflow escalate --json  (with WORKFLOW_NOW=2024-05-20 to simulate a date)
    """
    from workflow.ops.sweep import sweep  # the package: heavy, see the module docstring
    from workflow.views import render
    actions = sweep(_store(db), plan_id=plan, now=_now())
    _out([a.as_dict() for a in actions], as_json, render.swept)


@app.command()
def escalations(plan: Plan = None, db: Db = None, as_json: Json = False) -> None:
    """List open escalations: task, agency, level, reason, age.

    Example: workflow escalations
    """
    from workflow.views import read, render  # the package: heavy, see the module docstring
    _out(read.escalations(_store(db), plan=plan, now=_now()), as_json, render.escalation_table)


@app.command()
def watch(every: Annotated[str, typer.Option("--every", help="How often: 30s, 15m, 1h, 1d.")]
          = "15m", plan: Plan = None, db: Db = None) -> None:
    """Run the sweep on a schedule until stopped (SIGINT/SIGTERM).

    Example: workflow watch --every 15m
    """
    from workflow.ops.scheduler import watch as run  # the package: heavy, see the docstring
    run(every, _store(db), plan)


@audit_app.command()
def verify(head: Annotated[str | None, typer.Option(
               "--head", help="A head hash written down earlier: prove it is still in the "
                              "history.")] = None,
           plan: Plan = None, db: Db = None, as_json: Json = False) -> None:
    """Check that the history has not been altered (exit 7 if it has).

    Example: workflow audit verify --head 3f1c0a9be2d4c7f1
    """
    from workflow.errors import AuditError  # the package: heavy, see the module docstring
    from workflow.views import read, render
    try:
        data = read.verify(_store(db), plan=plan, head=head)
    except AuditError as err:
        if as_json:  # scripts get a document too; the error line and exit 7 still follow
            _out([{"plan": plan, "ok": False, "error": str(err)}], True)
        raise
    _out(data, as_json, render.verified, head)


# --------------------------------------------------------------------------- database


@db_app.command("upgrade")
def db_upgrade(db: Db = None, as_json: Json = False) -> None:
    """Bring the database's schema to this workflow's revision (an empty one is created).

    Run it after installing a newer workflow; back the database up first. Safe to repeat:
    a database already at this revision is left alone.

    Example: workflow db upgrade --db postgresql://workflow@db.internal/workflow
    """
    from workflow.ops.transfer import upgrade_schema  # the package: heavy, see the docstring
    from workflow.views import render
    _out(upgrade_schema(db), as_json, render.upgraded_schema)


@db_app.command("copy")
def db_copy(source: Annotated[str, typer.Option(
                "--from", help="The database to copy from (URL or SQLite file).",
                show_default=False)],
            target: Annotated[str, typer.Option(
                "--to", help="The database to copy into; created if it is a new SQLite file "
                             "or an empty PostgreSQL database.", show_default=False)],
            plans: Annotated[list[str] | None, typer.Option(
                "--plan", help="Only this plan (repeatable); default: every plan.")] = None,
            as_json: Json = False) -> None:
    """Copy plans with their whole history into another database, hash chain intact.

    Verifies the source's history first and the copy's after, in one transaction: nothing
    is written unless every plan copied and verified. Plans already in the target are
    refused (exit 6). The source is only read.

    Example: workflow db copy --from workflow.db --to postgresql://workflow@db.internal/workflow
    """
    from workflow.ops.transfer import copy  # the package: heavy, see the module docstring
    from workflow.views import render
    _out(copy(source, target, plans), as_json, render.copied)


# --------------------------------------------------------------------------- members


@members_app.command("add")
def members_add(person: Person, agency: AgencyArg, manages: Manages = None, plan: Plan = None,
                db: Db = None, as_json: Json = False) -> None:
    """Let PERSON act for AGENCY (members of the coordinator or the issuer only).

    The first member of a plan must be added to the coordinator or the issuer; from then on a
    move's --as must name an agency of the person making it.

    Example: workflow members add nguyen so-tai-chinh --plan son-la-2024-ttyt
    """
    from workflow.ops import members  # the package: heavy, see the module docstring
    from workflow.views import render
    change = members.add(_store(db), plan_id=plan, person=person, agency=agency, now=_now(),
                         as_agency=manages)
    _out(change.as_dict(), as_json, render.member_change)


@members_app.command("remove")
def members_remove(person: Person, agency: AgencyArg, manages: Manages = None,
                   plan: Plan = None, db: Db = None, as_json: Json = False) -> None:
    """Stop PERSON acting for AGENCY (members of the coordinator or the issuer only).

    The last member of the coordinator and issuer cannot be removed while others remain.

    Example: workflow members remove nguyen so-tai-chinh
    """
    from workflow.ops import members  # the package: heavy, see the module docstring
    from workflow.views import render
    change = members.remove(_store(db), plan_id=plan, person=person, agency=agency,
                            now=_now(), as_agency=manages)
    _out(change.as_dict(), as_json, render.member_change)


@members_app.command("list")
def members_list(agency: Annotated[str | None, typer.Option(
                     "--agency", help="Only this agency's members.")] = None,
                 plan: Plan = None, db: Db = None, as_json: Json = False) -> None:
    """List who may act for which agency; say so when the plan is open to anyone.

    Example: workflow members list --agency so-y-te --json
    """
    from workflow.views import read, render  # the package: heavy, see the module docstring
    p, rows, total, agency_id = read.members(_store(db), plan=plan, agency=agency)
    _out(rows, as_json, lambda data: render.member_list(p, data, total, agency_id))


# --------------------------------------------------------------------------- entry point


@functools.cache
def _command():
    """The Click command tree, built once per process (building it costs ~15 ms)."""
    return typer.main.get_command(app)


def _error(exc: Exception, debug: bool) -> int:
    """Every error, mapped once: ours carry their exit code; anything else is a bug (1)."""
    from workflow.errors import WorkflowError  # the package: heavy, see the module docstring
    if debug:
        import traceback  # only with --debug
        traceback.print_exc()
    if isinstance(exc, WorkflowError):
        sys.stderr.write(f"Error: {exc}\n")
        for line in exc.details:
            sys.stderr.write(f"  {line}\n")
        return exc.exit_code
    sys.stderr.write(f"Error: internal error ({type(exc).__name__}: {exc}); this is a "
                     "bug: rerun with --debug and report the traceback\n")
    return 1


def _usage_error(exc: typer.TyperException) -> int:
    """Typer's (vendored Click's) usage errors: exit 2 and where to look."""
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, NoArgsIsHelpError) and ctx is not None:
        sys.stdout.write(ctx.get_help() + "\n")
        return 0
    path = ctx.command_path.split(" ", 1) if ctx is not None else []
    where = f"workflow {path[1]} --help" if len(path) > 1 else "workflow --help"
    sys.stderr.write(f"Error: {exc.format_message()} (see '{where}')\n")
    return getattr(exc, "exit_code", 2)


def main(argv: list[str] | None = None) -> int:
    """Runs one command; returns (and, as a console script, exits with) its exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("WORKFLOW_DEBUG") == "1"
    args = [a for a in args if a != "--debug"]
    from workflow import logs  # the package: heavy, see the module docstring
    logs.configure()
    try:
        code = _command().main(args=args, prog_name="workflow", standalone_mode=False)
        code = code if isinstance(code, int) else 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        sys.stderr.write("Error: interrupted\n")
        code = 130
    except typer.TyperException as exc:
        code = _usage_error(exc)
    except KeyboardInterrupt:
        sys.stderr.write("Error: interrupted; nothing half-written (each move is one "
                         "transaction)\n")
        code = 130
    except Exception as exc:
        code = _error(exc, debug)
    sys.stdout.flush()
    return code


def run() -> None:
    raise SystemExit(main())


if __name__ == "__main__":
    run()
