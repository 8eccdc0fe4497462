-- A report's refresh reads the changes of its tables recorded after the
-- snapshot it last read (layers.refined_unseen): the changes are kept an
-- hour at least (layers.refined_gc), so an index on the table's name alone
-- had each refresh read them all. (table_name, xid) reads only those newer
-- than the snapshot's xmin.
CREATE INDEX IF NOT EXISTS trusted_changes_table_xid ON control.trusted_changes (table_name, xid);
DROP INDEX IF EXISTS control.trusted_changes_table;
