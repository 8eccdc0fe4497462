-- The columns each table a report reads (PostgreSQL's record of a temporary
-- view of its SELECT: [{"tbl", "whole_row", "cols"}]), kept for the text of
-- the report it was worked out from (reads_md5): a refresh worked it out
-- anew each time, a view made and dropped (4-9 ms of a 40-80 ms refresh).
ALTER TABLE control.refined_state ADD COLUMN reads jsonb, ADD COLUMN reads_md5 text;
