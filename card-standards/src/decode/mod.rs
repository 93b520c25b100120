//! Card files and responses as a reader app dumps them, decoded into named, typed fields for
//! people and JSON: the card number as printed, issuer and city with the names of the code
//! tables, dates, the card type, money in fen and yuan, every 0018 record.
//!
//! A thin layer over the codecs of [`crate::files`] and [`crate::apdu`]: they decide what the
//! bytes mean; this module names the fields. A code that no table knows is kept raw (`name`
//! is absent), never guessed. [`trace`] annotates whole APDU logs.

pub mod trace;

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

use crate::apdu::Balance;
use crate::codes::CodeTables;
use crate::error::{Error, Result};
use crate::files::{
    AppInfo, CappRecord, CardFile, Cardholder, MotManagementInfo, ProcessRecord, TransitRecord,
    TripPoint, TxRecord,
};
use crate::identity::CardSerial;
use crate::scheme::Scheme;
use crate::status::StatusWord;

/// The files and responses [`decode`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FileKind {
    /// 0015, the public application file (needs the scheme: two layouts share 30 bytes).
    #[serde(rename = "0015")]
    AppInfo,
    /// 0016, the cardholder file.
    #[serde(rename = "0016")]
    Cardholder,
    /// 0017: T-Union management information (60 bytes) or MOHURD/local composite records
    /// (48 bytes each), told apart by the scheme or else by the length.
    #[serde(rename = "0017")]
    File0017,
    /// 0018 transaction records, 23 bytes each.
    #[serde(rename = "0018")]
    TxRecords,
    /// 001A: T-Union composite records, 128 bytes each; on other cards load records in the
    /// 0018 layout, 23 bytes each (as the real Changsha card keeps its 充值明细 \[S: ConardLKL/ChangSha
    /// `t4_readTransRecord.txt`\]).
    #[serde(rename = "001A")]
    TransitRecords,
    /// 001E T-Union process records, 48 bytes each.
    #[serde(rename = "001E")]
    ProcessRecords,
    /// The application's FCI, as SELECT answers it.
    #[serde(rename = "fci")]
    Fci,
    /// The GET BALANCE response.
    #[serde(rename = "balance")]
    Balance,
}

impl std::str::FromStr for FileKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<FileKind> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "0015" => FileKind::AppInfo,
            "0016" => FileKind::Cardholder,
            "0017" => FileKind::File0017,
            "0018" => FileKind::TxRecords,
            "001a" => FileKind::TransitRecords,
            "001e" => FileKind::ProcessRecords,
            "fci" => FileKind::Fci,
            "balance" => FileKind::Balance,
            _ => {
                return Err(Error::UnknownCode {
                    table: "card files (0015 0016 0017 0018 001A 001E fci balance)",
                    code: s.to_string(),
                });
            }
        })
    }
}

/// A raw code and, when a table knows it, its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Code {
    /// The bytes as hex, as the card stores them.
    pub raw: String,
    /// The name from the code tables; absent for a code no table knows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Code {
    fn new(raw: &[u8], name: Option<String>) -> Code {
        Code {
            raw: hex::encode_upper(raw),
            name,
        }
    }
}

/// A city code with the city the code tables give it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CityRef {
    /// The 4-digit code as the card stores it.
    pub raw: String,
    /// English name; absent when the code is not in the city table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Chinese name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_zh: Option<String>,
    /// hutong's key for the city (`qingdao`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// Looks a card's city code up in the city table of `scheme`'s cards.
pub fn city(scheme: Scheme, raw: &[u8]) -> CityRef {
    let code = hex::encode_upper(raw);
    let city = CodeTables::builtin().city_by_card_code(scheme, &code).ok();
    CityRef {
        name: city.map(|c| c.name.clone()),
        name_zh: city.map(|c| c.name_zh.clone()),
        key: city.map(|c| c.key.clone()),
        raw: code,
    }
}

/// Money: integer fen and the same amount in yuan as a decimal string (`123.45`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Money {
    /// Fen (分).
    pub fen: u32,
    /// Yuan (元), two decimals, as text: never a float.
    #[serde(serialize_with = "yuan")]
    pub yuan: u32,
}

fn yuan<S: serde::Serializer>(fen: &u32, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{}.{:02}", fen / 100, fen % 100))
}

impl Money {
    /// `fen` fen.
    pub fn fen(fen: u32) -> Money {
        Money { fen, yuan: fen }
    }
}

/// 0015, the public application file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppInfoView {
    /// Which layout was read: `mohurd` (CJ/T 166; also local and PBOC cards) or `mot`
    /// (JT/T 978).
    pub layout: &'static str,
    /// The card number as printed on the card: T-Union the 19 digits of the serial without
    /// its first; other cards the 16 digits of the 8-byte logical card number (bytes 12–19)
    /// \[I: the printed form of MOHURD cards varies by city\].
    pub card_number: String,
    /// The 10-byte application serial (bytes 10–19), whose right-most 8 bytes diversify the keys.
    pub serial: String,
    /// 发卡方代码 / issuer code (no public table names issuers).
    pub issuer_code: String,
    /// 城市代码 and the city.
    pub city: CityRef,
    /// MOHURD layout: 行业代码 (bytes 4–5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub industry_code: Option<String>,
    /// T-Union layout: bytes 4–7 of 发卡机构标识.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer_suffix: Option<String>,
    /// Byte 8 as stored (MOHURD: 应用类型标识/启用; T-Union: 应用类型).
    pub byte8: String,
    /// Byte 9 as stored (MOHURD: 应用版本; T-Union: 启用标识).
    pub byte9: String,
    /// What byte 8, the application type ([`crate::files::AppType`]), is known as; `unknown`
    /// for a value no source shows (what each value means is inferred).
    pub app_type: String,
    /// T-Union byte 9, 启用标识 ([`AppInfo::status`]): `true` when enabled (01); `None` in
    /// the MOHURD layout, which defines no enabled flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The 启用标识 in words, where the layout has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// 启用日期.
    pub start_date: NaiveDate,
    /// 有效日期.
    pub expiry_date: NaiveDate,
    /// Bytes 28–29, issuer-defined.
    pub custom: String,
}

/// Decodes 0015 in the layout of `scheme`.
pub fn app_info(scheme: Scheme, bytes: &[u8]) -> Result<AppInfoView> {
    let info = AppInfo::decode(scheme.profile().app_info_layout, bytes)?;
    let serial = info.serial();
    let (layout, industry_code, issuer_suffix, byte8, byte9, custom) = match &info {
        AppInfo::Mohurd(a) => (
            "mohurd",
            Some(hex::encode_upper(a.industry_code)),
            None,
            a.app_type.0,
            a.app_version,
            a.custom,
        ),
        AppInfo::Mot(a) => (
            "mot",
            None,
            Some(hex::encode_upper(a.issuer_suffix)),
            a.app_type.0,
            a.app_status.0,
            a.custom,
        ),
    };
    let issuer = info.issuer();
    Ok(AppInfoView {
        layout,
        card_number: card_number(scheme, &serial),
        serial: serial.to_string(),
        issuer_code: issuer.issuer_code.to_string(),
        city: city(scheme, &issuer.city_code.0),
        industry_code,
        issuer_suffix,
        byte8: format!("{byte8:02X}"),
        byte9: format!("{byte9:02X}"),
        app_type: info.app_type().meaning().unwrap_or("unknown").to_string(),
        enabled: info
            .status()
            .map(|s| s == crate::files::MotAppStatus::ENABLED),
        status: info
            .status()
            .map(|s| format!("{:02X} {}", s.0, s.meaning().unwrap_or("unknown"))),
        start_date: info.start_date(),
        expiry_date: info.expiry_date(),
        custom: hex::encode_upper(custom),
    })
}

/// The card number as printed (see [`AppInfoView::card_number`]).
pub fn card_number(scheme: Scheme, serial: &CardSerial) -> String {
    match scheme {
        Scheme::Mot => serial.mot_card_number(),
        Scheme::Mohurd | Scheme::Local | Scheme::Pboc => hex::encode_upper(&serial.0[2..]),
    }
}

/// 0016, the cardholder file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardholderView {
    /// 卡类型 (byte 0) and hutong's canonical card type for it (needs the scheme).
    pub card_type: Code,
    /// 本行职工标识 (byte 1).
    pub staff_flag: String,
    /// 持卡人姓名 as text when it is UTF-8 (padding removed); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The name's 20 bytes (GBK on many cards).
    pub name_raw: String,
    /// 证件号码 as text when it is UTF-8 (padding removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
    /// The ID number's 32 bytes.
    pub id_number_raw: String,
    /// 证件类型 (byte 54).
    pub id_type: String,
}

/// The text in a padded field: `None` when empty or not UTF-8.
fn padded_text(bytes: &[u8]) -> Option<String> {
    let trimmed: &[u8] = {
        let end = bytes
            .iter()
            .rposition(|b| !matches!(b, 0x00 | 0xFF | b' '))
            .map_or(0, |i| i + 1);
        &bytes[..end]
    };
    if trimmed.is_empty() {
        return None;
    }
    std::str::from_utf8(trimmed)
        .ok()
        .filter(|s| !s.chars().any(char::is_control))
        .map(str::to_string)
}

/// Decodes 0016; the card type is named when the scheme is known.
pub fn cardholder(scheme: Option<Scheme>, bytes: &[u8]) -> Result<CardholderView> {
    let c = Cardholder::decode(bytes)?;
    let raw = format!("{:02X}", c.card_type);
    let name = scheme.and_then(|s| {
        CodeTables::builtin()
            .card_type(s, &raw)
            .ok()
            .map(|t| t.as_str().to_string())
    });
    Ok(CardholderView {
        card_type: Code { raw, name },
        staff_flag: format!("{:02X}", c.staff_flag),
        name: padded_text(&c.name),
        name_raw: hex::encode_upper(c.name),
        id_number: padded_text(&c.id_number),
        id_number_raw: hex::encode_upper(c.id_number),
        id_type: format!("{:02X}", c.id_type),
    })
}

/// 0017 of a T-Union card: the management information.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManagementView {
    /// 国际代码 (4 bytes).
    pub country_code: String,
    /// 省级代码.
    pub province_code: String,
    /// 城市代码 and the city (T-Union codes).
    pub city: CityRef,
    /// 互通卡种: 0000 not interoperable, 0001 interoperable.
    pub interop: String,
    /// Whether the card is interoperable (互联互通).
    pub interoperable: bool,
    /// 卡种类型 and hutong's canonical card type for it.
    pub card_kind: Code,
}

/// Decodes T-Union 0017.
pub fn management(bytes: &[u8]) -> Result<ManagementView> {
    let m = MotManagementInfo::decode(bytes)?;
    let raw = format!("{:02X}", m.card_kind);
    let name = CodeTables::builtin()
        .card_type(Scheme::Mot, &raw)
        .ok()
        .map(|t| t.as_str().to_string());
    Ok(ManagementView {
        country_code: hex::encode_upper(m.country_code),
        province_code: hex::encode_upper(m.province_code),
        city: city(Scheme::Mot, &m.city_code),
        interop: format!("{:04X}", m.interop),
        interoperable: m.is_interoperable(),
        card_kind: Code { raw, name },
    })
}

/// One MOHURD/local composite record of 0017.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CappView {
    /// Record identifier (byte 0).
    pub record_id: String,
    /// Lock flag (byte 2): non-zero = locked.
    pub lock_flag: String,
    /// Whether the record is locked.
    pub locked: bool,
    /// The 45 issuer-defined data bytes.
    pub data: String,
}

/// One 0018 record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TxRecordView {
    /// The record number (1 = the newest, as READ RECORD numbers a cyclic file).
    pub record: usize,
    /// The online or offline counter after the transaction.
    pub counter: u16,
    /// 透支限额.
    pub overdraft_limit: Money,
    /// 交易金额.
    pub amount: Money,
    /// 交易类型 and its meaning.
    pub tx_type: Code,
    /// 终端机编号.
    pub terminal: String,
    /// 交易日期和时间.
    pub date_time: NaiveDateTime,
}

/// One T-Union 001A composite record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransitView {
    /// The record number.
    pub record: usize,
    /// Record identifier (bytes 0–1, e.g. 2702 = bus).
    pub record_id: String,
    /// Valid flag.
    pub valid: String,
    /// Transaction flag.
    pub tx_flag: String,
    /// Lock flag (byte 5, non-zero = locked).
    pub locked: String,
    /// Transaction serial (8 bytes).
    pub tx_serial: String,
    /// Trip state.
    pub state: String,
    /// Where the trip began.
    pub boarding: TripView,
    /// Highest fare of the trip.
    pub max_fare: Money,
    /// Direction.
    pub direction: String,
    /// Where it ended.
    pub alighting: TripView,
    /// Amount charged.
    pub amount: Money,
    /// Mileage.
    pub mileage: u16,
    /// Maximum minutes of the trip.
    pub max_minutes: u16,
}

/// One end of a trip in 001A.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TripView {
    /// City code and city (T-Union codes).
    pub city: CityRef,
    /// Institution code.
    pub institution: String,
    /// Operator.
    pub operator: String,
    /// Line number.
    pub line: u16,
    /// Station number.
    pub station: u8,
    /// Vehicle.
    pub vehicle: String,
    /// Terminal.
    pub terminal: String,
    /// Time; absent when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<NaiveDateTime>,
}

fn trip(p: &TripPoint) -> TripView {
    TripView {
        city: city(Scheme::Mot, &p.city),
        institution: hex::encode_upper(p.institution),
        operator: hex::encode_upper(p.operator),
        line: p.line,
        station: p.station,
        vehicle: hex::encode_upper(p.vehicle),
        terminal: hex::encode_upper(p.terminal),
        time: p.time,
    }
}

/// One T-Union 001E process record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessView {
    /// The record number.
    pub record: usize,
    /// 交易类型 and its meaning.
    pub process_type: Code,
    /// Terminal number.
    pub terminal: String,
    /// 行业代码 and hutong's canonical industry for it.
    pub industry: Code,
    /// Line.
    pub line: String,
    /// Station.
    pub station: String,
    /// Amount.
    pub amount: Money,
    /// Balance after.
    pub balance: Money,
    /// Date and time.
    pub date_time: NaiveDateTime,
    /// Acquirer city (T-Union code) and the city.
    pub acquirer_city: CityRef,
    /// Institution code.
    pub institution: String,
    /// Maximum amount of an incomplete trip.
    pub max_incomplete_amount: Money,
    /// Maximum minutes.
    pub max_minutes: u16,
}

/// A record slot that holds nothing yet (all 00 or all FF).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmptyRecord {
    /// The record number.
    pub record: usize,
    /// Always true.
    pub empty: bool,
}

/// A record of a record file: decoded, or an empty slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Record<T> {
    /// A written record.
    Written(T),
    /// An unwritten slot.
    Empty(EmptyRecord),
}

/// The application's FCI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FciView {
    /// Tag 84, the DF name (AID).
    pub aid: String,
    /// The scheme whose AID it is; absent for an AID hutong does not know.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<Scheme>,
    /// Tag 9F08, the application version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    /// Tag 9F0C, the copy of 0015, decoded when the scheme is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_info: Option<AppInfoView>,
    /// Tag 9F0C as raw bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_info_raw: Option<String>,
}

/// The scheme whose application AID is `aid`.
pub fn scheme_of_aid(aid: &[u8]) -> Option<Scheme> {
    Scheme::ALL.into_iter().find(|s| s.profile().aid == aid)
}

/// Splits BER-TLV: (tag, value) pairs of one level.
fn tlvs(mut bytes: &[u8]) -> Result<Vec<(Vec<u8>, &[u8])>> {
    let bad = |reason| Error::InvalidField {
        field: "FCI",
        value: String::new(),
        reason,
    };
    let mut out = Vec::new();
    while let Some(&first) = bytes.first() {
        if first == 0x00 || first == 0xFF {
            bytes = &bytes[1..];
            continue;
        }
        let mut tag_len = 1;
        if first & 0x1F == 0x1F {
            while bytes.get(tag_len).is_some_and(|b| b & 0x80 != 0) {
                tag_len += 1;
            }
            tag_len += 1;
        }
        let tag = bytes.get(..tag_len).ok_or(bad("tag cut short"))?.to_vec();
        let (len, len_len) = match *bytes.get(tag_len).ok_or(bad("length missing"))? {
            n if n < 0x80 => (usize::from(n), 1),
            0x81 => (
                usize::from(*bytes.get(tag_len + 1).ok_or(bad("length cut short"))?),
                2,
            ),
            0x82 => {
                let hi = *bytes.get(tag_len + 1).ok_or(bad("length cut short"))?;
                let lo = *bytes.get(tag_len + 2).ok_or(bad("length cut short"))?;
                (usize::from(u16::from_be_bytes([hi, lo])), 3)
            }
            _ => return Err(bad("unsupported length form")),
        };
        let start = tag_len + len_len;
        let value = bytes
            .get(start..start + len)
            .ok_or(bad("value longer than the FCI"))?;
        out.push((tag, value));
        bytes = &bytes[start + len..];
    }
    Ok(out)
}

fn find<'a>(items: &[(Vec<u8>, &'a [u8])], tag: &[u8]) -> Option<&'a [u8]> {
    items.iter().find(|(t, _)| t == tag).map(|(_, v)| *v)
}

/// Decodes the FCI of SELECT; `scheme` overrides the scheme found from the AID.
pub fn fci(scheme: Option<Scheme>, bytes: &[u8]) -> Result<FciView> {
    let outer = tlvs(bytes)?;
    let body = find(&outer, &[0x6F]).ok_or(Error::InvalidField {
        field: "FCI",
        value: hex::encode_upper(bytes),
        reason: "no 6F template",
    })?;
    let items = tlvs(body)?;
    let aid = find(&items, &[0x84]).unwrap_or_default();
    let prop = match find(&items, &[0xA5]) {
        Some(p) => tlvs(p)?,
        None => Vec::new(),
    };
    let scheme = scheme.or_else(|| scheme_of_aid(aid));
    let raw_0015 = find(&prop, &[0x9F, 0x0C]);
    let app_info = match (scheme, raw_0015) {
        (Some(s), Some(raw)) => Some(app_info(s, raw)?),
        _ => None,
    };
    Ok(FciView {
        aid: hex::encode_upper(aid),
        scheme,
        app_version: find(&prop, &[0x9F, 0x08]).map(hex::encode_upper),
        app_info,
        app_info_raw: raw_0015.map(hex::encode_upper),
    })
}

/// The GET BALANCE response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BalanceView {
    /// The balance as [`Balance::parse`] reads it (`fen`, `yuan`).
    #[serde(flatten)]
    pub balance: Money,
    /// The 4 bytes as answered.
    pub raw: String,
}

/// What [`decode`] found, by file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Content {
    /// 0015.
    AppInfo(AppInfoView),
    /// 0016.
    Cardholder(CardholderView),
    /// T-Union 0017.
    Management(ManagementView),
    /// MOHURD/local 0017 records.
    CappRecords(Vec<Record<CappView>>),
    /// 0018 records.
    TxRecords(Vec<Record<TxRecordView>>),
    /// 001A records.
    TransitRecords(Vec<Record<TransitView>>),
    /// 001E records.
    ProcessRecords(Vec<Record<ProcessView>>),
    /// The FCI.
    Fci(FciView),
    /// GET BALANCE.
    Balance(BalanceView),
}

/// A decoded file or response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decoded {
    /// Which file.
    pub file: FileKind,
    /// The scheme it was read as, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<Scheme>,
    /// The status word that followed the data in the dump, if there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_word: Option<String>,
    /// The fields.
    #[serde(flatten)]
    pub content: Content,
}

/// Strips a trailing 9000 from a dump when the bytes without it are a valid length for the
/// file. Where both lengths are valid (a 30-byte MOHURD 0015 with its 9000 is 32 bytes, the
/// length of the 32-byte variant) the 9000 is taken as the status word, as a reader's dump
/// carries it: a 32-byte 0015 that ends in 90 00 is given with its own 9000 (34 bytes).
fn strip_sw(bytes: &[u8], valid: impl Fn(usize) -> bool) -> (&[u8], Option<StatusWord>) {
    match bytes {
        [data @ .., 0x90, 0x00] if valid(data.len()) => (data, Some(StatusWord::OK)),
        _ => (bytes, None),
    }
}

/// The lengths a single-value file may have.
fn single_lengths(file: FileKind, scheme: Option<Scheme>) -> &'static [usize] {
    match file {
        // Some MOHURD-AID cards carry 32 bytes (the codecs decide whether they accept them).
        FileKind::AppInfo => &[30, 32],
        FileKind::Cardholder => &[Cardholder::LEN],
        FileKind::File0017 if scheme == Some(Scheme::Mot) => &[MotManagementInfo::LEN],
        FileKind::Balance => &[4],
        _ => &[],
    }
}

/// Whether `bytes[..n]` is exactly one BER-TLV (the FCI's 6F template).
fn one_tlv(bytes: &[u8], n: usize) -> bool {
    match bytes {
        [_, len, ..] if *len < 0x80 => n == 2 + usize::from(*len),
        [_, 0x81, len, ..] => n == 3 + usize::from(*len),
        _ => false,
    }
}

fn records<T>(
    parts: &[Vec<u8>],
    len: usize,
    mut one: impl FnMut(usize, &[u8]) -> Result<T>,
) -> Result<(Vec<Record<T>>, Option<StatusWord>)> {
    let mut out = Vec::new();
    let mut sw = None;
    for part in parts {
        let (data, s) = strip_sw(part, |n| n > 0 && n.is_multiple_of(len));
        sw = sw.or(s);
        if data.is_empty() || !data.len().is_multiple_of(len) {
            return Err(Error::WrongLength {
                field: "record file dump (a multiple of the record length)",
                expected: len,
                actual: data.len(),
            });
        }
        for chunk in data.chunks(len) {
            let n = out.len() + 1;
            if chunk.iter().all(|&b| b == 0) || chunk.iter().all(|&b| b == 0xFF) {
                out.push(Record::Empty(EmptyRecord {
                    record: n,
                    empty: true,
                }));
            } else {
                out.push(Record::Written(one(n, chunk)?));
            }
        }
    }
    Ok((out, sw))
}

fn tx_records(parts: &[Vec<u8>], status: &mut Option<StatusWord>) -> Result<Content> {
    let (recs, sw) = records(parts, TxRecord::LEN, |n, b| {
        let r = TxRecord::decode(b)?;
        Ok(TxRecordView {
            record: n,
            counter: r.seq,
            overdraft_limit: Money::fen(r.overdraft),
            amount: Money::fen(r.amount),
            tx_type: Code::new(&[r.tx_type.0], r.tx_type.meaning().map(str::to_string)),
            terminal: r.terminal.to_string(),
            date_time: r.date_time,
        })
    })?;
    *status = sw;
    Ok(Content::TxRecords(recs))
}

/// Decodes a dump of `file`: `parts` are the hex arguments as bytes (a record file's records
/// may come one per part or concatenated; each part may end with the 9000 the card answered).
/// 0015 needs `scheme`; others use it to name codes.
pub fn decode(file: FileKind, scheme: Option<Scheme>, parts: &[Vec<u8>]) -> Result<Decoded> {
    let single = || -> Result<(&[u8], Option<StatusWord>)> {
        let lengths = single_lengths(file, scheme);
        match parts {
            [one] if file == FileKind::Fci => Ok(strip_sw(one, |n| one_tlv(one, n))),
            [one] => Ok(strip_sw(one, |n| lengths.contains(&n))),
            _ => Err(Error::InvalidField {
                field: "dump",
                value: format!("{} parts", parts.len()),
                reason: "this file is one value: give one hex argument",
            }),
        }
    };
    let mut status = None;
    let content = match file {
        FileKind::AppInfo => {
            let scheme = scheme.ok_or(Error::InvalidField {
                field: "0015",
                value: String::new(),
                reason: "the layout depends on the scheme: give --scheme",
            })?;
            let (data, sw) = single()?;
            status = sw;
            Content::AppInfo(app_info(scheme, data)?)
        }
        FileKind::Cardholder => {
            let (data, sw) = single()?;
            status = sw;
            Content::Cardholder(cardholder(scheme, data)?)
        }
        FileKind::File0017 => {
            let management_len = |n| n == MotManagementInfo::LEN;
            let mot = match (scheme, parts) {
                (Some(s), _) => s == Scheme::Mot,
                (None, [one]) => management_len(strip_sw(one, management_len).0.len()),
                (None, _) => false,
            };
            if mot {
                let (data, sw) = match parts {
                    [one] => strip_sw(one, |n| n == MotManagementInfo::LEN),
                    _ => single()?,
                };
                status = sw;
                Content::Management(management(data)?)
            } else {
                let (recs, sw) = records(parts, CappRecord::LEN, |_, b| {
                    let r = CappRecord::decode(b)?;
                    Ok(CappView {
                        record_id: format!("{:02X}", r.record_id),
                        lock_flag: format!("{:02X}", r.lock_flag),
                        locked: r.lock_flag != 0,
                        data: hex::encode_upper(r.data),
                    })
                })?;
                status = sw;
                Content::CappRecords(recs)
            }
        }
        FileKind::TxRecords => tx_records(parts, &mut status)?,
        FileKind::TransitRecords if scheme.is_some_and(|s| s != Scheme::Mot) => {
            tx_records(parts, &mut status)?
        }
        FileKind::TransitRecords => {
            let (recs, sw) = records(parts, TransitRecord::LEN, |n, b| {
                let r = TransitRecord::decode(b)?;
                Ok(TransitView {
                    record: n,
                    record_id: hex::encode_upper(r.record_id),
                    valid: format!("{:02X}", r.valid),
                    tx_flag: format!("{:02X}", r.tx_flag),
                    locked: format!("{:02X}", r.locked),
                    tx_serial: hex::encode_upper(r.tx_serial),
                    state: format!("{:02X}", r.state),
                    boarding: trip(&r.boarding),
                    max_fare: Money::fen(r.max_fare),
                    direction: format!("{:02X}", r.direction),
                    alighting: trip(&r.alighting),
                    amount: Money::fen(r.amount),
                    mileage: r.mileage,
                    max_minutes: r.max_minutes,
                })
            })?;
            status = sw;
            Content::TransitRecords(recs)
        }
        FileKind::ProcessRecords => {
            let (recs, sw) = records(parts, ProcessRecord::LEN, |n, b| {
                let r = ProcessRecord::decode(b)?;
                let industry_raw = format!("{:02X}", r.industry_code);
                let industry = CodeTables::builtin()
                    .industry(Scheme::Mot, &industry_raw)
                    .ok()
                    .map(|i| i.as_str().to_string());
                Ok(ProcessView {
                    record: n,
                    process_type: Code::new(
                        &[r.process_type.0],
                        r.process_type.meaning().map(str::to_string),
                    ),
                    terminal: hex::encode_upper(r.terminal),
                    industry: Code {
                        raw: industry_raw,
                        name: industry,
                    },
                    line: hex::encode_upper(r.line),
                    station: hex::encode_upper(r.station),
                    amount: Money::fen(r.amount),
                    balance: Money::fen(r.balance),
                    date_time: r.date_time,
                    acquirer_city: city(Scheme::Mot, &r.acquirer_city),
                    institution: hex::encode_upper(r.institution),
                    max_incomplete_amount: Money::fen(r.max_incomplete_amount),
                    max_minutes: r.max_minutes,
                })
            })?;
            status = sw;
            Content::ProcessRecords(recs)
        }
        FileKind::Fci => {
            let (data, sw) = single()?;
            status = sw;
            let view = fci(scheme, data)?;
            let found = view.scheme;
            return Ok(Decoded {
                file,
                scheme: found,
                status_word: status.map(|s| s.to_string()),
                content: Content::Fci(view),
            });
        }
        FileKind::Balance => {
            let (data, sw) = single()?;
            status = sw;
            let b = Balance::parse(data)?;
            Content::Balance(BalanceView {
                balance: Money::fen(b.0),
                raw: hex::encode_upper(data),
            })
        }
    };
    Ok(Decoded {
        file,
        scheme,
        status_word: status.map(|s| s.to_string()),
        content,
    })
}

#[cfg(test)]
mod tests;
