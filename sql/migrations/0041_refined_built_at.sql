-- When each report was last rebuilt (not refreshed): a report that reads
-- another report by groups (catalogo_produtos reads vendas_produto_mes) is
-- rebuilt itself when that one was rebuilt since its own last refresh.
ALTER TABLE control.refined_state ADD COLUMN built_at timestamptz;
