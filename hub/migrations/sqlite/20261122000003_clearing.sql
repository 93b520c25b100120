-- Settlement windows and clearing (issue 6). Days are 'YYYY-MM-DD' text; times are the
-- fixed-width UTC text of the exchange tables.

-- The window that took an inbound file's accepted records. Set once, when the window closes.
ALTER TABLE files ADD COLUMN window_day TEXT;
CREATE INDEX files_by_window ON files (window_day);

CREATE TABLE windows (
    day             TEXT PRIMARY KEY,
    status          TEXT NOT NULL CHECK (status IN ('closed')),
    cutoff_at       TEXT NOT NULL,
    closed_at       TEXT NOT NULL,
    tx_count        INTEGER NOT NULL,
    tx_amount_fen   INTEGER NOT NULL,
    on_us_count     INTEGER NOT NULL,
    file_count      INTEGER NOT NULL,
    fees_sha256     TEXT NOT NULL
);

CREATE TABLE window_positions (
    day            TEXT NOT NULL REFERENCES windows (day),
    code           TEXT NOT NULL,
    receivable_fen INTEGER NOT NULL,
    payable_fen    INTEGER NOT NULL,
    fees_fen       INTEGER NOT NULL,
    net_fen        INTEGER NOT NULL,
    PRIMARY KEY (day, code)
);

CREATE TABLE window_pairs (
    day            TEXT NOT NULL REFERENCES windows (day),
    payer          TEXT NOT NULL,
    payee          TEXT NOT NULL,
    count          INTEGER NOT NULL,
    amount_fen     INTEGER NOT NULL,
    fee_fen        INTEGER NOT NULL,
    adjustment_fen INTEGER NOT NULL,
    PRIMARY KEY (day, payer, payee)
);

CREATE TABLE window_fees (
    day             TEXT NOT NULL REFERENCES windows (day),
    line            INTEGER NOT NULL,
    rule            INTEGER NOT NULL,
    description     TEXT NOT NULL,
    payer           TEXT NOT NULL,
    payee           TEXT NOT NULL,
    count           INTEGER NOT NULL,
    base_amount_fen INTEGER NOT NULL,
    raw_fen         TEXT NOT NULL,
    fee_fen         INTEGER NOT NULL,
    PRIMARY KEY (day, line)
);

-- Corrections: each clears in the first window that closes after it was made; never edited.
CREATE TABLE adjustments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    reference   TEXT NOT NULL UNIQUE,
    payer       TEXT NOT NULL,
    payee       TEXT NOT NULL,
    amount_fen  INTEGER NOT NULL CHECK (amount_fen > 0),
    reason      TEXT NOT NULL,
    source      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    window_day  TEXT,
    CHECK (payer <> payee)
);
CREATE INDEX adjustments_open ON adjustments (window_day, created_at);

-- Files a closed window produced (statements, instructions, outbound packages), so that
-- producing them again changes nothing.
CREATE TABLE window_outputs (
    day         TEXT NOT NULL REFERENCES windows (day),
    kind        TEXT NOT NULL,
    participant TEXT NOT NULL,
    file_id     INTEGER REFERENCES files (id),
    path        TEXT,
    PRIMARY KEY (day, kind, participant)
);
