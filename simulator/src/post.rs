//! After the merge: the file-level faults (deliveries cut short, with a wrong trailer, or sent
//! twice), the issuers' blacklist files, and the order in which everything is uploaded.
//! Copies stream from the complete files, so memory stays flat whatever their size.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use adapters::hutong_xml::blacklist::{self, Action, Entry};
use adapters::{FileMeta, Format};
use card_standards::CodeTables;
use chrono::{NaiveDateTime, TimeDelta};

use super::SimError;
use super::faults::{FaultKind, FaultSpec};
use super::merge::{FileInfo, FileKind, day_seq, dir_of};
use super::population::card_spec;
use super::rng::{Rng, stream};
use super::truth::{Fault, Level, TruthBuilder};
use super::world::{ACQUIRERS, HUB, World};

/// One delivery in upload order: a complete file, or a damaged or repeated copy of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Delivery {
    pub(crate) path: String,
    pub(crate) participant: &'static str,
    pub(crate) format: Format,
    pub(crate) seq: u64,
    pub(crate) created: NaiveDateTime,
    pub(crate) records: u64,
    pub(crate) amount_fen: i64,
    pub(crate) first: Option<NaiveDateTime>,
    pub(crate) last: Option<NaiveDateTime>,
    /// `accepted`, `late`, `F01`, `F02` or `duplicate_file`.
    pub(crate) expect: &'static str,
    /// For copies: the complete file.
    pub(crate) copy_of: Option<String>,
}

impl Delivery {
    fn of(f: &FileInfo) -> Delivery {
        Delivery {
            path: f.path.clone(),
            participant: f.participant,
            format: f.format,
            seq: f.seq,
            created: f.created,
            records: f.records,
            amount_fen: f.amount_fen,
            first: f.first,
            last: f.last,
            expect: match f.kind {
                FileKind::Day => "accepted",
                FileKind::Late(_) => "late",
            },
            copy_of: None,
        }
    }
}

/// A blacklist file as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BlacklistInfo {
    pub(crate) path: String,
    pub(crate) participant: &'static str,
    pub(crate) seq: u64,
    pub(crate) created: NaiveDateTime,
    pub(crate) entries: u64,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> SimError + '_ {
    move |e| SimError::io(path, e)
}

/// The byte offset where the header ends and where the trailer starts.
fn frame(path: &Path, format: Format) -> Result<(u64, u64, u64), SimError> {
    let mut f = File::open(path).map_err(io(path))?;
    let len = f.metadata().map_err(io(path))?.len();
    let mut head = vec![0u8; len.min(4096) as usize];
    f.read_exact(&mut head).map_err(io(path))?;
    // XML: the declaration and the root's start tag; the others: one header line.
    let lines = if format == Format::HutongXml { 2 } else { 1 };
    let mut header_end = 0u64;
    let mut seen = 0;
    for (i, b) in head.iter().enumerate() {
        if *b == b'\n' {
            seen += 1;
            if seen == lines {
                header_end = i as u64 + 1;
                break;
            }
        }
    }
    let tail_len = len.min(4096);
    f.seek(SeekFrom::Start(len - tail_len)).map_err(io(path))?;
    let mut tail = vec![0u8; tail_len as usize];
    f.read_exact(&mut tail).map_err(io(path))?;
    let text = String::from_utf8_lossy(&tail);
    let at = if format == Format::HutongXml {
        text.rfind("\n  <Trailer").map(|i| i + 1)
    } else {
        text.trim_end_matches('\n').rfind('\n').map(|i| i + 1)
    };
    let trailer = at
        .map(|i| len - tail_len + i as u64)
        .ok_or_else(|| SimError::Internal(format!("{}: no trailer found", path.display())))?;
    Ok((header_end, trailer, len))
}

fn copy_prefix(from: &Path, to: &Path, bytes: u64, then: &[u8]) -> Result<(), SimError> {
    let src = File::open(from).map_err(io(from))?;
    let mut out = BufWriter::new(File::create(to).map_err(io(to))?);
    std::io::copy(&mut src.take(bytes), &mut out).map_err(io(to))?;
    out.write_all(then).map_err(io(to))?;
    out.flush().map_err(io(to))
}

/// The trailer with its total raised by `delta` fen.
fn wrong_trailer(format: Format, trailer: &str, delta: i64) -> Result<String, SimError> {
    let bad = || SimError::Internal(format!("unexpected {format} trailer {trailer:?}"));
    match format {
        // The simulator damages transaction files only.
        Format::LocalCsvBlacklist
        | Format::MohurdBlacklist
        | Format::MotBlacklist
        | Format::PbocBlacklist => Err(bad()),
        Format::LocalCsv => {
            let line = trailer.trim_end();
            let mut parts: Vec<String> = line.split(',').map(str::to_string).collect();
            let total: i64 = parts.get(2).and_then(|t| t.parse().ok()).ok_or_else(bad)?;
            parts[2] = (total + delta).to_string();
            Ok(format!("{}\n", parts.join(",")))
        }
        Format::HutongXml | Format::HutongBlacklist => {
            let key = "totalAmount=\"";
            let start = trailer.find(key).ok_or_else(bad)? + key.len();
            let end = start + trailer[start..].find('"').ok_or_else(bad)?;
            let total: i64 = trailer[start..end].parse().map_err(|_| bad())?;
            Ok(format!(
                "{}{}{}",
                &trailer[..start],
                total + delta,
                &trailer[end..]
            ))
        }
        Format::Mohurd | Format::Mot | Format::Pboc => {
            // `T`, record count (10), total amount (16): the layout tables' trailer.
            let total: i64 = trailer
                .get(11..27)
                .and_then(|t| t.parse().ok())
                .ok_or_else(bad)?;
            Ok(format!(
                "{}{:016}{}",
                &trailer[..11],
                total + delta,
                &trailer[27..]
            ))
        }
    }
}

fn sibling(path: &str, suffix: &str) -> String {
    match path.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}-{suffix}.{ext}"),
        None => format!("{path}-{suffix}"),
    }
}

/// Writes the damaged and repeated deliveries and returns every delivery in upload order:
/// per acquirer its late files, then each day file preceded by its damaged attempts and
/// followed by its repeats.
pub(crate) fn deliveries(
    dir: &Path,
    files: &[Vec<FileInfo>],
    faults: FaultSpec,
    seed: u64,
    truth: &mut TruthBuilder,
) -> Result<Vec<Delivery>, SimError> {
    let mut rng = Rng::new(seed, stream::POST);
    let day_files: Vec<&FileInfo> = files
        .iter()
        .flatten()
        .filter(|f| f.kind == FileKind::Day)
        .collect();
    // Per day file: attempts before it and repeats after it.
    let mut before: Vec<Vec<Delivery>> = vec![Vec::new(); day_files.len()];
    let mut after: Vec<Vec<Delivery>> = vec![Vec::new(); day_files.len()];
    if !day_files.is_empty() {
        for kind in [
            FaultKind::Truncated,
            FaultKind::BadTrailer,
            FaultKind::DupFile,
        ] {
            for _ in 0..faults.get(kind) {
                let i = rng.below(day_files.len() as u64) as usize;
                let f = day_files[i];
                let from = dir.join(&f.path);
                let mut d = Delivery::of(f);
                d.copy_of = Some(f.path.clone());
                let mut fault = match kind {
                    FaultKind::DupFile => {
                        d.path = sibling(&f.path, &format!("resend{}", after[i].len() + 1));
                        d.expect = "duplicate_file";
                        std::fs::copy(&from, dir.join(&d.path)).map_err(io(&from))?;
                        let mut x = Fault::new(kind, Level::File, "duplicate_file", f.participant);
                        x.detail = format!(
                            "{} delivered a second time, byte for byte: the hub must answer with the first receipt and store nothing twice",
                            f.path
                        );
                        x
                    }
                    _ => {
                        d.path = sibling(&f.path, &format!("a{}", before[i].len() + 1));
                        let (header_end, trailer, len) = frame(&from, f.format)?;
                        let to = dir.join(&d.path);
                        if kind == FaultKind::Truncated {
                            let cut = if header_end < trailer {
                                rng.range(header_end, trailer - 1)
                            } else {
                                trailer + (len - trailer) / 2
                            };
                            copy_prefix(&from, &to, cut, b"")?;
                            d.expect = "F01";
                            let mut x = Fault::new(kind, Level::File, "F01", f.participant);
                            x.detail = format!(
                                "a delivery of {} cut short after {cut} of {len} bytes, before the complete file is delivered: the hub must reject it whole",
                                f.path
                            );
                            x
                        } else {
                            let mut tail = vec![0u8; (len - trailer) as usize];
                            let mut src = File::open(&from).map_err(io(&from))?;
                            src.seek(SeekFrom::Start(trailer)).map_err(io(&from))?;
                            src.read_exact(&mut tail).map_err(io(&from))?;
                            let delta = rng.range(1, 999) as i64;
                            let text = String::from_utf8_lossy(&tail).into_owned();
                            let wrong = wrong_trailer(f.format, &text, delta)?;
                            copy_prefix(&from, &to, trailer, wrong.as_bytes())?;
                            d.expect = "F02";
                            let mut x = Fault::new(kind, Level::File, "F02", f.participant);
                            x.detail = format!(
                                "a delivery of {} whose trailer total is {delta} fen too high, before the correct file: the hub must reject it whole",
                                f.path
                            );
                            x
                        }
                    }
                };
                fault.file = Some(d.path.clone());
                fault.original = Some(f.path.clone());
                truth.push(fault);
                if kind == FaultKind::DupFile {
                    after[i].push(d);
                } else {
                    before[i].push(d);
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    for list in files {
        for f in list.iter().filter(|f| f.kind != FileKind::Day) {
            out.push(Delivery::of(f));
        }
        for f in list.iter().filter(|f| f.kind == FileKind::Day) {
            out.append(&mut before[i]);
            out.push(Delivery::of(f));
            out.append(&mut after[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// Writes each issuer-side participant's blacklist file: its blacklisted fault cards (the
/// effective times the lanes chose) and some lost cards outside today's population, with one
/// card taken off the list.
pub(crate) fn blacklists(
    dir: &Path,
    world: &World,
    tables: &CodeTables,
    seed: u64,
    cards: u64,
    truth: &mut TruthBuilder,
) -> Result<Vec<BlacklistInfo>, SimError> {
    let mut rng = Rng::new(seed, stream::POST ^ 0xB1AC);
    let day = world.day;
    let created = day.and_hms_opt(22, 35, 0).unwrap_or_default();
    let morning = day.and_hms_opt(6, 0, 0).unwrap_or_default();
    let noise = 2 + (cards / 5_000).min(48);
    let mut next_outside = cards;
    let mut out = Vec::new();
    for code in ACQUIRERS {
        let mut entries: Vec<Entry> = Vec::new();
        let path = format!(
            "{}/{code}_BL_{}_0001.xml",
            dir_of("blacklists", code),
            day.format("%Y%m%d")
        );
        for f in truth
            .faults
            .iter_mut()
            .filter(|f| f.kind == FaultKind::Blacklisted && f.participant == code)
        {
            let (Some(card), Some(effective)) = (&f.card, f.effective) else {
                continue;
            };
            f.file = Some(path.clone());
            entries.push(Entry {
                scheme: card.scheme,
                issuer: card_standards::IssuerId {
                    issuer_code: card
                        .issuer
                        .parse()
                        .map_err(|e| SimError::Internal(format!("{e}")))?,
                    city_code: card
                        .city
                        .parse()
                        .map_err(|e| SimError::Internal(format!("{e}")))?,
                },
                card: card
                    .card
                    .parse()
                    .map_err(|e| SimError::Internal(format!("{e}")))?,
                action: Action::Add,
                effective,
                reason: "lost".into(),
            });
        }
        // Cards of this participant outside the population: reported lost today, one found.
        let mut found = 0u64;
        let mut scanned = 0u64;
        while found <= noise && scanned < 200_000 {
            let spec = card_spec(world, tables, seed, next_outside)?;
            next_outside += 1;
            scanned += 1;
            let iss = &world.issuers[spec.issuer];
            if iss.participant != code || spec.medium != card_standards::CardMedium::Cpu {
                continue;
            }
            let (action, reason, at) = if found == noise {
                (
                    Action::Remove,
                    "found by owner",
                    day.and_hms_opt(12, 0, 0).unwrap_or_default()
                        + TimeDelta::seconds(rng.below(7_200) as i64),
                )
            } else {
                let reason = if rng.below(4) == 0 { "stolen" } else { "lost" };
                (
                    Action::Add,
                    reason,
                    morning + TimeDelta::seconds(rng.below(14 * 3_600) as i64),
                )
            };
            entries.push(Entry {
                scheme: iss.scheme,
                issuer: iss.id,
                card: spec.serial,
                action,
                effective: at,
                reason: reason.into(),
            });
            found += 1;
        }
        entries.sort_by_key(|e| (e.effective, e.card));
        let full = dir.join(&path);
        let file = File::create(&full).map_err(io(&full))?;
        let mut meta = FileMeta::new(code, day_seq(day, 1), created);
        meta.receiver = Some(HUB.to_string());
        let mut w = blacklist::writer(BufWriter::new(file), &meta)?;
        for e in &entries {
            w.write(e)?;
        }
        let (_, count) = w.finish()?;
        out.push(BlacklistInfo {
            path,
            participant: code,
            seq: meta.seq,
            created,
            entries: count,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_trailers_raise_the_total_in_every_format() {
        assert_eq!(
            wrong_trailer(Format::LocalCsv, "T,7,10030\n", 5).unwrap(),
            "T,7,10035\n"
        );
        assert_eq!(
            wrong_trailer(
                Format::HutongXml,
                "  <Trailer count=\"7\" totalAmount=\"10030\"/>\n</TxFile>\n",
                1
            )
            .unwrap(),
            "  <Trailer count=\"7\" totalAmount=\"10031\"/>\n</TxFile>\n"
        );
        assert_eq!(
            wrong_trailer(Format::Mot, "T00000000070000000000010030\n", 2).unwrap(),
            "T00000000070000000000010032\n"
        );
        assert!(wrong_trailer(Format::Mot, "T0\n", 2).is_err());
        assert_eq!(
            sibling("files/QD/QD_1_0001.csv", "a1"),
            "files/QD/QD_1_0001-a1.csv"
        );
    }
}
