DROP INDEX audit_event_disclosure;
CREATE INDEX audit_event_kind ON audit_event (kind, patient_id, recorded);
