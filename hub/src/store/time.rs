//! [`Timestamp`]: a UTC time to the microsecond that both backends store the same way in
//! effect — `TIMESTAMPTZ` on PostgreSQL, fixed-width text `YYYY-MM-DDTHH:MM:SS.ffffffZ` on
//! SQLite, so that comparisons in SQL (`next_attempt_at <= $1`) work on both and a value reads
//! back exactly as written (the audit chain hashes it).

use std::fmt;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Serialize, Serializer};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteArgumentsBuffer, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Postgres, Sqlite, Type};

/// A settlement day as the database stores it (`files.window_day`, …): `YYYY-MM-DD`.
pub(super) fn day_text(day: chrono::NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// A UTC time truncated to microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// Now.
    pub fn now() -> Timestamp {
        Timestamp::from_datetime(Utc::now())
    }

    /// A chrono time, truncated to microseconds.
    pub fn from_datetime(dt: DateTime<Utc>) -> Timestamp {
        Timestamp(dt.trunc_subsecs(6))
    }

    /// As a chrono time.
    pub fn datetime(self) -> DateTime<Utc> {
        self.0
    }

    /// This time plus `d` (saturating far in the future).
    pub fn plus(self, d: std::time::Duration) -> Timestamp {
        let d = chrono::Duration::from_std(d).unwrap_or(chrono::Duration::days(36500));
        Timestamp(self.0.checked_add_signed(d).unwrap_or(self.0))
    }

    /// The fixed-width text form, `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    pub fn to_text(self) -> String {
        self.0.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_text())
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|dt| Timestamp::from_datetime(dt.with_timezone(&Utc)))
            .map_err(serde::de::Error::custom)
    }
}

impl Type<Sqlite> for Timestamp {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
}

impl Encode<'_, Sqlite> for Timestamp {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        Encode::<Sqlite>::encode(self.to_text(), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Timestamp {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<Sqlite>>::decode(value)?;
        let dt = DateTime::parse_from_rfc3339(text)?;
        Ok(Timestamp::from_datetime(dt.with_timezone(&Utc)))
    }
}

impl Type<Postgres> for Timestamp {
    fn type_info() -> PgTypeInfo {
        <DateTime<Utc> as Type<Postgres>>::type_info()
    }
}

impl Encode<'_, Postgres> for Timestamp {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        Encode::<Postgres>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Postgres> for Timestamp {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Timestamp::from_datetime(<DateTime<Utc> as Decode<
            Postgres,
        >>::decode(value)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_is_fixed_width_and_sorts_like_time() {
        let a = Timestamp::from_datetime("2026-01-02T03:04:05Z".parse().unwrap());
        let b = a.plus(std::time::Duration::from_micros(500_000));
        assert_eq!(a.to_text(), "2026-01-02T03:04:05.000000Z");
        assert_eq!(b.to_text(), "2026-01-02T03:04:05.500000Z");
        assert!(a.to_text() < b.to_text());
    }
}
