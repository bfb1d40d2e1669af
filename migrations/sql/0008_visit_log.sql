-- The visit log (projections/visit_log): one row per visit, planned, conducted or cancelled, with
-- what it was for, what happened on it and what it delivered. Times: ISO 8601 text in UTC with
-- microseconds (fixed width, so they order as text). Days: ISO dates, Beijing. Booleans: 0/1.
-- Lists: JSON text.

CREATE TABLE visit_log (
    visit_id TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL,
    region_code TEXT NOT NULL,            -- the enterprise's region when the visit was made
    department TEXT NOT NULL,
    cadres TEXT NOT NULL,                 -- JSON list of user ids
    kind TEXT NOT NULL,                   -- routine | follow_up | satisfaction_call | survey
    state TEXT NOT NULL,                  -- planned | conducted | cancelled
    planned_for TEXT NOT NULL,            -- the day planned (a recorded visit: the day it happened)
    visit_on TEXT NOT NULL,               -- the day it happened once conducted, else planned_for
    planned_at TEXT,                      -- when the plan was made (NULL: recorded afterwards)
    recorded_by TEXT NOT NULL,            -- who planned or recorded it (user id)
    purpose TEXT NOT NULL,
    requested_by_enterprise INTEGER NOT NULL,
    follow_up_issue_ids TEXT NOT NULL,    -- JSON list: the issues a 回头看 checks
    conducted_at TEXT,
    conducted_by TEXT,
    mode TEXT,                            -- on_site | office_hours | phone | wechat | video
    participants TEXT NOT NULL,           -- JSON list of names
    summary TEXT,
    raised_issue_ids TEXT NOT NULL,       -- JSON list: the issues raised on it
    policies TEXT NOT NULL,               -- JSON list of {"policy", "benefit_yuan"}
    benefit_yuan BIGINT NOT NULL,         -- the policies' total worth
    cancelled_at TEXT,
    cancelled_by TEXT,
    cancelled_reason TEXT
);
-- Lists are newest first by (visit_on, visit_id), within a region, an enterprise or a department.
CREATE INDEX visit_log_on ON visit_log (visit_on, visit_id);
CREATE INDEX visit_log_enterprise ON visit_log (enterprise_id, visit_on, visit_id);
CREATE INDEX visit_log_region ON visit_log (region_code, visit_on);
CREATE INDEX visit_log_department ON visit_log (department, visit_on);
