//! The planner: before any tap, decides which cards carry the counted faults (clones, gaps,
//! blacklisted cards, the riders of late files) and how the day's taps are shared between the
//! lanes. It draws from its own stream, so the plan depends only on the seed and the sizes.

use std::collections::BTreeMap;

use card_standards::{CardMedium, CodeTables};

use super::SimError;
use super::faults::{FaultKind, FaultSpec};
use super::population::{CardSpec, Category, card_spec};
use super::rng::{Rng, stream};
use super::truth::TruthBuilder;
use super::world::{BANK, CityRole, MOHURD, MOT, QD, RZ, World};

/// The number of lanes: independent generators, each with its own cards, terminals and random
/// streams. Fixed, so that the output does not depend on the number of cores; the lanes run on
/// as many threads as there are lanes and the operating system shares the cores between them.
pub const LANES: u8 = 4;

/// What a card-level fault does to its card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CardFaultKind {
    /// A second card with the same serial, keys, counters and balance rides too.
    Clone,
    /// The card's second transaction of the day reaches no file.
    Gap,
    /// The card's issuer blacklists it after its first tap of the day.
    Blacklisted,
    /// The card tapped yesterday evening where the late file's acquirer acquires.
    Late {
        /// Index into [`Plan::late`].
        late: usize,
    },
}

/// A card-level fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CardFault {
    /// Index of its entry in the ground truth.
    pub(crate) fault: usize,
    /// What it does.
    pub(crate) kind: CardFaultKind,
}

/// A late file: the previous evening's transactions of one acquirer, delivered today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LatePlan {
    /// Index of its entry in the ground truth.
    pub(crate) fault: usize,
    /// The acquirer whose file is late.
    pub(crate) acquirer: &'static str,
    /// Where its riders tapped.
    pub(crate) city: usize,
}

/// The plan of the day.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// Cards in the population.
    pub(crate) cards: u64,
    /// Taps per lane (they add up to the day's taps).
    pub(crate) budgets: Vec<u64>,
    /// Card-level faults by population index.
    pub(crate) card_faults: BTreeMap<u64, CardFault>,
    /// Late files.
    pub(crate) late: Vec<LatePlan>,
    /// The fault rates and counts.
    pub(crate) faults: FaultSpec,
}

/// The fewest taps a faulty card needs today for its fault to show.
pub(crate) fn min_taps(kind: CardFaultKind) -> u64 {
    match kind {
        CardFaultKind::Clone | CardFaultKind::Blacklisted => 2,
        CardFaultKind::Gap => 4,
        CardFaultKind::Late { .. } => 0,
    }
}

fn late_city(world: &World, acquirer: &str) -> usize {
    let first = |role| world.cities_with(role).first().copied().unwrap_or(0);
    match acquirer {
        RZ => first(CityRole::Partner),
        MOHURD => first(CityRole::Mohurd),
        MOT => first(CityRole::Mot),
        _ => 0,
    }
}

/// Whether a card can tap at the late file's acquirer.
fn late_eligible(spec: &CardSpec, acquirer: &str) -> bool {
    spec.medium == CardMedium::Cpu
        && match acquirer {
            QD => true,
            RZ => spec.category.is_qingdao_cpu(),
            MOHURD => spec.category == Category::QdMohurd,
            MOT => spec.category == Category::QdMot,
            BANK => spec.category.is_qingdao_cpu() || spec.category == Category::Rizhao,
            _ => false,
        }
}

/// Makes the plan and opens the ground truth with the card-level faults it placed.
pub(crate) fn plan(
    world: &World,
    tables: &CodeTables,
    seed: u64,
    cards: u64,
    taps: u64,
    faults: FaultSpec,
    truth: &mut TruthBuilder,
) -> Result<Plan, SimError> {
    let lanes = u64::from(LANES);
    let mut budgets = Vec::with_capacity(usize::from(LANES));
    let mut before = 0u64;
    for lane in 0..lanes {
        let riders = cards / lanes + u64::from(lane < cards % lanes);
        let after = before + riders;
        let share = |n: u64| (u128::from(taps) * u128::from(n) / u128::from(cards.max(1))) as u64;
        budgets.push(share(after) - share(before));
        before = after;
    }

    let mut rng = Rng::new(seed, stream::PLANNER);
    let mut card_faults: BTreeMap<u64, CardFault> = BTreeMap::new();
    let find = |rng: &mut Rng,
                taken: &BTreeMap<u64, CardFault>,
                ok: &dyn Fn(&CardSpec) -> bool|
     -> Result<Option<CardSpec>, SimError> {
        for _ in 0..20_000 {
            let i = rng.below(cards);
            if taken.contains_key(&i) {
                continue;
            }
            let spec = card_spec(world, tables, seed, i)?;
            if ok(&spec) {
                return Ok(Some(spec));
            }
        }
        Ok(None)
    };
    let at_home = |s: &CardSpec| s.category.is_qingdao_cpu() && s.city_today == 0;
    for (kind, fault_kind, ok) in [
        (
            FaultKind::Clone,
            CardFaultKind::Clone,
            &at_home as &dyn Fn(&CardSpec) -> bool,
        ),
        (FaultKind::Gap, CardFaultKind::Gap, &at_home),
        (
            FaultKind::Blacklisted,
            CardFaultKind::Blacklisted,
            &|s: &CardSpec| s.medium == CardMedium::Cpu,
        ),
    ] {
        for _ in 0..faults.get(kind) {
            let Some(spec) = find(&mut rng, &card_faults, ok)? else {
                break;
            };
            let fault = truth.card_fault(world, kind, &spec);
            card_faults.insert(
                spec.index,
                CardFault {
                    fault,
                    kind: fault_kind,
                },
            );
        }
    }

    let rotation = [RZ, QD, MOHURD, MOT, BANK];
    let mut late = Vec::new();
    for k in 0..faults.get(FaultKind::LateFile) as usize {
        let acquirer = rotation[k % rotation.len()];
        let city = late_city(world, acquirer);
        let fault = truth.late_file(acquirer);
        let index = late.len();
        let riders = rng.range(3, 5);
        for _ in 0..riders {
            let Some(spec) = find(&mut rng, &card_faults, &|s: &CardSpec| {
                late_eligible(s, acquirer)
            })?
            else {
                break;
            };
            card_faults.insert(
                spec.index,
                CardFault {
                    fault,
                    kind: CardFaultKind::Late { late: index },
                },
            );
        }
        late.push(LatePlan {
            fault,
            acquirer,
            city,
        });
    }

    Ok(Plan {
        cards,
        budgets,
        card_faults,
        late,
        faults,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_add_up_and_faults_land_on_eligible_cards() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let tables = CodeTables::builtin();
        let w = World::build(3, day, 0, tables).unwrap();
        let mut truth = TruthBuilder::new();
        let faults: FaultSpec = "clone=2,gap=3,blacklisted=2,late-file=2".parse().unwrap();
        let p = plan(&w, tables, 3, 1003, 10_007, faults, &mut truth).unwrap();
        assert_eq!(p.budgets.iter().sum::<u64>(), 10_007);
        assert_eq!(p.late.len(), 2);
        assert_eq!(p.late[0].acquirer, RZ);
        let kinds: Vec<CardFaultKind> = p.card_faults.values().map(|f| f.kind).collect();
        assert_eq!(
            kinds.iter().filter(|k| **k == CardFaultKind::Gap).count(),
            3
        );
        for (i, f) in &p.card_faults {
            let spec = card_spec(&w, tables, 3, *i).unwrap();
            if let CardFaultKind::Late { late } = f.kind {
                assert!(late_eligible(&spec, p.late[late].acquirer));
            } else {
                assert_eq!(spec.medium, CardMedium::Cpu);
            }
        }
    }
}
