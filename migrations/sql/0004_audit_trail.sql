-- The audit trail of each issue: every step in order, who took it, what it changed, where the
-- deadline stood and how long each party had held the issue by then.
-- Written by projections/audit_trail; read by projections/audit_trail/view.py.
-- Times: ISO 8601 text in UTC with microseconds. Days: ISO dates, Beijing. JSON: text.
CREATE TABLE issue_audit_trail (
    issue_id TEXT NOT NULL,
    position BIGINT NOT NULL,            -- the event's position in the global log
    seq INTEGER,                         -- the issue event's version; NULL for a visit's step
    source TEXT NOT NULL,                -- issue | visit
    topic TEXT NOT NULL,
    action TEXT NOT NULL,
    action_label TEXT NOT NULL,
    actor_user TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    actor_department TEXT,
    occurred_at TEXT NOT NULL,           -- business time
    recorded_at TEXT NOT NULL,
    state_before TEXT,
    state_after TEXT NOT NULL,
    changes TEXT NOT NULL,               -- {"field": {"before": .., "after": ..}}
    details TEXT NOT NULL,               -- the event's own facts (reason, note, reply, ids ...)
    deadline TEXT,
    deadline_provisional INTEGER NOT NULL,
    deadline_status TEXT NOT NULL,       -- on_time | due_today | overdue | paused | none
    holder_department TEXT,              -- who holds the issue after this step
    holder_kind TEXT,
    held TEXT NOT NULL,                  -- [{"department", "kind", "working_days", "seconds"}]
    PRIMARY KEY (issue_id, position)
);

-- The projection's working state per issue: the ledger-shaped record and held-time totals.
CREATE TABLE issue_audit_state (
    issue_id TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    held TEXT NOT NULL
);

-- Which issues each planned follow-up visit (回头看) checks, to place its later conduct or
-- cancellation on their trails.
CREATE TABLE issue_audit_follow_ups (
    visit_id TEXT NOT NULL,
    issue_id TEXT NOT NULL,
    PRIMARY KEY (visit_id, issue_id)
);
