DROP TABLE mpi_merge_item;
DROP TABLE mpi_merge;
DROP TABLE mpi_key;
