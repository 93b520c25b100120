//! 001E of a T-Union card, the public-transport process record (公共交通过程信息): cyclic,
//! 48-byte records.

use chrono::NaiveDateTime;

use super::{CardFile, FieldReader, FieldWriter};
use crate::error::Result;
use crate::macros::named_code;

named_code! {
    /// The first byte of a 001E record [S: stJTB1E; Flipper T-Union decoder].
    ProcessType(u8, 2) {
        /// 00 initial value.
        INITIAL = 0x00 => "initial",
        /// 01 EC entry / boarding.
        EC_ENTRY = 0x01 => "EC entry",
        /// 02 EC exit / alighting.
        EC_EXIT = 0x02 => "EC exit",
        /// 03 EP entry / boarding.
        EP_ENTRY = 0x03 => "EP entry",
        /// 04 EP exit / alighting.
        EP_EXIT = 0x04 => "EP exit",
        /// 05 EC single-fare purchase.
        EC_SINGLE = 0x05 => "EC single fare",
        /// 06 EP single-fare purchase.
        EP_SINGLE = 0x06 => "EP single fare",
        /// 07 EC fare adjustment (补票).
        EC_ADJUST = 0x07 => "EC fare adjustment",
        /// 08 EP fare adjustment (补票).
        EP_ADJUST = 0x08 => "EP fare adjustment",
        /// 09 EC load.
        EC_LOAD = 0x09 => "EC load",
        /// 0A EP load.
        EP_LOAD = 0x0A => "EP load",
    }
}

/// One 001E record [S: stJTB1E, STANDARDS.md §4].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessRecord {
    /// 0 交易类型.
    pub process_type: ProcessType,
    /// 1–8 terminal number (BCD).
    pub terminal: [u8; 8],
    /// 9 行业代码 (T-Union industry code; see the industries table).
    pub industry_code: u8,
    /// 10–13 line (BCD).
    pub line: [u8; 4],
    /// 14–16 station / RFU.
    pub station: [u8; 3],
    /// 17–20 amount in fen.
    pub amount: u32,
    /// 21–24 balance after, in fen.
    pub balance: u32,
    /// 25–31 date and time.
    pub date_time: NaiveDateTime,
    /// 32–33 acquirer city code.
    pub acquirer_city: [u8; 2],
    /// 34–41 acquiring institution code.
    pub institution: [u8; 8],
    /// 42–45 maximum amount of an incomplete trip (fen).
    pub max_incomplete_amount: u32,
    /// 46–47 maximum trip time in minutes.
    pub max_minutes: u16,
}

impl CardFile for ProcessRecord {
    const NAME: &'static str = "001E record";
    const LEN: usize = 48;

    fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = FieldReader::new(Self::NAME, Self::LEN, bytes)?;
        Ok(ProcessRecord {
            process_type: ProcessType(r.u8()),
            terminal: r.take(),
            industry_code: r.u8(),
            line: r.take(),
            station: r.take(),
            amount: r.u32(),
            balance: r.u32(),
            date_time: r.datetime("001E date and time")?,
            acquirer_city: r.take(),
            institution: r.take(),
            max_incomplete_amount: r.u32(),
            max_minutes: r.u16(),
        })
    }

    fn encode(&self) -> Vec<u8> {
        let mut w = FieldWriter::default();
        w.put(&[self.process_type.0])
            .put(&self.terminal)
            .put(&[self.industry_code])
            .put(&self.line)
            .put(&self.station)
            .put(&self.amount.to_be_bytes())
            .put(&self.balance.to_be_bytes())
            .datetime(self.date_time)
            .put(&self.acquirer_city)
            .put(&self.institution)
            .put(&self.max_incomplete_amount.to_be_bytes())
            .put(&self.max_minutes.to_be_bytes());
        w.finish(Self::LEN)
    }
}
