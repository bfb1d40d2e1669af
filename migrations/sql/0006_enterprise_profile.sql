-- The enterprise profile (projections/enterprise_profile): who the enterprise is, who looks
-- after it, how often it was visited and by whom, its issues, its satisfaction record, and the
-- policies delivered to it. Times: ISO 8601 text in UTC; days: ISO dates, Beijing.

-- One row per enterprise: who it is (changes rarely)...
CREATE TABLE enterprise_profiles (
    enterprise_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    search_key TEXT NOT NULL,           -- name normalised: NFKC, Simplified, lower case
    uscc TEXT NOT NULL,
    region_code TEXT NOT NULL,          -- finest known (town 9 digits, else county 6)
    address TEXT NOT NULL,
    industry TEXT NOT NULL,
    scale TEXT NOT NULL,
    tags TEXT NOT NULL,                 -- JSON list, in the order given
    contact_name TEXT NOT NULL,
    contact_phone TEXT NOT NULL,
    state TEXT NOT NULL,                -- active | deregistered
    registered_at TEXT NOT NULL,
    deregistered_at TEXT,
    deregistered_reason TEXT
);
-- ... and what happened to it (changes with every visit, issue and rating; kept apart so those
-- rewrite a narrow row).
CREATE TABLE enterprise_activity (
    enterprise_id TEXT PRIMARY KEY,
    visits BIGINT NOT NULL DEFAULT 0,   -- conducted (or recorded) visits
    last_visit_at TEXT,
    issues_open BIGINT NOT NULL DEFAULT 0,
    issues_resolved BIGINT NOT NULL DEFAULT 0,  -- resolved, awaiting the enterprise's verdict
    issues_closed BIGINT NOT NULL DEFAULT 0,
    issues_ended BIGINT NOT NULL DEFAULT 0,     -- withdrawn or merged into another
    rated_satisfied BIGINT NOT NULL DEFAULT 0,
    rated_basically BIGINT NOT NULL DEFAULT 0,
    rated_dissatisfied BIGINT NOT NULL DEFAULT 0,  -- voided ratings (dispute upheld) excluded
    policies BIGINT NOT NULL DEFAULT 0,
    benefit_yuan BIGINT NOT NULL DEFAULT 0
);
-- The list: a region subtree in (region, name) order, keyset-paged.
CREATE INDEX enterprise_profiles_list ON enterprise_profiles (region_code, name, enterprise_id);
CREATE INDEX enterprise_profiles_uscc ON enterprise_profiles (uscc);

CREATE TABLE enterprise_profile_tags (
    tag TEXT NOT NULL,
    enterprise_id TEXT NOT NULL,
    PRIMARY KEY (tag, enterprise_id)
);
CREATE INDEX enterprise_profile_tags_enterprise ON enterprise_profile_tags (enterprise_id);

-- 包联: every pairing, current (released_at NULL) and past.
CREATE TABLE enterprise_liaisons (
    enterprise_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    since TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    specialty TEXT NOT NULL,
    department TEXT,
    released_at TEXT,
    release_reason TEXT,
    PRIMARY KEY (enterprise_id, user_id, since)
);

CREATE TABLE enterprise_visits_by_department (
    enterprise_id TEXT NOT NULL,
    department TEXT NOT NULL,
    n BIGINT NOT NULL DEFAULT 0,
    last_at TEXT NOT NULL,
    PRIMARY KEY (enterprise_id, department)
);

-- Each rating the enterprise gave (voided: a dispute against it was upheld).
CREATE TABLE enterprise_ratings (
    issue_id TEXT NOT NULL,
    reply_no INTEGER NOT NULL,
    enterprise_id TEXT NOT NULL,
    rated_at TEXT NOT NULL,
    rating TEXT NOT NULL,
    voided INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (issue_id, reply_no)
);
CREATE INDEX enterprise_ratings_latest ON enterprise_ratings (enterprise_id, rated_at);

-- Policies delivered on visits (海宁: a 2.5 million yuan VAT refund).
CREATE TABLE enterprise_policies (
    visit_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    enterprise_id TEXT NOT NULL,
    delivered_at TEXT NOT NULL,
    department TEXT NOT NULL,
    policy TEXT NOT NULL,
    benefit_yuan BIGINT,
    PRIMARY KEY (visit_id, seq)
);
CREATE INDEX enterprise_policies_latest ON enterprise_policies (enterprise_id, delivered_at);

-- What the projection needs for events that do not carry it: an issue's enterprise, where it
-- stands and its standing rating; a planned visit's department.
CREATE TABLE enterprise_profile_issues (
    issue_id TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL,
    bucket TEXT NOT NULL,               -- open | resolved | closed | ended
    rating TEXT,
    reply_no INTEGER
);
CREATE TABLE enterprise_profile_planned_visits (
    visit_id TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL,
    department TEXT NOT NULL
);

-- Names (renames arrive by aggregate id).
CREATE TABLE enterprise_profile_departments (
    code TEXT PRIMARY KEY,
    department_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL
);
CREATE TABLE enterprise_profile_regions (
    code TEXT PRIMARY KEY,
    region_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL
);
