//! Dispute cases: the list, one case with its history and evidence, actions, evidence upload and download.

use super::*;

pub(super) fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/cases", get(cases))
        .route("/cases/{id}", get(case_page))
        .route("/cases/{id}/action", post(case_action))
        .route("/cases/{id}/evidence", post(case_evidence))
        .route("/cases/{id}/evidence/{seq}", get(case_evidence_download))
}

#[derive(Debug, Default, Deserialize)]
struct CaseQuery {
    #[serde(default)]
    participant: String,
    open: Option<String>,
    msg: Option<String>,
    error: Option<String>,
}

async fn cases(
    State(state): St,
    staff: Staff,
    Query(q): Query<CaseQuery>,
) -> Result<Html<String>, ConsoleError> {
    let participant = Some(q.participant.trim().to_string()).filter(|p| !p.is_empty());
    let list = state
        .store
        .cases(&CaseFilter {
            participant,
            stage: None,
            open_only: q.open.is_some(),
        })
        .await?;
    #[derive(Serialize)]
    struct Row {
        id: i64,
        discrepancy_id: i64,
        claimant: String,
        respondent: String,
        amount_fen: i64,
        stage: Stage,
        overdue: bool,
        deadline: String,
    }
    let rows: Vec<Row> = list
        .iter()
        .map(|c| Row {
            id: c.id,
            discrepancy_id: c.discrepancy_id,
            claimant: c.case.claimant.clone(),
            respondent: c.case.respondent.clone(),
            amount_fen: c.case.amount_fen,
            stage: c.case.stage,
            overdue: c.case.overdue,
            deadline: if c.case.stage.is_open() {
                local_naive(&state, c.case.deadline)
            } else {
                "—".into()
            },
        })
        .collect();
    let flash = Flash {
        msg: q.msg.clone(),
        error: q.error.clone(),
    };
    render(
        &state,
        "cases.html",
        Some(&staff),
        &flash,
        "cases",
        context! { cases => rows, f => context! { participant => q.participant.clone(), open => q.open.is_some() } },
    )
}

fn actor(staff: &Staff) -> Actor {
    let u = &staff.session.user;
    Actor::Staff {
        name: u.name.clone(),
        role: u.role,
        participant: u.participant.clone(),
    }
}

async fn case_page(
    State(state): St,
    staff: Staff,
    Path(id): Path<i64>,
    Query(flash): Query<Flash>,
) -> Result<Html<String>, ConsoleError> {
    let c = state
        .store
        .case(id)
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("no dispute case {id}")))?;
    let u = &staff.session.user;
    let as_party = u.participant.as_deref().and_then(|p| c.case.role_of(p));
    let open = c.case.stage.is_open();
    let mut actions: Vec<&str> = Vec::new();
    let mut simple: Vec<(&str, &str)> = Vec::new();
    let mut money: Vec<(&str, &str)> = Vec::new();
    if open && staff.can(StaffRole::Finance) {
        actions.push("evidence");
        if c.case.stage == Stage::Opened
            && (as_party == Some(reconciliation::dispute::Role::Claimant) || as_party.is_none())
        {
            simple.push(("request_evidence", "Request evidence"));
        }
        if as_party.is_some() && c.case.stage != Stage::Escalated {
            let pending_from_other = c
                .case
                .proposal
                .as_ref()
                .is_some_and(|(_, by)| Some(*by) != as_party);
            if pending_from_other {
                simple.push(("accept", "Accept the pending proposal"));
            }
            if c.case.stage == Stage::Proposed && pending_from_other {
                simple.push(("contest", "Contest (to arbitration)"));
            }
            simple.push(("escalate", "Escalate to the operator"));
            money.push(("propose", "Propose"));
        }
        if staff.can(StaffRole::Operator) {
            money.push(("arbitrate", "Rule (arbitrate)"));
            simple.push(("withdraw", "Withdraw the claim"));
        }
    }
    for (a, _) in simple.iter().chain(money.iter()) {
        actions.push(a);
    }
    #[derive(Serialize)]
    struct Ev {
        at: String,
        actor: String,
        action: String,
        note: String,
        stage: Stage,
    }
    let history: Vec<Ev> = c
        .case
        .history
        .iter()
        .map(|e| Ev {
            at: local_naive(&state, e.at),
            actor: e.actor.clone(),
            action: e.action.clone(),
            note: e.note.clone(),
            stage: e.stage,
        })
        .collect();
    #[derive(Serialize)]
    struct File {
        name: String,
        sha256: String,
        added_by: String,
        at: String,
    }
    let evidence: Vec<File> = c
        .case
        .evidence
        .iter()
        .map(|e| File {
            name: e.name.clone(),
            sha256: e.sha256.clone(),
            added_by: e.added_by.clone(),
            at: local_naive(&state, e.at),
        })
        .collect();
    render(
        &state,
        "case.html",
        Some(&staff),
        &flash,
        "cases",
        context! {
            c => Value::from_serialize(&c),
            deadline => if open { local_naive(&state, c.case.deadline) } else { "—".to_string() },
            history => history,
            evidence => evidence,
            actions => actions,
            simple => simple,
            money => money,
            open => open,
        },
    )
}

#[derive(Debug, Deserialize)]
struct ActionForm {
    csrf: String,
    action: String,
    payer: Option<String>,
    payee: Option<String>,
    amount_fen: Option<String>,
}

async fn case_action(
    State(state): St,
    staff: Staff,
    Path(id): Path<i64>,
    Form(f): Form<ActionForm>,
) -> Result<Response, ConsoleError> {
    staff.check_csrf(&f.csrf)?;
    staff.require(StaffRole::Finance)?;
    let path = format!("/cases/{id}");
    let proposal = || -> Result<Proposal, String> {
        let amount = f.amount_fen.as_deref().unwrap_or("").trim();
        let amount_fen: i64 = amount
            .parse()
            .ok()
            .filter(|a: &i64| *a >= 0)
            .ok_or_else(|| format!("amount {amount:?}: a whole number of fen, 0 or more"))?;
        Ok(Proposal {
            payer: f.payer.clone().unwrap_or_default(),
            payee: f.payee.clone().unwrap_or_default(),
            amount_fen,
        })
    };
    let action = match f.action.as_str() {
        "request_evidence" => Action::RequestEvidence,
        "accept" => Action::Accept,
        "contest" => Action::Contest,
        "escalate" => Action::Escalate,
        "withdraw" => Action::Withdraw,
        "propose" => match proposal() {
            Ok(p) => Action::Propose(p),
            Err(m) => return Ok(back(&path, "error", &m)),
        },
        "arbitrate" => match proposal() {
            Ok(p) => Action::Arbitrate(p),
            Err(m) => return Ok(back(&path, "error", &m)),
        },
        other => return Err(ConsoleError::BadRequest(format!("no action {other:?}"))),
    };
    let name = action.name();
    match disputes::act(
        &state.store,
        &state.reconcile.deadlines,
        id,
        &actor(&staff),
        action,
        None,
        Timestamp::now(),
    )
    .await
    {
        Ok(c) => Ok(back(
            &path,
            "msg",
            &format!("Done: {name}; the case is {}.", c.case.stage),
        )),
        Err(CaseError::NotFound(_)) => Err(ConsoleError::NotFound(format!("no dispute case {id}"))),
        Err(CaseError::Store(e)) => Err(e.into()),
        Err(e @ (CaseError::Forbidden(_) | CaseError::Refused(_))) => {
            audit(
                &state,
                &staff.session.user.name,
                &format!("dispute.{name}"),
                &format!("case:{id}"),
                "refused",
                &e.to_string(),
            )
            .await?;
            Ok(back(&path, "error", &e.to_string()))
        }
    }
}

async fn case_evidence(
    State(state): St,
    staff: Staff,
    Path(id): Path<i64>,
    mut form: Multipart,
) -> Result<Response, ConsoleError> {
    staff.require(StaffRole::Finance)?;
    let path = format!("/cases/{id}");
    let mut csrf_ok = false;
    let mut stored = None;
    while let Some(mut field) = form
        .next_field()
        .await
        .map_err(|e| ConsoleError::BadRequest(format!("the upload: {e}")))?
    {
        match field.name() {
            Some("csrf") => {
                let v = field
                    .text()
                    .await
                    .map_err(|e| ConsoleError::BadRequest(e.to_string()))?;
                staff.check_csrf(&v)?;
                csrf_ok = true;
            }
            Some("file") if csrf_ok => {
                let name = field
                    .file_name()
                    .map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n).to_string())
                    .unwrap_or_else(|| "evidence".into());
                crate::wire::validate_name(&name).map_err(ConsoleError::BadRequest)?;
                let mut w = state
                    .vault
                    .stage()
                    .await
                    .map_err(|e| ConsoleError::Internal(e.to_string()))?;
                while let Some(chunk) = field
                    .chunk()
                    .await
                    .map_err(|e| ConsoleError::BadRequest(e.to_string()))?
                {
                    if let Err(e) = w.write_bytes(chunk, state.max_upload_bytes).await {
                        return Ok(back(&path, "error", &e.to_string()));
                    }
                }
                let staged = w
                    .finish()
                    .await
                    .map_err(|e| ConsoleError::Internal(e.to_string()))?;
                stored = Some((name, staged));
            }
            Some("file") => {
                return Err(ConsoleError::Forbidden(
                    "the CSRF token must come before the file".into(),
                ));
            }
            _ => {}
        }
    }
    let Some((name, staged)) = stored else {
        return Ok(back(&path, "error", "Choose a file."));
    };
    let (file, sha256) = disputes::store_evidence(&state.vault, staged)
        .await
        .map_err(|e| ConsoleError::Internal(e.to_string()))?;
    match disputes::act(
        &state.store,
        &state.reconcile.deadlines,
        id,
        &actor(&staff),
        Action::AddEvidence {
            name: name.clone(),
            sha256: sha256.clone(),
        },
        Some(file),
        Timestamp::now(),
    )
    .await
    {
        Ok(_) => Ok(back(
            &path,
            "msg",
            &format!("Evidence {name} added (SHA-256 {sha256})."),
        )),
        Err(CaseError::Store(e)) => Err(e.into()),
        Err(e) => Ok(back(&path, "error", &e.to_string())),
    }
}

async fn case_evidence_download(
    State(state): St,
    staff: Staff,
    Path((id, seq)): Path<(i64, usize)>,
) -> Result<Response, ConsoleError> {
    let c = state
        .store
        .case(id)
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("no dispute case {id}")))?;
    let i = seq
        .checked_sub(1)
        .ok_or_else(|| ConsoleError::NotFound("no such evidence".into()))?;
    let (Some(e), Some((stored, _))) = (c.case.evidence.get(i), c.evidence_files.get(i)) else {
        return Err(ConsoleError::NotFound(format!(
            "no evidence {seq} on case {id}"
        )));
    };
    let path = state
        .vault
        .local(stored)
        .await
        .map_err(|e| ConsoleError::Internal(e.to_string()))?;
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| ConsoleError::Internal(e.to_string()))?;
    audit(
        &state,
        &staff.session.user.name,
        "console.evidence_download",
        &format!("case:{id}"),
        "ok",
        &e.name,
    )
    .await?;
    Ok(download(
        bytes,
        "application/octet-stream",
        &e.name.replace('"', ""),
    ))
}
