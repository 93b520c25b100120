//! Outbound packages (下发包): after a window closes, every issuer-side participant gets the
//! window's records of its cards acquired elsewhere, in its own format, in its outbox.
//!
//! The format follows from the participant's kind: `local` → `local-csv`, `mohurd` → a MOHURD
//! download package, `mot` → the T-Union exchange file, `pboc` → the bank batch, `partner` →
//! `hutong-xml`, unless the participant is configured with another format family
//! ([`package_format`]).
//!
//! What is charged is what is carried: ingest refuses (`R07`) a record that its issuer side's
//! package format cannot carry, and the close checks again, inside its transaction, that every
//! issuer side's package will carry exactly the count and amount cleared against it
//! ([`check_packages`]); a difference keeps the window open. Writing a package therefore never
//! leaves a record out: a record the format refuses at this point fails the package. Each
//! package is produced once per window and participant; its content is a function of the
//! stored window, so producing it again gives the same bytes.

use std::io::Write;

use std::collections::HashMap;

use adapters::{CarryCheck, Direction as PackageDirection, FileMeta, Format};
use card_standards::{CanonicalTx, CodeTables};
use chrono::{NaiveDate, NaiveDateTime};
use tokio::sync::Notify;

use crate::clearing::{ClearingError, Output};
use crate::delivery::deposit_outbound;
use crate::settings::HubSettings;
use crate::store::{Participant, Store, Tx, stream_window_package_records};
use crate::vault::Vault;
use reconciliation::{Aggregate, Flow};

/// The format a participant's outbound packages and resends are written in: the format family
/// it speaks ([`Participant::format`]), the same as its result files.
pub fn package_format(p: &Participant) -> Format {
    p.format()
}

/// Writes `records` as a package of `format` at `path` (durably), returning how many it
/// holds; `None`, and no file, when there are none.
fn write_package(
    path: &std::path::Path,
    format: Format,
    meta: &FileMeta,
    records: impl IntoIterator<Item = CanonicalTx>,
) -> Result<Option<u64>, ClearingError> {
    let err = |e: &dyn std::fmt::Display| ClearingError::Output(format!("{}: {e}", path.display()));
    let mut records = records.into_iter().peekable();
    if records.peek().is_none() {
        return Ok(None);
    }
    let file = std::fs::File::create(path).map_err(|e| err(&e))?;
    let mut out = std::io::BufWriter::new(file);
    let summary = {
        let mut sink =
            adapters::create(format, &mut out, meta, CodeTables::builtin()).map_err(|e| err(&e))?;
        for tx in records {
            // The close checked that the format carries every record: a refusal here is a
            // fault, never a record quietly left out.
            sink.write(&tx).map_err(|e| err(&e))?;
        }
        sink.close().map_err(|e| err(&e))?
    };
    out.flush().map_err(|e| err(&e))?;
    out.get_ref().sync_all().map_err(|e| err(&e))?;
    Ok(Some(summary.records))
}

/// Records per batch handed from the database to the package writer.
const PACKAGE_BATCH: usize = 4096;

/// Per issuer side: the money-moving records cleared against it, or carried by its package.
type SideTotals = std::collections::BTreeMap<String, (u64, i64)>;

/// The close's check that what it charges is what it will emit, run inside its transaction
/// `tx` before it commits: for every issuer side charged in `aggregates` (records acquired by
/// another participant; the hub's own side `hub` gets no package), its package in
/// [`package_format`] carries every record charged to it, and the money-moving ones among them
/// add up to the count and amount cleared against it. `Err` gives the first difference with
/// both figures (the window then stays open).
pub(crate) async fn check_packages(
    tx: &mut Tx,
    day: NaiveDate,
    aggregates: &[Aggregate],
    participants: &[Participant],
    hub: &str,
) -> Result<(), String> {
    let formats: HashMap<&str, Format> = participants
        .iter()
        .map(|p| (p.code.as_str(), package_format(p)))
        .collect();
    let mut cleared = SideTotals::new();
    for a in aggregates
        .iter()
        .filter(|a| a.issuer != a.acquirer && a.issuer != hub)
    {
        let side = cleared.entry(a.issuer.clone()).or_default();
        side.0 += a.count;
        side.1 += a.amount_fen;
    }
    let mut carried = SideTotals::new();
    let mut refused: Option<String> = None;
    let mut carry = CarryCheck::new(CodeTables::builtin());
    stream_window_package_records(tx, day, |r| {
        if r.issuer_participant == hub || refused.is_some() {
            return Ok(());
        }
        let Some(&format) = formats.get(r.issuer_participant.as_str()) else {
            refused = Some(format!(
                "record {} is charged to {}, which is no registered participant, so no package \
                 would carry it",
                r.id, r.issuer_participant
            ));
            return Ok(());
        };
        if let Err(e) = carry.check(format, &r.tx) {
            refused = Some(format!(
                "record {} is charged to {} but its package ({}) cannot carry it: {e}",
                r.id,
                r.issuer_participant,
                format.as_str()
            ));
            return Ok(());
        }
        if Flow::of(r.tx.kind()).is_some() {
            let side = carried.entry(r.issuer_participant).or_default();
            side.0 += 1;
            side.1 += r.tx.amount_fen;
        }
        Ok(())
    })
    .await
    .map_err(|e| format!("reading the window's package records: {e}"))?;
    if let Some(why) = refused {
        return Err(why);
    }
    let sides: std::collections::BTreeSet<&String> = cleared.keys().chain(carried.keys()).collect();
    for side in sides {
        let c = cleared.get(side).copied().unwrap_or_default();
        let p = carried.get(side).copied().unwrap_or_default();
        if c != p {
            return Err(format!(
                "{side} is charged for {} transactions of {} fen but its package would carry {} \
                 transactions of {} fen",
                c.0, c.1, p.0, p.1
            ));
        }
    }
    Ok(())
}

/// Writes and deposits the outbound package of every issuer-side participant for a closed
/// window (see the module docs). `hub.hub_code` is the sender named in the headers (and gets
/// no package); the files' creation time is the window's close in the hub's local time.
pub async fn produce_packages(
    store: &Store,
    vault: &Vault,
    day: NaiveDate,
    hub: &HubSettings,
    outbox: Option<&Notify>,
) -> Result<Vec<Output>, ClearingError> {
    let Some(w) = store.closed_window(day).await? else {
        return Err(ClearingError::CheckFailed {
            day,
            reason: "the window is not closed".into(),
        });
    };
    let created = hub.local_time(w.closed_at.datetime());
    let seq =
        u64::try_from(day.format("%Y%m%d").to_string().parse::<i64>().unwrap_or(0)).unwrap_or(0);
    let dir = vault.data_dir().join("settlements").join(day.to_string());
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| ClearingError::Output(e.to_string()))?;
    let mut outputs = Vec::new();
    for p in store.participants().await? {
        let code = p.code.to_string();
        if code == hub.hub_code || store.window_output(day, "outbound", &code).await? {
            continue;
        }
        let format = package_format(&p);
        let name = format!("OUT_{day}_{code}.{}", format.extension());
        let path = dir.join(&name);
        let meta = FileMeta {
            sender: hub.hub_code.clone(),
            receiver: Some(code.clone()),
            seq,
            created,
            direction: (format == Format::Mohurd).then_some(PackageDirection::Download),
        };
        // The records stream from the database to a writer thread in batches: a package is
        // never held in memory whole.
        let (batches, mut rx) = tokio::sync::mpsc::channel::<Vec<CanonicalTx>>(4);
        let (p2, m2) = (path.clone(), meta.clone());
        let writer = tokio::task::spawn_blocking(move || {
            let records = std::iter::from_fn(|| rx.blocking_recv()).flatten();
            write_package(&p2, format, &m2, records)
        });
        let read = store
            .stream_package_records(day, &code, PACKAGE_BATCH, &batches)
            .await;
        drop(batches);
        let written = writer
            .await
            .map_err(|e| ClearingError::Output(e.to_string()))?;
        let sent = read?;
        let Some(written) = written? else {
            continue;
        };
        if written != sent {
            return Err(ClearingError::Output(format!(
                "{}: {written} records written of {sent} read",
                path.display()
            )));
        }
        let (record, _) = deposit_outbound(store, vault, &code, &name, &path, outbox).await?;
        store
            .record_window_output(
                day,
                "outbound",
                &code,
                Some(record.id),
                None,
                Some(&record.sha256),
            )
            .await?;
        tracing::info!(%day, participant = %code, records = written, "outbound package");
        outputs.push(Output {
            kind: "outbound".into(),
            participant: code,
            name,
            file_id: Some(record.id),
            path: Some(path),
        });
    }
    Ok(outputs)
}

/// A resend (reconciliation's rule `resend_missing`): the stored records `record_ids` written
/// into one file in `partner`'s own format, as `RESEND_<ref>_<partner>.<ext>`, and deposited in
/// its outbox. `seq` (the discrepancy's id) is the file's sequence number, so a later resend
/// of the same record is a new file. Returns the outbox file's id and how many records it
/// holds; a record the format cannot carry fails the resend.
#[allow(clippy::too_many_arguments)]
pub async fn produce_resend(
    store: &Store,
    vault: &Vault,
    partner: &str,
    record_ids: &[i64],
    reference: &str,
    seq: u64,
    hub: &str,
    created: NaiveDateTime,
    outbox: Option<&Notify>,
) -> Result<(i64, u64), ClearingError> {
    let p = store
        .participant(partner)
        .await?
        .ok_or_else(|| ClearingError::Output(format!("participant {partner} is not registered")))?;
    let format = package_format(&p);
    let mut records = Vec::new();
    for &id in record_ids {
        let stored = store
            .stored_record(id)
            .await?
            .ok_or_else(|| ClearingError::Output(format!("no record {id}")))?;
        records.push(stored.tx);
    }
    let dir = vault.data_dir().join("resends");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| ClearingError::Output(e.to_string()))?;
    let name = format!("RESEND_{reference}_{partner}.{}", format.extension());
    let path = dir.join(&name);
    let meta = FileMeta {
        sender: hub.to_string(),
        receiver: Some(partner.to_string()),
        seq,
        created,
        direction: (format == Format::Mohurd).then_some(PackageDirection::Download),
    };
    let p2 = path.clone();
    let written = tokio::task::spawn_blocking(move || write_package(&p2, format, &meta, records))
        .await
        .map_err(|e| ClearingError::Output(e.to_string()))?
        .map_err(|e| {
            ClearingError::Output(format!(
                "{partner}'s format {} cannot carry the record(s) {record_ids:?}: {e}",
                format.as_str()
            ))
        })?
        .ok_or_else(|| ClearingError::Output("a resend of no records".into()))?;
    let (record, _) = deposit_outbound(store, vault, partner, &name, &path, outbox).await?;
    Ok((record.id, written))
}
