-- The query API (GET /v1/tables...) reads TRUSTED and REFINED as the NOLOGIN
-- role lake_reader: inside a READ ONLY transaction the server does SET LOCAL
-- ROLE lake_reader, so a query can only SELECT what was granted here.
-- Roles are cluster-wide but migrations run once per database, so every
-- step tolerates a role made by another database's migration or by hand.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lake_reader') THEN
        BEGIN
            CREATE ROLE lake_reader NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- made at the same moment by a migration of another database
        END;
    END IF;
    -- The server's login role must be able to SET ROLE to it.
    IF NOT pg_has_role(current_user, 'lake_reader', 'MEMBER') THEN
        BEGIN
            EXECUTE format('GRANT lake_reader TO %I', current_user);
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE WARNING 'cannot grant lake_reader to %; the query API will answer 500 until '
                          'a superuser runs: GRANT lake_reader TO %', current_user, current_user;
        END;
    END IF;
END $$;

CREATE SCHEMA IF NOT EXISTS trusted;
CREATE SCHEMA IF NOT EXISTS refined;
GRANT USAGE ON SCHEMA trusted, refined TO lake_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA trusted, refined TO lake_reader;
-- Tables and views this role makes later are readable too.
ALTER DEFAULT PRIVILEGES IN SCHEMA trusted, refined GRANT SELECT ON TABLES TO lake_reader;

-- When each table of a layer was last rebuilt or merged; the layer runner
-- writes it, GET /v1/tables shows it as last_refresh.
CREATE TABLE IF NOT EXISTS control.table_refresh (
    layer        text NOT NULL CHECK (layer IN ('trusted', 'refined')),
    table_name   text NOT NULL,
    refreshed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (layer, table_name)
);
