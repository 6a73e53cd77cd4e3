"""Benchmark: each figure beside a baseline measured in the same run, and their ratio.

    python bench/run.py            # full sizes (10,000-task plan, 100,000 instances/tasks)
    python bench/run.py --quick    # small sizes, seconds
    python bench/run.py --only parsing   # just the deadline-parsing and working-day figures
    python bench/run.py --only lang      # just Vietnamese against English (--help, show)

Every measured operation runs in a fresh child process (so peak RSS is its own), several
times; the table shows the median with min and max. The machine is shared and noisy: the ratio
to the baseline measured in the same run is what counts. Results are also written as JSON to
bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NOW0 = "2024-04-01T08:00:00+07:00"
NOW1 = "2024-04-02T08:00:00+07:00"


# --------------------------------------------------------------------------- synthetic plans


def plan_yaml(tasks: int, units: int = 0, attention: float = 0.0) -> str:
    """A plan with ``tasks`` tasks (every 10th depends on the one before), fanned out over
    ``units`` units when given; a fraction ``attention`` of tasks is due before NOW1."""
    agencies = [f"so-{i}" for i in range(20)]
    lines = ["id: bench", 'title: "Kế hoạch đo hiệu năng: triển khai nhiệm vụ y tế cơ sở"',
             "issuer: ubnd-tinh", "coordinator: so-y-te", "agencies:",
             '  ubnd-tinh: {name: "UBND tỉnh"}', '  so-y-te: {name: "Sở Y tế"}']
    lines += [f'  {a}: {{name: "Sở ban ngành số {i}"}}' for i, a in enumerate(agencies)]
    if units:
        lines += ["units:", "  xa:"]
        lines += [f'    xa-{u}: {{name: "Trạm Y tế xã số {u}"}}' for u in range(units)]
    lines.append("tasks:")
    every = int(1 / attention) if attention else 0
    for i in range(tasks):
        lead = agencies[i % 20]
        due = "2024-03-31" if every and i % every == 0 else "2025-12-31"
        lines += [f"  t{i}:",
                  f'    title: "Nhiệm vụ số {i}: rà soát, tổng hợp, báo cáo kết quả thực hiện"',
                  f"    lead: {lead}", f"    support: [{agencies[(i + 1) % 20]}, so-y-te]",
                  f"    due: {due}"]
        if units:
            lines.append("    for_each: xa")
        if i % 10 and not units:
            lines.append(f"    depends_on: [t{i - 1}]")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- child work


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(op: str, db: str, arg: str) -> dict:
    """Runs in a fresh process; returns {seconds, rss_mb, ...}."""
    os.environ["WORKFLOW_LOG_LEVEL"] = "error"
    if op in ("parse-deadlines", "baseline-strptime", "working-days"):
        return pure_child(op, int(arg))
    from workflow import clock, logs
    logs.configure("error")
    if op in ("baseline-load", "baseline-insert"):
        # The same rows the product stores, built by the product outside the timer, written
        # by raw sqlite3 into the product's own schema with its durability settings.
        import yaml

        from workflow.plan import definitions
        from workflow.store import expand
        from workflow.store.bulk import sqlite_params
        from workflow.store.db import Store
        from workflow.store.models import TaskRow
        Store(db, create=True).dispose()
        plan = definitions.load_file(arg)
        plan_row = type("P", (), {"timezone": plan.timezone, "stall_after": 7 * 86400})
        rows = list(expand.task_rows(plan, plan_row, clock.parse_instant(NOW0)))
        sql, params = sqlite_params(TaskRow.__table__, rows)
        con = sqlite3.connect(db, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        con.execute("INSERT INTO wf_plan VALUES ('bench', 't', 'ubnd-tinh', 'so-y-te', "
                    "'Asia/Ho_Chi_Minh', 604800, 259200, '', '{}', '', '2024-01-01', 0, '')")
        t = time.perf_counter()
        if op == "baseline-load":
            yaml.load(Path(arg).read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        con.execute("BEGIN IMMEDIATE")
        con.executemany(sql, params)
        con.execute("COMMIT")
        elapsed = time.perf_counter() - t
        con.close()
        return {"seconds": elapsed, "rss_mb": _rss_mb()}
    from workflow.ops.load import load_plan
    from workflow.ops.move import move
    from workflow.ops.sweep import sweep
    from workflow.plan import definitions
    from workflow.store.db import Store
    from workflow.store.lookup import select_plan
    from workflow.views import queries as reports
    if op == "load":
        t = time.perf_counter()
        plan = definitions.load_file(arg)
        load_plan(Store(db, create=True), plan, now=clock.parse_instant(NOW0))
        return {"seconds": time.perf_counter() - t, "rss_mb": _rss_mb()}
    store = Store(db)
    if op == "moves":
        n = int(arg)
        now = clock.parse_instant(NOW1)
        t = time.perf_counter()
        for i in range(n):
            move(store, plan_id="bench", task=f"t{i * 10}", trigger="start",
                 actor=f"so-{(i * 10) % 20}", note=None, now=now)
        return {"seconds": time.perf_counter() - t, "per_second": n / (time.perf_counter() - t),
                "rss_mb": _rss_mb()}
    if op == "sweep-again":  # the steady state of `workflow watch`: a warm process, swept
        sweep(store, plan_id="bench", now=clock.parse_instant(NOW1))
        t = time.perf_counter()
        actions = sweep(store, plan_id="bench", now=clock.parse_instant(NOW1))
        return {"seconds": time.perf_counter() - t, "actions": len(actions), "rss_mb": _rss_mb()}
    if op == "sweep":
        t = time.perf_counter()
        actions = sweep(store, plan_id="bench", now=clock.parse_instant(NOW1))
        return {"seconds": time.perf_counter() - t, "actions": len(actions), "rss_mb": _rss_mb()}
    if op == "summary":
        t = time.perf_counter()
        with store.read() as conn:
            plan = select_plan(conn, "bench")
            reports.summary(conn, plan, clock.parse_instant(NOW1))
        return {"seconds": time.perf_counter() - t, "rss_mb": _rss_mb()}
    raise SystemExit(f"unknown op {op}")


def deadline_cells() -> list[str]:
    """Every deadline cell of the shared plans (the test fixture's copy, repeats included) and
    every due/start of the shipped definitions."""
    import yaml

    from tests.deadline_corpus import fixture_cells
    cells = fixture_cells()
    for path in sorted((ROOT / "definitions").glob("*.yaml")):
        tasks = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("tasks") or {}
        cells += [str(t[k]) for t in tasks.values() for k in ("due", "start") if t.get(k)]
    return cells


def pure_child(op: str, times: int) -> dict:
    """Parsing and working-day arithmetic: CPU only, no database."""
    import datetime
    import random
    if op == "working-days":
        from workflow.rules.calendar import WorkingCalendar
        rng = random.Random(1)
        first = datetime.date(2024, 1, 1)
        pairs = [(first + datetime.timedelta(days=rng.randrange(3653)), rng.randrange(1, 60))
                 for _ in range(times)]
        t = time.perf_counter()
        cal = WorkingCalendar()  # cold: the holiday arrays are built inside the timer
        for day, n in pairs:
            cal.between(day, cal.add(day, n))
        return {"seconds": time.perf_counter() - t, "rss_mb": _rss_mb()}
    cells = deadline_cells()
    if op == "parse-deadlines":
        from workflow.plan.dates import parse_deadline
        t = time.perf_counter()
        for _ in range(times):
            for cell in cells:
                parse_deadline(cell)
    else:
        isos = [f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(len(cells))]
        t = time.perf_counter()
        for _ in range(times):
            for iso in isos:
                datetime.datetime.strptime(iso, "%Y-%m-%d")
    return {"seconds": time.perf_counter() - t, "cells": len(cells), "rss_mb": _rss_mb()}


def raw_moves(db: str, n: int) -> dict:
    """The same UPDATE + INSERT per transaction, with the product's durability settings."""
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("CREATE TABLE task (pk INTEGER PRIMARY KEY, state TEXT, version INT)")
    con.execute("CREATE TABLE event (id INTEGER PRIMARY KEY, task INT, ev TEXT, note TEXT)")
    con.executemany("INSERT INTO task VALUES (?, 'assigned', 0)", [(i,) for i in range(n)])
    t = time.perf_counter()
    for i in range(n):
        con.execute("BEGIN IMMEDIATE")
        con.execute("UPDATE task SET state='in_progress', version=version+1 WHERE pk=? AND "
                    "version=0", (i,))
        con.execute("INSERT INTO event (task, ev, note) VALUES (?, 'start', NULL)", (i,))
        con.execute("COMMIT")
    elapsed = time.perf_counter() - t
    con.close()
    return {"seconds": elapsed, "per_second": n / elapsed}


def query_seconds(db: str, sql: str, params: tuple) -> float:
    con = sqlite3.connect(db)
    t = time.perf_counter()
    con.execute(sql, params).fetchall()
    elapsed = time.perf_counter() - t
    con.close()
    return elapsed


# --------------------------------------------------------------------------- driver


def run_child(op: str, db: str, arg: str = "") -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", op, db, arg],
                         capture_output=True, text=True, check=False, cwd=ROOT)
    if out.returncode:
        raise SystemExit(f"{op} failed: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def wall(cmd: list[str], env: dict | None = None) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=False, cwd=ROOT, env={**os.environ,
                                                                        **(env or {})})
    return time.perf_counter() - t


def stats(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: seconds, not minutes")
    ap.add_argument("--repeat", type=int, default=None, help="runs per figure (default 3/5)")
    ap.add_argument("--only", choices=["parsing", "lang"],
                    help="only the parsing/working-day figures, or only the language ones")
    args = ap.parse_args()
    size = {"tasks": 1000, "fan": (100, 10), "sweep": 10000, "moves": 100} if args.quick else \
        {"tasks": 10000, "fan": (1000, 100), "sweep": 100000, "moves": 500}
    repeat = args.repeat or 3
    work = Path(tempfile.mkdtemp(prefix="wf-bench-"))
    workflow_bin = [sys.executable, str(ROOT / "cli.py")]
    rows: list[dict] = []

    def fresh(name: str) -> str:
        path = work / name
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return str(path)

    def figure(name, measured, baseline, target, better="lower", unit="s", rss=None):
        m, b = stats(measured), stats(baseline) if baseline else None
        ratio = m["median"] / b["median"] if b else None
        if better == "higher" and b:
            ratio = m["median"] / b["median"]
        ok = (ratio <= target if better == "lower" else ratio >= target) if ratio else (
            rss is not None and rss <= target)
        rows.append({"figure": name, "unit": unit, "measured": m, "baseline": b,
                     "ratio": ratio, "target": target, "better": better, "met": bool(ok)})
        shown = f"{ratio:.2f}x" if ratio is not None else "-"
        print(f"{name:<46} {m['median']:>10.4g} [{m['min']:.4g}–{m['max']:.4g}] {unit:<5}"
              f" base {b['median'] if b else float('nan'):>9.4g}  ratio {shown:>7}"
              f"  target {'≤' if better == 'lower' else '≥'}{target}"
              f"{'x' if ratio is not None else ' ' + unit}  {'ok' if ok else 'MISSED'}",
              flush=True)

    def parsing_figures() -> None:
        # deadline phrases and working days
        times = 100 if args.quick else 1000
        measured, base = [], []
        for _ in range(repeat):
            r = run_child("parse-deadlines", "-", str(times))
            measured.append(r["seconds"])
            base.append(run_child("baseline-strptime", "-", str(times))["seconds"])
        figure(f"parse {r['cells']} deadline cells x {times:,}", measured, base, 20)
        tasks_wd = 100000
        measured = [run_child("working-days", "-", str(tasks_wd))["seconds"] for _ in range(repeat)]
        figure(f"working days, 10 years, {tasks_wd:,} tasks", measured, None, 1,
               rss=statistics.median(measured))

    def language_figures() -> None:
        # Vietnamese against English in the same run, interleaved (issue 15: within 5%): the
        # catalog is read only when a Vietnamese word is shown, and English never reads it.
        env = {"WORKFLOW_DB": str(work / "lang.db"), "WORKFLOW_NOW": NOW1,
               "WORKFLOW_LOG_LEVEL": "error"}
        subprocess.run([*workflow_bin, "load", str(ROOT / "definitions" /
                                                   "son-la-2024-ttyt.yaml")],
                       env={**os.environ, **env}, capture_output=True, check=True, cwd=ROOT)
        for what, cmd in (("workflow --help", ["--help"]),
                          ("workflow show TASK", ["show", "kiem-ke-tai-san/moc-chau"])):
            english, vietnamese = [], []
            for _ in range(3 * repeat + 4):
                english.append(wall([*workflow_bin, *cmd], {**env, "WORKFLOW_LANG": "en"}))
                vietnamese.append(wall([*workflow_bin, *cmd], {**env, "WORKFLOW_LANG": "vi"}))
            figure(f"{what} in Vietnamese (base: English)", vietnamese, english, 1.05)

    if args.only == "parsing":
        parsing_figures()
    elif args.only == "lang":
        language_figures()
    else:
        # 1. load + validate a plan with dependencies
        n = size["tasks"]
        yaml_file = work / "plan.yaml"
        yaml_file.write_text(plan_yaml(n), encoding="utf-8")
        measured, base, rss = [], [], []
        for _ in range(repeat):
            r = run_child("load", fresh("load.db"), str(yaml_file))
            measured.append(r["seconds"])
            rss.append(r["rss_mb"])
            base.append(run_child("baseline-load", fresh("base.db"), str(yaml_file))["seconds"])
        figure(f"load+validate {n:,}-task plan (deps)", measured, base, 3)
        load_rss = 0.0

        # 1b. the plan's page and its phụ lục, written by the command (wall time, absolute target)
        env = {"WORKFLOW_DB": str(work / "load.db"), "WORKFLOW_NOW": NOW1,
               "WORKFLOW_LOG_LEVEL": "error"}
        for what, cmd in (("report --html", ["report", "--html", str(work / "r.html")]),
                          ("export .xlsx", ["export", "-o", str(work / "r.xlsx")])):
            times = [wall([*workflow_bin, *cmd, "--force", "--plan", "bench"], env)
                     for _ in range(repeat)]
            figure(f"{what}, {n:,}-task plan (wall)", times, None, 10,
                   rss=statistics.median(times))

        # 2. fan-out load
        tasks, units = size["fan"]
        fan_file = work / "fan.yaml"
        fan_file.write_text(plan_yaml(tasks, units), encoding="utf-8")
        measured, base = [], []
        for _ in range(repeat):
            r = run_child("load", fresh("fan.db"), str(fan_file))
            measured.append(r["seconds"])
            load_rss = max(load_rss, r["rss_mb"])
            base.append(run_child("baseline-insert", fresh("base.db"), str(fan_file))["seconds"])
        figure(f"load {tasks:,} tasks x {units} units", measured, base, 5)

        # 3. moves per second (Python API, one transaction each, history included)
        moves = size["moves"]
        measured, base = [], []
        for _ in range(repeat):
            db = fresh("moves.db")
            run_child("load", db, str(yaml_file))
            measured.append(run_child("moves", db, str(moves))["per_second"])
            base.append(raw_moves(fresh("rawmoves.db"), moves)["per_second"])
        figure("persisted moves per second", measured, base, 0.25, better="higher", unit="/s")

        # 4–5. sweep and summary over a big plan, 1% needing attention
        big = size["sweep"]
        big_file = work / "big.yaml"
        big_file.write_text(plan_yaml(big, attention=0.01), encoding="utf-8")
        first, steady, base_q, summ, base_g, rss, big_load_rss = [], [], [], [], [], [], []
        for _ in range(repeat):
            db = fresh("big.db")
            big_load_rss.append(run_child("load", db, str(big_file))["rss_mb"])
            r = run_child("sweep", db)
            first.append(r["seconds"])
            rss.append(r["rss_mb"])
            r = run_child("sweep-again", db)
            steady.append(r["seconds"])
            base_q.append(query_seconds(db, "SELECT pk FROM wf_task WHERE plan_id = ? AND "
                                            "overdue_at IS NOT NULL AND overdue_at <= ?",
                                        ("bench", "2024-04-01 01:00:00.000000")))
            r = run_child("summary", db)
            summ.append(r["seconds"])
            rss.append(r["rss_mb"])
            base_g.append(query_seconds(db, "SELECT lead, state, count(*) FROM wf_task WHERE "
                                            "plan_id = ? GROUP BY lead, state", ("bench",)))
        figure(f"sweep {big:,} tasks, 1% need attention (watch)", steady, base_q, 10)
        figure(f"sweep {big:,} tasks, first (raises {big // 100:,})", first, base_q, 10 * 1000)
        figure(f"summary over {big:,} tasks", summ, base_g, 5)

        # 6–7. command wall times
        env = {"WORKFLOW_DB": str(work / "moves.db"), "WORKFLOW_NOW": NOW1,
               "WORKFLOW_LOG_LEVEL": "error"}
        figure("workflow --help wall time",
               [wall([*workflow_bin, "--help"]) for _ in range(repeat + 2)],
               [wall([sys.executable, "-c", "pass"]) for _ in range(repeat + 2)], 6)
        floor = [wall([sys.executable, "-c", "import sqlmodel, typer"]) for _ in range(repeat + 2)]
        figure("workflow show TASK wall time",
               [wall([*workflow_bin, "show", "t5", "--plan", "bench"], env)
                for _ in range(repeat + 2)], floor, 1.2)
        db = work / "moves.db"
        move_times = []
        for i in range(repeat + 2):
            move_times.append(wall([*workflow_bin, "start", f"t{i * 10 + 1000}", "--as",
                                    f"so-{(i * 10) % 20}", "--plan", "bench"], env))
        del db
        figure("workflow start TASK (one move) wall time", move_times, floor, 1.2)
        language_figures()

        # 8. deadline phrases and working days
        parsing_figures()

        # 9. memory
        figure(f"peak RSS: load {tasks * units:,} instances", [load_rss], None, 300, unit="MB",
               rss=load_rss)
        figure(f"peak RSS: load {big:,}-task YAML", [max(big_load_rss)], None, 300, unit="MB",
               rss=max(big_load_rss))
        figure(f"peak RSS: sweep and summary ({big:,} tasks)", [max(rss)], None, 300, unit="MB",
               rss=max(rss))

    # 10. size: the largest module and function (tests/test_architecture.py holds them there)
    from tests.test_architecture import MAX_FUNCTION_LINES, MAX_MODULE_LINES, sizes
    modules, functions = sizes()
    for what, (lines, where), most in (("module", modules[0], MAX_MODULE_LINES),
                                       ("function", functions[0], MAX_FUNCTION_LINES)):
        ok = lines <= most
        rows.append({"figure": f"largest {what}", "unit": "lines", "measured": lines,
                     "where": where, "target": most, "met": ok})
        print(f"{'largest ' + what:<46} {lines:>10} lines ({where})  target ≤{most}  "
              f"{'ok' if ok else 'MISSED'}", flush=True)

    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(
        {"quick": args.quick, "repeat": repeat, "python": sys.version.split()[0],
         "figures": rows}, indent=2), encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)
    missed = [r["figure"] for r in rows if not r["met"]]
    print(f"\n{len(rows) - len(missed)} of {len(rows)} targets met"
          + (f"; missed: {', '.join(missed)}" if missed else ""))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4
                               else "")))
    else:
        main()
