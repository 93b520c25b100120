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
use std::io::Read;
use std::path::{Path, PathBuf};

use card_standards::TxKind;
use chrono::NaiveDate;
use quick_xml::events::Event;
use serde::Serialize;

use crate::store::verify::{RecordGroup, RecordedOutput};
use crate::store::{Store, StoreError};
use crate::vault::Vault;

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

/// The copy of an output the participant receives (the outbox copy), else the one written
/// under `settlements/DAY/`.
fn output_file(vault: &Vault, day: NaiveDate, o: &RecordedOutput) -> PathBuf {
    if let Some(stored) = &o.stored_path {
        return vault.path_of(stored);
    }
    if let Some(p) = o.path.as_ref().map(PathBuf::from).filter(|p| p.exists()) {
        return p;
    }
    settlements_copy(vault, day, o)
}

fn file_name(o: &RecordedOutput) -> String {
    if let Some(n) = &o.file_name {
        return n.clone();
    }
    o.path
        .as_deref()
        .and_then(|p| Path::new(p).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| format!("{} of {}", o.kind, o.participant))
}

fn settlements_copy(vault: &Vault, day: NaiveDate, o: &RecordedOutput) -> PathBuf {
    vault
        .data_dir()
        .join("settlements")
        .join(day.to_string())
        .join(file_name(o))
}

fn display_name(o: &RecordedOutput, path: &Path) -> String {
    format!("{} ({})", file_name(o), path.display())
}

fn read_small(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Yuan with at most two decimals (`123.45`, `-0.05`, `7`) as fen, by integer arithmetic.
pub fn parse_yuan(s: &str) -> Option<i64> {
    let s = s.trim();
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty()
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    let v = whole.checked_mul(100)?.checked_add(frac)?;
    Some(if negative { -v } else { v })
}

/// Walks an XML document calling `on_end(path, text)` at the end of every element, with the
/// path of local names from the root and the element's own text. Errors name `file`.
fn walk_xml(
    file: &str,
    bytes: &[u8],
    mut on_end: impl FnMut(&[String], &str) -> Result<(), String>,
) -> Result<(), String> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut buf = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    loop {
        let at = reader.buffer_position();
        let ev = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("{file}: XML at byte {at}: {e}"))?;
        match ev {
            Event::Start(e) => {
                path.push(local_name(&e));
                text.clear();
            }
            Event::Empty(e) => {
                path.push(local_name(&e));
                on_end(&path, "")?;
                path.pop();
            }
            Event::Text(t) => {
                let s: &str = t.as_ref();
                text.push_str(s);
            }
            Event::End(_) => {
                on_end(&path, text.trim())?;
                text.clear();
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(())
}

fn local_name(e: &quick_xml::events::BytesStart<'_>) -> String {
    let name = e.local_name();
    let s: &str = name.as_ref();
    s.to_string()
}

fn ends_with(path: &[String], suffix: &[&str]) -> bool {
    path.len() >= suffix.len()
        && path[path.len() - suffix.len()..]
            .iter()
            .zip(suffix)
            .all(|(a, b)| a == b)
}

/// A camt.053 statement's net (Σ `Ntry/Amt` signed by `Ntry/CdtDbtInd`, fen) and its number
/// of entries; its `Stmt/Id` must be `{day}-{code}`. Other elements are ignored.
pub fn parse_camt053(
    file: &str,
    bytes: &[u8],
    day: NaiveDate,
    code: &str,
) -> Result<(i64, usize), String> {
    let mut net = 0i64;
    let mut entries = 0usize;
    let mut amt: Option<i64> = None;
    let mut ind: Option<i64> = None;
    let mut id: Option<String> = None;
    walk_xml(file, bytes, |path, text| {
        if ends_with(path, &["Stmt", "Id"]) {
            id = Some(text.to_string());
        } else if ends_with(path, &["Ntry", "Amt"]) {
            amt = Some(parse_yuan(text).ok_or_else(|| {
                format!(
                    "{file}: Ntry {} Amt: not an amount in yuan ({text:?})",
                    entries + 1
                )
            })?);
        } else if ends_with(path, &["Ntry", "CdtDbtInd"]) {
            ind = Some(match text {
                "CRDT" => 1,
                "DBIT" => -1,
                other => {
                    return Err(format!(
                        "{file}: Ntry {} CdtDbtInd: expected CRDT or DBIT ({other:?})",
                        entries + 1
                    ));
                }
            });
        } else if path.last().is_some_and(|n| n == "Ntry") {
            entries += 1;
            let a = amt
                .take()
                .ok_or_else(|| format!("{file}: Ntry {entries}: no Amt"))?;
            let s = ind
                .take()
                .ok_or_else(|| format!("{file}: Ntry {entries}: no CdtDbtInd"))?;
            net = net
                .checked_add(a * s)
                .ok_or_else(|| format!("{file}: Ntry {entries}: the sum overflows"))?;
        }
        Ok(())
    })?;
    let want = format!("{day}-{code}");
    match id {
        Some(id) if id == want => Ok((net, entries)),
        Some(id) => Err(format!("{file}: Stmt/Id is {id:?}, expected {want:?}")),
        None => Err(format!("{file}: no Stmt/Id")),
    }
}

/// A statement CSV's net (Σ `credit_fen` − Σ `debit_fen` over its line rows: `TXNS`, `FEES`,
/// `ADJS`) and its number of line rows. The `TOTAL` row must hold the sums of the lines' debits
/// and credits, and the `NET` row the net (on the credit side when the participant is paid,
/// on the debit side when it pays); a disagreement is an error naming the row and both figures.
pub fn parse_statement_csv(file: &str, bytes: &[u8]) -> Result<(i64, usize), String> {
    let mut r = csv::Reader::from_reader(bytes);
    let headers = r
        .headers()
        .map_err(|e| format!("{file}: header: {e}"))?
        .clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("{file}: header: no column {name:?}"))
    };
    let (kind, debit, credit) = (col("kind")?, col("debit_fen")?, col("credit_fen")?);
    let (mut debits, mut credits, mut rows) = (0i64, 0i64, 0usize);
    let (mut total, mut net) = (None, None);
    for (i, row) in r.records().enumerate() {
        let line = i + 2;
        let row = row.map_err(|e| format!("{file}: line {line}: {e}"))?;
        let number = |c: usize, name: &str| -> Result<i64, String> {
            let v = row.get(c).unwrap_or("");
            v.trim()
                .parse::<i64>()
                .map_err(|_| format!("{file}: line {line} {name}: not fen ({v:?})"))
        };
        let (d, c) = (number(debit, "debit_fen")?, number(credit, "credit_fen")?);
        match row.get(kind) {
            Some("TOTAL") => total = Some((line, d, c)),
            Some("NET") => net = Some((line, d, c)),
            _ => {
                let overflow = || format!("{file}: line {line}: the sum overflows");
                debits = debits.checked_add(d).ok_or_else(overflow)?;
                credits = credits.checked_add(c).ok_or_else(overflow)?;
                rows += 1;
            }
        }
    }
    let lines_net = credits - debits;
    match total {
        Some((line, d, c)) if (d, c) != (debits, credits) => {
            return Err(format!(
                "{file}: line {line} (TOTAL): debits {d} and credits {c} fen, but the lines sum \
                 to {debits} and {credits} fen"
            ));
        }
        Some(_) => {}
        None => return Err(format!("{file}: no TOTAL row")),
    }
    match net {
        Some((line, d, c)) if c - d != lines_net || (d != 0 && c != 0) => Err(format!(
            "{file}: line {line} (NET): {} fen, but the lines net {lines_net} fen",
            c - d
        )),
        Some(_) => Ok((lines_net, rows)),
        None => Err(format!("{file}: no NET row")),
    }
}

/// What a pacs.009 file says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pacs009 {
    /// `GrpHdr/NbOfTxs`.
    pub nb_of_txs: Option<i64>,
    /// `GrpHdr/CtrlSum`, fen.
    pub ctrl_sum_fen: Option<i64>,
    /// Each `CdtTrfTxInf`: `PmtId/InstrId` and `IntrBkSttlmAmt` (fen), in order.
    pub transfers: Vec<(String, i64)>,
}

/// Reads a pacs.009 file (other elements are ignored).
pub fn parse_pacs009(file: &str, bytes: &[u8]) -> Result<Pacs009, String> {
    let mut out = Pacs009::default();
    let mut id: Option<String> = None;
    let mut amount: Option<i64> = None;
    walk_xml(file, bytes, |path, text| {
        let n = out.transfers.len() + 1;
        if ends_with(path, &["GrpHdr", "NbOfTxs"]) {
            out.nb_of_txs = Some(
                text.parse()
                    .map_err(|_| format!("{file}: GrpHdr/NbOfTxs: not a number ({text:?})"))?,
            );
        } else if ends_with(path, &["GrpHdr", "CtrlSum"]) {
            out.ctrl_sum_fen = Some(
                parse_yuan(text)
                    .ok_or_else(|| format!("{file}: GrpHdr/CtrlSum: not an amount ({text:?})"))?,
            );
        } else if ends_with(path, &["CdtTrfTxInf", "PmtId", "InstrId"]) {
            id = Some(text.to_string());
        } else if ends_with(path, &["CdtTrfTxInf", "IntrBkSttlmAmt"]) {
            amount = Some(parse_yuan(text).ok_or_else(|| {
                format!("{file}: CdtTrfTxInf {n} IntrBkSttlmAmt: not an amount ({text:?})")
            })?);
        } else if path.last().is_some_and(|p| p == "CdtTrfTxInf") {
            let i = id
                .take()
                .ok_or_else(|| format!("{file}: CdtTrfTxInf {n}: no PmtId/InstrId"))?;
            let a = amount
                .take()
                .ok_or_else(|| format!("{file}: CdtTrfTxInf {n}: no IntrBkSttlmAmt"))?;
            out.transfers.push((i, a));
        }
        Ok(())
    })?;
    Ok(out)
}

fn pacs009_checks(
    vault: &Vault,
    day: NaiveDate,
    outputs: &[RecordedOutput],
    positions: &[reconciliation::ParticipantPosition],
) -> Vec<Check> {
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    for p in positions {
        if p.net_fen < 0 {
            expected.insert(format!("{day}-{}-PAY", p.code), -p.net_fen);
        } else if p.net_fen > 0 {
            expected.insert(format!("{day}-{}-RCV", p.code), p.net_fen);
        }
    }
    let total: i64 = expected.values().sum();
    let Some(o) = outputs.iter().find(|o| o.kind == "pacs009") else {
        return vec![
            Check::new("pacs009.count", expected.len(), "no file")
                .with_detail("no pacs009 was recorded"),
        ];
    };
    if nothing_written(o) {
        // A pacs.009 carries at least one transfer: a day without net positions has no file.
        let found = if expected.is_empty() { "0" } else { "no file" };
        return vec![
            Check::new("pacs009.count", expected.len(), found)
                .with_detail("no pacs009 file: a day without net positions has no transfers"),
        ];
    }
    let path = output_file(vault, day, o);
    let name = display_name(o, &path);
    let parsed = match read_small(&path).and_then(|b| parse_pacs009(&name, &b)) {
        Ok(p) => p,
        Err(e) => {
            return vec![
                Check::new("pacs009.count", expected.len(), "unreadable")
                    .failed()
                    .with_detail(e),
            ];
        }
    };
    let mut checks = Vec::new();
    let nb = parsed
        .nb_of_txs
        .map_or("no NbOfTxs".to_string(), |n| n.to_string());
    let mut c = Check::new("pacs009.count", expected.len(), &nb).with_detail("NbOfTxs");
    if parsed.nb_of_txs != Some(parsed.transfers.len() as i64) {
        c = c.failed().with_detail(format!(
            "NbOfTxs {nb} but {} CdtTrfTxInf",
            parsed.transfers.len()
        ));
    }
    checks.push(c);
    let mut found: BTreeMap<String, i64> = BTreeMap::new();
    let mut repeated = None;
    for (id, a) in &parsed.transfers {
        if found.insert(id.clone(), *a).is_some() {
            repeated = Some(id.clone());
        }
    }
    checks.push(match first_difference(&expected, &found) {
        None => Check::new("pacs009.amounts", fen(total), fen(found.values().sum()))
            .with_detail(format!("{} instructions", found.len())),
        Some((id, e, f)) => {
            let show = |v: Option<i64>| v.map_or("none".to_string(), fen);
            Check::new("pacs009.amounts", show(e), show(f))
                .failed()
                .with_detail(format!("{id}: from the positions, then IntrBkSttlmAmt"))
        }
    });
    if let Some(id) = repeated {
        let last = checks.len() - 1;
        checks[last] = checks[last]
            .clone()
            .failed()
            .with_detail(format!("InstrId {id} appears twice"));
    }
    let file_sum: i64 = parsed.transfers.iter().map(|t| t.1).sum();
    let ctrl = parsed.ctrl_sum_fen.map_or("no CtrlSum".to_string(), fen);
    let mut c = Check::new("pacs009.ctrl_sum", fen(total), &ctrl).with_detail("CtrlSum");
    if parsed.ctrl_sum_fen != Some(file_sum) {
        c = c.failed().with_detail(format!(
            "CtrlSum {ctrl} but the instructions sum to {}",
            fen(file_sum)
        ));
    }
    checks.push(c);
    checks
}

async fn package_checks(
    store: &Store,
    vault: &Vault,
    day: NaiveDate,
    outputs: &[RecordedOutput],
    groups: &[RecordGroup],
) -> Result<Vec<Check>, VerifyError> {
    let mut sides: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for g in groups.iter().filter(|g| g.issuer != g.acquirer) {
        let e = sides.entry(g.issuer.as_str()).or_default();
        e.0 += g.count;
        e.1 += g.amount_fen;
    }
    let packages: BTreeMap<&str, &RecordedOutput> = outputs
        .iter()
        .filter(|o| o.kind == "outbound")
        .map(|o| (o.participant.as_str(), o))
        .collect();
    let mut codes: Vec<&str> = sides.keys().chain(packages.keys()).copied().collect();
    codes.sort_unstable();
    codes.dedup();
    let mut checks = Vec::new();
    for code in codes {
        let (count, amount) = sides.get(code).copied().unwrap_or_default();
        let name = format!("package {code}");
        let expected = tally(count, amount);
        let Some(o) = packages.get(code) else {
            checks.push(
                Check::new(&name, expected, "no package")
                    .failed()
                    .with_detail("records charged to it were sent to it in no package"),
            );
            continue;
        };
        let Some(p) = store.participant(code).await? else {
            checks.push(
                Check::new(&name, expected, "unreadable")
                    .failed()
                    .with_detail(format!("{code} is not a registered participant")),
            );
            continue;
        };
        let format = crate::outbound::package_format(&p);
        let path = output_file(vault, day, o);
        let file = display_name(o, &path);
        let read = tokio::task::spawn_blocking(move || read_package(&path, format, &file))
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
        checks.push(match read {
            Ok((records, total)) => Check::new(&name, expected, tally(records, total))
                .with_detail(format!("the trailer of {}", file_name(o))),
            Err(e) => Check::new(&name, expected, "unreadable")
                .failed()
                .with_detail(e),
        });
    }
    Ok(checks)
}

/// Reads a package back with the adapters: the trailer's count and total.
fn read_package(path: &Path, format: adapters::Format, file: &str) -> Result<(i64, i64), String> {
    let f = std::fs::File::open(path).map_err(|e| format!("{file}: {e}"))?;
    let input = std::io::BufReader::with_capacity(256 * 1024, f);
    let mut stream = adapters::open(format, input, adapters::ReadOptions::new(file))
        .map_err(|e| e.to_string())?;
    let (mut read, mut sum) = (0i64, 0i64);
    for tx in stream.by_ref().flatten() {
        read += 1;
        sum += tx.amount_fen;
    }
    let summary = stream
        .finish()
        .map_err(|e| format!("{e} (the records read: {})", tally(read, sum)))?;
    Ok((
        i64::try_from(summary.records).unwrap_or(i64::MAX),
        summary.total_fen,
    ))
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
    }
    Ok(hex::encode(ctx.finish().as_ref()))
}

/// An output recorded as produced with nothing written (a pacs.009 of a day without
/// transfers).
fn nothing_written(o: &RecordedOutput) -> bool {
    o.file_id.is_none() && o.path.is_none() && o.sha256.is_none()
}

async fn digest_check(vault: &Vault, day: NaiveDate, o: &RecordedOutput) -> Check {
    let name = format!("digest {}", file_name(o));
    if nothing_written(o) {
        return Check::new(&name, "no file", "no file");
    }
    let Some(recorded) = o.sha256.clone() else {
        return Check::new(&name, "a digest recorded when written", "none").failed();
    };
    let mut copies: Vec<(&'static str, PathBuf, bool)> = Vec::new();
    if let Some(stored) = &o.stored_path {
        copies.push(("outbox copy", vault.path_of(stored), true));
        copies.push(("settlements copy", settlements_copy(vault, day, o), false));
    } else {
        copies.push(("file", output_file(vault, day, o), true));
    }
    if let Some(f) = o.file_sha256.as_ref().filter(|f| **f != recorded) {
        return Check::new(&name, &recorded, f).failed().with_detail(
            "the outbox file's record (files.sha256) differs from the digest recorded when written",
        );
    }
    let mut found = None;
    for (what, path, required) in copies {
        if !required && !path.exists() {
            continue;
        }
        let p = path.clone();
        let digest = tokio::task::spawn_blocking(move || sha256_file(&p))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))
            .and_then(|r| r);
        match digest {
            Ok(d) if d == recorded => found = found.or(Some(d)),
            Ok(d) => {
                return Check::new(&name, &recorded, d)
                    .failed()
                    .with_detail(format!("{what} {}", path.display()));
            }
            Err(e) => {
                return Check::new(&name, &recorded, "unreadable")
                    .failed()
                    .with_detail(format!("{what} {}: {e}", path.display()));
            }
        }
    }
    Check::new(&name, &recorded, found.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_parse_to_fen_exactly_without_floats() {
        assert_eq!(parse_yuan("123.45"), Some(12345));
        assert_eq!(parse_yuan("0.05"), Some(5));
        assert_eq!(parse_yuan("-0.05"), Some(-5));
        assert_eq!(parse_yuan("7"), Some(700));
        assert_eq!(parse_yuan("7.5"), Some(750));
        assert_eq!(parse_yuan("0.1"), Some(10));
        assert_eq!(parse_yuan("1.234"), None);
        assert_eq!(parse_yuan("1e3"), None);
        assert_eq!(parse_yuan(""), None);
        assert_eq!(parse_yuan(".5"), None);
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
    }

    #[test]
    fn camt053_net_is_the_signed_sum_of_entry_amounts_whatever_else_the_file_holds() {
        let xml = br#"<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
<Stmt><Id>2026-11-21-QD</Id><Acct><Id><Othr><Id>QD</Id></Othr></Id></Acct>
<Bal><Amt Ccy="CNY">99.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Bal>
<TxsSummry><TtlNtries><TtlNetNtry><Amt>1.00</Amt><CdtDbtInd>DBIT</CdtDbtInd></TtlNetNtry></TtlNtries></TxsSummry>
<Ntry><NtryRef>1</NtryRef><Amt Ccy="CNY">26.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><NewElement>x</NewElement>
<NtryDtls><TxDtls><AmtDtls><InstdAmt><Amt Ccy="CNY">5.00</Amt></InstdAmt></AmtDtls></TxDtls></NtryDtls></Ntry>
<Ntry><Amt Ccy="CNY">0.17</Amt><CdtDbtInd>DBIT</CdtDbtInd></Ntry>
</Stmt></BkToCstmrStmt></Document>"#;
        assert_eq!(parse_camt053("s.xml", xml, day(), "QD"), Ok((2650 - 17, 2)));
        let e = parse_camt053("s.xml", xml, day(), "RZ").unwrap_err();
        assert!(e.contains("s.xml") && e.contains("Stmt/Id"), "{e}");
        let bad = br#"<Document><Stmt><Id>2026-11-21-QD</Id><Ntry><Amt>2,00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Ntry></Stmt></Document>"#;
        let e = parse_camt053("s.xml", bad, day(), "QD").unwrap_err();
        assert!(e.contains("s.xml") && e.contains("Ntry 1 Amt"), "{e}");
    }

    #[test]
    fn pacs009_is_read_for_its_count_control_sum_and_each_instruction() {
        let xml = br#"<Document><FICdtTrf><GrpHdr><MsgId>M</MsgId><NbOfTxs>2</NbOfTxs><CtrlSum>10.00</CtrlSum></GrpHdr>
<CdtTrfTxInf><PmtId><InstrId>2026-11-21-QD-PAY</InstrId><EndToEndId>x</EndToEndId></PmtId><IntrBkSttlmAmt Ccy="CNY">5.00</IntrBkSttlmAmt><Dbtr><FinInstnId><ClrSysMmbId><MmbId>QD</MmbId></ClrSysMmbId></FinInstnId></Dbtr></CdtTrfTxInf>
<CdtTrfTxInf><PmtId><InstrId>2026-11-21-RZ-RCV</InstrId></PmtId><IntrBkSttlmAmt Ccy="CNY">5.00</IntrBkSttlmAmt></CdtTrfTxInf>
</FICdtTrf></Document>"#;
        let p = parse_pacs009("p.xml", xml).unwrap();
        assert_eq!(p.nb_of_txs, Some(2));
        assert_eq!(p.ctrl_sum_fen, Some(1000));
        assert_eq!(
            p.transfers,
            vec![
                ("2026-11-21-QD-PAY".to_string(), 500),
                ("2026-11-21-RZ-RCV".to_string(), 500)
            ]
        );
        let e = parse_pacs009(
            "p.xml",
            b"<Document><GrpHdr><CtrlSum>ten</CtrlSum></GrpHdr></Document>",
        )
        .unwrap_err();
        assert!(e.contains("p.xml") && e.contains("CtrlSum"), "{e}");
    }

    #[test]
    fn statement_csv_net_sums_credits_minus_debits_of_the_lines_and_checks_total_and_net() {
        let head = "day,participant,kind,counterparty,reference,description,count,debit_fen,credit_fen,debit_yuan,credit_yuan\n\
2026-11-21,QD,TXNS,RZ,,x,2,0,2650,0.00,26.50\n\
2026-11-21,QD,FEES,RZ,rule 1,y,1,17,0,0.17,0.00\n\
2026-11-21,QD,TOTAL,,,totals,,17,2650,0.17,26.50\n";
        let csv = format!("{head}2026-11-21,QD,NET,,,net,,0,2633,0.00,26.33\n");
        assert_eq!(parse_statement_csv("s.csv", csv.as_bytes()), Ok((2633, 2)));
        let wrong_net = format!("{head}2026-11-21,QD,NET,,,net,,17,2650,0.17,26.50\n");
        let e = parse_statement_csv("s.csv", wrong_net.as_bytes()).unwrap_err();
        assert!(e.contains("NET") && e.contains("2633"), "{e}");
        let wrong_total = csv.replace("totals,,17,2650", "totals,,18,2650");
        let e = parse_statement_csv("s.csv", wrong_total.as_bytes()).unwrap_err();
        assert!(e.contains("TOTAL") && e.contains("18"), "{e}");
        let e = parse_statement_csv("s.csv", b"day,kind\n").unwrap_err();
        assert!(e.contains("s.csv") && e.contains("debit_fen"), "{e}");
    }
}
