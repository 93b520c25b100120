-- Ingest (issue 5): seals, participants' formats, routing, accepted records, rejections, the
-- outcome of each ingested file, blacklists. Times: fixed-width UTC text as in migration 1;
-- card times (tx_time, effective) are the terminal's local time, 'YYYY-MM-DD HH:MM:SS'.

-- A participant's 16-byte SM4 seal key (never served or logged) and the format family it
-- speaks (NULL: the default of its scheme).
ALTER TABLE participants ADD COLUMN seal_key BLOB;
ALTER TABLE participants ADD COLUMN format TEXT;

-- Inbound: the Hutong-Seal header as presented, and the check made while the body streamed in
-- (NULL: the sender had no seal key). Outbound: the hub's seal under the addressee's key and
-- that key's check value.
ALTER TABLE files ADD COLUMN seal TEXT;
ALTER TABLE files ADD COLUMN seal_check TEXT CHECK (seal_check IN ('valid', 'missing', 'wrong'));
ALTER TABLE files ADD COLUMN seal_kcv TEXT;

-- Which clearing participant a card issuer's transactions route to. issuer_code / city_code
-- are exact codes or '*'; the most specific route wins (hub/src/ingest/checks.rs).
CREATE TABLE routes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    scheme      TEXT NOT NULL CHECK (scheme IN ('local', 'mohurd', 'mot', 'pboc')),
    issuer_code TEXT NOT NULL,
    city_code   TEXT NOT NULL,
    participant TEXT NOT NULL REFERENCES participants (code),
    created_at  TEXT NOT NULL,
    UNIQUE (scheme, issuer_code, city_code)
);

-- Accepted records only. natural_key is the exact 28-byte key
--   terminal(6) ‖ terminal_seq(4, big-endian) ‖ scheme(1: 1 local 2 mohurd 3 mot 4 pboc) ‖
--   issuer(2) ‖ city(2) ‖ serial(10) ‖ card_seq(2, big-endian) ‖ kind(1)
-- (hub/src/store/records.rs, natural_key_bytes); on SQLite the columns it holds are virtual
-- columns computed from it (nothing stored twice, fewer values bound per insert).
CREATE TABLE records (
    id                 INTEGER PRIMARY KEY,
    file_id            INTEGER NOT NULL REFERENCES files (id),
    record_no          INTEGER NOT NULL,
    natural_key        BLOB NOT NULL CHECK (length(natural_key) = 28),
    scheme             TEXT GENERATED ALWAYS AS (CASE substr(natural_key, 11, 1)
                           WHEN x'01' THEN 'local' WHEN x'02' THEN 'mohurd'
                           WHEN x'03' THEN 'mot' WHEN x'04' THEN 'pboc' END) VIRTUAL,
    issuer_code        TEXT GENERATED ALWAYS AS (hex(substr(natural_key, 12, 2))) VIRTUAL,
    city_code          TEXT GENERATED ALWAYS AS (hex(substr(natural_key, 14, 2))) VIRTUAL,
    card_serial        TEXT GENERATED ALWAYS AS (hex(substr(natural_key, 16, 10))) VIRTUAL,
    card_type          TEXT NOT NULL,
    card_type_raw      TEXT NOT NULL,
    medium             TEXT NOT NULL CHECK (medium IN ('cpu', 'm1')),
    tx_type            INTEGER NOT NULL,
    kind               TEXT GENERATED ALWAYS AS (CASE substr(natural_key, 28, 1)
                           WHEN x'01' THEN 'load' WHEN x'02' THEN 'unload'
                           WHEN x'03' THEN 'cash_withdrawal' WHEN x'04' THEN 'purchase'
                           WHEN x'05' THEN 'composite_purchase' WHEN x'06' THEN 'overdraft_update'
                           ELSE 'other' END) VIRTUAL,
    amount_fen         INTEGER NOT NULL,
    balance_before_fen INTEGER NOT NULL,
    card_seq           INTEGER NOT NULL,
    terminal           TEXT GENERATED ALWAYS AS (hex(substr(natural_key, 1, 6))) VIRTUAL,
    terminal_seq       INTEGER NOT NULL,
    tx_time            TEXT NOT NULL,
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
    issuer_participant TEXT NOT NULL REFERENCES participants (code),
    tac_status         TEXT NOT NULL CHECK (tac_status IN ('valid', 'unverified', 'not_applicable'))
);
CREATE UNIQUE INDEX records_natural_key ON records (natural_key);
CREATE UNIQUE INDEX records_by_file ON records (file_id, record_no);

-- Record-level rejections (R01..R07) of transaction and blacklist files, with what the record
-- was read as (NULL where it could not be read) and the record as it was in the file.
CREATE TABLE rejections (
    id           INTEGER PRIMARY KEY,
    file_id      INTEGER NOT NULL REFERENCES files (id),
    record_no    INTEGER NOT NULL,
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
    terminal_seq INTEGER,
    amount_fen   INTEGER,
    balance_before_fen INTEGER,
    tx_time      TEXT,
    duplicate_of INTEGER REFERENCES records (id),
    raw          TEXT,
    UNIQUE (file_id, record_no)
);

-- The outcome of each ingested inbound file (written in the transaction that applies it).
CREATE TABLE file_results (
    file_id        INTEGER PRIMARY KEY REFERENCES files (id),
    sender         TEXT NOT NULL,
    content        TEXT CHECK (content IN ('transactions', 'blacklist')),
    format         TEXT,
    sender_seq     INTEGER,
    status         TEXT NOT NULL CHECK (status IN ('accepted', 'partially_accepted', 'rejected')),
    records        INTEGER NOT NULL,
    accepted       INTEGER NOT NULL,
    rejected       INTEGER NOT NULL,
    total_fen      INTEGER NOT NULL,
    accepted_fen   INTEGER NOT NULL,
    code           TEXT,
    field          TEXT,
    reason         TEXT,
    record_no      INTEGER,
    ingested_at    TEXT NOT NULL,
    outputs_at     TEXT,
    result_file_id INTEGER REFERENCES files (id)
);
-- A sequence number is used once per sender and content by an applied file (F04).
CREATE UNIQUE INDEX file_results_seq ON file_results (sender, content, sender_seq)
    WHERE status <> 'rejected';
CREATE INDEX file_results_pending_outputs ON file_results (file_id) WHERE outputs_at IS NULL;

-- Every accepted blacklist change; per card the entry with the latest `effective` (then the
-- latest id) is the card's state. `changed`: the entry altered that state when it arrived (the
-- changes distributed to partners).
CREATE TABLE blacklist_entries (
    id          INTEGER PRIMARY KEY,
    file_id     INTEGER NOT NULL REFERENCES files (id),
    record_no   INTEGER NOT NULL,
    scheme      TEXT NOT NULL,
    issuer_code TEXT NOT NULL,
    city_code   TEXT NOT NULL,
    card_serial TEXT NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('add', 'remove')),
    effective   TEXT NOT NULL,
    reason      TEXT NOT NULL,
    changed     INTEGER NOT NULL
);
CREATE INDEX blacklist_by_card ON blacklist_entries (scheme, issuer_code, city_code, card_serial, effective);
CREATE INDEX blacklist_by_file ON blacklist_entries (file_id, record_no);

-- The cards blacklisted now (their latest entry is an `add`).
CREATE VIEW blacklisted_cards AS
SELECT e.scheme, e.issuer_code, e.city_code, e.card_serial, e.effective, e.reason, e.file_id
FROM blacklist_entries e
WHERE e.action = 'add' AND NOT EXISTS (
    SELECT 1 FROM blacklist_entries l
    WHERE l.scheme = e.scheme AND l.issuer_code = e.issuer_code AND l.city_code = e.city_code
      AND l.card_serial = e.card_serial
      AND (l.effective > e.effective OR (l.effective = e.effective AND l.id > e.id)));
