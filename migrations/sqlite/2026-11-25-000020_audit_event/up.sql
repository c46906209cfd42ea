-- The audit trail: append-only AuditEvents, each hash-chained to the one before it.
CREATE TABLE audit_event (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    recorded BIGINT NOT NULL,
    patient_id TEXT,
    agent TEXT NOT NULL,
    action TEXT NOT NULL,
    -- 'access' for interactions, 'disclosure' for releases to outside parties
    kind TEXT NOT NULL DEFAULT 'access',
    outcome TEXT NOT NULL,
    purpose TEXT,
    content TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_event_patient ON audit_event (patient_id, recorded);
CREATE INDEX audit_event_recorded ON audit_event (recorded);
CREATE INDEX audit_event_kind ON audit_event (kind, patient_id, recorded);
