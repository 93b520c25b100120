//! `world.toml` (the manifest the demo reads to configure the hub), `keys.toml` (the issuer
//! master TAC keys the hub holds, issue 5's format) and `fees.toml` (issue 6's format).
//!
//! The manifest types deserialise too: `toml::from_str::<Manifest>` reads a world back.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::population::Category;
use super::world::{CityRole, IssuerRole, OperatorKind, ParticipantKind, World};

/// The version of the manifest's layout.
pub const MANIFEST_VERSION: u32 = 1;

/// A participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantEntry {
    /// Hub-side code (`QD`, `MOHURD`, `MOT`, `BANK`, `RZ`, `HUB`).
    pub code: String,
    /// Who it is.
    pub name: String,
    /// Its kind (after the scheme of its files).
    pub kind: ParticipantKind,
    /// The format it uploads and receives; absent for the hub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Its transaction files, relative to the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<String>,
    /// Its blacklist files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blacklists: Option<String>,
    /// Its result files (issuer-side partners only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<String>,
}

/// A route: cards of (scheme, issuer, city) clear through a participant; `*` matches any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteEntry {
    /// `local`, `mohurd`, `mot` or `pboc`.
    pub scheme: String,
    /// Issuer code or `*`.
    pub issuer: String,
    /// City code (as the cards store it) or `*`.
    pub city: String,
    /// The participant.
    pub participant: String,
}

/// An operator of a city.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorEntry {
    /// Name as the records carry it.
    pub name: String,
    /// What it does.
    pub kind: OperatorKind,
    /// The industry its records report.
    pub industry: String,
    /// Who acquires its transactions.
    pub acquirer: String,
    /// Terminals (PSAMs) per lane; metro: gates, one per station.
    pub terminals_per_lane: u16,
}

/// A city.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CityEntry {
    /// Key in the code tables.
    pub key: String,
    /// English name.
    pub name: String,
    /// Chinese name.
    pub name_zh: String,
    /// Its part in the world.
    pub role: CityRole,
    /// Who acquires there.
    pub acquirer: String,
    /// MOHURD city code.
    pub mohurd_code: String,
    /// T-Union city code.
    pub mot_code: String,
    /// GB/T 2260 code.
    pub admin_code: String,
    /// Operators.
    pub operator: Vec<OperatorEntry>,
}

/// A card issuer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerEntry {
    /// Scheme of its cards.
    pub scheme: String,
    /// Issuer code.
    pub issuer: String,
    /// City code as its cards store it.
    pub city: String,
    /// Its city's key.
    pub city_key: String,
    /// Name.
    pub name: String,
    /// `3des` or `sm4`.
    pub alg: String,
    /// The participant that clears its cards.
    pub participant: String,
    /// Whether its master TAC key is in `keys.toml` (the hub verifies its TACs).
    pub key_held: bool,
    /// Its part in the world.
    pub role: IssuerRole,
    /// Cards of the population it issued.
    pub cards: u64,
}

/// A transaction file, in upload order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// 1-based upload order (blacklists go first, then these files in this order).
    pub order: u32,
    /// Path relative to the manifest.
    pub path: String,
    /// The participant that uploads it.
    pub participant: String,
    /// Its format.
    pub format: String,
    /// The file sequence number in its header.
    pub seq: u64,
    /// The `created` time in its header.
    pub created: NaiveDateTime,
    /// Records (as the complete file has them).
    pub records: u64,
    /// Their amounts, fen.
    pub amount_fen: i64,
    /// What the hub should do with the delivery: `accepted`, `late` (accepted, every record a
    /// late presentment), `F01`, `F02` (rejected whole), `duplicate_file` (the first receipt
    /// again).
    pub expect: String,
    /// For damaged and repeated deliveries: the complete file they copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_of: Option<String>,
    /// The earliest transaction time in the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_tx: Option<NaiveDateTime>,
    /// The latest transaction time in the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_tx: Option<NaiveDateTime>,
}

/// A blacklist file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlacklistFileEntry {
    /// Path relative to the manifest.
    pub path: String,
    /// The issuer-side participant that uploads it.
    pub participant: String,
    /// Its sequence number.
    pub seq: u64,
    /// Its `created` time.
    pub created: NaiveDateTime,
    /// Entries.
    pub entries: u64,
}

/// A partner's result file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultFileEntry {
    /// Path relative to the manifest.
    pub path: String,
    /// The partner that sends it.
    pub participant: String,
    /// `hutong-xml` for every partner for now (results in the partners' own formats are a
    /// later step).
    pub format: String,
    /// Results in it.
    pub records: u64,
    /// Their amounts, fen.
    pub amount_fen: i64,
}

/// Counts of the day.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counts {
    /// Independent generators (fixed; see `docs/simulate.md`).
    pub lanes: u32,
    /// Cities.
    pub cities: u32,
    /// Card issuers.
    pub issuers: u32,
    /// Cards in the population.
    pub cards: u64,
    /// Cards that tapped today.
    pub active_cards: u64,
    /// The population's transactions today (`--taps`), the one a gap hides included.
    pub taps: u64,
    /// Transactions of cloned cards (on top of `taps`).
    pub clone_taps: u64,
    /// Transactions of the previous evening in late files (on top of `taps`).
    pub late_taps: u64,
    /// Purchases (type 06).
    pub purchases: u64,
    /// Composite purchases (type 09), metro entries included.
    pub composite_purchases: u64,
    /// Loads.
    pub loads: u64,
    /// Legacy M1 transactions (no TAC).
    pub m1: u64,
    /// Records in the complete transaction files (duplicates included).
    pub records: u64,
    /// Transaction file deliveries (complete files, damaged and repeated copies).
    pub deliveries: u64,
    /// Faults injected, by kind.
    pub faults: BTreeMap<String, u64>,
    /// Cards by holder category.
    pub cards_by_category: BTreeMap<String, u64>,
}

/// `world.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_VERSION`].
    pub version: u32,
    /// `hutong simulate` and its version.
    pub generator: String,
    /// The seed.
    pub seed: u64,
    /// The settlement day.
    pub day: NaiveDate,
    /// The cut-off the files were made for (local time): every day file is created before it.
    pub cut_off: String,
    /// The hub's participant code.
    pub hub: String,
    /// The hub operator's own city participant.
    pub home: String,
    /// The keys file (relative path).
    pub keys: String,
    /// The fee schedule (relative path).
    pub fees: String,
    /// The ground truth (relative path).
    pub ground_truth: String,
    /// The faults spec, normalised.
    pub faults: String,
    /// The format of every result file.
    pub result_format: String,
    /// Counts.
    pub counts: Counts,
    /// Participants.
    pub participant: Vec<ParticipantEntry>,
    /// Routes, most specific first.
    pub route: Vec<RouteEntry>,
    /// Cities.
    pub city: Vec<CityEntry>,
    /// Card issuers.
    pub issuer: Vec<IssuerEntry>,
    /// Blacklist files (upload them first).
    pub blacklist: Vec<BlacklistFileEntry>,
    /// Transaction files in upload order.
    pub file: Vec<FileEntry>,
    /// Partners' result files.
    pub result: Vec<ResultFileEntry>,
}

/// One issuer of `keys.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEntry {
    /// Scheme.
    pub scheme: String,
    /// Issuer code.
    pub issuer: String,
    /// City code.
    pub city: String,
    /// `3des` or `sm4`.
    pub alg: String,
    /// Master TAC key, 32 hex digits.
    pub mtk: String,
}

/// `keys.toml` (issue 5's keys file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysFile {
    /// The issuers whose keys the hub holds.
    pub issuer: Vec<KeyEntry>,
}

pub(crate) fn alg_name(alg: card_standards::crypto::Algorithm) -> &'static str {
    match alg {
        card_standards::crypto::Algorithm::TripleDes => "3des",
        card_standards::crypto::Algorithm::Sm4 => "sm4",
    }
}

/// The text of `keys.toml`: the master TAC keys of the issuers whose keys the hub holds.
pub(crate) fn keys_toml(world: &World, seed: u64) -> String {
    let mut s = format!(
        "# hutong simulate: the issuer master TAC keys the hub holds (issue 5's keys file).\n\
         # Seed {seed}, day {}. Test keys drawn from the seed: never use them for real cards.\n\
         # The hub shares keys with Qingdao's own issuers (QD) and with Rizhao (RZ, by the\n\
         # bilateral agreement); MOHURD, T-Union and bank cards pass unverified and their\n\
         # issuers' side verifies them.\n",
        world.day
    );
    for i in world.issuers.iter().filter(|i| i.key_held) {
        s.push_str(&format!(
            "\n# {}\n[[issuer]]\nscheme = \"{}\"\nissuer = \"{}\"\ncity = \"{}\"\nalg = \"{}\"\nmtk = \"{}\"\n",
            i.name,
            i.scheme,
            i.id.issuer_code,
            i.id.city_code,
            alg_name(i.keys.alg),
            i.keys.mtk.to_hex()
        ));
    }
    s
}

/// The fee schedule of the simulated world, in issue 6's format.
pub(crate) const FEES_TOML: &str = r#"# hutong simulate: the fee schedule (issue 6's format). Rates are decimal strings; a rule's
# fee is computed on the aggregate of a window, payer and payee, rounded once, half-up.

# Retail merchants pay the card's issuer a merchant discount.
[[fee]]
scheme = "*"
industry = "retail"
payer = "acquirer"
payee = "issuer"
rate = "0.0060"
fixed_fen = 0
min_fen = 0
max_fen = 0

# The hub's interchange fee on every transit transaction it clears, paid by the issuer.
[[fee]]
scheme = "*"
industry = "*"
payer = "issuer"
payee = "hub"
rate = "0.0010"
fixed_fen = 0
min_fen = 0
max_fen = 0

# T-Union cards: the clearing centre's rate is a little higher.
[[fee]]
scheme = "mot"
industry = "*"
payer = "issuer"
payee = "hub"
rate = "0.0015"
fixed_fen = 0
min_fen = 0
max_fen = 0

# Bank co-branded cards: the bank pays the acquirer a handling fee per transaction.
[[fee]]
scheme = "pboc"
industry = "*"
payer = "issuer"
payee = "acquirer"
rate = "0.0020"
fixed_fen = 1
min_fen = 0
max_fen = 0

# Tunnel tolls: a fixed hub fee per passage, paid by the acquirer, at least 1 yuan a day.
[[fee]]
scheme = "*"
industry = "highway"
payer = "acquirer"
payee = "hub"
rate = "0"
fixed_fen = 2
min_fen = 100
max_fen = 0

# Rizhao's cards in Qingdao: the partner agreement's lower rate.
[[fee]]
scheme = "*"
industry = "*"
issuer = "RZ"
payer = "issuer"
payee = "hub"
rate = "0.0005"
fixed_fen = 0
min_fen = 0
max_fen = 0
"#;

/// The name of a holder category, for the manifest's counts.
pub(crate) fn category_names() -> Vec<&'static str> {
    Category::SHARES.iter().map(|(c, _)| c.as_str()).collect()
}
