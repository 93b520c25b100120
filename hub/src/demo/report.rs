//! The demo's report: what the hub received and did with it, its positions and
//! discrepancies, and every fault the simulator injected checked against what the hub found
//! ([`check_fault`], pure).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::partners::Uploads;
use super::{DemoError, StepResult};
use crate::clearing::Positions;
use crate::reconcile::ReconcileSettings;
use crate::store::reconcile::{Discrepancy, DiscrepancyFilter, DiscrepancyStatus};
use crate::store::{FileStatus, Store, Timestamp};
use simulator::{Fault, GroundTruth, Level, Manifest};

/// Seconds per step.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Seconds {
    /// Simulating the day.
    pub simulate: f64,
    /// The PKI, certificates, participants and routes.
    pub configure: f64,
    /// Every partner's uploads.
    pub upload: f64,
    /// Ingest, after the last upload.
    pub ingest: f64,
    /// Closing the window, clearing, settlement files and packages.
    pub clear: f64,
    /// Partners fetching and answering with results; reconciliation and the rules.
    pub reconcile: f64,
    /// The whole demo.
    pub total: f64,
}

/// Whether the hub found one injected fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FaultCheck {
    /// The fault's id in `ground-truth.json`.
    pub id: u32,
    /// Its kind (`--faults` name).
    pub kind: String,
    /// What the hub should find.
    pub expect: String,
    /// The participant it concerns.
    pub participant: String,
    /// Whether the hub found it.
    pub found: bool,
    /// Where the hub shows it (or what is missing).
    pub evidence: String,
}

/// What the demo reports.
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    /// The settlement day.
    pub day: chrono::NaiveDate,
    /// The demo's directory.
    pub dir: PathBuf,
    /// Where the hub listened.
    pub url: String,
    /// The database.
    pub database: String,
    /// Uploads (transaction and blacklist files), repeated deliveries included.
    pub uploads: usize,
    /// Repeated deliveries the hub recognised (it answered with the first receipt).
    pub duplicate_uploads: usize,
    /// Files by final status (`accepted`, `partially_accepted`, `rejected`).
    pub files_by_status: BTreeMap<String, u64>,
    /// Files rejected whole, by code.
    pub files_rejected_by_code: BTreeMap<String, u64>,
    /// Records read from the files ingested.
    pub records_read: u64,
    /// Records accepted.
    pub records_accepted: u64,
    /// Records rejected, by code.
    pub records_rejected_by_code: BTreeMap<String, u64>,
    /// The day's positions.
    pub positions: Positions,
    /// Settlement files, statements and packages produced.
    pub outputs: usize,
    /// Files the partners fetched from their outboxes.
    pub fetched: usize,
    /// Discrepancies by type.
    pub discrepancies_by_type: BTreeMap<String, u64>,
    /// Discrepancies by status after the resolution rules.
    pub discrepancies_by_status: BTreeMap<String, u64>,
    /// Dispute cases opened.
    pub cases: Vec<i64>,
    /// Every injected fault, found or not.
    pub faults: Vec<FaultCheck>,
    /// `hutong verify` of the day, run at the end: every check with its figures.
    pub verify: crate::verify::DayProof,
    /// Time per step.
    pub seconds: Seconds,
}

impl DemoReport {
    /// Faults found, of those injected.
    pub fn faults_found(&self) -> (usize, usize) {
        (
            self.faults.iter().filter(|f| f.found).count(),
            self.faults.len(),
        )
    }
}

/// What [`gather`] reads.
pub(crate) struct Inputs<'a> {
    pub(crate) store: &'a Store,
    pub(crate) dir: &'a Path,
    pub(crate) world_dir: &'a Path,
    pub(crate) truth: &'a GroundTruth,
    pub(crate) manifest: &'a Manifest,
    pub(crate) uploads: &'a Uploads,
    pub(crate) positions: Positions,
    pub(crate) outputs: usize,
    pub(crate) fetched: usize,
    pub(crate) cases: Vec<i64>,
    pub(crate) verify: crate::verify::DayProof,
    pub(crate) url: String,
    pub(crate) database: String,
    pub(crate) seconds: Seconds,
}

/// What the hub did, as [`check_fault`] needs it.
#[derive(Debug, Default)]
pub struct HubFindings {
    /// Upload path → (file id, whether the upload was new).
    pub files: HashMap<String, (i64, bool)>,
    /// File id → its whole-file rejection code.
    pub file_codes: HashMap<i64, String>,
    /// (file id, record number) → the record's rejection code.
    pub rejections: HashMap<(i64, i64), String>,
    /// (file id, record number) → stored record id.
    pub record_ids: HashMap<(i64, i64), i64>,
    /// The day's discrepancies.
    pub discrepancies: Vec<Discrepancy>,
}

/// Whether the hub found `fault`, and where it shows (pure: [`HubFindings`] holds what the hub
/// did).
pub fn check_fault(fault: &Fault, hub: &HubFindings) -> FaultCheck {
    let (found, evidence) = match fault.level {
        Level::File => check_file(fault, hub),
        Level::Record => check_records(fault, hub),
        Level::Discrepancy => check_discrepancy(fault, hub),
    };
    FaultCheck {
        id: fault.id,
        kind: fault.kind.as_str().to_string(),
        expect: fault.expect.clone(),
        participant: fault.participant.clone(),
        found,
        evidence,
    }
}

fn check_file(fault: &Fault, hub: &HubFindings) -> (bool, String) {
    let Some(path) = &fault.file else {
        return (false, "the ground truth names no file".into());
    };
    let Some(&(id, new)) = hub.files.get(path) else {
        return (false, format!("{path} was not uploaded"));
    };
    if fault.expect == "duplicate_file" {
        return if new {
            (false, format!("{path} was stored again as file {id}"))
        } else {
            (
                true,
                format!("{path}: the hub answered with file {id}'s receipt"),
            )
        };
    }
    match hub.file_codes.get(&id) {
        Some(code) if *code == fault.expect => (true, format!("file {id} rejected whole, {code}")),
        Some(code) => (false, format!("file {id} rejected whole with {code}")),
        None => (false, format!("file {id} was not rejected whole")),
    }
}

fn check_records(fault: &Fault, hub: &HubFindings) -> (bool, String) {
    let mut shown = Vec::new();
    for r in fault.records.iter().filter(|r| r.expect != "accepted") {
        let Some(&(id, _)) = hub.files.get(&r.file) else {
            return (false, format!("{} was not uploaded", r.file));
        };
        match hub.rejections.get(&(id, r.record as i64)) {
            Some(code) if *code == r.expect => shown.push(format!("file {id} record {}", r.record)),
            Some(code) => {
                return (
                    false,
                    format!(
                        "file {id} record {} rejected {code}, not {}",
                        r.record, r.expect
                    ),
                );
            }
            None => {
                return (
                    false,
                    format!("file {id} record {} was not rejected", r.record),
                );
            }
        }
    }
    if shown.is_empty() {
        return (false, "the ground truth names no record to reject".into());
    }
    let more = shown.len().saturating_sub(3);
    shown.truncate(3);
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    (
        true,
        format!("{} on {}{tail}", fault.expect, shown.join(", ")),
    )
}

fn check_discrepancy(fault: &Fault, hub: &HubFindings) -> (bool, String) {
    let ids: BTreeSet<i64> = fault
        .records
        .iter()
        .filter_map(|r| {
            let (file, _) = hub.files.get(&r.file)?;
            hub.record_ids.get(&(*file, r.record as i64)).copied()
        })
        .collect();
    let file_id = fault
        .file
        .as_ref()
        .and_then(|p| hub.files.get(p))
        .map(|(id, _)| *id);
    let card = fault.card.as_ref().map(|c| c.card.as_str());
    let of_type = || {
        hub.discrepancies
            .iter()
            .filter(|d| d.kind.as_str() == fault.expect)
    };
    // The most specific evidence the fault has decides: its stored records, else its card,
    // else its file.
    let mut hit = None;
    if !ids.is_empty() {
        hit = of_type().find(|d| d.records.iter().any(|r| ids.contains(r)));
    }
    if hit.is_none()
        && let Some(c) = card
    {
        hit = of_type().find(|d| d.detail.contains(c));
    }
    if hit.is_none()
        && ids.is_empty()
        && card.is_none()
        && let Some(f) = file_id
    {
        hit = of_type().find(|d| d.files.contains(&f));
    }
    match hit {
        Some(d) => (
            true,
            format!("discrepancy {} ({}, {})", d.id, d.kind, d.status.as_str()),
        ),
        None => (false, format!("no {} discrepancy names it", fault.expect)),
    }
}

/// Opens a dispute on the largest open discrepancy between two participants, for a day whose
/// rules opened none (so that the console always has a case to show). `None` when nothing is
/// open.
pub(crate) async fn open_one_dispute(
    store: &Store,
    settings: &ReconcileSettings,
) -> Result<Option<i64>, DemoError> {
    let mut candidates: Vec<Discrepancy> = Vec::new();
    for status in [DiscrepancyStatus::Open, DiscrepancyStatus::Monitoring] {
        candidates.extend(
            store
                .discrepancies(&DiscrepancyFilter {
                    status: Some(status),
                    ..Default::default()
                })
                .await
                .step("reconcile")?,
        );
    }
    // Between two participants: the issuer side claims from the acquirer.
    let Some((d, claimant, respondent)) = candidates
        .into_iter()
        .filter_map(|d| {
            let (issuer, acquirer) = (d.issuer.clone()?, d.acquirer.clone()?);
            (!issuer.is_empty() && !acquirer.is_empty() && issuer != acquirer)
                .then_some((d, issuer, acquirer))
        })
        .max_by_key(|(d, _, _)| d.amount_fen)
    else {
        return Ok(None);
    };
    crate::reconcile::open_dispute(
        store,
        settings,
        &d,
        &claimant,
        &respondent,
        "demo",
        Timestamp::now(),
    )
    .await
    .step("reconcile")
}

/// Reads the day's figures and checks every fault.
pub(crate) async fn gather(i: Inputs<'_>) -> Result<DemoReport, DemoError> {
    let store = i.store;
    let mut hub = HubFindings::default();
    let mut files_by_status: BTreeMap<String, u64> = BTreeMap::new();
    let mut files_rejected_by_code: BTreeMap<String, u64> = BTreeMap::new();
    let mut records_rejected_by_code: BTreeMap<String, u64> = BTreeMap::new();
    let (mut read, mut accepted) = (0u64, 0u64);
    let mut seen = BTreeSet::new();
    for (path, u) in &i.uploads.files {
        hub.files.insert(path.clone(), (u.file_id, u.new));
        if !seen.insert(u.file_id) {
            continue;
        }
        let Some(r) = store.file_result(u.file_id).await.step("report")? else {
            continue;
        };
        *files_by_status
            .entry(r.status.as_str().to_string())
            .or_default() += 1;
        read += u64::try_from(r.records).unwrap_or(0);
        accepted += u64::try_from(r.accepted).unwrap_or(0);
        if r.status == FileStatus::Rejected {
            let code = r.code.clone().unwrap_or_else(|| "?".into());
            *files_rejected_by_code.entry(code.clone()).or_default() += 1;
            hub.file_codes.insert(u.file_id, code);
        } else if r.rejected > 0 {
            for j in store.rejections_of(u.file_id).await.step("report")? {
                *records_rejected_by_code.entry(j.code.clone()).or_default() += 1;
                hub.rejections.insert((u.file_id, j.record_no), j.code);
            }
        }
    }
    for f in i
        .truth
        .faults
        .iter()
        .filter(|f| f.level == Level::Discrepancy)
    {
        for r in &f.records {
            if let Some(&(file, _)) = hub.files.get(&r.file) {
                let no = r.record as i64;
                if let Some(id) = store.record_id_at(file, no).await.step("report")? {
                    hub.record_ids.insert((file, no), id);
                }
            }
        }
    }
    hub.discrepancies = store
        .discrepancies(&DiscrepancyFilter {
            day: Some(i.positions.day),
            ..Default::default()
        })
        .await
        .step("report")?;
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    for d in &hub.discrepancies {
        *by_type.entry(d.kind.as_str().to_string()).or_default() += 1;
        *by_status.entry(d.status.as_str().to_string()).or_default() += 1;
    }
    let faults = i
        .truth
        .faults
        .iter()
        .map(|f| check_fault(f, &hub))
        .collect();
    let _ = (i.world_dir, i.manifest);
    Ok(DemoReport {
        day: i.positions.day,
        dir: i.dir.to_path_buf(),
        url: i.url,
        database: i.database,
        uploads: i.uploads.files.len(),
        duplicate_uploads: i.uploads.files.values().filter(|u| !u.new).count(),
        files_by_status,
        files_rejected_by_code,
        records_read: read,
        records_accepted: accepted,
        records_rejected_by_code,
        positions: i.positions,
        outputs: i.outputs,
        fetched: i.fetched,
        discrepancies_by_type: by_type,
        discrepancies_by_status: by_status,
        cases: i.cases,
        faults,
        verify: i.verify,
        seconds: i.seconds,
    })
}
