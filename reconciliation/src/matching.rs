//! Matching a partner's results against what the hub sent it, record by record (natural key)
//! and total by total.

use std::collections::HashMap;

use card_standards::NaturalKey;

use crate::discrepancy::{DiscrepancyType, Finding};
use crate::positions::Flow;

/// A record the hub sent the partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentRecord {
    /// The hub's record id.
    pub record_id: i64,
    /// The transaction's natural key.
    pub key: NaturalKey,
    /// Amount, fen.
    pub amount_fen: i64,
    /// Acquirer participant.
    pub acquirer: String,
}

/// What the partner says about one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultStatus {
    /// Accepted.
    Confirmed,
    /// Rejected, with the partner's reason code and text.
    Rejected {
        /// The partner's code.
        code: String,
        /// The partner's reason.
        reason: String,
    },
}

/// One line of a partner's result file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerResult {
    /// The transaction's natural key.
    pub key: NaturalKey,
    /// The amount the partner has, fen.
    pub amount_fen: i64,
    /// Confirmed or rejected.
    pub status: ResultStatus,
}

/// The partner's own totals for the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeclaredTotals {
    /// Records.
    pub count: u64,
    /// Amount, fen.
    pub amount_fen: i64,
}

/// Whether a partner's rejection reason is a TAC failure (then the discrepancy is `tac_invalid`
/// rather than `rejected_by_issuer`): reason codes `R02` (hutong's own) or any code/reason that
/// names the TAC.
pub fn is_tac_rejection(code: &str, reason: &str) -> bool {
    code == "R02"
        || code.to_ascii_uppercase().contains("TAC")
        || reason.to_ascii_uppercase().contains("TAC")
}

/// Whether a partner's rejection says the card was blacklisted (then the discrepancy is
/// `blacklisted`): hutong's reason code `R04`, or a code or reason that names the blacklist.
pub fn is_blacklist_rejection(code: &str, reason: &str) -> bool {
    code == "R04"
        || code.to_ascii_uppercase().contains("BLACKLIST")
        || reason.to_ascii_uppercase().contains("BLACKLIST")
        || reason.contains("黑名单")
}

/// Matches `results` from `partner` (the issuer's clearing participant) against `sent`.
pub fn match_results(
    partner: &str,
    sent: &[SentRecord],
    results: &[PartnerResult],
    declared: Option<DeclaredTotals>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let by_key: HashMap<&NaturalKey, &SentRecord> = sent.iter().map(|s| (&s.key, s)).collect();
    let mut answered: HashMap<&NaturalKey, usize> = HashMap::new();
    let finding = |kind, sent: Option<&SentRecord>, amount_fen: i64, detail: String| {
        let acquirer = sent.map(|s| s.acquirer.clone());
        let mut participants: Vec<String> = acquirer.iter().cloned().collect();
        participants.push(partner.to_string());
        participants.sort();
        participants.dedup();
        Finding {
            kind,
            participants,
            acquirer,
            issuer: Some(partner.to_string()),
            flow: sent.and_then(|s| Flow::of(s.key.kind)),
            records: sent.map(|s| vec![s.record_id]).unwrap_or_default(),
            amount_fen,
            detail,
        }
    };

    for r in results {
        let Some(s) = by_key.get(&r.key) else {
            findings.push(finding(
                DiscrepancyType::MissingAtHub,
                None,
                r.amount_fen.abs(),
                format!("{partner} reports {} which the hub never sent it", r.key),
            ));
            continue;
        };
        let seen = answered.entry(&r.key).or_default();
        *seen += 1;
        if *seen == 2 {
            findings.push(finding(
                DiscrepancyType::Duplicate,
                Some(s),
                s.amount_fen,
                format!(
                    "{partner}'s results answer record {} more than once",
                    s.record_id
                ),
            ));
        }
        if *seen > 1 {
            continue;
        }
        match &r.status {
            ResultStatus::Rejected { code, reason } => {
                let kind = if is_tac_rejection(code, reason) {
                    DiscrepancyType::TacInvalid
                } else if is_blacklist_rejection(code, reason) {
                    DiscrepancyType::Blacklisted
                } else {
                    DiscrepancyType::RejectedByIssuer
                };
                findings.push(finding(
                    kind,
                    Some(s),
                    s.amount_fen,
                    format!(
                        "{partner} rejected record {} with {code}: {reason}",
                        s.record_id
                    ),
                ));
            }
            ResultStatus::Confirmed if r.amount_fen != s.amount_fen => {
                findings.push(finding(
                    DiscrepancyType::AmountMismatch,
                    Some(s),
                    (r.amount_fen - s.amount_fen).abs(),
                    format!(
                        "record {}: hub sent {} fen, {partner} has {} fen",
                        s.record_id, s.amount_fen, r.amount_fen
                    ),
                ));
            }
            ResultStatus::Confirmed => {}
        }
    }
    for s in sent {
        if !answered.contains_key(&s.key) {
            findings.push(finding(
                DiscrepancyType::MissingAtPartner,
                Some(s),
                s.amount_fen,
                format!("{partner}'s results do not mention record {}", s.record_id),
            ));
        }
    }
    if let Some(d) = declared {
        let count = sent.len() as u64;
        let amount: i64 = sent.iter().map(|s| s.amount_fen).sum();
        if d.count != count || d.amount_fen != amount {
            findings.push(finding(
                DiscrepancyType::TotalMismatch,
                None,
                (d.amount_fen - amount).abs(),
                format!(
                    "{partner} declares {} records / {} fen; the hub sent {count} / {amount} fen",
                    d.count, d.amount_fen
                ),
            ));
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use card_standards::{CardSerial, IssuerId, Scheme, TerminalId, TxKind};

    fn key(seq: u16) -> NaturalKey {
        NaturalKey {
            scheme: Scheme::Mot,
            issuer: IssuerId {
                issuer_code: "0101".parse().unwrap(),
                city_code: "3702".parse().unwrap(),
            },
            card_serial: CardSerial([0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            card_seq: seq,
            kind: TxKind::Purchase,
            terminal: TerminalId([1; 6]),
            terminal_seq: u32::from(seq),
        }
    }

    fn sent(seq: u16, amount: i64) -> SentRecord {
        SentRecord {
            record_id: i64::from(seq),
            key: key(seq),
            amount_fen: amount,
            acquirer: "QD".into(),
        }
    }

    #[test]
    fn finds_every_kind_of_difference_in_a_partner_result() {
        let sent = vec![
            sent(1, 200),
            sent(2, 300),
            sent(3, 400),
            sent(4, 500),
            sent(5, 600),
        ];
        let results = vec![
            PartnerResult {
                key: key(1),
                amount_fen: 200,
                status: ResultStatus::Confirmed,
            },
            PartnerResult {
                key: key(2),
                amount_fen: 350,
                status: ResultStatus::Confirmed,
            },
            PartnerResult {
                key: key(3),
                amount_fen: 400,
                status: ResultStatus::Rejected {
                    code: "E17".into(),
                    reason: "card unknown".into(),
                },
            },
            PartnerResult {
                key: key(4),
                amount_fen: 500,
                status: ResultStatus::Rejected {
                    code: "R02".into(),
                    reason: "TAC does not verify".into(),
                },
            },
            PartnerResult {
                key: key(9),
                amount_fen: 900,
                status: ResultStatus::Confirmed,
            },
        ];
        let f = match_results(
            "MOT",
            &sent,
            &results,
            Some(DeclaredTotals {
                count: 5,
                amount_fen: 2050,
            }),
        );
        let kinds: Vec<_> = f.iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            vec![
                DiscrepancyType::AmountMismatch,
                DiscrepancyType::RejectedByIssuer,
                DiscrepancyType::TacInvalid,
                DiscrepancyType::MissingAtHub,
                DiscrepancyType::MissingAtPartner,
                DiscrepancyType::TotalMismatch,
            ]
        );
        assert_eq!(f[0].amount_fen, 50);
        assert_eq!(f[4].records, vec![5]);
        assert_eq!(f[5].amount_fen, 50, "declared 2050 vs sent 2000");
    }

    #[test]
    fn a_blacklist_rejection_and_a_record_answered_twice_are_typed() {
        let sent = vec![sent(1, 200), sent(2, 300)];
        let ok = |seq, amount| PartnerResult {
            key: key(seq),
            amount_fen: amount,
            status: ResultStatus::Confirmed,
        };
        let results = vec![
            ok(1, 200),
            ok(1, 200),
            ok(1, 200),
            PartnerResult {
                key: key(2),
                amount_fen: 300,
                status: ResultStatus::Rejected {
                    code: "R04".into(),
                    reason: "card on the blacklist".into(),
                },
            },
        ];
        let f = match_results("RZ", &sent, &results, None);
        let kinds: Vec<_> = f.iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            vec![DiscrepancyType::Duplicate, DiscrepancyType::Blacklisted],
            "one duplicate however often the record is repeated"
        );
        assert_eq!(f[0].records, vec![1]);
        assert!(is_blacklist_rejection("E9", "挂失卡 黑名单"));
        assert!(!is_blacklist_rejection("E9", "card unknown"));
    }

    #[test]
    fn a_clean_result_has_no_findings() {
        let sent = vec![sent(1, 200), sent(2, 300)];
        let results: Vec<_> = sent
            .iter()
            .map(|s| PartnerResult {
                key: s.key,
                amount_fen: s.amount_fen,
                status: ResultStatus::Confirmed,
            })
            .collect();
        assert!(
            match_results(
                "MOT",
                &sent,
                &results,
                Some(DeclaredTotals {
                    count: 2,
                    amount_fen: 500
                })
            )
            .is_empty()
        );
    }
}
