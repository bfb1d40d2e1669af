-- The event log and its chain are append-only: the database itself refuses to change or remove
-- a row (SQLite has no TRUNCATE; DELETE without WHERE fires these triggers too).
CREATE TRIGGER lianxin_events_no_update BEFORE UPDATE ON stored_events
BEGIN SELECT RAISE(ABORT, 'lianxin: stored events are append-only: UPDATE refused'); END;
CREATE TRIGGER lianxin_events_no_delete BEFORE DELETE ON stored_events
BEGIN SELECT RAISE(ABORT, 'lianxin: stored events are append-only: DELETE refused'); END;
CREATE TRIGGER lianxin_event_chain_no_update BEFORE UPDATE ON lianxin_event_chain
BEGIN SELECT RAISE(ABORT, 'lianxin: the event chain is append-only: UPDATE refused'); END;
CREATE TRIGGER lianxin_event_chain_no_delete BEFORE DELETE ON lianxin_event_chain
BEGIN SELECT RAISE(ABORT, 'lianxin: the event chain is append-only: DELETE refused'); END;
