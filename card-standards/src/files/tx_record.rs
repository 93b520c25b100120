//! 0018, the transaction detail file (交易明细文件): cyclic, 23-byte records.

use chrono::NaiveDateTime;

use super::{CardFile, FieldReader, FieldWriter};
use crate::error::Result;
use crate::identity::TerminalId;
use crate::tx_type::TxType;

/// One 0018 record: seq(2) ‖ overdraft(3) ‖ amount(4) ‖ type(1) ‖ terminal(6) ‖ date(4) ‖
/// time(3) [S: stJTB18; real log `t4_readTransRecord.txt`; metrodroid ChinaTrip.kt].
///
/// The card stores the counter **after** the transaction (a load with INITIALIZE seq 0000 is
/// recorded as 0001).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxRecord {
    /// The online or offline counter after the transaction.
    pub seq: u16,
    /// Overdraft limit (3 bytes).
    pub overdraft: u32,
    /// Amount in fen.
    pub amount: u32,
    /// Transaction type byte.
    pub tx_type: TxType,
    /// Terminal number.
    pub terminal: TerminalId,
    /// Terminal (purchase) or host (load) date and time.
    pub date_time: NaiveDateTime,
}

impl CardFile for TxRecord {
    const NAME: &'static str = "0018 record";
    const LEN: usize = 23;

    fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = FieldReader::new(Self::NAME, Self::LEN, bytes)?;
        Ok(TxRecord {
            seq: r.u16(),
            overdraft: r.u24(),
            amount: r.u32(),
            tx_type: TxType(r.u8()),
            terminal: TerminalId(r.take()),
            date_time: r.datetime("0018 date and time")?,
        })
    }

    fn encode(&self) -> Vec<u8> {
        let mut w = FieldWriter::default();
        w.put(&self.seq.to_be_bytes())
            .u24(self.overdraft)
            .put(&self.amount.to_be_bytes())
            .put(&[self.tx_type.0])
            .put(&self.terminal.0)
            .datetime(self.date_time);
        w.finish(Self::LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_load_record_like_the_real_card_stores() {
        let raw = hex::decode("000100000000001C3702000001000050201408251031 00".replace(' ', ""))
            .unwrap();
        let rec = TxRecord::decode(&raw).unwrap();
        assert_eq!(
            (rec.seq, rec.amount, rec.tx_type),
            (1, 0x1C37, TxType::EP_LOAD)
        );
        assert_eq!(rec.terminal.to_string(), "000001000050");
        assert_eq!(rec.encode(), raw);
    }
}
