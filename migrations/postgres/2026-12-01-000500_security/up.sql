-- AuditEvents are read by id: the id of each event's resource, indexed (not part of the
-- hashed content's chain link, so existing links stay valid).
ALTER TABLE audit_event ADD COLUMN event_id TEXT;
UPDATE audit_event SET event_id = (content::jsonb) ->> 'id';
CREATE INDEX audit_event_id ON audit_event (event_id);
