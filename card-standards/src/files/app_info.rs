//! 0015, the public application file (公共应用基本数据文件), 30 bytes.

use chrono::NaiveDate;

use super::{CardFile, FieldReader, FieldWriter};
use crate::error::Result;
use crate::identity::{CardSerial, CityCode, IssuerCode, IssuerId};
use crate::schemes::AppInfoLayout;

/// 0015 in the MOHURD layout (CJ/T 166; also local and PBOC co-branded cards) [S: real
/// Changsha card, ConardLKL/ChangSha `tGetInfo.py`].
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
    /// 8 应用类型标识 / enabled: 00 off, 01 on.
    pub app_enabled: u8,
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
}

impl CardFile for MohurdAppInfo {
    const NAME: &'static str = "0015 (MOHURD layout)";
    const LEN: usize = 30;

    fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = FieldReader::new(Self::NAME, Self::LEN, bytes)?;
        Ok(MohurdAppInfo {
            issuer_code: IssuerCode(r.take()),
            city_code: CityCode(r.take()),
            industry_code: r.take(),
            rfu: r.take(),
            app_enabled: r.u8(),
            app_version: r.u8(),
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
            .put(&self.industry_code)
            .put(&self.rfu)
            .put(&[self.app_enabled, self.app_version])
            .put(&self.serial.0)
            .date(self.start_date)
            .date(self.expiry_date)
            .put(&self.custom);
        w.finish(Self::LEN)
    }
}

/// 0015 in the T-Union layout (JT/T 978) [S: alon0808/ProjectAfcApp stJTB15; nfcard TUnion].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MotAppInfo {
    /// 0–1 of 发卡机构标识: the issuer code.
    pub issuer_code: IssuerCode,
    /// 2–3 of 发卡机构标识: the city code.
    pub city_code: CityCode,
    /// 4–7 of 发卡机构标识 (FFFFFFFF on the cards seen).
    pub issuer_suffix: [u8; 4],
    /// 8 应用类型标识 (02 = valid).
    pub app_type: u8,
    /// 9 启用标识 / version (0 not enabled, 1 enabled, 2 stopped).
    pub app_status: u8,
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
            app_type: r.u8(),
            app_status: r.u8(),
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
            .put(&[self.app_type, self.app_status])
            .put(&self.serial.0)
            .date(self.start_date)
            .date(self.expiry_date)
            .put(&self.custom);
        w.finish(Self::LEN)
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
    /// Decodes 0015 in the given layout.
    pub fn decode(layout: AppInfoLayout, bytes: &[u8]) -> Result<AppInfo> {
        match layout {
            AppInfoLayout::Mohurd => MohurdAppInfo::decode(bytes).map(AppInfo::Mohurd),
            AppInfoLayout::Mot => MotAppInfo::decode(bytes).map(AppInfo::Mot),
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

    /// Whether the application is enabled (启用).
    pub fn is_enabled(&self) -> bool {
        match self {
            AppInfo::Mohurd(a) => a.app_enabled == 0x01,
            AppInfo::Mot(a) => a.app_status == 0x01,
        }
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
        assert!(info.is_enabled());
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
