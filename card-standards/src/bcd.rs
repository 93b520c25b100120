//! Binary-coded decimal fields and the BCD dates and times that cards and terminals exchange.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use crate::error::{Error, Result};

/// Decodes BCD bytes into their decimal digits. Fails if a nibble is above 9.
pub fn decode_digits(field: &'static str, bytes: &[u8]) -> Result<String> {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        for nibble in [b >> 4, b & 0x0F] {
            if nibble > 9 {
                return Err(Error::InvalidField {
                    field,
                    value: hex::encode_upper(bytes),
                    reason: "not binary-coded decimal",
                });
            }
            out.push(char::from(b'0' + nibble));
        }
    }
    Ok(out)
}

/// Encodes decimal digits as BCD, right-aligned in `len` bytes and left-padded with zeros.
pub fn encode_digits(field: &'static str, digits: &str, len: usize) -> Result<Vec<u8>> {
    if digits.len() > len * 2 || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(Error::InvalidField {
            field,
            value: digits.to_string(),
            reason: "expected decimal digits that fit the field",
        });
    }
    let padded = format!("{digits:0>width$}", width = len * 2);
    Ok(padded
        .as_bytes()
        .chunks(2)
        .map(|p| ((p[0] - b'0') << 4) | (p[1] - b'0'))
        .collect())
}

fn bcd_value(field: &'static str, bytes: &[u8]) -> Result<u32> {
    decode_digits(field, bytes)?
        .parse()
        .map_err(|_| Error::InvalidField {
            field,
            value: hex::encode_upper(bytes),
            reason: "not a number",
        })
}

fn bcd_byte(v: u32) -> u8 {
    (((v / 10) % 10) << 4 | (v % 10)) as u8
}

/// Decodes a 4-byte BCD date `YYYYMMDD`.
pub fn decode_date(field: &'static str, bytes: &[u8]) -> Result<NaiveDate> {
    Error::check_len(field, 4, bytes.len())?;
    let year = bcd_value(field, &bytes[0..2])?;
    let month = bcd_value(field, &bytes[2..3])?;
    let day = bcd_value(field, &bytes[3..4])?;
    NaiveDate::from_ymd_opt(year as i32, month, day).ok_or_else(|| Error::InvalidField {
        field,
        value: hex::encode_upper(bytes),
        reason: "not a calendar date",
    })
}

/// Encodes a date as 4-byte BCD `YYYYMMDD`. Years outside 0000–9999 are written modulo 10000.
pub fn encode_date(date: NaiveDate) -> [u8; 4] {
    let y = date.year().rem_euclid(10_000) as u32;
    [
        bcd_byte(y / 100),
        bcd_byte(y % 100),
        bcd_byte(date.month()),
        bcd_byte(date.day()),
    ]
}

/// Decodes a 3-byte BCD time `hhmmss`.
pub fn decode_time(field: &'static str, bytes: &[u8]) -> Result<NaiveTime> {
    Error::check_len(field, 3, bytes.len())?;
    let h = bcd_value(field, &bytes[0..1])?;
    let m = bcd_value(field, &bytes[1..2])?;
    let s = bcd_value(field, &bytes[2..3])?;
    NaiveTime::from_hms_opt(h, m, s).ok_or_else(|| Error::InvalidField {
        field,
        value: hex::encode_upper(bytes),
        reason: "not a time of day",
    })
}

/// Encodes a time as 3-byte BCD `hhmmss`.
pub fn encode_time(time: NaiveTime) -> [u8; 3] {
    [
        bcd_byte(time.hour()),
        bcd_byte(time.minute()),
        bcd_byte(time.second()),
    ]
}

/// Decodes a 7-byte BCD date and time `YYYYMMDDhhmmss`.
pub fn decode_datetime(field: &'static str, bytes: &[u8]) -> Result<NaiveDateTime> {
    Error::check_len(field, 7, bytes.len())?;
    Ok(decode_date(field, &bytes[..4])?.and_time(decode_time(field, &bytes[4..])?))
}

/// Encodes a date and time as 7-byte BCD `YYYYMMDDhhmmss`.
pub fn encode_datetime(dt: NaiveDateTime) -> [u8; 7] {
    let mut out = [0u8; 7];
    out[..4].copy_from_slice(&encode_date(dt.date()));
    out[4..].copy_from_slice(&encode_time(dt.time()));
    out
}

/// Parses the textual `YYYYMMDDhhmmss` form used on the command line and in reports.
pub fn parse_compact_datetime(field: &'static str, text: &str) -> Result<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text, "%Y%m%d%H%M%S")
        .ok()
        .filter(|_| text.len() == 14)
        .ok_or_else(|| Error::InvalidField {
            field,
            value: text.to_string(),
            reason: "expected a date and time YYYYMMDDhhmmss",
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_round_trips_through_bcd() {
        let dt = parse_compact_datetime("t", "20110919204812").unwrap();
        let bcd = encode_datetime(dt);
        assert_eq!(bcd, [0x20, 0x11, 0x09, 0x19, 0x20, 0x48, 0x12]);
        assert_eq!(decode_datetime("t", &bcd).unwrap(), dt);
    }

    #[test]
    fn rejects_impossible_dates_and_non_bcd_nibbles() {
        assert!(decode_date("d", &[0x20, 0x21, 0x02, 0x30]).is_err());
        assert!(decode_date("d", &[0x20, 0x2A, 0x01, 0x01]).is_err());
        assert!(parse_compact_datetime("t", "20240230120000").is_err());
        assert!(parse_compact_datetime("t", "2024010112000").is_err());
    }

    #[test]
    fn digits_encode_right_aligned() {
        assert_eq!(
            encode_digits("n", "4100", 4).unwrap(),
            vec![0, 0, 0x41, 0x00]
        );
        assert_eq!(decode_digits("n", &[0x07, 0x31]).unwrap(), "0731");
        assert!(encode_digits("n", "12345", 2).is_err());
    }
}
