-- Versioned resource store, search indexes and typed projections (SQLite).
-- Timestamps are epoch milliseconds (BIGINT); calendar dates are 'YYYY-MM-DD' text.

CREATE TABLE resources (
    rk INTEGER PRIMARY KEY AUTOINCREMENT,
    res_type TEXT NOT NULL,
    res_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    last_updated BIGINT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    cur_seq BIGINT NOT NULL,
    UNIQUE (res_type, res_id)
);
CREATE INDEX resources_type_updated ON resources (res_type, last_updated);
CREATE INDEX resources_type_rk ON resources (res_type, deleted, rk);

CREATE TABLE resource_versions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    rk BIGINT NOT NULL,
    res_type TEXT NOT NULL,
    res_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    last_updated BIGINT NOT NULL,
    method TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    content TEXT,
    UNIQUE (res_type, res_id, version)
);
CREATE INDEX resource_versions_updated ON resource_versions (last_updated);
CREATE INDEX resource_versions_type_updated ON resource_versions (res_type, last_updated);

CREATE TABLE idx_string (
    rk BIGINT NOT NULL, res_type TEXT NOT NULL, param TEXT NOT NULL,
    component INTEGER, grp INTEGER,
    normalized TEXT NOT NULL, exact TEXT NOT NULL
);
CREATE INDEX idx_string_lookup ON idx_string (res_type, param, normalized);
CREATE INDEX idx_string_rk ON idx_string (rk);

CREATE TABLE idx_token (
    rk BIGINT NOT NULL, res_type TEXT NOT NULL, param TEXT NOT NULL,
    component INTEGER, grp INTEGER,
    system TEXT, code TEXT, display TEXT, type_system TEXT, type_code TEXT
);
CREATE INDEX idx_token_lookup ON idx_token (res_type, param, code, system);
CREATE INDEX idx_token_rk ON idx_token (rk);

CREATE TABLE idx_date (
    rk BIGINT NOT NULL, res_type TEXT NOT NULL, param TEXT NOT NULL,
    component INTEGER, grp INTEGER,
    low BIGINT NOT NULL, high BIGINT NOT NULL
);
CREATE INDEX idx_date_lookup ON idx_date (res_type, param, low, high);
-- ge/gt/sa compare the upper bound: a range scan needs it leading
CREATE INDEX idx_date_high ON idx_date (res_type, param, high);
CREATE INDEX idx_date_rk ON idx_date (rk);

CREATE TABLE idx_number (
    rk BIGINT NOT NULL, res_type TEXT NOT NULL, param TEXT NOT NULL,
    component INTEGER, grp INTEGER,
    value DOUBLE PRECISION NOT NULL, low DOUBLE PRECISION NOT NULL, high DOUBLE PRECISION NOT NULL
);
CREATE INDEX idx_number_lookup ON idx_number (res_type, param, value);
CREATE INDEX idx_number_rk ON idx_number (rk);

CREATE TABLE idx_quantity (
    rk BIGINT NOT NULL, res_type TEXT NOT NULL, param TEXT NOT NULL,
    component INTEGER, grp INTEGER,
    value DOUBLE PRECISION NOT NULL, low DOUBLE PRECISION NOT NULL, high DOUBLE PRECISION NOT NULL,
    system TEXT, code TEXT, unit TEXT
);
CREATE INDEX idx_quantity_lookup ON idx_quantity (res_type, param, value);
CREATE INDEX idx_quantity_rk ON idx_quantity (rk);

CREATE TABLE idx_reference (
    rk BIGINT NOT NULL, res_type TEXT NOT NULL, param TEXT NOT NULL,
    component INTEGER, grp INTEGER,
    target_type TEXT, target_id TEXT, url TEXT, ident_system TEXT, ident_value TEXT
);
CREATE INDEX idx_reference_lookup ON idx_reference (res_type, param, target_id, target_type);
CREATE INDEX idx_reference_target ON idx_reference (target_type, target_id);
CREATE INDEX idx_reference_rk ON idx_reference (rk);

CREATE TABLE idx_uri (
    rk BIGINT NOT NULL, res_type TEXT NOT NULL, param TEXT NOT NULL,
    component INTEGER, grp INTEGER,
    value TEXT NOT NULL
);
CREATE INDEX idx_uri_lookup ON idx_uri (res_type, param, value);
CREATE INDEX idx_uri_rk ON idx_uri (rk);

-- Typed projections of the records-room core, kept in step with the current version.
CREATE TABLE patient (
    rk BIGINT PRIMARY KEY, res_id TEXT NOT NULL UNIQUE,
    active INTEGER, family TEXT, given TEXT, gender TEXT, birth_date TEXT,
    deceased INTEGER NOT NULL DEFAULT 0, deceased_date TEXT,
    city TEXT, state TEXT, postal_code TEXT, country TEXT,
    mrn TEXT, phone TEXT, managing_org TEXT, linked_to TEXT,
    security TEXT
);
CREATE INDEX patient_birth ON patient (birth_date);
CREATE INDEX patient_state ON patient (state);

CREATE TABLE encounter (
    rk BIGINT PRIMARY KEY, res_id TEXT NOT NULL UNIQUE,
    patient_id TEXT, status TEXT, class_code TEXT, type_code TEXT,
    period_start BIGINT, period_end BIGINT, admit_date TEXT, discharge_date TEXT,
    attending_id TEXT, service_provider_id TEXT, discharge_disposition TEXT,
    security TEXT
);
CREATE INDEX encounter_patient ON encounter (patient_id);
CREATE INDEX encounter_discharge ON encounter (discharge_date);
CREATE INDEX encounter_attending ON encounter (attending_id);

CREATE TABLE encounter_diagnosis (
    enc_rk BIGINT NOT NULL, ordinal INTEGER NOT NULL,
    condition_id TEXT, rank INTEGER, use_code TEXT, poa TEXT,
    PRIMARY KEY (enc_rk, ordinal)
);
CREATE INDEX encounter_diagnosis_condition ON encounter_diagnosis (condition_id);

CREATE TABLE condition (
    rk BIGINT PRIMARY KEY, res_id TEXT NOT NULL UNIQUE,
    patient_id TEXT, encounter_id TEXT,
    code_system TEXT, code TEXT, display TEXT,
    clinical_status TEXT, verification_status TEXT, category TEXT,
    onset_date TEXT, abatement_date TEXT, recorded_date TEXT,
    security TEXT
);
CREATE INDEX condition_code ON condition (code);
CREATE INDEX condition_patient ON condition (patient_id);
CREATE INDEX condition_encounter ON condition (encounter_id);

CREATE TABLE procedure_ (
    rk BIGINT PRIMARY KEY, res_id TEXT NOT NULL UNIQUE,
    patient_id TEXT, encounter_id TEXT,
    code_system TEXT, code TEXT, display TEXT, status TEXT,
    performed_start BIGINT, performed_end BIGINT, performed_date TEXT,
    performer_id TEXT,
    security TEXT
);
CREATE INDEX procedure_code ON procedure_ (code);
CREATE INDEX procedure_patient ON procedure_ (patient_id);
CREATE INDEX procedure_encounter ON procedure_ (encounter_id);
CREATE INDEX procedure_performer ON procedure_ (performer_id);

CREATE TABLE observation (
    rk BIGINT NOT NULL, ordinal INTEGER NOT NULL, res_id TEXT NOT NULL,
    patient_id TEXT, encounter_id TEXT, status TEXT,
    code_system TEXT, code TEXT,
    value_num DOUBLE PRECISION, value_unit TEXT, effective BIGINT, effective_date TEXT,
    PRIMARY KEY (rk, ordinal)
);
CREATE INDEX observation_code ON observation (code, patient_id);
CREATE INDEX observation_patient ON observation (patient_id);

CREATE TABLE medication_request (
    rk BIGINT PRIMARY KEY, res_id TEXT NOT NULL UNIQUE,
    patient_id TEXT, encounter_id TEXT, status TEXT, intent TEXT,
    med_system TEXT, med_code TEXT, med_display TEXT,
    authored_date TEXT
);
CREATE INDEX medication_request_code ON medication_request (med_code);
CREATE INDEX medication_request_patient ON medication_request (patient_id);
