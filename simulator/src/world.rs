//! The world of a simulated day: cities, participants, card issuers with their master keys,
//! operators and the routes from issuers to the participants that clear them.
//!
//! | code | who | kind | format |
//! |---|---|---|---|
//! | `QD` | Qingdao city card company (琴岛通), the hub operator's own city | `local` | `local-csv` |
//! | `MOHURD` | the MOHURD interconnection clearing network | `mohurd` | `mohurd` |
//! | `MOT` | the T-Union clearing centre | `mot` | `mot` |
//! | `BANK` | a bank: acquirer of retail merchants, issuer of PBOC co-branded cards | `pboc` | `pboc` |
//! | `RZ` | Rizhao (日照通), a directly linked partner city | `partner` | `hutong-xml` |
//! | `HUB` | the hub itself (earns fees) | `hub` | — |

use adapters::Format;
use card_standards::crypto::{Algorithm, Key16};
use card_standards::{CityCode, CodeTables, Industry, IssuerCode, IssuerId, Scheme};
use chrono::NaiveDate;
use conformance::IssuerKeys;
use serde::{Deserialize, Serialize};

use super::SimError;
use super::rng::{Rng, stream};

/// The hub operator's own city system.
pub const QD: &str = "QD";
/// The MOHURD interconnection clearing network.
pub const MOHURD: &str = "MOHURD";
/// The T-Union clearing centre.
pub const MOT: &str = "MOT";
/// The bank.
pub const BANK: &str = "BANK";
/// Rizhao, the directly linked partner city.
pub const RZ: &str = "RZ";
/// The hub itself.
pub const HUB: &str = "HUB";

/// The participants that upload transaction files, in the order the manifest lists them.
pub const ACQUIRERS: [&str; 5] = [QD, RZ, MOHURD, MOT, BANK];
/// The issuer-side partners that send result files back.
pub const RESULT_PARTNERS: [&str; 4] = [RZ, MOHURD, MOT, BANK];

/// What kind of participant, after the scheme of the files it exchanges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParticipantKind {
    /// The local city's own system.
    Local,
    /// The MOHURD network.
    Mohurd,
    /// The T-Union centre.
    Mot,
    /// A bank.
    Pboc,
    /// A directly linked partner city.
    Partner,
    /// The hub.
    Hub,
}

/// One participant of the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// Hub-side code.
    pub code: &'static str,
    /// Who it is.
    pub name: &'static str,
    /// Its kind.
    pub kind: ParticipantKind,
    /// The format of the files it uploads and receives (`None` for the hub).
    pub format: Option<Format>,
}

/// The participants of every simulated world.
pub fn participants() -> Vec<Participant> {
    vec![
        Participant {
            code: QD,
            name: "Qingdao city card company (琴岛通), the hub operator's own city system",
            kind: ParticipantKind::Local,
            format: Some(Format::LocalCsv),
        },
        Participant {
            code: MOHURD,
            name: "MOHURD interconnection clearing network (住建部 互联互通)",
            kind: ParticipantKind::Mohurd,
            format: Some(Format::Mohurd),
        },
        Participant {
            code: MOT,
            name: "T-Union clearing centre (交通联合)",
            kind: ParticipantKind::Mot,
            format: Some(Format::Mot),
        },
        Participant {
            code: BANK,
            name: "Bank: acquirer of retail merchants, issuer of PBOC co-branded cards",
            kind: ParticipantKind::Pboc,
            format: Some(Format::Pboc),
        },
        Participant {
            code: RZ,
            name: "Rizhao city card (日照通), directly linked partner city",
            kind: ParticipantKind::Partner,
            format: Some(Format::HutongXml),
        },
        Participant {
            code: HUB,
            name: "The hub (earns fees)",
            kind: ParticipantKind::Hub,
            format: None,
        },
    ]
}

/// The format of a participant's files.
pub fn format_of(code: &str) -> Option<Format> {
    participants()
        .into_iter()
        .find(|p| p.code == code)
        .and_then(|p| p.format)
}

/// A city's part in the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CityRole {
    /// Qingdao: the local city.
    Home,
    /// Rizhao: the directly linked partner city.
    Partner,
    /// A city of the MOHURD interconnection network.
    Mohurd,
    /// A city of the T-Union network.
    Mot,
}

/// What an operator does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OperatorKind {
    /// City buses (composite purchase, flat fare).
    Bus,
    /// Metro (0-fen composite purchase at the entry gate, the fare at the exit gate).
    Metro,
    /// Ferry (composite purchase).
    Ferry,
    /// Taxis (purchase, metered).
    Taxi,
    /// Tunnel or bridge toll, e.g. 胶州湾隧道 (purchase).
    Tunnel,
    /// Recharge points (loads).
    Recharge,
    /// Retail merchants (purchase).
    Shop,
}

impl OperatorKind {
    /// The industry its terminals report.
    pub fn industry(self) -> Industry {
        match self {
            OperatorKind::Bus => Industry::Bus,
            OperatorKind::Metro => Industry::Metro,
            OperatorKind::Ferry => Industry::Ferry,
            OperatorKind::Taxi => Industry::Taxi,
            OperatorKind::Tunnel => Industry::Highway,
            OperatorKind::Recharge => Industry::Other,
            OperatorKind::Shop => Industry::Retail,
        }
    }

    fn tag(self) -> &'static str {
        match self {
            OperatorKind::Bus => "BUS",
            OperatorKind::Metro => "METRO",
            OperatorKind::Ferry => "FERRY",
            OperatorKind::Taxi => "TAXI",
            OperatorKind::Tunnel => "TUNNEL",
            OperatorKind::Recharge => "RECHARGE",
            OperatorKind::Shop => "SHOP",
        }
    }
}

/// An operator (or merchant group) of a city and its terminals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// Name as the records carry it (at most 15 ASCII characters).
    pub name: String,
    /// What it does.
    pub kind: OperatorKind,
    /// Who acquires its transactions.
    pub acquirer: &'static str,
    /// Terminals per lane (each with its own PSAM); metro: one gate per station.
    pub terminals: u16,
    /// Its number in the city (the third byte of its terminals' numbers).
    pub code: u8,
}

/// A city of the world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimCity {
    /// Key in `cities.toml`.
    pub key: String,
    /// English name.
    pub name: String,
    /// Chinese name.
    pub name_zh: String,
    /// MOHURD city code.
    pub mohurd_code: String,
    /// T-Union city code.
    pub mot_code: String,
    /// GB/T 2260 code.
    pub admin_code: String,
    /// Its part in the world.
    pub role: CityRole,
    /// The participant that acquires transactions in the city.
    pub acquirer: &'static str,
    /// Issuer code of its MOHURD and T-Union issuers (the telephone area code) **\[I\]**.
    pub area_code: String,
    /// Operators.
    pub operators: Vec<Operator>,
}

impl SimCity {
    /// Whether the city has an operator of this kind.
    pub fn has(&self, kind: OperatorKind) -> bool {
        self.operators.iter().any(|o| o.kind == kind)
    }
}

/// Which cards an issuer issues (the population's categories are drawn per issuer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssuerRole {
    /// Qingdao's own cards (local CPU and M1, MOHURD, T-Union).
    Home,
    /// Rizhao's cards.
    Partner,
    /// Another MOHURD city's cards.
    MohurdCity,
    /// Another T-Union city's cards.
    MotCity,
    /// The bank's PBOC co-branded cards.
    Bank,
}

/// A card issuer: scheme, issuer and city code, master keys, clearing participant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimIssuer {
    /// Scheme of its cards.
    pub scheme: Scheme,
    /// Issuer and city code as its cards' 0015 holds them.
    pub id: IssuerId,
    /// Index of its city in [`World::cities`].
    pub city: usize,
    /// Master keys and algorithm (generated from the seed).
    pub keys: IssuerKeys,
    /// The participant that clears its cards.
    pub participant: &'static str,
    /// Whether the hub holds its master TAC key (written to `keys.toml`).
    pub key_held: bool,
    /// Its part in the world.
    pub role: IssuerRole,
    /// Name for the manifest.
    pub name: String,
}

/// A route: cards of (scheme, issuer, city) clear through a participant; `None` is `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Scheme.
    pub scheme: Scheme,
    /// Issuer code, or any.
    pub issuer: Option<IssuerCode>,
    /// City code, or any.
    pub city: Option<CityCode>,
    /// The participant.
    pub participant: &'static str,
}

impl Route {
    fn matches(&self, scheme: Scheme, id: &IssuerId) -> bool {
        self.scheme == scheme
            && self.issuer.is_none_or(|i| i == id.issuer_code)
            && self.city.is_none_or(|c| c == id.city_code)
    }

    fn specificity(&self) -> usize {
        usize::from(self.issuer.is_some()) + usize::from(self.city.is_some())
    }
}

/// The whole world of a day.
#[derive(Debug, Clone)]
pub struct World {
    /// The settlement day.
    pub day: NaiveDate,
    /// Cities: Qingdao, Rizhao, then the MOHURD and T-Union cities.
    pub cities: Vec<SimCity>,
    /// Card issuers.
    pub issuers: Vec<SimIssuer>,
    /// Routes, most specific first.
    pub routes: Vec<Route>,
}

/// The bank's issuer code on its PBOC co-branded cards (its CNAPS bank code) **\[I\]**.
pub const BANK_ISSUER_CODE: &str = "0102";

/// Telephone area codes, used as the issuer code of a city's MOHURD and T-Union cards **\[I\]**.
const AREA_CODES: &[(&str, &str)] = &[
    ("qingdao", "0532"),
    ("rizhao", "0633"),
    ("ningbo", "0574"),
    ("shanghai", "0021"),
    ("jiaxing", "0573"),
    ("taizhou", "0576"),
    ("shaoxing", "0575"),
    ("huzhou", "0572"),
    ("hangzhou", "0571"),
    ("changsha", "0731"),
    ("beijing", "0010"),
    ("jinan", "0531"),
    ("yantai", "0535"),
    ("tianjin", "0022"),
];

/// Short city tags for operator names.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("qingdao", "QD"),
    ("rizhao", "RZ"),
    ("ningbo", "NB"),
    ("shanghai", "SH"),
    ("jiaxing", "JX"),
    ("taizhou", "TZ"),
    ("shaoxing", "SX"),
    ("huzhou", "HUZ"),
    ("hangzhou", "HZ"),
    ("changsha", "CS"),
    ("beijing", "BJ"),
    ("jinan", "JN"),
    ("yantai", "YT"),
    ("tianjin", "TJ"),
];

/// Cities with a metro among the remote ones.
const METRO_CITIES: &[&str] = &[
    "ningbo", "changsha", "beijing", "shanghai", "hangzhou", "tianjin", "jinan",
];

/// The default remote cities: two of each network.
const DEFAULT_REMOTE: [(&str, CityRole); 4] = [
    ("ningbo", CityRole::Mohurd),
    ("changsha", CityRole::Mohurd),
    ("beijing", CityRole::Mot),
    ("shanghai", CityRole::Mot),
];

/// The cities `--cities N` adds, in order.
const EXTRA_REMOTE: [(&str, CityRole); 8] = [
    ("hangzhou", CityRole::Mohurd),
    ("tianjin", CityRole::Mot),
    ("jinan", CityRole::Mohurd),
    ("yantai", CityRole::Mot),
    ("jiaxing", CityRole::Mohurd),
    ("shaoxing", CityRole::Mot),
    ("huzhou", CityRole::Mohurd),
    ("taizhou", CityRole::Mot),
];

fn lookup(table: &[(&str, &'static str)], key: &str) -> Option<&'static str> {
    table.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// How many more cities `--cities` can add beyond the defaults, from the code tables.
pub fn extra_cities_available(tables: &CodeTables) -> usize {
    remote_order(tables).len() - DEFAULT_REMOTE.len()
}

/// The remote cities in the order the world takes them: the defaults, the listed extras,
/// then any other city of the code tables (alternating networks).
fn remote_order(tables: &CodeTables) -> Vec<(String, CityRole)> {
    let mut out: Vec<(String, CityRole)> = DEFAULT_REMOTE
        .iter()
        .chain(EXTRA_REMOTE.iter())
        .filter(|(k, _)| tables.city(k).is_ok())
        .map(|(k, r)| (k.to_string(), *r))
        .collect();
    for city in tables.cities() {
        if city.key == "qingdao" || city.key == "rizhao" || out.iter().any(|(k, _)| *k == city.key)
        {
            continue;
        }
        let role = if out.len().is_multiple_of(2) {
            CityRole::Mohurd
        } else {
            CityRole::Mot
        };
        out.push((city.key.clone(), role));
    }
    out
}

fn operator(
    name: String,
    kind: OperatorKind,
    acquirer: &'static str,
    terminals: u16,
    code: u8,
) -> Operator {
    Operator {
        name,
        kind,
        acquirer,
        terminals,
        code,
    }
}

fn operators(key: &str, abbr: &str, role: CityRole, acquirer: &'static str) -> Vec<Operator> {
    use OperatorKind::*;
    let op = |kind: OperatorKind, terminals: u16, code: u8| {
        operator(
            format!("{abbr}-{}", kind.tag()),
            kind,
            acquirer,
            terminals,
            code,
        )
    };
    match role {
        CityRole::Home => vec![
            op(Bus, 16, 1),
            op(Metro, 24, 2),
            op(Ferry, 2, 3),
            op(Taxi, 12, 4),
            operator("JZW-TUNNEL".into(), Tunnel, acquirer, 4, 5),
            op(Recharge, 4, 6),
            op(Shop, 8, 7),
            operator("BANK-SHOP".into(), Shop, BANK, 8, 8),
        ],
        CityRole::Partner => vec![
            op(Bus, 8, 1),
            op(Taxi, 4, 4),
            op(Recharge, 2, 6),
            op(Shop, 4, 7),
        ],
        CityRole::Mohurd | CityRole::Mot => {
            let mut v = vec![op(Bus, 8, 1)];
            if METRO_CITIES.contains(&key) {
                v.push(op(Metro, 16, 2));
            }
            v.extend([op(Taxi, 4, 4), op(Recharge, 2, 6), op(Shop, 4, 7)]);
            v
        }
    }
}

fn city(tables: &CodeTables, key: &str, role: CityRole) -> Result<SimCity, SimError> {
    let c = tables
        .city(key)
        .map_err(|e| SimError::World(format!("city {key}: {e}")))?;
    let acquirer = match role {
        CityRole::Home => QD,
        CityRole::Partner => RZ,
        CityRole::Mohurd => MOHURD,
        CityRole::Mot => MOT,
    };
    let abbr = lookup(ABBREVIATIONS, key)
        .map(str::to_string)
        .unwrap_or_else(|| key.chars().take(4).collect::<String>().to_ascii_uppercase());
    let area_code = lookup(AREA_CODES, key)
        .map(str::to_string)
        .unwrap_or_else(|| format!("0{}", c.admin_code.get(..3).unwrap_or("999")));
    Ok(SimCity {
        key: c.key.clone(),
        name: c.name.clone(),
        name_zh: c.name_zh.clone(),
        mohurd_code: c.mohurd_code.clone(),
        mot_code: c.mot_code.clone(),
        admin_code: c.admin_code.clone(),
        role,
        acquirer,
        operators: operators(key, &abbr, role, acquirer),
        area_code,
    })
}

fn code<T: std::str::FromStr>(what: &str, text: &str) -> Result<T, SimError> {
    text.parse()
        .map_err(|_| SimError::World(format!("{what} {text:?} is not a 4-digit code")))
}

fn keys(rng: &mut Rng, alg: Algorithm) -> IssuerKeys {
    let mut k = [[0u8; 16]; 3];
    for key in &mut k {
        rng.fill(key);
    }
    IssuerKeys {
        alg,
        mpk: Key16(k[0]),
        mlk: Key16(k[1]),
        mtk: Key16(k[2]),
    }
}

impl World {
    /// Builds the world of `day`: Qingdao, Rizhao, the four default remote cities and
    /// `extra_cities` more from the code tables; issuers with master keys drawn from `seed`.
    pub fn build(
        seed: u64,
        day: NaiveDate,
        extra_cities: usize,
        tables: &CodeTables,
    ) -> Result<World, SimError> {
        let remote = remote_order(tables);
        if extra_cities > remote.len().saturating_sub(DEFAULT_REMOTE.len()) {
            return Err(SimError::Config(format!(
                "--cities: at most {} more cities are in the code tables, asked for {extra_cities}",
                remote.len().saturating_sub(DEFAULT_REMOTE.len())
            )));
        }
        let mut cities = vec![
            city(tables, "qingdao", CityRole::Home)?,
            city(tables, "rizhao", CityRole::Partner)?,
        ];
        for (key, role) in remote.iter().take(DEFAULT_REMOTE.len() + extra_cities) {
            cities.push(city(tables, key, *role)?);
        }

        let mut rng = Rng::new(seed, stream::KEYS);
        let mut issuers = Vec::new();
        let mut add = |scheme: Scheme,
                       issuer: &str,
                       city_code: &str,
                       city: usize,
                       alg: Algorithm,
                       participant: &'static str,
                       role: IssuerRole,
                       name: String|
         -> Result<(), SimError> {
            issuers.push(SimIssuer {
                scheme,
                id: IssuerId {
                    issuer_code: code("issuer code", issuer)?,
                    city_code: code("city code", city_code)?,
                },
                city,
                keys: keys(&mut rng, alg),
                participant,
                key_held: matches!(participant, QD | RZ),
                role,
                name,
            });
            Ok(())
        };
        use Algorithm::{Sm4, TripleDes};
        for (ci, role, participant, algs) in [
            (0usize, IssuerRole::Home, QD, [TripleDes, TripleDes, Sm4]),
            (1usize, IssuerRole::Partner, RZ, [Sm4, TripleDes, Sm4]),
        ] {
            let c = cities[ci].clone();
            add(
                Scheme::Local,
                &c.mohurd_code,
                &c.mohurd_code,
                ci,
                algs[0],
                participant,
                role,
                format!("{} local city card (CPU; Qingdao also M1)", c.name),
            )?;
            add(
                Scheme::Mohurd,
                &c.area_code,
                &c.mohurd_code,
                ci,
                algs[1],
                participant,
                role,
                format!("{} MOHURD interconnection card", c.name),
            )?;
            add(
                Scheme::Mot,
                &c.area_code,
                &c.mot_code,
                ci,
                algs[2],
                participant,
                role,
                format!("{} T-Union card", c.name),
            )?;
        }
        for (ci, c) in cities.clone().iter().enumerate().skip(2) {
            let alg = if ci % 2 == 0 { TripleDes } else { Sm4 };
            match c.role {
                CityRole::Mohurd => add(
                    Scheme::Mohurd,
                    &c.area_code,
                    &c.mohurd_code,
                    ci,
                    alg,
                    MOHURD,
                    IssuerRole::MohurdCity,
                    format!("{} MOHURD interconnection card", c.name),
                )?,
                CityRole::Mot => add(
                    Scheme::Mot,
                    &c.area_code,
                    &c.mot_code,
                    ci,
                    alg,
                    MOT,
                    IssuerRole::MotCity,
                    format!("{} T-Union card", c.name),
                )?,
                CityRole::Home | CityRole::Partner => {}
            }
        }
        // The bank's co-branded cards: Qingdao's 琴岛通 A-card, and Ningbo's 市民卡 A-card
        // when Ningbo is in the world (it is by default).
        let ningbo = cities.iter().position(|c| c.key == "ningbo");
        for (ci, alg) in [(Some(0), TripleDes), (ningbo, Sm4)] {
            if let Some(ci) = ci {
                let c = cities[ci].clone();
                add(
                    Scheme::Pboc,
                    BANK_ISSUER_CODE,
                    &c.mohurd_code,
                    ci,
                    alg,
                    BANK,
                    IssuerRole::Bank,
                    format!("Bank's PBOC co-branded card of {}", c.name),
                )?;
            }
        }

        let home: Vec<&SimIssuer> = issuers
            .iter()
            .filter(|i| matches!(i.role, IssuerRole::Home | IssuerRole::Partner))
            .collect();
        let mut routes: Vec<Route> = home
            .iter()
            .map(|i| Route {
                scheme: i.scheme,
                issuer: Some(i.id.issuer_code),
                city: Some(i.id.city_code),
                participant: i.participant,
            })
            .collect();
        for (scheme, participant) in [
            (Scheme::Mohurd, MOHURD),
            (Scheme::Mot, MOT),
            (Scheme::Pboc, BANK),
        ] {
            routes.push(Route {
                scheme,
                issuer: None,
                city: None,
                participant,
            });
        }
        Ok(World {
            day,
            cities,
            issuers,
            routes,
        })
    }

    /// The participant that clears cards of this issuer: the most specific route.
    pub fn route(&self, scheme: Scheme, issuer: &IssuerId) -> Option<&'static str> {
        self.routes
            .iter()
            .filter(|r| r.matches(scheme, issuer))
            .max_by_key(|r| r.specificity())
            .map(|r| r.participant)
    }

    /// Index of the issuer of (scheme, id).
    pub fn issuer_index(&self, scheme: Scheme, id: &IssuerId) -> Option<usize> {
        self.issuers
            .iter()
            .position(|i| i.scheme == scheme && i.id == *id)
    }

    /// Indices of the issuers with this role.
    pub fn issuers_with(&self, role: IssuerRole) -> Vec<usize> {
        (0..self.issuers.len())
            .filter(|&i| self.issuers[i].role == role)
            .collect()
    }

    /// Indices of the cities with this role.
    pub fn cities_with(&self, role: CityRole) -> Vec<usize> {
        (0..self.cities.len())
            .filter(|&i| self.cities[i].role == role)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(extra: usize) -> World {
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        World::build(42, day, extra, CodeTables::builtin()).unwrap()
    }

    #[test]
    fn default_world_has_every_kind_of_city_and_issuer() {
        let w = world(0);
        let roles: Vec<CityRole> = w.cities.iter().map(|c| c.role).collect();
        assert_eq!(
            roles,
            [
                CityRole::Home,
                CityRole::Partner,
                CityRole::Mohurd,
                CityRole::Mohurd,
                CityRole::Mot,
                CityRole::Mot
            ]
        );
        for scheme in Scheme::ALL {
            assert!(w.issuers.iter().any(|i| i.scheme == scheme));
        }
        let algs: Vec<Algorithm> = w.issuers.iter().map(|i| i.keys.alg).collect();
        assert!(algs.contains(&Algorithm::TripleDes) && algs.contains(&Algorithm::Sm4));
        let held: Vec<&str> = w
            .issuers
            .iter()
            .filter(|i| i.key_held)
            .map(|i| i.participant)
            .collect();
        assert_eq!(held, [QD, QD, QD, RZ, RZ, RZ]);
        for o in w.cities.iter().flat_map(|c| &c.operators) {
            assert!(o.name.len() <= 15 && o.name.is_ascii(), "{}", o.name);
        }
    }

    #[test]
    fn routes_send_home_cards_home_and_others_to_their_network() {
        let w = world(2);
        assert_eq!(w.cities.len(), 8);
        for i in &w.issuers {
            assert_eq!(w.route(i.scheme, &i.id), Some(i.participant), "{}", i.name);
        }
        let stranger = IssuerId {
            issuer_code: "0999".parse().unwrap(),
            city_code: "9999".parse().unwrap(),
        };
        assert_eq!(w.route(Scheme::Mohurd, &stranger), Some(MOHURD));
        assert_eq!(w.route(Scheme::Local, &stranger), None);
    }

    #[test]
    fn too_many_extra_cities_is_a_config_error() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let n = extra_cities_available(CodeTables::builtin());
        assert!(World::build(1, day, n, CodeTables::builtin()).is_ok());
        let err = World::build(1, day, n + 1, CodeTables::builtin()).unwrap_err();
        assert!(err.to_string().contains("--cities"), "{err}");
    }
}
