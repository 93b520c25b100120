//! The drill's invariants: the faulted run held against the clean run of the same day.

use serde::Serialize;

use crate::store::DeliveryState;

use super::RunOutcome;

/// One invariant and whether it held.
#[derive(Debug, Clone, Serialize)]
pub struct Invariant {
    /// What must hold.
    pub name: &'static str,
    /// Whether it did.
    pub passed: bool,
    /// The figures behind the verdict.
    pub detail: String,
}

fn check(name: &'static str, passed: bool, detail: String) -> Invariant {
    Invariant {
        name,
        passed,
        detail,
    }
}

/// Every invariant of `faulted` against `clean`; `uploads` is the number of files each run
/// uploaded.
pub(crate) async fn run(
    clean: &RunOutcome,
    faulted: &RunOutcome,
    uploads: usize,
) -> Vec<Invariant> {
    let mut out = Vec::new();
    out.push(receipts_durable(faulted).await);
    out.push(check(
        "every upload has a receipt",
        faulted.receipts.len() == uploads,
        format!("{} receipts for {uploads} files", faulted.receipts.len()),
    ));
    // The simulated day sends some content twice on purpose (a repeated file): one file, the
    // first receipt again. So the files expected are the distinct receipts.
    let distinct: std::collections::BTreeSet<i64> =
        faulted.receipts.iter().map(|(_, r)| r.file_id).collect();
    match (
        clean.store.ingest_totals().await,
        faulted.store.ingest_totals().await,
    ) {
        (Ok(c), Ok(f)) => {
            out.push(check(
                "one file per content, none twice",
                f.files_in as usize == distinct.len() && c.files_in == f.files_in,
                format!(
                    "{} inbound files recorded (clean run {}) for {uploads} uploads of {} \
                     distinct contents",
                    f.files_in,
                    c.files_in,
                    distinct.len()
                ),
            ));
            out.push(check(
                "every file ingested",
                f.waiting == 0 && f.results == f.files_in,
                format!(
                    "{} waiting, {} of {} with a result",
                    f.waiting, f.results, f.files_in
                ),
            ));
            out.push(check(
                "every record accounted for once",
                f.unbalanced == 0,
                format!(
                    "{} results where accepted + rejected ≠ read; {} records read (clean {})",
                    f.unbalanced, f.records, c.records
                ),
            ));
            // A file rejected whole counts the records read before its check stopped: F04 (a
            // sequence number another file took) stops before them, F02 after. Which of two
            // files sharing a sequence number is ingested first decides which of the two it
            // gets when replicas ingest at once, so records read and rejected may differ from
            // the clean run; the records accepted, each record's rejection and the files
            // rejected whole may not.
            out.push(check(
                "the same records accepted and rejected",
                f.accepted == c.accepted
                    && f.by_code == c.by_code
                    && f.rejected_whole == c.rejected_whole,
                format!(
                    "accepted {} (clean {}); record rejections by code {:?} (clean {:?}); files \
                     rejected whole {} (clean {}); records rejected {} (clean {})",
                    f.accepted,
                    c.accepted,
                    f.by_code,
                    c.by_code,
                    f.rejected_whole,
                    c.rejected_whole,
                    f.rejected,
                    c.rejected
                ),
            ));
        }
        (c, f) => out.push(check(
            "ingest totals readable",
            false,
            format!("clean: {:?}; faulted: {:?}", c.err(), f.err()),
        )),
    }
    out.extend(positions(clean, faulted).await);
    out.push(deliveries(clean, faulted).await);
    out.push(match faulted.store.verify_audit_chain().await {
        Ok(v) => check("the audit chain verifies", v.is_intact(), format!("{v:?}")),
        Err(e) => check("the audit chain verifies", false, e.to_string()),
    });
    out.push(
        match crate::verify::verify_day(&faulted.store, &faulted.vault, faulted.day).await {
            Ok(proof) => {
                let failure = proof.first_failure().map(|c| c.line());
                check(
                    "hutong verify passes",
                    failure.is_none(),
                    failure.unwrap_or_else(|| format!("{} checks passed", proof.checks.len())),
                )
            }
            Err(e) => check("hutong verify passes", false, e.to_string()),
        },
    );
    out
}

/// Every receipt names a stored file with the receipt's digest, whose body reads back with it.
async fn receipts_durable(run: &RunOutcome) -> Invariant {
    let mut bad = Vec::new();
    for (rel, receipt) in &run.receipts {
        let stored = match run.store.file(receipt.file_id).await {
            Ok(Some(f)) => f,
            other => {
                bad.push(format!(
                    "{rel}: file {} not found ({other:?})",
                    receipt.file_id
                ));
                continue;
            }
        };
        if stored.sha256 != receipt.sha256 {
            bad.push(format!(
                "{rel}: digest {} ≠ receipt's {}",
                stored.sha256, receipt.sha256
            ));
            continue;
        }
        let digest = match run.vault.local(&stored.stored_path).await {
            Ok(path) => crate::vault::sha256_file(&path).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match digest {
            Ok(digest) => {
                if digest != receipt.sha256 {
                    bad.push(format!("{rel}: body reads back as {digest}"));
                }
            }
            Err(e) => bad.push(format!("{rel}: body not readable: {e}")),
        }
    }
    check(
        "every receipt's file is stored with its digest",
        bad.is_empty(),
        if bad.is_empty() {
            format!("{} receipts, each body read back whole", run.receipts.len())
        } else {
            bad.join("; ")
        },
    )
}

/// The closed window's positions: equal to the clean run's to the fen, and summing to zero.
async fn positions(clean: &RunOutcome, faulted: &RunOutcome) -> Vec<Invariant> {
    let figures = |run: &RunOutcome| {
        let (store, day) = (run.store.clone(), run.day);
        async move {
            store.window_figures(day).await.map(|c| {
                c.participants
                    .iter()
                    .map(|p| (p.code.clone(), p.net_fen))
                    .collect::<Vec<_>>()
            })
        }
    };
    match (figures(clean).await, figures(faulted).await) {
        (Ok(c), Ok(f)) => {
            let sum: i64 = f.iter().map(|(_, n)| n).sum();
            vec![
                check(
                    "positions equal the clean run's, to the fen",
                    c == f,
                    format!("{} positions; faulted {f:?}, clean {c:?}", f.len()),
                ),
                check(
                    "positions sum to zero",
                    sum == 0 && !f.is_empty(),
                    format!("{sum} fen over {} participants", f.len()),
                ),
            ]
        }
        (c, f) => vec![check(
            "positions readable",
            false,
            format!("clean: {:?}; faulted: {:?}", c.err(), f.err()),
        )],
    }
}

/// Every outbound file reached its partner's endpoint, once: each delivery is `delivered`, and
/// the endpoint stored its content (a push repeated after a crash is answered as a repeat by
/// the endpoint, as the hub answers one, and counted apart). As many deliveries as the clean
/// run's.
async fn deliveries(clean: &RunOutcome, faulted: &RunOutcome) -> Invariant {
    let name = "every outbound file reached its partner exactly once";
    let (c, f) = match (
        clean.store.delivery_outcomes().await,
        faulted.store.delivery_outcomes().await,
    ) {
        (Ok(c), Ok(f)) => (c, f),
        (c, f) => {
            return check(
                name,
                false,
                format!("clean: {:?}; faulted: {:?}", c.err(), f.err()),
            );
        }
    };
    let mut bad = Vec::new();
    for d in &f {
        let pushes = faulted.endpoints.pushes_of(&d.destination, &d.sha256);
        if d.state != DeliveryState::Delivered {
            bad.push(format!("{} to {}: {}", d.name, d.destination, d.state));
        } else if pushes == 0 {
            bad.push(format!(
                "{} to {}: delivered but never received",
                d.name, d.destination
            ));
        }
    }
    let (stored, pushes) = faulted.endpoints.totals();
    let distinct: std::collections::BTreeSet<(&str, &str)> = f
        .iter()
        .map(|d| (d.destination.as_str(), d.sha256.as_str()))
        .collect();
    if stored != distinct.len() {
        bad.push(format!(
            "{stored} contents stored at the endpoints for {} delivered",
            distinct.len()
        ));
    }
    if c.len() != f.len() {
        bad.push(format!("{} deliveries, clean run {}", f.len(), c.len()));
    }
    check(
        name,
        bad.is_empty(),
        if bad.is_empty() {
            format!(
                "{} deliveries (clean {}), each stored once; {} pushes answered ({} repeats \
                 after a cut-off push)",
                f.len(),
                c.len(),
                pushes,
                pushes - stored
            )
        } else {
            bad.join("; ")
        },
    )
}
