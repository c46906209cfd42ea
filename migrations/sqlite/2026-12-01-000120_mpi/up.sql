-- Master patient index: blocking keys written with the patient projection, and the
-- record of each merge so it can be undone from history.

CREATE TABLE mpi_key (
    rk BIGINT NOT NULL,
    res_id TEXT NOT NULL,
    match_key TEXT NOT NULL
);
CREATE INDEX mpi_key_lookup ON mpi_key (match_key, rk);
CREATE INDEX mpi_key_rk ON mpi_key (rk);

CREATE TABLE mpi_merge (
    merge_id TEXT PRIMARY KEY,
    source_id TEXT NOT NULL,
    target_id TEXT NOT NULL,
    merged_at BIGINT NOT NULL,
    merged_by TEXT,
    reverted_at BIGINT
);
CREATE INDEX mpi_merge_source ON mpi_merge (source_id, target_id);

CREATE TABLE mpi_merge_item (
    merge_id TEXT NOT NULL,
    res_type TEXT NOT NULL,
    res_id TEXT NOT NULL,
    version_before BIGINT NOT NULL,
    version_after BIGINT NOT NULL,
    PRIMARY KEY (merge_id, res_type, res_id)
);
