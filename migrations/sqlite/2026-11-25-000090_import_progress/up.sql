-- Progress of `chartroom import`: one row per source file (path and size), so a rerun
-- skips finished files and resumes NDJSON files after the last committed line.
CREATE TABLE import_progress (
    path TEXT NOT NULL,
    size BIGINT NOT NULL,
    byte_offset BIGINT NOT NULL DEFAULT 0,
    line_no BIGINT NOT NULL DEFAULT 0,
    done INTEGER NOT NULL DEFAULT 0,
    updated BIGINT NOT NULL,
    PRIMARY KEY (path, size)
);
