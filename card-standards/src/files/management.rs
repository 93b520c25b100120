//! 0017 of a T-Union card, the management information file (管理信息文件), 60 bytes.

use super::{CardFile, FieldReader, FieldWriter};
use crate::error::Result;

/// 0017 in the JT/T 978 layout [S: stJTB17; quange-style/SmartCard TicketJtb.cpp].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MotManagementInfo {
    /// 0–3 international code.
    pub country_code: [u8; 4],
    /// 4–5 province code.
    pub province_code: [u8; 2],
    /// 6–7 city code.
    pub city_code: [u8; 2],
    /// 8–9 interoperability flag (00 00 non-interoperable, 00 01 interoperable).
    pub interop: u16,
    /// 10 card kind (卡种类型).
    pub card_kind: u8,
    /// 11–59 RFU.
    pub rfu: [u8; 49],
}

impl MotManagementInfo {
    /// True when the card is an interoperable (互通) card.
    pub fn is_interoperable(&self) -> bool {
        self.interop == 0x0001
    }
}

impl CardFile for MotManagementInfo {
    const NAME: &'static str = "0017 (T-Union management)";
    const LEN: usize = 60;

    fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = FieldReader::new(Self::NAME, Self::LEN, bytes)?;
        Ok(MotManagementInfo {
            country_code: r.take(),
            province_code: r.take(),
            city_code: r.take(),
            interop: r.u16(),
            card_kind: r.u8(),
            rfu: r.take(),
        })
    }

    fn encode(&self) -> Vec<u8> {
        let mut w = FieldWriter::default();
        w.put(&self.country_code)
            .put(&self.province_code)
            .put(&self.city_code)
            .put(&self.interop.to_be_bytes())
            .put(&[self.card_kind])
            .put(&self.rfu);
        w.finish(Self::LEN)
    }
}
