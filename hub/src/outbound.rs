//! Outbound packages (下发包): after a window closes, every issuer-side participant gets the
//! window's records of its cards acquired elsewhere, in its own format, in its outbox.
//!
//! The format follows from the participant's kind: `local` → `local-csv`, `mohurd` → a MOHURD
//! download package, `mot` → the T-Union exchange file, `pboc` → the bank batch, `partner` →
//! `hutong-xml`. A record the format cannot carry (a code its tables lack) is left out and
//! counted; reconciliation then sees it as missing at the partner. Each package is produced
//! once per window and participant; its content is a function of the stored window, so
//! producing it again gives the same bytes.

use std::io::Write;

use adapters::{Direction as PackageDirection, FileMeta, Format};
use card_standards::{CanonicalTx, CodeTables, Scheme};
use chrono::{NaiveDate, NaiveDateTime};
use tokio::sync::Notify;

use crate::clearing::{ClearingError, Output};
use crate::delivery::deposit_outbound;
use crate::settings::HubSettings;
use crate::store::{ParticipantScheme, Store};
use crate::vault::Vault;

/// The format a participant receives its files in.
pub fn format_of(kind: ParticipantScheme) -> Format {
    match kind {
        ParticipantScheme::Scheme(Scheme::Local) => Format::LocalCsv,
        ParticipantScheme::Scheme(Scheme::Mohurd) => Format::Mohurd,
        ParticipantScheme::Scheme(Scheme::Mot) => Format::Mot,
        ParticipantScheme::Scheme(Scheme::Pboc) => Format::Pboc,
        ParticipantScheme::Partner => Format::HutongXml,
    }
}

/// One package written.
#[derive(Debug, Clone, Default)]
struct Written {
    records: u64,
    left_out: u64,
}

fn write_package(
    path: &std::path::Path,
    format: Format,
    meta: &FileMeta,
    records: &[CanonicalTx],
    w: &mut Written,
) -> Result<(), ClearingError> {
    let err = |e: &dyn std::fmt::Display| ClearingError::Output(format!("{}: {e}", path.display()));
    let file = std::fs::File::create(path).map_err(|e| err(&e))?;
    let mut out = std::io::BufWriter::new(file);
    {
        let mut sink =
            adapters::create(format, &mut out, meta, CodeTables::builtin()).map_err(|e| err(&e))?;
        for tx in records {
            match sink.write(tx) {
                Ok(()) => w.records += 1,
                Err(e @ adapters::Error::CannotCarry { .. }) => {
                    tracing::warn!(file = %path.display(), "left out of the package: {e}");
                    w.left_out += 1;
                }
                Err(e) => return Err(err(&e)),
            }
        }
        sink.close().map_err(|e| err(&e))?;
    }
    out.flush().map_err(|e| err(&e))?;
    out.get_ref().sync_all().map_err(|e| err(&e))?;
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
        let format = format_of(p.scheme);
        let records = store.package_records(day, &code).await?;
        if records.is_empty() {
            continue;
        }
        let name = format!("OUT_{day}_{code}.{}", format.extension());
        let path = dir.join(&name);
        let meta = FileMeta {
            sender: hub.hub_code.clone(),
            receiver: Some(code.clone()),
            seq,
            created,
            direction: (format == Format::Mohurd).then_some(PackageDirection::Download),
        };
        let mut written = Written::default();
        let (p2, m2) = (path.clone(), meta.clone());
        let (written_back, result) = tokio::task::spawn_blocking(move || {
            let r = write_package(&p2, format, &m2, &records, &mut written);
            (written, r)
        })
        .await
        .map_err(|e| ClearingError::Output(e.to_string()))?;
        result?;
        let (record, _) = deposit_outbound(store, vault, &code, &name, &path, outbox).await?;
        store
            .record_window_output(
                day,
                "outbound",
                &code,
                Some(record.id),
                None,
                &record.sha256,
            )
            .await?;
        tracing::info!(%day, participant = %code, records = written_back.records, left_out = written_back.left_out, "outbound package");
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
/// of the same record is a new file. Returns the outbox file's id and how many records the
/// format could carry.
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
    let format = format_of(p.scheme);
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
    let (written, result) = tokio::task::spawn_blocking(move || {
        let mut w = Written::default();
        let r = write_package(&p2, format, &meta, &records, &mut w);
        (w, r)
    })
    .await
    .map_err(|e| ClearingError::Output(e.to_string()))?;
    result?;
    if written.records == 0 {
        return Err(ClearingError::Output(format!(
            "{} cannot carry the record(s) {record_ids:?}",
            format.as_str()
        )));
    }
    let (record, _) = deposit_outbound(store, vault, partner, &name, &path, outbox).await?;
    Ok((record.id, written.records))
}
