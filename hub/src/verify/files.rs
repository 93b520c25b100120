//! The checks of a closed day's files on disk: the pacs.009, the outbound packages and
//! every output's digest.

use super::*;

/// The copy of an output the participant receives (the outbox copy), else the one written
/// under `settlements/DAY/`.
pub(super) fn output_file(vault: &Vault, day: NaiveDate, o: &RecordedOutput) -> PathBuf {
    if let Some(stored) = &o.stored_path {
        return vault.path_of(stored);
    }
    if let Some(p) = o.path.as_ref().map(PathBuf::from).filter(|p| p.exists()) {
        return p;
    }
    settlements_copy(vault, day, o)
}

pub(super) fn file_name(o: &RecordedOutput) -> String {
    if let Some(n) = &o.file_name {
        return n.clone();
    }
    o.path
        .as_deref()
        .and_then(|p| Path::new(p).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| format!("{} of {}", o.kind, o.participant))
}

pub(super) fn settlements_copy(vault: &Vault, day: NaiveDate, o: &RecordedOutput) -> PathBuf {
    vault
        .data_dir()
        .join("settlements")
        .join(day.to_string())
        .join(file_name(o))
}

pub(super) fn display_name(o: &RecordedOutput, path: &Path) -> String {
    format!("{} ({})", file_name(o), path.display())
}

pub(super) fn read_small(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

pub(super) fn pacs009_checks(
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

pub(super) async fn package_checks(
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
pub(super) fn read_package(
    path: &Path,
    format: adapters::Format,
    file: &str,
) -> Result<(i64, i64), String> {
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

pub(super) use crate::vault::sha256_file;

/// An output recorded as produced with nothing written (a pacs.009 of a day without
/// transfers).
pub(super) fn nothing_written(o: &RecordedOutput) -> bool {
    o.file_id.is_none() && o.path.is_none() && o.sha256.is_none()
}

pub(super) async fn digest_check(vault: &Vault, day: NaiveDate, o: &RecordedOutput) -> Check {
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
