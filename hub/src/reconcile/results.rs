//! Partners' result files: recognised by their first bytes ([`adapters::detect_result`]),
//! parsed in the partner's own family — `hutong-xml` `<ResultFile>` with
//! [`adapters::hutong_xml::result`], the `local-csv`, `mohurd`, `mot` and `pboc` result layouts
//! with [`adapters::open_result`] — and stored per line with the declared totals, in one
//! transaction with the file's move out of `received`.

use std::io::BufReader;

use adapters::ReadOptions;
use adapters::hutong_xml::result::{self, Status};
use serde::Serialize;

use super::ReconcileError;
use crate::store::reconcile::{
    DeclaredRow, ResultFileInfo, ResultLine, insert_result_file, insert_result_lines,
};
use crate::store::{
    Direction, FileStatus, NewAuditEntry, Store, Timestamp, append_audit, set_file_status,
};
use crate::vault::Vault;

/// What became of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ResultsOutcome {
    /// Stored (now or earlier): the file as processed.
    Stored(ResultFileInfo),
    /// Refused whole (now or earlier): the file as processed, with the error.
    Rejected(ResultFileInfo),
    /// Not a result file: left for ingest.
    NotResults {
        /// The file.
        file_id: i64,
    },
}

/// The result family the stored file `stored_path` starts like, if any
/// ([`adapters::detect_result`] over [`adapters::read_head`]).
fn result_family(path: &std::path::Path) -> std::io::Result<Option<adapters::Format>> {
    let head = adapters::read_head(std::fs::File::open(path)?)?;
    Ok(adapters::detect_result(&head))
}

struct Parsed {
    day: Option<chrono::NaiveDate>,
    sender: String,
    lines: Vec<ResultLine>,
    bad: i64,
    declared: Option<DeclaredRow>,
    error: Option<String>,
}

fn code(e: &adapters::Error) -> &'static str {
    e.reason_code().map(|c| c.as_str()).unwrap_or("F01")
}

impl Parsed {
    /// A file refused before its first line (its header does not read).
    fn refused(e: &adapters::Error) -> Parsed {
        Parsed {
            day: None,
            sender: String::new(),
            lines: Vec::new(),
            bad: 0,
            declared: None,
            error: Some(format!("{}: {e}", code(e))),
        }
    }
}

/// Parses a result file in the `local-csv`, `mohurd`, `mot` or `pboc` result layout. A line
/// that names no record (blank record columns, or the whole-file entry) cannot be matched and
/// counts as unreadable, as a line that does not parse.
fn parse_family(
    path: std::path::PathBuf,
    name: String,
    family: adapters::Format,
) -> Result<Parsed, String> {
    let f = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let tables = card_standards::CodeTables::builtin();
    let mut stream = match adapters::open_result(family, BufReader::new(f), tables, &name) {
        Ok(s) => s,
        Err(e) => return Ok(Parsed::refused(&e)),
    };
    let day = stream.meta().day;
    let sender = stream.meta().sender.clone();
    let mut lines = Vec::new();
    let mut bad = 0i64;
    for item in stream.by_ref() {
        match item {
            Ok(e) => match e.tx {
                Some(tx) => lines.push(ResultLine {
                    line: lines.len() as i64 + 1,
                    key: card_standards::NaturalKey {
                        scheme: tx.scheme,
                        issuer: tx.issuer,
                        card_serial: tx.card,
                        card_seq: tx.card_seq,
                        kind: tx.kind,
                        terminal: tx.terminal,
                        terminal_seq: tx.terminal_seq,
                    },
                    amount_fen: tx.amount_fen,
                    accepted: e.status == adapters::result::RecordStatus::Accepted,
                    code: e.code,
                    reason: e.reason,
                }),
                None => bad += 1,
            },
            Err(e) if !e.is_file_level() => bad += 1,
            Err(_) => break,
        }
    }
    let (declared, error) = match stream.finish() {
        Ok(t) => {
            let i = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
            (
                Some(DeclaredRow {
                    count: i(t.count),
                    amount_fen: t.amount_fen,
                    accepted: None,
                    rejected: None,
                }),
                None,
            )
        }
        Err(e) => (None, Some(format!("{}: {e}", code(&e)))),
    };
    Ok(Parsed {
        day,
        sender,
        lines,
        bad,
        declared,
        error,
    })
}

fn parse(path: std::path::PathBuf, name: String) -> Result<Parsed, String> {
    let f = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut reader = match result::reader(BufReader::new(f), ReadOptions::new(&name)) {
        Ok(r) => r,
        Err(e) => return Ok(Parsed::refused(&e)),
    };
    let day = Some(reader.day());
    let sender = reader.meta().sender.clone();
    let mut lines = Vec::new();
    let mut bad = 0i64;
    for item in reader.by_ref() {
        match item {
            Ok(e) => lines.push(ResultLine {
                line: lines.len() as i64 + 1,
                key: e.natural_key(),
                amount_fen: e.amount_fen,
                accepted: e.status == Status::Accepted,
                code: e.code,
                reason: e.reason,
            }),
            Err(e) if !e.is_file_level() => bad += 1,
            Err(_) => break,
        }
    }
    let (declared, error) = match reader.finish() {
        Ok(summary) => {
            let t = summary.totals;
            let i = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
            (
                Some(DeclaredRow {
                    count: i(t.count),
                    amount_fen: t.amount_fen,
                    accepted: t.accepted.map(|(n, a)| (i(n), a)),
                    rejected: t.rejected.map(|(n, a)| (i(n), a)),
                }),
                None,
            )
        }
        Err(e) => (None, Some(format!("{}: {e}", code(&e)))),
    };
    Ok(Parsed {
        day,
        sender,
        lines,
        bad,
        declared,
        error,
    })
}

/// Processes one uploaded file as a partner's result file (the entry point ingest's worker
/// calls for uploads that start like a result file of any family): parses it, stores its lines and
/// declared totals and moves it to `results_stored`, or refuses it whole (`results_rejected`,
/// with the reason: a broken envelope `F01`, totals that disagree with the lines `F02`, or a
/// `sender` that is not the participant who uploaded it). Idempotent: a file processed before
/// returns its first outcome.
pub async fn ingest_results(
    store: &Store,
    vault: &Vault,
    file_id: i64,
    now: Timestamp,
) -> Result<ResultsOutcome, ReconcileError> {
    if let Some(done) = store.result_file(file_id).await? {
        return Ok(outcome(done));
    }
    let file = store
        .file(file_id)
        .await?
        .ok_or_else(|| ReconcileError::NotFound(format!("file {file_id}")))?;
    let Some(sender) = file
        .sender
        .clone()
        .filter(|_| file.direction == Direction::In)
    else {
        return Err(ReconcileError::BadInput(format!(
            "file {file_id} is not an uploaded file"
        )));
    };
    if file.status != FileStatus::Received {
        return Ok(ResultsOutcome::NotResults { file_id });
    }
    let path = vault
        .local(&file.stored_path)
        .await
        .map_err(|e| ReconcileError::Io(e.to_string()))?;
    let Some(family) = result_family(&path).map_err(|e| ReconcileError::Io(e.to_string()))? else {
        return Ok(ResultsOutcome::NotResults { file_id });
    };
    let name = file.name.clone();
    let mut parsed = tokio::task::spawn_blocking(move || match family {
        adapters::Format::HutongXml => parse(path, name),
        f => parse_family(path, name, f),
    })
    .await
    .map_err(|e| ReconcileError::Io(e.to_string()))?
    .map_err(ReconcileError::Io)?;
    if parsed.error.is_none() && parsed.sender != sender {
        parsed.error = Some(format!(
            "the file names sender {} but was uploaded by {sender}",
            parsed.sender
        ));
    }
    let rejected = parsed.error.is_some();
    // A file refused before its day could be read is filed under the day it arrived.
    let day = parsed
        .day
        .unwrap_or_else(|| file.received_at.datetime().date_naive());
    let mut tx = store.begin().await?;
    let to = if rejected {
        FileStatus::ResultsRejected
    } else {
        FileStatus::ResultsStored
    };
    if !set_file_status(&mut tx, file_id, FileStatus::Received, to).await? {
        drop(tx);
        return match store.result_file(file_id).await? {
            Some(done) => Ok(outcome(done)),
            None => Ok(ResultsOutcome::NotResults { file_id }),
        };
    }
    let stored = if rejected { 0 } else { parsed.lines.len() };
    insert_result_file(
        &mut tx,
        file_id,
        &sender,
        day,
        parsed.error.as_deref(),
        stored as i64,
        parsed.bad,
        parsed.declared,
        now,
    )
    .await?;
    if !rejected {
        insert_result_lines(&mut tx, file_id, &parsed.lines).await?;
    }
    let detail = match &parsed.error {
        Some(e) => format!("result file of {sender} for {day} refused: {e}"),
        None => format!(
            "result file of {sender} for {day}: {} lines stored, {} unreadable",
            parsed.lines.len(),
            parsed.bad
        ),
    };
    let target = format!("file:{file_id}");
    append_audit(
        &mut tx,
        &NewAuditEntry {
            participant: Some(&sender),
            action: "reconcile.results",
            target: Some(&target),
            result: if rejected { "rejected" } else { "stored" },
            detail: Some(&detail),
        },
    )
    .await?;
    tx.commit().await?;
    let done = store
        .result_file(file_id)
        .await?
        .ok_or_else(|| ReconcileError::NotFound(format!("result file {file_id}")))?;
    Ok(outcome(done))
}

fn outcome(info: ResultFileInfo) -> ResultsOutcome {
    if info.status == "stored" {
        ResultsOutcome::Stored(info)
    } else {
        ResultsOutcome::Rejected(info)
    }
}

/// Processes every uploaded file still in `received` that is a result file (see
/// [`ingest_results`]); other files are left for ingest. Returns what was processed.
pub async fn ingest_pending_results(
    store: &Store,
    vault: &Vault,
    now: Timestamp,
) -> Result<Vec<ResultsOutcome>, ReconcileError> {
    let mut out = Vec::new();
    for f in store
        .files_with_status(FileStatus::Received, 100_000)
        .await?
    {
        if f.direction != Direction::In {
            continue;
        }
        let path = match vault.local(&f.stored_path).await {
            Ok(path) => path,
            Err(e) => {
                tracing::warn!(file = f.id, "cannot read a received file: {e}");
                continue;
            }
        };
        match result_family(&path) {
            Ok(Some(_)) => out.push(ingest_results(store, vault, f.id, now).await?),
            Ok(None) => {}
            Err(e) => tracing::warn!(file = f.id, "cannot read a received file: {e}"),
        }
    }
    Ok(out)
}
