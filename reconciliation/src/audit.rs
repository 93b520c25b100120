//! Card-level audit across every city and file: a card's transactions, ordered, must form an
//! unbroken chain. This is what a hub that sees all cities can find and no single city can.
//!
//! Checks, per card:
//! * **counter clash** — two different transactions with the same counter (offline counter for
//!   purchases, online counter for loads): two physical cards share one serial and state, i.e.
//!   a clone;
//! * **counter gap** — consecutive known counters more than one apart: transactions the hub never
//!   saw (they may still arrive late);
//! * **balance chain break** — a transaction's `balance_before` differs from the previous
//!   transaction's balance after, with no gap to explain it. A fall is always suspect (money left
//!   the card without a counted transaction). A rise is explained by a load the hub did not see,
//!   so it is flagged only for cards whose loads all pass through the hub (`loads_visible`, e.g.
//!   the hub's own local cards).

use card_standards::TxKind;
use chrono::NaiveDateTime;

use crate::discrepancy::{DiscrepancyType, Finding};
use crate::positions::Flow;

/// One transaction of a card, as much as the audit needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardEvent {
    /// The hub's record id.
    pub record_id: i64,
    /// What the transaction did.
    pub kind: TxKind,
    /// The card's counter as INITIALIZE returned it.
    pub card_seq: u16,
    /// Balance before, fen.
    pub balance_before_fen: i64,
    /// Amount, fen.
    pub amount_fen: i64,
    /// Terminal time.
    pub tx_time: NaiveDateTime,
    /// Terminal and its counter: together with the card counter they tell two transactions apart.
    pub terminal: String,
    /// Terminal counter.
    pub terminal_seq: u32,
    /// The acquirer that presented it.
    pub acquirer: String,
    /// The card counts loads and debits on one counter: a legacy M1 (MIFARE Classic) wallet,
    /// whose value block has a single transaction counter. CPU cards (ED/EP) keep an online
    /// counter for loads and an offline one for debits.
    pub single_counter: bool,
}

impl CardEvent {
    fn balance_after(&self) -> i64 {
        match self.kind {
            TxKind::Load => self.balance_before_fen + self.amount_fen,
            k if k.is_debit() => self.balance_before_fen - self.amount_fen,
            _ => self.balance_before_fen,
        }
    }

    fn counter(&self) -> Counter {
        if self.kind == TxKind::Load && !self.single_counter {
            Counter::Online
        } else {
            Counter::Offline
        }
    }

    fn same_transaction(&self, other: &CardEvent) -> bool {
        self.kind == other.kind
            && self.terminal == other.terminal
            && self.terminal_seq == other.terminal_seq
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Counter {
    Offline,
    Online,
}

/// Audits one card's transactions (any order). `card` names the card in the findings, `issuer`
/// is its issuer's clearing participant.
pub fn audit_card(
    card: &str,
    issuer: &str,
    events: &mut [CardEvent],
    loads_visible: bool,
) -> Vec<Finding> {
    let finding = |kind, a: &CardEvent, b: &CardEvent, amount_fen, detail| Finding {
        kind,
        participants: participants(&[a, b], issuer),
        acquirer: Some(b.acquirer.clone()),
        issuer: Some(issuer.to_string()),
        flow: Flow::of(b.kind),
        records: vec![a.record_id, b.record_id],
        amount_fen,
        detail,
    };
    let mut findings = Vec::new();

    // Counters, per counter kind.
    events.sort_by(|a, b| {
        (a.counter(), a.card_seq, a.tx_time, a.record_id).cmp(&(
            b.counter(),
            b.card_seq,
            b.tx_time,
            b.record_id,
        ))
    });
    let mut gaps_before: Vec<(Counter, u16)> = Vec::new();
    for pair in events.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.counter() != b.counter() {
            continue;
        }
        if a.card_seq == b.card_seq {
            if a.same_transaction(b) {
                findings.push(finding(
                    DiscrepancyType::Duplicate,
                    a,
                    b,
                    b.amount_fen,
                    format!(
                        "card {card}: counter {} presented twice for the same transaction",
                        a.card_seq
                    ),
                ));
            } else {
                findings.push(finding(
                    DiscrepancyType::CounterClash,
                    a,
                    b,
                    a.amount_fen.max(b.amount_fen),
                    format!(
                        "card {card}: two different transactions with counter {} (terminals {} and {}): a cloned card",
                        a.card_seq, a.terminal, b.terminal
                    ),
                ));
            }
        } else if b.card_seq.wrapping_sub(a.card_seq) > 1 {
            let missing = b.card_seq.wrapping_sub(a.card_seq) - 1;
            gaps_before.push((b.counter(), b.card_seq));
            findings.push(finding(
                DiscrepancyType::CounterGap,
                a,
                b,
                (a.balance_after() - b.balance_before_fen).max(0),
                format!(
                    "card {card}: {missing} transaction(s) missing between counters {} and {}",
                    a.card_seq, b.card_seq
                ),
            ));
        }
    }

    // Balance chain, in time order.
    events.sort_by(|a, b| {
        (a.tx_time, a.counter(), a.card_seq, a.record_id).cmp(&(
            b.tx_time,
            b.counter(),
            b.card_seq,
            b.record_id,
        ))
    });
    interleave_same_second(events);
    for pair in events.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.card_seq == b.card_seq && a.counter() == b.counter() {
            continue; // a clash or duplicate, reported above
        }
        let expected = a.balance_after();
        let actual = b.balance_before_fen;
        if expected == actual {
            continue;
        }
        let explained_by_gap = gaps_before.iter().any(|&(c, seq)| {
            (c == b.counter() && seq == b.card_seq) || (c == a.counter() && seq > a.card_seq)
        });
        let unseen_load_possible = actual > expected && !loads_visible;
        if explained_by_gap || unseen_load_possible {
            continue;
        }
        findings.push(finding(
            DiscrepancyType::BalanceChainBreak,
            a,
            b,
            (actual - expected).abs(),
            format!("card {card}: balance before {actual} fen, but the previous transaction left {expected} fen"),
        ));
    }
    findings
}

/// Terminals stamp transactions to the second, so a card's load and its next purchase (or a
/// burst of taps) can share one time: their order is not in the data. Within each run of
/// events with the same time, already sorted by counter then counter value, this picks the
/// order the balances chain in — at each step the next event of either counter whose
/// balance before is what the previous one left, else the next in the sorted order — so that
/// equal times never read as a broken chain. Each counter's own order is kept.
fn interleave_same_second(events: &mut [CardEvent]) {
    let mut start = 0;
    while start < events.len() {
        let mut end = start + 1;
        while end < events.len() && events[end].tx_time == events[start].tx_time {
            end += 1;
        }
        if end - start > 1 {
            let mut balance = start.checked_sub(1).map(|i| events[i].balance_after());
            let run: Vec<CardEvent> = events[start..end].to_vec();
            // Per counter, the run's events in counter order (the sort put them so).
            let mut queues: Vec<std::collections::VecDeque<CardEvent>> = Vec::new();
            for e in run {
                match queues.iter_mut().find(|q| q[0].counter() == e.counter()) {
                    Some(q) => q.push_back(e),
                    None => queues.push(std::collections::VecDeque::from([e])),
                }
            }
            for slot in events[start..end].iter_mut() {
                let pick = queues
                    .iter()
                    .position(|q| {
                        q.front()
                            .is_some_and(|e| Some(e.balance_before_fen) == balance)
                    })
                    .or_else(|| queues.iter().position(|q| !q.is_empty()));
                let Some(e) = pick.and_then(|i| queues[i].pop_front()) else {
                    break;
                };
                balance = Some(e.balance_after());
                *slot = e;
            }
        }
        start = end;
    }
}

/// Whether a transaction presented in the window whose cut-off is `window_cutoff` (local time,
/// as terminals record it) is a late presentment: its terminal time is more than `max_days`
/// days before the cut-off, so it belonged in an earlier window that has closed.
pub fn is_late_presentment(
    tx_time: NaiveDateTime,
    window_cutoff: NaiveDateTime,
    max_days: i64,
) -> bool {
    tx_time < window_cutoff - chrono::Duration::days(max_days)
}

fn participants(events: &[&CardEvent], issuer: &str) -> Vec<String> {
    let mut p: Vec<String> = events.iter().map(|e| e.acquirer.clone()).collect();
    p.push(issuer.to_string());
    p.sort();
    p.dedup();
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn ev(
        id: i64,
        kind: TxKind,
        seq: u16,
        before: i64,
        amount: i64,
        minute: u32,
        terminal: &str,
    ) -> CardEvent {
        CardEvent {
            record_id: id,
            kind,
            card_seq: seq,
            balance_before_fen: before,
            amount_fen: amount,
            tx_time: NaiveDate::from_ymd_opt(2026, 11, 21)
                .unwrap()
                .and_hms_opt(8, minute, 0)
                .unwrap(),
            terminal: terminal.into(),
            terminal_seq: id as u32,
            acquirer: "QD".into(),
            single_counter: false,
        }
    }

    #[test]
    fn a_load_and_purchases_in_the_same_second_chain_in_the_order_their_balances_say() {
        let at = |e: CardEvent| CardEvent {
            tx_time: NaiveDate::from_ymd_opt(2026, 11, 22)
                .unwrap()
                .and_hms_opt(22, 30, 0)
                .unwrap(),
            ..e
        };
        // 1000 → purchase 100 → 900 → load 5000 → 5900 → purchase 200 → 5700, all at 22:30:00.
        let mut e = vec![
            at(ev(1, TxKind::Purchase, 10, 1000, 100, 0, "T1")),
            at(ev(2, TxKind::Load, 3, 900, 5000, 0, "L1")),
            at(ev(3, TxKind::Purchase, 11, 5900, 200, 0, "T2")),
        ];
        assert!(audit_card("C", "QD", &mut e, true).is_empty());
        // A real break in the same second is still found.
        let mut bad = vec![
            at(ev(1, TxKind::Purchase, 10, 1000, 100, 0, "T1")),
            at(ev(2, TxKind::Purchase, 11, 2900, 200, 0, "T2")),
        ];
        let kinds: Vec<_> = audit_card("C", "QD", &mut bad, true)
            .iter()
            .map(|f| f.kind)
            .collect();
        assert_eq!(kinds, vec![DiscrepancyType::BalanceChainBreak]);
    }

    #[test]
    fn an_m1_wallet_counts_loads_and_purchases_on_one_counter() {
        let m1 = |mut e: CardEvent| {
            e.single_counter = true;
            e
        };
        let mut e = vec![
            m1(ev(1, TxKind::Purchase, 2924, 1000, 200, 0, "T1")),
            m1(ev(2, TxKind::Load, 2925, 800, 5000, 5, "L1")),
            m1(ev(3, TxKind::Purchase, 2926, 5800, 300, 9, "T2")),
        ];
        assert!(audit_card("C", "QD", &mut e, true).is_empty());
        // The same taps on a CPU card's two counters leave gaps on both.
        let mut cpu: Vec<CardEvent> = e
            .into_iter()
            .map(|mut x| {
                x.single_counter = false;
                x
            })
            .collect();
        let kinds: Vec<_> = audit_card("C", "QD", &mut cpu, true)
            .iter()
            .map(|f| f.kind)
            .collect();
        assert_eq!(kinds, vec![DiscrepancyType::CounterGap]);
    }

    #[test]
    fn an_unbroken_chain_of_purchases_and_loads_has_no_findings() {
        let mut e = vec![
            ev(1, TxKind::Purchase, 10, 1000, 200, 0, "T1"),
            ev(2, TxKind::Load, 3, 800, 5000, 5, "L1"),
            ev(3, TxKind::Purchase, 11, 5800, 300, 9, "T2"),
            ev(4, TxKind::Purchase, 12, 5500, 200, 20, "T1"),
        ];
        assert!(audit_card("C", "QD", &mut e, true).is_empty());
    }

    #[test]
    fn a_cloned_card_shows_as_a_counter_clash() {
        let mut e = vec![
            ev(1, TxKind::Purchase, 10, 1000, 200, 0, "T1"),
            ev(2, TxKind::Purchase, 11, 800, 200, 5, "T1"),
            ev(3, TxKind::Purchase, 11, 800, 300, 6, "T9"),
        ];
        let f = audit_card("C", "QD", &mut e, true);
        assert_eq!(
            f.iter().map(|f| f.kind).collect::<Vec<_>>(),
            vec![DiscrepancyType::CounterClash]
        );
        assert_eq!(f[0].records, vec![2, 3]);
    }

    #[test]
    fn a_missing_transaction_is_a_gap_not_a_chain_break() {
        let mut e = vec![
            ev(1, TxKind::Purchase, 10, 1000, 200, 0, "T1"),
            ev(2, TxKind::Purchase, 12, 500, 100, 9, "T1"),
        ];
        let f = audit_card("C", "QD", &mut e, true);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, DiscrepancyType::CounterGap);
        assert_eq!(
            f[0].amount_fen, 300,
            "the balance the missing transaction took"
        );
    }

    #[test]
    fn money_appearing_without_a_load_breaks_the_chain_only_when_loads_are_visible() {
        let mk = || {
            vec![
                ev(1, TxKind::Purchase, 10, 1000, 200, 0, "T1"),
                ev(2, TxKind::Purchase, 11, 9800, 100, 9, "T1"),
            ]
        };
        let f = audit_card("C", "QD", &mut mk(), true);
        assert_eq!(
            f.iter().map(|f| f.kind).collect::<Vec<_>>(),
            vec![DiscrepancyType::BalanceChainBreak]
        );
        assert_eq!(f[0].amount_fen, 9000);
        assert!(
            audit_card("C", "QD", &mut mk(), false).is_empty(),
            "a load elsewhere may explain a rise"
        );
        let mut fall = vec![
            ev(1, TxKind::Purchase, 10, 1000, 200, 0, "T1"),
            ev(2, TxKind::Purchase, 11, 700, 100, 9, "T1"),
        ];
        assert_eq!(
            audit_card("C", "QD", &mut fall, false)[0].kind,
            DiscrepancyType::BalanceChainBreak
        );
    }

    #[test]
    fn a_transaction_older_than_the_window_by_more_than_the_limit_is_late() {
        let cutoff = NaiveDate::from_ymd_opt(2026, 11, 22)
            .unwrap()
            .and_hms_opt(23, 0, 0)
            .unwrap();
        let t = |d, h| {
            NaiveDate::from_ymd_opt(2026, 11, d)
                .unwrap()
                .and_hms_opt(h, 0, 0)
                .unwrap()
        };
        assert!(!is_late_presentment(t(22, 8), cutoff, 1));
        assert!(
            !is_late_presentment(t(21, 23), cutoff, 1),
            "after the previous cut-off"
        );
        assert!(
            is_late_presentment(t(21, 22), cutoff, 1),
            "before the previous cut-off"
        );
        assert!(!is_late_presentment(t(21, 22), cutoff, 3));
    }

    #[test]
    fn the_same_transaction_twice_is_a_duplicate() {
        let mut e = vec![
            ev(1, TxKind::Purchase, 10, 1000, 200, 0, "T1"),
            ev(1, TxKind::Purchase, 10, 1000, 200, 0, "T1"),
        ];
        e[1].record_id = 7;
        let f = audit_card("C", "QD", &mut e, true);
        assert_eq!(
            f.iter().map(|f| f.kind).collect::<Vec<_>>(),
            vec![DiscrepancyType::Duplicate]
        );
    }
}
