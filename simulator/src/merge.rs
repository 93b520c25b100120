//! The merger: takes the lanes' records in time order (a k-way merge on time, lane and the
//! lane's own order, so the result does not depend on which thread ran when), writes each into
//! its acquirer's file in the acquirer's format (rolling over to a new file at the size
//! limit), writes each partner's result for the records the hub should route to it, and notes
//! where every fault's records landed.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;

use adapters::hutong_xml::result::{self, ResultEntry, Status};
use adapters::{Direction, FileMeta, Format, TxSink};
use card_standards::{CanonicalTx, CodeTables, IssuerId, Scheme, TxKind};
use chrono::{NaiveDate, NaiveDateTime, TimeDelta};

use super::SimError;
use super::faults::{FaultKind, FaultSpec};
use super::lane::{Emitted, Role};
use super::plan::Plan;
use super::rng::{Rng, stream};
use super::truth::{
    AcquirerTruth, CardRef, Fault, IssuerSums, Level, PartnerTruth, RecordRef, Sum, TruthBuilder,
};
use super::world::{ACQUIRERS, HUB, RESULT_PARTNERS, World, format_of};

/// Days since 2000-01-01: file sequence numbers are `day × 1000 + n`, so they grow from day to
/// day and fit the formats' 10-digit sequence fields.
pub(crate) fn day_seq(day: NaiveDate, n: u64) -> u64 {
    let epoch = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
    let days = (day - epoch).num_days().max(0) as u64;
    days * 1000 + n
}

/// The file name extension of a format.
pub(crate) fn extension(format: Format) -> &'static str {
    match format {
        Format::LocalCsv | Format::LocalCsvBlacklist => "csv",
        Format::HutongXml | Format::HutongBlacklist => "xml",
        Format::Mohurd
        | Format::Mot
        | Format::Pboc
        | Format::MohurdBlacklist
        | Format::MotBlacklist
        | Format::PbocBlacklist => "txt",
    }
}

/// What a written file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// One of the day's files.
    Day,
    /// The previous day's file delivered today (its ground-truth entry).
    Late(usize),
}

/// A transaction file as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileInfo {
    pub(crate) path: String,
    pub(crate) participant: &'static str,
    pub(crate) format: Format,
    pub(crate) seq: u64,
    pub(crate) created: NaiveDateTime,
    pub(crate) records: u64,
    pub(crate) amount_fen: i64,
    pub(crate) first: Option<NaiveDateTime>,
    pub(crate) last: Option<NaiveDateTime>,
    pub(crate) kind: FileKind,
}

struct OpenFile {
    info: FileInfo,
    sink: Box<dyn TxSink>,
}

impl OpenFile {
    fn create(
        dir: &Path,
        tables: &'static CodeTables,
        mut info: FileInfo,
    ) -> Result<OpenFile, SimError> {
        let path = dir.join(&info.path);
        let file = File::create(&path).map_err(|e| SimError::io(&path, e))?;
        let mut meta = FileMeta::new(info.participant, info.seq, info.created);
        meta.receiver = Some(HUB.to_string());
        if info.format == Format::Mohurd {
            meta.direction = Some(Direction::Upload);
        }
        let sink = adapters::create(
            info.format,
            BufWriter::with_capacity(1 << 18, file),
            &meta,
            tables,
        )?;
        info.records = 0;
        Ok(OpenFile { info, sink })
    }

    fn write(&mut self, tx: &CanonicalTx) -> Result<u64, SimError> {
        self.sink.write(tx)?;
        let i = &mut self.info;
        i.records += 1;
        i.amount_fen += tx.amount_fen;
        i.first = Some(i.first.map_or(tx.tx_time, |f| f.min(tx.tx_time)));
        i.last = Some(i.last.map_or(tx.tx_time, |l| l.max(tx.tx_time)));
        Ok(i.records)
    }

    fn close(self) -> Result<FileInfo, SimError> {
        let summary = self.sink.close()?;
        if summary.records != self.info.records {
            return Err(SimError::Internal(format!(
                "{}: trailer says {} records, {} written",
                self.info.path, summary.records, self.info.records
            )));
        }
        Ok(self.info)
    }
}

struct AcquirerOut {
    code: &'static str,
    format: Format,
    current: Option<OpenFile>,
    files: Vec<FileInfo>,
    next: u64,
    truth: AcquirerTruth,
    by_issuer: BTreeMap<&'static str, IssuerSums>,
}

struct PartnerOut {
    code: &'static str,
    path: String,
    writer: result::Writer<BufWriter<File>>,
    routed: Sum,
}

/// What the hub should do with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Accept,
    Reject(&'static str),
}

/// Where every record goes.
pub(crate) struct Output<'a> {
    dir: PathBuf,
    world: &'a World,
    tables: &'static CodeTables,
    day: NaiveDate,
    max_records: u64,
    faults: FaultSpec,
    acquirers: Vec<AcquirerOut>,
    late: Vec<Option<OpenFile>>,
    late_by_fault: HashMap<usize, usize>,
    late_files: Vec<FileInfo>,
    partners: Vec<PartnerOut>,
    issuers: HashMap<(Scheme, IssuerId), (&'static str, bool)>,
    rng: Rng,
    dup_links: HashMap<(usize, usize), usize>,
    pub(crate) truth: TruthBuilder,
}

/// The relative path of a participant's directory of a kind (`files`, `blacklists`,
/// `results`).
pub(crate) fn dir_of(kind: &str, code: &str) -> String {
    format!("{kind}/{code}")
}

impl<'a> Output<'a> {
    /// Creates the directories and opens the partners' result files.
    pub(crate) fn new(
        dir: &Path,
        world: &'a World,
        tables: &'static CodeTables,
        plan: &Plan,
        seed: u64,
        max_records: u64,
        truth: TruthBuilder,
    ) -> Result<Output<'a>, SimError> {
        for kind in ["files", "blacklists"] {
            for code in ACQUIRERS {
                let p = dir.join(dir_of(kind, code));
                std::fs::create_dir_all(&p).map_err(|e| SimError::io(&p, e))?;
            }
        }
        let day = world.day;
        let mut partners = Vec::new();
        for code in RESULT_PARTNERS {
            let rel = dir_of("results", code);
            let p = dir.join(&rel);
            std::fs::create_dir_all(&p).map_err(|e| SimError::io(&p, e))?;
            let path = format!("{rel}/{code}_RESULT_{}_0001.xml", day.format("%Y%m%d"));
            let full = dir.join(&path);
            let file = File::create(&full).map_err(|e| SimError::io(&full, e))?;
            let created = day
                .succ_opt()
                .and_then(|d| d.and_hms_opt(2, 0, 0))
                .unwrap_or_default();
            let mut meta = FileMeta::new(code, day_seq(day, 1), created);
            meta.receiver = Some(HUB.to_string());
            let writer = result::writer(BufWriter::with_capacity(1 << 16, file), &meta, day)?;
            partners.push(PartnerOut {
                code,
                path,
                writer,
                routed: Sum::default(),
            });
        }
        let acquirers = ACQUIRERS
            .iter()
            .map(|code| AcquirerOut {
                code,
                format: format_of(code).unwrap_or(Format::HutongXml),
                current: None,
                files: Vec::new(),
                next: 1,
                truth: AcquirerTruth {
                    code: code.to_string(),
                    format: format_of(code).unwrap_or(Format::HutongXml).to_string(),
                    ..AcquirerTruth::default()
                },
                by_issuer: BTreeMap::new(),
            })
            .collect();
        let issuers = world
            .issuers
            .iter()
            .map(|i| ((i.scheme, i.id), (i.participant, i.key_held)))
            .collect();
        Ok(Output {
            dir: dir.to_path_buf(),
            world,
            tables,
            day,
            max_records,
            faults: plan.faults,
            acquirers,
            late: plan.late.iter().map(|_| None).collect(),
            late_by_fault: plan
                .late
                .iter()
                .enumerate()
                .map(|(i, l)| (l.fault, i))
                .collect(),
            late_files: Vec::new(),
            partners,
            issuers,
            rng: Rng::new(seed, stream::MERGER),
            dup_links: HashMap::new(),
            truth,
        })
    }

    fn day_file(&self, a: usize) -> FileInfo {
        let acq = &self.acquirers[a];
        let n = acq.next;
        let created = self.day.and_hms_opt(22, 40, 0).unwrap_or_default()
            + TimeDelta::seconds(((n - 1) * 30).min(19 * 60 + 59) as i64);
        FileInfo {
            path: format!(
                "{}/{}_{}_{n:04}.{}",
                dir_of("files", acq.code),
                acq.code,
                self.day.format("%Y%m%d"),
                extension(acq.format)
            ),
            participant: acq.code,
            format: acq.format,
            seq: day_seq(self.day, n),
            created,
            records: 0,
            amount_fen: 0,
            first: None,
            last: None,
            kind: FileKind::Day,
        }
    }

    fn late_file(&self, a: usize, late: usize, fault: usize) -> FileInfo {
        let acq = &self.acquirers[a];
        let prev = self.day.pred_opt().unwrap_or(self.day);
        let n = 999 - late as u64 % 900;
        FileInfo {
            path: format!(
                "{}/{}_{}_{n:04}.{}",
                dir_of("files", acq.code),
                acq.code,
                prev.format("%Y%m%d"),
                extension(acq.format)
            ),
            participant: acq.code,
            format: acq.format,
            seq: day_seq(prev, n),
            created: prev.and_hms_opt(22, 50, 0).unwrap_or_default(),
            records: 0,
            amount_fen: 0,
            first: None,
            last: None,
            kind: FileKind::Late(fault),
        }
    }

    /// Writes one record where it belongs and notes what the hub should make of it.
    pub(crate) fn accept(&mut self, lane: usize, e: Emitted) -> Result<(), SimError> {
        let Emitted { tx, tag, .. } = e;
        let a = ACQUIRERS
            .iter()
            .position(|c| *c == tx.acceptance.acquirer)
            .ok_or_else(|| {
                SimError::Internal(format!("unknown acquirer {}", tx.acceptance.acquirer))
            })?;
        let (path, record) = if tag.role == Role::Late {
            let late = *self
                .late_by_fault
                .get(&tag.fault)
                .ok_or_else(|| SimError::Internal("late record without its file".into()))?;
            if self.late[late].is_none() {
                let info = self.late_file(a, late, tag.fault);
                self.truth.faults[tag.fault].file = Some(info.path.clone());
                self.late[late] = Some(OpenFile::create(&self.dir, self.tables, info)?);
            }
            let f = self.late[late]
                .as_mut()
                .ok_or_else(|| SimError::Internal("late file not open".into()))?;
            let n = f.write(&tx)?;
            (f.info.path.clone(), n)
        } else {
            if self.acquirers[a].current.is_none() {
                let info = self.day_file(a);
                self.acquirers[a].next += 1;
                self.acquirers[a].current = Some(OpenFile::create(&self.dir, self.tables, info)?);
            }
            let acq = &mut self.acquirers[a];
            let f = acq
                .current
                .as_mut()
                .ok_or_else(|| SimError::Internal("day file not open".into()))?;
            let n = f.write(&tx)?;
            let path = f.info.path.clone();
            if n >= self.max_records
                && let Some(full) = acq.current.take()
            {
                acq.files.push(full.close()?);
            }
            (path, n)
        };

        let (partner, held) = self
            .issuers
            .get(&(tx.scheme, tx.issuer))
            .copied()
            .or_else(|| self.world.route(tx.scheme, &tx.issuer).map(|p| (p, false)))
            .ok_or_else(|| SimError::Internal(format!("no route for {}", tx.issuer)))?;
        let verdict = match tag.role {
            Role::DupCopy => Verdict::Reject("R03"),
            Role::Tampered if held => Verdict::Reject("R02"),
            Role::Blacklisted => Verdict::Reject("R04"),
            _ => Verdict::Accept,
        };
        self.note_fault(
            lane, &tx, tag.role, tag.fault, &path, record, verdict, held, partner,
        );

        let acq = &mut self.acquirers[a];
        acq.truth.in_files.add(tx.amount_fen);
        match verdict {
            Verdict::Reject(code) => acq
                .truth
                .rejected
                .entry(code.to_string())
                .or_default()
                .add(tx.amount_fen),
            Verdict::Accept => {
                acq.truth.accepted.add(tx.amount_fen);
                if tag.role == Role::Late {
                    acq.truth.late.add(tx.amount_fen);
                }
                let sums = acq.by_issuer.entry(partner).or_insert_with(|| IssuerSums {
                    issuer: partner.to_string(),
                    ..IssuerSums::default()
                });
                if tx.kind() == TxKind::Load {
                    sums.loads.add(tx.amount_fen);
                } else {
                    sums.purchases.add(tx.amount_fen);
                }
            }
        }
        if verdict == Verdict::Accept && partner != acq.code {
            self.result(&tx, tag.role, partner, &path, record)?;
        }
        Ok(())
    }

    /// The partner's result for a record the hub routes to it, with the result faults.
    fn result(
        &mut self,
        tx: &CanonicalTx,
        role: Role,
        partner: &'static str,
        path: &str,
        record: u64,
    ) -> Result<(), SimError> {
        let Some(p) = self.partners.iter().position(|p| p.code == partner) else {
            return Ok(());
        };
        self.partners[p].routed.add(tx.amount_fen);
        let mut entry = ResultEntry {
            scheme: tx.scheme,
            issuer: tx.issuer,
            card: tx.card_serial,
            card_seq: tx.card_seq,
            kind: tx.kind(),
            terminal: tx.terminal,
            terminal_seq: tx.terminal_seq,
            amount_fen: tx.amount_fen,
            status: Status::Accepted,
            code: None,
            reason: None,
        };
        let sent = RecordRef {
            file: path.to_string(),
            record,
            role: "sent".into(),
            card_seq: tx.card_seq,
            kind: tx.kind().as_str().to_string(),
            expect: "accepted".into(),
        };
        if role == Role::Tampered {
            entry.status = Status::Rejected;
            entry.code = Some("R02".into());
            entry.reason = Some("TAC does not verify".into());
        } else if self.rng.chance_ppm(self.faults.get(FaultKind::ResultDrop)) {
            let mut f = Fault::new(
                FaultKind::ResultDrop,
                Level::Discrepancy,
                "missing_at_partner",
                partner,
            );
            f.file = Some(self.partners[p].path.clone());
            f.card = Some(CardRef::of(tx));
            f.card_seq = Some(tx.card_seq);
            f.records.push(sent);
            f.detail = format!(
                "{partner}'s result file leaves out a record the hub routed to it ({} fen)",
                tx.amount_fen
            );
            self.truth.push(f);
            return Ok(());
        } else if self.rng.chance_ppm(self.faults.get(FaultKind::ResultAlter)) {
            let altered = tx.amount_fen + 1 + self.rng.below(500) as i64;
            let mut f = Fault::new(
                FaultKind::ResultAlter,
                Level::Discrepancy,
                "amount_mismatch",
                partner,
            );
            f.file = Some(self.partners[p].path.clone());
            f.card = Some(CardRef::of(tx));
            f.card_seq = Some(tx.card_seq);
            f.records.push(sent);
            f.hub_amount_fen = Some(tx.amount_fen);
            f.partner_amount_fen = Some(altered);
            f.detail = format!(
                "{partner}'s result file confirms the record with {altered} fen; the hub sent {} fen",
                tx.amount_fen
            );
            self.truth.push(f);
            entry.amount_fen = altered;
        }
        self.partners[p].writer.write(&entry)?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn note_fault(
        &mut self,
        lane: usize,
        tx: &CanonicalTx,
        role: Role,
        fault: usize,
        path: &str,
        record: u64,
        verdict: Verdict,
        held: bool,
        partner: &str,
    ) {
        let expect = match verdict {
            Verdict::Accept => "accepted".to_string(),
            Verdict::Reject(code) => code.to_string(),
        };
        let r = |role: &str| RecordRef {
            file: path.to_string(),
            record,
            role: role.to_string(),
            card_seq: tx.card_seq,
            kind: tx.kind().as_str().to_string(),
            expect: expect.clone(),
        };
        let acquirer = tx.acceptance.acquirer.as_str();
        match role {
            Role::Clean => {}
            Role::DupOriginal => {
                let mut f = Fault::new(FaultKind::DupRecord, Level::Record, "R03", acquirer);
                f.card = Some(CardRef::of(tx));
                f.card_seq = Some(tx.card_seq);
                f.records.push(r("original"));
                f.detail = "a record delivered twice: the repeat must be rejected as a duplicate (same natural key)".into();
                let i = self.truth.push(f);
                self.dup_links.insert((lane, fault), i);
            }
            Role::DupCopy => {
                if let Some(i) = self.dup_links.remove(&(lane, fault)) {
                    let f = &mut self.truth.faults[i];
                    f.file = Some(path.to_string());
                    f.records.push(r("duplicate"));
                }
            }
            Role::Tampered => {
                let mut f = if held {
                    let mut f = Fault::new(FaultKind::Tac, Level::Record, "R02", acquirer);
                    f.detail = "the record's TAC was altered; the hub holds the issuer's key and must reject it".into();
                    f
                } else {
                    let mut f =
                        Fault::new(FaultKind::Tac, Level::Discrepancy, "tac_invalid", acquirer);
                    f.detail = format!(
                        "the record's TAC was altered; the hub does not hold the issuer's key, routes it, and {partner} rejects it with R02 in its results"
                    );
                    f
                };
                f.file = Some(path.to_string());
                f.card = Some(CardRef::of(tx));
                f.card_seq = Some(tx.card_seq);
                f.records.push(r("tampered"));
                self.truth.push(f);
            }
            Role::CloneOriginal | Role::CloneCopy => {
                let name = if role == Role::CloneCopy {
                    "clone"
                } else {
                    "card"
                };
                self.truth.faults[fault].records.push(r(name));
            }
            Role::BeforeGap => self.truth.faults[fault].records.push(r("before_gap")),
            Role::AfterGap => self.truth.faults[fault].records.push(r("after_gap")),
            Role::BeforeReport => self.truth.faults[fault].records.push(r("before_report")),
            Role::Blacklisted => self.truth.faults[fault].records.push(r("blacklisted")),
            Role::Late => self.truth.faults[fault].records.push(r("late")),
        }
    }

    /// Closes every file. Returns the acquirers' files (late files first, then the day's in
    /// sequence order), the acquirers' and partners' totals.
    pub(crate) fn finish(mut self) -> Result<Finished, SimError> {
        for late in std::mem::take(&mut self.late).into_iter().flatten() {
            self.late_files.push(late.close()?);
        }
        let mut files = Vec::new();
        let mut acq_truth = Vec::new();
        for a in 0..self.acquirers.len() {
            if self.acquirers[a].files.is_empty() && self.acquirers[a].current.is_none() {
                // An acquirer with nothing today still delivers its (empty) file.
                let info = self.day_file(a);
                self.acquirers[a].next += 1;
                self.acquirers[a].current = Some(OpenFile::create(&self.dir, self.tables, info)?);
            }
            let acq = &mut self.acquirers[a];
            if let Some(f) = acq.current.take() {
                acq.files.push(f.close()?);
            }
            let mut list: Vec<FileInfo> = self
                .late_files
                .iter()
                .filter(|f| f.participant == acq.code)
                .cloned()
                .collect();
            list.extend(acq.files.iter().cloned());
            acq.truth.files = list.iter().map(|f| f.path.clone()).collect();
            acq.truth.by_issuer = acq.by_issuer.values().cloned().collect();
            acq_truth.push(acq.truth.clone());
            files.push(list);
        }
        let mut partners = Vec::new();
        for p in self.partners {
            let (_, totals) = p.writer.finish()?;
            let (acc_n, acc_a) = totals.accepted.unwrap_or_default();
            let (rej_n, rej_a) = totals.rejected.unwrap_or_default();
            partners.push(PartnerTruth {
                code: p.code.to_string(),
                routed: p.routed,
                results_file: p.path,
                declared: Sum {
                    records: totals.count,
                    amount_fen: totals.amount_fen,
                },
                declared_accepted: Sum {
                    records: acc_n,
                    amount_fen: acc_a,
                },
                declared_rejected: Sum {
                    records: rej_n,
                    amount_fen: rej_a,
                },
            });
        }
        Ok(Finished {
            files,
            acquirers: acq_truth,
            partners,
            truth: self.truth,
        })
    }
}

/// What the merger hands over when every record is written.
pub(crate) struct Finished {
    /// Per acquirer (in [`ACQUIRERS`] order): its late files, then its day files.
    pub(crate) files: Vec<Vec<FileInfo>>,
    /// The acquirers' totals.
    pub(crate) acquirers: Vec<AcquirerTruth>,
    /// The partners' totals.
    pub(crate) partners: Vec<PartnerTruth>,
    /// The faults so far.
    pub(crate) truth: TruthBuilder,
}

/// One lane's stream as the merger sees it.
struct Head {
    rx: Receiver<Vec<Emitted>>,
    batch: std::vec::IntoIter<Emitted>,
    next: Option<Emitted>,
}

impl Head {
    fn advance(&mut self) {
        self.next = self.batch.next();
        while self.next.is_none() {
            match self.rx.recv() {
                Ok(batch) => {
                    self.batch = batch.into_iter();
                    self.next = self.batch.next();
                }
                Err(_) => return,
            }
        }
    }
}

/// Merges the lanes' records by (time, lane, lane order) into `out`, calling `progress` with
/// the number of records merged every 65 536 records.
pub(crate) fn merge(
    rxs: Vec<Receiver<Vec<Emitted>>>,
    out: &mut Output<'_>,
    progress: &dyn Fn(u64),
) -> Result<(), SimError> {
    let mut merged = 0u64;
    let mut heads: Vec<Head> = rxs
        .into_iter()
        .map(|rx| {
            let mut h = Head {
                rx,
                batch: Vec::new().into_iter(),
                next: None,
            };
            h.advance();
            h
        })
        .collect();
    loop {
        // The earliest record; among equal times the lowest lane (strict `<` keeps the first).
        let mut best: Option<(i64, usize)> = None;
        for (i, h) in heads.iter().enumerate() {
            if let Some(e) = &h.next
                && best.is_none_or(|(at, _)| e.at < at)
            {
                best = Some((e.at, i));
            }
        }
        let Some((_, i)) = best else {
            return Ok(());
        };
        let e = heads[i]
            .next
            .take()
            .ok_or_else(|| SimError::Internal("merge head vanished".into()))?;
        heads[i].advance();
        out.accept(i, e)?;
        merged += 1;
        if merged.is_multiple_of(1 << 16) {
            progress(merged);
        }
    }
}
