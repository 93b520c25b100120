//! Fee schedules: rules matched on scheme, industry, acquirer and issuer with wildcards, the most
//! specific rule winning, and the fee arithmetic.
//!
//! # The rule, with a worked example
//!
//! A fee is computed once per (window, payer, payee, rule) on the aggregate of every
//! transaction that rule matched between that payer and payee:
//!
//! ```text
//! raw  = rate × Σ amount_fen + fixed_fen × count        (exact, rust_decimal)
//! fee  = raw rounded once to whole fen, half-up (0.5 fen → 1 fen)
//! fee  = max(fee, min_fen); if max_fen > 0 { fee = min(fee, max_fen) }
//! ```
//!
//! `min_fen` and `max_fen` bound the fee of that aggregate, i.e. per settlement day and
//! payer/payee pair under that rule — the fee is not computed per transaction.
//!
//! Example: rule `retail, rate 0.0070, fixed 0`, acquirer `RZ` and issuer `QD`, 10 purchases of
//! 200 fen and 3 of 150 fen in the window: Σ = 2450 fen; raw = 0.0070 × 2450 = 17.15 fen; fee
//! = 17 fen, paid by `RZ` (the acquirer) to `QD` (the issuer). Had Σ been 2500 fen, raw = 17.50
//! and the fee 18 fen.
//!
//! Specificity: a rule's specificity is the number of its four match fields that are not `*`.
//! Among the rules that match, the most specific wins; between equally specific rules the one
//! written first wins (the schedule is read top to bottom, like a firewall).

use std::str::FromStr;

use card_standards::{Industry, Scheme};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Deserialize;

use crate::error::{Error, Result};

/// A match field: a value or `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern<T> {
    /// Matches anything.
    Any,
    /// Matches this value only.
    Exactly(T),
}

impl<T: PartialEq> Pattern<T> {
    fn matches(&self, v: &T) -> bool {
        match self {
            Pattern::Any => true,
            Pattern::Exactly(x) => x == v,
        }
    }

    fn is_specific(&self) -> bool {
        matches!(self, Pattern::Exactly(_))
    }
}

/// Who pays a fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeePayer {
    /// The acquirer of the transactions.
    Acquirer,
    /// The card issuer's clearing participant.
    Issuer,
}

/// Who earns a fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeePayee {
    /// The card issuer's clearing participant.
    Issuer,
    /// The acquirer.
    Acquirer,
    /// The hub itself.
    Hub,
}

/// One rule of a fee schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeRule {
    /// 1-based position in the schedule, for explanations.
    pub number: usize,
    /// Card scheme.
    pub scheme: Pattern<Scheme>,
    /// Industry.
    pub industry: Pattern<Industry>,
    /// Acquirer participant code.
    pub acquirer: Pattern<String>,
    /// Issuer's clearing participant code.
    pub issuer: Pattern<String>,
    /// Who pays.
    pub payer: FeePayer,
    /// Who earns.
    pub payee: FeePayee,
    /// Proportional rate (a decimal, never a float).
    pub rate: Decimal,
    /// Fixed fee per transaction, fen.
    pub fixed_fen: i64,
    /// Minimum fee of the aggregate, fen.
    pub min_fen: i64,
    /// Maximum fee of the aggregate, fen; 0 = no cap.
    pub max_fen: i64,
}

impl FeeRule {
    /// How many of the four match fields are not `*`.
    pub fn specificity(&self) -> usize {
        [
            self.scheme.is_specific(),
            self.industry.is_specific(),
            self.acquirer.is_specific(),
            self.issuer.is_specific(),
        ]
        .into_iter()
        .filter(|s| *s)
        .count()
    }

    /// Whether the rule applies to transactions of this kind between these participants.
    pub fn matches(
        &self,
        scheme: Scheme,
        industry: Industry,
        acquirer: &str,
        issuer: &str,
    ) -> bool {
        self.scheme.matches(&scheme)
            && self.industry.matches(&industry)
            && self.acquirer.matches(&acquirer.to_string())
            && self.issuer.matches(&issuer.to_string())
    }

    /// A one-line description for statements: `rule 3 (retail, *, *, *): 0.0070 + 0 fen`.
    pub fn describe(&self) -> String {
        fn p<T: std::fmt::Display>(x: &Pattern<T>) -> String {
            match x {
                Pattern::Any => "*".into(),
                Pattern::Exactly(v) => v.to_string(),
            }
        }
        format!(
            "rule {} (scheme {}, industry {}, acquirer {}, issuer {}): rate {} + {} fen/tx",
            self.number,
            p(&self.scheme),
            p(&self.industry),
            p(&self.acquirer),
            p(&self.issuer),
            self.rate,
            self.fixed_fen
        )
    }

    /// The fee on an aggregate of `count` transactions totalling `amount_fen`, with the raw
    /// (unrounded) value for explanation.
    pub fn fee(&self, count: u64, amount_fen: i64) -> Result<(Decimal, i64)> {
        let raw = self.rate * Decimal::from(amount_fen)
            + Decimal::from(self.fixed_fen) * Decimal::from(count);
        let rounded = raw.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
        let mut fee = i64::try_from(rounded).map_err(|_| Error::Overflow("fee"))?;
        fee = fee.max(self.min_fen);
        if self.max_fen > 0 {
            fee = fee.min(self.max_fen);
        }
        Ok((raw, fee))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    #[serde(default)]
    fee: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(default = "star")]
    scheme: String,
    #[serde(default = "star")]
    industry: String,
    #[serde(default = "star")]
    acquirer: String,
    #[serde(default = "star")]
    issuer: String,
    payer: FeePayer,
    payee: FeePayee,
    rate: String,
    #[serde(default)]
    fixed_fen: i64,
    #[serde(default)]
    min_fen: i64,
    #[serde(default)]
    max_fen: i64,
}

fn star() -> String {
    "*".into()
}

fn pattern<T: FromStr>(rule: usize, field: &str, text: &str) -> Result<Pattern<T>>
where
    T::Err: std::fmt::Display,
{
    if text == "*" {
        return Ok(Pattern::Any);
    }
    text.parse::<T>()
        .map(Pattern::Exactly)
        .map_err(|e| Error::FeeSchedule {
            rule: Some(rule),
            field: field.into(),
            reason: e.to_string(),
        })
}

/// A fee schedule: the ordered list of rules of a TOML file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeeSchedule {
    rules: Vec<FeeRule>,
}

impl FeeSchedule {
    /// Parses the TOML form (`[[fee]]` tables; see the module docs).
    pub fn from_toml(text: &str) -> Result<FeeSchedule> {
        let raw: RawSchedule = toml::from_str(text).map_err(|e| Error::FeeSchedule {
            rule: None,
            field: "file".into(),
            reason: e.to_string(),
        })?;
        let mut rules = Vec::with_capacity(raw.fee.len());
        for (i, r) in raw.fee.into_iter().enumerate() {
            let number = i + 1;
            let bad = |field: &str, reason: String| Error::FeeSchedule {
                rule: Some(number),
                field: field.into(),
                reason,
            };
            let rate = Decimal::from_str_exact(&r.rate)
                .map_err(|e| bad("rate", format!("{:?} is not a decimal: {e}", r.rate)))?;
            if rate.is_sign_negative() {
                return Err(bad("rate", "must not be negative".into()));
            }
            for (field, v) in [
                ("fixed_fen", r.fixed_fen),
                ("min_fen", r.min_fen),
                ("max_fen", r.max_fen),
            ] {
                if v < 0 {
                    return Err(bad(field, "must not be negative".into()));
                }
            }
            if r.max_fen > 0 && r.min_fen > r.max_fen {
                return Err(bad(
                    "min_fen",
                    format!("{} exceeds max_fen {}", r.min_fen, r.max_fen),
                ));
            }
            let payer_matches_payee = matches!(
                (r.payer, r.payee),
                (FeePayer::Acquirer, FeePayee::Acquirer) | (FeePayer::Issuer, FeePayee::Issuer)
            );
            if payer_matches_payee {
                return Err(bad(
                    "payee",
                    "a participant cannot pay a fee to itself".into(),
                ));
            }
            rules.push(FeeRule {
                number,
                scheme: pattern(number, "scheme", &r.scheme)?,
                industry: pattern(number, "industry", &r.industry)?,
                acquirer: pattern(number, "acquirer", &r.acquirer)?,
                issuer: pattern(number, "issuer", &r.issuer)?,
                payer: r.payer,
                payee: r.payee,
                rate,
                fixed_fen: r.fixed_fen,
                min_fen: r.min_fen,
                max_fen: r.max_fen,
            });
        }
        Ok(FeeSchedule { rules })
    }

    /// The rules in file order.
    pub fn rules(&self) -> &[FeeRule] {
        &self.rules
    }

    /// The rule that applies: the most specific match, the first written among equals.
    pub fn rule_for(
        &self,
        scheme: Scheme,
        industry: Industry,
        acquirer: &str,
        issuer: &str,
    ) -> Option<&FeeRule> {
        let mut best: Option<&FeeRule> = None;
        for rule in self
            .rules
            .iter()
            .filter(|r| r.matches(scheme, industry, acquirer, issuer))
        {
            if best.is_none_or(|b| rule.specificity() > b.specificity()) {
                best = Some(rule);
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEDULE: &str = r#"
        [[fee]]
        industry = "retail"
        payer = "acquirer"
        payee = "issuer"
        rate = "0.0070"

        [[fee]]
        scheme = "mot"
        payer = "acquirer"
        payee = "hub"
        rate = "0.0010"
        fixed_fen = 1

        [[fee]]
        scheme = "mot"
        industry = "bus"
        acquirer = "QD"
        payer = "issuer"
        payee = "acquirer"
        rate = "0.0050"
        min_fen = 100
        max_fen = 5000
    "#;

    #[test]
    fn the_worked_example_of_the_docs_holds() {
        let s = FeeSchedule::from_toml(SCHEDULE).unwrap();
        let rule = s
            .rule_for(Scheme::Local, Industry::Retail, "RZ", "QD")
            .unwrap();
        assert_eq!(rule.number, 1);
        let (raw, fee) = rule.fee(13, 10 * 200 + 3 * 150).unwrap();
        assert_eq!(raw.to_string(), "17.1500");
        assert_eq!(fee, 17);
        assert_eq!(rule.fee(13, 2500).unwrap().1, 18, "half rounds up");
    }

    #[test]
    fn the_most_specific_rule_wins_and_ties_go_to_the_first() {
        let s = FeeSchedule::from_toml(SCHEDULE).unwrap();
        assert_eq!(
            s.rule_for(Scheme::Mot, Industry::Bus, "QD", "X")
                .unwrap()
                .number,
            3
        );
        assert_eq!(
            s.rule_for(Scheme::Mot, Industry::Bus, "RZ", "X")
                .unwrap()
                .number,
            2
        );
        // mot + retail: rule 1 (industry) and rule 2 (scheme) are equally specific → rule 1.
        assert_eq!(
            s.rule_for(Scheme::Mot, Industry::Retail, "RZ", "X")
                .unwrap()
                .number,
            1
        );
        assert!(
            s.rule_for(Scheme::Local, Industry::Bus, "RZ", "X")
                .is_none()
        );
    }

    #[test]
    fn min_and_max_bound_the_aggregate_fee() {
        let s = FeeSchedule::from_toml(SCHEDULE).unwrap();
        let r = &s.rules()[2];
        assert_eq!(r.fee(1, 100).unwrap().1, 100, "minimum");
        assert_eq!(r.fee(10, 10_000_000).unwrap().1, 5000, "cap");
        assert_eq!(
            s.rules()[1].fee(3, 1000).unwrap().1,
            4,
            "1 fen + 3 × 1 fen fixed"
        );
    }

    #[test]
    fn rejects_a_float_rate_a_negative_fee_and_an_unknown_field_naming_the_rule() {
        for (text, expect) in [
            (
                "[[fee]]\npayer=\"acquirer\"\npayee=\"issuer\"\nrate=0.007",
                "file",
            ),
            (
                "[[fee]]\npayer=\"acquirer\"\npayee=\"issuer\"\nrate=\"abc\"",
                "rule 1: rate",
            ),
            (
                "[[fee]]\npayer=\"acquirer\"\npayee=\"issuer\"\nrate=\"0.1\"\nmin_fen=-1",
                "rule 1: min_fen",
            ),
            (
                "[[fee]]\npayer=\"acquirer\"\npayee=\"acquirer\"\nrate=\"0.1\"",
                "rule 1: payee",
            ),
            (
                "[[fee]]\npayer=\"acquirer\"\npayee=\"issuer\"\nrate=\"0.1\"\nscheme=\"visa\"",
                "rule 1: scheme",
            ),
            (
                "[[fee]]\npayer=\"acquirer\"\npayee=\"issuer\"\nrate=\"0.1\"\nrat=\"1\"",
                "file",
            ),
        ] {
            let err = FeeSchedule::from_toml(text).unwrap_err().to_string();
            assert!(err.contains(expect), "{text}: {err}");
        }
    }
}
