//! Typed commands of the file system and the ED/EP purse.

use super::raw::CommandApdu;
use crate::error::{Error, Result};
use crate::identity::{Mac4, TerminalId};
use crate::tx_type::{Purse, TxType};

const CLA_ISO: u8 = 0x00;
const CLA_PURSE: u8 = 0x80;

/// Which file READ BINARY / READ RECORD address: the current EF, or one by short file id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadTarget {
    /// The currently selected EF.
    Current,
    /// An EF by its short file identifier (1–30), e.g. 0x15 for 0015.
    Sfi(u8),
}

/// The register GET BALANCE reads, by P1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BalanceRegister {
    /// P1 = 00: the purse balance [S].
    Balance,
    /// P1 = 01: a second register that real T-Union cards answer and public readers query,
    /// subtracting it from the P1 = 00 value to show the balance (a "negative purse") [S: reader
    /// code, issue 17]. What it holds on a card is **[I]**; hutong's simulated cards answer the
    /// overdraft in use, which is 0 because they never let the purse go below zero.
    Second,
}

impl BalanceRegister {
    /// The P1 byte.
    pub fn p1(self) -> u8 {
        match self {
            BalanceRegister::Balance => 0x00,
            BalanceRegister::Second => 0x01,
        }
    }

    /// The register a P1 byte names (00 or 01).
    pub fn from_p1(p1: u8) -> Option<BalanceRegister> {
        match p1 {
            0x00 => Some(BalanceRegister::Balance),
            0x01 => Some(BalanceRegister::Second),
            _ => None,
        }
    }
}

/// A command the simulated card answers and the terminal sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `00 A4 04 00 Lc AID` — select an application by its DF name.
    SelectByName {
        /// The AID or DF name.
        name: Vec<u8>,
    },
    /// `00 A4 00 00 02 FID` — select a DF or EF by file identifier.
    SelectByFileId {
        /// File identifier, e.g. 0x3F00, 0x1001, 0x0015.
        file_id: u16,
    },
    /// `00 B0 P1 P2 Le` — read a transparent EF.
    ReadBinary {
        /// Which EF.
        target: ReadTarget,
        /// Offset into the file.
        offset: u16,
        /// Bytes to read (256 = as many as there are).
        le: u16,
    },
    /// `00 B2 nn P2 Le` — read one record of a record EF.
    ReadRecord {
        /// Record number (1 = most recent for cyclic files).
        record: u8,
        /// Which EF.
        target: ReadTarget,
        /// Bytes to read.
        le: u16,
    },
    /// `80 5C P1 P2 04` — GET BALANCE of the ED or EP; P1 picks the register.
    GetBalance {
        /// Which purse.
        purse: Purse,
        /// Which register (P1 00 or 01).
        register: BalanceRegister,
    },
    /// `80 50 01|03 P2 0B keyIdx amount(4) terminal(6)` — INITIALIZE FOR PURCHASE; P1 = 03 for
    /// a composite (CAPP) purchase.
    InitializeForPurchase {
        /// Composite (复合消费) when true.
        composite: bool,
        /// Which purse.
        purse: Purse,
        /// Key index of the DPK to use.
        key_index: u8,
        /// Amount in fen.
        amount: u32,
        /// The terminal's PSAM number.
        terminal: TerminalId,
    },
    /// `80 54 01 00 0F termSeq(4) date(4) time(3) MAC1(4)` — DEBIT FOR PURCHASE.
    DebitForPurchase {
        /// The PSAM's transaction counter.
        terminal_seq: u32,
        /// BCD `YYYYMMDDhhmmss`.
        date_time: [u8; 7],
        /// MAC1 from the PSAM.
        mac1: Mac4,
    },
    /// `80 50 00 P2 0B keyIdx amount(4) terminal(6)` — INITIALIZE FOR LOAD.
    InitializeForLoad {
        /// Which purse.
        purse: Purse,
        /// Key index of the DLK to use.
        key_index: u8,
        /// Amount in fen.
        amount: u32,
        /// The loading terminal.
        terminal: TerminalId,
    },
    /// `80 52 00 00 0B date(4) time(3) MAC2(4)` — CREDIT FOR LOAD.
    CreditForLoad {
        /// Host date and time, BCD.
        date_time: [u8; 7],
        /// MAC2 from the host.
        mac2: Mac4,
    },
    /// `80 DC P1 P2 Lc data` — UPDATE CAPP DATA CACHE: P1 the record id, P2 = SFI << 3.
    UpdateCappDataCache {
        /// Record identifier (P1); 00 for cyclic files.
        record_id: u8,
        /// The record EF's short file id (0x17, 0x1A, 0x1E).
        sfi: u8,
        /// The record.
        data: Vec<u8>,
    },
    /// `80 5A 00 P2 02 seq(2) [08]` — GET TRANSACTION PROVE for the transaction of type P2
    /// whose counter after the transaction is `seq`.
    GetTransactionProve {
        /// Transaction type byte.
        tx_type: TxType,
        /// The card counter after the transaction (INITIALIZE's value + 1).
        seq: u16,
    },
    /// `00 84 00 00 Le` — GET CHALLENGE.
    GetChallenge {
        /// Length of the random (4 or 8).
        len: u8,
    },
    /// `80 CA 00 00 09` — read the MOHURD security authentication code (安全认证码).
    GetAuthCode,
}

fn wrong_p1p2(command: &'static str, apdu: &CommandApdu) -> Error {
    Error::WrongP1P2 {
        command,
        p1: apdu.p1,
        p2: apdu.p2,
    }
}

fn data_len(apdu: &CommandApdu, expected: usize, field: &'static str) -> Result<()> {
    Error::check_len(field, expected, apdu.data.len())
}

fn target_from_sfi_bits(bits: u8) -> ReadTarget {
    if bits == 0 {
        ReadTarget::Current
    } else {
        ReadTarget::Sfi(bits)
    }
}

fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(bytes);
    out
}

impl Command {
    /// The command's name, for traces and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Command::SelectByName { .. } => "SELECT (by name)",
            Command::SelectByFileId { .. } => "SELECT (by file id)",
            Command::ReadBinary { .. } => "READ BINARY",
            Command::ReadRecord { .. } => "READ RECORD",
            Command::GetBalance { .. } => "GET BALANCE",
            Command::InitializeForPurchase {
                composite: false, ..
            } => "INITIALIZE FOR PURCHASE",
            Command::InitializeForPurchase {
                composite: true, ..
            } => "INITIALIZE FOR CAPP PURCHASE",
            Command::DebitForPurchase { .. } => "DEBIT FOR PURCHASE",
            Command::InitializeForLoad { .. } => "INITIALIZE FOR LOAD",
            Command::CreditForLoad { .. } => "CREDIT FOR LOAD",
            Command::UpdateCappDataCache { .. } => "UPDATE CAPP DATA CACHE",
            Command::GetTransactionProve { .. } => "GET TRANSACTION PROVE",
            Command::GetChallenge { .. } => "GET CHALLENGE",
            Command::GetAuthCode => "GET AUTHENTICATION CODE",
        }
    }

    /// Encodes the command as an APDU (with the Le terminals conventionally send).
    pub fn to_apdu(&self) -> CommandApdu {
        match self {
            Command::SelectByName { name } => {
                CommandApdu::new(CLA_ISO, 0xA4, 0x04, 0x00, name.clone()).with_le(256)
            }
            Command::SelectByFileId { file_id } => {
                CommandApdu::new(CLA_ISO, 0xA4, 0x00, 0x00, file_id.to_be_bytes().to_vec())
            }
            Command::ReadBinary { target, offset, le } => {
                let (p1, p2) = match target {
                    ReadTarget::Sfi(sfi) => (0x80 | (sfi & 0x1F), *offset as u8),
                    ReadTarget::Current => ((offset >> 8) as u8 & 0x7F, *offset as u8),
                };
                CommandApdu::new(CLA_ISO, 0xB0, p1, p2, vec![]).with_le(*le)
            }
            Command::ReadRecord { record, target, le } => {
                let sfi = match target {
                    ReadTarget::Sfi(sfi) => *sfi,
                    ReadTarget::Current => 0,
                };
                CommandApdu::new(CLA_ISO, 0xB2, *record, (sfi << 3) | 0x04, vec![]).with_le(*le)
            }
            Command::GetBalance { purse, register } => {
                CommandApdu::new(CLA_PURSE, 0x5C, register.p1(), purse.p2(), vec![]).with_le(4)
            }
            Command::InitializeForPurchase {
                composite,
                purse,
                key_index,
                amount,
                terminal,
            } => {
                let mut data = vec![*key_index];
                data.extend_from_slice(&amount.to_be_bytes());
                data.extend_from_slice(&terminal.0);
                let p1 = if *composite { 0x03 } else { 0x01 };
                CommandApdu::new(CLA_PURSE, 0x50, p1, purse.p2(), data).with_le(0x0F)
            }
            Command::DebitForPurchase {
                terminal_seq,
                date_time,
                mac1,
            } => {
                let mut data = terminal_seq.to_be_bytes().to_vec();
                data.extend_from_slice(date_time);
                data.extend_from_slice(&mac1.0);
                CommandApdu::new(CLA_PURSE, 0x54, 0x01, 0x00, data).with_le(8)
            }
            Command::InitializeForLoad {
                purse,
                key_index,
                amount,
                terminal,
            } => {
                let mut data = vec![*key_index];
                data.extend_from_slice(&amount.to_be_bytes());
                data.extend_from_slice(&terminal.0);
                CommandApdu::new(CLA_PURSE, 0x50, 0x00, purse.p2(), data).with_le(0x10)
            }
            Command::CreditForLoad { date_time, mac2 } => {
                let mut data = date_time.to_vec();
                data.extend_from_slice(&mac2.0);
                CommandApdu::new(CLA_PURSE, 0x52, 0x00, 0x00, data).with_le(4)
            }
            Command::UpdateCappDataCache {
                record_id,
                sfi,
                data,
            } => CommandApdu::new(CLA_PURSE, 0xDC, *record_id, sfi << 3, data.clone()),
            Command::GetTransactionProve { tx_type, seq } => {
                CommandApdu::new(CLA_PURSE, 0x5A, 0x00, tx_type.0, seq.to_be_bytes().to_vec())
                    .with_le(8)
            }
            Command::GetChallenge { len } => {
                CommandApdu::new(CLA_ISO, 0x84, 0x00, 0x00, vec![]).with_le(u16::from(*len))
            }
            Command::GetAuthCode => {
                CommandApdu::new(CLA_PURSE, 0xCA, 0x00, 0x00, vec![]).with_le(9)
            }
        }
    }

    /// Parses an APDU into a typed command, the way a card does. Errors map to status words:
    /// unknown INS → 6D00, a known INS with the wrong class → 6E00, bad P1/P2 → 6A86, bad
    /// Lc → 6700.
    pub fn parse(apdu: &CommandApdu) -> Result<Command> {
        let expect_cla = |cla: u8| {
            if apdu.cla == cla {
                Ok(())
            } else {
                Err(Error::UnsupportedClass(apdu.cla))
            }
        };
        match apdu.ins {
            0xA4 => {
                expect_cla(CLA_ISO)?;
                match (apdu.p1, apdu.p2) {
                    (0x04, 0x00) => {
                        if apdu.data.is_empty() || apdu.data.len() > 16 {
                            return Err(Error::WrongLength {
                                field: "SELECT name",
                                expected: 16,
                                actual: apdu.data.len(),
                            });
                        }
                        Ok(Command::SelectByName {
                            name: apdu.data.clone(),
                        })
                    }
                    (0x00, 0x00) | (0x02, 0x00) => {
                        data_len(apdu, 2, "SELECT file id")?;
                        Ok(Command::SelectByFileId {
                            file_id: u16::from_be_bytes([apdu.data[0], apdu.data[1]]),
                        })
                    }
                    _ => Err(wrong_p1p2("SELECT", apdu)),
                }
            }
            0xB0 => {
                expect_cla(CLA_ISO)?;
                data_len(apdu, 0, "READ BINARY data")?;
                let le = apdu.le.unwrap_or(256);
                let (target, offset) = if apdu.p1 & 0x80 != 0 {
                    let sfi = apdu.p1 & 0x1F;
                    if sfi == 0 || apdu.p1 & 0x60 != 0 {
                        return Err(wrong_p1p2("READ BINARY", apdu));
                    }
                    (ReadTarget::Sfi(sfi), u16::from(apdu.p2))
                } else {
                    (ReadTarget::Current, u16::from_be_bytes([apdu.p1, apdu.p2]))
                };
                Ok(Command::ReadBinary { target, offset, le })
            }
            0xB2 => {
                expect_cla(CLA_ISO)?;
                data_len(apdu, 0, "READ RECORD data")?;
                if apdu.p2 & 0x07 != 0x04 || apdu.p1 == 0 {
                    return Err(wrong_p1p2("READ RECORD", apdu));
                }
                Ok(Command::ReadRecord {
                    record: apdu.p1,
                    target: target_from_sfi_bits(apdu.p2 >> 3),
                    le: apdu.le.unwrap_or(256),
                })
            }
            0x5C => {
                expect_cla(CLA_PURSE)?;
                let purse =
                    Purse::from_p2(apdu.p2).ok_or_else(|| wrong_p1p2("GET BALANCE", apdu))?;
                let register = BalanceRegister::from_p1(apdu.p1)
                    .ok_or_else(|| wrong_p1p2("GET BALANCE", apdu))?;
                data_len(apdu, 0, "GET BALANCE data")?;
                if apdu.le != Some(4) {
                    return Err(Error::WrongLength {
                        field: "GET BALANCE Le",
                        expected: 4,
                        actual: apdu.le.map_or(0, usize::from),
                    });
                }
                Ok(Command::GetBalance { purse, register })
            }
            0x50 => {
                expect_cla(CLA_PURSE)?;
                let purse =
                    Purse::from_p2(apdu.p2).ok_or_else(|| wrong_p1p2("INITIALIZE", apdu))?;
                let name = "INITIALIZE data";
                data_len(apdu, 11, name)?;
                let key_index = apdu.data[0];
                let amount = u32::from_be_bytes(array(&apdu.data[1..5]));
                let terminal = TerminalId(array(&apdu.data[5..11]));
                match apdu.p1 {
                    0x00 => Ok(Command::InitializeForLoad {
                        purse,
                        key_index,
                        amount,
                        terminal,
                    }),
                    0x01 | 0x03 => Ok(Command::InitializeForPurchase {
                        composite: apdu.p1 == 0x03,
                        purse,
                        key_index,
                        amount,
                        terminal,
                    }),
                    _ => Err(wrong_p1p2("INITIALIZE", apdu)),
                }
            }
            0x54 => {
                expect_cla(CLA_PURSE)?;
                if (apdu.p1, apdu.p2) != (0x01, 0x00) {
                    return Err(wrong_p1p2("DEBIT FOR PURCHASE", apdu));
                }
                data_len(apdu, 15, "DEBIT FOR PURCHASE data")?;
                Ok(Command::DebitForPurchase {
                    terminal_seq: u32::from_be_bytes(array(&apdu.data[0..4])),
                    date_time: array(&apdu.data[4..11]),
                    mac1: Mac4(array(&apdu.data[11..15])),
                })
            }
            0x52 => {
                expect_cla(CLA_PURSE)?;
                if (apdu.p1, apdu.p2) != (0x00, 0x00) {
                    return Err(wrong_p1p2("CREDIT FOR LOAD", apdu));
                }
                data_len(apdu, 11, "CREDIT FOR LOAD data")?;
                Ok(Command::CreditForLoad {
                    date_time: array(&apdu.data[0..7]),
                    mac2: Mac4(array(&apdu.data[7..11])),
                })
            }
            0xDC => {
                expect_cla(CLA_PURSE)?;
                if apdu.p2 & 0x07 != 0 || apdu.p2 >> 3 == 0 {
                    return Err(wrong_p1p2("UPDATE CAPP DATA CACHE", apdu));
                }
                if apdu.data.is_empty() {
                    return Err(Error::WrongLength {
                        field: "UPDATE CAPP DATA CACHE data",
                        expected: 1,
                        actual: 0,
                    });
                }
                Ok(Command::UpdateCappDataCache {
                    record_id: apdu.p1,
                    sfi: apdu.p2 >> 3,
                    data: apdu.data.clone(),
                })
            }
            0x5A => {
                expect_cla(CLA_PURSE)?;
                if apdu.p1 != 0x00 {
                    return Err(wrong_p1p2("GET TRANSACTION PROVE", apdu));
                }
                data_len(apdu, 2, "GET TRANSACTION PROVE data")?;
                Ok(Command::GetTransactionProve {
                    tx_type: TxType(apdu.p2),
                    seq: u16::from_be_bytes([apdu.data[0], apdu.data[1]]),
                })
            }
            0x84 => {
                expect_cla(CLA_ISO)?;
                if (apdu.p1, apdu.p2) != (0x00, 0x00) {
                    return Err(wrong_p1p2("GET CHALLENGE", apdu));
                }
                match apdu.le {
                    Some(len @ (4 | 8)) if apdu.data.is_empty() => {
                        Ok(Command::GetChallenge { len: len as u8 })
                    }
                    other => Err(Error::WrongLength {
                        field: "GET CHALLENGE Le",
                        expected: 4,
                        actual: other.map_or(0, usize::from),
                    }),
                }
            }
            0xCA => {
                expect_cla(CLA_PURSE)?;
                if (apdu.p1, apdu.p2) != (0x00, 0x00) {
                    return Err(wrong_p1p2("GET AUTHENTICATION CODE", apdu));
                }
                Ok(Command::GetAuthCode)
            }
            other => Err(Error::UnsupportedInstruction(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::StatusWord;

    fn parse_hex(s: &str) -> Result<Command> {
        Command::parse(&CommandApdu::parse(&hex::decode(s).unwrap()).unwrap())
    }

    #[test]
    fn parses_the_commands_seen_in_real_card_logs() {
        assert_eq!(
            parse_hex(
                "805000020B010000 1C37000001000050"
                    .replace(' ', "")
                    .as_str()
            )
            .unwrap(),
            Command::InitializeForLoad {
                purse: Purse::Ep,
                key_index: 1,
                amount: 0x1C37,
                terminal: "000001000050".parse().unwrap(),
            }
        );
        assert!(matches!(
            parse_hex("805003020B0100001C37000000000001").unwrap(),
            Command::InitializeForPurchase {
                composite: true,
                amount: 0x1C37,
                ..
            }
        ));
        assert_eq!(
            parse_hex("00B0950000").unwrap(),
            Command::ReadBinary {
                target: ReadTarget::Sfi(0x15),
                offset: 0,
                le: 256
            }
        );
        assert_eq!(
            parse_hex("00B201C417").unwrap(),
            Command::ReadRecord {
                record: 1,
                target: ReadTarget::Sfi(0x18),
                le: 0x17
            }
        );
        assert!(matches!(
            parse_hex(&format!("80DC02B830{}", "00".repeat(0x30))).unwrap(),
            Command::UpdateCappDataCache {
                record_id: 2,
                sfi: 0x17,
                ..
            }
        ));
        assert_eq!(
            parse_hex("805A0006020001 08".replace(' ', "").as_str()).unwrap(),
            Command::GetTransactionProve {
                tx_type: TxType::EP_PURCHASE,
                seq: 1
            }
        );
    }

    #[test]
    fn every_command_round_trips_through_its_apdu() {
        let t: TerminalId = "000000000001".parse().unwrap();
        let commands = vec![
            Command::SelectByName {
                name: crate::schemes::mohurd::AID.to_vec(),
            },
            Command::SelectByFileId { file_id: 0x1001 },
            Command::ReadBinary {
                target: ReadTarget::Sfi(0x15),
                offset: 0,
                le: 30,
            },
            Command::ReadBinary {
                target: ReadTarget::Current,
                offset: 0x0102,
                le: 4,
            },
            Command::ReadRecord {
                record: 3,
                target: ReadTarget::Sfi(0x18),
                le: 23,
            },
            Command::GetBalance {
                purse: Purse::Ep,
                register: BalanceRegister::Balance,
            },
            Command::GetBalance {
                purse: Purse::Ed,
                register: BalanceRegister::Second,
            },
            Command::InitializeForPurchase {
                composite: false,
                purse: Purse::Ep,
                key_index: 1,
                amount: 200,
                terminal: t,
            },
            Command::DebitForPurchase {
                terminal_seq: 7,
                date_time: [0x20, 0x26, 0x11, 0x21, 0x08, 0x15, 0x02],
                mac1: Mac4([1, 2, 3, 4]),
            },
            Command::InitializeForLoad {
                purse: Purse::Ed,
                key_index: 2,
                amount: 5000,
                terminal: t,
            },
            Command::CreditForLoad {
                date_time: [0x20, 0x26, 0x11, 0x21, 0x08, 0x15, 0x02],
                mac2: Mac4([9, 9, 9, 9]),
            },
            Command::UpdateCappDataCache {
                record_id: 0,
                sfi: 0x1E,
                data: vec![0; 48],
            },
            Command::GetTransactionProve {
                tx_type: TxType::COMPOSITE_PURCHASE,
                seq: 0x0102,
            },
            Command::GetChallenge { len: 8 },
            Command::GetAuthCode,
        ];
        for c in commands {
            let bytes = c.to_apdu().to_bytes();
            let back = Command::parse(&CommandApdu::parse(&bytes).unwrap()).unwrap();
            assert_eq!(back, c, "{}", hex::encode_upper(bytes));
        }
    }

    #[test]
    fn errors_map_to_the_status_words_of_the_standard() {
        let sw = |s: &str| parse_hex(s).unwrap_err().status_word();
        assert_eq!(sw("80EE000000"), StatusWord::INSTRUCTION_NOT_SUPPORTED);
        assert_eq!(sw("005C000204"), StatusWord::CLASS_NOT_SUPPORTED);
        assert_eq!(sw("805C000304"), StatusWord::WRONG_P1P2);
        assert_eq!(sw("805C030204"), StatusWord::WRONG_P1P2);
        assert_eq!(sw("805C000208"), StatusWord::WRONG_LENGTH);
        assert_eq!(
            sw("805002020B0100001C37000000000001"),
            StatusWord::WRONG_P1P2
        );
        assert_eq!(
            sw("805001020A0100001C370000000000"),
            StatusWord::WRONG_LENGTH
        );
        assert_eq!(sw("0084000005"), StatusWord::WRONG_LENGTH);
    }
}
