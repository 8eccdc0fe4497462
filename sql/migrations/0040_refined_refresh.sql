-- Incremental refresh of the REFINED reports (issue 14).
--
-- control.trusted_changes: what each TRUSTED merge changed, recorded in the
-- merge's own transaction (layers.capture_changes): per changed key the row
-- before (old_row, NULL when the key is new) and after (new_row, NULL when it
-- was deleted), or one `whole` row when the table changed too much to list
-- (a snapshot, an override, a big batch). xid is the merging transaction: a
-- report consumes the changes not visible in the snapshot it was last built
-- or refreshed from.
CREATE TABLE control.trusted_changes (
    table_name  text NOT NULL,
    xid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    whole       boolean NOT NULL DEFAULT false,
    old_row     jsonb,
    new_row     jsonb
);
CREATE INDEX trusted_changes_table ON control.trusted_changes (table_name);

-- control.refined_state: per report, the snapshot its rows reflect (every
-- change visible in it is in the report), the md5 of its SQL file (another
-- text: rebuilt), the tables it reads and its last refresh's time.
CREATE TABLE control.refined_state (
    report       text PRIMARY KEY,
    sql_md5      text NOT NULL,
    depends      text[] NOT NULL,
    snapshot     pg_snapshot NOT NULL,
    refreshed_at timestamptz NOT NULL
);
