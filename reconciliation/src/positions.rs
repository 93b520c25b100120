//! Clearing (清分) of one settlement window: gross amounts per pair of participants, fees from
//! the fee schedule, adjustments, and every participant's net multilateral position.
//!
//! Direction of money: for a purchase the card's issuer owes the acquirer the amount (the
//! acquirer gave the service, the issuer holds the rider's money). For a load the acquirer took
//! the rider's cash and owes it to the issuer whose card now holds it. A transaction between a
//! participant and itself (on-us) moves no money between participants and appears only in the
//! totals. The hub is a participant when it earns fees. Every figure is integer fen; the
//! positions must sum to zero or the window stays open.

use std::collections::BTreeMap;

use card_standards::{Industry, Scheme, TxKind};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::fees::{FeePayee, FeePayer, FeeSchedule};

/// Which way a transaction's amount flows between its issuer and acquirer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// Purchases and other debits: the issuer pays the acquirer.
    IssuerPaysAcquirer,
    /// Loads: the acquirer pays the issuer.
    AcquirerPaysIssuer,
}

impl Flow {
    /// The flow of a transaction kind; `None` for kinds that move no money between participants.
    pub fn of(kind: TxKind) -> Option<Flow> {
        match kind {
            TxKind::Load => Some(Flow::AcquirerPaysIssuer),
            k if k.is_debit() => Some(Flow::IssuerPaysAcquirer),
            _ => None,
        }
    }

    /// The snake-case name (`issuer_pays_acquirer`, `acquirer_pays_issuer`).
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::IssuerPaysAcquirer => "issuer_pays_acquirer",
            Flow::AcquirerPaysIssuer => "acquirer_pays_issuer",
        }
    }
}

impl std::str::FromStr for Flow {
    type Err = String;
    fn from_str(s: &str) -> Result<Flow, String> {
        match s {
            "issuer_pays_acquirer" => Ok(Flow::IssuerPaysAcquirer),
            "acquirer_pays_issuer" => Ok(Flow::AcquirerPaysIssuer),
            other => Err(format!("unknown flow {other:?}")),
        }
    }
}

/// The window's transactions summed per (issuer participant, acquirer, scheme, industry, flow):
/// what the database's `GROUP BY` produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aggregate {
    /// The clearing participant of the cards' issuer.
    pub issuer: String,
    /// The acquirer participant.
    pub acquirer: String,
    /// Card scheme.
    pub scheme: Scheme,
    /// Industry.
    pub industry: Industry,
    /// Direction.
    pub flow: Flow,
    /// Number of transactions.
    pub count: u64,
    /// Sum of their amounts, fen.
    pub amount_fen: i64,
}

/// A correction that clears in this window (from a resolved discrepancy or dispute).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Adjustment {
    /// The adjustment's reference (e.g. `ADJ-42`).
    pub reference: String,
    /// Who pays.
    pub payer: String,
    /// Who receives.
    pub payee: String,
    /// Amount, fen (positive).
    pub amount_fen: i64,
    /// Why, for the statement line.
    pub reason: String,
}

/// Money between two participants in the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PairPosition {
    /// Who pays.
    pub payer: String,
    /// Who receives.
    pub payee: String,
    /// Transactions behind `amount_fen`.
    pub count: u64,
    /// Transaction amounts, fen.
    pub amount_fen: i64,
    /// Fees, fen.
    pub fee_fen: i64,
    /// Adjustments, fen.
    pub adjustment_fen: i64,
}

/// A participant's position in the window. `net_fen` > 0 means the participant is paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParticipantPosition {
    /// Participant code.
    pub code: String,
    /// Amounts (transactions and adjustments) owed to it.
    pub receivable_fen: i64,
    /// Amounts it owes.
    pub payable_fen: i64,
    /// Fees earned minus fees paid.
    pub fees_fen: i64,
    /// `receivable − payable + fees`.
    pub net_fen: i64,
}

/// One computed fee, with what a finance team needs to check it by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeeLine {
    /// The rule's number in the schedule.
    pub rule: usize,
    /// The rule in words.
    pub description: String,
    /// Who pays.
    pub payer: String,
    /// Who earns.
    pub payee: String,
    /// Transactions the fee is on.
    pub count: u64,
    /// Their amount, fen.
    pub base_amount_fen: i64,
    /// The exact fee before rounding, fen.
    pub raw_fen: Decimal,
    /// The fee, fen.
    pub fee_fen: i64,
}

/// The outcome of clearing one window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Clearing {
    /// Money per (payer, payee), sorted.
    pub pairs: Vec<PairPosition>,
    /// Every participant's position, sorted by code.
    pub participants: Vec<ParticipantPosition>,
    /// Every fee computed.
    pub fees: Vec<FeeLine>,
    /// The adjustments cleared.
    pub adjustments: Vec<Adjustment>,
    /// All transactions in the window (on-us included).
    pub tx_count: u64,
    /// Their total amount, fen.
    pub tx_amount_fen: i64,
    /// On-us transactions (issuer = acquirer), which move no money between participants.
    pub on_us_count: u64,
}

fn add(a: i64, b: i64, what: &'static str) -> Result<i64> {
    a.checked_add(b).ok_or(Error::Overflow(what))
}

#[derive(Default)]
struct PairAcc {
    count: u64,
    amount: i64,
    fee: i64,
    adjustment: i64,
}

/// Clears a window: amounts, fees, adjustments, net positions; checks that positions sum to
/// zero. `hub` is the hub's own participant code (the payee of `payee = "hub"` fees).
pub fn clear(
    aggregates: &[Aggregate],
    adjustments: &[Adjustment],
    schedule: &FeeSchedule,
    hub: &str,
) -> Result<Clearing> {
    let mut pairs: BTreeMap<(String, String), PairAcc> = BTreeMap::new();
    let mut fee_groups: BTreeMap<(usize, String, String), (u64, i64)> = BTreeMap::new();
    let (mut tx_count, mut tx_amount, mut on_us) = (0u64, 0i64, 0u64);

    for a in aggregates {
        if a.amount_fen < 0 {
            return Err(Error::Invariant(format!(
                "negative amount in aggregate {} → {}",
                a.issuer, a.acquirer
            )));
        }
        tx_count += a.count;
        tx_amount = add(tx_amount, a.amount_fen, "window total")?;
        if a.issuer == a.acquirer {
            on_us += a.count;
        } else {
            let (payer, payee) = match a.flow {
                Flow::IssuerPaysAcquirer => (&a.issuer, &a.acquirer),
                Flow::AcquirerPaysIssuer => (&a.acquirer, &a.issuer),
            };
            let acc = pairs.entry((payer.clone(), payee.clone())).or_default();
            acc.count += a.count;
            acc.amount = add(acc.amount, a.amount_fen, "pair amount")?;
        }
        if let Some(rule) = schedule.rule_for(a.scheme, a.industry, &a.acquirer, &a.issuer) {
            let payer = match rule.payer {
                FeePayer::Acquirer => &a.acquirer,
                FeePayer::Issuer => &a.issuer,
            };
            let payee = match rule.payee {
                FeePayee::Acquirer => a.acquirer.clone(),
                FeePayee::Issuer => a.issuer.clone(),
                FeePayee::Hub => hub.to_string(),
            };
            if *payer != payee {
                let g = fee_groups
                    .entry((rule.number, payer.clone(), payee))
                    .or_default();
                g.0 += a.count;
                g.1 = add(g.1, a.amount_fen, "fee base")?;
            }
        }
    }

    let mut fees = Vec::with_capacity(fee_groups.len());
    for ((number, payer, payee), (count, base)) in fee_groups {
        let rule = &schedule.rules()[number - 1];
        let (raw, fee) = rule.fee(count, base)?;
        if fee != 0 {
            let acc = pairs.entry((payer.clone(), payee.clone())).or_default();
            acc.fee = add(acc.fee, fee, "pair fee")?;
        }
        fees.push(FeeLine {
            rule: number,
            description: rule.describe(),
            payer,
            payee,
            count,
            base_amount_fen: base,
            raw_fen: raw,
            fee_fen: fee,
        });
    }

    for adj in adjustments {
        if adj.amount_fen <= 0 || adj.payer == adj.payee {
            return Err(Error::Invariant(format!(
                "adjustment {} must move a positive amount between two participants",
                adj.reference
            )));
        }
        let acc = pairs
            .entry((adj.payer.clone(), adj.payee.clone()))
            .or_default();
        acc.adjustment = add(acc.adjustment, adj.amount_fen, "adjustments")?;
    }

    let position = |code: &str| ParticipantPosition {
        code: code.to_string(),
        receivable_fen: 0,
        payable_fen: 0,
        fees_fen: 0,
        net_fen: 0,
    };
    let mut positions: BTreeMap<String, ParticipantPosition> = BTreeMap::new();
    for ((payer, payee), acc) in &pairs {
        let moved = add(acc.amount, acc.adjustment, "pair total")?;
        {
            let p = positions
                .entry(payer.clone())
                .or_insert_with(|| position(payer));
            p.payable_fen = add(p.payable_fen, moved, "payable")?;
            p.fees_fen = add(p.fees_fen, -acc.fee, "fees")?;
        }
        let q = positions
            .entry(payee.clone())
            .or_insert_with(|| position(payee));
        q.receivable_fen = add(q.receivable_fen, moved, "receivable")?;
        q.fees_fen = add(q.fees_fen, acc.fee, "fees")?;
    }
    let mut participants: Vec<ParticipantPosition> = positions.into_values().collect();
    let mut sum = 0i64;
    for p in &mut participants {
        p.net_fen = add(p.receivable_fen - p.payable_fen, p.fees_fen, "net")?;
        sum = add(sum, p.net_fen, "sum of positions")?;
    }
    if sum != 0 {
        return Err(Error::Invariant(format!(
            "net positions sum to {sum} fen, not 0"
        )));
    }

    Ok(Clearing {
        pairs: pairs
            .into_iter()
            .map(|((payer, payee), a)| PairPosition {
                payer,
                payee,
                count: a.count,
                amount_fen: a.amount,
                fee_fen: a.fee,
                adjustment_fen: a.adjustment,
            })
            .collect(),
        participants,
        fees,
        adjustments: adjustments.to_vec(),
        tx_count,
        tx_amount_fen: tx_amount,
        on_us_count: on_us,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agg(
        issuer: &str,
        acquirer: &str,
        industry: Industry,
        flow: Flow,
        count: u64,
        amount: i64,
    ) -> Aggregate {
        Aggregate {
            issuer: issuer.into(),
            acquirer: acquirer.into(),
            scheme: Scheme::Mot,
            industry,
            flow,
            count,
            amount_fen: amount,
        }
    }

    const FEES: &str = r#"
        [[fee]]
        payer = "acquirer"
        payee = "hub"
        rate = "0.0010"
        [[fee]]
        industry = "retail"
        payer = "acquirer"
        payee = "issuer"
        rate = "0.0070"
    "#;

    #[test]
    fn clears_purchases_loads_fees_and_adjustments_to_positions_that_sum_to_zero() {
        let fees = FeeSchedule::from_toml(FEES).unwrap();
        let aggs = vec![
            agg(
                "QD",
                "RZ",
                Industry::Bus,
                Flow::IssuerPaysAcquirer,
                100,
                20_000,
            ),
            agg(
                "RZ",
                "QD",
                Industry::Retail,
                Flow::IssuerPaysAcquirer,
                10,
                10_000,
            ),
            agg(
                "QD",
                "RZ",
                Industry::Bus,
                Flow::AcquirerPaysIssuer,
                2,
                10_000,
            ),
            agg(
                "QD",
                "QD",
                Industry::Metro,
                Flow::IssuerPaysAcquirer,
                50,
                10_000,
            ),
        ];
        let adj = vec![Adjustment {
            reference: "ADJ-1".into(),
            payer: "RZ".into(),
            payee: "QD".into(),
            amount_fen: 300,
            reason: "duplicate reversed".into(),
        }];
        let c = clear(&aggs, &adj, &fees, "HUB").unwrap();
        assert_eq!(
            (c.tx_count, c.tx_amount_fen, c.on_us_count),
            (162, 50_000, 50)
        );

        let pos = |code: &str| {
            c.participants
                .iter()
                .find(|p| p.code == code)
                .unwrap()
                .clone()
        };
        // QD pays RZ 20 000 for bus rides; RZ pays QD 10 000 (retail purchases on RZ cards at QD)
        // + 10 000 (loads of QD cards at RZ) + 300 adjustment.
        // Fees: RZ (acquirer of the bus rides and loads) → HUB 0.1% of 30 000 = 30; retail matches
        // the more specific rule 2 only: QD (acquirer) → RZ (issuer) 0.7% of 10 000 = 70; the
        // on-us metro rides: QD → HUB 0.1% of 10 000 = 10.
        let qd = pos("QD");
        assert_eq!((qd.receivable_fen, qd.payable_fen), (20_300, 20_000));
        assert_eq!(qd.fees_fen, -(70 + 10));
        let rz = pos("RZ");
        assert_eq!(
            (rz.receivable_fen, rz.payable_fen, rz.fees_fen),
            (20_000, 20_300, 70 - 30)
        );
        assert_eq!(pos("HUB").fees_fen, 30 + 10);
        assert_eq!((qd.net_fen, rz.net_fen), (300 - 80, -300 + 40));
        assert_eq!(c.participants.iter().map(|p| p.net_fen).sum::<i64>(), 0);
        assert_eq!(c.fees.len(), 3);
    }

    #[test]
    fn refuses_an_adjustment_that_moves_nothing() {
        let adj = vec![Adjustment {
            reference: "ADJ-2".into(),
            payer: "QD".into(),
            payee: "QD".into(),
            amount_fen: 5,
            reason: String::new(),
        }];
        let err = clear(&[], &adj, &FeeSchedule::default(), "HUB").unwrap_err();
        assert!(err.to_string().contains("ADJ-2"), "{err}");
    }
}
