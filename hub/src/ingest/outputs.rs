//! What ingest produces for participants: the result file of each ingested file (in the
//! sender's format family), the blacklist changes for every other participant (in each one's
//! family), and [`write_records`], which writes a set of records in a participant's format
//! (for the outbound 下发包 of the clearing windows).

use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use adapters::{FileMeta, Format, RecordStatus, ResultEntry, ResultMeta, ResultTotals, ResultTx};
use card_standards::{CanonicalTx, CodeTables, Scheme, TxKind};
use tokio::sync::{Notify, mpsc};

use super::IngestError;
use crate::delivery::{deposit_outbound, deposit_staged};
use crate::seal::{SealKey, seal_file, write_sidecar};
use crate::settings::HubSettings;
use crate::store::{
    Content, FileRecord, FileResult, FileStatus, RejectionRow, Store, natural_key_from_bytes,
};
use crate::vault::Vault;

/// Entries per chunk between the database pages and the writing thread.
const CHUNK: usize = 4096;

/// The usual file-name extension of a format family.
pub fn extension(format: Format) -> &'static str {
    match format.family() {
        Format::HutongXml => "xml",
        Format::LocalCsv => "csv",
        _ => "txt",
    }
}

/// A file name of at most 255 bytes: `prefix` then as much of `rest` as fits.
fn file_name(prefix: &str, rest: &str) -> String {
    let mut name = prefix.to_string();
    for c in rest.chars() {
        if name.len() + c.len_utf8() > 255 {
            break;
        }
        name.push(c);
    }
    name
}

/// The name of a file's result file: `RESULT-<file id>-<name>`.
pub fn result_name(file: &FileRecord) -> String {
    file_name(&format!("RESULT-{}-", file.id), &file.name)
}

fn temp_path(vault: &Vault, what: &str) -> PathBuf {
    let mut random = [0u8; 8];
    let _ = aws_lc_rs::rand::fill(&mut random);
    vault
        .data_dir()
        .join("files")
        .join("tmp")
        .join(format!("{what}-{}", hex::encode(random)))
}

/// Writes and deposits the outputs of one ingested file, once: its result file, and for a
/// blacklist file its changes for every other participant. Marks them done.
pub(crate) async fn deposit_outputs(
    store: &Store,
    vault: &Vault,
    hub: &HubSettings,
    file_id: i64,
    outbox: Option<&Notify>,
) -> Result<(), IngestError> {
    let Some(fr) = store.file_result(file_id).await? else {
        return Ok(());
    };
    if fr.outputs_at.is_some() {
        return Ok(());
    }
    let file = store
        .file(file_id)
        .await?
        .ok_or_else(|| IngestError::Io(format!("file {file_id} vanished")))?;
    let sender = store
        .participant(&fr.sender)
        .await?
        .ok_or_else(|| IngestError::Io(format!("participant {} vanished", fr.sender)))?;
    let format = fr
        .format
        .as_deref()
        .and_then(|f| f.parse::<Format>().ok())
        .map(Format::family)
        .unwrap_or_else(|| sender.format());
    let key = store.seal_key(&fr.sender).await?;
    let writer = vault
        .stage_blocking(key.as_ref())
        .map_err(|e| IngestError::Io(e.to_string()))?;
    let staged = write_result(store, &fr, &file, format, hub, writer).await?;
    let (result_file, _) = deposit_staged(
        store,
        vault,
        &fr.sender,
        &result_name(&file),
        staged,
        key.as_ref(),
        outbox,
    )
    .await?;
    if fr.content == Some(Content::Blacklist) && fr.status != FileStatus::Rejected {
        distribute_blacklist(store, vault, hub, &fr, &file, outbox).await?;
    }
    store
        .mark_outputs_done(file_id, Some(result_file.id))
        .await?;
    Ok(())
}

fn tx_of_rejection(r: &RejectionRow) -> Option<ResultTx> {
    Some(ResultTx {
        scheme: r.scheme.as_deref()?.parse::<Scheme>().ok()?,
        issuer: card_standards::IssuerId {
            issuer_code: r.issuer_code.as_deref()?.parse().ok()?,
            city_code: r.city_code.as_deref()?.parse().ok()?,
        },
        card: r.card_serial.as_deref()?.parse().ok()?,
        card_seq: u16::try_from(r.card_seq?).ok()?,
        kind: kind_of(r.kind.as_deref()?),
        terminal: r.terminal.as_deref()?.parse().ok()?,
        terminal_seq: u32::try_from(r.terminal_seq?).ok()?,
        amount_fen: r.amount_fen?,
    })
}

fn kind_of(s: &str) -> TxKind {
    [
        TxKind::Load,
        TxKind::Unload,
        TxKind::CashWithdrawal,
        TxKind::Purchase,
        TxKind::CompositePurchase,
        TxKind::OverdraftUpdate,
    ]
    .into_iter()
    .find(|k| k.as_str() == s)
    .unwrap_or(TxKind::Other)
}

fn rejected_entry(r: RejectionRow) -> ResultEntry {
    ResultEntry {
        record: u64::try_from(r.record_no).unwrap_or(0),
        tx: tx_of_rejection(&r),
        status: RecordStatus::Rejected,
        code: Some(r.code),
        field: r.field,
        reason: Some(r.reason),
    }
}

/// Writes the result file of an ingested file, in `format`'s family, into the vault's
/// staging area (hashed and sealed on the way).
pub async fn write_result(
    store: &Store,
    fr: &FileResult,
    file: &FileRecord,
    format: Format,
    hub: &HubSettings,
    out: crate::vault::HashingWriter,
) -> Result<crate::vault::Staged, IngestError> {
    let meta = ResultMeta {
        sender: hub.hub_code.clone(),
        receiver: file.sender.clone(),
        seq: u64::try_from(fr.sender_seq.unwrap_or(0)).unwrap_or(0),
        created: hub.local_time(fr.ingested_at.datetime()),
        day: None,
    };
    let totals = ResultTotals {
        count: u64::try_from(fr.records).unwrap_or(0),
        amount_fen: fr.total_fen,
        accepted: u64::try_from(fr.accepted).unwrap_or(0),
        rejected: u64::try_from(fr.rejected).unwrap_or(0),
    };
    let (etx, mut erx) = mpsc::channel::<Vec<ResultEntry>>(4);
    let writer = tokio::task::spawn_blocking(move || -> Result<crate::vault::Staged, String> {
        let mut out = out;
        let written = (|| {
            let mut sink = adapters::create_result(format, &mut out, &meta, CodeTables::builtin())
                .map_err(|e| e.to_string())?;
            while let Some(chunk) = erx.blocking_recv() {
                for e in &chunk {
                    sink.write(e).map_err(|e| e.to_string())?;
                }
            }
            sink.close(&totals).map_err(|e| e.to_string())
        })();
        match written {
            Ok(()) => out.finish().map_err(|e| e.to_string()),
            Err(e) => {
                out.abort();
                Err(e)
            }
        }
    });
    let fed = feed_entries(store, fr, &etx).await;
    drop(etx);
    let wrote = writer
        .await
        .map_err(|e| IngestError::Io(format!("the result writer failed: {e}")))?;
    let staged = wrote.map_err(IngestError::Io)?;
    if let Err(e) = fed {
        staged.remove();
        return Err(e);
    }
    Ok(staged)
}

async fn feed_entries(
    store: &Store,
    fr: &FileResult,
    out: &mpsc::Sender<Vec<ResultEntry>>,
) -> Result<(), IngestError> {
    let gone = || IngestError::Io("the result writer stopped".into());
    if let Some(code) = &fr.code {
        let e = ResultEntry {
            record: 0,
            tx: None,
            status: RecordStatus::Rejected,
            code: Some(code.clone()),
            field: fr.field.clone(),
            reason: fr.reason.clone(),
        };
        return out.send(vec![e]).await.map_err(|_| gone());
    }
    if fr.content == Some(Content::Blacklist) {
        let rejections: HashMap<i64, RejectionRow> = store
            .rejections_of(fr.file_id)
            .await?
            .into_iter()
            .map(|r| (r.record_no, r))
            .collect();
        let mut rejections = rejections;
        let mut chunk = Vec::new();
        for n in 1..=fr.records {
            chunk.push(match rejections.remove(&n) {
                Some(r) => rejected_entry(r),
                None => ResultEntry {
                    record: u64::try_from(n).unwrap_or(0),
                    tx: None,
                    status: RecordStatus::Accepted,
                    code: None,
                    field: None,
                    reason: None,
                },
            });
            if chunk.len() >= CHUNK {
                out.send(std::mem::take(&mut chunk))
                    .await
                    .map_err(|_| gone())?;
            }
        }
        return out.send(chunk).await.map_err(|_| gone());
    }
    // Transactions: merge the accepted records and the rejections by record number.
    let (mut rrx, mut arx) = store.stream_file_outcome(fr.file_id, CHUNK);
    let mut rej: std::collections::VecDeque<RejectionRow> = Default::default();
    let mut acc: std::collections::VecDeque<crate::store::records::AcceptedRow> =
        Default::default();
    let (mut rej_done, mut acc_done) = (false, false);
    let mut chunk = Vec::with_capacity(CHUNK);
    loop {
        if rej.is_empty() && !rej_done {
            match rrx.recv().await {
                Some(page) => rej.extend(page?),
                None => rej_done = true,
            }
            continue;
        }
        if acc.is_empty() && !acc_done {
            match arx.recv().await {
                Some(page) => acc.extend(page?),
                None => acc_done = true,
            }
            continue;
        }
        let take_rej = match (rej.front(), acc.front()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(r), Some(a)) => r.record_no < a.record_no,
        };
        let entry = if take_rej {
            let Some(r) = rej.pop_front() else { break };
            rejected_entry(r)
        } else {
            let Some(a) = acc.pop_front() else { break };
            let key = natural_key_from_bytes(&a.natural_key);
            ResultEntry {
                record: u64::try_from(a.record_no).unwrap_or(0),
                tx: key.map(|k| ResultTx {
                    scheme: k.scheme,
                    issuer: k.issuer,
                    card: k.card_serial,
                    card_seq: k.card_seq,
                    kind: k.kind,
                    terminal: k.terminal,
                    terminal_seq: k.terminal_seq,
                    amount_fen: a.amount_fen,
                }),
                status: RecordStatus::Accepted,
                code: None,
                field: None,
                reason: None,
            }
        };
        chunk.push(entry);
        if chunk.len() >= CHUNK {
            out.send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)))
                .await
                .map_err(|_| gone())?;
        }
    }
    out.send(chunk).await.map_err(|_| gone())
}

/// Deposits the changes a blacklist file made for every participant but its sender, each in
/// its own family's blacklist format.
async fn distribute_blacklist(
    store: &Store,
    vault: &Vault,
    hub: &HubSettings,
    fr: &FileResult,
    file: &FileRecord,
    outbox: Option<&Notify>,
) -> Result<(), IngestError> {
    let changes = store.blacklist_changes_of(fr.file_id).await?;
    if changes.is_empty() {
        return Ok(());
    }
    for p in store.participants().await? {
        if p.code == fr.sender {
            continue;
        }
        let format = p.format();
        let mut meta = FileMeta::new(
            &hub.hub_code,
            u64::try_from(fr.file_id).unwrap_or(0),
            hub.local_time(fr.ingested_at.datetime()),
        );
        meta.receiver = Some(p.code.clone());
        let mut bytes = Vec::new();
        {
            let mut sink =
                adapters::create_blacklist(format, &mut bytes, &meta, CodeTables::builtin())
                    .map_err(|e| IngestError::Io(e.to_string()))?;
            for e in &changes {
                if let Err(err) = sink.write(e) {
                    tracing::warn!(participant = %p.code, card = %e.card, error = %err,
                        "a blacklist change cannot be written in the participant's format; not sent to it");
                }
            }
            sink.close().map_err(|e| IngestError::Io(e.to_string()))?;
        }
        let tmp = temp_path(vault, "blacklist");
        tokio::fs::write(&tmp, &bytes)
            .await
            .map_err(|e| IngestError::Io(format!("{}: {e}", tmp.display())))?;
        let name = file_name(
            &format!(
                "BLACKLIST-{}-{}.{}",
                fr.file_id,
                fr.sender,
                extension(format)
            ),
            "",
        );
        let _ = file;
        let deposited = deposit_outbound(store, vault, &p.code, &name, &tmp, outbox).await;
        let _ = tokio::fs::remove_file(&tmp).await;
        deposited?;
    }
    Ok(())
}

/// What [`write_records`] wrote.
#[derive(Debug)]
pub struct Written {
    /// The trailer's figures.
    pub summary: adapters::FileSummary,
    /// Records the format cannot carry, by their position in the input, with why; they are
    /// not in the file (the caller decides what becomes of them).
    pub refused: Vec<(usize, adapters::Error)>,
    /// The file's seal under `seal`, also written to the `NAME.seal` sidecar.
    pub seal: Option<String>,
}

/// Writes `records` as one file of `format`'s family to `path` (for a participant:
/// `participant.format()`), sealing it with `seal` into a `NAME.seal` sidecar when given.
/// Blocking; streams, so any number of records is fine.
pub fn write_records<'t>(
    format: Format,
    meta: &FileMeta,
    records: impl IntoIterator<Item = &'t CanonicalTx>,
    path: &Path,
    seal: Option<&SealKey>,
) -> Result<Written, IngestError> {
    let io = |e: std::io::Error| IngestError::Io(format!("{}: {e}", path.display()));
    let out = std::fs::File::create(path).map_err(io)?;
    let mut out = BufWriter::with_capacity(256 * 1024, out);
    let mut refused = Vec::new();
    let summary = {
        let mut sink = adapters::create(format.family(), &mut out, meta, CodeTables::builtin())
            .map_err(|e| IngestError::Io(e.to_string()))?;
        for (i, tx) in records.into_iter().enumerate() {
            match sink.write(tx) {
                Ok(()) => {}
                Err(e @ adapters::Error::CannotCarry { .. }) => refused.push((i, e)),
                Err(e) => return Err(IngestError::Io(e.to_string())),
            }
        }
        sink.close().map_err(|e| IngestError::Io(e.to_string()))?
    };
    out.flush().map_err(io)?;
    out.get_ref().sync_all().map_err(io)?;
    drop(out);
    let seal = match seal {
        Some(key) => {
            let s = seal_file(key, path).map_err(io)?;
            write_sidecar(path, &s).map_err(io)?;
            Some(s)
        }
        None => None,
    };
    Ok(Written {
        summary,
        refused,
        seal,
    })
}
