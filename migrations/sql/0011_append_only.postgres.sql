-- The event log and its chain are append-only: the database itself refuses UPDATE, DELETE and
-- TRUNCATE. Only the tables' owner can disable these triggers; the application's own role
-- (lianxin migrate --app-role) does not own them and so cannot.
CREATE FUNCTION lianxin_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'lianxin: % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER lianxin_events_append_only BEFORE UPDATE OR DELETE ON lianxin_events
    FOR EACH ROW EXECUTE FUNCTION lianxin_refuse_change();
CREATE TRIGGER lianxin_events_no_truncate BEFORE TRUNCATE ON lianxin_events
    FOR EACH STATEMENT EXECUTE FUNCTION lianxin_refuse_change();
CREATE TRIGGER lianxin_event_chain_append_only BEFORE UPDATE OR DELETE ON lianxin_event_chain
    FOR EACH ROW EXECUTE FUNCTION lianxin_refuse_change();
CREATE TRIGGER lianxin_event_chain_no_truncate BEFORE TRUNCATE ON lianxin_event_chain
    FOR EACH STATEMENT EXECUTE FUNCTION lianxin_refuse_change();
