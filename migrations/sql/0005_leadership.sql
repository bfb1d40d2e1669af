-- Leadership views (projections/leadership): KPIs for any period and scope, the department and
-- region bulletin (定期通报), the flag board, trends.
--
-- Writing rows is what a read model costs (each upserted row ~20-40 µs on PostgreSQL), so the
-- projection appends each page's facts, aggregated per (day, finest region, department,
-- category), to leadership_kpi_pending, and rolls them up set-based in SQL into the tables below
-- in large batches (every page once it follows the head of the log). Queries add the pending
-- rows, so they are exact at any moment.
--
-- Cubes: the monthly counters and the flag counts are kept for the fact's finest region (town,
-- else county) AND each ancestor region AND '*' (everywhere), for its department AND '*', for
-- its category AND '*'. A query for any scope reads exactly its own rows (region_code = :scope,
-- department = :dept or '*', category = :cat or '*'): a city's year is 12 monthly rows.
-- Department '' = no department (raised, returned, resolved on the spot).
-- Days are Beijing business dates 'YYYY-MM-DD', months 'YYYY-MM'.

CREATE TABLE leadership_kpi_pending (
    day TEXT NOT NULL,
    region_code TEXT NOT NULL,          -- finest
    r1 TEXT,                            -- its ancestors, nearest first
    r2 TEXT,
    r3 TEXT,
    department TEXT NOT NULL,
    category TEXT NOT NULL,
    raised BIGINT NOT NULL,
    dispatched BIGINT NOT NULL,
    accepted_on_time BIGINT NOT NULL,
    resolved BIGINT NOT NULL,
    resolved_solved BIGINT NOT NULL,
    resolved_on_time BIGINT NOT NULL,
    working_days_sum BIGINT NOT NULL,
    reopened BIGINT NOT NULL,
    return_upheld BIGINT NOT NULL,
    rated BIGINT NOT NULL,
    rated_positive BIGINT NOT NULL,
    rated_dissatisfied BIGINT NOT NULL,
    flag_green BIGINT NOT NULL,         -- changes of settled flags (issues no longer open)
    flag_red BIGINT NOT NULL,
    flag_black BIGINT NOT NULL,
    flag_none BIGINT NOT NULL
);

-- How many rows leadership_kpi_pending holds (row id 1; no row = 0), kept in the same
-- transactions: a view skips the pending table when it is empty (an emptied table is still
-- slow to scan until vacuumed).
CREATE TABLE leadership_kpi_pending_rows (
    id INTEGER PRIMARY KEY,
    n BIGINT NOT NULL
);

-- Daily counters, for the edges of periods that are not whole months and for weekly trends: at
-- the finest region (real departments and categories, read with a region range), and for each
-- ancestor region and '*' with department = category = '*' only (read by exact key).
CREATE TABLE leadership_kpi_daily (
    region_code TEXT NOT NULL,
    day TEXT NOT NULL,
    department TEXT NOT NULL,
    category TEXT NOT NULL,
    raised BIGINT NOT NULL DEFAULT 0,
    dispatched BIGINT NOT NULL DEFAULT 0,
    accepted_on_time BIGINT NOT NULL DEFAULT 0,
    resolved BIGINT NOT NULL DEFAULT 0,
    resolved_solved BIGINT NOT NULL DEFAULT 0,
    resolved_on_time BIGINT NOT NULL DEFAULT 0,
    working_days_sum BIGINT NOT NULL DEFAULT 0,
    reopened BIGINT NOT NULL DEFAULT 0,
    return_upheld BIGINT NOT NULL DEFAULT 0,
    rated BIGINT NOT NULL DEFAULT 0,
    rated_positive BIGINT NOT NULL DEFAULT 0,
    rated_dissatisfied BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (region_code, day, department, category)
);
CREATE INDEX leadership_kpi_daily_day ON leadership_kpi_daily (day, region_code);
-- Rows a voided rating took back to zero, found without a scan and deleted by the roll-up (so
-- the tables are the same however the log was split into pages and roll-ups).
CREATE INDEX leadership_kpi_daily_zero ON leadership_kpi_daily (region_code)
    WHERE raised = 0 AND dispatched = 0 AND accepted_on_time = 0 AND resolved = 0
    AND resolved_solved = 0 AND resolved_on_time = 0 AND working_days_sum = 0 AND reopened = 0
    AND return_upheld = 0 AND rated = 0 AND rated_positive = 0 AND rated_dissatisfied = 0;

-- Monthly counters, as a cube: whole months of any period come from here.
CREATE TABLE leadership_kpi_monthly (
    region_code TEXT NOT NULL,
    department TEXT NOT NULL,
    category TEXT NOT NULL,
    month TEXT NOT NULL,
    raised BIGINT NOT NULL DEFAULT 0,
    dispatched BIGINT NOT NULL DEFAULT 0,
    accepted_on_time BIGINT NOT NULL DEFAULT 0,
    resolved BIGINT NOT NULL DEFAULT 0,
    resolved_solved BIGINT NOT NULL DEFAULT 0,
    resolved_on_time BIGINT NOT NULL DEFAULT 0,
    working_days_sum BIGINT NOT NULL DEFAULT 0,
    reopened BIGINT NOT NULL DEFAULT 0,
    return_upheld BIGINT NOT NULL DEFAULT 0,
    rated BIGINT NOT NULL DEFAULT 0,
    rated_positive BIGINT NOT NULL DEFAULT 0,
    rated_dissatisfied BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (region_code, department, category, month)
);
CREATE INDEX leadership_kpi_monthly_zero ON leadership_kpi_monthly (region_code)
    WHERE raised = 0 AND dispatched = 0 AND accepted_on_time = 0 AND resolved = 0
    AND resolved_solved = 0 AND resolved_on_time = 0 AND working_days_sum = 0 AND reopened = 0
    AND return_upheld = 0 AND rated = 0 AND rated_positive = 0 AND rated_dissatisfied = 0;

-- Flags no deadline can change any more (issues not open), as a cube: red, black (rated
-- dissatisfied), green (resolved awaiting a rating, closed without one), none (withdrawn,
-- merged). Open issues are judged against their deadlines at query time.
CREATE TABLE leadership_flag_counts (
    region_code TEXT NOT NULL,
    department TEXT NOT NULL,
    category TEXT NOT NULL,
    green BIGINT NOT NULL DEFAULT 0,
    red BIGINT NOT NULL DEFAULT 0,
    black BIGINT NOT NULL DEFAULT 0,
    none BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (region_code, department, category)
);
-- Rows whose issues all moved on to another flag: deleted by the roll-up.
CREATE INDEX leadership_flag_counts_zero ON leadership_flag_counts (region_code)
    WHERE green = 0 AND red = 0 AND black = 0 AND none = 0;

-- Each issue's dimensions and where it stands, for events that do not carry them (region and
-- category come from Raised/Classified, the department from the latest dispatch), and the open
-- ledger (phase 'open'): open overdue and open flags are counted here at query time.
-- phase: open | done (resolved or closed) | ended (withdrawn, merged).
-- dispatched_on: the dispatch an acceptance answers; rated_on/rated_department: where a rating
-- was counted, to take it back if voided.
CREATE TABLE leadership_issues (
    issue_id TEXT PRIMARY KEY,
    region_code TEXT NOT NULL,
    category TEXT NOT NULL,
    department TEXT NOT NULL,
    phase TEXT NOT NULL,
    dispatched_on TEXT,
    deadline TEXT,
    paused_on TEXT,
    rating TEXT,
    rated_on TEXT,
    rated_department TEXT
);
-- Covers every open-ledger question (open overdue, open flags) without reading the table.
CREATE INDEX leadership_issues_open
    ON leadership_issues (phase, region_code, department, category, deadline, paused_on);

-- Coverage. Registered enterprises: net registrations per region (and each ancestor, and '*')
-- by day and by month; the count at the end of a period is their sum up to that day.
CREATE TABLE leadership_enterprises (
    enterprise_id TEXT PRIMARY KEY,
    region_code TEXT NOT NULL,
    active INTEGER NOT NULL
);
CREATE TABLE leadership_registered_daily (
    region_code TEXT NOT NULL,
    day TEXT NOT NULL,
    n BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (region_code, day)
);
CREATE TABLE leadership_registered_monthly (
    region_code TEXT NOT NULL,
    month TEXT NOT NULL,
    n BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (region_code, month)
);

-- A planned visit's facts until it is conducted or cancelled (Conducted does not repeat them).
CREATE TABLE leadership_planned_visits (
    visit_id TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL,
    region_code TEXT NOT NULL,
    department TEXT NOT NULL
);
-- Every conducted visit (duplicates are harmless): distinct enterprises visited in any period,
-- by any department.
CREATE TABLE leadership_visits_daily (
    day TEXT NOT NULL,
    region_code TEXT NOT NULL,
    department TEXT NOT NULL,
    enterprise_id TEXT NOT NULL
);
CREATE INDEX leadership_visits_daily_day ON leadership_visits_daily (day, region_code);
-- The months of each year in which an enterprise was visited (bit m-1 for month m), so a
-- visit knows whether it is the enterprise's first of its month, quarter and year...
CREATE TABLE leadership_visited_months (
    enterprise_id TEXT NOT NULL,
    year INTEGER NOT NULL,
    months INTEGER NOT NULL,
    PRIMARY KEY (enterprise_id, year)
);
-- ... and, per region (and each ancestor, and '*') and month, the enterprises whose first visit
-- of that month, of its quarter, of its year it was: a calendar month's, quarter's or year's
-- coverage is a sum of at most 12 rows.
CREATE TABLE leadership_coverage_monthly (
    region_code TEXT NOT NULL,
    month TEXT NOT NULL,
    month_first BIGINT NOT NULL DEFAULT 0,
    quarter_first BIGINT NOT NULL DEFAULT 0,
    year_first BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (region_code, month)
);

-- Names for the bulletin and the board (renames arrive by aggregate id, not by code).
CREATE TABLE leadership_departments (
    code TEXT PRIMARY KEY,
    department_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    region_code TEXT NOT NULL,
    dissolved INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE leadership_regions (
    code TEXT PRIMARY KEY,
    region_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    parent_code TEXT,
    level TEXT NOT NULL,
    retired INTEGER NOT NULL DEFAULT 0
);
