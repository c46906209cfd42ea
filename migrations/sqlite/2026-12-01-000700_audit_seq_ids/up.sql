-- Smaller audit rows, one index fewer per event: new events take their sequence number as
-- their id (events stored before keep their UUID in event_id, now indexed only where set),
-- and prev_hash goes (each hash already covers the previous one; verify reads it from the
-- previous row).
DROP INDEX audit_event_id;
CREATE INDEX audit_event_id ON audit_event (event_id) WHERE event_id IS NOT NULL;
ALTER TABLE audit_event DROP COLUMN prev_hash;
-- The records of one append that share these columns share a row (see db/audit.rs).
ALTER TABLE audit_event ADD COLUMN events BIGINT NOT NULL DEFAULT 1;
