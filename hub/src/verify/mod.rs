//! `hutong verify`: an operator's proof of a closed settlement day, computed from what is
//! stored and written by queries and parsers of its own — never by calling the clearing code
//! it checks (no `reconciliation::clear`, no `window_aggregates`).
//!
//! [`verify_day`] returns a [`DayProof`]: a list of named [`Check`]s, each with two figures,
//! in this order. `expected` is the figure upstream (nearer the records), `found` the one
//! checked against it:
//!
//! | check | expected | found |
//! |---|---|---|
//! | `window.files` | files whose window is the day (each must be an accepted inbound file received before the cut-off) | the window's stored file count |
//! | `window.unwindowed` | 0 | accepted records received before the cut-off in no window |
//! | `window.count` / `window.amount` / `window.on_us` | a `GROUP BY` over the window's records | the window's stored figures |
//! | `pairs.transactions` | counts and amounts per pair from the records (issuer pays acquirer for debits, acquirer pays issuer for loads; on-us moves nothing) | the stored pairs' |
//! | `pairs.fees` / `pairs.adjustments` | Σ stored fee lines / Σ the window's adjustments per pair | the stored pairs' fees / adjustments |
//! | `positions.pairs` | receivable, payable, fees and net recomputed from the stored pairs | the stored positions |
//! | `positions.zero_sum` | 0 | Σ stored net positions |
//! | `statement CODE xml` / `csv` | the stored net position | Σ credits − Σ debits of the statement's lines (camt.053 `Ntry/Amt` signed by `Ntry/CdtDbtInd`; CSV rows) |
//! | `pacs009.count` / `pacs009.amounts` / `pacs009.ctrl_sum` | one instruction per payer (`{day}-{code}-PAY`, −net) and receiver (`-RCV`, net), their sum | `NbOfTxs`, each `CdtTrfTxInf`, `CtrlSum` |
//! | `package CODE` | records of the window charged to `CODE` and acquired elsewhere: count, Σ amount | the package's trailer, read back with the adapters |
//! | `audit.chain` | intact | the chain walked ([`Store::verify_audit_chain`]) |
//! | `digest NAME` | the SHA-256 recorded when the file was written | the SHA-256 of its bytes on disk now (the outbox copy, and the copy under `settlements/DAY/`) |
//!
//! Fees are taken as stored (recomputing them needs the fee schedule; the window records the
//! schedule's digest); every other figure is recomputed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use card_standards::TxKind;
use chrono::NaiveDate;
use quick_xml::events::Event;
use serde::Serialize;

use crate::store::verify::{RecordGroup, RecordedOutput};
use crate::store::{Store, StoreError};
use crate::vault::Vault;

mod files;
mod parse;

use files::{
    digest_check, display_name, file_name, output_file, package_checks, pacs009_checks, read_small,
};
pub use parse::{Pacs009, parse_camt053, parse_pacs009, parse_statement_csv, parse_yuan};

/// One named check of a day, with its two figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What is checked (`window.count`, `statement QD xml`, `digest pacs009_2026-11-21.xml`).
    pub name: String,
    /// Whether the figures agree.
    pub passed: bool,
    /// The figure that should be.
    pub expected: String,
    /// The figure found.
    pub found: String,
    /// Where they differ, or what the figures are of.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl Check {
    fn new(name: impl Into<String>, expected: impl ToString, found: impl ToString) -> Check {
        let (expected, found) = (expected.to_string(), found.to_string());
        Check {
            name: name.into(),
            passed: expected == found,
            expected,
            found,
            detail: String::new(),
        }
    }

    fn with_detail(mut self, detail: impl Into<String>) -> Check {
        self.detail = detail.into();
        self
    }

    fn failed(mut self) -> Check {
        self.passed = false;
        self
    }

    /// The check in one line: `name: expected …, found …` (and where they differ).
    pub fn line(&self) -> String {
        let mut s = format!(
            "{}: expected {}, found {}",
            self.name, self.expected, self.found
        );
        if !self.detail.is_empty() {
            s.push_str(&format!(" ({})", self.detail));
        }
        s
    }
}

/// The proof of one closed day: every check, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayProof {
    /// The settlement day.
    pub day: NaiveDate,
    /// Checks that passed.
    pub passed: usize,
    /// Checks that failed.
    pub failed: usize,
    /// Every check.
    pub checks: Vec<Check>,
}

impl DayProof {
    /// Whether every check passed.
    pub fn ok(&self) -> bool {
        self.failed == 0
    }

    /// The first check that failed.
    pub fn first_failure(&self) -> Option<&Check> {
        self.checks.iter().find(|c| !c.passed)
    }
}

/// Why a day could not be verified at all (a disagreement is a failed [`Check`], not this).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The day's window is not closed: there is nothing to prove yet.
    #[error("settlement day {0} is not closed: close it first (`hutong clear --day {0}`)")]
    NotClosed(NaiveDate),
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl VerifyError {
    /// Whether the caller asked for something that cannot be (an open day).
    pub fn is_bad_input(&self) -> bool {
        matches!(self, VerifyError::NotClosed(_))
    }
}

fn fen(v: i64) -> String {
    format!("{v} fen")
}

fn tally(count: i64, amount: i64) -> String {
    format!("{count} records, {amount} fen")
}

fn moves_money(kind: &str) -> Option<bool> {
    let k: TxKind = kind.parse().ok()?;
    Some(k == TxKind::Load || k.is_debit())
}

/// Proves closed day `day` (see the module docs). Files are read under the vault's data
/// directory.
pub async fn verify_day(
    store: &Store,
    vault: &Vault,
    day: NaiveDate,
) -> Result<DayProof, VerifyError> {
    let window = store
        .closed_window(day)
        .await?
        .ok_or(VerifyError::NotClosed(day))?;
    let stored = store.window_figures(day).await?;
    let groups = store.verify_record_groups(day).await?;
    let files = store.verify_window_files(day, window.cutoff_at).await?;
    let outputs = store.verify_outputs(day).await?;
    // Shared storage: bring each output this machine has no copy of from the database, so the
    // checks below read the bytes every replica serves. A body that cannot be fetched is left
    // missing, and its check says so.
    let pacs009 = crate::clearing::pacs009_path(day);
    let stored_outputs = outputs.iter().filter_map(|o| o.stored_path.as_deref());
    for stored in stored_outputs.chain([pacs009.as_str()]) {
        if let Err(e) = vault.local(stored).await {
            tracing::warn!(stored, error = %e, "verify: not fetched from shared storage");
        }
    }
    let mut checks = Vec::new();

    // The window and its records.
    let mut c = Check::new("window.files", files.in_window, window.file_count);
    if files.misplaced != 0 {
        c = c.failed().with_detail(format!(
            "{} of them not accepted inbound files received before the cut-off",
            files.misplaced
        ));
    }
    checks.push(c);
    checks.push(
        Check::new(
            "window.unwindowed",
            "0 records",
            format!("{} records", files.unwindowed_records),
        )
        .with_detail(format!(
            "accepted, received before the cut-off, in no window: {} files",
            files.unwindowed_files
        )),
    );
    let count: i64 = groups.iter().map(|g| g.count).sum();
    checks.push(Check::new(
        "window.count",
        format!("{count} records"),
        format!("{} records", window.tx_count),
    ));
    let mut amount = 0i64;
    let mut on_us = 0i64;
    let mut unknown = Vec::new();
    for g in &groups {
        match moves_money(&g.kind) {
            Some(true) => {
                amount += g.amount_fen;
                if g.issuer == g.acquirer {
                    on_us += g.count;
                }
            }
            Some(false) => {}
            None => unknown.push(g.kind.clone()),
        }
    }
    let mut c = Check::new("window.amount", fen(amount), fen(window.tx_amount_fen))
        .with_detail("transactions that move money");
    if !unknown.is_empty() {
        c = c
            .failed()
            .with_detail(format!("records of unknown kind {unknown:?}"));
    }
    checks.push(c);
    checks.push(Check::new(
        "window.on_us",
        format!("{on_us} records"),
        format!("{} records", window.on_us_count),
    ));

    // Pairs.
    checks.push(pairs_from_records(&stored, &groups));
    checks.push(pairs_fees(&stored));
    checks.push(pairs_adjustments(&stored));

    // Positions.
    checks.push(positions_from_pairs(&stored));
    let sum: i64 = stored.participants.iter().map(|p| p.net_fen).sum();
    checks.push(Check::new("positions.zero_sum", fen(0), fen(sum)));

    // Statements.
    let net: BTreeMap<&str, i64> = stored
        .participants
        .iter()
        .map(|p| (p.code.as_str(), p.net_fen))
        .collect();
    let registered: std::collections::BTreeSet<String> = store
        .participants()
        .await?
        .into_iter()
        .map(|p| p.code.to_string())
        .collect();
    for (code, net) in net.iter().filter(|(c, _)| registered.contains(**c)) {
        for kind in ["xml", "csv"] {
            let recorded = outputs
                .iter()
                .any(|o| o.participant == *code && o.kind == format!("statement-{kind}"));
            if !recorded {
                checks.push(
                    Check::new(
                        format!("statement {code} {kind}"),
                        fen(*net),
                        "no statement",
                    )
                    .failed()
                    .with_detail("a registered participant with a position has no statement"),
                );
            }
        }
    }
    for o in outputs
        .iter()
        .filter(|o| o.kind == "statement-xml" || o.kind == "statement-csv")
    {
        let expected = net.get(o.participant.as_str()).copied().unwrap_or(0);
        let xml = o.kind == "statement-xml";
        let name = format!(
            "statement {} {}",
            o.participant,
            if xml { "xml" } else { "csv" }
        );
        let file = output_file(vault, day, o);
        let parsed = read_small(&file).and_then(|bytes| {
            if xml {
                parse_camt053(&display_name(o, &file), &bytes, day, &o.participant)
            } else {
                parse_statement_csv(&display_name(o, &file), &bytes)
            }
        });
        checks.push(match parsed {
            Ok((net, lines)) => Check::new(&name, fen(expected), fen(net))
                .with_detail(format!("{lines} lines of {}", file_name(o))),
            Err(e) => Check::new(&name, fen(expected), "unreadable")
                .failed()
                .with_detail(e),
        });
    }

    // Settlement instructions.
    checks.extend(pacs009_checks(vault, day, &outputs, &stored.participants));

    // Packages.
    checks.extend(package_checks(store, vault, day, &outputs, &groups).await?);

    // The audit chain.
    let audit = store.verify_audit_chain().await?;
    checks.push(match &audit.broken_at {
        None => Check::new("audit.chain", "intact", "intact")
            .with_detail(format!("{} entries", audit.entries)),
        Some((seq, why)) => Check::new("audit.chain", "intact", format!("broken at entry {seq}"))
            .with_detail(why.clone()),
    });

    // Digests.
    for o in &outputs {
        checks.push(digest_check(vault, day, o).await);
    }

    let passed = checks.iter().filter(|c| c.passed).count();
    Ok(DayProof {
        day,
        passed,
        failed: checks.len() - passed,
        checks,
    })
}

type PairKey = (String, String);

fn pairs_from_records(stored: &reconciliation::Clearing, groups: &[RecordGroup]) -> Check {
    let mut from_records: BTreeMap<PairKey, (i64, i64)> = BTreeMap::new();
    for g in groups {
        if g.issuer == g.acquirer {
            continue;
        }
        let Ok(kind) = g.kind.parse::<TxKind>() else {
            continue;
        };
        let key = if kind == TxKind::Load {
            (g.acquirer.clone(), g.issuer.clone())
        } else if kind.is_debit() {
            (g.issuer.clone(), g.acquirer.clone())
        } else {
            continue;
        };
        let e = from_records.entry(key).or_default();
        e.0 += g.count;
        e.1 += g.amount_fen;
    }
    let stored_pairs: BTreeMap<PairKey, (i64, i64)> = stored
        .pairs
        .iter()
        .filter(|p| p.count != 0 || p.amount_fen != 0)
        .map(|p| {
            (
                (p.payer.clone(), p.payee.clone()),
                (i64::try_from(p.count).unwrap_or(i64::MAX), p.amount_fen),
            )
        })
        .collect();
    let total = |m: &BTreeMap<PairKey, (i64, i64)>| {
        let (c, a) = m.values().fold((0, 0), |(c, a), v| (c + v.0, a + v.1));
        format!("{} pairs, {}", m.len(), tally(c, a))
    };
    let c = Check::new(
        "pairs.transactions",
        total(&from_records),
        total(&stored_pairs),
    );
    match first_difference(&stored_pairs, &from_records) {
        None => c,
        Some((k, s, r)) => {
            let show = |v: Option<(i64, i64)>| v.map_or("none".into(), |(c, a)| tally(c, a));
            Check::new("pairs.transactions", show(r), show(s))
                .failed()
                .with_detail(format!(
                    "pair {} → {}: from the records, then stored",
                    k.0, k.1
                ))
        }
    }
}

fn first_difference<K: Ord + Clone, V: PartialEq + Copy>(
    a: &BTreeMap<K, V>,
    b: &BTreeMap<K, V>,
) -> Option<(K, Option<V>, Option<V>)> {
    a.keys()
        .chain(b.keys())
        .find(|k| a.get(*k) != b.get(*k))
        .map(|k| (k.clone(), a.get(k).copied(), b.get(k).copied()))
}

fn pair_column(
    stored: &reconciliation::Clearing,
    name: &str,
    column: impl Fn(&reconciliation::PairPosition) -> i64,
    sources: BTreeMap<PairKey, i64>,
    what: &str,
) -> Check {
    let pairs: BTreeMap<PairKey, i64> = stored
        .pairs
        .iter()
        .map(|p| ((p.payer.clone(), p.payee.clone()), column(p)))
        .filter(|(_, v)| *v != 0)
        .collect();
    let sources: BTreeMap<PairKey, i64> = sources.into_iter().filter(|(_, v)| *v != 0).collect();
    match first_difference(&sources, &pairs) {
        None => Check::new(name, fen(sources.values().sum()), fen(pairs.values().sum()))
            .with_detail(format!("{what}, then the stored pairs")),
        Some((k, s, p)) => Check::new(name, fen(s.unwrap_or(0)), fen(p.unwrap_or(0)))
            .failed()
            .with_detail(format!(
                "pair {} → {}: {what}, then the stored pair",
                k.0, k.1
            )),
    }
}

fn pairs_fees(stored: &reconciliation::Clearing) -> Check {
    let mut lines: BTreeMap<PairKey, i64> = BTreeMap::new();
    for f in &stored.fees {
        *lines.entry((f.payer.clone(), f.payee.clone())).or_default() += f.fee_fen;
    }
    pair_column(
        stored,
        "pairs.fees",
        |p| p.fee_fen,
        lines,
        "Σ stored fee lines",
    )
}

fn pairs_adjustments(stored: &reconciliation::Clearing) -> Check {
    let mut adj: BTreeMap<PairKey, i64> = BTreeMap::new();
    for a in &stored.adjustments {
        *adj.entry((a.payer.clone(), a.payee.clone())).or_default() += a.amount_fen;
    }
    pair_column(
        stored,
        "pairs.adjustments",
        |p| p.adjustment_fen,
        adj,
        "Σ the window's adjustments",
    )
}

fn positions_from_pairs(stored: &reconciliation::Clearing) -> Check {
    // (receivable, payable, fees, net) per participant.
    type Figures = (i64, i64, i64, i64);
    let mut from_pairs: BTreeMap<String, Figures> = BTreeMap::new();
    for p in &stored.pairs {
        let moved = p.amount_fen + p.adjustment_fen;
        let payer = from_pairs.entry(p.payer.clone()).or_default();
        payer.1 += moved;
        payer.2 -= p.fee_fen;
        let payee = from_pairs.entry(p.payee.clone()).or_default();
        payee.0 += moved;
        payee.2 += p.fee_fen;
    }
    for v in from_pairs.values_mut() {
        v.3 = v.0 - v.1 + v.2;
    }
    let positions: BTreeMap<String, Figures> = stored
        .participants
        .iter()
        .map(|p| {
            (
                p.code.clone(),
                (p.receivable_fen, p.payable_fen, p.fees_fen, p.net_fen),
            )
        })
        .collect();
    let quiet = |m: &BTreeMap<String, Figures>| -> BTreeMap<String, Figures> {
        m.iter()
            .filter(|(_, v)| **v != (0, 0, 0, 0))
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    };
    let (positions, from_pairs) = (quiet(&positions), quiet(&from_pairs));
    match first_difference(&from_pairs, &positions) {
        None => {
            let paid = |m: &BTreeMap<String, Figures>| fen(m.values().map(|v| v.3.max(0)).sum());
            Check::new(
                "positions.pairs",
                format!("{} positions, {} paid", from_pairs.len(), paid(&from_pairs)),
                format!("{} positions, {} paid", positions.len(), paid(&positions)),
            )
            .with_detail("recomputed from the stored pairs, then the stored positions")
        }
        Some((code, r, s)) => {
            let (s, r) = (s.unwrap_or_default(), r.unwrap_or_default());
            let (field, a, b) = [
                ("receivable", s.0, r.0),
                ("payable", s.1, r.1),
                ("fees", s.2, r.2),
                ("net", s.3, r.3),
            ]
            .into_iter()
            .find(|(_, a, b)| a != b)
            .unwrap_or(("net", s.3, r.3));
            Check::new("positions.pairs", fen(b), fen(a))
                .failed()
                .with_detail(format!(
                    "{code} {field}: recomputed from the stored pairs, then the stored position"
                ))
        }
    }
}
