-- Ingest (issue 5): seals, participants' formats, routing, accepted records, rejections, the
-- outcome of each ingested file, blacklists. Card times (tx_time, effective) are the terminal's
-- local time (TIMESTAMP without time zone).

ALTER TABLE participants ADD COLUMN seal_key BYTEA;
ALTER TABLE participants ADD COLUMN format TEXT;

ALTER TABLE files ADD COLUMN seal TEXT;
ALTER TABLE files ADD COLUMN seal_check TEXT CHECK (seal_check IN ('valid', 'missing', 'wrong'));
ALTER TABLE files ADD COLUMN seal_kcv TEXT;

CREATE TABLE routes (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scheme      TEXT NOT NULL CHECK (scheme IN ('local', 'mohurd', 'mot', 'pboc')),
    issuer_code TEXT NOT NULL,
    city_code   TEXT NOT NULL,
    participant TEXT NOT NULL REFERENCES participants (code),
    created_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (scheme, issuer_code, city_code)
);

-- Accepted records only; natural_key: see the SQLite migration and hub/src/store/records.rs.
-- No foreign keys here (unlike SQLite): PostgreSQL checks each with a trigger per row, which
-- halves the bulk insert rate; ingest writes file_id of the file it holds locked and
-- issuer_participant from the routes table (whose participant is a foreign key).
CREATE TABLE records (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    file_id            BIGINT NOT NULL,
    record_no          BIGINT NOT NULL,
    natural_key        BYTEA NOT NULL CHECK (length(natural_key) = 28),
    scheme             TEXT NOT NULL,
    issuer_code        TEXT NOT NULL,
    city_code          TEXT NOT NULL,
    card_serial        TEXT NOT NULL,
    card_type          TEXT NOT NULL,
    card_type_raw      TEXT NOT NULL,
    medium             TEXT NOT NULL CHECK (medium IN ('cpu', 'm1')),
    tx_type            INTEGER NOT NULL,
    kind               TEXT NOT NULL,
    amount_fen         BIGINT NOT NULL,
    balance_before_fen BIGINT NOT NULL,
    card_seq           INTEGER NOT NULL,
    terminal           TEXT NOT NULL,
    terminal_seq       BIGINT NOT NULL,
    tx_time            TIMESTAMP NOT NULL,
    key_version        INTEGER NOT NULL,
    alg_id             INTEGER NOT NULL,
    tac                TEXT,
    auth_code          TEXT,
    acquirer           TEXT NOT NULL,
    operator           TEXT,
    industry           TEXT NOT NULL,
    line               TEXT,
    station            TEXT,
    vehicle            TEXT,
    issuer_participant TEXT NOT NULL,
    tac_status         TEXT NOT NULL CHECK (tac_status IN ('valid', 'unverified', 'not_applicable'))
);
CREATE UNIQUE INDEX records_natural_key ON records (natural_key);
CREATE UNIQUE INDEX records_by_file ON records (file_id, record_no);

CREATE TABLE rejections (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    file_id      BIGINT NOT NULL REFERENCES files (id),
    record_no    BIGINT NOT NULL,
    code         TEXT NOT NULL,
    field        TEXT,
    reason       TEXT NOT NULL,
    scheme       TEXT,
    issuer_code  TEXT,
    city_code    TEXT,
    card_serial  TEXT,
    card_seq     INTEGER,
    kind         TEXT,
    terminal     TEXT,
    terminal_seq BIGINT,
    amount_fen   BIGINT,
    balance_before_fen BIGINT,
    tx_time      TIMESTAMP,
    duplicate_of BIGINT REFERENCES records (id),
    raw          TEXT,
    UNIQUE (file_id, record_no)
);

CREATE TABLE file_results (
    file_id        BIGINT PRIMARY KEY REFERENCES files (id),
    sender         TEXT NOT NULL,
    content        TEXT CHECK (content IN ('transactions', 'blacklist')),
    format         TEXT,
    sender_seq     BIGINT,
    status         TEXT NOT NULL CHECK (status IN ('accepted', 'partially_accepted', 'rejected')),
    records        BIGINT NOT NULL,
    accepted       BIGINT NOT NULL,
    rejected       BIGINT NOT NULL,
    total_fen      BIGINT NOT NULL,
    accepted_fen   BIGINT NOT NULL,
    code           TEXT,
    field          TEXT,
    reason         TEXT,
    record_no      BIGINT,
    ingested_at    TIMESTAMPTZ NOT NULL,
    outputs_at     TIMESTAMPTZ,
    result_file_id BIGINT REFERENCES files (id)
);
CREATE UNIQUE INDEX file_results_seq ON file_results (sender, content, sender_seq)
    WHERE status <> 'rejected';
CREATE INDEX file_results_pending_outputs ON file_results (file_id) WHERE outputs_at IS NULL;

CREATE TABLE blacklist_entries (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    file_id     BIGINT NOT NULL REFERENCES files (id),
    record_no   BIGINT NOT NULL,
    scheme      TEXT NOT NULL,
    issuer_code TEXT NOT NULL,
    city_code   TEXT NOT NULL,
    card_serial TEXT NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('add', 'remove')),
    effective   TIMESTAMP NOT NULL,
    reason      TEXT NOT NULL,
    changed     BOOLEAN NOT NULL
);
CREATE INDEX blacklist_by_card ON blacklist_entries (scheme, issuer_code, city_code, card_serial, effective);
CREATE INDEX blacklist_by_file ON blacklist_entries (file_id, record_no);

CREATE VIEW blacklisted_cards AS
SELECT e.scheme, e.issuer_code, e.city_code, e.card_serial, e.effective, e.reason, e.file_id
FROM blacklist_entries e
WHERE e.action = 'add' AND NOT EXISTS (
    SELECT 1 FROM blacklist_entries l
    WHERE l.scheme = e.scheme AND l.issuer_code = e.issuer_code AND l.city_code = e.city_code
      AND l.card_serial = e.card_serial
      AND (l.effective > e.effective OR (l.effective = e.effective AND l.id > e.id)));
