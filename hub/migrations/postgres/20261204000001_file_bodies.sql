-- Shared file storage (issue 14): on PostgreSQL every file body (uploads, outbound packages,
-- statements, result files, resends) is also kept in the database, in chunks of at most
-- 1 MiB, so that any replica can serve, ingest or push a file another replica received. The
-- data directory is then a cache of these rows. A body is written in one transaction with all
-- its chunks, before the file's row and its receipt. SQLite keeps bodies in the data directory
-- only; the tables exist there too so that both schemas stay the same.
CREATE TABLE file_bodies (
    stored_path  TEXT PRIMARY KEY,
    sha256       TEXT NOT NULL,
    bytes        BIGINT NOT NULL,
    chunks       BIGINT NOT NULL
);

CREATE TABLE file_body_chunks (
    stored_path  TEXT NOT NULL REFERENCES file_bodies (stored_path),
    seq          BIGINT NOT NULL,
    data         BYTEA NOT NULL,
    PRIMARY KEY (stored_path, seq)
);

-- Chunks are stored as they are: compressing 1 MiB of each upload (pglz) would cost more CPU
-- than the disk it saves, on the upload's path before the receipt.
ALTER TABLE file_body_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
