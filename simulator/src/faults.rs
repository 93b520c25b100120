//! `--faults SPEC`: which faults a simulated day carries, and how many.
//!
//! # Grammar
//!
//! ```text
//! spec  = "none" | "default" | item ("," item)*
//! item  = "default" | "none" | name "=" value
//! value = rate | count
//! rate  = "0" | "1" | "0." digit{1,6}     (per-record faults: a probability, at most 6 decimals)
//! count = digit+                         (per-file and per-card faults: how many, at most 1000)
//! ```
//!
//! Items apply left to right: `default` sets every fault to its default, `none` sets every
//! fault to zero, `name=value` sets one. A spec that does not start with `default` starts from
//! `none`, so `tac=0.01` means "only tampered TACs" and `default,tac=0.01` means "the default
//! day with more tampered TACs". Rates are kept as integer parts per million; nothing here is
//! a float.
//!
//! | name | kind | default | what it injects |
//! |---|---|---|---|
//! | `dup-record` | rate | 0.0005 | a record written twice in its acquirer's file (`R03`) |
//! | `tac` | rate | 0.0005 | a record whose TAC is altered (`R02`, or `tac_invalid` from the issuer's partner when the hub lacks the key) |
//! | `result-drop` | rate | 0.0005 | a record a partner's result file leaves out (`missing_at_partner`) |
//! | `result-alter` | rate | 0.0005 | a record a partner's result file gives another amount (`amount_mismatch`) |
//! | `dup-file` | count | 1 | a file delivered twice, byte for byte (`duplicate_file`) |
//! | `clone` | count | 1 | a card cloned: two cards, one serial and counter, both used (`counter_clash`) |
//! | `gap` | count | 2 | a transaction a card did that reaches no file (`counter_gap`) |
//! | `blacklisted` | count | 2 | a card used after its issuer blacklisted it (`R04`) |
//! | `late-file` | count | 1 | a file of the previous day delivered today (`late_presentment`) |
//! | `truncated` | count | 1 | a delivery cut short, before the complete file (`F01`) |
//! | `bad-trailer` | count | 1 | a delivery whose trailer total disagrees, before the correct file (`F02`) |

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Every kind of fault the simulator injects. The names are those of the `--faults` grammar
/// and of `ground-truth.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// A record written twice.
    DupRecord,
    /// An altered TAC.
    Tac,
    /// A partner's result file leaves a record out.
    ResultDrop,
    /// A partner's result file alters a record's amount.
    ResultAlter,
    /// A file delivered twice.
    DupFile,
    /// A cloned card.
    Clone,
    /// A transaction that reaches no file (a gap in the card's counter).
    Gap,
    /// A card used after its blacklisting.
    Blacklisted,
    /// A file of the previous day delivered today.
    LateFile,
    /// A delivery cut short.
    Truncated,
    /// A delivery whose trailer disagrees with its records.
    BadTrailer,
}

impl FaultKind {
    /// Every kind, in the order of the grammar's table.
    pub const ALL: [FaultKind; 11] = [
        FaultKind::DupRecord,
        FaultKind::Tac,
        FaultKind::ResultDrop,
        FaultKind::ResultAlter,
        FaultKind::DupFile,
        FaultKind::Clone,
        FaultKind::Gap,
        FaultKind::Blacklisted,
        FaultKind::LateFile,
        FaultKind::Truncated,
        FaultKind::BadTrailer,
    ];

    /// The name in the grammar and the ground truth.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::DupRecord => "dup-record",
            FaultKind::Tac => "tac",
            FaultKind::ResultDrop => "result-drop",
            FaultKind::ResultAlter => "result-alter",
            FaultKind::DupFile => "dup-file",
            FaultKind::Clone => "clone",
            FaultKind::Gap => "gap",
            FaultKind::Blacklisted => "blacklisted",
            FaultKind::LateFile => "late-file",
            FaultKind::Truncated => "truncated",
            FaultKind::BadTrailer => "bad-trailer",
        }
    }

    /// Whether the value is a per-record rate (otherwise a count).
    pub fn is_rate(self) -> bool {
        matches!(
            self,
            FaultKind::DupRecord | FaultKind::Tac | FaultKind::ResultDrop | FaultKind::ResultAlter
        )
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The largest count a per-file or per-card fault may ask for.
pub const MAX_COUNT: u32 = 1000;

/// How many of each fault a day carries: rates in parts per million for per-record faults,
/// counts for the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultSpec {
    values: [u32; 11],
}

impl FaultSpec {
    /// No faults at all.
    pub const NONE: FaultSpec = FaultSpec { values: [0; 11] };

    /// The default day: rates of 0.0005 (500 ppm), one duplicated file, one clone, two gaps,
    /// two blacklisted cards, one late file, one truncated and one bad-trailer delivery.
    pub const DEFAULT: FaultSpec = FaultSpec {
        values: [500, 500, 500, 500, 1, 1, 2, 2, 1, 1, 1],
    };

    fn slot(kind: FaultKind) -> usize {
        FaultKind::ALL
            .iter()
            .position(|k| *k == kind)
            .unwrap_or_default()
    }

    /// The value of a fault: parts per million for a rate, a number for a count.
    pub fn get(&self, kind: FaultKind) -> u32 {
        self.values[FaultSpec::slot(kind)]
    }

    /// Sets a fault's value (ppm for a rate, capped at 1 000 000; a count, capped at
    /// [`MAX_COUNT`]).
    pub fn set(&mut self, kind: FaultKind, value: u32) {
        let cap = if kind.is_rate() { 1_000_000 } else { MAX_COUNT };
        self.values[FaultSpec::slot(kind)] = value.min(cap);
    }

    /// Whether no fault is asked for.
    pub fn is_none(&self) -> bool {
        self.values.iter().all(|v| *v == 0)
    }
}

impl Default for FaultSpec {
    fn default() -> Self {
        FaultSpec::DEFAULT
    }
}

/// Parses a rate: `0`, `1`, `1.0`, or `0.` with 1–6 digits; returns parts per million.
fn parse_rate(text: &str) -> Result<u32, String> {
    let bad = || {
        format!(
            "{text:?} is not a rate: expected a decimal between 0 and 1 with at most 6 decimals, e.g. 0.001"
        )
    };
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 6
        || (text.contains('.') && frac.is_empty())
    {
        return Err(bad());
    }
    let whole: u32 = whole.parse().map_err(|_| bad())?;
    let mut ppm: u32 = 0;
    for (i, d) in frac.bytes().enumerate() {
        ppm += u32::from(d - b'0') * 10u32.pow(5 - i as u32);
    }
    match whole {
        0 => Ok(ppm),
        1 if ppm == 0 => Ok(1_000_000),
        _ => Err(format!("{text:?} is not a rate: it must not be above 1")),
    }
}

fn format_rate(ppm: u32) -> String {
    if ppm >= 1_000_000 {
        return "1".into();
    }
    if ppm == 0 {
        return "0".into();
    }
    let digits = format!("{ppm:06}");
    format!("0.{}", digits.trim_end_matches('0'))
}

impl FromStr for FaultSpec {
    type Err = String;

    /// Parses the grammar of the module docs; the error names the item that is wrong.
    fn from_str(s: &str) -> Result<FaultSpec, String> {
        let mut spec = FaultSpec::NONE;
        let s = s.trim();
        if s.is_empty() {
            return Err(
                "empty: expected none, default or name=value items such as tac=0.001".into(),
            );
        }
        for item in s.split(',').map(str::trim) {
            match item {
                "none" => spec = FaultSpec::NONE,
                "default" => spec = FaultSpec::DEFAULT,
                _ => {
                    let (name, value) = item.split_once('=').ok_or_else(|| {
                        format!("{item:?}: expected name=value (or none, default)")
                    })?;
                    let kind = FaultKind::ALL
                        .into_iter()
                        .find(|k| k.as_str() == name.trim())
                        .ok_or_else(|| {
                            let names: Vec<&str> =
                                FaultKind::ALL.iter().map(|k| k.as_str()).collect();
                            format!(
                                "unknown fault {:?}; the faults are {}",
                                name.trim(),
                                names.join(", ")
                            )
                        })?;
                    let value = value.trim();
                    let v = if kind.is_rate() {
                        parse_rate(value).map_err(|e| format!("{name}: {e}"))?
                    } else {
                        let n: u32 = value
                            .parse()
                            .ok()
                            .filter(|n| *n <= MAX_COUNT && value.bytes().all(|b| b.is_ascii_digit()))
                            .ok_or_else(|| {
                                format!(
                                    "{name}: {value:?} is not a count: expected a whole number from 0 to {MAX_COUNT}"
                                )
                            })?;
                        n
                    };
                    spec.set(kind, v);
                }
            }
        }
        Ok(spec)
    }
}

impl fmt::Display for FaultSpec {
    /// The normalised spec: `none`, or every fault with its value in the table's order (a
    /// form that parses back to the same spec).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_none() {
            return f.write_str("none");
        }
        let items: Vec<String> = FaultKind::ALL
            .iter()
            .map(|k| {
                let v = self.get(*k);
                if k.is_rate() {
                    format!("{k}={}", format_rate(v))
                } else {
                    format!("{k}={v}")
                }
            })
            .collect();
        f.write_str(&items.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rates_counts_none_and_default() {
        let s: FaultSpec = "dup-record=0.001,dup-file=1,tac=0.0005,clone=2,gap=3,blacklisted=2,late-file=1,truncated=1,bad-trailer=1,result-drop=0.001,result-alter=0.001"
            .parse()
            .unwrap();
        assert_eq!(s.get(FaultKind::DupRecord), 1000);
        assert_eq!(s.get(FaultKind::Tac), 500);
        assert_eq!(s.get(FaultKind::Gap), 3);
        assert_eq!(s.get(FaultKind::ResultAlter), 1000);
        assert_eq!("none".parse::<FaultSpec>().unwrap(), FaultSpec::NONE);
        assert_eq!("default".parse::<FaultSpec>().unwrap(), FaultSpec::DEFAULT);
        let only: FaultSpec = "tac=1".parse().unwrap();
        assert_eq!(only.get(FaultKind::Tac), 1_000_000);
        assert_eq!(only.get(FaultKind::Clone), 0);
        let over: FaultSpec = "default,clone=5,tac=0".parse().unwrap();
        assert_eq!(over.get(FaultKind::Clone), 5);
        assert_eq!(over.get(FaultKind::Tac), 0);
        assert_eq!(over.get(FaultKind::Gap), 2);
    }

    #[test]
    fn display_is_normalised_and_parses_back() {
        for spec in [FaultSpec::DEFAULT, FaultSpec::NONE] {
            assert_eq!(spec.to_string().parse::<FaultSpec>().unwrap(), spec);
        }
        assert!(
            FaultSpec::DEFAULT
                .to_string()
                .starts_with("dup-record=0.0005,tac=0.0005,")
        );
        let s: FaultSpec = "tac=0.000001,clone=1000".parse().unwrap();
        assert_eq!(s.to_string().parse::<FaultSpec>().unwrap(), s);
    }

    #[test]
    fn errors_name_the_item() {
        for (spec, needle) in [
            ("tac=2", "above 1"),
            ("tac=0.0000001", "at most 6 decimals"),
            ("tac=-0.1", "not a rate"),
            ("tac=.5", "not a rate"),
            ("clone=0.5", "clone"),
            ("clone=1001", "0 to 1000"),
            ("teleport=1", "unknown fault \"teleport\""),
            ("tac", "expected name=value"),
            ("", "empty"),
        ] {
            let err = spec.parse::<FaultSpec>().unwrap_err();
            assert!(err.contains(needle), "{spec}: {err}");
        }
    }
}
