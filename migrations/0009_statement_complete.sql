-- 0009: whether a statement names every key the host has. A complete statement contradicts a served
-- key of any family it does not list (oob_mismatch); any other covers only the families it lists.
-- A self-report is complete by nature (the host read all of its own key files); an owner's statement
-- is complete when they said so (`hostkeys expect --complete`). Runs unchanged on PostgreSQL and PGlite.
ALTER TABLE key_statements ADD COLUMN complete boolean NOT NULL DEFAULT false;
-- Self-reports recorded before this migration were complete all along.
UPDATE key_statements SET complete = true WHERE source = 'self-report';
