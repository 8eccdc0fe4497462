-- layers.refined_unseen for a report that reads report p_read by groups
-- (the catalogue and the promotion performance read vendas_produto_mes):
-- the unseen changes of the TRUSTED tables it reads (a report's own are not
-- recorded) into pg_temp.unseen_changes, or why it must be rebuilt, also
-- when p_read was never built or was rebuilt since this one's last refresh
-- (its groups cannot be trusted to be the ones that changed).
CREATE OR REPLACE FUNCTION layers.refined_unseen_reading(p_report text, p_sql text, p_depends text[], p_read text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    st control.refined_state;
    rd control.refined_state;
    why text;
BEGIN
    SELECT * INTO st FROM control.refined_state WHERE report = p_report;
    SELECT * INTO rd FROM control.refined_state WHERE report = p_read;
    SELECT u.why INTO why FROM layers.refined_unseen(p_report, p_sql,
                                                     ARRAY(SELECT d FROM unnest(p_depends) d WHERE d LIKE 'trusted.%')) u;
    IF why IS NOT NULL THEN
        RETURN why;
    ELSIF rd IS NULL THEN
        RETURN format('refined.%s was never built', p_read);
    ELSIF coalesce(rd.built_at, '-infinity') > st.refreshed_at THEN
        RETURN format('refined.%s was rebuilt since', p_read);
    END IF;
    RETURN NULL;
END $$;
