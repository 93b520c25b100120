//! The natural key codec: the exact 28-byte encoding of a record's natural key (see the
//! parent module), and the one-byte codes of schemes and kinds.

use super::*;

/// The length of [`natural_key_bytes`].
pub const NATURAL_KEY_LEN: usize = 28;

/// Rows per multi-row `INSERT` on SQLite (24 values each, well under SQLite's 32 766 limit).
pub const SQLITE_ROWS_PER_INSERT: usize = 400;

/// The one-byte code of a scheme in the natural key.
pub fn scheme_code(s: Scheme) -> u8 {
    match s {
        Scheme::Local => 1,
        Scheme::Mohurd => 2,
        Scheme::Mot => 3,
        Scheme::Pboc => 4,
    }
}

/// The one-byte code of a kind in the natural key.
pub fn kind_code(k: TxKind) -> u8 {
    match k {
        TxKind::Load => 1,
        TxKind::Unload => 2,
        TxKind::CashWithdrawal => 3,
        TxKind::Purchase => 4,
        TxKind::CompositePurchase => 5,
        TxKind::OverdraftUpdate => 6,
        TxKind::Other => 7,
    }
}

fn scheme_of_code(c: u8) -> Option<Scheme> {
    Scheme::ALL.into_iter().find(|s| scheme_code(*s) == c)
}

fn kind_of_code(c: u8) -> TxKind {
    [
        TxKind::Load,
        TxKind::Unload,
        TxKind::CashWithdrawal,
        TxKind::Purchase,
        TxKind::CompositePurchase,
        TxKind::OverdraftUpdate,
    ]
    .into_iter()
    .find(|k| kind_code(*k) == c)
    .unwrap_or(TxKind::Other)
}

/// The exact 28-byte encoding of a natural key (see the module documentation).
pub fn natural_key_bytes(k: &NaturalKey) -> [u8; NATURAL_KEY_LEN] {
    let mut b = [0u8; NATURAL_KEY_LEN];
    b[0..6].copy_from_slice(k.terminal.as_bytes());
    b[6..10].copy_from_slice(&k.terminal_seq.to_be_bytes());
    b[10] = scheme_code(k.scheme);
    b[11..13].copy_from_slice(k.issuer.issuer_code.as_bytes());
    b[13..15].copy_from_slice(k.issuer.city_code.as_bytes());
    b[15..25].copy_from_slice(k.card_serial.as_bytes());
    b[25..27].copy_from_slice(&k.card_seq.to_be_bytes());
    b[27] = kind_code(k.kind);
    b
}

/// Decodes [`natural_key_bytes`]; `None` for bytes no key encodes to.
pub fn natural_key_from_bytes(b: &[u8]) -> Option<NaturalKey> {
    if b.len() != NATURAL_KEY_LEN {
        return None;
    }
    let arr = |r: std::ops::Range<usize>| b[r].to_vec();
    Some(NaturalKey {
        scheme: scheme_of_code(b[10])?,
        issuer: card_standards::IssuerId {
            issuer_code: card_standards::IssuerCode(arr(11..13).try_into().ok()?),
            city_code: card_standards::CityCode(arr(13..15).try_into().ok()?),
        },
        card_serial: card_standards::CardSerial(arr(15..25).try_into().ok()?),
        card_seq: u16::from_be_bytes([b[25], b[26]]),
        kind: kind_of_code(b[27]),
        terminal: card_standards::TerminalId(arr(0..6).try_into().ok()?),
        terminal_seq: u32::from_be_bytes([b[6], b[7], b[8], b[9]]),
    })
}
