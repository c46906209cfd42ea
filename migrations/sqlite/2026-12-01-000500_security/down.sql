DROP INDEX audit_event_id;
ALTER TABLE audit_event DROP COLUMN event_id;
