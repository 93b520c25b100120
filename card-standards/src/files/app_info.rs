//! 0015, the public application file (公共应用基本数据文件): 30 bytes, or 32 on some MOHURD-AID
//! cards.

use chrono::NaiveDate;

use super::{CardFile, FieldReader, FieldWriter};
use crate::error::{Error, Result};
use crate::identity::{CardSerial, CityCode, IssuerCode, IssuerId};
use crate::macros::named_code;
use crate::schemes::AppInfoLayout;

named_code! {
    /// 0015 byte 8, 应用类型标识: an application-type byte, **not** an enabled flag.
    ///
    /// Real cards in daily use carry 00, 01, 02, 03 and 82 here [S: real Changsha card 01;
    /// nfcim/nfsee `tests/reader-mock.js` T-Union 02, city-union 01, Tsinghua campus card 03;
    /// issue 17's survey of public dumps 00, 02, 82]. Hutong up to issue 17 read it as 启用
    /// (01 = on) and its terminal refused the others; that was wrong. What each value means is
    /// **[I]**: PBOC 2.0's ED/EP files use 01 = ED only, 02 = EP only, 03 = ED and EP (as
    /// recalled, unconfirmed), which fits the T-Union EP (02) and the campus card that answers
    /// an ED balance (03) but not the Changsha EP card (01). Unknown values are kept and shown
    /// raw; nothing is decided from this byte.
    AppType(u8, 2) {
        /// 01: the real Changsha MOHURD card; PBOC convention "ED only" [I].
        TYPE_01 = 0x01 => "seen on MOHURD cards; PBOC convention ED only [I]",
        /// 02: T-Union cards (JT/T 978 FCIs); PBOC convention "EP only" [I].
        TYPE_02 = 0x02 => "seen on T-Union cards; PBOC convention EP only [I]",
        /// 03: a campus card that also answers GET BALANCE of the ED; PBOC convention "ED and EP" [I].
        TYPE_03 = 0x03 => "seen on an ED+EP campus card; PBOC convention ED and EP [I]",
    }
}

named_code! {
    /// T-Union 0015 byte 9, 启用标识: 00 not enabled, 01 enabled, 02 stopped [S: alon0808/
    /// ProjectAfcApp `SlzrTypeDef.h` stJTB15 and `CPUCARJTB.c` IF_15_OK; quange-style/SmartCard
    /// `TicketJtb.cpp`]. The one flag in 0015 that a standard defines for use.
    MotAppStatus(u8, 2) {
        /// 00 未启用.
        NOT_ENABLED = 0x00 => "not enabled (未启用)",
        /// 01 启用.
        ENABLED = 0x01 => "enabled (启用)",
        /// 02 停用.
        STOPPED = 0x02 => "stopped (停用)",
    }
}

/// 0015 in the MOHURD layout (CJ/T 166; also local and PBOC co-branded cards) [S: real
/// Changsha card, ConardLKL/ChangSha `tGetInfo.py`].
///
/// 30 bytes, or 32: some MOHURD-AID cards answer a 32-byte 0015 [S: nfcim/nfsee
/// `tests/reader-mock.js`, a Chongqing card's FCI `9F0C 20 …`]; the two bytes after the
/// standard 30 are kept raw, their meaning is **[I]** unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MohurdAppInfo {
    /// 0–1 发卡方代码.
    pub issuer_code: IssuerCode,
    /// 2–3 城市代码.
    pub city_code: CityCode,
    /// 4–5 行业代码.
    pub industry_code: [u8; 2],
    /// 6–7 RFU.
    pub rfu: [u8; 2],
    /// 8 应用类型标识 (an application type, see [`AppType`]; not an enabled flag).
    pub app_type: AppType,
    /// 9 应用版本.
    pub app_version: u8,
    /// 10–19 the 10-byte serial (10–11 RFU high part, 12–19 the 8-byte logical card number).
    pub serial: CardSerial,
    /// 20–23 启用日期.
    pub start_date: NaiveDate,
    /// 24–27 有效日期.
    pub expiry_date: NaiveDate,
    /// 28–29 RFU / issuer-defined.
    pub custom: [u8; 2],
    /// 30–31 of a 32-byte 0015, kept raw (meaning unknown **[I]**); `None` for 30 bytes.
    pub extra: Option<[u8; 2]>,
}

impl MohurdAppInfo {
    /// The lengths a MOHURD-layout 0015 may have.
    pub const LENGTHS: [usize; 2] = [30, 32];
}

impl CardFile for MohurdAppInfo {
    const NAME: &'static str = "0015 (MOHURD layout)";
    const LEN: usize = 30;

    fn decode(bytes: &[u8]) -> Result<Self> {
        let len = if Self::LENGTHS.contains(&bytes.len()) {
            bytes.len()
        } else {
            return Err(Error::WrongLength {
                field: "0015 (MOHURD layout, 30 or 32 bytes)",
                expected: Self::LEN,
                actual: bytes.len(),
            });
        };
        let mut r = FieldReader::new(Self::NAME, len, bytes)?;
        Ok(MohurdAppInfo {
            issuer_code: IssuerCode(r.take()),
            city_code: CityCode(r.take()),
            industry_code: r.take(),
            rfu: r.take(),
            app_type: AppType(r.u8()),
            app_version: r.u8(),
            serial: CardSerial(r.take()),
            start_date: r.date("0015 start date")?,
            expiry_date: r.date("0015 expiry date")?,
            custom: r.take(),
            extra: (len == 32).then(|| r.take()),
        })
    }

    fn encode(&self) -> Vec<u8> {
        let mut w = FieldWriter::default();
        w.put(&self.issuer_code.0)
            .put(&self.city_code.0)
            .put(&self.industry_code)
            .put(&self.rfu)
            .put(&[self.app_type.0, self.app_version])
            .put(&self.serial.0)
            .date(self.start_date)
            .date(self.expiry_date)
            .put(&self.custom);
        if let Some(extra) = &self.extra {
            w.put(extra);
            w.finish(32)
        } else {
            w.finish(Self::LEN)
        }
    }
}

/// 0015 in the T-Union layout (JT/T 978) [S: alon0808/ProjectAfcApp stJTB15; nfcard TUnion].
/// Always 30 bytes (every T-Union FCI seen carries `9F0C 1E`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MotAppInfo {
    /// 0–1 of 发卡机构标识: the issuer code.
    pub issuer_code: IssuerCode,
    /// 2–3 of 发卡机构标识: the T-Union city code (`cities.toml` `mot_code`).
    pub city_code: CityCode,
    /// 4–7 of 发卡机构标识 (FFFFFFFF on the cards seen).
    pub issuer_suffix: [u8; 4],
    /// 8 应用类型标识 (02 on the cards seen; see [`AppType`]).
    pub app_type: AppType,
    /// 9 启用标识 (see [`MotAppStatus`]).
    pub app_status: MotAppStatus,
    /// 10–19 应用序列号 (BCD; the card number is its last 19 digits).
    pub serial: CardSerial,
    /// 20–23 启用日期.
    pub start_date: NaiveDate,
    /// 24–27 有效日期.
    pub expiry_date: NaiveDate,
    /// 28–29 issuer-defined FCI data.
    pub custom: [u8; 2],
}

impl CardFile for MotAppInfo {
    const NAME: &'static str = "0015 (T-Union layout)";
    const LEN: usize = 30;

    fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = FieldReader::new(Self::NAME, Self::LEN, bytes)?;
        Ok(MotAppInfo {
            issuer_code: IssuerCode(r.take()),
            city_code: CityCode(r.take()),
            issuer_suffix: r.take(),
            app_type: AppType(r.u8()),
            app_status: MotAppStatus(r.u8()),
            serial: CardSerial(r.take()),
            start_date: r.date("0015 start date")?,
            expiry_date: r.date("0015 expiry date")?,
            custom: r.take(),
        })
    }

    fn encode(&self) -> Vec<u8> {
        let mut w = FieldWriter::default();
        w.put(&self.issuer_code.0)
            .put(&self.city_code.0)
            .put(&self.issuer_suffix)
            .put(&[self.app_type.0, self.app_status.0])
            .put(&self.serial.0)
            .date(self.start_date)
            .date(self.expiry_date)
            .put(&self.custom);
        w.finish(Self::LEN)
    }
}

/// Why a terminal would refuse a card on its 0015 alone (see [`AppInfo::validity`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalidity {
    /// T-Union 启用标识 00.
    NotEnabled,
    /// T-Union 启用标识 02.
    Stopped,
    /// T-Union 启用标识 of a value no source defines (kept raw).
    UnknownStatus(u8),
    /// The date is before 启用日期.
    NotYetValid,
    /// The date is after 有效日期.
    Expired,
}

impl Invalidity {
    /// The terminal's 0015 checks from their parts (see [`AppInfo::validity`]): the T-Union
    /// 启用标识 if there is one, then 启用日期 ≤ `today` ≤ 有效日期.
    pub fn check(
        status: Option<MotAppStatus>,
        start: NaiveDate,
        expiry: NaiveDate,
        today: NaiveDate,
    ) -> std::result::Result<(), Invalidity> {
        match status {
            None | Some(MotAppStatus::ENABLED) => {}
            Some(MotAppStatus::NOT_ENABLED) => return Err(Invalidity::NotEnabled),
            Some(MotAppStatus::STOPPED) => return Err(Invalidity::Stopped),
            Some(MotAppStatus(other)) => return Err(Invalidity::UnknownStatus(other)),
        }
        if today < start {
            return Err(Invalidity::NotYetValid);
        }
        if today > expiry {
            return Err(Invalidity::Expired);
        }
        Ok(())
    }

    /// A short English reason, for errors and reports.
    pub fn reason(self) -> &'static str {
        match self {
            Invalidity::NotEnabled => "application not enabled",
            Invalidity::Stopped => "application stopped",
            Invalidity::UnknownStatus(_) => "application status unknown",
            Invalidity::NotYetValid => "application not yet valid",
            Invalidity::Expired => "application expired",
        }
    }
}

/// 0015 of any scheme, with the facts every layout has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppInfo {
    /// MOHURD layout.
    Mohurd(MohurdAppInfo),
    /// T-Union layout.
    Mot(MotAppInfo),
}

impl AppInfo {
    /// Decodes 0015 in the given layout: 30 or 32 bytes for the MOHURD layout, 30 for T-Union.
    pub fn decode(layout: AppInfoLayout, bytes: &[u8]) -> Result<AppInfo> {
        match layout {
            AppInfoLayout::Mohurd => MohurdAppInfo::decode(bytes).map(AppInfo::Mohurd),
            AppInfoLayout::Mot => MotAppInfo::decode(bytes).map(AppInfo::Mot),
        }
    }

    /// The lengths 0015 may have in a layout.
    pub fn lengths(layout: AppInfoLayout) -> &'static [usize] {
        match layout {
            AppInfoLayout::Mohurd => &MohurdAppInfo::LENGTHS,
            AppInfoLayout::Mot => &[MotAppInfo::LEN],
        }
    }

    /// Encodes 0015.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            AppInfo::Mohurd(a) => a.encode(),
            AppInfo::Mot(a) => a.encode(),
        }
    }

    /// The issuer and city.
    pub fn issuer(&self) -> IssuerId {
        match self {
            AppInfo::Mohurd(a) => IssuerId {
                issuer_code: a.issuer_code,
                city_code: a.city_code,
            },
            AppInfo::Mot(a) => IssuerId {
                issuer_code: a.issuer_code,
                city_code: a.city_code,
            },
        }
    }

    /// The application serial.
    pub fn serial(&self) -> CardSerial {
        match self {
            AppInfo::Mohurd(a) => a.serial,
            AppInfo::Mot(a) => a.serial,
        }
    }

    /// Start of validity.
    pub fn start_date(&self) -> NaiveDate {
        match self {
            AppInfo::Mohurd(a) => a.start_date,
            AppInfo::Mot(a) => a.start_date,
        }
    }

    /// End of validity.
    pub fn expiry_date(&self) -> NaiveDate {
        match self {
            AppInfo::Mohurd(a) => a.expiry_date,
            AppInfo::Mot(a) => a.expiry_date,
        }
    }

    /// Byte 8, the application type (kept raw; decides nothing).
    pub fn app_type(&self) -> AppType {
        match self {
            AppInfo::Mohurd(a) => a.app_type,
            AppInfo::Mot(a) => a.app_type,
        }
    }

    /// What 0015 says about 启用, where the layout defines such a flag: T-Union byte 9
    /// ([`MotAppStatus`]) [S]. The MOHURD layout defines none (byte 8 is the application type,
    /// byte 9 the version), so `None` **[I]: no MOHURD source defines an enabled flag in 0015;
    /// such a card's COS refuses a disabled application itself**.
    pub fn status(&self) -> Option<MotAppStatus> {
        match self {
            AppInfo::Mohurd(_) => None,
            AppInfo::Mot(a) => Some(a.app_status),
        }
    }

    /// The checks a terminal makes on 0015 before it touches the purse: the T-Union 启用标识
    /// (where the layout has one) and the 启用日期/有效日期 against `today`. Byte 8 is never
    /// checked.
    pub fn validity(&self, today: NaiveDate) -> std::result::Result<(), Invalidity> {
        Invalidity::check(self.status(), self.start_date(), self.expiry_date(), today)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_real_changsha_0015() {
        let raw = hex::decode(
            "07314100000000000101000041000000899999852015060520380808 0000".replace(' ', ""),
        )
        .unwrap();
        let info = MohurdAppInfo::decode(&raw).unwrap();
        assert_eq!(info.issuer_code.to_string(), "0731");
        assert_eq!(info.city_code.to_string(), "4100");
        assert_eq!(info.serial.to_string(), "00004100000089999985");
        assert_eq!(
            info.start_date,
            NaiveDate::from_ymd_opt(2015, 6, 5).unwrap()
        );
        assert_eq!(info.encode(), raw);
    }

    #[test]
    fn decodes_the_t_union_fci_sample() {
        let raw = hex::decode(
            "01011000FFFFFFFF0201031051700101709079842019080620401231 0000".replace(' ', ""),
        )
        .unwrap();
        let info = AppInfo::decode(AppInfoLayout::Mot, &raw).unwrap();
        assert_eq!(info.serial().mot_card_number(), "3105170010170907984");
        assert_eq!(info.issuer().to_string(), "0101/1000");
        assert_eq!(info.status(), Some(MotAppStatus::ENABLED));
        assert_eq!(info.app_type(), AppType::TYPE_02);
        assert_eq!(info.encode(), raw);
    }

    #[test]
    fn rejects_a_0015_with_an_impossible_expiry_date() {
        let mut raw = hex::decode(
            "07314100000000000101000041000000899999852015060520380808 0000".replace(' ', ""),
        )
        .unwrap();
        raw[26] = 0x13; // month 13
        let err = MohurdAppInfo::decode(&raw).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("0015 expiry date: not a calendar date"),
            "{err}"
        );
        assert!(MohurdAppInfo::decode(&raw[..29]).is_err());
    }
}
