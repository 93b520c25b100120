//! The parsing side of ingest, on a thread of its own: read the file with its adapter,
//! check every record, encode it for the database, and hand batches to the storage side (the
//! other core) through a bounded channel. Memory stays flat: at most a few batches are in
//! flight whatever the file's size.

use std::io::BufReader;
use std::path::PathBuf;

use adapters::{CarryCheck, FileMeta, Format, ReadOptions};
use card_standards::CodeTables;
use tokio::sync::{mpsc, oneshot};

use super::checks::{Checker, Code, Rejection};
use crate::store::{Backend, Batch, NewBlacklistEntry, NewRejection, RecordEncoder, RejectedKey};

/// Records per batch sent to the storage side.
pub(crate) const BATCH: usize = 4096;

/// Batches in flight between the two sides.
pub(crate) const IN_FLIGHT: usize = 4;

/// What the parsing thread needs.
pub(crate) struct Job {
    /// The stored file.
    pub(crate) path: PathBuf,
    /// How errors name the file (`file 12 (TX.xml)`).
    pub(crate) label: String,
    /// Its format.
    pub(crate) format: Format,
    /// The database it goes to.
    pub(crate) backend: Backend,
    /// The checks.
    pub(crate) checker: Checker,
    /// The uploader (blacklist entries must be theirs to list).
    pub(crate) sender: String,
    /// The file's id.
    pub(crate) file_id: i64,
    /// Blacklist entries of this file are ordered after this (the largest stored entry id).
    pub(crate) order_base: i64,
}

/// How the parsing ended.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The file is rejected whole (`F01`, `F02`).
    Reject(Rejection),
    /// Not the sender's fault (the stored file cannot be read): the file stays `received`.
    Internal(String),
    /// The storage side stopped listening (it rejected the file or failed).
    Abandoned,
}

/// What the parsing thread reports when it is done.
#[derive(Debug)]
pub(crate) struct End {
    /// Records read (every item the adapter yielded, bad ones included).
    pub(crate) records: u64,
    /// Their total amount as the trailer checked it (or as read so far).
    pub(crate) total_fen: i64,
    /// Whether the file stands.
    pub(crate) outcome: Result<(), Failure>,
}

fn raw_text(raw: Option<std::borrow::Cow<'_, [u8]>>) -> Option<String> {
    raw.map(|r| String::from_utf8_lossy(&r).into_owned())
}

/// Runs the job: first the header on `head` (or the `F01` that stopped it), then batches on
/// `out` until the file is read.
pub(crate) fn run(
    job: Job,
    head: oneshot::Sender<Result<FileMeta, Failure>>,
    out: mpsc::Sender<Batch>,
) -> End {
    let file = match std::fs::File::open(&job.path) {
        Ok(f) => f,
        Err(e) => {
            let msg = format!("{}: {e}", job.path.display());
            let _ = head.send(Err(Failure::Internal(msg.clone())));
            return End {
                records: 0,
                total_fen: 0,
                outcome: Err(Failure::Internal(msg)),
            };
        }
    };
    let input = BufReader::with_capacity(256 * 1024, file);
    let opts = ReadOptions {
        file: &job.label,
        tables: CodeTables::builtin(),
    };
    if job.format.is_blacklist() {
        run_blacklist(&job, input, opts, head, out)
    } else {
        run_transactions(&job, input, opts, head, out)
    }
}

fn header_failure(e: &adapters::Error) -> Failure {
    Failure::Reject(Rejection::of_adapter(e))
}

fn run_transactions(
    job: &Job,
    input: BufReader<std::fs::File>,
    opts: ReadOptions<'_>,
    head: oneshot::Sender<Result<FileMeta, Failure>>,
    out: mpsc::Sender<Batch>,
) -> End {
    let mut stream = match adapters::open(job.format, input, opts) {
        Ok(s) => s,
        Err(e) => {
            let _ = head.send(Err(header_failure(&e)));
            return End {
                records: 0,
                total_fen: 0,
                outcome: Err(header_failure(&e)),
            };
        }
    };
    if head.send(Ok(stream.meta().clone())).is_err() {
        return abandoned(0, 0);
    }
    let mut enc = RecordEncoder::new(job.backend, true, job.file_id);
    let mut carry = CarryCheck::new(CodeTables::builtin());
    let mut n = 0u64;
    let mut read_fen = 0i64;
    while let Some(item) = stream.next() {
        match item {
            Ok(tx) => {
                n += 1;
                read_fen = read_fen.saturating_add(tx.amount_fen);
                let record_no = tx.provenance.as_ref().map_or(n, |p| p.record);
                match job.checker.check(&tx, &mut carry) {
                    Ok(v) => enc.accepted(record_no, &tx, &v.issuer_participant, v.tac),
                    Err(r) => enc.rejected(NewRejection {
                        record_no,
                        code: r.code.as_str(),
                        field: r.field,
                        reason: r.reason,
                        key: Some(RejectedKey::of_tx(&tx)),
                        raw: raw_text(stream.raw_record()),
                    }),
                }
            }
            Err(e) if e.is_file_level() => break,
            Err(e) => {
                n += 1;
                let r = Rejection::of_adapter(&e);
                enc.rejected(NewRejection {
                    record_no: e.record().unwrap_or(n),
                    code: r.code.as_str(),
                    field: r.field,
                    reason: r.reason,
                    key: None,
                    raw: raw_text(stream.raw_record()),
                });
            }
        }
        if enc.pending() >= BATCH && out.blocking_send(enc.take()).is_err() {
            return abandoned(n, read_fen);
        }
    }
    if enc.pending() > 0 && out.blocking_send(enc.take()).is_err() {
        return abandoned(n, read_fen);
    }
    match stream.finish() {
        Ok(summary) => End {
            records: summary.records,
            total_fen: summary.total_fen,
            outcome: Ok(()),
        },
        Err(e) => End {
            records: n,
            total_fen: read_fen,
            outcome: Err(Failure::Reject(Rejection::of_adapter(&e))),
        },
    }
}

fn abandoned(records: u64, total_fen: i64) -> End {
    End {
        records,
        total_fen,
        outcome: Err(Failure::Abandoned),
    }
}

fn run_blacklist(
    job: &Job,
    input: BufReader<std::fs::File>,
    opts: ReadOptions<'_>,
    head: oneshot::Sender<Result<FileMeta, Failure>>,
    out: mpsc::Sender<Batch>,
) -> End {
    let mut stream = match adapters::open_blacklist(job.format, input, opts) {
        Ok(s) => s,
        Err(e) => {
            let _ = head.send(Err(header_failure(&e)));
            return End {
                records: 0,
                total_fen: 0,
                outcome: Err(header_failure(&e)),
            };
        }
    };
    if head.send(Ok(stream.meta().clone())).is_err() {
        return abandoned(0, 0);
    }
    let mut index = job.checker.blacklist.clone();
    let mut enc = RecordEncoder::new(job.backend, false, job.file_id);
    let mut n = 0u64;
    while let Some(item) = stream.next() {
        match item {
            Ok(entry) => {
                n += 1;
                match job.checker.check_entry(&entry, &job.sender) {
                    Ok(()) => {
                        let order = job
                            .order_base
                            .saturating_add(i64::try_from(n).unwrap_or(i64::MAX));
                        let changed = index.add(&entry, order, job.file_id);
                        enc.blacklist(NewBlacklistEntry {
                            record_no: n,
                            entry,
                            changed,
                        });
                    }
                    Err(r) => enc.rejected(NewRejection {
                        record_no: n,
                        code: r.code.as_str(),
                        field: r.field,
                        reason: r.reason,
                        key: Some(RejectedKey {
                            scheme: entry.scheme,
                            issuer_code: entry.issuer.issuer_code.to_string(),
                            city_code: entry.issuer.city_code.to_string(),
                            card_serial: entry.card.to_string(),
                            card_seq: None,
                            kind: None,
                            terminal: None,
                            terminal_seq: None,
                            amount_fen: None,
                            balance_before_fen: None,
                            tx_time: Some(entry.effective),
                        }),
                        raw: raw_text(stream.raw_record()),
                    }),
                }
            }
            Err(e) if e.is_file_level() => break,
            Err(e) => {
                n += 1;
                let r = Rejection::of_adapter(&e);
                enc.rejected(NewRejection {
                    record_no: e.record().unwrap_or(n),
                    code: if r.code == Code::R05 { "R05" } else { "R07" },
                    field: r.field,
                    reason: r.reason,
                    key: None,
                    raw: raw_text(stream.raw_record()),
                });
            }
        }
        if enc.pending() >= BATCH && out.blocking_send(enc.take()).is_err() {
            return abandoned(n, 0);
        }
    }
    if enc.pending() > 0 && out.blocking_send(enc.take()).is_err() {
        return abandoned(n, 0);
    }
    match stream.finish() {
        Ok((_, count)) => End {
            records: count,
            total_fen: 0,
            outcome: Ok(()),
        },
        Err(e) => End {
            records: n,
            total_fen: 0,
            outcome: Err(Failure::Reject(Rejection::of_adapter(&e))),
        },
    }
}
