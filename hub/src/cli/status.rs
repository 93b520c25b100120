//! `hutong status`: what an operator checks first — the hub's identity, participants and
//! certificate expiry, files waiting for ingest, the open and last closed windows, deliveries,
//! discrepancies and disputes, and the audit chain. Exit 0 when nothing needs attention, 1
//! otherwise (each reason is listed), so that it can run from cron.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::{Value, json};

use super::args::StorageArgs;
use crate::store::{Store, Timestamp};

/// A file waiting this long for ingest needs attention (a running server ingests at once).
const INGEST_WAIT_LIMIT_SECONDS: i64 = 15 * 60;

/// An accepted file this long in no window means a cut-off was missed (the window of its day
/// closes the evening it arrives, or the next).
const OPEN_WINDOW_LIMIT_SECONDS: i64 = 2 * 86400;

/// Arguments of `hutong status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    storage: StorageArgs,
    /// The PKI directory, for certificate expiry (default: DATA_DIR/pki when it exists).
    #[arg(long, value_name = "DIR")]
    pki: Option<PathBuf>,
    /// One JSON object instead of the text.
    #[arg(long)]
    json: bool,
}

/// Runs `hutong status`.
pub(super) fn run(a: StatusArgs) -> anyhow::Result<ExitCode> {
    let target = a.storage.target()?;
    let pki_dir = a.pki.clone().or_else(|| {
        a.storage
            .data_dir
            .as_ref()
            .map(|d| d.join("pki"))
            .filter(|p| p.join("ca.crt").exists())
    });
    let now = Timestamp::now();
    let runtime = tokio::runtime::Runtime::new()?;
    let (identity, participants, queues, audit) = runtime.block_on(async {
        let store = Store::open_existing(&target).await?;
        let identity = store.hub_identity().await?;
        let participants = store.participants().await?;
        let queues = store.queue_status(now).await?;
        let audit = store.verify_audit_chain().await?;
        store.close().await;
        anyhow::Ok((identity, participants, queues, audit))
    })?;

    let mut attention: Vec<String> = Vec::new();
    let age =
        |t: Option<Timestamp>| t.map(|t| (now.datetime() - t.datetime()).num_seconds().max(0));

    if participants.is_empty() {
        attention.push("no participants: add them with `hutong participants add`".into());
    }
    let certificates = match &pki_dir {
        None => Value::Null,
        Some(dir) => certificates(dir, &mut attention),
    };
    let oldest_waiting = age(queues.oldest_waiting_at);
    if let Some(s) = oldest_waiting.filter(|s| *s > INGEST_WAIT_LIMIT_SECONDS) {
        attention.push(format!(
            "{} file(s) waiting for ingest, the oldest for {}: is `hutong serve` running? \
             (or run `hutong ingest`)",
            queues.files_waiting,
            duration(s)
        ));
    }
    if let Some(s) = age(queues.open_window_oldest_at).filter(|s| *s > OPEN_WINDOW_LIMIT_SECONDS) {
        attention.push(format!(
            "{} accepted file(s) in no settlement window, the oldest received {} ago: has the \
             cut-off run? (`hutong clear --day D`)",
            queues.open_window_files,
            duration(s)
        ));
    }
    if queues.deliveries_failed > 0 {
        attention.push(format!(
            "{} deliveries failed for good{}",
            queues.deliveries_failed,
            last_error(&queues.delivery_last_error)
        ));
    }
    if queues.deliveries_retrying > 0 {
        attention.push(format!(
            "{} deliveries failing and being retried{}",
            queues.deliveries_retrying,
            last_error(&queues.delivery_last_error)
        ));
    }
    if queues.discrepancies_open > 0 {
        attention.push(format!(
            "{} open discrepancies (`hutong discrepancies`)",
            queues.discrepancies_open
        ));
    }
    if queues.disputes_overdue > 0 {
        attention.push(format!(
            "{} dispute cases past their deadline (`hutong disputes expire`)",
            queues.disputes_overdue
        ));
    }
    let audit_state = match &audit.broken_at {
        None => json!({"intact": true, "entries": audit.entries}),
        Some((seq, why)) => {
            attention.push(format!(
                "audit log BROKEN at entry {seq}: {why} (`hutong audit verify`)"
            ));
            json!({"intact": false, "entries": audit.entries, "broken_at": seq, "problem": why})
        }
    };

    let report = json!({
        "hub": identity.as_ref().map(|i| json!({
            "hub_code": i.hub_code,
            "created_at": i.created_at,
            "schema_version": i.schema_version,
            "at": target.describe_hub(),
        })),
        "participants": participants.iter().map(|p| json!({
            "code": p.code, "scheme": p.scheme.as_str(), "endpoint": p.endpoint,
        })).collect::<Vec<_>>(),
        "certificates": certificates,
        "ingest": {
            "files_waiting": queues.files_waiting,
            "oldest_waiting_at": queues.oldest_waiting_at,
            "oldest_waiting_seconds": oldest_waiting,
        },
        "windows": {
            "open": {
                "files": queues.open_window_files,
                "oldest_received_at": queues.open_window_oldest_at,
            },
            "last_closed": queues.last_closed,
        },
        "deliveries": {
            "due": queues.deliveries_due,
            "retrying": queues.deliveries_retrying,
            "failed": queues.deliveries_failed,
            "last_error": queues.delivery_last_error,
        },
        "discrepancies": {
            "open": queues.discrepancies_open,
            "in_progress": queues.discrepancies_in_progress,
        },
        "disputes": {
            "open": queues.disputes_open,
            "overdue": queues.disputes_overdue,
            "nearest_deadline": queues.nearest_dispute_deadline,
        },
        "audit": audit_state,
        "attention": attention,
    });
    if a.json {
        println!("{report}");
    } else {
        print_text(&report, &attention);
    }
    Ok(if attention.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Certificates of the PKI: every valid one and when it expires; expired or expiring within
/// the warning window ones need attention.
fn certificates(dir: &std::path::Path, attention: &mut Vec<String>) -> Value {
    let records = match certs::Pki::open(dir).and_then(|p| p.list()) {
        Ok(r) => r,
        Err(e) => {
            attention.push(format!("PKI {}: {e}", dir.display()));
            return json!({"pki": dir.display().to_string(), "error": e.to_string()});
        }
    };
    let now = certs::time::OffsetDateTime::now_utc();
    let window = certs::time::Duration::days(certs::EXPIRY_WARNING_DAYS);
    let mut list = Vec::new();
    let mut nearest: Option<certs::time::OffsetDateTime> = None;
    for r in &records {
        let state = r.state(now);
        let who = r.participant.clone().unwrap_or_else(|| r.subject.clone());
        let soon = r.expires_within(now, window);
        if state == certs::CertState::Valid {
            nearest = Some(nearest.map_or(r.not_after, |n| n.min(r.not_after)));
            if soon {
                attention.push(format!(
                    "certificate {} of {who} expires within {} days ({})",
                    r.serial,
                    certs::EXPIRY_WARNING_DAYS,
                    rfc3339(r.not_after)
                ));
            }
        }
        list.push(json!({
            "serial": r.serial,
            "who": who,
            "state": state.as_str(),
            "not_after": rfc3339(r.not_after),
            "expires_soon": soon && state == certs::CertState::Valid,
        }));
    }
    json!({
        "pki": dir.display().to_string(),
        "nearest_expiry": nearest.map(rfc3339),
        "issued": list,
    })
}

fn rfc3339(t: certs::time::OffsetDateTime) -> String {
    t.format(&certs::time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

fn last_error(e: &Option<String>) -> String {
    e.as_ref()
        .map(|e| format!(" (last error: {e})"))
        .unwrap_or_default()
}

/// Seconds as `3d 4h`, `2h 5m`, `7m 3s` or `12s`.
fn duration(s: i64) -> String {
    let (d, h, m) = (s / 86400, s % 86400 / 3600, s % 3600 / 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {}s", s % 60)
    } else {
        format!("{s}s")
    }
}

fn print_text(r: &Value, attention: &[String]) {
    let s = |v: &Value| match v {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let hub = &r["hub"];
    println!(
        "hub            {} at {} (schema {}, created {})",
        s(&hub["hub_code"]),
        s(&hub["at"]),
        s(&hub["schema_version"]),
        s(&hub["created_at"])
    );
    let codes: Vec<String> = r["participants"]
        .as_array()
        .map(|a| a.iter().map(|p| s(&p["code"])).collect())
        .unwrap_or_default();
    println!("participants   {} ({})", codes.len(), codes.join(", "));
    match &r["certificates"] {
        Value::Null => println!("certificates   - (give --pki DIR)"),
        c => println!(
            "certificates   {} issued, nearest expiry {}",
            c["issued"].as_array().map_or(0, |a| a.len()),
            s(&c["nearest_expiry"])
        ),
    }
    let i = &r["ingest"];
    println!(
        "ingest         {} file(s) waiting, oldest since {}",
        s(&i["files_waiting"]),
        s(&i["oldest_waiting_at"])
    );
    let w = &r["windows"];
    println!(
        "open window    {} accepted file(s) not yet cleared, oldest since {}",
        s(&w["open"]["files"]),
        s(&w["open"]["oldest_received_at"])
    );
    match &w["last_closed"] {
        Value::Null => println!("last closed    - (no window closed yet)"),
        c => println!(
            "last closed    {} at {} ({} records)",
            s(&c["day"]),
            s(&c["closed_at"]),
            s(&c["tx_count"])
        ),
    }
    let d = &r["deliveries"];
    println!(
        "deliveries     {} due, {} retrying, {} failed",
        s(&d["due"]),
        s(&d["retrying"]),
        s(&d["failed"])
    );
    let x = &r["discrepancies"];
    println!(
        "discrepancies  {} open, {} in progress",
        s(&x["open"]),
        s(&x["in_progress"])
    );
    let c = &r["disputes"];
    println!(
        "disputes       {} open, {} overdue, nearest deadline {}",
        s(&c["open"]),
        s(&c["overdue"]),
        s(&c["nearest_deadline"])
    );
    let a = &r["audit"];
    if a["intact"] == Value::Bool(true) {
        println!("audit log      intact ({} entries)", s(&a["entries"]));
    } else {
        println!(
            "audit log      BROKEN at entry {}: {}",
            s(&a["broken_at"]),
            s(&a["problem"])
        );
    }
    if attention.is_empty() {
        println!("\nnothing needs attention");
    } else {
        println!("\nneeds attention:");
        for line in attention {
            println!("  - {line}");
        }
    }
}
