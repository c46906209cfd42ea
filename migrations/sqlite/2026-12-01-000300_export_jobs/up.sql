-- Bulk Data $export jobs: the request, the requester's access, and how far the worker got
-- (type index, last row key written, next file number), so an interrupted job resumes
-- after its last finished file. A lease (lease_owner, lease_until) says which server
-- process runs the job; an expired lease lets another process take it over.
CREATE TABLE export_jobs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    owner TEXT NOT NULL,
    request_url TEXT NOT NULL,
    spec TEXT NOT NULL,
    access_grant TEXT NOT NULL,
    audit_who TEXT NOT NULL,
    transaction_time BIGINT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    type_index BIGINT NOT NULL DEFAULT 0,
    after_rk BIGINT NOT NULL DEFAULT 0,
    next_part BIGINT NOT NULL DEFAULT 1,
    exported BIGINT NOT NULL DEFAULT 0,
    error TEXT,
    finished BIGINT
);
CREATE INDEX export_jobs_claim ON export_jobs (status, lease_until);
-- The finished output files of a job, in order.
CREATE TABLE export_files (
    job_id TEXT NOT NULL REFERENCES export_jobs (id) ON DELETE CASCADE,
    part BIGINT NOT NULL,
    res_type TEXT NOT NULL,
    name TEXT NOT NULL,
    resources BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    PRIMARY KEY (job_id, part)
);
