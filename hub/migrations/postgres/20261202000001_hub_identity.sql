-- The hub's identity (issue 18): one row, written by `hutong init` (or `serve --init`, the
-- demo) when the storage is created, and its schema version updated whenever it is migrated.
-- A database without this row is not a hub: the commands that only open a hub refuse it.
CREATE TABLE hub_identity (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    hub_code       TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    schema_version BIGINT NOT NULL,
    migrated_at    TIMESTAMPTZ NOT NULL
);
