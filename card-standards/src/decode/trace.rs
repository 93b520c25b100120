//! An APDU log annotated: each exchange with the command named, its fields, the status word
//! and its meaning, and the files and responses decoded inline.
//!
//! Reads the forms PC/SC tools and hutong print: `>> C-APDU` / `<< R-APDU` (hutong's vcard,
//! `hutong card read --log`), `> …` / `< …` (the catalogue's traces, `scriptor`), pcscd's
//! `--apdu` log (`APDU: …` / `SW: …`) and card scripts' `send:…` / `receive:…`. A `61xx`
//! answer followed by GET RESPONSE (`00 C0`) is decoded as the first command's response. Hex may be spaced; what follows the hex on a line (a
//! command name, a status word's meaning) is ignored. Other lines are skipped.

use serde::Serialize;
use serde::ser::SerializeMap;

use super::{Decoded, FileKind, Money, decode, scheme_of_aid};
use crate::apdu::{
    Command, CommandApdu, CreditForLoadResponse, DebitForPurchaseResponse,
    InitializeForLoadResponse, InitializeForPurchaseResponse, ReadTarget, TransactionProveResponse,
};
use crate::scheme::Scheme;
use crate::status::StatusWord;

/// Named fields in order (a JSON object).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields(pub Vec<(&'static str, String)>);

impl Fields {
    fn add(&mut self, name: &'static str, value: impl ToString) {
        self.0.push((name, value.to_string()));
    }
}

impl Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// What a response carries, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Answer {
    /// A file, record, FCI or balance.
    File(Box<Decoded>),
    /// The fields of a purse command's response.
    Fields(Fields),
    /// The response data could not be decoded: why.
    Undecodable {
        /// The decoder's error.
        error: String,
    },
}

/// One exchange of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exchange {
    /// The log line of the command (1-based).
    pub line: usize,
    /// The command APDU in hex.
    pub command: String,
    /// The command's name, or `(not a command)`.
    pub name: &'static str,
    /// The command's fields.
    pub fields: Fields,
    /// Why the command is not one hutong knows, if it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parse_error: Option<String>,
    /// The response data in hex (without SW1 SW2); absent when no response was logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
    /// SW1 SW2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_word: Option<String>,
    /// What the status word means; absent for a word hutong does not know.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meaning: Option<&'static str>,
    /// The response decoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoded: Option<Answer>,
}

/// The hex at the start of `text`: spaced or not, up to the first token that is not hex.
fn leading_hex(text: &str) -> Option<Vec<u8>> {
    let mut hex = String::new();
    for token in text.split_whitespace() {
        if token.len().is_multiple_of(2) && token.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex.push_str(token);
        } else {
            break;
        }
    }
    if hex.is_empty() {
        None
    } else {
        hex::decode(hex).ok()
    }
}

/// A line's role: a command, a response, or neither.
enum LineKind {
    Command(Vec<u8>),
    Response(Vec<u8>),
    Reset,
}

fn classify(line: &str) -> Option<LineKind> {
    let t = line.trim();
    for (prefix, is_command) in [(">>", true), ("<<", false), (">", true), ("<", false)] {
        if let Some(rest) = t.strip_prefix(prefix) {
            let bytes = leading_hex(rest)?;
            return Some(if is_command {
                LineKind::Command(bytes)
            } else {
                LineKind::Response(bytes)
            });
        }
    }
    // Script logs: `send:HEX` / `receive:HEX ;time:N`.
    if let Some(rest) = t.strip_prefix("send:") {
        return leading_hex(rest).map(LineKind::Command);
    }
    if let Some(rest) = t.strip_prefix("receive:") {
        return leading_hex(rest.split(';').next().unwrap_or("")).map(LineKind::Response);
    }
    if let Some(i) = t.find("APDU: ") {
        return leading_hex(&t[i + 6..]).map(LineKind::Command);
    }
    if let Some(i) = t.find("SW: ") {
        return leading_hex(&t[i + 4..]).map(LineKind::Response);
    }
    if t == "* card reset" || t == "# power on" || t == "# power off" || t == "# reset" {
        return Some(LineKind::Reset);
    }
    None
}

/// What the annotator remembers between exchanges.
#[derive(Default)]
struct State {
    scheme: Option<Scheme>,
    current_file: Option<u16>,
    /// A command the card answered 61xx: its data comes with the next GET RESPONSE.
    awaiting: Option<Command>,
}

/// GET RESPONSE (ISO 7816-4 `00 C0 00 00 Le`), which the purse command set does not model.
fn is_get_response(bytes: &[u8]) -> bool {
    matches!(bytes, [0x00, 0xC0, 0x00, 0x00, _])
}

fn sfi_file(target: ReadTarget, current: Option<u16>) -> Option<u16> {
    match target {
        ReadTarget::Sfi(sfi) => Some(u16::from(sfi)),
        ReadTarget::Current => current,
    }
}

fn file_kind(id: u16) -> Option<FileKind> {
    Some(match id {
        0x15 => FileKind::AppInfo,
        0x16 => FileKind::Cardholder,
        0x17 => FileKind::File0017,
        0x18 => FileKind::TxRecords,
        0x1A => FileKind::TransitRecords,
        0x1E => FileKind::ProcessRecords,
        _ => return None,
    })
}

fn fields_of(command: &Command) -> Fields {
    let mut f = Fields::default();
    match command {
        Command::SelectByName { name } => {
            f.add("name", hex::encode_upper(name));
            if let Some(s) = scheme_of_aid(name) {
                f.add("application", s.profile().name);
            } else if let Ok(text) = std::str::from_utf8(name)
                && text.bytes().all(|b| b.is_ascii_graphic())
            {
                f.add("text", text);
            }
        }
        Command::SelectByFileId { file_id } => f.add("file_id", format!("{file_id:04X}")),
        Command::ReadBinary { target, offset, le } => {
            match target {
                ReadTarget::Sfi(sfi) => f.add("sfi", format!("{sfi:02X}")),
                ReadTarget::Current => f.add("file", "current"),
            }
            f.add("offset", offset);
            f.add("le", le);
        }
        Command::ReadRecord { record, target, le } => {
            f.add("record", record);
            match target {
                ReadTarget::Sfi(sfi) => f.add("sfi", format!("{sfi:02X}")),
                ReadTarget::Current => f.add("file", "current"),
            }
            f.add("le", le);
        }
        Command::GetBalance { purse, register } => {
            f.add("purse", format!("{purse:?}").to_uppercase());
            f.add("register", format!("{register:?}").to_lowercase())
        }
        Command::InitializeForPurchase {
            composite,
            purse,
            key_index,
            amount,
            terminal,
        } => {
            f.add("composite", composite);
            f.add("purse", format!("{purse:?}").to_uppercase());
            f.add("key_index", format!("{key_index:02X}"));
            f.add("amount_fen", amount);
            f.add("terminal", terminal);
        }
        Command::DebitForPurchase {
            terminal_seq,
            date_time,
            mac1,
        } => {
            f.add("terminal_seq", terminal_seq);
            f.add("date_time", hex::encode_upper(date_time));
            f.add("mac1", mac1);
        }
        Command::InitializeForLoad {
            purse,
            key_index,
            amount,
            terminal,
        } => {
            f.add("purse", format!("{purse:?}").to_uppercase());
            f.add("key_index", format!("{key_index:02X}"));
            f.add("amount_fen", amount);
            f.add("terminal", terminal);
        }
        Command::CreditForLoad { date_time, mac2 } => {
            f.add("date_time", hex::encode_upper(date_time));
            f.add("mac2", mac2);
        }
        Command::UpdateCappDataCache {
            record_id,
            sfi,
            data,
        } => {
            f.add("record_id", format!("{record_id:02X}"));
            f.add("sfi", format!("{sfi:02X}"));
            f.add("data", hex::encode_upper(data));
        }
        Command::GetTransactionProve { tx_type, seq } => {
            f.add("tx_type", tx_type);
            f.add("counter", seq);
        }
        Command::GetChallenge { len } => f.add("length", len),
        Command::GetAuthCode => {}
    }
    f
}

fn money(f: &mut Fields, name: &'static str, fen: u32) {
    let m = Money::fen(fen);
    f.add(
        name,
        format!("{} fen ({}.{:02} yuan)", m.fen, fen / 100, fen % 100),
    );
}

/// Decodes a successful response of `command`, updating what the annotator knows.
fn answer(command: &Command, data: &[u8], state: &mut State) -> Option<Answer> {
    let undecodable = |e: crate::Error| Answer::Undecodable {
        error: e.to_string(),
    };
    let file = |kind: FileKind, state: &State| {
        Some(
            decode(kind, state.scheme, &[data.to_vec()])
                .map(|d| Answer::File(Box::new(d)))
                .unwrap_or_else(undecodable),
        )
    };
    match command {
        Command::SelectByName { name } => {
            let scheme = scheme_of_aid(name);
            if scheme.is_some() {
                state.scheme = scheme;
            }
            state.current_file = None;
            if data.first() == Some(&0x6F) {
                file(FileKind::Fci, state)
            } else {
                None
            }
        }
        Command::SelectByFileId { file_id } => {
            state.current_file = Some(*file_id & 0xFF);
            None
        }
        Command::ReadBinary {
            target, offset: 0, ..
        }
        | Command::ReadRecord { target, .. } => {
            let kind = sfi_file(*target, state.current_file).and_then(file_kind)?;
            if kind == FileKind::AppInfo && state.scheme.is_none() {
                return Some(Answer::Undecodable {
                    error: "0015 read before any application was selected: scheme unknown".into(),
                });
            }
            file(kind, state)
        }
        Command::ReadBinary { .. } => None,
        Command::GetBalance { .. } => file(FileKind::Balance, state),
        Command::InitializeForPurchase { .. } => Some(
            InitializeForPurchaseResponse::parse(data)
                .map(|r| {
                    let mut f = Fields::default();
                    money(&mut f, "balance", r.balance);
                    f.add("offline_counter", r.offline_seq);
                    money(&mut f, "overdraft_limit", r.overdraft_limit);
                    f.add("key_version", format!("{:02X}", r.key_version));
                    f.add("alg_id", format!("{:02X}", r.alg_id));
                    f.add("random", hex::encode_upper(r.random));
                    Answer::Fields(f)
                })
                .unwrap_or_else(undecodable),
        ),
        Command::InitializeForLoad { .. } => Some(
            InitializeForLoadResponse::parse(data)
                .map(|r| {
                    let mut f = Fields::default();
                    money(&mut f, "balance", r.balance);
                    f.add("online_counter", r.online_seq);
                    f.add("key_version", format!("{:02X}", r.key_version));
                    f.add("alg_id", format!("{:02X}", r.alg_id));
                    f.add("random", hex::encode_upper(r.random));
                    f.add("mac1", r.mac1);
                    Answer::Fields(f)
                })
                .unwrap_or_else(undecodable),
        ),
        Command::DebitForPurchase { .. } => Some(
            DebitForPurchaseResponse::parse(data)
                .map(|r| {
                    Answer::Fields(Fields(vec![
                        ("tac", r.tac.to_string()),
                        ("mac2", r.mac2.to_string()),
                    ]))
                })
                .unwrap_or_else(undecodable),
        ),
        Command::CreditForLoad { .. } => Some(
            CreditForLoadResponse::parse(data)
                .map(|r| Answer::Fields(Fields(vec![("tac", r.tac.to_string())])))
                .unwrap_or_else(undecodable),
        ),
        Command::GetTransactionProve { .. } => Some(
            TransactionProveResponse::parse(data)
                .map(|r| {
                    Answer::Fields(Fields(vec![
                        ("mac", r.mac.to_string()),
                        ("tac", r.tac.to_string()),
                    ]))
                })
                .unwrap_or_else(undecodable),
        ),
        Command::GetChallenge { .. } => Some(Answer::Fields(Fields(vec![(
            "random",
            hex::encode_upper(data),
        )]))),
        Command::GetAuthCode => Some(Answer::Fields(Fields(vec![(
            "auth_code",
            hex::encode_upper(data),
        )]))),
        Command::UpdateCappDataCache { .. } => None,
    }
}

/// Annotates every exchange of an APDU log. A command without a logged response is kept with
/// no response; a response without a command is skipped.
pub fn annotate(log: &str) -> Vec<Exchange> {
    let mut state = State::default();
    let mut out: Vec<Exchange> = Vec::new();
    let mut pending: Option<(Exchange, Option<Command>)> = None;
    for (i, line) in log.lines().enumerate() {
        match classify(line) {
            Some(LineKind::Command(bytes)) => {
                if let Some((ex, _)) = pending.take() {
                    out.push(ex);
                }
                let awaited = state.awaiting.take();
                let parsed = CommandApdu::parse(&bytes).and_then(|a| Command::parse(&a));
                let (name, fields, parse_error, command) = match parsed {
                    Ok(c) => (c.name(), fields_of(&c), None, Some(c)),
                    Err(_) if is_get_response(&bytes) => {
                        let mut f = Fields::default();
                        f.add("le", bytes[4]);
                        if let Some(c) = &awaited {
                            f.add("response_of", c.name());
                        }
                        ("GET RESPONSE", f, None, awaited)
                    }
                    Err(e) => (
                        "(not a command)",
                        Fields::default(),
                        Some(e.to_string()),
                        None,
                    ),
                };
                pending = Some((
                    Exchange {
                        line: i + 1,
                        command: hex::encode_upper(&bytes),
                        name,
                        fields,
                        parse_error,
                        response: None,
                        status_word: None,
                        meaning: None,
                        decoded: None,
                    },
                    command,
                ));
            }
            Some(LineKind::Response(bytes)) => {
                let Some((mut ex, command)) = pending.take() else {
                    continue;
                };
                if let [data @ .., sw1, sw2] = bytes.as_slice() {
                    let sw = StatusWord::from_bytes(*sw1, *sw2);
                    ex.response = Some(hex::encode_upper(data));
                    ex.status_word = Some(format!("{:04X}", sw.0));
                    ex.meaning = sw.meaning();
                    if *sw1 == 0x61 {
                        state.awaiting = command.clone();
                        if ex.meaning.is_none() {
                            ex.meaning = Some("more response data: GET RESPONSE fetches it");
                        }
                    }
                    if sw.is_ok()
                        && let Some(c) = &command
                    {
                        ex.decoded = answer(c, data, &mut state);
                    }
                } else {
                    ex.response = Some(hex::encode_upper(&bytes));
                }
                out.push(ex);
            }
            Some(LineKind::Reset) => {
                state.current_file = None;
            }
            None => {}
        }
    }
    if let Some((ex, _)) = pending {
        out.push(ex);
    }
    out
}
