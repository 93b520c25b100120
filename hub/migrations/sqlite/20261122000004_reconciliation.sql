-- Reconciliation, discrepancies, resolution, dispute cases and the console's users (issue 7).
-- Days are 'YYYY-MM-DD' text; times are the fixed-width UTC text of the exchange tables.

-- A partner's result file, once processed: its day and declared totals, or why it was refused.
CREATE TABLE result_files (
    file_id                      INTEGER PRIMARY KEY REFERENCES files (id),
    partner                      TEXT NOT NULL,
    day                          TEXT NOT NULL,
    status                       TEXT NOT NULL CHECK (status IN ('stored', 'rejected')),
    error                        TEXT,
    results                      INTEGER NOT NULL,
    bad_results                  INTEGER NOT NULL,
    declared_count               INTEGER,
    declared_amount_fen          INTEGER,
    declared_accepted            INTEGER,
    declared_accepted_amount_fen INTEGER,
    declared_rejected            INTEGER,
    declared_rejected_amount_fen INTEGER,
    processed_at                 TEXT NOT NULL
);
CREATE INDEX result_files_by_partner_day ON result_files (partner, day, status);

-- One line of a stored result file: the natural key, the partner's amount and its answer.
CREATE TABLE partner_results (
    file_id      INTEGER NOT NULL REFERENCES files (id),
    line         INTEGER NOT NULL,
    scheme       TEXT NOT NULL,
    issuer_code  TEXT NOT NULL,
    city_code    TEXT NOT NULL,
    card_serial  TEXT NOT NULL,
    card_seq     INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    terminal     TEXT NOT NULL,
    terminal_seq INTEGER NOT NULL,
    amount_fen   INTEGER NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('accepted', 'rejected')),
    code         TEXT,
    reason       TEXT,
    PRIMARY KEY (file_id, line)
);

-- Every difference found. `fingerprint` makes a re-run store nothing twice.
CREATE TABLE discrepancies (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint    TEXT NOT NULL UNIQUE,
    type           TEXT NOT NULL,
    day            TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('open', 'monitoring', 'resent', 'resolved', 'disputed', 'closed')),
    participants   TEXT NOT NULL,
    acquirer       TEXT,
    issuer         TEXT,
    flow           TEXT,
    scheme         TEXT,
    records        TEXT NOT NULL,
    files          TEXT NOT NULL,
    amount_fen     INTEGER NOT NULL CHECK (amount_fen >= 0),
    detail         TEXT NOT NULL,
    rule           TEXT,
    decision       TEXT,
    adjustment_ref TEXT REFERENCES adjustments (reference),
    case_id        INTEGER,
    resend_file_id INTEGER REFERENCES files (id),
    resolution     TEXT,
    found_at       TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    closed_at      TEXT
);
CREATE INDEX discrepancies_by_day ON discrepancies (day, type, status);
CREATE INDEX discrepancies_by_status ON discrepancies (status, id);

CREATE TABLE discrepancy_participants (
    discrepancy_id INTEGER NOT NULL REFERENCES discrepancies (id),
    participant    TEXT NOT NULL,
    PRIMARY KEY (discrepancy_id, participant)
);
CREATE INDEX discrepancy_participants_by_code ON discrepancy_participants (participant, discrepancy_id);

-- A record re-sent to a partner after it went missing there, and what came of it.
CREATE TABLE resends (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    discrepancy_id INTEGER NOT NULL REFERENCES discrepancies (id),
    record_id      INTEGER NOT NULL REFERENCES records (id),
    partner        TEXT NOT NULL,
    file_id        INTEGER NOT NULL REFERENCES files (id),
    created_at     TEXT NOT NULL,
    answered_file  INTEGER REFERENCES files (id),
    UNIQUE (discrepancy_id, record_id)
);
CREATE INDEX resends_pending ON resends (partner, answered_file);
CREATE INDEX resends_by_record ON resends (record_id);

-- Dispute cases: the current state; `dispute_events` is the full history.
CREATE TABLE dispute_cases (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    discrepancy_id      INTEGER NOT NULL UNIQUE REFERENCES discrepancies (id),
    claimant            TEXT NOT NULL,
    respondent          TEXT NOT NULL,
    scheme              TEXT NOT NULL,
    amount_fen          INTEGER NOT NULL,
    stage               TEXT NOT NULL CHECK (stage IN ('opened', 'evidence_requested', 'proposed', 'escalated', 'accepted', 'closed')),
    deadline            TEXT NOT NULL,
    overdue             INTEGER NOT NULL,
    proposal_payer      TEXT,
    proposal_payee      TEXT,
    proposal_amount_fen INTEGER,
    proposal_by         TEXT,
    outcome_payer       TEXT,
    outcome_payee       TEXT,
    outcome_amount_fen  INTEGER,
    adjustment_ref      TEXT REFERENCES adjustments (reference),
    opened_at           TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX dispute_cases_due ON dispute_cases (stage, deadline);

CREATE TABLE dispute_events (
    case_id INTEGER NOT NULL REFERENCES dispute_cases (id),
    seq     INTEGER NOT NULL,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    note    TEXT NOT NULL,
    stage   TEXT NOT NULL,
    PRIMARY KEY (case_id, seq)
);

CREATE TABLE dispute_evidence (
    case_id     INTEGER NOT NULL REFERENCES dispute_cases (id),
    seq         INTEGER NOT NULL,
    name        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    bytes       INTEGER NOT NULL,
    stored_path TEXT NOT NULL,
    added_by    TEXT NOT NULL,
    at          TEXT NOT NULL,
    PRIMARY KEY (case_id, seq)
);

-- The console's staff accounts and sessions.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'finance', 'operator')),
    participant   TEXT,
    password_hash TEXT,
    cert_login    INTEGER NOT NULL,
    created_at    TEXT NOT NULL
);

CREATE TABLE console_sessions (
    token_sha256 TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    csrf         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);

-- The card audit reads a card's records in counter order.
CREATE INDEX records_by_card ON records (scheme, issuer_code, city_code, card_serial);
