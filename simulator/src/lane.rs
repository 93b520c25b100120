//! A lane: one independent generator of the day. It owns a share of the cards (population
//! index ≡ lane mod [`LANES`]), its own terminals (their numbers carry the lane) with their
//! PSAMs and load hosts, and its own random streams. It runs its riders' actions in time order
//! (a heap of next actions), pushes every transaction through the simulated card, PSAM and
//! terminal, applies the per-record faults, and sends the records, in time order, to the
//! merger in batches.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::mpsc::SyncSender;

use card_standards::{
    Acceptance, CanonicalTx, CardMedium, CardType, CityCode, CodeTables, IssuerId, Scheme,
    TerminalId, TxType,
};
use chrono::{NaiveDateTime, TimeDelta};
use conformance::{LoadHost, Psam, SimCard, Terminal, TerminalConfig};

use super::SimError;
use super::plan::{CardFaultKind, LANES, Plan, min_taps};
use super::population::{CardSpec, Category, MAX_BALANCE, card_spec, profile};
use super::rng::{Rng, stream};
use super::world::{BANK, MOHURD, MOT, Operator, OperatorKind, QD, RZ, SimCity, World};

/// Seconds after midnight of the day when service starts.
pub(crate) const DAY_START: i64 = 5 * 3600 + 30 * 60;
/// Seconds after midnight of the day after which no one taps (the last files close at 22:40).
pub(crate) const DAY_END: i64 = 22 * 3600 + 30 * 60;
/// The late riders' evening before the day: 19:00 to 22:20, in seconds relative to the day.
const PRELUDE_START: i64 = -5 * 3600;
const PRELUDE_END: i64 = -(3600 + 40 * 60);

/// Records per batch sent to the merger.
const BATCH: usize = 512;

/// What a record's part in a fault is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// No fault.
    Clean,
    /// The first of a duplicated record.
    DupOriginal,
    /// The repeat of a duplicated record (`R03`).
    DupCopy,
    /// A record whose TAC was altered.
    Tampered,
    /// A record of the genuine card of a clone pair.
    CloneOriginal,
    /// A record of the clone.
    CloneCopy,
    /// A record of a gap card before its missing transaction.
    BeforeGap,
    /// A record of a gap card after its missing transaction.
    AfterGap,
    /// A blacklisted card's record before the blacklisting took effect.
    BeforeReport,
    /// A blacklisted card's record after (`R04`).
    Blacklisted,
    /// A record of the previous evening, for a late file.
    Late,
}

/// A record's fault: its role and, for card and late faults, the ground-truth entry; for
/// duplicates, the lane's number that links the copy to its original.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tag {
    pub(crate) role: Role,
    pub(crate) fault: usize,
}

/// One record on its way to the merger.
#[derive(Debug, Clone)]
pub(crate) struct Emitted {
    /// Seconds since midnight of the day (negative: the previous evening).
    pub(crate) at: i64,
    /// The record.
    pub(crate) tx: CanonicalTx,
    /// Its fault.
    pub(crate) tag: Tag,
}

/// What a lane learned that no record carries.
#[derive(Debug, Clone)]
pub(crate) enum Fact {
    /// A gap card's transaction that was not sent.
    Dropped { fault: usize, tx: Box<CanonicalTx> },
    /// When a blacklisting took effect.
    Effective { fault: usize, at: NaiveDateTime },
}

/// Counts of what a lane did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LaneStats {
    /// Cards by holder category (in the order of [`Category::SHARES`]).
    pub(crate) by_category: [u64; 8],
    /// Cards by issuer (in the order of [`World::issuers`]).
    pub(crate) by_issuer: Vec<u64>,
    /// Transactions of the population today (the `--taps` share), the hidden one included.
    pub(crate) taps: u64,
    /// Transactions of clones.
    pub(crate) clone_taps: u64,
    /// Transactions of the previous evening (late files).
    pub(crate) late_taps: u64,
    /// Purchases (type 06), of which M1.
    pub(crate) purchases: u64,
    /// Composite purchases (type 09), metro entries included.
    pub(crate) composite: u64,
    /// Loads.
    pub(crate) loads: u64,
    /// M1 transactions.
    pub(crate) m1: u64,
    /// Duplicated records written.
    pub(crate) duplicates: u64,
    /// Records with an altered TAC.
    pub(crate) tampered: u64,
    /// Cards that tapped at least once.
    pub(crate) active_cards: u64,
}

impl LaneStats {
    pub(crate) fn add(&mut self, o: &LaneStats) {
        for (a, b) in self.by_category.iter_mut().zip(o.by_category) {
            *a += b;
        }
        if self.by_issuer.len() < o.by_issuer.len() {
            self.by_issuer.resize(o.by_issuer.len(), 0);
        }
        for (a, b) in self.by_issuer.iter_mut().zip(&o.by_issuer) {
            *a += b;
        }
        self.taps += o.taps;
        self.clone_taps += o.clone_taps;
        self.late_taps += o.late_taps;
        self.purchases += o.purchases;
        self.composite += o.composite;
        self.loads += o.loads;
        self.m1 += o.m1;
        self.duplicates += o.duplicates;
        self.tampered += o.tampered;
        self.active_cards += o.active_cards;
    }
}

/// What a lane hands back when its day is done.
#[derive(Debug)]
pub(crate) struct LaneOutcome {
    pub(crate) stats: LaneStats,
    pub(crate) facts: Vec<Fact>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RiderFault {
    CloneOriginal,
    CloneCopy,
    Gap,
    Blacklisted,
    Late,
}

#[derive(Debug, Clone, Copy)]
struct MetroExit {
    city: usize,
    op: usize,
    entry: u16,
}

#[derive(Debug)]
struct Rider {
    spec: CardSpec,
    card: Option<Box<SimCard>>,
    /// M1 wallet: balance and counter.
    m1: (u32, u16),
    left: u64,
    planned: u64,
    done: u64,
    prelude_left: u8,
    late: Option<usize>,
    exit: Option<MetroExit>,
    fault: Option<(usize, RiderFault)>,
    effective: Option<i64>,
    dropped: bool,
}

impl Rider {
    fn new(spec: CardSpec) -> Rider {
        let m1 = (spec.balance, spec.offline_seq);
        Rider {
            spec,
            card: None,
            m1,
            left: 0,
            planned: 0,
            done: 0,
            prelude_left: 0,
            late: None,
            exit: None,
            fault: None,
            effective: None,
            dropped: false,
        }
    }

    fn is_m1(&self) -> bool {
        self.spec.medium == CardMedium::MifareClassic
    }

    /// Composite purchases need the scheme's composite files; PBOC cards and M1 have none.
    fn composite(&self, world: &World) -> bool {
        !self.is_m1() && world.issuers[self.spec.issuer].scheme != Scheme::Pboc
    }

    fn balance(&self) -> u32 {
        match &self.card {
            Some(c) => c.purse().balance,
            None if self.is_m1() => self.m1.0,
            None => self.spec.balance,
        }
    }
}

/// Whether an operator's terminals take this card.
fn accepts(op: &Operator, category: Category, m1: bool) -> bool {
    match op.acquirer {
        QD => {
            !m1 || matches!(
                op.kind,
                OperatorKind::Bus | OperatorKind::Ferry | OperatorKind::Recharge
            )
        }
        BANK => !m1 && (category.is_qingdao_cpu() || category == Category::Rizhao),
        RZ => category.is_qingdao_cpu(),
        MOHURD => category == Category::QdMohurd,
        MOT => category == Category::QdMot,
        _ => false,
    }
}

fn trip_weight(kind: OperatorKind) -> u32 {
    match kind {
        OperatorKind::Bus => 40,
        OperatorKind::Metro => 25,
        OperatorKind::Ferry => 3,
        OperatorKind::Taxi => 6,
        OperatorKind::Tunnel => 4,
        OperatorKind::Shop => 6,
        OperatorKind::Recharge => 0,
    }
}

/// The most a trip of this kind costs (a rider with less loads first).
fn max_fare(kind: OperatorKind) -> u32 {
    match kind {
        OperatorKind::Bus => 200,
        OperatorKind::Metro | OperatorKind::Ferry => 700,
        OperatorKind::Taxi => 6_000,
        OperatorKind::Tunnel => 2_000,
        OperatorKind::Shop => 5_000,
        OperatorKind::Recharge => 0,
    }
}

fn concession(t: CardType) -> bool {
    matches!(
        t,
        CardType::Student | CardType::Elderly | CardType::Disabled | CardType::Staff
    )
}

/// The metro fare between two stations: 2 yuan, 1 more per 4 stations, at most 7.
fn metro_fare(a: u16, b: u16) -> u32 {
    (200 + 100 * u32::from(a.abs_diff(b) / 4)).min(700)
}

/// A lane's terminals: `[city][operator][terminal]`.
struct Terminals(Vec<Vec<Vec<Terminal>>>);

fn bcd2(digits: &str) -> [u8; 2] {
    let d: Vec<u8> = digits
        .bytes()
        .map(|b| b.wrapping_sub(b'0') & 0x0F)
        .collect();
    let get = |i: usize| d.get(i).copied().unwrap_or(0);
    [(get(0) << 4) | get(1), (get(2) << 4) | get(3)]
}

impl Terminals {
    fn build(world: &World, lane: u8, rng: &mut Rng) -> Result<Terminals, SimError> {
        let mut cities = Vec::with_capacity(world.cities.len());
        for city in &world.cities {
            let mut ops = Vec::with_capacity(city.operators.len());
            for op in &city.operators {
                let mut terms = Vec::with_capacity(usize::from(op.terminals));
                for t in 0..op.terminals {
                    terms.push(terminal(world, city, op, lane, t, rng)?);
                }
                ops.push(terms);
            }
            cities.push(ops);
        }
        Ok(Terminals(cities))
    }
}

fn terminal(
    world: &World,
    city: &SimCity,
    op: &Operator,
    lane: u8,
    t: u16,
    rng: &mut Rng,
) -> Result<Terminal, SimError> {
    let admin = bcd2(&city.admin_code);
    let [hi, lo] = t.to_be_bytes();
    let id = TerminalId([admin[0], admin[1], op.code, lane, hi, lo]);
    let mut psam = Psam::new(id);
    psam.set_next_seq(rng.range(1, 200_000) as u32);
    let mut host = LoadHost::new();
    for iss in &world.issuers {
        psam.add_key(iss.id, 0x01, iss.keys.alg, iss.keys.mpk);
        if op.kind == OperatorKind::Recharge {
            host.add_key(iss.id, 0x01, iss.keys.alg, iss.keys.mlk);
        }
    }
    let mut config = TerminalConfig::new(op.acquirer, op.kind.industry());
    config.operator = Some(op.name.clone());
    config.city = city
        .mot_code
        .parse::<CityCode>()
        .map_err(|e| SimError::World(format!("city {}: {e}", city.key)))?;
    let mut institution = [0u8; 8];
    for (d, s) in institution.iter_mut().zip(op.acquirer.bytes()) {
        *d = s;
    }
    config.institution = institution;
    match op.kind {
        OperatorKind::Bus => {
            config.line = 1 + t % 40 * 3;
            config.vehicle = Some(format!("B{}{:04}", lane, t));
        }
        OperatorKind::Metro => {
            config.line = 1 + t / 12;
            config.station = t + 1;
        }
        OperatorKind::Ferry => config.line = 1,
        OperatorKind::Taxi => config.vehicle = Some(format!("T{}{:04}", lane, t)),
        _ => config.station = t + 1,
    }
    Ok(Terminal::new(config, psam, host))
}

/// One lane's day.
pub(crate) struct Lane<'a> {
    id: u8,
    world: &'a World,
    plan: &'a Plan,
    tables: &'a CodeTables,
    rng: Rng,
    frng: Rng,
    terminals: Terminals,
    riders: Vec<Rider>,
    heap: BinaryHeap<Reverse<(i64, usize)>>,
    out: SyncSender<Vec<Emitted>>,
    batch: Vec<Emitted>,
    dup_links: usize,
    stats: LaneStats,
    facts: Vec<Fact>,
    midnight: NaiveDateTime,
}

impl<'a> Lane<'a> {
    /// Builds the lane: its terminals, its riders and their share of the taps.
    pub(crate) fn new(
        id: u8,
        world: &'a World,
        plan: &'a Plan,
        tables: &'a CodeTables,
        seed: u64,
        out: SyncSender<Vec<Emitted>>,
    ) -> Result<Lane<'a>, SimError> {
        let mut rng = Rng::new(seed, stream::lane_world(id));
        let frng = Rng::new(seed, stream::lane_faults(id));
        let terminals = Terminals::build(world, id, &mut rng)?;
        let mut riders = Vec::new();
        let mut index = u64::from(id);
        while index < plan.cards {
            riders.push(Rider::new(card_spec(world, tables, seed, index)?));
            index += u64::from(LANES);
        }
        let midnight = world.day.and_hms_opt(0, 0, 0).unwrap_or_default();
        let mut lane = Lane {
            id,
            world,
            plan,
            tables,
            rng,
            frng,
            terminals,
            riders,
            heap: BinaryHeap::new(),
            out,
            batch: Vec::with_capacity(BATCH),
            dup_links: 0,
            stats: LaneStats::default(),
            facts: Vec::new(),
            midnight,
        };
        lane.stats.by_issuer = vec![0; world.issuers.len()];
        for r in &lane.riders {
            lane.stats.by_issuer[r.spec.issuer] += 1;
            if let Some(c) = Category::SHARES
                .iter()
                .position(|(c, _)| *c == r.spec.category)
            {
                lane.stats.by_category[c] += 1;
            }
        }
        lane.share_taps();
        lane.place_faults();
        Ok(lane)
    }

    /// Shares the lane's taps between its riders by weight, then gives the faulty cards the
    /// taps their faults need, taken from the busiest riders.
    fn share_taps(&mut self) {
        let budget = self.plan.budgets[usize::from(self.id)];
        let n = self.riders.len();
        if n == 0 {
            return;
        }
        let total: u64 = self.riders.iter().map(|r| u64::from(r.spec.weight)).sum();
        let mut given = 0;
        for r in &mut self.riders {
            r.left =
                (u128::from(budget) * u128::from(r.spec.weight) / u128::from(total.max(1))) as u64;
            given += r.left;
        }
        let start = self.rng.below(n as u64) as usize;
        for k in 0..(budget - given) as usize {
            self.riders[(start + k) % n].left += 1;
        }
        for i in 0..n {
            let Some(f) = self.plan.card_faults.get(&self.riders[i].spec.index) else {
                continue;
            };
            let need = min_taps(f.kind);
            while self.riders[i].left < need {
                let donor = (0..n)
                    .filter(|&j| {
                        j != i
                            && !self
                                .plan
                                .card_faults
                                .contains_key(&self.riders[j].spec.index)
                    })
                    .max_by_key(|&j| (self.riders[j].left, Reverse(j)));
                match donor {
                    Some(j) if self.riders[j].left > 0 => self.riders[j].left -= 1,
                    _ => {}
                }
                self.riders[i].left += 1;
            }
        }
        for r in &mut self.riders {
            r.planned = r.left;
        }
    }

    /// Marks the faulty riders, adds the clones, and schedules everyone's first action.
    fn place_faults(&mut self) {
        let n = self.riders.len();
        for i in 0..n {
            let Some(f) = self
                .plan
                .card_faults
                .get(&self.riders[i].spec.index)
                .copied()
            else {
                continue;
            };
            match f.kind {
                CardFaultKind::Clone => {
                    self.riders[i].fault = Some((f.fault, RiderFault::CloneOriginal));
                    let mut clone = Rider::new(self.riders[i].spec.clone());
                    clone.fault = Some((f.fault, RiderFault::CloneCopy));
                    clone.left = self.rng.range(2, 4);
                    clone.planned = clone.left;
                    self.riders.push(clone);
                }
                CardFaultKind::Gap => self.riders[i].fault = Some((f.fault, RiderFault::Gap)),
                CardFaultKind::Blacklisted => {
                    self.riders[i].fault = Some((f.fault, RiderFault::Blacklisted));
                }
                CardFaultKind::Late { late } => {
                    let r = &mut self.riders[i];
                    r.fault = Some((f.fault, RiderFault::Late));
                    r.late = Some(late);
                    r.prelude_left = self.rng.range(1, 3) as u8;
                }
            }
        }
        for i in 0..self.riders.len() {
            let r = &self.riders[i];
            let at = if r.prelude_left > 0 {
                self.rng.range_i64(PRELUDE_START, PRELUDE_END - 3600)
            } else if r.left == 0 {
                continue;
            } else if matches!(r.fault, Some((_, RiderFault::CloneCopy))) {
                self.rng.range_i64(12 * 3600, 18 * 3600)
            } else {
                self.first_time(r.left)
            };
            self.heap.push(Reverse((at, i)));
        }
    }

    fn first_time(&mut self, left: u64) -> i64 {
        let span = (DAY_END - DAY_START) as u64;
        let window = (2 * span / (left + 1)).clamp(60, 4 * 3600);
        DAY_START + self.rng.below(window) as i64
    }

    fn next_time(&mut self, t: i64, left: u64) -> i64 {
        if t >= DAY_END - 60 {
            return (t + 20).min(DAY_END);
        }
        let mean = ((DAY_END - t) as u64 / (left + 1)).max(1);
        let gap = (mean * self.rng.range(300, 1700) / 1000).max(60);
        (t + gap as i64).min(DAY_END)
    }

    /// Runs the lane's day and sends every record; returns its counts and facts.
    pub(crate) fn run(mut self) -> Result<LaneOutcome, SimError> {
        self.stats.active_cards = self
            .riders
            .iter()
            .filter(|r| r.left > 0 && !matches!(r.fault, Some((_, RiderFault::CloneCopy))))
            .count() as u64;
        while let Some(Reverse((t, r))) = self.heap.pop() {
            self.act(r, t)?;
        }
        self.flush()?;
        Ok(LaneOutcome {
            stats: self.stats,
            facts: self.facts,
        })
    }

    fn flush(&mut self) -> Result<(), SimError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        self.out.send(batch).map_err(|_| SimError::Stopped)
    }

    fn time(&self, at: i64) -> NaiveDateTime {
        self.midnight + TimeDelta::seconds(at)
    }

    fn schedule(&mut self, r: usize, at: i64) {
        self.heap.push(Reverse((at, r)));
    }

    /// The rider's next action at `t`.
    fn act(&mut self, r: usize, t: i64) -> Result<(), SimError> {
        if self.riders[r].prelude_left > 0 {
            return self.prelude(r, t);
        }
        if let Some(exit) = self.riders[r].exit.take() {
            self.metro_exit(r, t, exit)?;
            return self.after(r, t);
        }
        let city = self.riders[r].spec.city_today;
        let Some(op) = self.choose_trip(r, city) else {
            // Nothing here takes the card: the rider does nothing more today.
            self.riders[r].left = 0;
            return Ok(());
        };
        let kind = self.world.cities[city].operators[op].kind;
        let balance = self.riders[r].balance();
        let low = balance < 3_000 && self.rng.below(4) == 0;
        if (balance < max_fare(kind) || low)
            && let Some(recharge) = self.recharge_point(r, city)
            && let Some(amount) = self.load_amount(balance)
        {
            self.load(r, t, city, recharge, amount)?;
            let left = self.consume(r);
            if left > 0 {
                let at = (t + self.rng.range_i64(60, 300)).min(DAY_END);
                self.schedule(r, at);
            }
            return Ok(());
        }
        self.trip(r, t, city, op)?;
        if self.riders[r].exit.is_some() {
            return Ok(());
        }
        self.after(r, t)
    }

    /// Counts an action done; returns the actions left.
    fn consume(&mut self, r: usize) -> u64 {
        let rider = &mut self.riders[r];
        rider.left = rider.left.saturating_sub(1);
        rider.done += 1;
        rider.left
    }

    fn after(&mut self, r: usize, t: i64) -> Result<(), SimError> {
        let left = self.consume(r);
        if left > 0 {
            let at = self.next_time(t, left);
            self.schedule(r, at);
        }
        Ok(())
    }

    fn choose_trip(&mut self, r: usize, city: usize) -> Option<usize> {
        let rider = &self.riders[r];
        let c = &self.world.cities[city];
        let weights: Vec<u32> = c
            .operators
            .iter()
            .map(|o| {
                if !accepts(o, rider.spec.category, rider.is_m1()) {
                    return 0;
                }
                if o.kind == OperatorKind::Metro && rider.composite(self.world) && rider.left < 2 {
                    return 0;
                }
                trip_weight(o.kind)
            })
            .collect();
        if weights.iter().all(|w| *w == 0) {
            return None;
        }
        Some(self.rng.weighted(&weights))
    }

    fn recharge_point(&self, r: usize, city: usize) -> Option<usize> {
        let rider = &self.riders[r];
        self.world.cities[city].operators.iter().position(|o| {
            o.kind == OperatorKind::Recharge && accepts(o, rider.spec.category, rider.is_m1())
        })
    }

    fn load_amount(&mut self, balance: u32) -> Option<u32> {
        let room = MAX_BALANCE.saturating_sub(balance);
        let fits: Vec<u32> = [5_000, 10_000, 20_000, 50_000]
            .into_iter()
            .filter(|a| *a <= room)
            .collect();
        if fits.is_empty() {
            None
        } else {
            Some(fits[self.rng.below(fits.len() as u64) as usize])
        }
    }

    fn pick_terminal(&mut self, city: usize, op: usize) -> usize {
        let n = self.terminals.0[city][op].len() as u64;
        self.rng.below(n) as usize
    }

    fn fare(&mut self, r: usize, kind: OperatorKind, city: usize) -> u32 {
        let half = concession(self.riders[r].spec.card_type);
        let discount = |f: u32| if half { f / 2 } else { f };
        match kind {
            OperatorKind::Bus => discount(if self.world.cities[city].key == "rizhao" {
                100
            } else {
                200
            }),
            OperatorKind::Ferry => discount(700),
            OperatorKind::Metro => discount(metro_fare(0, self.rng.below(28) as u16)),
            OperatorKind::Taxi => 1_000 + 10 * self.rng.below(500) as u32,
            OperatorKind::Tunnel => {
                if self.rng.below(10) < 3 {
                    2_000
                } else {
                    1_000
                }
            }
            OperatorKind::Shop => 100 + self.rng.below(4_900) as u32,
            OperatorKind::Recharge => 0,
        }
    }

    /// One trip (or the entry half of a metro trip).
    fn trip(&mut self, r: usize, t: i64, city: usize, op: usize) -> Result<(), SimError> {
        let kind = self.world.cities[city].operators[op].kind;
        let composite = self.riders[r].composite(self.world);
        if kind == OperatorKind::Metro && composite {
            // The entry gate: a 0-fen composite purchase writes the trip's record (进站).
            let entry = self.pick_terminal(city, op);
            let tx = self.pay(r, t, city, op, entry, 0, true)?;
            self.emit(r, t, tx)?;
            let ride = self.rng.range_i64(8 * 60, 45 * 60);
            self.riders[r].exit = Some(MetroExit {
                city,
                op,
                entry: entry as u16,
            });
            self.consume(r);
            let at = (t + ride).min(DAY_END);
            self.schedule(r, at);
            return Ok(());
        }
        let term = self.pick_terminal(city, op);
        let amount = self.fare(r, kind, city).min(self.riders[r].balance());
        let composite = composite && matches!(kind, OperatorKind::Bus | OperatorKind::Ferry);
        if kind == OperatorKind::Bus {
            let stop = self.rng.range(1, 30) as u16;
            self.terminals.0[city][op][term].reconfigure(|c| c.station = stop);
        }
        let mut tx = self.pay(r, t, city, op, term, amount, composite)?;
        match kind {
            OperatorKind::Taxi | OperatorKind::Shop => {
                tx.acceptance.line = None;
                tx.acceptance.station = None;
            }
            OperatorKind::Tunnel => {
                tx.acceptance.line = None;
                tx.acceptance.vehicle = Some(format!("LU-B{:05}", self.rng.below(100_000)));
            }
            _ => {}
        }
        self.emit(r, t, tx)
    }

    fn metro_exit(&mut self, r: usize, t: i64, exit: MetroExit) -> Result<(), SimError> {
        let n = self.terminals.0[exit.city][exit.op].len() as u16;
        let mut gate = self.rng.below(u64::from(n)) as u16;
        if gate == exit.entry {
            gate = (gate + 1 + self.rng.below(u64::from(n.max(2) - 1)) as u16) % n.max(1);
        }
        let half = concession(self.riders[r].spec.card_type);
        let fare = metro_fare(exit.entry, gate);
        let fare = if half { fare / 2 } else { fare };
        let fare = fare.min(self.riders[r].balance());
        let tx = self.pay(r, t, exit.city, exit.op, usize::from(gate), fare, true)?;
        self.emit(r, t, tx)
    }

    /// Pushes a purchase through the card, PSAM and terminal (or the M1 wallet).
    #[allow(clippy::too_many_arguments)]
    fn pay(
        &mut self,
        r: usize,
        t: i64,
        city: usize,
        op: usize,
        term: usize,
        amount: u32,
        composite: bool,
    ) -> Result<CanonicalTx, SimError> {
        let when = self.time(t);
        let world = self.world;
        let rider = &mut self.riders[r];
        let terminal = &mut self.terminals.0[city][op][term];
        if rider.is_m1() {
            self.stats.m1 += 1;
            self.stats.purchases += 1;
            let issuer = world.issuers[rider.spec.issuer].id;
            return m1_tx(
                self.tables,
                issuer,
                terminal,
                rider,
                TxType::EP_PURCHASE,
                amount,
                when,
            );
        }
        let scheme = world.issuers[rider.spec.issuer].scheme;
        let card = personalised(world, rider)?;
        if composite {
            self.stats.composite += 1;
            Ok(terminal.composite_purchase(card, scheme, amount, when)?)
        } else {
            self.stats.purchases += 1;
            Ok(terminal.purchase(card, scheme, amount, when)?)
        }
    }

    fn load(
        &mut self,
        r: usize,
        t: i64,
        city: usize,
        op: usize,
        amount: u32,
    ) -> Result<(), SimError> {
        let when = self.time(t);
        let term = self.pick_terminal(city, op);
        let world = self.world;
        let rider = &mut self.riders[r];
        let terminal = &mut self.terminals.0[city][op][term];
        self.stats.loads += 1;
        let mut tx = if rider.is_m1() {
            self.stats.m1 += 1;
            let issuer = world.issuers[rider.spec.issuer].id;
            m1_tx(
                self.tables,
                issuer,
                terminal,
                rider,
                TxType::EP_LOAD,
                amount,
                when,
            )?
        } else {
            let scheme = world.issuers[rider.spec.issuer].scheme;
            let card = personalised(world, rider)?;
            terminal.load(card, scheme, amount, when)?
        };
        tx.acceptance.line = None;
        self.emit(r, t, tx)
    }

    /// The late riders' evening before: one to three purchases where the late file's
    /// acquirer acquires.
    fn prelude(&mut self, r: usize, t: i64) -> Result<(), SimError> {
        let late = self.riders[r].late.unwrap_or_default();
        let plan = &self.plan.late[late];
        let city = plan.city;
        let acquirer = plan.acquirer;
        let rider = &self.riders[r];
        let weights: Vec<u32> = self.world.cities[city]
            .operators
            .iter()
            .map(|o| {
                let single = matches!(
                    o.kind,
                    OperatorKind::Bus | OperatorKind::Taxi | OperatorKind::Shop
                );
                u32::from(
                    single && o.acquirer == acquirer && accepts(o, rider.spec.category, false),
                )
            })
            .collect();
        if weights.iter().any(|w| *w > 0) {
            let op = self.rng.weighted(&weights);
            let kind = self.world.cities[city].operators[op].kind;
            let term = self.pick_terminal(city, op);
            let amount = self.fare(r, kind, city).min(self.riders[r].balance() / 8);
            let mut tx = self.pay(r, t, city, op, term, amount, false)?;
            if kind != OperatorKind::Bus {
                tx.acceptance.line = None;
                tx.acceptance.station = None;
            }
            self.stats.late_taps += 1;
            self.emit(r, t, tx)?;
        }
        let rider = &mut self.riders[r];
        rider.prelude_left -= 1;
        let next = if rider.prelude_left > 0 {
            Some((t + self.rng.range_i64(300, 1800)).min(PRELUDE_END))
        } else if rider.left > 0 {
            let left = rider.left;
            Some(self.first_time(left))
        } else {
            None
        };
        if let Some(at) = next {
            self.schedule(r, at);
        }
        Ok(())
    }

    fn push(&mut self, at: i64, tx: CanonicalTx, role: Role, fault: usize) -> Result<(), SimError> {
        self.batch.push(Emitted {
            at,
            tx,
            tag: Tag { role, fault },
        });
        if self.batch.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    /// Sends a record with its fault: card faults by the rider's role, per-record faults by
    /// their rates.
    fn emit(&mut self, r: usize, at: i64, mut tx: CanonicalTx) -> Result<(), SimError> {
        let rider = &mut self.riders[r];
        let prelude = at < 0;
        match rider.fault {
            Some((_, RiderFault::CloneCopy)) => self.stats.clone_taps += 1,
            _ if prelude => {}
            _ => self.stats.taps += 1,
        }
        let role = match rider.fault {
            Some((fault, RiderFault::Late)) if prelude => Some((Role::Late, fault)),
            Some((fault, RiderFault::CloneOriginal)) => Some((Role::CloneOriginal, fault)),
            Some((fault, RiderFault::CloneCopy)) => Some((Role::CloneCopy, fault)),
            Some((fault, RiderFault::Gap)) => {
                // The action being emitted is number `done + 1` of the day.
                if !rider.dropped && rider.done + 1 == 2 {
                    rider.dropped = true;
                    self.facts.push(Fact::Dropped {
                        fault,
                        tx: Box::new(tx),
                    });
                    return Ok(());
                }
                let role = if rider.dropped {
                    Role::AfterGap
                } else {
                    Role::BeforeGap
                };
                Some((role, fault))
            }
            Some((fault, RiderFault::Blacklisted)) => {
                let effective = match rider.effective {
                    Some(e) => e,
                    None => {
                        let e = if rider.planned >= 2 {
                            at + 60
                        } else {
                            at - 3600
                        };
                        rider.effective = Some(e);
                        let when = self.midnight + TimeDelta::seconds(e);
                        self.facts.push(Fact::Effective { fault, at: when });
                        e
                    }
                };
                let role = if at >= effective {
                    Role::Blacklisted
                } else {
                    Role::BeforeReport
                };
                Some((role, fault))
            }
            _ => None,
        };
        if let Some((role, fault)) = role {
            return self.push(at, tx, role, fault);
        }
        let faults = self.plan.faults;
        if let Some(tac) = &mut tx.tac
            && self
                .frng
                .chance_ppm(faults.get(super::faults::FaultKind::Tac))
        {
            tac.0[self.frng.below(4) as usize] ^= 1 + self.frng.below(255) as u8;
            self.stats.tampered += 1;
            return self.push(at, tx, Role::Tampered, 0);
        }
        if self
            .frng
            .chance_ppm(faults.get(super::faults::FaultKind::DupRecord))
        {
            self.dup_links += 1;
            let link = self.dup_links;
            self.stats.duplicates += 1;
            self.push(at, tx.clone(), Role::DupOriginal, link)?;
            return self.push(at, tx, Role::DupCopy, link);
        }
        self.push(at, tx, Role::Clean, 0)
    }
}

fn personalised<'r>(world: &World, rider: &'r mut Rider) -> Result<&'r mut SimCard, SimError> {
    if rider.card.is_none() {
        let card = SimCard::personalise(&profile(world, &rider.spec))?;
        rider.card = Some(Box::new(card));
    }
    rider
        .card
        .as_deref_mut()
        .ok_or_else(|| SimError::Internal("card not personalised".into()))
}

/// A legacy M1 wallet transaction: the terminal's SAM counter, no TAC.
fn m1_tx(
    tables: &CodeTables,
    issuer: IssuerId,
    terminal: &mut Terminal,
    rider: &mut Rider,
    tx_type: TxType,
    amount: u32,
    when: NaiveDateTime,
) -> Result<CanonicalTx, SimError> {
    let (balance, counter) = rider.m1;
    let after = if tx_type == TxType::EP_LOAD {
        balance.saturating_add(amount)
    } else {
        balance.saturating_sub(amount)
    };
    let terminal_seq = terminal.psam().next_seq();
    terminal
        .psam_mut()
        .set_next_seq(terminal_seq.wrapping_add(1));
    rider.m1 = (after, counter.wrapping_add(1));
    let c = terminal.config();
    let raw = format!("{:02X}", rider.spec.card_type_raw);
    let card_type = tables
        .card_type(Scheme::Local, &raw)
        .map_err(|e| SimError::World(e.to_string()))?;
    Ok(CanonicalTx {
        scheme: Scheme::Local,
        issuer,
        card_serial: rider.spec.serial,
        card_type,
        card_type_raw: raw,
        medium: CardMedium::MifareClassic,
        tx_type,
        amount_fen: i64::from(amount),
        balance_before_fen: i64::from(balance),
        card_seq: counter,
        terminal: terminal.psam().terminal(),
        terminal_seq,
        tx_time: when,
        key_version: 0,
        alg_id: 0,
        tac: None,
        auth_code: None,
        acceptance: Acceptance {
            acquirer: c.acquirer.clone(),
            operator: c.operator.clone(),
            industry: c.industry,
            line: Some(c.line.to_string()),
            station: Some(c.station.to_string()),
            vehicle: c.vehicle.clone(),
        },
        provenance: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fares_and_codes() {
        assert_eq!(metro_fare(3, 3), 200);
        assert_eq!(metro_fare(0, 9), 400);
        assert_eq!(metro_fare(0, 27), 700);
        assert_eq!(bcd2("370200"), [0x37, 0x02]);
        assert!(concession(CardType::Elderly) && !concession(CardType::Adult));
    }
}
