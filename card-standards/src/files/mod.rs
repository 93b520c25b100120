//! Codecs for the elementary files of the purse application, with the layouts of
//! STANDARDS.md §3–§4. Each file type implements [`CardFile`]: `decode` checks the length and
//! every typed field, `encode` writes the exact bytes back.
//!
//! | file | type | length |
//! |---|---|---|
//! | 0015 (MOHURD, local, PBOC) | [`MohurdAppInfo`] | 30 or 32 |
//! | 0015 (T-Union) | [`MotAppInfo`] | 30 |
//! | 0016 | [`Cardholder`] | 55 |
//! | 0017 (T-Union) | [`MotManagementInfo`] | 60 |
//! | 0017 (MOHURD composite record) | [`CappRecord`] | 48 |
//! | 0018 | [`TxRecord`] | 23 |
//! | 001A (T-Union composite record) | [`TransitRecord`] | 128 |
//! | 001E (T-Union process record) | [`ProcessRecord`] | 48 |

mod app_info;
mod capp;
mod cardholder;
mod management;
mod process_record;
mod transit_record;
mod tx_record;

use chrono::{NaiveDate, NaiveDateTime};

pub use app_info::{AppInfo, AppType, Invalidity, MohurdAppInfo, MotAppInfo, MotAppStatus};
pub use capp::CappRecord;
pub use cardholder::Cardholder;
pub use management::MotManagementInfo;
pub use process_record::{ProcessRecord, ProcessType};
pub use transit_record::{TransitRecord, TripPoint};
pub use tx_record::TxRecord;

use crate::bcd;
use crate::error::{Error, Result};

/// A fixed-length card file or record with a byte-exact codec.
pub trait CardFile: Sized {
    /// The file's name for errors, e.g. `"0018 record"`.
    const NAME: &'static str;
    /// The encoded length in bytes.
    const LEN: usize;
    /// Decodes and validates the bytes.
    fn decode(bytes: &[u8]) -> Result<Self>;
    /// Encodes to exactly [`CardFile::LEN`] bytes.
    fn encode(&self) -> Vec<u8>;
}

/// Reads fields off a file's bytes in order; the caller has checked the total length.
pub(crate) struct FieldReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> FieldReader<'a> {
    pub(crate) fn new(name: &'static str, expected: usize, bytes: &'a [u8]) -> Result<Self> {
        Error::check_len(name, expected, bytes.len())?;
        Ok(FieldReader { bytes, pos: 0 })
    }

    pub(crate) fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        out.copy_from_slice(&self.bytes[self.pos..self.pos + N]);
        self.pos += N;
        out
    }

    pub(crate) fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }

    pub(crate) fn u16(&mut self) -> u16 {
        u16::from_be_bytes(self.take())
    }

    pub(crate) fn u24(&mut self) -> u32 {
        let [a, b, c] = self.take::<3>();
        u32::from_be_bytes([0, a, b, c])
    }

    pub(crate) fn u32(&mut self) -> u32 {
        u32::from_be_bytes(self.take())
    }

    pub(crate) fn date(&mut self, field: &'static str) -> Result<NaiveDate> {
        bcd::decode_date(field, &self.take::<4>())
    }

    pub(crate) fn datetime(&mut self, field: &'static str) -> Result<NaiveDateTime> {
        bcd::decode_datetime(field, &self.take::<7>())
    }

    /// A date-time that is all zeros when unset.
    pub(crate) fn optional_datetime(
        &mut self,
        field: &'static str,
    ) -> Result<Option<NaiveDateTime>> {
        let raw = self.take::<7>();
        if raw == [0; 7] {
            Ok(None)
        } else {
            bcd::decode_datetime(field, &raw).map(Some)
        }
    }
}

/// Writes fields in order.
#[derive(Default)]
pub(crate) struct FieldWriter(Vec<u8>);

impl FieldWriter {
    pub(crate) fn put(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.extend_from_slice(bytes);
        self
    }

    pub(crate) fn u24(&mut self, v: u32) -> &mut Self {
        self.put(&v.to_be_bytes()[1..])
    }

    pub(crate) fn date(&mut self, d: NaiveDate) -> &mut Self {
        self.put(&bcd::encode_date(d))
    }

    pub(crate) fn datetime(&mut self, dt: NaiveDateTime) -> &mut Self {
        self.put(&bcd::encode_datetime(dt))
    }

    pub(crate) fn optional_datetime(&mut self, dt: Option<NaiveDateTime>) -> &mut Self {
        match dt {
            Some(dt) => self.datetime(dt),
            None => self.put(&[0; 7]),
        }
    }

    pub(crate) fn finish(self, expected: usize) -> Vec<u8> {
        debug_assert_eq!(self.0.len(), expected);
        self.0
    }
}
