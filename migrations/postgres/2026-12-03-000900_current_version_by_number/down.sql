ALTER TABLE resources ADD COLUMN cur_seq BIGINT NOT NULL DEFAULT 0;
UPDATE resources SET cur_seq = (SELECT v.seq FROM resource_versions v
    WHERE v.res_type = resources.res_type AND v.res_id = resources.res_id AND v.version = resources.version);
