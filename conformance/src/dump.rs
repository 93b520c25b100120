//! Reading a card's application as a reader app does: find the application, read its files,
//! records and balance as raw bytes. `card_standards::decode` turns the dump into fields
//! (`hutong card read`).

use card_standards::apdu::{Command, ReadTarget};
use card_standards::{Purse, Scheme, StatusWord};

use crate::error::{Error, Result};
use crate::reader::CardReader;

/// The most records read from one record file (cyclic files hold 10 on the cards seen).
const MAX_RECORDS: u8 = 50;

/// One elementary file as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileDump {
    /// A transparent file's bytes (READ BINARY).
    Binary(Vec<u8>),
    /// A record file's records, record 1 first (READ RECORD until 6A83).
    Records(Vec<Vec<u8>>),
    /// The card refused to read the file: the status word.
    Refused(StatusWord),
}

/// What [`read_card`] read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardDump {
    /// The scheme whose AID the card answered.
    pub scheme: Scheme,
    /// The FCI that SELECT answered.
    pub fci: Vec<u8>,
    /// Each of the scheme's files by its short file id, in the profile's order.
    pub files: Vec<(u16, FileDump)>,
    /// The GET BALANCE response data (4 bytes), or the status word it was refused with.
    pub balance: std::result::Result<Vec<u8>, StatusWord>,
}

fn exchange(reader: &mut dyn CardReader, command: &Command) -> Result<(Vec<u8>, StatusWord)> {
    let mut response = Vec::new();
    reader.transmit(&command.to_apdu().to_bytes(), &mut response)?;
    match response.as_slice() {
        [data @ .., sw1, sw2] => Ok((data.to_vec(), StatusWord::from_bytes(*sw1, *sw2))),
        _ => Err(Error::Reader(format!(
            "{}: the card answered no status word",
            command.name()
        ))),
    }
}

/// Which of `scheme`'s files are record files, in the scheme's layouts (STANDARDS.md §3–§4).
fn is_record_file(scheme: Scheme, id: u16) -> bool {
    match id {
        0x0018 | 0x001A | 0x001E => true,
        0x0017 => scheme != Scheme::Mot,
        _ => false,
    }
}

/// Finds the card's application by selecting each scheme's AID (`schemes` in order, or all),
/// then reads the scheme's files, every record of its record files and the EP balance. Reads
/// change nothing on the card.
pub fn read_card(reader: &mut dyn CardReader, schemes: &[Scheme]) -> Result<CardDump> {
    let candidates = if schemes.is_empty() {
        &Scheme::ALL[..]
    } else {
        schemes
    };
    let mut found = None;
    for &scheme in candidates {
        let select = Command::SelectByName {
            name: scheme.profile().aid.to_vec(),
        };
        let (fci, sw) = exchange(reader, &select)?;
        if sw.is_ok() {
            found = Some((scheme, fci));
            break;
        }
    }
    let Some((scheme, fci)) = found else {
        return Err(Error::Reader(format!(
            "the card answers none of the AIDs of {}",
            candidates
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let mut files = Vec::new();
    for &id in scheme.profile().files {
        let sfi = (id & 0x1F) as u8;
        let dump = if is_record_file(scheme, id) {
            let mut records = Vec::new();
            let mut refused = None;
            for n in 1..=MAX_RECORDS {
                let read = Command::ReadRecord {
                    record: n,
                    target: ReadTarget::Sfi(sfi),
                    le: 256,
                };
                match exchange(reader, &read)? {
                    (data, sw) if sw.is_ok() => records.push(data),
                    (_, StatusWord::RECORD_NOT_FOUND) => break,
                    (_, sw) => {
                        refused = Some(sw);
                        break;
                    }
                }
            }
            match (refused, records.is_empty()) {
                (Some(sw), true) => FileDump::Refused(sw),
                _ => FileDump::Records(records),
            }
        } else {
            let read = Command::ReadBinary {
                target: ReadTarget::Sfi(sfi),
                offset: 0,
                le: 256,
            };
            match exchange(reader, &read)? {
                (data, sw) if sw.is_ok() => FileDump::Binary(data),
                (_, sw) => FileDump::Refused(sw),
            }
        };
        files.push((id, dump));
    }
    let balance = match exchange(
        reader,
        &Command::GetBalance {
            purse: Purse::Ep,
            register: card_standards::apdu::BalanceRegister::Balance,
        },
    )? {
        (data, sw) if sw.is_ok() => Ok(data),
        (_, sw) => Err(sw),
    };
    Ok(CardDump {
        scheme,
        fci,
        files,
        balance,
    })
}
