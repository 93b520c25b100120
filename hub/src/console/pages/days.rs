//! Settlement days: the list, one day's positions, exports, reconciling a day.

use super::*;

pub(super) fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/days", get(days))
        .route("/days/{day}", get(day_page))
        .route("/days/{day}/export/{format}", get(day_export))
        .route("/days/{day}/reconcile", post(day_reconcile))
}

#[derive(Serialize)]
struct DayRow {
    day: String,
    status: &'static str,
    tx_count: i64,
    tx_amount_fen: i64,
    open: i64,
    all: i64,
}

async fn days(
    State(state): St,
    staff: Staff,
    Query(flash): Query<Flash>,
) -> Result<Html<String>, ConsoleError> {
    let mut rows = Vec::new();
    for d in state.store.reconciliation_days(90).await? {
        let w = state.store.closed_window(d).await?;
        let counts = state.store.discrepancy_counts(Some(d)).await?;
        rows.push(DayRow {
            day: d.to_string(),
            status: if w.is_some() { "closed" } else { "open" },
            tx_count: w.as_ref().map(|w| w.tx_count).unwrap_or(0),
            tx_amount_fen: w.as_ref().map(|w| w.tx_amount_fen).unwrap_or(0),
            open: counts
                .iter()
                .filter(|c| matches!(c.1.as_str(), "open" | "disputed" | "resent"))
                .map(|c| c.2)
                .sum(),
            all: counts.iter().map(|c| c.2).sum(),
        });
    }
    render(
        &state,
        "days.html",
        Some(&staff),
        &flash,
        "days",
        context! { days => rows },
    )
}

async fn day_page(
    State(state): St,
    staff: Staff,
    Path(day): Path<String>,
    Query(flash): Query<Flash>,
) -> Result<Html<String>, ConsoleError> {
    let day = parse_day(&day)?;
    let p = crate::clearing::positions(&state.store, &state.clearing, day)
        .await
        .map_err(|e| ConsoleError::Internal(e.to_string()))?;
    let counts = state.store.discrepancy_counts(Some(day)).await?;
    let (proof, proof_error) = if p.closed_at.is_some() {
        match crate::verify::verify_day(&state.store, &state.vault, day).await {
            Ok(proof) => (Some(proof), None),
            Err(e) => (None, Some(e.to_string())),
        }
    } else {
        (None, None)
    };
    render(
        &state,
        "day.html",
        Some(&staff),
        &flash,
        "days",
        context! {
            p => Value::from_serialize(&p),
            cutoff => local(&state, p.cutoff_at),
            closed => p.closed_at.map(|t| local(&state, t)),
            counts => counts,
            proof => proof.as_ref().map(Value::from_serialize),
            proof_error => proof_error,
            can_operate => staff.can(StaffRole::Operator),
        },
    )
}

async fn day_export(
    State(state): St,
    staff: Staff,
    Path((day, format)): Path<(String, String)>,
) -> Result<Response, ConsoleError> {
    let day = parse_day(&day)?;
    let p = crate::clearing::positions(&state.store, &state.clearing, day)
        .await
        .map_err(|e| ConsoleError::Internal(e.to_string()))?;
    let out = match format.as_str() {
        "csv" => download(
            export::positions_csv(&p).map_err(|e| ConsoleError::Internal(e.to_string()))?,
            "text/csv; charset=utf-8",
            &format!("positions_{day}.csv"),
        ),
        "xlsx" => download(
            export::positions_xlsx(&p).map_err(|e| ConsoleError::Internal(e.to_string()))?,
            XLSX,
            &format!("positions_{day}.xlsx"),
        ),
        other => {
            return Err(ConsoleError::NotFound(format!(
                "no export format {other:?}"
            )));
        }
    };
    audit(
        &state,
        &staff.session.user.name,
        "console.export",
        &format!("positions:{day}"),
        "ok",
        &format!("positions of {day} as {format}"),
    )
    .await?;
    Ok(out)
}

async fn day_reconcile(
    State(state): St,
    staff: Staff,
    Path(day): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(&f.csrf)?;
    staff.require(StaffRole::Operator)?;
    let d = parse_day(&day)?;
    let path = format!("/days/{d}");
    match crate::reconcile::reconcile_day(
        &state.store,
        &state.vault,
        &state.reconcile,
        d,
        Timestamp::now(),
        None,
    )
    .await
    {
        Ok(s) => {
            let words = format!(
                "Reconciled {d}: {} new discrepancies ({} known), {} decided, {} cases opened.",
                s.found.new.len(),
                s.found.known,
                s.resolved.decided.len(),
                s.resolved.cases.len()
            );
            audit(
                &state,
                &staff.session.user.name,
                "console.reconcile",
                &format!("day:{d}"),
                "ok",
                &words,
            )
            .await?;
            Ok(back(&path, "msg", &words))
        }
        Err(crate::reconcile::ReconcileError::BadInput(m)) => Ok(back(&path, "error", &m)),
        Err(e) => Err(ConsoleError::Internal(e.to_string())),
    }
}
