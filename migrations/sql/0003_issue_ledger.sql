-- The issue ledger (台账): one row per issue, where it stands and who holds it.
-- Written by projections/issue_ledger; read by projections/issue_ledger/view.py.
-- Times: ISO 8601 text in UTC with microseconds (fixed width). Days: ISO dates, Beijing.
-- Booleans: INTEGER 0/1. Flags and "overdue" depend on the time of the question and are not
-- stored: the view derives them from state, rating and clock_deadline (see rules.py).
CREATE TABLE issue_ledger (
    issue_id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,                 -- position of the Raised event: keyset tie-breaker
    enterprise_id TEXT NOT NULL,
    region_code TEXT NOT NULL,           -- finest known (town 9 digits, else county 6)
    channel TEXT NOT NULL,
    visit_id TEXT,
    raised_by TEXT NOT NULL,
    raised_by_user TEXT NOT NULL,
    description TEXT NOT NULL,
    search_key TEXT NOT NULL,            -- description normalised: NFKC, Simplified, lower case
    category TEXT NOT NULL,
    tier TEXT NOT NULL,
    state TEXT NOT NULL,
    is_open INTEGER NOT NULL,
    lead_department TEXT,
    co_departments TEXT NOT NULL,        -- comma-separated; see issue_ledger_departments
    dispatch_no INTEGER NOT NULL,
    dispatched_at TEXT,
    acceptance_due TEXT,
    accepted_at TEXT,
    accepted_in_time INTEGER,
    deadline TEXT,
    deadline_provisional INTEGER NOT NULL,
    clock_deadline TEXT,                 -- overdue on day D iff clock_deadline < D
    paused_at TEXT,
    paused_working_days INTEGER NOT NULL,
    extension_days INTEGER NOT NULL,
    pending_extension_days INTEGER,
    resolved_at TEXT,
    resolved_on_time INTEGER,
    outcome TEXT,
    reply_no INTEGER NOT NULL,
    feedback_due TEXT,
    rating TEXT,                         -- the standing rating of the latest reply
    rated_at TEXT,
    dispute_pending INTEGER NOT NULL,
    closed_at TEXT,
    closed_without_rating INTEGER NOT NULL,
    ended_at TEXT,                       -- left the ledger: closed, withdrawn or merged
    withdrawn_reason TEXT,
    withdrawn_quality_check_pending INTEGER NOT NULL, -- 1 from a withdrawal; no check event yet
    merged_into TEXT,
    reopen_count INTEGER NOT NULL,
    return_count INTEGER NOT NULL,
    transfer_count INTEGER NOT NULL,
    escalation_count INTEGER NOT NULL,
    supervision_count INTEGER NOT NULL,
    last_progress_at TEXT,
    holder TEXT,                         -- the open stretch of clock ownership
    holder_kind TEXT,
    holder_since TEXT,
    raised_at TEXT NOT NULL,
    last_event_at TEXT NOT NULL,         -- business time of the latest event
    last_recorded_at TEXT NOT NULL,
    last_version INTEGER NOT NULL,
    last_position BIGINT NOT NULL,
    sort_raised BIGINT NOT NULL,         -- raised_at in microseconds since 1970
    sort_deadline BIGINT NOT NULL,       -- deadline as a day number; 99999999 without one
    sort_activity BIGINT NOT NULL        -- last_event_at in microseconds since 1970
);
CREATE UNIQUE INDEX issue_ledger_by_raised ON issue_ledger (sort_raised, seq);
CREATE UNIQUE INDEX issue_ledger_by_deadline ON issue_ledger (sort_deadline, seq);
CREATE UNIQUE INDEX issue_ledger_by_activity ON issue_ledger (sort_activity, seq);
CREATE INDEX issue_ledger_by_region ON issue_ledger (region_code, sort_raised);
CREATE INDEX issue_ledger_by_enterprise ON issue_ledger (enterprise_id, sort_raised);

-- Current lead and co-handling departments of each issue, to filter by any department.
CREATE TABLE issue_ledger_departments (
    issue_id TEXT NOT NULL,
    department TEXT NOT NULL,
    role TEXT NOT NULL,                  -- lead | co
    PRIMARY KEY (issue_id, department)
);
CREATE INDEX issue_ledger_departments_by_department
    ON issue_ledger_departments (department, role, issue_id);

-- Clock ownership (projections/clock.py): every closed stretch of time during which one party
-- held an issue, appended when the event that ends it is projected; the open stretch is
-- issue_ledger.holder/holder_kind/holder_since. Totals per party are sums over these rows.
CREATE TABLE issue_ledger_stretches (
    issue_id TEXT NOT NULL,
    position BIGINT NOT NULL,            -- the event that ended the stretch
    department TEXT NOT NULL,            -- a department code, dispatch_office or enterprise
    kind TEXT NOT NULL,                  -- why it held the issue (HoldKind)
    started_at TEXT NOT NULL,
    ended_at TEXT NOT NULL,
    working_days INTEGER NOT NULL,       -- working days in (start day, end day]
    seconds BIGINT NOT NULL,             -- elapsed (wall-clock) whole seconds
    PRIMARY KEY (issue_id, position)
);

-- The enterprises the ledger names (from Enterprise.Registered / ProfileChanged / Deregistered).
CREATE TABLE issue_ledger_enterprises (
    enterprise_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    uscc TEXT NOT NULL,
    region_code TEXT NOT NULL,
    active INTEGER NOT NULL
);
