//! Discrepancies: what reconciliation found, their status, filters and updates.

use super::*;

/// Where a discrepancy is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscrepancyStatus {
    /// Found; no rule has decided it yet.
    Open,
    /// Kept for review, no money (rule `monitor`).
    Monitoring,
    /// The record was re-sent to the partner; its next results answer it.
    Resent,
    /// Decided with an adjustment that has not cleared yet.
    Resolved,
    /// A dispute case is open.
    Disputed,
    /// Done: the adjustment cleared, or nothing was to be paid.
    Closed,
}

impl DiscrepancyStatus {
    /// Every status.
    pub const ALL: [DiscrepancyStatus; 6] = [
        DiscrepancyStatus::Open,
        DiscrepancyStatus::Monitoring,
        DiscrepancyStatus::Resent,
        DiscrepancyStatus::Resolved,
        DiscrepancyStatus::Disputed,
        DiscrepancyStatus::Closed,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DiscrepancyStatus::Open => "open",
            DiscrepancyStatus::Monitoring => "monitoring",
            DiscrepancyStatus::Resent => "resent",
            DiscrepancyStatus::Resolved => "resolved",
            DiscrepancyStatus::Disputed => "disputed",
            DiscrepancyStatus::Closed => "closed",
        }
    }
}

impl std::fmt::Display for DiscrepancyStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for DiscrepancyStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        DiscrepancyStatus::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown status {s:?}: expected open, monitoring, resent, resolved, disputed or closed"
                )
            })
    }
}

/// A discrepancy as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Discrepancy {
    /// Id.
    pub id: i64,
    /// Type (`missing_at_partner`, …).
    #[serde(rename = "type")]
    pub kind: reconciliation::DiscrepancyType,
    /// The settlement day whose reconciliation found it.
    pub day: NaiveDate,
    /// Status.
    pub status: DiscrepancyStatus,
    /// Participants involved.
    pub participants: Vec<String>,
    /// Acquirer, when one.
    pub acquirer: Option<String>,
    /// Issuer-side participant, when known.
    pub issuer: Option<String>,
    /// Direction of the transaction's money.
    pub flow: Option<reconciliation::Flow>,
    /// Card scheme, when known (dispute deadlines).
    pub scheme: Option<String>,
    /// Records involved.
    pub records: Vec<i64>,
    /// Files involved (inbound transaction files, result files).
    pub files: Vec<i64>,
    /// Amount at stake, fen.
    pub amount_fen: i64,
    /// Words.
    pub detail: String,
    /// The rule that decided it.
    pub rule: Option<String>,
    /// `adjust`, `resend`, `monitor`, `dispute`, or how a person closed it.
    pub decision: Option<String>,
    /// The adjustment that settles it.
    pub adjustment_ref: Option<String>,
    /// The dispute case.
    pub case_id: Option<i64>,
    /// The resend file.
    pub resend_file_id: Option<i64>,
    /// What resolved it, in words.
    pub resolution: Option<String>,
    /// When found.
    pub found_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// When closed.
    pub closed_at: Option<Timestamp>,
}

impl Discrepancy {
    /// The finding it was stored from (for the resolution rules).
    pub fn finding(&self) -> reconciliation::Finding {
        reconciliation::Finding {
            kind: self.kind,
            participants: self.participants.clone(),
            acquirer: self.acquirer.clone(),
            issuer: self.issuer.clone(),
            flow: self.flow,
            records: self.records.clone(),
            amount_fen: self.amount_fen,
            detail: self.detail.clone(),
        }
    }
}

#[derive(sqlx::FromRow)]
struct DiscrepancyRow {
    id: i64,
    #[sqlx(rename = "type")]
    kind: String,
    day: String,
    status: String,
    participants: String,
    acquirer: Option<String>,
    issuer: Option<String>,
    flow: Option<String>,
    scheme: Option<String>,
    records: String,
    files: String,
    amount_fen: i64,
    detail: String,
    rule: Option<String>,
    decision: Option<String>,
    adjustment_ref: Option<String>,
    case_id: Option<i64>,
    resend_file_id: Option<i64>,
    resolution: Option<String>,
    found_at: Timestamp,
    updated_at: Timestamp,
    closed_at: Option<Timestamp>,
}

impl TryFrom<DiscrepancyRow> for Discrepancy {
    type Error = StoreError;
    fn try_from(r: DiscrepancyRow) -> StoreResult<Discrepancy> {
        Ok(Discrepancy {
            id: r.id,
            kind: r
                .kind
                .parse()
                .map_err(|e| corrupt("discrepancies.type", e))?,
            day: parse_day(&r.day)?,
            status: r
                .status
                .parse()
                .map_err(|e| corrupt("discrepancies.status", e))?,
            participants: serde_json::from_str(&r.participants)
                .map_err(|e| corrupt("discrepancies.participants", e))?,
            acquirer: r.acquirer,
            issuer: r.issuer,
            flow: r
                .flow
                .map(|f| f.parse())
                .transpose()
                .map_err(|e| corrupt("discrepancies.flow", e))?,
            scheme: r.scheme,
            records: serde_json::from_str(&r.records)
                .map_err(|e| corrupt("discrepancies.records", e))?,
            files: serde_json::from_str(&r.files).map_err(|e| corrupt("discrepancies.files", e))?,
            amount_fen: r.amount_fen,
            detail: r.detail,
            rule: r.rule,
            decision: r.decision,
            adjustment_ref: r.adjustment_ref,
            case_id: r.case_id,
            resend_file_id: r.resend_file_id,
            resolution: r.resolution,
            found_at: r.found_at,
            updated_at: r.updated_at,
            closed_at: r.closed_at,
        })
    }
}

const DISCREPANCY_COLUMNS: &str = "d.id, d.type, d.day, d.status, d.participants, d.acquirer, d.issuer, d.flow, d.scheme, d.records, d.files, d.amount_fen, d.detail, d.rule, d.decision, d.adjustment_ref, d.case_id, d.resend_file_id, d.resolution, d.found_at, d.updated_at, d.closed_at";

/// A discrepancy to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDiscrepancy {
    /// What makes it the same difference when found again.
    pub fingerprint: String,
    /// The settlement day.
    pub day: NaiveDate,
    /// The finding.
    pub finding: reconciliation::Finding,
    /// Card scheme, when known.
    pub scheme: Option<String>,
    /// Files involved.
    pub files: Vec<i64>,
}

/// Stores a discrepancy unless one with the same fingerprint exists; returns the new id.
pub async fn insert_discrepancy(
    tx: &mut Tx,
    d: &NewDiscrepancy,
    now: Timestamp,
) -> StoreResult<Option<i64>> {
    let f = &d.finding;
    let participants = serde_json::to_string(&f.participants).unwrap_or_else(|_| "[]".into());
    let records = serde_json::to_string(&f.records).unwrap_or_else(|_| "[]".into());
    let files = serde_json::to_string(&d.files).unwrap_or_else(|_| "[]".into());
    let id: Option<i64> = on_tx!(tx, conn => sqlx::query_scalar(concat!(
        "INSERT INTO discrepancies (fingerprint, type, day, status, participants, acquirer, issuer, flow, scheme, records, files, ",
        "amount_fen, detail, found_at, updated_at) VALUES ($1, $2, $3, 'open', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) ",
        "ON CONFLICT (fingerprint) DO NOTHING RETURNING id"))
        .bind(&d.fingerprint).bind(f.kind.as_str()).bind(day_text(d.day)).bind(&participants)
        .bind(&f.acquirer).bind(&f.issuer).bind(f.flow.map(|x| x.as_str())).bind(&d.scheme)
        .bind(&records).bind(&files).bind(f.amount_fen.max(0)).bind(&f.detail).bind(now)
        .fetch_optional(&mut *conn).await?);
    if let Some(id) = id {
        for p in f.participants.iter().collect::<BTreeSet<_>>() {
            on_tx!(tx, conn => sqlx::query("INSERT INTO discrepancy_participants (discrepancy_id, participant) VALUES ($1, $2)")
                .bind(id).bind(p).execute(&mut *conn).await.map(|_| ())?);
        }
    }
    Ok(id)
}

/// How a discrepancy was decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiscrepancyUpdate {
    /// The rule (`chargeback_to_acquirer`, …) or `None` to keep.
    pub rule: Option<String>,
    /// `adjust`, `resend`, `monitor`, `dispute`, `closed_by_hand`…
    pub decision: Option<String>,
    /// The adjustment reference.
    pub adjustment_ref: Option<String>,
    /// The dispute case.
    pub case_id: Option<i64>,
    /// The resend file.
    pub resend_file_id: Option<i64>,
    /// What resolved it, in words.
    pub resolution: Option<String>,
}

/// Moves a discrepancy from `from` to `to` (compare-and-set), filling the given fields (a
/// `None` keeps the stored value). False when it was not in `from`.
pub async fn update_discrepancy(
    tx: &mut Tx,
    id: i64,
    from: &[DiscrepancyStatus],
    to: DiscrepancyStatus,
    u: &DiscrepancyUpdate,
    now: Timestamp,
) -> StoreResult<bool> {
    let allowed: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    let placeholders: Vec<String> = (0..allowed.len()).map(|i| format!("${}", i + 10)).collect();
    let sql = format!(
        "UPDATE discrepancies SET status = $1, rule = COALESCE($2, rule), decision = COALESCE($3, decision), \
         adjustment_ref = COALESCE($4, adjustment_ref), case_id = COALESCE($5, case_id), \
         resend_file_id = COALESCE($6, resend_file_id), resolution = COALESCE($7, resolution), updated_at = $8, \
         closed_at = CASE WHEN $1 = 'closed' THEN $8 ELSE closed_at END WHERE id = $9 AND status IN ({})",
        placeholders.join(", ")
    );
    let n = on_tx!(tx, conn => {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(to.as_str()).bind(&u.rule).bind(&u.decision).bind(&u.adjustment_ref).bind(u.case_id)
            .bind(u.resend_file_id).bind(&u.resolution).bind(now).bind(id);
        for s in &allowed {
            q = q.bind(*s);
        }
        q.execute(&mut *conn).await?.rows_affected()
    });
    Ok(n == 1)
}

/// Filters of the discrepancy queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiscrepancyFilter {
    /// One settlement day.
    pub day: Option<NaiveDate>,
    /// One type.
    pub kind: Option<reconciliation::DiscrepancyType>,
    /// One status.
    pub status: Option<DiscrepancyStatus>,
    /// Involving this participant.
    pub participant: Option<String>,
    /// At most this many (newest first when set; all, oldest first, when not).
    pub limit: Option<i64>,
}

impl Store {
    /// Discrepancies matching `filter`, by id.
    pub async fn discrepancies(&self, filter: &DiscrepancyFilter) -> StoreResult<Vec<Discrepancy>> {
        let mut sql = format!("SELECT {DISCREPANCY_COLUMNS} FROM discrepancies d");
        let mut binds: Vec<String> = Vec::new();
        let mut wheres: Vec<String> = Vec::new();
        if let Some(p) = &filter.participant {
            binds.push(p.clone());
            sql.push_str(&format!(
                " JOIN discrepancy_participants dp ON dp.discrepancy_id = d.id AND dp.participant = ${}",
                binds.len()
            ));
        }
        if let Some(day) = filter.day {
            binds.push(day_text(day));
            wheres.push(format!("d.day = ${}", binds.len()));
        }
        if let Some(k) = filter.kind {
            binds.push(k.as_str().into());
            wheres.push(format!("d.type = ${}", binds.len()));
        }
        if let Some(s) = filter.status {
            binds.push(s.as_str().into());
            wheres.push(format!("d.status = ${}", binds.len()));
        }
        if !wheres.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&wheres.join(" AND "));
        }
        match filter.limit {
            Some(n) => sql.push_str(&format!(" ORDER BY d.id DESC LIMIT {}", n.max(0))),
            None => sql.push_str(" ORDER BY d.id"),
        }
        let rows: Vec<DiscrepancyRow> = on_db!(self, pool => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
            for b in &binds {
                q = q.bind(b.clone());
            }
            q.fetch_all(pool).await?
        });
        rows.into_iter().map(Discrepancy::try_from).collect()
    }

    /// One discrepancy.
    pub async fn discrepancy(&self, id: i64) -> StoreResult<Option<Discrepancy>> {
        let sql = format!("SELECT {DISCREPANCY_COLUMNS} FROM discrepancies d WHERE d.id = $1");
        let row: Option<DiscrepancyRow> = on_db!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?);
        row.map(Discrepancy::try_from).transpose()
    }

    /// Counts of discrepancies per (type, status) for a day (every day when `None`).
    pub async fn discrepancy_counts(
        &self,
        day: Option<NaiveDate>,
    ) -> StoreResult<Vec<(String, String, i64, i64)>> {
        let rows: Vec<(String, String, i64, i64)> = match day {
            Some(d) => on_db!(self, pool => sqlx::query_as(
                "SELECT type, status, COUNT(*), CAST(SUM(amount_fen) AS BIGINT) FROM discrepancies WHERE day = $1 GROUP BY type, status ORDER BY type, status")
                .bind(day_text(d)).fetch_all(pool).await?),
            None => on_db!(self, pool => sqlx::query_as(
                "SELECT type, status, COUNT(*), CAST(SUM(amount_fen) AS BIGINT) FROM discrepancies GROUP BY type, status ORDER BY type, status")
                .fetch_all(pool).await?),
        };
        Ok(rows)
    }

    /// The days that have discrepancies or closed windows, newest first.
    pub async fn reconciliation_days(&self, limit: i64) -> StoreResult<Vec<NaiveDate>> {
        let rows: Vec<String> = on_db!(self, pool => sqlx::query_scalar(
            "SELECT day FROM (SELECT day FROM discrepancies UNION SELECT day FROM windows) d ORDER BY day DESC LIMIT $1")
            .bind(limit).fetch_all(pool).await?);
        rows.iter().map(|d| parse_day(d)).collect()
    }

    /// The window an adjustment cleared in: `None` when no such adjustment, `Some(None)` when
    /// it has not cleared yet.
    pub async fn adjustment_window(&self, reference: &str) -> StoreResult<Option<Option<String>>> {
        let row: Option<Option<String>> = on_db!(self, pool => sqlx::query_scalar(
            "SELECT window_day FROM adjustments WHERE reference = $1")
            .bind(reference).fetch_optional(pool).await?);
        Ok(row)
    }

    /// Resolved discrepancies whose adjustment has cleared in a closed window: `(id,
    /// reference, window day)`.
    pub async fn cleared_resolutions(&self) -> StoreResult<Vec<(i64, String, String)>> {
        let rows: Vec<(i64, String, String)> = on_db!(self, pool => sqlx::query_as(concat!(
            "SELECT d.id, a.reference, a.window_day FROM discrepancies d JOIN adjustments a ON a.reference = d.adjustment_ref ",
            "JOIN windows w ON w.day = a.window_day WHERE d.status = 'resolved' ORDER BY d.id"))
            .fetch_all(pool).await?);
        Ok(rows)
    }
}
