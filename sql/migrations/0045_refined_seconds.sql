-- How long each report's last update took (seconds, its transaction's own
-- clock): the refined step starts the longest chains of reports first, so
-- its connections end together (jobs/layers/refined.c).
ALTER TABLE control.refined_state ADD COLUMN seconds double precision;
