"""PostgreSQL guards: a person's role can write only the shapes workflow writes.

Triggers owned by the tables' owner (SECURITY DEFINER, fixed search_path) hold every rule the
database enforces, in one place:

- ``wf_guard_event`` (before each new event): the event extends its plan's hash chain (seq,
  prev_hash and hash recomputed here, for every role); for other roles than the owner the
  event's person is ``session_user`` (the authenticated login: ``SET ROLE`` does not change
  it, and ``current_user`` is the owner inside these functions), a move names an agency the
  person is a member of (once the plan has members) and starts from the state its history
  left the task in, and a membership change is made by a member of the coordinator or issuer.
- ``wf_settle`` (deferred to commit): what a transaction wrote agrees with the history: a
  task's state and version with its moves, its escalation rows with its escalation events, the
  membership table with the member events, an outbox row with its escalation event and the
  plan's delivery target. So a row never changes without its event, nor an event without its
  row.
- small guards on the plan head, task rows and member rows.

The owner (and superusers) are trusted: ``db copy`` inserts other people's events verbatim,
and the owner could drop the triggers anyway. SQLite has no roles: nothing changes there.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

MOVES = "('start', 'report', 'approve', 'return', 'block', 'unblock')"
ESCALATIONS = "('escalation_raised', 'escalation_climbed', 'escalation_resolved')"
MEMBERS = "('member_added', 'member_removed')"
REFUSE = "USING ERRCODE = 'insufficient_privilege'"

# Each function: (name and arguments, body). @S is the schema, @PATH its fixed search_path.
FUNCTIONS = [
    ("wf_trusted()", r"""RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER @PATH AS $$
  SELECT pg_has_role(session_user, c.relowner, 'MEMBER')
  FROM pg_class c WHERE c.oid = '@S.wf_event'::regclass
$$"""),
    # The same hash as workflow.audit.event_hash: sorted keys, compact JSON, UTC microseconds.
    ("wf_event_hash(e @S.wf_event)", r"""RETURNS text LANGUAGE sql STABLE @PATH AS $$
  SELECT encode(sha256(convert_to(e.prev_hash || E'\n'
    || '{"actor":' || coalesce(to_json(e.actor)::text, 'null')
    || ',"at":' || to_json(to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'))::text
    || ',"data":' || coalesce(to_json(e.data)::text, 'null')
    || ',"escalated_to":' || coalesce(to_json(e.escalated_to)::text, 'null')
    || ',"event":' || coalesce(to_json(e.event)::text, 'null')
    || ',"from_state":' || coalesce(to_json(e.from_state)::text, 'null')
    || ',"level":' || coalesce(e.level::text, 'null')
    || ',"note":' || coalesce(to_json(e.note)::text, 'null')
    || ',"person":' || coalesce(to_json(e.person)::text, 'null')
    || ',"plan_id":' || coalesce(to_json(e.plan_id)::text, 'null')
    || ',"reason":' || coalesce(to_json(e.reason)::text, 'null')
    || ',"seq":' || coalesce(e.seq::text, 'null')
    || ',"task_id":' || coalesce(to_json(e.task_id)::text, 'null')
    || ',"to_state":' || coalesce(to_json(e.to_state)::text, 'null')
    || '}', 'UTF8')), 'hex')
$$"""),
    ("wf_guard_event()", r"""RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER @PATH AS $$
DECLARE
  who text := session_user;
  last_seq integer; last_hash text; was text; p record; prior record;
BEGIN
  SELECT e.seq, e.hash, e.event, e.task_id, e.person INTO prior FROM wf_event e
   WHERE e.plan_id = NEW.plan_id ORDER BY e.seq DESC LIMIT 1;
  last_seq := prior.seq;
  last_hash := prior.hash;
  IF NEW.seq IS DISTINCT FROM coalesce(last_seq, 0) + 1
     OR NEW.prev_hash IS DISTINCT FROM coalesce(last_hash, repeat('0', 64)) THEN
    RAISE EXCEPTION 'workflow guard: event seq % does not extend the history of plan % '
      '(its last event is seq %)',
      NEW.seq, NEW.plan_id, coalesce(last_seq, 0) @REFUSE;
  END IF;
  IF NEW.hash IS DISTINCT FROM wf_event_hash(NEW) THEN
    RAISE EXCEPTION 'workflow guard: event seq % of plan %: its hash does not match its content',
      NEW.seq, NEW.plan_id @REFUSE;
  END IF;
  IF wf_trusted() THEN
    RETURN NEW;
  END IF;
  IF NEW.person IS DISTINCT FROM who THEN
    RAISE EXCEPTION 'workflow guard: an event''s person is the role that writes it (%), not %',
      who, coalesce(NEW.person, 'nobody') @REFUSE;
  END IF;
  SELECT pl.coordinator, pl.issuer INTO p FROM wf_plan pl WHERE pl.id = NEW.plan_id;
  IF NEW.event IN @MOVES THEN
    IF EXISTS (SELECT 1 FROM wf_member m WHERE m.plan_id = NEW.plan_id)
       AND NOT EXISTS (SELECT 1 FROM wf_member m WHERE m.plan_id = NEW.plan_id
                       AND m.person = who AND m.agency = NEW.actor) THEN
      RAISE EXCEPTION 'workflow guard: % is not a member of % in plan %',
        who, coalesce(NEW.actor, 'no agency'), NEW.plan_id @REFUSE;
    END IF;
    SELECT e.to_state INTO was FROM wf_event e WHERE e.plan_id = NEW.plan_id
       AND e.task_id = NEW.task_id AND e.event IN @MOVES ORDER BY e.seq DESC LIMIT 1;
    IF NEW.from_state IS DISTINCT FROM coalesce(was, 'assigned') THEN
      RAISE EXCEPTION 'workflow guard: % of % starts from %, but its history leaves it %',
        NEW.event, NEW.task_id, coalesce(NEW.from_state, 'no state'),
        coalesce(was, 'assigned') @REFUSE;
    END IF;
  ELSIF NEW.event IN @MEMBERS THEN
    IF NEW.actor IS NULL OR NEW.actor NOT IN (p.coordinator, p.issuer) THEN
      RAISE EXCEPTION 'workflow guard: members of plan % are managed for % or % only',
        NEW.plan_id, p.coordinator, p.issuer @REFUSE;
    END IF;
    IF EXISTS (SELECT 1 FROM wf_member m WHERE m.plan_id = NEW.plan_id) THEN
      IF NOT EXISTS (SELECT 1 FROM wf_member m WHERE m.plan_id = NEW.plan_id
                     AND m.person = who AND m.agency = NEW.actor) THEN
        RAISE EXCEPTION 'workflow guard: % is not a member of % in plan % and may not '
          'manage its members',
          who, NEW.actor, NEW.plan_id @REFUSE;
      END IF;
    ELSIF NEW.event <> 'member_added'
          OR (NEW.data::jsonb ->> 'agency') IS NULL
          OR (NEW.data::jsonb ->> 'agency') NOT IN (p.coordinator, p.issuer) THEN
      RAISE EXCEPTION 'workflow guard: the first member of plan % must be added to % or %',
        NEW.plan_id, p.coordinator, p.issuer @REFUSE;
    END IF;
  ELSIF NEW.event IN @ESCALATIONS THEN
    -- A person's move raises (block) or resolves one right after the move, on the same task;
    -- only the sweep's role raises and climbs them on its own. wf_settle ties them to rows.
    IF NOT has_table_privilege(who, 'wf_task', 'INSERT')
       AND NOT (prior.person IS NOT DISTINCT FROM who
                AND prior.task_id IS NOT DISTINCT FROM NEW.task_id
                AND (prior.event IN @MOVES OR prior.event IN @ESCALATIONS)) THEN
      RAISE EXCEPTION 'workflow guard: % may write an escalation of % only right after its own '
        'move on it', who, coalesce(NEW.task_id, 'no task') @REFUSE;
    END IF;
  ELSIF NEW.event = 'created' AND has_table_privilege(who, 'wf_task', 'INSERT') THEN
    NULL;  -- the sweep's service role creates recurring occurrences
  ELSE
    RAISE EXCEPTION 'workflow guard: % events are written by the owner of the tables, not by %',
      NEW.event, who @REFUSE;
  END IF;
  RETURN NEW;
END $$"""),
    ("wf_guard_plan()", r"""RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER @PATH AS $$
DECLARE last_seq integer; last_hash text;
BEGIN
  IF (NEW.head_seq, NEW.head_hash) IS NOT DISTINCT FROM (OLD.head_seq, OLD.head_hash)
     OR wf_trusted() THEN
    RETURN NEW;
  END IF;
  SELECT e.seq, e.hash INTO last_seq, last_hash FROM wf_event e
   WHERE e.plan_id = NEW.id ORDER BY e.seq DESC LIMIT 1;
  IF (NEW.head_seq, NEW.head_hash)
     IS DISTINCT FROM (coalesce(last_seq, 0), coalesce(last_hash, '')) THEN
    RAISE EXCEPTION 'workflow guard: the head of plan % is its last event (seq %), not seq %',
      NEW.id, coalesce(last_seq, 0), NEW.head_seq @REFUSE;
  END IF;
  RETURN NEW;
END $$"""),
    ("wf_guard_row()", r"""RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER @PATH AS $$
BEGIN
  IF wf_trusted() THEN
    RETURN NEW;
  END IF;
  IF TG_TABLE_NAME = 'wf_member' THEN
    IF NEW.added_by IS DISTINCT FROM session_user THEN
      RAISE EXCEPTION 'workflow guard: a membership is added by the role that adds it (%), not %',
        session_user, NEW.added_by @REFUSE;
    END IF;
  ELSIF TG_OP = 'INSERT' THEN  -- wf_task: the sweep's new occurrences
    IF (NEW.kind, NEW.state, NEW.version) IS DISTINCT FROM ('instance', 'assigned', 0) THEN
      RAISE EXCEPTION 'workflow guard: only new occurrences (assigned, version 0) are '
        'added to plan %',
        NEW.plan_id @REFUSE;
    END IF;
  ELSIF NEW.kind <> 'group' AND NEW.version <> OLD.version + 1 AND (
        NEW.version <> OLD.version
        OR (NEW.state, NEW.blocked_from, NEW.blocked_by, NEW.reported_at, NEW.approved_at,
            NEW.on_time, NEW.overdue_at, NEW.last_move_at)
           IS DISTINCT FROM (OLD.state, OLD.blocked_from, OLD.blocked_by, OLD.reported_at,
                             OLD.approved_at, OLD.on_time, OLD.overdue_at, OLD.last_move_at)) THEN
    RAISE EXCEPTION 'workflow guard: task % changes only by one move at a time',
      NEW.task_id @REFUSE;
  END IF;
  RETURN NEW;
END $$"""),
    ("wf_task_problem(p text, t text)", r"""RETURNS text LANGUAGE plpgsql STABLE @PATH AS $$
DECLARE k record; n integer; last text;
BEGIN
  SELECT w.kind, w.state, w.version INTO k FROM wf_task w WHERE w.plan_id = p AND w.task_id = t;
  SELECT count(*), (array_agg(e.to_state ORDER BY e.seq DESC))[1] INTO n, last
    FROM wf_event e WHERE e.plan_id = p AND e.task_id = t AND e.event IN @MOVES;
  IF k IS NULL THEN
    RETURN format('plan %s has no task %s', p, t);
  ELSIF k.kind = 'group' THEN
    RETURN CASE WHEN n > 0 THEN format('%s is moved through its instances, not itself', t) END;
  ELSIF (k.state, k.version) IS DISTINCT FROM (coalesce(last, 'assigned'), n) THEN
    RETURN format('task %s would be %s (version %s) but its history says %s after %s move(s)',
                  t, k.state, k.version, coalesce(last, 'assigned'), n);
  END IF;
  RETURN NULL;
END $$"""),
    ("wf_escalation_problem(p text, t text)", r"""RETURNS text LANGUAGE sql STABLE @PATH AS $$
  WITH ev AS (
    SELECT e.seq, e.event, e.level, e.escalated_to, e.reason, e.at,
           count(*) FILTER (WHERE e.event = 'escalation_raised') OVER (ORDER BY e.seq) AS n
    FROM wf_event e WHERE e.plan_id = p AND e.task_id = t AND e.event IN @ESCALATIONS
  ), want AS (
    SELECT n, max(reason) FILTER (WHERE event = 'escalation_raised') AS reason,
           max(at) FILTER (WHERE event = 'escalation_raised') AS raised_at,
           max(level) FILTER (WHERE event <> 'escalation_resolved') AS level,
           (array_agg(escalated_to ORDER BY seq DESC)
              FILTER (WHERE event <> 'escalation_resolved'))[1] AS escalated_to,
           max(at) FILTER (WHERE event = 'escalation_resolved') AS resolved_at
    FROM ev GROUP BY n
  ), have AS (
    SELECT row_number() OVER (ORDER BY x.id) AS n, x.reason, x.raised_at, x.level,
           x.escalated_to, x.resolved_at
    FROM wf_escalation x WHERE x.plan_id = p AND x.task_id = t
  )
  SELECT format('escalation %s of task %s does not agree with its events', n, t)
  FROM want w FULL JOIN have h USING (n)
  WHERE (w.reason, w.raised_at, w.level, w.escalated_to, w.resolved_at)
        IS DISTINCT FROM (h.reason, h.raised_at, h.level, h.escalated_to, h.resolved_at)
  ORDER BY n LIMIT 1
$$"""),
    ("wf_member_problem(p text)", r"""RETURNS text LANGUAGE sql STABLE @PATH AS $$
  WITH ev AS (
    SELECT DISTINCT ON (d ->> 'person', d ->> 'agency') d ->> 'person' AS person,
           d ->> 'agency' AS agency, e.event, e.person AS adder
    FROM wf_event e, LATERAL (SELECT e.data::jsonb AS d) x
    WHERE e.plan_id = p AND e.task_id IS NULL AND e.event IN @MEMBERS
    ORDER BY d ->> 'person', d ->> 'agency', e.seq DESC
  ), want AS (SELECT person, agency, adder FROM ev WHERE event = 'member_added'),
  have AS (SELECT m.person, m.agency, m.added_by AS adder FROM wf_member m WHERE m.plan_id = p)
  SELECT CASE WHEN h.person IS NULL
    THEN format('%s was added to %s in plan %s but is not in the membership table',
                w.person, w.agency, p)
    ELSE format('%s would be a member of %s in plan %s without a member_added event by %s',
                h.person, h.agency, p, h.adder) END
  FROM want w FULL JOIN have h
    ON w.person = h.person AND w.agency = h.agency AND w.adder = h.adder
  WHERE w.person IS NULL OR h.person IS NULL LIMIT 1
$$"""),
    ("wf_outbox_problem(row_id integer)", r"""RETURNS text LANGUAGE sql STABLE @PATH AS $$
  SELECT CASE
    WHEN e.seq IS NULL OR e.event NOT IN ('escalation_raised', 'escalation_climbed') THEN
      format('outbox row %s: event seq %s of plan %s is not a raised or climbed escalation',
             o.id, o.event_seq, o.plan_id)
    WHEN (e.task_id, 'escalation_' || (d ->> 'action'), e.level, e.escalated_to, e.reason,
          o.plan_id)
         IS DISTINCT FROM (o.task_id, e.event, (d ->> 'level')::int, d ->> 'escalated_to',
                           d ->> 'reason', d ->> 'plan')
         OR d ->> 'task' IS DISTINCT FROM o.task_id THEN
      format('outbox row %s does not agree with its event (seq %s)', o.id, o.event_seq)
    WHEN d ? 'notify' AND coalesce(d -> 'notify', 'null') IS DISTINCT FROM
         coalesce(pl.definition::jsonb -> 'notify', 'null') THEN
      format('outbox row %s names a delivery target that is not plan %s''s', o.id, o.plan_id)
    WHEN (SELECT count(*) FROM wf_delivery q WHERE q.plan_id = o.plan_id
          AND q.event_seq = o.event_seq) > 1 THEN
      format('a second outbox row for event seq %s of plan %s', o.event_seq, o.plan_id)
  END
  FROM wf_delivery o JOIN wf_plan pl ON pl.id = o.plan_id
  CROSS JOIN LATERAL (SELECT o.payload::jsonb AS d) x
  LEFT JOIN wf_event e ON e.plan_id = o.plan_id AND e.seq = o.event_seq
  WHERE o.id = row_id
$$"""),
    ("wf_settle()", r"""RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER @PATH AS $$
DECLARE r record; problem text;
BEGIN
  IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
  IF TG_TABLE_NAME = 'wf_event' THEN
    IF r.event IN @MOVES THEN
      problem := wf_task_problem(r.plan_id, r.task_id);
    ELSIF r.event IN @ESCALATIONS THEN
      problem := wf_escalation_problem(r.plan_id, r.task_id);
    ELSIF r.event IN @MEMBERS THEN
      problem := wf_member_problem(r.plan_id);
    END IF;
  ELSIF TG_TABLE_NAME = 'wf_task' THEN
    problem := wf_task_problem(r.plan_id, r.task_id);
  ELSIF TG_TABLE_NAME = 'wf_escalation' THEN
    problem := wf_escalation_problem(r.plan_id, r.task_id);
  ELSIF TG_TABLE_NAME = 'wf_member' THEN
    problem := wf_member_problem(r.plan_id);
  ELSIF TG_TABLE_NAME = 'wf_delivery' THEN
    problem := wf_outbox_problem(r.id);
  END IF;
  IF problem IS NOT NULL THEN
    RAISE EXCEPTION 'workflow guard: % (a row changes only with its event); nothing was written',
      problem @REFUSE;
  END IF;
  RETURN NULL;
END $$"""),
]

# (trigger, table, when and how). Deferred ones check at commit, once every row is written.
TRIGGERS = [
    ("wf_event_guard", "wf_event", "BEFORE INSERT", "wf_guard_event", ""),
    ("wf_plan_guard", "wf_plan", "BEFORE UPDATE", "wf_guard_plan", ""),
    ("wf_task_guard", "wf_task", "BEFORE INSERT OR UPDATE", "wf_guard_row", ""),
    ("wf_member_guard", "wf_member", "BEFORE INSERT OR UPDATE", "wf_guard_row", ""),
    ("wf_event_settle", "wf_event", "AFTER INSERT", "wf_settle", "NOT @S.wf_trusted()"),
    ("wf_task_settle", "wf_task", "AFTER INSERT OR UPDATE", "wf_settle",
     "NOT @S.wf_trusted()"),
    ("wf_escalation_settle", "wf_escalation", "AFTER INSERT OR UPDATE OR DELETE", "wf_settle",
     ""),
    ("wf_member_settle", "wf_member", "AFTER INSERT OR UPDATE OR DELETE", "wf_settle", ""),
    ("wf_delivery_settle", "wf_delivery", "AFTER INSERT", "wf_settle", ""),
]


def statements(schema: str) -> list[str]:
    """The DDL, for tables in ``schema`` (the functions' search_path is fixed to it)."""
    s = '"' + schema.replace('"', '""') + '"'
    path = f"SET search_path = pg_catalog, {s}, pg_temp"

    def fill(sql: str) -> str:
        return (sql.replace("@PATH", path).replace("@S", s).replace("@REFUSE", REFUSE)
                .replace("@MOVES", MOVES).replace("@ESCALATIONS", ESCALATIONS)
                .replace("@MEMBERS", MEMBERS))

    out = []
    for signature, body in FUNCTIONS:
        out.append(fill(f"CREATE OR REPLACE FUNCTION @S.{signature} {body}"))
        # Nobody calls them but the triggers: no role may run them with its own arguments.
        # Except wf_trusted(): the deferred triggers' WHEN (run as the writer) asks it, so the
        # owner's bulk writes queue no checks; it has no arguments and answers for the caller.
        grant = "GRANT EXECUTE" if signature == "wf_trusted()" else "REVOKE ALL"
        to = "TO" if signature == "wf_trusted()" else "FROM"
        out.append(fill(f"{grant} ON FUNCTION @S.{signature} {to} PUBLIC"))
    for name, table, when, function, condition in TRIGGERS:
        out.append(f"DROP TRIGGER IF EXISTS {name} ON {s}.{table}")
        deferred = name.endswith("_settle")
        head = (f"CREATE CONSTRAINT TRIGGER {name} {when} ON {s}.{table} "
                "DEFERRABLE INITIALLY DEFERRED") if deferred else (
                f"CREATE TRIGGER {name} {when} ON {s}.{table}")
        condition = "NOT @S.wf_trusted()" if deferred and not condition else condition
        when_clause = f" WHEN ({fill(condition)})" if condition else ""
        out.append(f"{head} FOR EACH ROW{when_clause} EXECUTE FUNCTION {s}.{function}()")
    return out


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return  # SQLite has no roles: whoever can write the file can write anything
    schema = bind.execute(sa.text("SELECT current_schema()")).scalar_one()
    # The driver's own cursor, with no parameters: the bodies are full of '%' (RAISE, format).
    with bind.connection.dbapi_connection.cursor() as cursor:
        for stmt in statements(schema):
            cursor.execute(stmt)


def downgrade() -> None:
    raise NotImplementedError("no downgrade: restore a backup taken before the upgrade")
