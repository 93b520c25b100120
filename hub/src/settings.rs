//! The hub's own settings, read once (from `hutong serve`'s configuration or a command's flags)
//! and passed down to every part that needs them: the hub's participant code, the daily
//! cut-off with the UTC offset of local time, and the acceptance window of transaction times.
//!
//! Nothing else in the hub assumes a time zone: terminals stamp transactions in local time, and
//! local time is `UTC + offset` where `offset` is [`HubSettings::offset`] (UTC+8, China
//! Standard Time, by default).

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, Utc};
use reconciliation::CutOff;

/// The hub's participant code, cut-off, local time and acceptance window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubSettings {
    /// The hub's own participant code: the payee of hub fees, the sender of result, resend and
    /// outbound files; it gets no outbound package.
    pub hub_code: String,
    /// The daily cut-off, which also carries the offset of local time from UTC.
    pub cutoff: CutOff,
    /// Which transaction times a file may carry, relative to its receipt (`R06`).
    pub acceptance: AcceptanceWindow,
}

impl Default for HubSettings {
    /// Hub code `HUB`, cut-off 23:00 UTC+8, acceptance 30 days back and nothing ahead.
    fn default() -> Self {
        HubSettings {
            hub_code: "HUB".into(),
            cutoff: CutOff::default(),
            acceptance: AcceptanceWindow::default(),
        }
    }
}

impl HubSettings {
    /// The offset of local time from UTC.
    pub fn offset(&self) -> FixedOffset {
        self.cutoff.offset
    }

    /// Local wall-clock time of the instant `t`.
    pub fn local_time(&self, t: DateTime<Utc>) -> NaiveDateTime {
        t.with_timezone(&self.offset()).naive_local()
    }

    /// The local calendar day of the instant `t`.
    pub fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        self.local_time(t).date()
    }

    /// The earliest and latest acceptable local transaction time for a file received at
    /// `received`.
    pub fn acceptance_bounds(&self, received: DateTime<Utc>) -> (NaiveDateTime, NaiveDateTime) {
        self.acceptance.bounds(self.local_time(received))
    }
}

/// Which transaction times a file may carry, relative to when the hub received it: from
/// `back_days` before to `ahead_seconds` after the receipt, in local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcceptanceWindow {
    /// Days back (default 30).
    pub back_days: u32,
    /// Seconds ahead (default 0: a transaction cannot be later than its file's receipt).
    pub ahead_seconds: u32,
}

impl Default for AcceptanceWindow {
    fn default() -> AcceptanceWindow {
        AcceptanceWindow {
            back_days: 30,
            ahead_seconds: 0,
        }
    }
}

impl AcceptanceWindow {
    /// The earliest and latest acceptable local time for a file received at local time
    /// `local_receipt`.
    pub fn bounds(&self, local_receipt: NaiveDateTime) -> (NaiveDateTime, NaiveDateTime) {
        (
            local_receipt - Duration::days(i64::from(self.back_days)),
            local_receipt + Duration::seconds(i64::from(self.ahead_seconds)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn local_time_follows_the_configured_offset() {
        let mut hub = HubSettings::default();
        let t = at("2026-11-21T16:30:00Z");
        assert_eq!(hub.local_time(t).to_string(), "2026-11-22 00:30:00");
        hub.cutoff.offset = FixedOffset::east_opt(0).unwrap();
        assert_eq!(hub.local_time(t).to_string(), "2026-11-21 16:30:00");
        assert_eq!(hub.local_date(t).to_string(), "2026-11-21");
    }

    #[test]
    fn acceptance_bounds_are_taken_in_local_time() {
        let hub = HubSettings {
            acceptance: AcceptanceWindow {
                back_days: 2,
                ahead_seconds: 60,
            },
            ..HubSettings::default()
        };
        let (earliest, latest) = hub.acceptance_bounds(at("2026-11-21T16:00:00Z"));
        assert_eq!(earliest.to_string(), "2026-11-20 00:00:00");
        assert_eq!(latest.to_string(), "2026-11-22 00:01:00");
    }
}
