//! Settlement windows: which settlement day a received record belongs to.
//!
//! Each settlement day D has one window. At D's cut-off the window closes and takes every
//! accepted record received before that moment that is not yet in a window; a record received
//! later — or a late one that arrives after D closed — goes to the next open window. The
//! cut-off is a local time in a fixed offset: Asia/Shanghai is UTC+8 all year (China has no
//! daylight saving time), so no time-zone database is needed.

use chrono::{DateTime, Days, FixedOffset, NaiveDate, NaiveTime, Utc};

/// A daily cut-off: a local time of day in a fixed UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CutOff {
    /// Local time of day at which the day's window closes.
    pub time: NaiveTime,
    /// The offset of local time from UTC.
    pub offset: FixedOffset,
}

impl Default for CutOff {
    /// 23:00 Asia/Shanghai (UTC+8).
    fn default() -> Self {
        CutOff::shanghai(NaiveTime::from_hms_opt(23, 0, 0).expect("valid time"))
    }
}

impl CutOff {
    /// A cut-off at `time` Asia/Shanghai (UTC+8).
    pub fn shanghai(time: NaiveTime) -> CutOff {
        CutOff {
            time,
            offset: FixedOffset::east_opt(8 * 3600).expect("valid offset"),
        }
    }

    /// The moment day `day`'s window closes.
    pub fn instant(&self, day: NaiveDate) -> DateTime<Utc> {
        day.and_time(self.time)
            .and_local_timezone(self.offset)
            .single()
            .expect("a fixed offset maps every local time to one instant")
            .with_timezone(&Utc)
    }

    /// The settlement day whose window a record received at `received_at` falls into, if that
    /// window is still open when the record arrives: the local date, or the next day when the
    /// record arrived at or after the local cut-off.
    pub fn settlement_day(&self, received_at: DateTime<Utc>) -> NaiveDate {
        let local = received_at.with_timezone(&self.offset);
        let date = local.date_naive();
        if local.time() >= self.time {
            date.checked_add_days(Days::new(1)).expect("date in range")
        } else {
            date
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn records_after_the_shanghai_cut_off_belong_to_the_next_day() {
        let c = CutOff::default();
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            c.settlement_day(utc("2026-11-21T14:59:59Z")),
            d("2026-11-21"),
            "22:59:59 local"
        );
        assert_eq!(
            c.settlement_day(utc("2026-11-21T15:00:00Z")),
            d("2026-11-22"),
            "23:00 local"
        );
        assert_eq!(
            c.settlement_day(utc("2026-11-21T16:30:00Z")),
            d("2026-11-22"),
            "00:30 local next day"
        );
        assert_eq!(c.instant(d("2026-11-21")), utc("2026-11-21T15:00:00Z"));
    }
}
