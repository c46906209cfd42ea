-- Fewer B-tree pages dirtied per audit batch: each random-position index entry dirties a
-- page of its own. Disclosures are a small share of the events, so their index is partial
-- (the accounting query says `kind = 'disclosure'`); access events no longer pay for it.
DROP INDEX audit_event_kind;
CREATE INDEX audit_event_disclosure ON audit_event (patient_id, recorded) WHERE kind = 'disclosure';
