-- The current row names its version by number: the version row is found through
-- UNIQUE (res_type, res_id, version), so it can be inserted after the current row, in
-- the same many-row statements as the index rows (db::resources::append_version).
ALTER TABLE resources DROP COLUMN cur_seq;
