"""A big plan loads without whole copies of its definition (issue 11: peak RSS loading a
100,000-task YAML), and what is stored is what it always was: the same digest, the same load
event data, the same hash chain.

The expected values are written with ``json.dumps`` of whole objects, the way the digest and
the chain are defined; the code under test builds them piece by piece.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import tracemalloc
from datetime import datetime

import pytest

from bench.run import plan_yaml  # the bench's synthetic plans
from tests.conftest import DEFINITIONS, SMALL_PLAN
from workflow import clock, logs
from workflow.ops.load import load_plan
from workflow.plan.definitions import load_file, parse
from workflow.store.audit import PIECE, Encoded, data_text, event_hash
from workflow.store.db import Store

NOW = "2024-04-01T08:00:00+07:00"
# Text that JSON escapes, and escapes at a piece boundary (PIECE characters per piece).
AWKWARD = 'Sở "Y tế" \\ C:\\duong-dan; ' + "ệ" * (PIECE - 30) + '"\\' + "ố" * 40


def plans():
    yield from (load_file(p) for p in sorted(DEFINITIONS.glob("*.yaml")))
    quoted = AWKWARD.replace("\\", "\\\\").replace('"', '\\"')  # in YAML's "..."
    yield parse(SMALL_PLAN.replace("Quyết toán", quoted), "awkward.yaml")
    yield parse(plan_yaml(300), "bench.yaml")
    yield parse(plan_yaml(30, units=20), "fan.yaml")


@pytest.mark.parametrize("plan", list(plans()), ids=lambda p: p.source)
def test_the_canonical_text_and_digest_are_json_dumps_of_the_whole(plan):
    whole = plan.canonical()
    compact = json.dumps(whole, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert plan.digest == hashlib.sha256(compact.encode()).hexdigest()
    assert "".join(plan.canonical_json()) == json.dumps(whole, ensure_ascii=False,
                                                        sort_keys=True)
    data = {"digest": plan.digest, "source": plan.source, "tasks": len(plan.tasks)}
    assert data_text({**data, "definition": Encoded(plan.canonical_json())}) == json.dumps(
        {**data, "definition": whole}, ensure_ascii=False, sort_keys=True)


@pytest.mark.parametrize("data", [AWKWARD, AWKWARD * 3 + "\n\t\x01", "x" * (PIECE + 1)])
def test_an_event_with_big_data_hashes_as_its_whole_json(data):
    fields = {"plan_id": "p", "seq": 1, "task_id": None, "event": "load", "from_state": None,
              "to_state": None, "actor": "so-y-te", "person": "nguyen",
              "at": datetime.fromisoformat(NOW), "note": 'a "note"', "escalated_to": None,
              "level": None, "reason": None, "data": data}
    content = {**fields, "at": "2024-04-01T01:00:00.000000"}
    body = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert event_hash("ab" * 32, fields) == hashlib.sha256(
        f"{'ab' * 32}\n{body}".encode()).hexdigest()


def test_loading_holds_no_whole_copies_of_the_definition(tmp_path):
    """At the peak of a load, Python holds under ten times the load event's data: before,
    the canonical dict, the encoder's text, the hash's JSON of it and its bytes made 13."""
    logs.configure("warning")
    plan = parse(plan_yaml(3000), "bench.yaml")
    store = Store(str(tmp_path / "w.db"), create=True)
    assert plan.digest  # computed with the plan, before the load is measured
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        load_plan(store, plan, now=clock.parse_instant(NOW))
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
        store.dispose()
    con = sqlite3.connect(tmp_path / "w.db")
    data = con.execute("SELECT data FROM wf_event WHERE seq = 1").fetchone()[0]
    con.close()
    assert json.loads(data)["definition"] == json.loads(json.dumps(plan.canonical()))
    assert peak < 10 * len(data.encode())
