-- Change Tracking headroom (issue 12): what the monitoring checks last
-- measured on each change-tracked source of a kind that can tell (SQL
-- Server): the source's retention, whether its minimum valid version has
-- already passed the stored offset, or why it could not be measured.
CREATE TABLE control.ct_headroom (
    source_id         bigint PRIMARY KEY REFERENCES control.sources (id) ON DELETE CASCADE,
    retention_seconds bigint,
    min_valid_version bigint,
    offset_version    bigint,
    offset_lost       boolean,
    measured_at       timestamptz NOT NULL,
    error             text
);
