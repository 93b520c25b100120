//! The record checks of ingest, pure: no I/O, no clock (the file's receipt time is passed in),
//! so that every rule is unit-tested directly.
//!
//! A transaction that the adapter could read is checked in this order, and the first failure
//! is its one reason code:
//!
//! 1. `R07` its type byte is not a transaction kind the hub clears (`tx_type`);
//! 2. `R05` its amount is out of the scheme's range ([`AmountLimits`]);
//! 3. `R06` its time is outside the acceptance window ([`AcceptanceWindow`]);
//! 4. `R01` no route for its card's issuer ([`Router`]);
//! 5. `R07` the participant its issuer routes to receives its outbound package in a format that
//!    cannot carry the record ([`PackageFormats`]): the record would be charged to an issuer
//!    that never receives it, so it is refused here, where the route is known, not at packaging;
//! 6. `R02` its TAC does not verify, where the hub holds the issuer's key;
//! 7. `R04` its card was blacklisted at the transaction's time ([`BlacklistIndex`]).
//!
//! `R03` (a duplicate of an accepted record) is decided by the database's unique natural key
//! when the record is stored, after all of these. Cheap, syntactic checks come first; the TAC
//! before the blacklist, so that a forged record is reported as forged.

use std::collections::HashMap;
use std::sync::Arc;

use adapters::{Action, CarryCheck, Entry, Format};
use card_standards::crypto::Algorithm;
use card_standards::{
    CanonicalTx, CardSerial, CityCode, IssuerCode, IssuerId, Scheme, TacCheck, TxKind,
};
use chrono::{DateTime, NaiveDateTime, Utc};

use super::keys::IssuerKeys;
use crate::settings::HubSettings;
use crate::store::TacStatus;

/// A reason code: `F..` rejects a whole file, `R..` one record. The workspace's one reason-code
/// type, shared with the adapters' errors ([`adapters::Error::reason_code`]).
pub use adapters::ReasonCode as Code;

/// Why a record (or a file) is rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The reason code.
    pub code: Code,
    /// The field at fault, where there is one.
    pub field: Option<String>,
    /// Why, in words (never a key).
    pub reason: String,
    /// The record it is about, where the file-level problem is at one.
    pub record: Option<u64>,
}

impl Rejection {
    /// A rejection.
    pub fn new(code: Code, field: Option<&str>, reason: impl Into<String>) -> Rejection {
        Rejection {
            code,
            field: field.map(str::to_string),
            reason: reason.into(),
            record: None,
        }
    }

    /// The rejection an adapter error stands for (its reason code, field and message).
    pub fn of_adapter(e: &adapters::Error) -> Rejection {
        Rejection {
            code: e.reason_code().unwrap_or(Code::F01),
            field: e.field().map(str::to_string),
            reason: e.to_string(),
            record: e.record(),
        }
    }
}

/// A scheme's amount limits, in fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmountLimit {
    /// The largest purchase (or other debit); purchases may be 0 (a metro entry).
    pub max_debit_fen: i64,
    /// The largest load; a load is at least 1 fen.
    pub max_load_fen: i64,
}

/// Amount limits per scheme. Default for every scheme: debits 0 to 100 000 fen and loads 1 to
/// 100 000 fen (¥1 000, the balance cap of the ED/EP purse of all four schemes and the
/// single-transaction cap of PBOC e-cash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmountLimits(pub [AmountLimit; 4]);

impl Default for AmountLimits {
    fn default() -> AmountLimits {
        AmountLimits(
            [AmountLimit {
                max_debit_fen: 100_000,
                max_load_fen: 100_000,
            }; 4],
        )
    }
}

fn scheme_index(s: Scheme) -> usize {
    match s {
        Scheme::Local => 0,
        Scheme::Mohurd => 1,
        Scheme::Mot => 2,
        Scheme::Pboc => 3,
    }
}

impl AmountLimits {
    /// The limit of a scheme.
    pub fn of(&self, s: Scheme) -> AmountLimit {
        self.0[scheme_index(s)]
    }

    /// Sets the limit of a scheme.
    pub fn set(&mut self, s: Scheme, l: AmountLimit) {
        self.0[scheme_index(s)] = l;
    }

    /// `R05` when the amount is out of the scheme's range for the transaction's kind.
    pub fn check(&self, tx: &CanonicalTx) -> Result<(), Rejection> {
        let l = self.of(tx.scheme);
        let (min, max, what) = match tx.kind() {
            TxKind::Load => (1, l.max_load_fen, "a load"),
            _ => (0, l.max_debit_fen, "a debit"),
        };
        if tx.amount_fen < min || tx.amount_fen > max {
            return Err(Rejection::new(
                Code::R05,
                Some("amount_fen"),
                format!(
                    "{} fen is out of range for {what} on a {} card ({min} to {max} fen)",
                    tx.amount_fen, tx.scheme
                ),
            ));
        }
        Ok(())
    }
}

/// One side of a route: an exact code or `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoutePattern {
    /// The issuer code, `None` for `*`.
    pub issuer: Option<IssuerCode>,
    /// The city code, `None` for `*`.
    pub city: Option<CityCode>,
}

impl RoutePattern {
    /// Parses `--issuer CODE|*` (4 hex digits) and `--city CODE|*` (4 decimal digits, the
    /// card's own city code).
    pub fn parse(issuer: &str, city: &str) -> Result<RoutePattern, String> {
        let issuer = match issuer {
            "*" => None,
            s if s.len() == 4 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Some(s.parse().map_err(|_| format!("issuer {s:?}"))?)
            }
            s => return Err(format!("issuer {s:?}: expected 4 hex digits or *")),
        };
        let city = match city {
            "*" => None,
            s if s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()) => {
                Some(s.parse().map_err(|_| format!("city {s:?}"))?)
            }
            s => return Err(format!("city {s:?}: expected 4 decimal digits or *")),
        };
        Ok(RoutePattern { issuer, city })
    }

    /// The issuer as stored: upper-case hex or `*`.
    pub fn issuer_text(&self) -> String {
        self.issuer.map_or("*".into(), |c| c.to_string())
    }

    /// The city as stored: digits or `*`.
    pub fn city_text(&self) -> String {
        self.city.map_or("*".into(), |c| c.to_string())
    }
}

/// The routing table in memory: (scheme, pattern) → the clearing participant.
///
/// **The most specific route wins**: an exact issuer and city; else the exact issuer with any
/// city; else any issuer with the exact city; else the scheme's catch-all (`*`, `*`). Issuer
/// outranks city when only one of them is exact (an issuer clears its cards wherever they
/// were issued, a city route is a fallback). Since a (scheme, issuer, city) pattern is unique
/// in the table, there are no other ties.
#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: HashMap<(Scheme, RoutePattern), Arc<str>>,
}

impl Router {
    /// Adds a route (a later one for the same pattern replaces the earlier).
    pub fn add(&mut self, scheme: Scheme, pattern: RoutePattern, participant: &str) {
        self.routes
            .insert((scheme, pattern), Arc::from(participant));
    }

    /// Builds the table from stored rows `(scheme, issuer, city, participant)`; a row that
    /// does not parse is skipped and named in the second value.
    pub fn from_rows(rows: &[(String, String, String, String)]) -> (Router, Vec<String>) {
        let mut r = Router::default();
        let mut bad = Vec::new();
        for (scheme, issuer, city, participant) in rows {
            match (scheme.parse::<Scheme>(), RoutePattern::parse(issuer, city)) {
                (Ok(s), Ok(p)) => r.add(s, p, participant),
                _ => bad.push(format!("{scheme} {issuer} {city} → {participant}")),
            }
        }
        (r, bad)
    }

    /// The participant that clears the cards of `issuer`, by the rule above.
    pub fn resolve(&self, scheme: Scheme, issuer: IssuerId) -> Option<&Arc<str>> {
        let i = Some(issuer.issuer_code);
        let c = Some(issuer.city_code);
        [(i, c), (i, None), (None, c), (None, None)]
            .into_iter()
            .find_map(|(issuer, city)| self.routes.get(&(scheme, RoutePattern { issuer, city })))
    }

    /// How many routes there are.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

/// A card as the blacklist knows it.
pub type CardKey = (Scheme, IssuerId, CardSerial);

/// One change of a card's listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// From when.
    pub effective: NaiveDateTime,
    /// Order of arrival (ties of `effective` go to the later).
    pub order: i64,
    /// Add or remove.
    pub action: Action,
    /// Why.
    pub reason: String,
    /// The file it came in.
    pub file_id: i64,
}

/// The merged blacklist: per card its changes, ordered by `effective` then arrival.
#[derive(Debug, Clone, Default)]
pub struct BlacklistIndex {
    cards: HashMap<CardKey, Vec<Listing>>,
}

impl BlacklistIndex {
    /// The card key of an entry.
    pub fn key(e: &Entry) -> CardKey {
        (e.scheme, e.issuer, e.card)
    }

    /// Adds a change (arriving after every change added before); returns whether it changed
    /// the card's state (its latest listing and whether it is blacklisted).
    pub fn add(&mut self, e: &Entry, order: i64, file_id: i64) -> bool {
        let list = self.cards.entry(BlacklistIndex::key(e)).or_default();
        let before = list.last().map(|l| l.action);
        let listing = Listing {
            effective: e.effective,
            order,
            action: e.action,
            reason: e.reason.clone(),
            file_id,
        };
        let at = list.partition_point(|l| (l.effective, l.order) <= (e.effective, order));
        list.insert(at, listing);
        let latest = at == list.len() - 1;
        let was_listed = before == Some(Action::Add);
        latest && (e.action == Action::Add) != was_listed
    }

    /// The listing in force for a card at time `t` (the latest change effective at or before
    /// `t`), if any.
    pub fn at(&self, card: &CardKey, t: NaiveDateTime) -> Option<&Listing> {
        let list = self.cards.get(card)?;
        let n = list.partition_point(|l| l.effective <= t);
        n.checked_sub(1).map(|i| &list[i])
    }

    /// Whether the card was blacklisted at `t`.
    pub fn blacklisted_at(&self, card: &CardKey, t: NaiveDateTime) -> Option<&Listing> {
        self.at(card, t).filter(|l| l.action == Action::Add)
    }

    /// Cards with at least one listing.
    pub fn cards(&self) -> usize {
        self.cards.len()
    }
}

/// The format each issuer-side participant's outbound package is written in
/// ([`crate::outbound::package_format`]). A record charged to a participant must be one that
/// format can carry (`R07`); the hub's own issuer side and on-us records (issuer side = the
/// acquirer) go into no package and are not checked.
#[derive(Debug, Clone, Default)]
pub struct PackageFormats {
    hub: String,
    formats: HashMap<Arc<str>, Format>,
}

impl PackageFormats {
    /// The formats of `participants` (code, package format); `hub` gets no package.
    pub fn new(hub: &str, participants: impl IntoIterator<Item = (String, Format)>) -> Self {
        PackageFormats {
            hub: hub.to_string(),
            formats: participants
                .into_iter()
                .map(|(code, f)| (Arc::from(code), f))
                .collect(),
        }
    }

    /// The package format that carries a record charged to `issuer` and acquired by
    /// `acquirer`: `None` when no package carries it (on-us, or the hub's own side), or when
    /// `issuer` is not a registered participant (the caller reports that).
    pub fn carrying(&self, issuer: &str, acquirer: &str) -> Option<Format> {
        if issuer == self.hub || issuer == acquirer {
            return None;
        }
        self.formats.get(issuer).copied()
    }
}

/// What a record that passed every check is stored with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The clearing participant its card's issuer routes to.
    pub issuer_participant: Arc<str>,
    /// What became of its TAC.
    pub tac: TacStatus,
}

/// Everything the checks of one file need, fixed for the file.
#[derive(Debug, Clone)]
pub struct Checker {
    /// Earliest acceptable transaction time.
    pub earliest: NaiveDateTime,
    /// Latest acceptable transaction time.
    pub latest: NaiveDateTime,
    /// Amount limits.
    pub limits: AmountLimits,
    /// Routes.
    pub router: Router,
    /// Issuer keys.
    pub keys: Arc<IssuerKeys>,
    /// The blacklist.
    pub blacklist: BlacklistIndex,
    /// The issuer sides' package formats (`R07`).
    pub packages: PackageFormats,
}

fn local_text(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

impl Checker {
    /// A checker for a file received at `received`, with the acceptance window of `hub`.
    pub fn new(
        hub: &HubSettings,
        received: DateTime<Utc>,
        limits: AmountLimits,
        router: Router,
        keys: Arc<IssuerKeys>,
        blacklist: BlacklistIndex,
        packages: PackageFormats,
    ) -> Checker {
        let (earliest, latest) = hub.acceptance_bounds(received);
        Checker {
            earliest,
            latest,
            limits,
            router,
            keys,
            blacklist,
            packages,
        }
    }

    /// Checks one transaction (see the module documentation for the order). `carry` answers
    /// whether a package format can carry it; the caller keeps one for the whole file.
    pub fn check(
        &self,
        tx: &CanonicalTx,
        carry: &mut CarryCheck<'_>,
    ) -> Result<Verdict, Rejection> {
        if tx.kind() == TxKind::Other {
            return Err(Rejection::new(
                Code::R07,
                Some("tx_type"),
                format!(
                    "transaction type {:02X} is not one the hub clears (loads, purchases, \
                     unloads, withdrawals, overdraft updates)",
                    tx.tx_type.0
                ),
            ));
        }
        self.limits.check(tx)?;
        if tx.tx_time < self.earliest || tx.tx_time > self.latest {
            return Err(Rejection::new(
                Code::R06,
                Some("tx_time"),
                format!(
                    "transaction time {} is outside the acceptance window {} to {} of this file",
                    local_text(tx.tx_time),
                    local_text(self.earliest),
                    local_text(self.latest)
                ),
            ));
        }
        let Some(participant) = self.router.resolve(tx.scheme, tx.issuer) else {
            return Err(Rejection::new(
                Code::R01,
                Some("issuer"),
                format!(
                    "no route for {} cards of issuer {} city {}",
                    tx.scheme, tx.issuer.issuer_code, tx.issuer.city_code
                ),
            ));
        };
        self.carried(tx, participant, carry)?;
        let tac = self.tac(tx)?;
        if let Some(l) = self
            .blacklist
            .blacklisted_at(&(tx.scheme, tx.issuer, tx.card_serial), tx.tx_time)
        {
            return Err(Rejection::new(
                Code::R04,
                Some("card_serial"),
                format!(
                    "card {} was blacklisted at the transaction time {} (since {}, {:?}, \
                     blacklist file {})",
                    tx.card_serial,
                    local_text(tx.tx_time),
                    local_text(l.effective),
                    l.reason,
                    l.file_id
                ),
            ));
        }
        Ok(Verdict {
            issuer_participant: participant.clone(),
            tac,
        })
    }

    /// `R07` when `participant`'s package format cannot carry `tx` (step 5).
    fn carried(
        &self,
        tx: &CanonicalTx,
        participant: &str,
        carry: &mut CarryCheck<'_>,
    ) -> Result<(), Rejection> {
        let Some(format) = self.packages.carrying(participant, &tx.acceptance.acquirer) else {
            return Ok(());
        };
        match carry.check(format, tx) {
            Ok(()) => Ok(()),
            Err(adapters::Error::CannotCarry { field, reason, .. }) => Err(Rejection::new(
                Code::R07,
                Some(field),
                format!(
                    "{} cards of issuer {} route to {participant}, whose outbound package is {}, \
                     which cannot carry this record's {field}: {reason}",
                    tx.scheme,
                    tx.issuer.issuer_code,
                    format.as_str()
                ),
            )),
            Err(e) => Err(Rejection::new(
                Code::R07,
                None,
                format!("{participant}'s package format {}: {e}", format.as_str()),
            )),
        }
    }

    fn tac(&self, tx: &CanonicalTx) -> Result<TacStatus, Rejection> {
        let Some(key) = self.keys.get(tx.scheme, tx.issuer) else {
            return Ok(if tx.tac.is_some() {
                TacStatus::Unverified
            } else {
                TacStatus::NotApplicable
            });
        };
        if tx.tac.is_none() {
            return Ok(TacStatus::NotApplicable);
        }
        if Algorithm::from_alg_id(tx.alg_id).ok() != Some(key.algorithm()) {
            return Err(Rejection::new(
                Code::R02,
                Some("alg_id"),
                format!(
                    "the record says algorithm {:02X} but the issuer's cards use {} (algId {:02X}): \
                     the TAC cannot verify",
                    tx.alg_id,
                    key.algorithm(),
                    key.algorithm().alg_id()
                ),
            ));
        }
        match tx.check_tac(key) {
            Ok(TacCheck::Valid) => Ok(TacStatus::Valid),
            Ok(TacCheck::NotApplicable) => Ok(TacStatus::NotApplicable),
            Ok(TacCheck::Invalid) => Err(Rejection::new(
                Code::R02,
                Some("tac"),
                format!(
                    "TAC {} does not verify with the issuer's master TAC key",
                    tx.tac.map(|t| t.to_string()).unwrap_or_default()
                ),
            )),
            Err(e) => Err(Rejection::new(Code::R05, Some("amount_fen"), e.to_string())),
        }
    }

    /// Checks one blacklist entry from `sender`: its card's issuer must route to the sender
    /// (only the clearing participant of an issuer's cards may list them), else `R01`.
    pub fn check_entry(&self, e: &Entry, sender: &str) -> Result<(), Rejection> {
        match self.router.resolve(e.scheme, e.issuer) {
            None => Err(Rejection::new(
                Code::R01,
                Some("issuer"),
                format!(
                    "no route for {} cards of issuer {} city {}",
                    e.scheme, e.issuer.issuer_code, e.issuer.city_code
                ),
            )),
            Some(p) if &**p != sender => Err(Rejection::new(
                Code::R01,
                Some("issuer"),
                format!(
                    "{} cards of issuer {} city {} route to {p}, not to the sender {sender}: only \
                     their clearing participant may blacklist them",
                    e.scheme, e.issuer.issuer_code, e.issuer.city_code
                ),
            )),
            Some(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use card_standards::CodeTables;
    use chrono::Duration;

    fn sample(scheme: Scheme) -> CanonicalTx {
        adapters::sample::records(CodeTables::builtin())
            .into_iter()
            .find(|t| t.scheme == scheme && t.tac.is_some())
            .unwrap()
    }

    fn carry() -> CarryCheck<'static> {
        CarryCheck::new(CodeTables::builtin())
    }

    fn received() -> DateTime<Utc> {
        // 2026-11-22 01:00 in China.
        "2026-11-21T17:00:00Z".parse().unwrap()
    }

    fn router_for(tx: &CanonicalTx) -> Router {
        let mut r = Router::default();
        r.add(
            tx.scheme,
            RoutePattern {
                issuer: Some(tx.issuer.issuer_code),
                city: None,
            },
            "ISSUER",
        );
        r
    }

    fn checker(tx: &CanonicalTx, keys: IssuerKeys) -> Checker {
        Checker::new(
            &HubSettings::default(),
            received(),
            AmountLimits::default(),
            router_for(tx),
            Arc::new(keys),
            BlacklistIndex::default(),
            PackageFormats::default(),
        )
    }

    fn sample_keys() -> IssuerKeys {
        let mut text = String::new();
        for (s, i, c, alg, mtk) in adapters::sample::SAMPLE_KEYS {
            text.push_str(&format!(
                "[[issuer]]\nscheme = \"{s}\"\nissuer = \"{i}\"\ncity = \"{c}\"\nalg = \"{}\"\nmtk = \"{mtk}\"\n",
                alg.as_str()
            ));
        }
        IssuerKeys::from_toml(&text, "keys.toml").unwrap()
    }

    #[test]
    fn a_genuine_record_passes_with_its_route_and_a_valid_tac() {
        let tx = sample(Scheme::Local);
        let v = checker(&tx, sample_keys())
            .check(&tx, &mut carry())
            .unwrap();
        assert_eq!(&*v.issuer_participant, "ISSUER");
        assert_eq!(v.tac, TacStatus::Valid);
        // Without the issuer's keys it passes unverified.
        let v = checker(&tx, IssuerKeys::default())
            .check(&tx, &mut carry())
            .unwrap();
        assert_eq!(v.tac, TacStatus::Unverified);
    }

    #[test]
    fn a_changed_amount_breaks_the_tac_r02() {
        let mut tx = sample(Scheme::Mot);
        tx.amount_fen += 1;
        let e = checker(&tx, sample_keys())
            .check(&tx, &mut carry())
            .unwrap_err();
        assert_eq!(e.code, Code::R02);
        assert_eq!(e.field.as_deref(), Some("tac"));
        // The wrong algorithm id cannot verify either, and says so.
        let mut tx = sample(Scheme::Mot);
        tx.alg_id = 0;
        let e = checker(&tx, sample_keys())
            .check(&tx, &mut carry())
            .unwrap_err();
        assert_eq!((e.code, e.field.as_deref()), (Code::R02, Some("alg_id")));
    }

    #[test]
    fn the_window_is_thirty_days_back_and_nothing_ahead_by_default() {
        let tx0 = sample(Scheme::Local);
        let c = checker(&tx0, IssuerKeys::default());
        let local_receipt = HubSettings::default().local_time(received());
        for (t, ok) in [
            (local_receipt, true),
            (local_receipt + Duration::seconds(1), false),
            (local_receipt - Duration::days(30), true),
            (
                local_receipt - Duration::days(30) - Duration::seconds(1),
                false,
            ),
        ] {
            let mut tx = tx0.clone();
            tx.tx_time = t;
            let r = c.check(&tx, &mut carry());
            assert_eq!(r.is_ok(), ok, "{t}: {r:?}");
            if let Err(e) = r {
                assert_eq!((e.code, e.field.as_deref()), (Code::R06, Some("tx_time")));
            }
        }
        let w = crate::settings::AcceptanceWindow {
            back_days: 1,
            ahead_seconds: 600,
        };
        let (lo, hi) = w.bounds(received().naive_utc());
        assert_eq!(hi - lo, Duration::days(1) + Duration::seconds(600));
    }

    #[test]
    fn amounts_out_of_the_schemes_range_are_r05_and_loads_of_nothing_too() {
        let limits = AmountLimits::default();
        let mut tx = sample(Scheme::Local);
        tx.amount_fen = 100_001;
        assert_eq!(limits.check(&tx).unwrap_err().code, Code::R05);
        tx.amount_fen = 0;
        assert!(
            limits.check(&tx).is_ok(),
            "a zero purchase (metro entry) passes"
        );
        let mut load = sample(Scheme::Local);
        load.tx_type = card_standards::TxType::EP_LOAD;
        load.amount_fen = 0;
        assert_eq!(limits.check(&load).unwrap_err().code, Code::R05);
    }

    #[test]
    fn a_record_the_issuers_package_format_cannot_carry_is_r07_naming_the_field() {
        let mut tx = sample(Scheme::Mot);
        let mut c = checker(&tx, IssuerKeys::default());
        c.packages = PackageFormats::new("HUB", [("ISSUER".to_string(), Format::Mot)]);
        assert!(c.check(&tx, &mut carry()).is_ok());
        tx.card_serial = "0310ABCDEF0123456789".parse().unwrap();
        let e = c.check(&tx, &mut carry()).unwrap_err();
        assert_eq!(
            (e.code, e.field.as_deref()),
            (Code::R07, Some("card_serial"))
        );
        assert!(
            e.reason.contains("ISSUER") && e.reason.contains("mot"),
            "{e:?}"
        );
        // The same record acquired by its own issuer (on-us) goes into no package.
        tx.acceptance.acquirer = "ISSUER".into();
        assert!(c.check(&tx, &mut carry()).is_ok());
        // Nor does a record of the hub's own cards.
        c.packages = PackageFormats::new("ISSUER", [("ISSUER".to_string(), Format::Mot)]);
        tx.acceptance.acquirer = "QDT01".into();
        assert!(c.check(&tx, &mut carry()).is_ok());
    }

    #[test]
    fn an_unknown_transaction_type_is_r07_naming_tx_type() {
        let mut tx = sample(Scheme::Local);
        tx.tx_type = card_standards::TxType(0x42);
        let e = checker(&tx, IssuerKeys::default())
            .check(&tx, &mut carry())
            .unwrap_err();
        assert_eq!((e.code, e.field.as_deref()), (Code::R07, Some("tx_type")));
    }

    #[test]
    fn the_most_specific_route_wins_and_issuer_outranks_city() {
        let id = |i: &str, c: &str| IssuerId {
            issuer_code: i.parse().unwrap(),
            city_code: c.parse().unwrap(),
        };
        let mut r = Router::default();
        let p = |i: &str, c: &str| RoutePattern::parse(i, c).unwrap();
        r.add(Scheme::Mot, p("*", "*"), "TUNION");
        r.add(Scheme::Mot, p("*", "3702"), "QINGDAO-CITY");
        r.add(Scheme::Mot, p("0101", "*"), "ISSUER-0101");
        r.add(Scheme::Mot, p("0101", "3702"), "EXACT");
        let got = |i, c| r.resolve(Scheme::Mot, id(i, c)).map(|a| a.to_string());
        assert_eq!(got("0101", "3702").as_deref(), Some("EXACT"));
        assert_eq!(got("0101", "1000").as_deref(), Some("ISSUER-0101"));
        assert_eq!(got("0202", "3702").as_deref(), Some("QINGDAO-CITY"));
        assert_eq!(got("0202", "1000").as_deref(), Some("TUNION"));
        assert_eq!(r.resolve(Scheme::Pboc, id("0101", "3702")), None);
        assert!(RoutePattern::parse("01", "*").is_err());
        assert!(RoutePattern::parse("*", "37A2").is_err());
        assert_eq!(p("abcd", "*").issuer_text(), "ABCD");
    }

    #[test]
    fn no_route_is_r01() {
        let tx = sample(Scheme::Pboc);
        let c = Checker::new(
            &HubSettings::default(),
            received(),
            AmountLimits::default(),
            Router::default(),
            Arc::new(IssuerKeys::default()),
            BlacklistIndex::default(),
            PackageFormats::default(),
        );
        assert_eq!(c.check(&tx, &mut carry()).unwrap_err().code, Code::R01);
    }

    fn entry(tx: &CanonicalTx, action: Action, effective: NaiveDateTime) -> Entry {
        Entry {
            scheme: tx.scheme,
            issuer: tx.issuer,
            card: tx.card_serial,
            action,
            effective,
            reason: "lost".into(),
        }
    }

    #[test]
    fn a_card_is_blacklisted_only_between_its_add_and_its_remove() {
        let tx0 = sample(Scheme::Local);
        let t = tx0.tx_time;
        let mut index = BlacklistIndex::default();
        assert!(index.add(&entry(&tx0, Action::Add, t - Duration::hours(1)), 1, 7));
        assert!(index.add(&entry(&tx0, Action::Remove, t + Duration::hours(1)), 2, 8));
        // A late-arriving older add does not change today's state.
        assert!(!index.add(&entry(&tx0, Action::Add, t - Duration::hours(5)), 3, 9));
        let mut c = checker(&tx0, IssuerKeys::default());
        c.blacklist = index;
        let e = c.check(&tx0, &mut carry()).unwrap_err();
        assert_eq!(
            (e.code, e.field.as_deref()),
            (Code::R04, Some("card_serial"))
        );
        assert!(e.reason.contains("blacklist file 7"), "{}", e.reason);
        let mut later = tx0.clone();
        later.tx_time = t + Duration::hours(2);
        later.amount_fen = 1;
        let mut earlier = tx0.clone();
        earlier.tx_time = t - Duration::hours(6);
        assert!(c.check(&earlier, &mut carry()).is_ok());
        // (`later` falls outside the default window; widen it.)
        c.latest += Duration::days(1);
        assert!(c.check(&later, &mut carry()).is_ok());
    }

    #[test]
    fn the_latest_effective_wins_and_equal_times_go_to_the_later_arrival() {
        let tx = sample(Scheme::Local);
        let t = tx.tx_time;
        let mut index = BlacklistIndex::default();
        assert!(
            !index.add(&entry(&tx, Action::Remove, t), 1, 1),
            "removing an unlisted card changes nothing"
        );
        assert!(index.add(&entry(&tx, Action::Add, t), 2, 1));
        assert!(
            index
                .blacklisted_at(&BlacklistIndex::key(&entry(&tx, Action::Add, t)), t)
                .is_some()
        );
        assert!(
            !index.add(&entry(&tx, Action::Add, t), 3, 2),
            "the same add again changes nothing"
        );
        assert!(index.add(&entry(&tx, Action::Remove, t), 4, 2));
        assert!(
            index
                .blacklisted_at(&(tx.scheme, tx.issuer, tx.card_serial), t)
                .is_none()
        );
    }

    #[test]
    fn a_blacklist_entry_must_come_from_its_cards_clearing_participant() {
        let tx = sample(Scheme::Local);
        let c = checker(&tx, IssuerKeys::default());
        let e = entry(&tx, Action::Add, tx.tx_time);
        assert!(c.check_entry(&e, "ISSUER").is_ok());
        let r = c.check_entry(&e, "INTRUDER").unwrap_err();
        assert_eq!(r.code, Code::R01);
        assert!(r.reason.contains("route to ISSUER"), "{}", r.reason);
    }

    #[test]
    fn reason_codes_print_as_written_and_f_codes_are_file_level() {
        let all: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            all.join(","),
            "F01,F02,F03,F04,F05,R01,R02,R03,R04,R05,R06,R07"
        );
        assert!(Code::F04.is_file_level() && !Code::R04.is_file_level());
        let tx = sample(Scheme::Local);
        let _ = CardSerial::default();
        let _ = tx;
    }
}
