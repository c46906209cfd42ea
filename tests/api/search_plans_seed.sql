-- A synthetic store of bench size (1,000 patients, 60,000 resources, 29,000 Observations),
-- written straight into the resource and index tables; one text for SQLite and PostgreSQL.
-- Per patient, 60 consecutive row keys: the Patient, 29 Observations, 15 Conditions,
-- 15 Encounters (as a patient-by-patient ingest lays them out).
CREATE TEMPORARY TABLE seq_n (i BIGINT PRIMARY KEY);
INSERT INTO seq_n (i)
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 60000)
SELECT i FROM s;

INSERT INTO resources (rk, res_type, res_id, version, last_updated, deleted)
SELECT i,
       CASE WHEN i % 60 = 1 THEN 'Patient'
            WHEN i % 60 BETWEEN 2 AND 30 THEN 'Observation'
            WHEN i % 60 BETWEEN 31 AND 45 THEN 'Condition'
            ELSE 'Encounter' END,
       'r' || i, 1, 1700000000000 + i * 1000, 0
FROM seq_n;

-- Patients: a family name (a few hundred distinct) and a birth date
INSERT INTO idx_string (rk, res_type, param, normalized, exact)
SELECT i, 'Patient', 'name',
       CASE WHEN (i / 60) % 70 = 0 THEN 'smith' ELSE 'fam' || ((i / 60) % 300) END,
       CASE WHEN (i / 60) % 70 = 0 THEN 'Smith' ELSE 'Fam' || ((i / 60) % 300) END
FROM seq_n WHERE i % 60 = 1;
INSERT INTO idx_date (rk, res_type, param, low, high)
SELECT i, 'Patient', 'birthdate',
       -946771200000 + ((i * 7919) % 29000) * 86400000,
       -946771200000 + ((i * 7919) % 29000) * 86400000 + 86399999
FROM seq_n WHERE i % 60 = 1;

-- Observations: one effective date over ten years, a LOINC code of ~300 (4548-4 on ~130),
-- status final, subject the patient
INSERT INTO idx_date (rk, res_type, param, low, high)
SELECT i, 'Observation', 'date',
       1420070400000 + ((i * 7919) % 315360000) * 1000,
       1420070400000 + ((i * 7919) % 315360000) * 1000
FROM seq_n WHERE i % 60 BETWEEN 2 AND 30;
INSERT INTO idx_token (rk, res_type, param, system, code)
SELECT i, 'Observation', 'code', 'http://loinc.org',
       CASE WHEN i % 223 = 0 THEN '4548-4' ELSE 'c' || ((i * 31) % 300) END
FROM seq_n WHERE i % 60 BETWEEN 2 AND 30;
INSERT INTO idx_token (rk, res_type, param, system, code)
SELECT i, 'Observation', 'status', 'http://hl7.org/fhir/observation-status', 'final'
FROM seq_n WHERE i % 60 BETWEEN 2 AND 30;
INSERT INTO idx_reference (rk, res_type, param, target_type, target_id)
SELECT i, 'Observation', 'subject', 'Patient', 'r' || (i - (i % 60) + 1)
FROM seq_n WHERE i % 60 BETWEEN 2 AND 30;

-- Conditions: a code and the subject
INSERT INTO idx_token (rk, res_type, param, system, code)
SELECT i, 'Condition', 'code', 'http://snomed.info/sct', 's' || ((i * 17) % 200)
FROM seq_n WHERE i % 60 BETWEEN 31 AND 45;
INSERT INTO idx_reference (rk, res_type, param, target_type, target_id)
SELECT i, 'Condition', 'subject', 'Patient', 'r' || (i - (i % 60) + 1)
FROM seq_n WHERE i % 60 BETWEEN 31 AND 45;

-- Encounters: a period
INSERT INTO idx_date (rk, res_type, param, low, high)
SELECT i, 'Encounter', 'date',
       1420070400000 + ((i * 7919) % 315360000) * 1000,
       1420070400000 + ((i * 7919) % 315360000) * 1000 + 3600000
FROM seq_n WHERE i % 60 BETWEEN 46 AND 59 OR i % 60 = 0;

DROP TABLE seq_n;
