-- The directory as the API reads it (projections/directory_view): regions, departments and
-- users, current names and states. Renames and state changes arrive by aggregate id, hence the
-- unique aggregate-id columns. Times: ISO 8601 text in UTC. Booleans: 0/1.

CREATE TABLE directory_regions (
    code TEXT PRIMARY KEY,                -- GB/T 2260 (6 digits) or town/street (9)
    region_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    parent_code TEXT,                     -- NULL for a province
    level TEXT NOT NULL,                  -- province | city | county | town
    retired INTEGER NOT NULL DEFAULT 0,
    added_at TEXT NOT NULL
);
CREATE INDEX directory_regions_parent ON directory_regions (parent_code, code);

CREATE TABLE directory_departments (
    code TEXT PRIMARY KEY,                -- <region code>.<key>
    department_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    region_code TEXT NOT NULL,
    dissolved INTEGER NOT NULL DEFAULT 0,
    added_at TEXT NOT NULL
);
CREATE INDEX directory_departments_region ON directory_departments (region_code, code);

CREATE TABLE directory_users (
    user_id TEXT PRIMARY KEY,
    aggregate_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    region_code TEXT NOT NULL,
    department TEXT,
    active INTEGER NOT NULL DEFAULT 1,
    added_at TEXT NOT NULL
);
CREATE INDEX directory_users_region ON directory_users (region_code, user_id);
CREATE INDEX directory_users_department ON directory_users (department, user_id);
