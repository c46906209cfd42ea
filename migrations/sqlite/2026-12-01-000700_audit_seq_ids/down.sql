ALTER TABLE audit_event DROP COLUMN events;
ALTER TABLE audit_event ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
UPDATE audit_event SET prev_hash = COALESCE(
    (SELECT p.hash FROM audit_event p WHERE p.seq < audit_event.seq ORDER BY p.seq DESC LIMIT 1),
    '0000000000000000000000000000000000000000000000000000000000000000');
DROP INDEX audit_event_id;
CREATE INDEX audit_event_id ON audit_event (event_id);
