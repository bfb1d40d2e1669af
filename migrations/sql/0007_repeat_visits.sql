-- Repeat-visit detection (扎堆走访, 宁静日, 重复调研, 问题反复, 共性问题): the alerts, and the facts
-- the rules look at (visits, issues, quiet days), which the planner's pre-check reads too.
-- Written by projections/repeat_visits; read by projections/repeat_visits/view.py.
-- Times: ISO 8601 text in UTC with microseconds (fixed width). Days: ISO dates, Beijing.
-- Booleans: INTEGER 0/1. Lists of codes or ids: comma-separated text.

CREATE TABLE repeat_visit_alerts (
    alert_key TEXT PRIMARY KEY,          -- stable: one row per finding, extended by later evidence
    kind TEXT NOT NULL,                  -- swarm, quiet_day_breach, repeated_investigation,
                                         -- recurring_problem, common_problem
    enterprise_id TEXT,                  -- NULL for a common problem (see the links)
    region_code TEXT NOT NULL,           -- finest region covering the enterprise(s)
    category TEXT,
    detected_at TEXT NOT NULL,           -- business time of the event that made the rule hold
    updated_at TEXT NOT NULL,            -- business time of the latest evidence
    window_start TEXT,                   -- first and last day of the cited visits or issues
    window_end TEXT,
    evidence TEXT NOT NULL,              -- JSON (rules.Evidence.as_dict)
    departments TEXT NOT NULL,           -- comma-separated, sorted
    enterprise_count INTEGER NOT NULL,
    status TEXT NOT NULL,                -- open
    position BIGINT NOT NULL             -- log position of the event that last changed it
);
CREATE INDEX repeat_visit_alerts_detected ON repeat_visit_alerts (detected_at, alert_key);
CREATE INDEX repeat_visit_alerts_region ON repeat_visit_alerts (region_code, detected_at);
CREATE INDEX repeat_visit_alerts_enterprise ON repeat_visit_alerts (enterprise_id, kind, window_end);

-- Who an alert concerns, for filters: link 'department' or 'enterprise', value the code or id.
CREATE TABLE repeat_visit_alert_links (
    alert_key TEXT NOT NULL,
    link TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (alert_key, link, value)
);
CREATE INDEX repeat_visit_alert_links_value ON repeat_visit_alert_links (link, value, alert_key);

-- Every visit: planned (visit_on = the planned day), conducted (the day it took place) or
-- cancelled. categories: what the visit is about (rules.visit_categories).
CREATE TABLE repeat_visit_visits (
    visit_id TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL,
    region_code TEXT NOT NULL,
    department TEXT NOT NULL,
    visit_on TEXT NOT NULL,
    status TEXT NOT NULL,
    requested INTEGER NOT NULL,
    kind TEXT NOT NULL,
    purpose TEXT NOT NULL,
    categories TEXT NOT NULL,
    follow_up_issue_ids TEXT NOT NULL,
    raised_issue_ids TEXT NOT NULL,
    conducted_at TEXT
);
CREATE INDEX repeat_visit_visits_enterprise ON repeat_visit_visits (enterprise_id, visit_on);
CREATE INDEX repeat_visit_visits_status ON repeat_visit_visits (status, visit_on);

-- Every issue, as the rules see it. text_key: the description normalised for similarity
-- (similarity.text_key); scope: the common-problem area (rules.cluster_scope); seq: log position
-- at which it entered its category (the common-problem scan goes newest first);
-- common_alert_key: the common problem it belongs to.
CREATE TABLE repeat_visit_issues (
    issue_id TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL,
    region_code TEXT NOT NULL,
    scope TEXT NOT NULL,
    category TEXT NOT NULL,
    text_key TEXT NOT NULL,
    state TEXT NOT NULL,
    lead_department TEXT,
    co_departments TEXT NOT NULL,
    raised_on TEXT NOT NULL,
    finished_on TEXT,
    visit_id TEXT,
    common_alert_key TEXT,
    seq BIGINT NOT NULL
);
CREATE INDEX repeat_visit_issues_enterprise ON repeat_visit_issues (enterprise_id, category);
CREATE INDEX repeat_visit_issues_bucket ON repeat_visit_issues (scope, category, raised_on);

-- Enterprises: region, and their quiet-day declarations in the order made (JSON list).
CREATE TABLE repeat_visit_enterprises (
    enterprise_id TEXT PRIMARY KEY,
    region_code TEXT NOT NULL,
    quiet_days TEXT NOT NULL
);

-- The projection's own bookkeeping: the latest business day seen, the thresholds it ran with,
-- and which runner wrote the last page (its in-memory state is valid only while that holds).
CREATE TABLE repeat_visit_state (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
