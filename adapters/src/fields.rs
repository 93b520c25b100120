//! The translation between a record's fields as text and a [`CanonicalTx`], shared by every
//! format: each format's layout table says which [`Slot`] each of its fields carries, and the
//! format's [`CodeSpace`] says whose codes (city, card type, industry) its fields hold.

use std::borrow::Cow;
use std::fmt::Write as _;

use card_standards::{
    Acceptance, AuthCode, CanonicalTx, CardMedium, CardSerial, CardType, CityCode, CodeTables,
    Industry, IssuerCode, IssuerId, Mac4, Provenance, Scheme, TerminalId, TxKind, TxType,
};
use chrono::NaiveDateTime;

use crate::Format;
use crate::error::{Error, Location, Result};

/// The canonical fact a field of a format's layout carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Slot {
    /// The card's scheme by name (`local`, `mohurd`, `mot`, `pboc`).
    Scheme,
    /// The card's scheme as one digit: 1 local, 2 mohurd, 3 mot, 4 pboc (fixed-width formats).
    SchemeDigit,
    /// The card issuer's code (4 hex digits).
    IssuerCode,
    /// The card issuer's city code, in the format's code space.
    CityCode,
    /// The 10-byte application serial as 20 hex digits.
    CardSerial,
    /// The 19-digit T-Union card number (the serial without its first digit).
    MotCardNumber,
    /// The card type, in the format's code space.
    CardType,
    /// CPU card or legacy M1 card.
    Medium,
    /// The ED/EP transaction type byte (2 hex digits).
    TxType,
    /// T-Union 001E process type (交易类型), checked against the transaction type.
    ProcessType,
    /// PBOC batch channel: `EP` (ED/EP purse, with TAC) or `EC` (e-cash, with cryptogram).
    Channel,
    /// Amount in fen.
    Amount,
    /// Balance before, in fen.
    BalanceBefore,
    /// The card counter as INITIALIZE returned it.
    CardSeq,
    /// Terminal (PSAM) number, 12 hex digits.
    Terminal,
    /// Terminal transaction counter.
    TerminalSeq,
    /// Terminal date and time.
    TxTime,
    /// Key version (2 hex digits).
    KeyVersion,
    /// Algorithm id (2 hex digits).
    AlgId,
    /// TAC (8 hex digits), absent for M1 cards and e-cash.
    Tac,
    /// MOHURD authentication code, or the PBOC e-cash CID ‖ cryptogram (18 hex digits).
    AuthCode,
    /// Industry, in the format's code space.
    Industry,
    /// Acquirer participant code.
    Acquirer,
    /// Operator or merchant.
    Operator,
    /// Line.
    Line,
    /// Station or stop.
    Station,
    /// Vehicle.
    Vehicle,
}

/// Number of [`Slot`] values.
pub(crate) const SLOTS: usize = 27;

impl Slot {
    /// The name of the [`CanonicalTx`] field this slot carries (as named in errors and docs).
    pub fn canonical_field(self) -> &'static str {
        match self {
            Slot::Scheme | Slot::SchemeDigit => "scheme",
            Slot::IssuerCode => "issuer.issuer_code",
            Slot::CityCode => "issuer.city_code",
            Slot::CardSerial | Slot::MotCardNumber => "card_serial",
            Slot::CardType => "card_type",
            Slot::Medium => "medium",
            Slot::TxType => "tx_type",
            Slot::ProcessType => "tx_type (001E process type)",
            Slot::Channel => "tac / auth_code (channel)",
            Slot::Amount => "amount_fen",
            Slot::BalanceBefore => "balance_before_fen",
            Slot::CardSeq => "card_seq",
            Slot::Terminal => "terminal",
            Slot::TerminalSeq => "terminal_seq",
            Slot::TxTime => "tx_time",
            Slot::KeyVersion => "key_version",
            Slot::AlgId => "alg_id",
            Slot::Tac => "tac",
            Slot::AuthCode => "auth_code",
            Slot::Industry => "acceptance.industry",
            Slot::Acquirer => "acceptance.acquirer",
            Slot::Operator => "acceptance.operator",
            Slot::Line => "acceptance.line",
            Slot::Station => "acceptance.station",
            Slot::Vehicle => "acceptance.vehicle",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Whose codes a format's city, card-type and industry fields hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeSpace {
    /// hutong's canonical names (`adult`, `bus`) and the card's own city code (hutong-xml).
    Canonical,
    /// One scheme's raw codes from the code tables, and that scheme's city codes (MOHURD city
    /// codes for local, MOHURD and PBOC; T-Union codes for MOT).
    Network(Scheme),
}

/// How a format writes date-times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeStyle {
    /// `2026-11-21T08:15:02`.
    Iso,
    /// `20261121081502`.
    Compact,
}

/// Everything the slot codec needs to know about the format.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Codec<'a> {
    pub(crate) format: Format,
    pub(crate) tables: &'a CodeTables,
    pub(crate) space: CodeSpace,
    pub(crate) time: TimeStyle,
}

/// The text of each slot of one record, as read, with the format's field names.
pub(crate) struct Texts<'a> {
    values: [Option<Cow<'a, str>>; SLOTS],
    names: [&'static str; SLOTS],
}

impl<'a> Texts<'a> {
    pub(crate) fn new() -> Texts<'a> {
        Texts {
            values: std::array::from_fn(|_| None),
            names: [""; SLOTS],
        }
    }

    /// Sets a slot; blank text counts as absent.
    pub(crate) fn set(&mut self, slot: Slot, name: &'static str, text: Cow<'a, str>) {
        self.names[slot.index()] = name;
        self.values[slot.index()] = if text.is_empty() { None } else { Some(text) };
    }

    /// Declares that the format has this slot (so that a missing value is named).
    pub(crate) fn declare(&mut self, slot: Slot, name: &'static str) {
        self.names[slot.index()] = name;
    }

    pub(crate) fn get(&self, slot: Slot) -> Option<&str> {
        self.values[slot.index()].as_deref()
    }

    fn has(&self, slot: Slot) -> bool {
        !self.names[slot.index()].is_empty()
    }

    fn name(&self, slot: Slot) -> &'static str {
        match self.names[slot.index()] {
            "" => slot.canonical_field(),
            n => n,
        }
    }
}

/// Scheme ⇄ the one-digit code of fixed-width formats.
pub(crate) fn scheme_digit(s: Scheme) -> char {
    match s {
        Scheme::Local => '1',
        Scheme::Mohurd => '2',
        Scheme::Mot => '3',
        Scheme::Pboc => '4',
    }
}

pub(crate) fn scheme_of_digit(c: &str) -> Option<Scheme> {
    match c {
        "1" => Some(Scheme::Local),
        "2" => Some(Scheme::Mohurd),
        "3" => Some(Scheme::Mot),
        "4" => Some(Scheme::Pboc),
        _ => None,
    }
}

/// Both MOHURD-style schemes share one city-code space; T-Union has its own.
pub(crate) fn same_city_space(a: Scheme, b: Scheme) -> bool {
    (a == Scheme::Mot) == (b == Scheme::Mot)
}

/// Whether a record is a PBOC e-cash transaction: a CPU card with no TAC whose `auth_code`
/// carries the e-cash CID ‖ application cryptogram instead (see `pboc`).
pub fn is_ecash(tx: &CanonicalTx) -> bool {
    tx.scheme == Scheme::Pboc
        && tx.medium == CardMedium::Cpu
        && tx.tac.is_none()
        && tx.auth_code.is_some()
}

/// The purse-level consistency every reader and writer enforces: an M1 card has no TAC; a CPU
/// card has one unless the record is PBOC e-cash. Returns the slot at fault and why.
pub(crate) fn check_purse_facts(tx: &CanonicalTx) -> std::result::Result<(), (Slot, &'static str)> {
    match (tx.medium, tx.tac.is_some()) {
        (CardMedium::MifareClassic, true) => Err((Slot::Tac, "an M1 card record carries no TAC")),
        (CardMedium::MifareClassic, false) if tx.auth_code.is_some() => Err((
            Slot::AuthCode,
            "an M1 card record carries no authentication code",
        )),
        (CardMedium::Cpu, false) if !is_ecash(tx) => Err((
            Slot::Tac,
            "a CPU card record must carry a TAC (only PBOC e-cash records, which carry their \
             cryptogram as auth code, have none)",
        )),
        _ => Ok(()),
    }
}

/// The 001E process type a T-Union file writes for a transaction kind.
pub(crate) fn process_type_for(kind: TxKind) -> Option<&'static str> {
    match kind {
        TxKind::Purchase | TxKind::CompositePurchase => Some("06"),
        TxKind::Load => Some("0A"),
        _ => None,
    }
}

/// Whether a 001E process type read from a T-Union file agrees with the transaction kind:
/// EP entry (03), exit (04), single fare (06) and fare adjustment (08) are purchases; EP load
/// (0A) is a load. EC types (01, 02, 05, 07, 09) are not ED/EP transactions.
fn process_type_agrees(code: &str, kind: TxKind) -> bool {
    match kind {
        TxKind::Purchase | TxKind::CompositePurchase => {
            matches!(code, "03" | "04" | "06" | "08")
        }
        TxKind::Load => code == "0A",
        _ => false,
    }
}

fn parse_hex<T: std::str::FromStr>(text: &str) -> Option<T> {
    text.parse().ok()
}

fn parse_u8_hex(text: &str) -> Option<u8> {
    if text.len() == 2 {
        u8::from_str_radix(text, 16).ok()
    } else {
        None
    }
}

pub(crate) fn all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

fn parse_time(style: TimeStyle, text: &str) -> Option<NaiveDateTime> {
    // Digits exactly where the pattern has them: chrono alone would take a signed year ("-026").
    let shape_ok = match style {
        TimeStyle::Iso => {
            text.len() == 19
                && text.bytes().enumerate().all(|(i, b)| match i {
                    4 | 7 => b == b'-',
                    10 => b == b'T',
                    13 | 16 => b == b':',
                    _ => b.is_ascii_digit(),
                })
        }
        TimeStyle::Compact => text.len() == 14 && text.bytes().all(|b| b.is_ascii_digit()),
    };
    if !shape_ok {
        return None;
    }
    match style {
        TimeStyle::Iso => NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
            .ok()
            .filter(|_| text.len() == 19),
        TimeStyle::Compact => NaiveDateTime::parse_from_str(text, "%Y%m%d%H%M%S")
            .ok()
            .filter(|_| text.len() == 14),
    }
}

pub(crate) fn write_time(style: TimeStyle, t: NaiveDateTime, out: &mut String) {
    let fmt = match style {
        TimeStyle::Iso => "%Y-%m-%dT%H:%M:%S",
        TimeStyle::Compact => "%Y%m%d%H%M%S",
    };
    let _ = write!(out, "{}", t.format(fmt));
}

/// Parses a header/trailer date-time.
pub(crate) fn read_time(style: TimeStyle, text: &str) -> Option<NaiveDateTime> {
    parse_time(style, text)
}

/// Builds a canonical record from a record's slot texts.
pub(crate) fn build(
    codec: &Codec<'_>,
    texts: &Texts<'_>,
    at: &Location,
    default_acquirer: Option<&str>,
) -> Result<CanonicalTx> {
    let bad = |slot: Slot, value: &str, reason: String| {
        Error::bad_field(at.clone(), texts.name(slot), value, reason)
    };
    let range = |slot: Slot, value: &str, reason: &str| Error::OutOfRange {
        at: at.clone(),
        field: texts.name(slot),
        value: crate::error::clip(value),
        reason: reason.to_string(),
    };
    let req = |slot: Slot| {
        texts
            .get(slot)
            .ok_or_else(|| bad(slot, "", "missing".to_string()))
    };
    let code_err =
        |slot: Slot, value: &str, e: card_standards::Error| bad(slot, value, e.to_string());
    let hex_u8 = |slot: Slot| -> Result<u8> {
        let t = req(slot)?;
        parse_u8_hex(t).ok_or_else(|| bad(slot, t, "expected 2 hexadecimal digits".into()))
    };
    // Unsigned decimal with a range; a leading '-' parses but is out of range (R05).
    let number = |slot: Slot, max: u64| -> Result<u64> {
        let t = req(slot)?;
        let digits = t.strip_prefix('-').unwrap_or(t);
        if !all_digits(digits) || digits.len() > 20 {
            return Err(bad(slot, t, "expected a decimal number".into()));
        }
        let v: u64 = digits
            .parse()
            .map_err(|_| range(slot, t, &format!("0 to {max}")))?;
        if t.starts_with('-') && v != 0 || v > max {
            return Err(range(slot, t, &format!("0 to {max}")));
        }
        Ok(v)
    };

    // The card's scheme first: the code-space translations depend on it.
    let scheme = if texts.has(Slot::Scheme) {
        let t = req(Slot::Scheme)?;
        t.parse::<Scheme>()
            .map_err(|e| code_err(Slot::Scheme, t, e))?
    } else {
        let t = req(Slot::SchemeDigit)?;
        scheme_of_digit(t).ok_or_else(|| {
            bad(
                Slot::SchemeDigit,
                t,
                "expected 1 (local), 2 (mohurd), 3 (mot) or 4 (pboc)".into(),
            )
        })?
    };

    let issuer_text = req(Slot::IssuerCode)?;
    let issuer_code: IssuerCode = parse_hex(issuer_text).ok_or_else(|| {
        bad(
            Slot::IssuerCode,
            issuer_text,
            "expected 4 hexadecimal digits".into(),
        )
    })?;

    let city_text = req(Slot::CityCode)?;
    if city_text.len() != 4 || !all_digits(city_text) {
        return Err(bad(
            Slot::CityCode,
            city_text,
            "expected 4 decimal digits".into(),
        ));
    }
    let city_card = match codec.space {
        CodeSpace::Network(net) if !same_city_space(net, scheme) => codec
            .tables
            .translate_city(net, city_text, scheme)
            .map_err(|e| code_err(Slot::CityCode, city_text, e))?,
        _ => city_text,
    };
    let city_code: CityCode = parse_hex(city_card).ok_or_else(|| {
        bad(
            Slot::CityCode,
            city_card,
            "expected 4 decimal digits".into(),
        )
    })?;

    let card_serial = if texts.has(Slot::MotCardNumber) {
        let t = req(Slot::MotCardNumber)?;
        CardSerial::from_mot_card_number(t).map_err(|e| code_err(Slot::MotCardNumber, t, e))?
    } else {
        let t = req(Slot::CardSerial)?;
        parse_hex::<CardSerial>(t)
            .ok_or_else(|| bad(Slot::CardSerial, t, "expected 20 hexadecimal digits".into()))?
    };

    let ct_text = req(Slot::CardType)?;
    let card_type = match codec.space {
        CodeSpace::Canonical => ct_text.parse::<CardType>(),
        CodeSpace::Network(net) => codec.tables.card_type(net, ct_text),
    }
    .map_err(|e| code_err(Slot::CardType, ct_text, e))?;
    let card_type_raw = codec
        .tables
        .card_type_code(scheme, card_type)
        .map_err(|e| code_err(Slot::CardType, ct_text, e))?
        .to_string();

    let medium = match texts.get(Slot::Medium) {
        None => CardMedium::Cpu,
        Some(t) if t.eq_ignore_ascii_case("cpu") => CardMedium::Cpu,
        Some(t) if t.eq_ignore_ascii_case("m1") => CardMedium::MifareClassic,
        Some(t) => return Err(bad(Slot::Medium, t, "expected cpu or m1".into())),
    };

    let tx_type = TxType(hex_u8(Slot::TxType)?);
    let amount = number(Slot::Amount, u64::from(u32::MAX))?;
    let balance = number(Slot::BalanceBefore, u64::from(u32::MAX))?;
    let card_seq = number(Slot::CardSeq, u64::from(u16::MAX))?;
    let term_text = req(Slot::Terminal)?;
    let terminal: TerminalId = parse_hex(term_text).ok_or_else(|| {
        bad(
            Slot::Terminal,
            term_text,
            "expected 12 hexadecimal digits".into(),
        )
    })?;
    let terminal_seq = number(Slot::TerminalSeq, u64::from(u32::MAX))?;
    let time_text = req(Slot::TxTime)?;
    let tx_time = parse_time(codec.time, time_text).ok_or_else(|| {
        let expect = match codec.time {
            TimeStyle::Iso => "expected a date-time YYYY-MM-DDThh:mm:ss",
            TimeStyle::Compact => "expected a date-time YYYYMMDDhhmmss",
        };
        bad(Slot::TxTime, time_text, expect.into())
    })?;
    let key_version = hex_u8(Slot::KeyVersion)?;
    let alg_id = hex_u8(Slot::AlgId)?;
    let tac = match texts.get(Slot::Tac) {
        None => None,
        Some(t) => Some(
            parse_hex::<Mac4>(t)
                .ok_or_else(|| bad(Slot::Tac, t, "expected 8 hexadecimal digits".into()))?,
        ),
    };
    let auth_code = match texts.get(Slot::AuthCode) {
        None => None,
        Some(t) => Some(
            parse_hex::<AuthCode>(t)
                .ok_or_else(|| bad(Slot::AuthCode, t, "expected 18 hexadecimal digits".into()))?,
        ),
    };

    let ind_text = req(Slot::Industry)?;
    let industry = match codec.space {
        CodeSpace::Canonical => ind_text.parse::<Industry>(),
        CodeSpace::Network(net) => codec.tables.industry(net, ind_text),
    }
    .map_err(|e| code_err(Slot::Industry, ind_text, e))?;

    let acquirer = match (texts.get(Slot::Acquirer), default_acquirer) {
        (Some(a), _) => a.to_string(),
        (None, Some(d)) => d.to_string(),
        (None, None) => return Err(bad(Slot::Acquirer, "", "missing".into())),
    };
    let text = |slot: Slot| texts.get(slot).map(str::to_string);

    let tx = CanonicalTx {
        scheme,
        issuer: IssuerId {
            issuer_code,
            city_code,
        },
        card_serial,
        card_type,
        card_type_raw,
        medium,
        tx_type,
        amount_fen: amount as i64,
        balance_before_fen: balance as i64,
        card_seq: card_seq as u16,
        terminal,
        terminal_seq: terminal_seq as u32,
        tx_time,
        key_version,
        alg_id,
        tac,
        auth_code,
        acceptance: Acceptance {
            acquirer,
            operator: text(Slot::Operator),
            industry,
            line: text(Slot::Line),
            station: text(Slot::Station),
            vehicle: text(Slot::Vehicle),
        },
        provenance: Some(Provenance {
            file: at.file.clone(),
            record: at.record.unwrap_or(0),
        }),
    };

    if let Err((slot, why)) = check_purse_facts(&tx) {
        let v = texts.get(slot).unwrap_or("");
        return Err(bad(slot, v, why.into()));
    }
    if texts.has(Slot::ProcessType) {
        let t = req(Slot::ProcessType)?;
        if !process_type_agrees(&t.to_ascii_uppercase(), tx.kind()) {
            return Err(bad(
                Slot::ProcessType,
                t,
                format!("does not agree with transaction type {}", tx.tx_type),
            ));
        }
    }
    if texts.has(Slot::Channel) {
        let t = req(Slot::Channel)?;
        let want = if is_ecash(&tx) { "EC" } else { "EP" };
        if t != want {
            return Err(bad(
                Slot::Channel,
                t,
                format!(
                    "expected {want}: EP records carry a TAC, EC records a cryptogram and no TAC"
                ),
            ));
        }
    }
    Ok(tx)
}

/// The amount text of a record for the trailer tally, if it reads as a number.
pub(crate) fn tally_amount(texts: &Texts<'_>) -> Option<i128> {
    let t = texts.get(Slot::Amount)?;
    let digits = t.strip_prefix('-').unwrap_or(t);
    if !all_digits(digits) || digits.len() > 30 {
        return None;
    }
    let v: i128 = digits.parse().ok()?;
    Some(if t.starts_with('-') { -v } else { v })
}

/// Writes one slot of a record as text (unpadded) into `out`. `Ok(false)` means "absent"
/// (written as a blank field).
pub(crate) fn encode(
    codec: &Codec<'_>,
    slot: Slot,
    tx: &CanonicalTx,
    out: &mut String,
) -> Result<bool> {
    let cannot = |reason: String| Error::CannotCarry {
        format: codec.format,
        field: slot.canonical_field(),
        reason,
    };
    let text = |t: &Option<String>, out: &mut String| -> Result<bool> {
        match t {
            None => Ok(false),
            Some(s) if s.is_empty() => Err(cannot(
                "an empty text (absent and empty are the same in files)".into(),
            )),
            Some(s) => {
                out.push_str(s);
                Ok(true)
            }
        }
    };
    match slot {
        Slot::Scheme => out.push_str(tx.scheme.as_str()),
        Slot::SchemeDigit => out.push(scheme_digit(tx.scheme)),
        Slot::IssuerCode => {
            let _ = write!(out, "{}", tx.issuer.issuer_code);
        }
        Slot::CityCode => {
            let own = tx.issuer.city_code.to_string();
            if !all_digits(&own) {
                return Err(cannot(format!("city code {own} is not 4 decimal digits")));
            }
            match codec.space {
                CodeSpace::Network(net) if !same_city_space(net, tx.scheme) => {
                    let c = codec
                        .tables
                        .translate_city(tx.scheme, &own, net)
                        .map_err(|e| cannot(e.to_string()))?;
                    out.push_str(c);
                }
                _ => out.push_str(&own),
            }
        }
        Slot::CardSerial => {
            let _ = write!(out, "{}", tx.card_serial);
        }
        Slot::MotCardNumber => {
            let s = tx.card_serial.to_string();
            if !s.starts_with('0') || !all_digits(&s) {
                return Err(cannot(format!(
                    "serial {s} is not a 19-digit T-Union card number (needs decimal digits \
                     and a leading 0)"
                )));
            }
            out.push_str(&s[1..]);
        }
        Slot::CardType => {
            let ct = match codec.space {
                CodeSpace::Canonical => tx.card_type.as_str(),
                CodeSpace::Network(net) => codec
                    .tables
                    .card_type_code(net, tx.card_type)
                    .map_err(|e| cannot(e.to_string()))?,
            };
            let own = codec
                .tables
                .card_type_code(tx.scheme, tx.card_type)
                .map_err(|e| cannot(e.to_string()))?;
            if !own.eq_ignore_ascii_case(&tx.card_type_raw) {
                return Err(cannot(format!(
                    "raw card type {} disagrees with the {} code {own} for {}",
                    tx.card_type_raw, tx.scheme, tx.card_type
                )));
            }
            out.push_str(ct);
        }
        Slot::Medium => out.push_str(match tx.medium {
            CardMedium::Cpu => "cpu",
            CardMedium::MifareClassic => "m1",
        }),
        Slot::TxType => {
            let _ = write!(out, "{:02X}", tx.tx_type.0);
        }
        Slot::ProcessType => out.push_str(process_type_for(tx.kind()).ok_or_else(|| {
            cannot(format!(
                "transaction type {} has no 001E process type",
                tx.tx_type
            ))
        })?),
        Slot::Channel => out.push_str(if is_ecash(tx) { "EC" } else { "EP" }),
        Slot::Amount | Slot::BalanceBefore => {
            let v = if slot == Slot::Amount {
                tx.amount_fen
            } else {
                tx.balance_before_fen
            };
            if !(0..=i64::from(u32::MAX)).contains(&v) {
                return Err(cannot(format!("{v} fen is outside 0 to {}", u32::MAX)));
            }
            let _ = write!(out, "{v}");
        }
        Slot::CardSeq => {
            let _ = write!(out, "{}", tx.card_seq);
        }
        Slot::Terminal => {
            let _ = write!(out, "{}", tx.terminal);
        }
        Slot::TerminalSeq => {
            let _ = write!(out, "{}", tx.terminal_seq);
        }
        Slot::TxTime => {
            use chrono::Datelike;
            if !(0..=9999).contains(&tx.tx_time.year()) {
                return Err(cannot(format!(
                    "year {} has no 4-digit form",
                    tx.tx_time.year()
                )));
            }
            write_time(codec.time, tx.tx_time, out);
        }
        Slot::KeyVersion => {
            let _ = write!(out, "{:02X}", tx.key_version);
        }
        Slot::AlgId => {
            let _ = write!(out, "{:02X}", tx.alg_id);
        }
        Slot::Tac => match &tx.tac {
            None => return Ok(false),
            Some(t) => {
                let _ = write!(out, "{t}");
            }
        },
        Slot::AuthCode => match &tx.auth_code {
            None => return Ok(false),
            Some(a) => {
                let _ = write!(out, "{a}");
            }
        },
        Slot::Industry => {
            let ind = tx.acceptance.industry;
            out.push_str(match codec.space {
                CodeSpace::Canonical => ind.as_str(),
                CodeSpace::Network(net) => codec
                    .tables
                    .industry_code(net, ind)
                    .map_err(|e| cannot(e.to_string()))?,
            });
        }
        Slot::Acquirer => {
            if tx.acceptance.acquirer.is_empty() {
                return Err(cannot("an empty acquirer".into()));
            }
            out.push_str(&tx.acceptance.acquirer);
        }
        Slot::Operator => return text(&tx.acceptance.operator, out),
        Slot::Line => return text(&tx.acceptance.line, out),
        Slot::Station => return text(&tx.acceptance.station, out),
        Slot::Vehicle => return text(&tx.acceptance.vehicle, out),
    }
    Ok(true)
}

/// The writer-side check of a whole record before any field is written: the purse facts, and
/// the slots the format lacks (a value the format has no field for cannot be carried).
pub(crate) fn check_carriable(
    codec: &Codec<'_>,
    has: impl Fn(Slot) -> bool,
    tx: &CanonicalTx,
) -> Result<()> {
    let cannot = |slot: Slot, reason: &str| Error::CannotCarry {
        format: codec.format,
        field: slot.canonical_field(),
        reason: reason.to_string(),
    };
    if let Err((slot, why)) = check_purse_facts(tx) {
        return Err(cannot(slot, why));
    }
    if tx.medium == CardMedium::MifareClassic && !has(Slot::Medium) {
        return Err(cannot(
            Slot::Medium,
            "legacy M1 card records (no TAC) have no place in this format",
        ));
    }
    let absent = [
        (Slot::AuthCode, tx.auth_code.is_some()),
        (Slot::Operator, tx.acceptance.operator.is_some()),
        (Slot::Line, tx.acceptance.line.is_some()),
        (Slot::Station, tx.acceptance.station.is_some()),
        (Slot::Vehicle, tx.acceptance.vehicle.is_some()),
    ];
    for (slot, present) in absent {
        if present && !has(slot) {
            return Err(cannot(slot, "the format has no such field"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_count_matches_the_enum() {
        assert_eq!(Slot::Vehicle as usize + 1, SLOTS);
    }

    #[test]
    fn date_times_parse_only_in_their_exact_shape() {
        assert!(parse_time(TimeStyle::Iso, "2026-11-21T08:15:02").is_some());
        assert!(parse_time(TimeStyle::Iso, "-026-11-21T08:15:02").is_none());
        assert!(parse_time(TimeStyle::Iso, "2026-11-21 08:15:02").is_none());
        assert!(parse_time(TimeStyle::Compact, "20261121081502").is_some());
        assert!(parse_time(TimeStyle::Compact, "+0261121081502").is_none());
        assert!(parse_time(TimeStyle::Compact, "20260230081502").is_none());
    }
}
