//! The routing table: which clearing participant the transactions of a card issuer go to.
//! Patterns are checked by `crate::ingest::checks::RoutePattern`; the rule that picks among
//! them lives there too (pure, tested without a database).

use card_standards::Scheme;
use serde::Serialize;
use sqlx::FromRow;

use super::{Store, StoreError, StoreResult, Timestamp, is_unique_violation, on_db};

/// A route as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    /// Id.
    pub id: i64,
    /// The card scheme.
    pub scheme: Scheme,
    /// Issuer code (4 hex digits, upper case) or `*`.
    pub issuer_code: String,
    /// City code (4 digits, the card's own) or `*`.
    pub city_code: String,
    /// The clearing participant.
    pub participant: String,
    /// When it was added.
    pub created_at: Timestamp,
}

#[derive(FromRow)]
struct RouteRow {
    id: i64,
    scheme: String,
    issuer_code: String,
    city_code: String,
    participant: String,
    created_at: Timestamp,
}

impl TryFrom<RouteRow> for Route {
    type Error = StoreError;
    fn try_from(r: RouteRow) -> StoreResult<Route> {
        Ok(Route {
            id: r.id,
            scheme: r
                .scheme
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("routes.scheme {}", r.scheme)))?,
            issuer_code: r.issuer_code,
            city_code: r.city_code,
            participant: r.participant,
            created_at: r.created_at,
        })
    }
}

impl Store {
    /// Adds a route. The same (scheme, issuer, city) again is [`StoreError::Duplicate`]; an
    /// unknown participant [`StoreError::NotFound`].
    pub async fn add_route(
        &self,
        scheme: Scheme,
        issuer_code: &str,
        city_code: &str,
        participant: &str,
    ) -> StoreResult<Route> {
        if self.participant(participant).await?.is_none() {
            return Err(StoreError::NotFound(format!("participant {participant}")));
        }
        let now = Timestamp::now();
        let row: Result<RouteRow, sqlx::Error> = on_db!(self, pool => {
            sqlx::query_as(
                "INSERT INTO routes (scheme, issuer_code, city_code, participant, created_at) \
                 VALUES ($1, $2, $3, $4, $5) \
                 RETURNING id, scheme, issuer_code, city_code, participant, created_at",
            )
            .bind(scheme.as_str())
            .bind(issuer_code)
            .bind(city_code)
            .bind(participant)
            .bind(now)
            .fetch_one(pool)
            .await
        });
        match row {
            Ok(r) => r.try_into(),
            Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate(format!(
                "a route for {scheme} issuer {issuer_code} city {city_code}"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes a route; false if there was none.
    pub async fn remove_route(
        &self,
        scheme: Scheme,
        issuer_code: &str,
        city_code: &str,
    ) -> StoreResult<bool> {
        let n = on_db!(self, pool => {
            sqlx::query("DELETE FROM routes WHERE scheme = $1 AND issuer_code = $2 AND city_code = $3")
                .bind(scheme.as_str())
                .bind(issuer_code)
                .bind(city_code)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Every route, by scheme, issuer and city.
    pub async fn routes(&self) -> StoreResult<Vec<Route>> {
        let rows: Vec<RouteRow> = on_db!(self, pool => {
            sqlx::query_as(
                "SELECT id, scheme, issuer_code, city_code, participant, created_at FROM routes \
                 ORDER BY scheme, issuer_code, city_code",
            )
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(Route::try_from).collect()
    }
}
