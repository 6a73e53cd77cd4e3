"""The `workflow` command line: parse, call one engine or report function, format, exit.

Errors: one line on stderr (``Error: ...``), details after, a traceback only with --debug.
Exit codes are the README's table; each error class in workflow.errors carries its own.
The workflow package is imported inside commands so that ``--help`` stays fast.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import sys
from datetime import timedelta
from typing import Annotated, Any

import typer

from workflow.text import escape, escape_lines, json_safe  # small: unicodedata only

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
                     help="Upgrade the database's schema; copy plans between databases; "
                          "grant and check roles (PostgreSQL).")
app.add_typer(db_app, name="db")

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
Force = Annotated[bool, typer.Option("--force", help="Replace an existing file.")]


def _wf():
    """The engine, imported on first use (keeps --help from loading SQLAlchemy)."""
    _logs()
    import workflow.engine as engine
    return engine


def _logs() -> None:
    """structlog set-up, on first use: importing structlog costs --help about 70 ms."""
    from workflow import logs
    logs.configure()


def _as_of():
    """History replay, imported only for --at (it is the heaviest module)."""
    from workflow import history
    return history


def _now():
    from workflow import clock
    return clock.now()


def _store(db: str | None, *, create: bool = False):
    _logs()
    from workflow.store import Store
    return Store(db, create=create)


def _out(data: Any, as_json: bool, text: str | None = None) -> None:
    """Every view's output: nothing stored is written raw to a terminal (an ESC in a note or
    title is shown escaped; JSON carries the same values, escaped the JSON way)."""
    if as_json:
        sys.stdout.write(json_safe(json.dumps(data, ensure_ascii=False, indent=2, default=str))
                         + "\n")
    elif text is not None:
        sys.stdout.write(escape_lines(text) + "\n")


# --------------------------------------------------------------------------- definitions


@app.command()
def validate(files: Annotated[list[str], typer.Argument(help="Definition files.")],
             as_json: Json = False,
             explain: Annotated[bool, typer.Option(
                 "--explain", help="Also say what every deadline and clock was read as.")] = False
             ) -> None:
    """Check definition files; change nothing.

    Example: workflow validate --explain definitions/*.yaml
    """
    from workflow.definitions import load_file
    from workflow.errors import DefinitionError, NotFoundError
    from workflow.views.explain import explain_plan, render_explain
    results, codes = [], set()
    for f in files:
        try:
            plan = load_file(f)
        except (DefinitionError, NotFoundError) as err:
            problems = [str(p) for p in getattr(err, "problems", [])] or [str(err)]
            results.append({"file": f, "valid": False, "problems": problems})
            codes.add(err.exit_code)
            continue
        results.append({"file": f, "valid": True, "plan": plan.id, "tasks": len(plan.tasks),
                        "agencies": len(plan.agencies), "warnings": list(plan.warnings)}
                       | ({"explain": explain_plan(plan)} if explain else {}))
    if as_json:
        _out(results, True)
    else:
        lines = []
        for r in results:
            if r["valid"]:
                lines.append(f"ok  {r['file']}: plan {r['plan']}, {r['tasks']} tasks, "
                             f"{r['agencies']} agencies")
                lines += [f"    warning: {w}" for w in r["warnings"]]
                if explain:
                    lines.append(render_explain(r["explain"]))
        if lines:
            _out(None, False, "\n".join(lines))
    if codes:
        lines = [p for r in results if not r["valid"] for p in r["problems"]]
        _fail(3 if 3 in codes else 5, lines[0], lines[1:])


@app.command("import")
def import_(file: Annotated[str, typer.Argument(help="The plan's document: .docx, .pdf, .txt, "
                                                ".md, .xlsx or .csv.")],
            output: Annotated[str | None, typer.Option(
                "--output", "-o", help="Write the draft here (whole or not at all); default "
                "stdout.")] = None,
            as_json: Json = False) -> None:
    """Draft a definition from the plan's own document; lines to check are marked CHECK.

    Example: workflow import ke-hoach-179.docx --output definitions/dong-nai.yaml
    """
    from workflow.plan.importer import import_document, write_output
    draft = import_document(file)
    text = (json.dumps(draft.data(), ensure_ascii=False, indent=2) + "\n" if as_json
            else draft.yaml())
    if output:
        write_output(output, text)
    else:
        sys.stdout.write(text)
    sys.stderr.write(draft.summary() + "\n")


@app.command()
def load(file: Annotated[str, typer.Argument(help="Definition file (YAML).")],
         upgrade: Annotated[bool, typer.Option("--upgrade", help="Apply a changed definition "
                                               "to the loaded plan.")] = False,
         actor: As = None, db: Db = None, as_json: Json = False) -> None:
    """Create the plan from a definition; loading the same file again changes nothing.

    Example: workflow load definitions/son-la-2024-ttyt.yaml
    """
    from workflow.definitions import load_file
    plan = load_file(file)
    result = _wf().load_plan(_store(db, create=True), plan, now=_now(), actor=actor,
                             upgrade=upgrade)
    words = {"created": "loaded", "unchanged": "already loaded, unchanged",
             "upgraded": "upgraded"}
    text = f"{words[result.status]}: plan {result.plan} ({result.tasks} tasks)"
    if result.changes:
        text += "; " + ", ".join(f"{k}: {', '.join(v) or '-'}" for k, v in result.changes.items())
    _out({"plan": result.plan, "status": result.status, "tasks": result.tasks,
          "changes": result.changes}, as_json, text)


# --------------------------------------------------------------------------- queries


@app.command()
def plans(db: Db = None, as_json: Json = False) -> None:
    """List plans with the number of tasks in each state.

    Example: workflow plans --json
    """
    from workflow import render, reports
    from workflow.store import database_url
    url = database_url(db)
    if url.get_backend_name() == "sqlite" and url.database and not os.path.exists(url.database):
        data = []  # no database yet: no plans (and no empty file left behind by a question)
    else:
        with _store(db).read() as conn:
            data = reports.plans(conn, _now())
    _out(data, as_json, render.plans_table(data))


STATE_CHOICES = ["assigned", "in_progress", "reported", "approved", "blocked"]


@app.command()
def tasks(pattern: Annotated[str | None, typer.Argument(
              help="Only ids matching this pattern ('*' and '?' wildcards).")] = None,
          state: Annotated[str | None, typer.Option("--state", help="Only tasks in this state: "
                                                    + ", ".join(STATE_CHOICES))] = None,
          agency: Annotated[str | None, typer.Option(
              "--agency", help="Only tasks this agency leads or supports.")] = None,
          lead: Annotated[str | None, typer.Option("--lead", help="Only tasks it leads.")] = None,
          overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue tasks.")] = False,
          blocked: Annotated[bool, typer.Option("--blocked", help="Only blocked tasks.")] = False,
          at: Annotated[str | None, typer.Option(
              "--at", help="As the history says they stood then: a date (its end) or an ISO "
                           "date-time.")] = None,
          plan: Plan = None, db: Db = None, as_json: Json = False) -> None:
    """List a plan's tasks.

    Example: workflow tasks --agency so-tai-chinh --overdue --at 2024-04-30
    """
    from workflow import render, reports
    if state is not None and state not in STATE_CHOICES:
        _usage(f"unknown state {state!r}; states are {', '.join(STATE_CHOICES)}")
    engine = _wf()
    with _store(db).read() as conn:
        p = engine.select_plan(conn, plan)
        agency_id = engine.find_agency(conn, p, agency) if agency else None
        lead_id = engine.find_agency(conn, p, lead) if lead else None
        filters = {"state": state, "agency": agency_id, "lead": lead_id, "overdue": overdue,
                   "blocked": blocked, "pattern": pattern}
        data = (reports.tasks(conn, p, _now(), **filters) if at is None
                else _as_of().tasks_at(conn, p, at, _now(), **filters))
    _out(data, as_json, render.task_table(data))


@app.command()
def show(task: TaskArg,
         at: Annotated[str | None, typer.Option(
             "--at", help="As the history says it stood then: a date (its end) or an ISO "
                          "date-time.")] = None,
         plan: Plan = None, db: Db = None, as_json: Json = False) -> None:
    """One task: state, lead, support, due, dependencies, open escalation, last moves.

    Example: workflow show dieu-chuyen-tai-san --at 2024-05-15T17:00
    """
    from workflow import render, reports
    engine = _wf()
    with _store(db).read() as conn:
        p = engine.select_plan(conn, plan)
        if at is None:
            data = reports.task_detail(conn, p, engine.find_task(conn, p, task).pk, _now())
        else:
            data = _as_of().task_at(conn, p, task, at, _now())
    _out(data, as_json, render.task_view(data))


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
                "--output", "-o", help="Write to this file (replaced whole, keeping its mode "
                                       "and owner; - is stdout) instead of stdout.")] = None,
            plan: Plan = None, db: Db = None, as_json: Json = False) -> None:
    """The moves and escalations, oldest first; filter them, or export them.

    Example: workflow history --agency so-tai-chinh --since 2024-04-01 --format csv -o h.csv
    """
    from workflow import history as hist
    from workflow import outfile
    if as_json and fmt not in (None, "json"):
        _usage(f"--json and --format {fmt} disagree; give one of them")
    fmt = "json" if as_json else (fmt or "text").lower()
    if fmt not in hist.FORMATS:
        _usage(f"--format {fmt!r}: formats are {', '.join(hist.FORMATS)}")
    engine = _wf()
    with _store(db).read() as conn:
        p = engine.select_plan(conn, plan)
        rows = hist.events(conn, p, task=engine.find_task(conn, p, task).task_id if task else None,
                           agency=engine.find_agency(conn, p, agency) if agency else None,
                           kinds=event, since=since, until=until)
        sys.stdout.flush()
        with outfile.text(output, sys.stdout.buffer) as out:
            count = hist.write(rows, fmt, out)
    if not outfile.is_stdout(output):
        _err(f"wrote {count} event{'s' * (count != 1)} to {output} ({fmt})")


@app.command()
def summary(by: Annotated[str, typer.Option("--by", help="Group by agency (lead), task "
                                              "or unit.")] = "agency",
            at: Annotated[str | None, typer.Option(
                "--at", help="As the history says it stood then: a date (its end) or an ISO "
                             "date-time.")] = None,
            plan: Plan = None, db: Db = None, as_json: Json = False) -> None:
    """Per lead agency: done on time, done late, overdue, not yet due, blocked, escalated.

    Example: workflow summary --at 2024-06-30 --json
    """
    if by not in ("agency", "task", "unit"):
        _usage(f"--by {by!r}: group by agency, task or unit")
    from sqlalchemy import select

    from workflow import render, reports
    from workflow.models import AgencyRow
    engine = _wf()
    with _store(db).read() as conn:
        p = engine.select_plan(conn, plan)
        data = (reports.summary(conn, p, _now(), by=by) if at is None
                else _as_of().summary_at(conn, p, at, _now(), by=by))
        names = dict(conn.execute(select(AgencyRow.id, AgencyRow.name)
                                  .where(AgencyRow.plan_id == p.id)).all())
    _out(data, as_json, render.summary_table(data, names))


# --------------------------------------------------------------------------- moves


def _move(trigger: str, task: str, actor: str | None, note: str | None, plan: str | None,
          db: str | None, as_json: bool) -> None:
    from workflow import render
    result = _wf().move(_store(db), plan_id=plan, task=task, trigger=trigger, actor=actor,
                        note=note, now=_now())
    actions = [a.as_dict() for a in result.escalations]
    data = {"plan": result.plan, "task": result.task, "event": trigger,
            "from": result.from_state, "to": result.to_state, "actor": result.actor,
            "seq": result.events[0]["seq"], "escalations": actions}
    text = (f"{result.task}: {result.from_state} {render.ARROW} {result.to_state} "
            f"({trigger} by {result.actor})")
    text += "".join(f"\n  escalation {render.action_line(a)}" for a in actions)
    _out(data, as_json, text)


@app.command()
def start(task: TaskArg, actor: As = None, note: Note = None, plan: Plan = None, db: Db = None,
          as_json: Json = False) -> None:
    """Start a task: assigned → in_progress.

    Who may: the lead. Also required: every dependency approved; not before its start date.

    Example: workflow start quyet-toan-2023 --as so-y-te
    """
    _move("start", task, actor, note, plan, db, as_json)


@app.command()
def report(task: Annotated[str | None, typer.Argument(
               help="Task id (or the document's numbering); leave out with --html/--docx.",
               show_default=False)] = None,
           actor: As = None, note: Note = None,
           html: Annotated[str | None, typer.Option(
               "--html", help="Write the plan's status as one self-contained page.")] = None,
           docx: Annotated[str | None, typer.Option(
               "--docx", help="Write the periodic progress report (Word).")] = None,
           at: At = None, force: Force = False, plan: Plan = None, db: Db = None,
           as_json: Json = False) -> None:
    """Report a task done: in_progress → reported.

    Who may: the lead. Also required: a note: what was done. With --html/--docx instead:
    write the plan's report, a page with the Gantt chart and the graph, or the Word report.

    Example: workflow report quyet-toan-2023 --as so-y-te --note "Đã gửi Sở Tài chính"
    Example: workflow report --html tinh-hinh.html --docx bao-cao.docx --at 2024-06-30
    """
    if html or docx:
        if task or actor or note:
            _usage("--html/--docx write the plan's report; a task move is a separate command")
        _documents({".html": html, ".docx": docx}, at, force, plan, db)
        return
    if task is None:
        _usage("missing TASK (or --html FILE / --docx FILE for the plan's report)")
    _move("report", task, actor, note, plan, db, as_json)


@app.command()
def approve(task: TaskArg, actor: As = None, note: Note = None, plan: Plan = None, db: Db = None,
            as_json: Json = False) -> None:
    """Approve a reported task: reported → approved (final).

    Who may: the approver (the task's approver, else the coordinator, else the issuer when
    the coordinator leads the task). Also required: nothing more.

    Example: workflow approve quyet-toan-2023 --as ubnd-tinh
    """
    _move("approve", task, actor, note, plan, db, as_json)


@app.command("return")
def return_(task: TaskArg, actor: As = None, note: Note = None, plan: Plan = None,
            db: Db = None, as_json: Json = False) -> None:
    """Send a reported task back: reported → in_progress.

    Who may: the approver. Also required: a note: why it is sent back.

    Example: workflow return quyet-toan-2023 --as ubnd-tinh --note "Thiếu số liệu"
    """
    _move("return", task, actor, note, plan, db, as_json)


@app.command()
def block(task: TaskArg, actor: As = None, note: Note = None, plan: Plan = None, db: Db = None,
          as_json: Json = False) -> None:
    """Report a difficulty that blocks a task: assigned, in_progress or reported → blocked.

    Who may: the lead or a supporting agency. Also required: a note: the difficulty. The
    block escalates at once (see workflow escalations).

    Example: workflow block kiem-ke-tai-san --as ttyt-huyen --note "Thiếu biên bản"
    """
    _move("block", task, actor, note, plan, db, as_json)


@app.command()
def unblock(task: TaskArg, actor: As = None, note: Note = None, plan: Plan = None,
            db: Db = None, as_json: Json = False) -> None:
    """Resolve a block: blocked → the state it was blocked from.

    Who may: the lead, the coordinator or the issuer. Also required: a note: how it was
    resolved.

    Example: workflow unblock kiem-ke-tai-san --as so-y-te --note "Đã bổ sung"
    """
    _move("unblock", task, actor, note, plan, db, as_json)


# --------------------------------------------------------------------------- escalation


@app.command()
def escalate(plan: Plan = None, db: Db = None, as_json: Json = False) -> None:
    """Run one escalation sweep now (every plan unless --plan); print what changed.

    Example: workflow escalate --json  (with WORKFLOW_NOW=2024-05-20 to simulate a date)
    """
    from workflow import render
    actions = [a.as_dict() for a in _wf().sweep(_store(db), plan_id=plan, now=_now())]
    _out(actions, as_json, "\n".join(render.action_line(a) for a in actions) or "nothing to do")


@app.command()
def escalations(plan: Plan = None, db: Db = None, as_json: Json = False) -> None:
    """List open escalations: task, agency, level, reason, age.

    Example: workflow escalations
    """
    from workflow import reports
    engine = _wf()
    with _store(db).read() as conn:
        p = engine.select_plan(conn, plan)
        data = reports.open_escalations(conn, p, _now())
    text = "\n".join(f"{e['task']:<28} L{e['level']} → {e['escalated_to']:<16} {e['reason']:<8}"
                     f" {e['age_hours']:>7.1f} h" for e in data) or "no open escalations"
    _out(data, as_json, text)


_EVERY = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_MAX_EVERY = timedelta(days=366)  # longer is surely a typo; far longer overflows a datetime


@app.command()
def watch(every: Annotated[str, typer.Option(
              "--every", help="How often: 30s, 15m, 1h, 1d; at most 366d.")] = "15m",
          plan: Plan = None, db: Db = None) -> None:
    """Run the sweep on a schedule until stopped (SIGINT/SIGTERM).

    Example: workflow watch --every 15m
    """
    m = _EVERY.match(every)
    if not m or int(m.group(1)) == 0:
        _usage(f"--every {every!r}: write a whole number with s, m, h, d or w, e.g. 15m")
    try:
        interval = timedelta(**{_UNIT[m.group(2).lower()]: int(m.group(1))})
    except OverflowError:
        interval = _MAX_EVERY * 2
    if interval > _MAX_EVERY:
        _usage(f"--every {every!r}: at most a year (366d); e.g. 15m")
    from workflow.channels import host_config
    from workflow.scheduler import run_every
    store = _store(db)
    engine = _wf()
    host_config()  # a broken notify configuration stops watch now (exit 2), not every pass
    run_every(interval, lambda stop: engine.sweep(store, plan_id=plan, now=_now(), stop=stop),
              lambda stop: engine.deliver(store, _now(), stop, warn=False))


@audit_app.command()
def verify(head: Annotated[str | None, typer.Option(
               "--head", help="A head hash written down earlier: prove it is still in the "
                              "history.")] = None,
           plan: Plan = None, db: Db = None, as_json: Json = False) -> None:
    """Check that the history has not been altered (exit 7 if it has).

    Example: workflow audit verify --head 3f1c0a9be2d4c7f1
    """
    from sqlalchemy import select

    from workflow import audit
    from workflow.models import PlanRow
    engine = _wf()
    with _store(db).read() as conn:
        ids = ([engine.select_plan(conn, plan).id] if plan or head else
               conn.execute(select(PlanRow.id).order_by(PlanRow.id)).scalars().all())
        try:
            results = audit.verify_plans(conn, ids, head)
        except audit.AuditError as err:
            if as_json:  # scripts get a document too; the error line and exit 7 still follow
                _out([{"plan": plan, "ok": False, "error": str(err)}], True)
            raise
    data = [{"plan": r.plan_id, "ok": True, "events": r.events, "head": r.head_hash,
             **({"head_found_at": r.head_found_at} if head else {})} for r in results]
    _out(data, as_json, "\n".join(
        f"ok  {r['plan']}: {r['events']} events verified; head {r['head']}"
        + (f"\n    --head {head.strip().lower()} is event seq {r['head_found_at']}: the "
           "history up to it is intact" if head else "") for r in data) or "no plans")


# --------------------------------------------------------------------------- database


@db_app.command("upgrade")
def db_upgrade(db: Db = None, as_json: Json = False) -> None:
    """Bring the database's schema to this workflow's revision (an empty one is created).

    Run it after installing a newer workflow; back the database up first. Safe to repeat:
    a database already at this revision is left alone.

    Example: workflow db upgrade --db postgresql://workflow@db.internal/workflow
    """
    from workflow.store import Store
    store = Store(db, upgrade=True)
    before, after = store.migrated or (store.revision(), store.revision())
    status = {"empty": "created", "current": "current"}.get(before.status, "upgraded")
    data = {"database": store.display, "status": status, "from": before.revision,
            "from_status": before.status, "revision": after.revision}
    text = {"created": f"created the schema at revision {after.revision}",
            "current": f"already at revision {after.revision}; nothing to do",
            "upgraded": f"upgraded from {before.describe()} to revision {after.revision}"}
    _out(data, as_json, f"{store.display}: {text[status]}")


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
    from workflow.transfer import copy_databases
    results = copy_databases(source, target, plans or None)
    data = [r.as_dict() for r in results]
    text = "\n".join(
        f"copied {r['plan']}: {_n(r['rows'].get('wf_task', 0), 'task')}, "
        f"{_n(r['events'], 'event')}, {_n(r['rows'].get('wf_escalation', 0), 'escalation')}; "
        f"history verified on the target, head {r['head']}" for r in data)
    _out(data, as_json, text or "no plans to copy")


@db_app.command("grant")
def db_grant(role: Annotated[str, typer.Argument(help="The person's login role (created if "
                                                      "missing).", show_default=False)],
             read_only: Annotated[bool, typer.Option(
                 "--read-only", help="Only reading: lists, reports, history, audit verify.")]
             = False,
             service: Annotated[bool, typer.Option(
                 "--service", help="The sweep's role (workflow escalate / watch): also "
                                   "creates recurring occurrences.")] = False,
             apply: Annotated[bool, typer.Option(
                 "--apply", help="Run the statements (as the owner of the tables, or a role "
                                 "that may create roles) instead of printing them.")] = False,
             db: Db = None, as_json: Json = False) -> None:
    """Print (or apply) the grants for a person's role on PostgreSQL: exactly what workflow
    needs, after revoking what the role had on the tables.

    Example: workflow db grant nguyen --apply --db postgresql://workflow@db.internal/workflow
    """
    from workflow import roles
    if read_only and service:
        _usage("--read-only and --service exclude each other; pick one")
    level = "read-only" if read_only else "service" if service else "person"
    store = _store(db)
    with store.write() if apply else store.read() as conn:
        statements = roles.grants(conn, role, level)
        if apply:
            roles.apply(conn, statements)
    data = {"role": role, "level": level, "applied": apply, "statements": statements}
    done = f"-- applied: {role} is now a {level} role\n" if apply else ""
    _out(data, as_json, done + "\n".join(f"{s};" for s in statements))


@db_app.command("check")
def db_check(db: Db = None, as_json: Json = False) -> None:
    """List the roles with privileges on the workflow tables; exit 7 if one has more than
    workflow needs (beyond what db grant gives).

    Example: workflow db check --db postgresql://workflow@db.internal/workflow
    """
    from workflow import roles
    from workflow.errors import AuditError
    with _store(db).read() as conn:
        reports = roles.check(conn)
    _out([r.as_dict() for r in reports], as_json, roles.check_text(reports))
    over = [r for r in reports if r.extra]
    if over:
        first = over[0].role
        fix = "" if first == "PUBLIC" else (f" (workflow db grant {first} --apply sets exactly "
                                            "what it needs)")
        raise AuditError(f"{len(over)} role{'s' * (len(over) > 1)} with more than workflow "
                         f"needs: {first} has {over[0].extra[0]}; revoke it{fix}")


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


# --------------------------------------------------------------------------- members

members_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                          help="Who may act for which agency (a plan without members is "
                               "open to anyone).")
app.add_typer(members_app, name="members")
Person = Annotated[str, typer.Argument(help="The person: their OS user name (SQLite) or "
                                            "database role (PostgreSQL).", show_default=False)]
AgencyArg = Annotated[str, typer.Argument(help="The agency (id, name or alias).",
                                          show_default=False)]
Manages = Annotated[str | None, typer.Option(
    "--as", help="The agency you manage members for: the coordinator or the issuer "
                 "(default: the one you are a member of).")]


def _member_change(change, as_json: bool) -> None:
    if change.status == "unchanged":
        text = (f"{change.person} is already a member of {change.agency} in plan "
                f"{change.plan}; nothing changed")
    else:
        to = "to" if change.status == "added" else "from"
        text = (f"{change.status} {change.person} {to} {change.agency} in plan {change.plan} "
                f"(by {change.by} for {change.actor})")
    if change.status == "removed" and not change.members:
        text += "\nthe plan has no members now: it is open again (anyone may act for any agency)"
    _out(change.as_dict(), as_json, text)


@members_app.command("add")
def members_add(person: Person, agency: AgencyArg, manages: Manages = None, plan: Plan = None,
                db: Db = None, as_json: Json = False) -> None:
    """Let PERSON act for AGENCY (members of the coordinator or the issuer only).

    The first member of a plan must be added to the coordinator or the issuer; from then on a
    move's --as must name an agency of the person making it.

    Example: workflow members add nguyen so-tai-chinh --plan son-la-2024-ttyt
    """
    from workflow import members
    _logs()
    _member_change(members.add(_store(db), plan_id=plan, person=person, agency=agency,
                               now=_now(), as_agency=manages), as_json)


@members_app.command("remove")
def members_remove(person: Person, agency: AgencyArg, manages: Manages = None,
                   plan: Plan = None, db: Db = None, as_json: Json = False) -> None:
    """Stop PERSON acting for AGENCY (members of the coordinator or the issuer only).

    The last member of the coordinator and issuer cannot be removed while others remain.

    Example: workflow members remove nguyen so-tai-chinh
    """
    from workflow import members
    _logs()
    _member_change(members.remove(_store(db), plan_id=plan, person=person, agency=agency,
                                  now=_now(), as_agency=manages), as_json)


@members_app.command("list")
def members_list(agency: Annotated[str | None, typer.Option(
                     "--agency", help="Only this agency's members.")] = None,
                 plan: Plan = None, db: Db = None, as_json: Json = False) -> None:
    """List who may act for which agency; say so when the plan is open to anyone.

    Example: workflow members list --agency so-y-te --json
    """
    from workflow import members
    engine = _wf()
    with _store(db).read() as conn:
        p = engine.select_plan(conn, plan)
        agency_id = engine.find_agency(conn, p, agency) if agency else None
        everyone = members.listing(conn, p)
    data = [m for m in everyone if agency_id is None or m["agency"] == agency_id]
    _out(data, as_json, members.listing_text(p, data, len(everyone), agency_id))


# --------------------------------------------------------------------------- documents

@contextlib.contextmanager
def _progress(what: str):
    """A progress bar on stderr when it is a terminal; nothing when piped."""
    if not sys.stderr.isatty():
        yield lambda step, done, total: None
        return
    from rich.console import Console
    from rich.progress import Progress
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(what, total=None)
        yield lambda step, done, total: bar.update(
            task, description=f"{what}: {step}", completed=done, total=total)


def _documents(paths: dict[str, str | None], at: str | None, force: bool, plan: str | None,
               db: str | None) -> None:
    """Gathers the plan once (as of --at) and writes each file asked for, whole or not at all."""
    from workflow.views import files, report_data
    targets = {k: files.check_target(p, (k,), force=force) for k, p in paths.items() if p}
    engine = _wf()
    with _progress("đọc dữ liệu") as tick, _store(db).read() as conn:
        p = engine.select_plan(conn, plan)
        data = report_data.gather(conn, p, _now(), at, progress=tick,
                                  history_limit=None if ".xlsx" in targets else 30)
    for suffix, target in targets.items():
        with _progress(target.name) as tick, files.atomic(target) as out:
            warning = _renderer(suffix)(data, out, tick)
        if warning:
            sys.stderr.write(f"warning: {warning}\n")
        sys.stderr.write(f"wrote {target}\n")


def _renderer(suffix: str):
    if suffix == ".html":
        from workflow.views import html

        def write_html(data, out, tick):
            page, warning = html.page(data, progress=tick)
            out.write(page.encode())
            return warning
        return write_html
    from workflow.views import docx, phuluc, xlsx
    return {".docx": docx.write, ".xlsx": xlsx.write, ".csv": phuluc.write_csv}[suffix]


@app.command()
def export(output: Annotated[str, typer.Option(
               "--output", "-o", help="FILE.xlsx (sheets Nhiệm vụ, Tổng hợp, Lịch sử) or "
                                      "FILE.csv (the first sheet, UTF-8 with BOM).",
               show_default=False)],
           at: At = None, force: Force = False, plan: Plan = None, db: Db = None) -> None:
    """Write the plan in the phụ lục layout, one row per task, with its state.

    Example: workflow export --output phu-luc.xlsx --at 2024-06-30
    """
    suffix = os.path.splitext(output)[1].lower()
    if suffix not in (".xlsx", ".csv"):
        _usage(f"--output {output}: name a file ending in .xlsx or .csv")
    _documents({suffix: output}, at, force, plan, db)


@app.command()
def graph(fmt: Annotated[str, typer.Option("--format", help="mermaid, dot or svg (laid out by "
                                                            "Graphviz's dot).")] = "mermaid",
          at: At = None, plan: Plan = None, db: Db = None) -> None:
    """Print the dependency graph between tasks, nodes marked by state (groups folded).

    Example: workflow graph --format dot | dot -Tpng > graph.png
    """
    if fmt not in ("mermaid", "dot", "svg"):
        _usage(f"--format {fmt!r}: formats are mermaid, dot, svg")
    from workflow.views import graph as graphs
    from workflow.views import report_data
    engine = _wf()
    with _store(db).read() as conn:
        data = report_data.gather(conn, engine.select_plan(conn, plan), _now(), at,
                                  history_limit=0)
    text = graphs.to_mermaid(data) if fmt == "mermaid" else graphs.to_dot(data)
    sys.stdout.write(graphs.to_svg(text) + "\n" if fmt == "svg" else text)


# --------------------------------------------------------------------------- entry point


def _usage(message: str) -> None:
    from workflow.errors import UsageError
    raise UsageError(message)


def _err(line: str) -> None:
    """One line on stderr; whatever it echoes (a task id, a file name, a stored title) is
    escaped, so an error can never rewrite the terminal either."""
    sys.stderr.write(escape(line) + "\n")


def _fail(code: int, first: str, details: list[str] | None = None) -> None:
    _err(f"Error: {first}")
    for line in details or []:
        _err(f"  {line}")
    raise SystemExit(code)


@functools.cache
def _command():
    """The Click command tree, built once per process (building it costs ~15 ms)."""
    return typer.main.get_command(app)


def main(argv: list[str] | None = None) -> int:
    """Runs one command; returns (and, as a console script, exits with) its exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("WORKFLOW_DEBUG") == "1"
    args = [a for a in args if a != "--debug"]
    command = _command()
    try:
        code = command.main(args=args, prog_name="workflow", standalone_mode=False)
        code = code if isinstance(code, int) else 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        sys.stderr.write("Error: interrupted\n")
        code = 130
    except typer.TyperException as exc:  # Typer's (vendored Click's) usage errors
        code = getattr(exc, "exit_code", 2)
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            sys.stdout.write(ctx.get_help() + "\n")
            return 0
        path = ctx.command_path.split(" ", 1) if ctx is not None else []
        where = f"workflow {path[1]} --help" if len(path) > 1 else "workflow --help"
        _err(f"Error: {exc.format_message()} (see '{where}')")
    except KeyboardInterrupt:
        sys.stderr.write("Error: interrupted; nothing half-written (each move is one "
                         "transaction)\n")
        code = 130
    except Exception as exc:
        from workflow.errors import WorkflowError
        if debug:
            import traceback
            traceback.print_exc()
        if isinstance(exc, WorkflowError):
            _err(f"Error: {exc}")
            for line in exc.details:
                _err(f"  {line}")
            code = exc.exit_code
        else:
            _err(f"Error: internal error ({type(exc).__name__}: {exc}); this is a bug: rerun "
                 "with --debug and report the traceback")
            code = 1
    sys.stdout.flush()
    return code


def run() -> None:
    raise SystemExit(main())


if __name__ == "__main__":
    run()
