-- A reply rated again after a dispute voided its rating is rated twice: each rating is its own
-- row, keyed by the position of its Rated event (the enterprise profile projection is at
-- version 2 and rebuilds this table from the log).
DROP TABLE enterprise_ratings;

CREATE TABLE enterprise_ratings (
    issue_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    reply_no INTEGER NOT NULL,
    enterprise_id TEXT NOT NULL,
    rated_at TEXT NOT NULL,
    rating TEXT NOT NULL,
    voided INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (issue_id, position)
);
CREATE INDEX enterprise_ratings_latest ON enterprise_ratings (enterprise_id, rated_at);
