//! 0016, the cardholder file (持卡人基本数据文件), 55 bytes.

use super::{CardFile, FieldReader, FieldWriter};
use crate::error::Result;

/// 0016 in the JT/T 978 layout [S: stJTB16]; hutong uses the same layout for MOHURD, local and
/// PBOC cards [I]. Name and ID number are kept as the card's raw bytes (GBK or ASCII, padded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cardholder {
    /// 0 card type (the scheme's raw card-type code; see the card-type code table).
    pub card_type: u8,
    /// 1 staff flag (本行职工标识).
    pub staff_flag: u8,
    /// 2–21 cardholder name.
    pub name: [u8; 20],
    /// 22–53 ID number.
    pub id_number: [u8; 32],
    /// 54 ID type.
    pub id_type: u8,
}

impl Cardholder {
    /// An anonymous card of the given type: name and ID blank (zeros).
    pub fn anonymous(card_type: u8) -> Cardholder {
        Cardholder {
            card_type,
            staff_flag: 0,
            name: [0; 20],
            id_number: [0; 32],
            id_type: 0,
        }
    }
}

impl CardFile for Cardholder {
    const NAME: &'static str = "0016";
    const LEN: usize = 55;

    fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = FieldReader::new(Self::NAME, Self::LEN, bytes)?;
        Ok(Cardholder {
            card_type: r.u8(),
            staff_flag: r.u8(),
            name: r.take(),
            id_number: r.take(),
            id_type: r.u8(),
        })
    }

    fn encode(&self) -> Vec<u8> {
        let mut w = FieldWriter::default();
        w.put(&[self.card_type, self.staff_flag])
            .put(&self.name)
            .put(&self.id_number)
            .put(&[self.id_type]);
        w.finish(Self::LEN)
    }
}
