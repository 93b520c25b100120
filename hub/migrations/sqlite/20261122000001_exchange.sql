-- The file exchange: participants, files, outbound deliveries, the hash-chained audit log.
-- Times are fixed-width UTC text (YYYY-MM-DDTHH:MM:SS.ffffffZ), so they compare as text.

CREATE TABLE participants (
    code               TEXT PRIMARY KEY,
    scheme             TEXT NOT NULL CHECK (scheme IN ('local', 'mohurd', 'mot', 'pboc', 'partner')),
    name               TEXT NOT NULL,
    endpoint           TEXT,
    endpoint_ca_pem    TEXT,
    endpoint_cert_path TEXT,
    endpoint_key_path  TEXT,
    created_at         TEXT NOT NULL
);

CREATE TABLE files (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    direction   TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    sender      TEXT REFERENCES participants (code),
    addressee   TEXT REFERENCES participants (code),
    name        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    bytes       INTEGER NOT NULL CHECK (bytes >= 0),
    status      TEXT NOT NULL,
    stored_path TEXT NOT NULL,
    received_at TEXT NOT NULL,
    CHECK ((direction = 'in' AND sender IS NOT NULL) OR (direction = 'out' AND addressee IS NOT NULL))
);
CREATE UNIQUE INDEX files_in_by_digest ON files (sender, sha256) WHERE direction = 'in';
CREATE UNIQUE INDEX files_out_by_digest ON files (addressee, sha256) WHERE direction = 'out';
CREATE INDEX files_by_status ON files (status, id);

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    file_id         INTEGER NOT NULL REFERENCES files (id),
    destination     TEXT NOT NULL REFERENCES participants (code),
    endpoint        TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_until     TEXT,
    last_error      TEXT,
    remote_receipt  TEXT,
    created_at      TEXT NOT NULL,
    delivered_at    TEXT,
    UNIQUE (file_id, destination)
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);

CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    participant TEXT,
    action      TEXT NOT NULL,
    target      TEXT,
    result      TEXT NOT NULL,
    detail      TEXT,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
