-- Each projection's tracking position: the notification id of the last event its read model
-- reflects, written in the same transaction as the read model's rows (exactly once).
-- version: the projection's version that built the rows (a newer version rebuilds them).
-- Times are ISO 8601 in UTC. error: why the projection stopped, until it moves again.
CREATE TABLE lianxin_projection_positions (
    projection TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    version INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    last_event_at TEXT,
    error TEXT,
    error_at TEXT
);
