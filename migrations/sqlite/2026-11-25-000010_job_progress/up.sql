-- Progress of resumable maintenance jobs (reindex): the last row key finished.
CREATE TABLE job_progress (
    job TEXT PRIMARY KEY,
    last_rk BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
