-- The files of sftp sources that were loaded: the offset of offset_mode
-- 'files'. A file is identified by its name, size and modification time on
-- the server; a row is written in the same lake transaction as the file's
-- LAND rows, so a file is loaded exactly once however a load ends. A file
-- replaced on the server (another size or mtime) is a new version and is
-- loaded again; its rows carry sys_change_version = id * 10^9 + line, so the
-- newer version wins in TRUSTED. A version whose content equals the
-- previous one (same sha256) is recorded with same_as and lands nothing.
CREATE TABLE control.files (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id     bigint NOT NULL REFERENCES control.sources (id) ON DELETE CASCADE,
    name          text NOT NULL,
    size          bigint NOT NULL CHECK (size >= 0),
    mtime         timestamptz NOT NULL,
    sha256        text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    bucket_path   text NOT NULL,
    job_id        bigint REFERENCES control.jobs (id) ON DELETE SET NULL,
    rows_landed   bigint NOT NULL DEFAULT 0,
    rows_rejected bigint NOT NULL DEFAULT 0,
    same_as       bigint REFERENCES control.files (id) ON DELETE SET NULL,
    loaded_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source_id, name, size, mtime)
);

CREATE INDEX files_source_name ON control.files (source_id, name, id);
CREATE INDEX files_job ON control.files (job_id);
CREATE INDEX files_bucket_path ON control.files (bucket_path);
