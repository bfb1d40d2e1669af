-- The hash chain over the event log (lianxin/integrity/chain.py): one row per stored event,
-- written in the same transaction as the event. position = the event's notification id (rowid);
-- stream_hash links the event to its stream's previous one, global_hash to the log's previous one.
CREATE TABLE lianxin_event_chain (
    position INTEGER PRIMARY KEY,
    originator_id TEXT NOT NULL,
    originator_version INTEGER NOT NULL,
    stream_hash BLOB NOT NULL,
    global_hash BLOB NOT NULL,
    UNIQUE (originator_id, originator_version)
);
