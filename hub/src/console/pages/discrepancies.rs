//! The discrepancy queue: filters, exports, one discrepancy, closing a monitored one.

use super::*;

pub(super) fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/discrepancies", get(queue))
        .route("/discrepancies/export/{format}", get(queue_export))
        .route("/discrepancies/{id}", get(discrepancy_page))
        .route("/discrepancies/{id}/close", post(discrepancy_close))
}

#[derive(Debug, Default, Deserialize, Serialize)]
struct QueueQuery {
    #[serde(default)]
    day: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    participant: String,
    msg: Option<String>,
    error: Option<String>,
}

impl QueueQuery {
    fn filter(&self) -> Result<DiscrepancyFilter, ConsoleError> {
        let some = |s: &str| Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_string);
        Ok(DiscrepancyFilter {
            day: some(&self.day).map(|d| parse_day(&d)).transpose()?,
            kind: some(&self.kind)
                .map(|k| k.parse::<DiscrepancyType>())
                .transpose()
                .map_err(ConsoleError::BadRequest)?,
            status: some(&self.status)
                .map(|s| s.parse::<DiscrepancyStatus>())
                .transpose()
                .map_err(ConsoleError::BadRequest)?,
            participant: some(&self.participant),
            limit: Some(5000),
        })
    }

    fn query_string(&self) -> String {
        format!(
            "day={}&type={}&status={}&participant={}",
            enc(&self.day),
            enc(&self.kind),
            enc(&self.status),
            enc(&self.participant)
        )
    }
}

async fn queue(
    State(state): St,
    staff: Staff,
    Query(q): Query<QueueQuery>,
) -> Result<Html<String>, ConsoleError> {
    let items = state.store.discrepancies(&q.filter()?).await?;
    let total: i64 = items.iter().map(|d| d.amount_fen).sum();
    let flash = Flash {
        msg: q.msg.clone(),
        error: q.error.clone(),
    };
    render(
        &state,
        "queue.html",
        Some(&staff),
        &flash,
        "queue",
        context! {
            items => Value::from_serialize(&items),
            total => total,
            f => context! { day => q.day.clone(), type => q.kind.clone(), status => q.status.clone(), participant => q.participant.clone() },
            types => DiscrepancyType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
            statuses => DiscrepancyStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            query => q.query_string(),
        },
    )
}

async fn queue_export(
    State(state): St,
    staff: Staff,
    Path(format): Path<String>,
    Query(q): Query<QueueQuery>,
) -> Result<Response, ConsoleError> {
    let mut filter = q.filter()?;
    filter.limit = None;
    let items = state.store.discrepancies(&filter).await?;
    let out = match format.as_str() {
        "csv" => download(
            export::queue_csv(&items).map_err(|e| ConsoleError::Internal(e.to_string()))?,
            "text/csv; charset=utf-8",
            "discrepancies.csv",
        ),
        "xlsx" => download(
            export::queue_xlsx(&items).map_err(|e| ConsoleError::Internal(e.to_string()))?,
            XLSX,
            "discrepancies.xlsx",
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
        "discrepancies",
        "ok",
        &format!(
            "{} discrepancies as {format} ({})",
            items.len(),
            q.query_string()
        ),
    )
    .await?;
    Ok(out)
}

async fn discrepancy_page(
    State(state): St,
    staff: Staff,
    Path(id): Path<i64>,
    Query(flash): Query<Flash>,
) -> Result<Html<String>, ConsoleError> {
    let d = state
        .store
        .discrepancy(id)
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("no discrepancy {id}")))?;
    let can_close = staff.can(StaffRole::Finance) && d.status == DiscrepancyStatus::Monitoring;
    render(
        &state,
        "discrepancy.html",
        Some(&staff),
        &flash,
        "queue",
        context! { d => Value::from_serialize(&d), found => local(&state, d.found_at), can_close => can_close },
    )
}

#[derive(Debug, Deserialize)]
struct CloseForm {
    csrf: String,
    note: String,
}

async fn discrepancy_close(
    State(state): St,
    staff: Staff,
    Path(id): Path<i64>,
    Form(f): Form<CloseForm>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(&f.csrf)?;
    staff.require(StaffRole::Finance)?;
    let note = f.note.trim();
    if note.is_empty() {
        return Ok(back(
            &format!("/discrepancies/{id}"),
            "error",
            "Say why it can be closed.",
        ));
    }
    let user = &staff.session.user.name;
    let words = format!("closed after review by {user}: {note}");
    let mut tx = state.store.begin().await?;
    let done = crate::store::reconcile::update_discrepancy(
        &mut tx,
        id,
        &[DiscrepancyStatus::Monitoring],
        DiscrepancyStatus::Closed,
        &crate::store::reconcile::DiscrepancyUpdate {
            decision: Some("closed_after_review".into()),
            resolution: Some(words.clone()),
            ..Default::default()
        },
        Timestamp::now(),
    )
    .await?;
    if !done {
        return Ok(back(
            &format!("/discrepancies/{id}"),
            "error",
            "Only a monitored discrepancy can be closed by hand.",
        ));
    }
    let detail = format!("console user {user}: {words}");
    append_audit(
        &mut tx,
        &NewAuditEntry {
            participant: None,
            action: "console.close_discrepancy",
            target: Some(&format!("discrepancy:{id}")),
            result: "ok",
            detail: Some(&detail),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(back(&format!("/discrepancies/{id}"), "msg", "Closed."))
}
