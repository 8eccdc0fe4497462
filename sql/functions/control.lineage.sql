-- Lineage for GET /v1/lineage: each source's tables hop by hop (LAND, RAW,
-- TRUSTED) with exact row counts, the CSV rows rejected on the way into LAND
-- (land.<t>_rejects) and the rows quarantined by TRUSTED
-- (trusted.<t>_quarantine); then the REFINED reports (p_reports:
-- [{"name", "depends": ["trusted.t", ...]}], read by the server from the
-- headers of sql/refined/) with their row counts and the sources they read.
-- A table not made yet counts null. Counts are exact (count(*)): the caller
-- bounds the statement's time.
CREATE OR REPLACE FUNCTION control.lineage(p_reports jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    s record;
    r jsonb;
    t text;
    srcs jsonb := '[]';
    reps jsonb := '[]';
    n_land bigint; n_raw bigint; n_trusted bigint; n_rej bigint; n_quar bigint; n_ref bigint;
    last_job jsonb;
BEGIN
    FOR s IN SELECT id, system, database, object, source_type, active FROM control.sources ORDER BY id LOOP
        t := s.system || '_' || s.object;
        n_land := control.lineage_count('land', t);
        n_rej := control.lineage_count('land', t || '_rejects');
        n_raw := control.lineage_count('raw', t);
        n_trusted := control.lineage_count('trusted', t);
        n_quar := control.lineage_count('trusted', t || '_quarantine');
        SELECT jsonb_build_object('id', j.id, 'state', j.state, 'rows_read', j.rows_read,
                                  'rows_written', j.rows_written, 'finished_at', j.finished_at)
          INTO last_job FROM control.jobs j
         WHERE j.source_id = s.id AND j.state = 'JOB_STATE_DONE' ORDER BY j.id DESC LIMIT 1;
        srcs := srcs || jsonb_build_object(
            'source_id', s.id, 'source', s.system || '.' || coalesce(s.database, '') || '.' || s.object,
            'source_type', s.source_type, 'active', s.active, 'table', t, 'last_load', last_job,
            'land', jsonb_build_object('rows', n_land, 'rejects', n_rej),
            'raw', jsonb_build_object('rows', n_raw),
            'trusted', jsonb_build_object('rows', n_trusted, 'quarantined', n_quar),
            'refined', coalesce((SELECT jsonb_agg(x->>'name' ORDER BY x->>'name') FROM jsonb_array_elements(p_reports) x
                                 WHERE x->'depends' ? ('trusted.' || t)), '[]'));
    END LOOP;
    FOR r IN SELECT x FROM jsonb_array_elements(p_reports) x ORDER BY x->>'name' LOOP
        n_ref := control.lineage_count('refined', r->>'name');
        reps := reps || jsonb_build_object('name', r->>'name', 'rows', n_ref, 'depends', r->'depends');
    END LOOP;
    RETURN jsonb_build_object('sources', srcs, 'reports', reps);
END $$;
