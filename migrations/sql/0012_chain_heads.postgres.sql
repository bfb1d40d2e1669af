-- The chain's head and the previous link of each stream a save extends, for the recorder
-- (lianxin/integrity/chain.py). A function, so that its plan is cached per session while the
-- recorder's own statements stay unprepared (they run in a pipeline batch that a refused save
-- aborts). The head's row comes first, with a NULL originator id.
CREATE FUNCTION lianxin_chain_heads(streams UUID[], versions BIGINT[])
RETURNS TABLE (originator_id UUID, head_position BIGINT, link BYTEA)
LANGUAGE plpgsql STABLE SET search_path FROM CURRENT AS $$
BEGIN
    RETURN QUERY
        (SELECT NULL::UUID, c.position, c.global_hash FROM lianxin_event_chain c
         ORDER BY c.position DESC LIMIT 1)
        UNION ALL
        SELECT s.oid, NULL::BIGINT, p.stream_hash
        FROM unnest(streams, versions) AS s(oid, v)
        CROSS JOIN LATERAL (
            SELECT c.stream_hash FROM lianxin_event_chain c
            WHERE c.originator_id = s.oid AND c.originator_version < s.v
            ORDER BY c.originator_version DESC LIMIT 1
        ) AS p;
END
$$;
CREATE FUNCTION lianxin_chain_heads(stream UUID, version BIGINT)
RETURNS TABLE (originator_id UUID, head_position BIGINT, link BYTEA)
LANGUAGE plpgsql STABLE SET search_path FROM CURRENT AS $$
BEGIN
    RETURN QUERY
        (SELECT NULL::UUID, c.position, c.global_hash FROM lianxin_event_chain c
         ORDER BY c.position DESC LIMIT 1)
        UNION ALL
        SELECT stream, NULL::BIGINT, (
            SELECT c.stream_hash FROM lianxin_event_chain c
            WHERE c.originator_id = stream AND c.originator_version < version
            ORDER BY c.originator_version DESC LIMIT 1
        );
END
$$;
