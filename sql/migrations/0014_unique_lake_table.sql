-- A source's lake tables are named <system>_<object> (land, raw and
-- trusted), so (mk_lojas, x1) and (mk, lojas_x1) would share mk_lojas_x1
-- and one source's full load would delete the other's rows. The lake name
-- is stored and unique: a second source with it is refused (409 naming the
-- first). A lake that already has such a pair fails this migration; rename
-- one source's object first.
ALTER TABLE control.sources
    ADD COLUMN lake_table text GENERATED ALWAYS AS (system || '_' || object) STORED;
CREATE UNIQUE INDEX sources_lake_table ON control.sources (lake_table);
