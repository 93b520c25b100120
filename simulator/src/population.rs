//! The card population: every card is a pure function of the seed and its index, so any part
//! of the simulator (a lane, the planner, the blacklists) can know a card without holding the
//! population.
//!
//! | category | share | cards | where they are today |
//! |---|--:|---|---|
//! | `qd_local` | 42 % | Qingdao local CPU cards | Qingdao; 4 % in Rizhao |
//! | `qd_m1` | 5 % | Qingdao legacy M1 wallet cards (no TAC) | Qingdao (buses, ferry, recharge) |
//! | `qd_mohurd` | 12 % | Qingdao MOHURD interconnection cards | Qingdao; 10 % away (7 in 10 of them in a MOHURD city, the rest in Rizhao) |
//! | `qd_mot` | 15 % | Qingdao T-Union cards | Qingdao; 10 % away (7 in 10 of them in a T-Union city, the rest in Rizhao) |
//! | `rizhao` | 6 % | Rizhao cards of every scheme | visiting Qingdao |
//! | `mohurd_visitor` | 7 % | other MOHURD cities' cards | visiting Qingdao |
//! | `mot_visitor` | 7 % | other T-Union cities' cards | visiting Qingdao |
//! | `pboc` | 6 % | the bank's PBOC co-branded cards | Qingdao |
//!
//! Only cards whose transactions reach the hub are simulated: a Ningbo card riding in Ningbo
//! never does.

use card_standards::{CardMedium, CardSerial, CardType, CodeTables, Scheme};
use chrono::{Days, NaiveDate};
use conformance::CardProfile;
use serde::{Deserialize, Serialize};

use super::SimError;
use super::rng::{Rng, stream};
use super::world::{CityRole, IssuerRole, World};

/// What kind of card holder a card belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Qingdao local CPU card.
    QdLocal,
    /// Qingdao legacy M1 wallet card.
    QdM1,
    /// Qingdao MOHURD card.
    QdMohurd,
    /// Qingdao T-Union card.
    QdMot,
    /// A Rizhao card visiting Qingdao.
    Rizhao,
    /// Another MOHURD city's card visiting Qingdao.
    MohurdVisitor,
    /// Another T-Union city's card visiting Qingdao.
    MotVisitor,
    /// The bank's PBOC co-branded card.
    Pboc,
}

impl Category {
    /// Every category with its share of the population, per mille.
    pub const SHARES: [(Category, u32); 8] = [
        (Category::QdLocal, 420),
        (Category::QdM1, 50),
        (Category::QdMohurd, 120),
        (Category::QdMot, 150),
        (Category::Rizhao, 60),
        (Category::MohurdVisitor, 70),
        (Category::MotVisitor, 70),
        (Category::Pboc, 60),
    ];

    /// Qingdao's own CPU cards (the cards that travel, and that the bank's shops accept).
    pub fn is_qingdao_cpu(self) -> bool {
        matches!(
            self,
            Category::QdLocal | Category::QdMohurd | Category::QdMot
        )
    }

    /// The name used in the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::QdLocal => "qd_local",
            Category::QdM1 => "qd_m1",
            Category::QdMohurd => "qd_mohurd",
            Category::QdMot => "qd_mot",
            Category::Rizhao => "rizhao",
            Category::MohurdVisitor => "mohurd_visitor",
            Category::MotVisitor => "mot_visitor",
            Category::Pboc => "pboc",
        }
    }
}

/// Everything about one card and its holder's day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardSpec {
    /// Population index.
    pub index: u64,
    /// Holder category.
    pub category: Category,
    /// Index of the issuer in [`World::issuers`].
    pub issuer: usize,
    /// CPU or M1.
    pub medium: CardMedium,
    /// Canonical card type.
    pub card_type: CardType,
    /// The scheme's raw card-type code.
    pub card_type_raw: u8,
    /// Application serial: `0`, the issuer's card city code, a scheme digit (1 local, 2 MOHURD,
    /// 3 T-Union, 4 PBOC, 5 M1), the index in 14 digits — decimal, so that every format
    /// (T-Union's 19-digit card number included) carries it.
    pub serial: CardSerial,
    /// 启用日期.
    pub start: NaiveDate,
    /// 有效日期.
    pub expiry: NaiveDate,
    /// Balance at the start of the day, fen.
    pub balance: u32,
    /// Offline (purchase) counter at the start of the day.
    pub offline_seq: u16,
    /// Online (load) counter at the start of the day.
    pub online_seq: u16,
    /// Index of the city the holder is in today.
    pub city_today: usize,
    /// How much the holder taps compared with others (a share of the day's taps).
    pub weight: u32,
}

/// The highest balance a simulated card may hold, fen (琴岛通's 1 000 yuan).
pub const MAX_BALANCE: u32 = 100_000;

fn pick(rng: &mut Rng, from: &[usize]) -> Option<usize> {
    if from.is_empty() {
        None
    } else {
        Some(from[rng.below(from.len() as u64) as usize])
    }
}

/// The card with population index `index`.
pub fn card_spec(
    world: &World,
    tables: &CodeTables,
    seed: u64,
    index: u64,
) -> Result<CardSpec, SimError> {
    let mut rng = Rng::new(seed, stream::card(index));
    let shares: Vec<u32> = Category::SHARES.iter().map(|(_, s)| *s).collect();
    let mut category = Category::SHARES[rng.weighted(&shares)].0;
    let home = world.issuers_with(IssuerRole::Home);
    let partner = world.issuers_with(IssuerRole::Partner);
    let mohurd_cities = world.issuers_with(IssuerRole::MohurdCity);
    let mot_cities = world.issuers_with(IssuerRole::MotCity);
    let bank = world.issuers_with(IssuerRole::Bank);
    let (issuer, medium) = loop {
        let chosen = match category {
            Category::QdLocal => home.first().copied(),
            Category::QdM1 => home.first().copied(),
            Category::QdMohurd => home.get(1).copied(),
            Category::QdMot => home.get(2).copied(),
            Category::Rizhao => pick(&mut rng, &partner),
            Category::MohurdVisitor => pick(&mut rng, &mohurd_cities),
            Category::MotVisitor => pick(&mut rng, &mot_cities),
            Category::Pboc => {
                // 70 % Qingdao's co-branded card, the rest Ningbo's.
                if bank.len() > 1 && rng.below(10) >= 7 {
                    bank.get(1).copied()
                } else {
                    bank.first().copied()
                }
            }
        };
        match chosen {
            Some(i) => {
                let medium = if category == Category::QdM1 {
                    CardMedium::MifareClassic
                } else {
                    CardMedium::Cpu
                };
                break (i, medium);
            }
            None => category = Category::QdLocal,
        }
    };
    let iss = &world.issuers[issuer];
    let visitor = matches!(
        category,
        Category::Rizhao | Category::MohurdVisitor | Category::MotVisitor
    );
    let type_weights: [u32; 6] = if visitor {
        [900, 50, 30, 0, 0, 20]
    } else {
        [700, 120, 100, 30, 30, 20]
    };
    let card_type = CardType::ALL[rng.weighted(&type_weights)];
    let raw = tables
        .card_type_code(iss.scheme, card_type)
        .map_err(|e| SimError::World(e.to_string()))?;
    let card_type_raw = u8::from_str_radix(raw, 16)
        .map_err(|_| SimError::World(format!("card type code {raw} is not one hex byte")))?;
    let digit = match (iss.scheme, medium) {
        (_, CardMedium::MifareClassic) => 5,
        (Scheme::Local, _) => 1,
        (Scheme::Mohurd, _) => 2,
        (Scheme::Mot, _) => 3,
        (Scheme::Pboc, _) => 4,
    };
    let serial: CardSerial = format!(
        "0{}{digit}{:014}",
        iss.id.city_code,
        index % 100_000_000_000_000
    )
    .parse()
    .map_err(|e| SimError::World(format!("card serial: {e}")))?;
    let day = world.day;
    let start = day
        .checked_sub_days(Days::new(rng.range(30, 3000)))
        .unwrap_or(day);
    let expiry = day
        .checked_add_days(Days::new(rng.range(200, 4000)))
        .unwrap_or(day);

    let travels = match category {
        Category::QdLocal => rng.below(100) < 4,
        Category::QdMohurd | Category::QdMot => rng.below(100) < 10,
        _ => false,
    };
    let rizhao = world.cities_with(CityRole::Partner);
    let city_today = if travels {
        let away = match category {
            Category::QdMohurd if rng.below(10) < 7 => world.cities_with(CityRole::Mohurd),
            Category::QdMot if rng.below(10) < 7 => world.cities_with(CityRole::Mot),
            _ => rizhao.clone(),
        };
        pick(&mut rng, &away).unwrap_or(0)
    } else {
        0
    };

    let mut balance = 500 + 10 * rng.below(2_950) as u32;
    if travels || visitor {
        balance += 20_000;
    }
    let commuter = matches!(
        card_type,
        CardType::Adult | CardType::Student | CardType::Staff
    );
    let base = match category {
        Category::QdM1 | Category::Pboc => 3,
        _ if visitor => 4,
        _ if commuter => 5,
        _ => 3,
    };
    Ok(CardSpec {
        index,
        category,
        issuer,
        medium,
        card_type,
        card_type_raw,
        serial,
        start,
        expiry,
        balance: balance.min(MAX_BALANCE),
        offline_seq: rng.below(3_000) as u16,
        online_seq: rng.below(300) as u16,
        city_today,
        weight: base * rng.range(1, 3) as u32,
    })
}

/// The personalisation of a CPU card (M1 cards have none).
pub fn profile(world: &World, spec: &CardSpec) -> CardProfile {
    let iss = &world.issuers[spec.issuer];
    let mut p = CardProfile::new(iss.scheme, spec.serial, iss.keys);
    p.issuer = iss.id;
    p.card_type = spec.card_type_raw;
    p.start_date = spec.start;
    p.expiry_date = spec.expiry;
    p.balance = spec.balance;
    p.max_balance = MAX_BALANCE;
    p.offline_seq = spec.offline_seq;
    p.online_seq = spec.online_seq;
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_are_pure_functions_of_seed_and_index_with_unique_serials() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let tables = CodeTables::builtin();
        let w = World::build(5, day, 0, tables).unwrap();
        let a: Vec<CardSpec> = (0..400)
            .map(|i| card_spec(&w, tables, 5, i).unwrap())
            .collect();
        let b = card_spec(&w, tables, 5, 123).unwrap();
        assert_eq!(a[123], b);
        let mut serials: Vec<_> = a.iter().map(|s| s.serial).collect();
        serials.sort();
        serials.dedup();
        assert_eq!(serials.len(), a.len());
        for c in [
            Category::QdLocal,
            Category::QdM1,
            Category::Pboc,
            Category::MotVisitor,
        ] {
            assert!(a.iter().any(|s| s.category == c), "{c:?}");
        }
        for s in &a {
            assert!(s.start <= day && day <= s.expiry);
            assert!(s.serial.to_string().bytes().all(|b| b.is_ascii_digit()));
            profile(&w, s).validate().unwrap();
        }
    }
}
