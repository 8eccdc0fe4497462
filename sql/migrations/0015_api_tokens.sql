-- Named API tokens: who called, with which role. Only the SHA-256 of a
-- token's secret is kept (the secret is shown once, when it is made); a
-- revoked token stays listed with revoked_at. The bootstrap tokens of the
-- environment are not rows: their names (bootstrap-admin,
-- bootstrap-reader) are reserved.
CREATE TABLE control.api_tokens (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' AND name NOT LIKE 'bootstrap-%'),
    role          text NOT NULL CHECK (role IN ('admin', 'operator', 'reader')),
    secret_sha256 text NOT NULL UNIQUE CHECK (secret_sha256 ~ '^[0-9a-f]{64}$'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    text NOT NULL,
    revoked_at    timestamptz,
    revoked_by    text
);

-- A name is one live token at a time; a revoked name may be given again.
CREATE UNIQUE INDEX api_tokens_live_name ON control.api_tokens (name) WHERE revoked_at IS NULL;
