//! 0017 of a MOHURD card: the composite-purchase (CAPP) record file, 48-byte records.

use super::{CardFile, FieldReader, FieldWriter};
use crate::error::{Error, Result};

/// One composite record: record id(1) ‖ length(1, = 0x2E) ‖ lock flag(1) ‖ data(45)
/// [S: real Changsha log `80 DC 02 B8 30 02 2E 00 …`; SmartCard ticket.cpp].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CappRecord {
    /// Record identifier (the P1 of UPDATE CAPP DATA CACHE).
    pub record_id: u8,
    /// Lock flag: 00 unlocked; a non-zero value locks the record (a trip in progress).
    pub lock_flag: u8,
    /// The operator's data.
    pub data: [u8; 45],
}

/// The length byte of a MOHURD composite record: lock flag plus data.
const CAPP_LEN_BYTE: u8 = 0x2E;

impl CardFile for CappRecord {
    const NAME: &'static str = "0017 composite record";
    const LEN: usize = 48;

    fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = FieldReader::new(Self::NAME, Self::LEN, bytes)?;
        let record_id = r.u8();
        let len = r.u8();
        if len != CAPP_LEN_BYTE {
            return Err(Error::InvalidField {
                field: "0017 composite record length byte",
                value: format!("{len:02X}"),
                reason: "expected 2E",
            });
        }
        Ok(CappRecord {
            record_id,
            lock_flag: r.u8(),
            data: r.take(),
        })
    }

    fn encode(&self) -> Vec<u8> {
        let mut w = FieldWriter::default();
        w.put(&[self.record_id, CAPP_LEN_BYTE, self.lock_flag])
            .put(&self.data);
        w.finish(Self::LEN)
    }
}
