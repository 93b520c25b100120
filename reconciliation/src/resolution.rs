//! Rules that resolve what is certain without a person. Each decision names the rule that made
//! it. The rules are configuration (`[resolution]` in TOML); the defaults:
//!
//! | order | rule | applies to | decision |
//! |---|---|---|---|
//! | 1 | `resend_missing` | `missing_at_partner`, fewer than `max_resends` (1) resends so far | send the record again |
//! | 2 | `chargeback_to_acquirer` | `tac_invalid`, `duplicate`, `blacklisted` | an adjustment reversing the transaction's money: for a purchase the acquirer pays the issuer back |
//! | 3 | `monitor` | `counter_gap`, `late_presentment` | no money; kept for review (a gap may close when the missing record arrives late) |
//! | 4 | `write_off_below_threshold` | amount < `write_off_below_fen` (100 fen), except `counter_clash` and `balance_chain_break` (fraud signals are always investigated) | the write-off account pays the issuer side the amount |
//! | 5 | `dispute` | everything else | a dispute case between the issuer side (claimant) and the acquirer or partner (respondent) |

use serde::Deserialize;

use crate::discrepancy::{DiscrepancyType, Finding};
use crate::error::{Error, Result};
use crate::positions::Flow;

/// The resolution configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResolutionRules {
    /// Below this amount (fen) a discrepancy is written off.
    pub write_off_below_fen: i64,
    /// The participant code of the write-off account.
    pub write_off_account: String,
    /// Types charged back to the acquirer.
    pub chargeback: Vec<DiscrepancyType>,
    /// Types answered by resending the record.
    pub resend: Vec<DiscrepancyType>,
    /// How many times a record is resent before a dispute opens.
    pub max_resends: u32,
    /// Types kept for review without money.
    pub monitor: Vec<DiscrepancyType>,
    /// Types never written off, whatever the amount.
    pub never_write_off: Vec<DiscrepancyType>,
}

impl Default for ResolutionRules {
    fn default() -> Self {
        use DiscrepancyType as D;
        ResolutionRules {
            write_off_below_fen: 100,
            write_off_account: "WRITEOFF".into(),
            chargeback: vec![D::TacInvalid, D::Duplicate, D::Blacklisted],
            resend: vec![D::MissingAtPartner],
            max_resends: 1,
            monitor: vec![D::CounterGap, D::LatePresentment],
            never_write_off: vec![D::CounterClash, D::BalanceChainBreak],
        }
    }
}

impl ResolutionRules {
    /// Parses the `[resolution]` table of a TOML file (absent keys keep their defaults).
    pub fn from_toml(text: &str) -> Result<ResolutionRules> {
        #[derive(Deserialize)]
        struct File {
            #[serde(default)]
            resolution: ResolutionRules,
        }
        toml::from_str::<File>(text)
            .map(|f| f.resolution)
            .map_err(|e| Error::FeeSchedule {
                rule: None,
                field: "resolution".into(),
                reason: e.to_string(),
            })
    }
}

/// What to do about a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Move money back: an adjustment that clears in the next open window.
    Adjust {
        /// Who pays.
        payer: String,
        /// Who receives.
        payee: String,
        /// Fen.
        amount_fen: i64,
    },
    /// Send the record to the partner again.
    Resend,
    /// No money; keep for review.
    Monitor,
    /// Open a dispute case.
    OpenDispute {
        /// Who claims.
        claimant: String,
        /// Who answers.
        respondent: String,
    },
}

/// A decision and the rule that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The rule's name (see the module docs).
    pub rule: &'static str,
    /// The decision.
    pub decision: Decision,
}

/// Decides a finding. `resends` is how many times its record was already resent.
pub fn decide(rules: &ResolutionRules, f: &Finding, resends: u32) -> Resolution {
    let issuer = f.issuer.clone().unwrap_or_default();
    let acquirer = f.acquirer.clone().unwrap_or_default();
    if rules.resend.contains(&f.kind) && resends < rules.max_resends {
        return Resolution {
            rule: "resend_missing",
            decision: Decision::Resend,
        };
    }
    if rules.chargeback.contains(&f.kind)
        && !issuer.is_empty()
        && !acquirer.is_empty()
        && issuer != acquirer
    {
        let (payer, payee) = match f.flow {
            Some(Flow::AcquirerPaysIssuer) => (issuer, acquirer),
            _ => (acquirer, issuer),
        };
        return Resolution {
            rule: "chargeback_to_acquirer",
            decision: Decision::Adjust {
                payer,
                payee,
                amount_fen: f.amount_fen,
            },
        };
    }
    if rules.monitor.contains(&f.kind) {
        return Resolution {
            rule: "monitor",
            decision: Decision::Monitor,
        };
    }
    let claimant = if issuer.is_empty() {
        f.participants.first().cloned().unwrap_or_default()
    } else {
        issuer
    };
    if f.amount_fen < rules.write_off_below_fen
        && !rules.never_write_off.contains(&f.kind)
        && claimant != rules.write_off_account
    {
        return Resolution {
            rule: "write_off_below_threshold",
            decision: Decision::Adjust {
                payer: rules.write_off_account.clone(),
                payee: claimant,
                amount_fen: f.amount_fen,
            },
        };
    }
    let respondent = if !acquirer.is_empty() && acquirer != claimant {
        acquirer
    } else {
        f.participants
            .iter()
            .find(|p| **p != claimant)
            .cloned()
            .unwrap_or_default()
    };
    Resolution {
        rule: "dispute",
        decision: Decision::OpenDispute {
            claimant,
            respondent,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(kind: DiscrepancyType, amount: i64) -> Finding {
        Finding {
            kind,
            participants: vec!["MOT".into(), "QD".into()],
            acquirer: Some("QD".into()),
            issuer: Some("MOT".into()),
            flow: Some(Flow::IssuerPaysAcquirer),
            records: vec![1],
            amount_fen: amount,
            detail: String::new(),
        }
    }

    #[test]
    fn each_default_rule_decides_its_cases_and_names_itself() {
        let r = ResolutionRules::default();
        let d = decide(&r, &finding(DiscrepancyType::TacInvalid, 5000), 0);
        assert_eq!(d.rule, "chargeback_to_acquirer");
        assert_eq!(
            d.decision,
            Decision::Adjust {
                payer: "QD".into(),
                payee: "MOT".into(),
                amount_fen: 5000
            }
        );

        assert_eq!(
            decide(&r, &finding(DiscrepancyType::MissingAtPartner, 5000), 0).decision,
            Decision::Resend
        );
        assert_eq!(
            decide(&r, &finding(DiscrepancyType::MissingAtPartner, 5000), 1).rule,
            "dispute"
        );
        assert_eq!(
            decide(&r, &finding(DiscrepancyType::CounterGap, 5000), 0).decision,
            Decision::Monitor
        );

        let small = decide(&r, &finding(DiscrepancyType::AmountMismatch, 50), 0);
        assert_eq!(small.rule, "write_off_below_threshold");
        assert_eq!(
            small.decision,
            Decision::Adjust {
                payer: "WRITEOFF".into(),
                payee: "MOT".into(),
                amount_fen: 50
            }
        );

        assert_eq!(
            decide(&r, &finding(DiscrepancyType::CounterClash, 50), 0).rule,
            "dispute",
            "fraud is never written off"
        );
        let big = decide(&r, &finding(DiscrepancyType::RejectedByIssuer, 5000), 0);
        assert_eq!(
            big.decision,
            Decision::OpenDispute {
                claimant: "MOT".into(),
                respondent: "QD".into()
            }
        );
    }

    #[test]
    fn a_chargeback_of_a_load_moves_money_the_other_way() {
        let mut f = finding(DiscrepancyType::Duplicate, 1000);
        f.flow = Some(Flow::AcquirerPaysIssuer);
        let d = decide(&ResolutionRules::default(), &f, 0);
        assert_eq!(
            d.decision,
            Decision::Adjust {
                payer: "MOT".into(),
                payee: "QD".into(),
                amount_fen: 1000
            }
        );
    }

    #[test]
    fn rules_come_from_toml_with_defaults_for_what_is_absent() {
        let r = ResolutionRules::from_toml(
            "[resolution]\nwrite_off_below_fen = 10\nwrite_off_account = \"HUB-WO\"\n",
        )
        .unwrap();
        assert_eq!(
            (
                r.write_off_below_fen,
                r.write_off_account.as_str(),
                r.max_resends
            ),
            (10, "HUB-WO", 1)
        );
        assert!(ResolutionRules::from_toml("[resolution]\nchargeback = [\"nope\"]\n").is_err());
    }
}
