//! `ground-truth.json`: every fault the simulator injected, where it is and what the hub should
//! find, and the totals the hub should arrive at per acquirer and per partner.
//!
//! The types serialise to and deserialise from the file, so the demo reads the ground truth
//! with `serde_json::from_reader::<GroundTruth>`.

use std::collections::BTreeMap;

use card_standards::{CanonicalTx, Scheme};
use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::faults::FaultKind;
use super::population::CardSpec;
use super::world::World;

/// The version of the ground truth's layout.
pub const TRUTH_VERSION: u32 = 1;

/// What kind of finding the hub should make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// A record rejected with a reason code (`R02`, `R03`, `R04`).
    Record,
    /// A file rejected whole (`F01`, `F02`) or recognised as a duplicate (`duplicate_file`).
    File,
    /// A discrepancy found by reconciliation (`counter_clash`, `counter_gap`,
    /// `missing_at_partner`, `amount_mismatch`, `late_presentment`, `tac_invalid`).
    Discrepancy,
}

/// A card, as records name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardRef {
    /// Scheme.
    pub scheme: Scheme,
    /// Issuer code.
    pub issuer: String,
    /// Issuer's city code as the card stores it.
    pub city: String,
    /// Application serial, 20 hex digits.
    pub card: String,
}

impl CardRef {
    /// The card of a record.
    pub fn of(tx: &CanonicalTx) -> CardRef {
        CardRef {
            scheme: tx.scheme,
            issuer: tx.issuer.issuer_code.to_string(),
            city: tx.issuer.city_code.to_string(),
            card: tx.card_serial.to_string(),
        }
    }

    pub(crate) fn of_spec(world: &World, spec: &CardSpec) -> CardRef {
        let iss = &world.issuers[spec.issuer];
        CardRef {
            scheme: iss.scheme,
            issuer: iss.id.issuer_code.to_string(),
            city: iss.id.city_code.to_string(),
            card: spec.serial.to_string(),
        }
    }
}

/// One record of a file that shows a fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordRef {
    /// The file, relative to the output directory.
    pub file: String,
    /// The record's 1-based number in the file.
    pub record: u64,
    /// Its part in the fault: `original`, `duplicate`, `tampered`, `card`, `clone`,
    /// `before_gap`, `after_gap`, `before_report`, `blacklisted`, `sent`.
    pub role: String,
    /// The card counter of the record.
    pub card_seq: u16,
    /// `purchase`, `composite_purchase` or `load` (purchases and loads count on different
    /// counters).
    pub kind: String,
    /// What the hub should do with this record: a reason code, or `accepted`.
    pub expect: String,
}

/// A transaction, by its natural key and amount (for the one a gap hides).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxRef {
    /// The card.
    #[serde(flatten)]
    pub card: CardRef,
    /// Card counter as INITIALIZE returned it.
    pub card_seq: u16,
    /// `purchase`, `composite_purchase`, `load`.
    pub kind: String,
    /// Terminal (PSAM) number.
    pub terminal: String,
    /// Terminal counter.
    pub terminal_seq: u32,
    /// Terminal local time.
    pub time: NaiveDateTime,
    /// Amount, fen.
    pub amount_fen: i64,
    /// Who would have acquired it.
    pub acquirer: String,
}

impl TxRef {
    /// The reference of a record.
    pub fn of(tx: &CanonicalTx) -> TxRef {
        TxRef {
            card: CardRef::of(tx),
            card_seq: tx.card_seq,
            kind: tx.kind().as_str().to_string(),
            terminal: tx.terminal.to_string(),
            terminal_seq: tx.terminal_seq,
            time: tx.tx_time,
            amount_fen: tx.amount_fen,
            acquirer: tx.acceptance.acquirer.clone(),
        }
    }
}

/// One injected fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// 1-based, in the order of this list.
    pub id: u32,
    /// Which fault (the `--faults` name).
    pub kind: FaultKind,
    /// Record, file or discrepancy.
    pub level: Level,
    /// What the hub should find: a reason code (`R02`, `R03`, `R04`, `F01`, `F02`),
    /// `duplicate_file`, or a discrepancy type.
    pub expect: String,
    /// For record and file faults the acquirer whose file carries it; for card faults the
    /// participant that clears the card; for result faults the partner that sent the results.
    pub participant: String,
    /// The file at fault (file faults, late files, result faults: the result file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// For a duplicated or damaged delivery: the complete file it copies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<String>,
    /// The records that show the fault, each with what the hub should do with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<RecordRef>,
    /// The card, for record and card faults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<CardRef>,
    /// The card counter at fault (a clash's counter, the gap's missing counter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_seq: Option<u16>,
    /// Blacklisted cards: when the blacklisting took effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective: Option<NaiveDateTime>,
    /// Counter gaps: the transaction that reaches no file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<TxRef>,
    /// Amount mismatches: what the hub sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub_amount_fen: Option<i64>,
    /// Amount mismatches: what the partner's results say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_amount_fen: Option<i64>,
    /// A sentence for people.
    pub detail: String,
}

impl Fault {
    pub(crate) fn new(kind: FaultKind, level: Level, expect: &str, participant: &str) -> Fault {
        Fault {
            id: 0,
            kind,
            level,
            expect: expect.to_string(),
            participant: participant.to_string(),
            file: None,
            original: None,
            records: Vec::new(),
            card: None,
            card_seq: None,
            effective: None,
            missing: None,
            hub_amount_fen: None,
            partner_amount_fen: None,
            detail: String::new(),
        }
    }
}

/// A count of records and their amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Sum {
    /// Records.
    pub records: u64,
    /// Their amounts, fen.
    pub amount_fen: i64,
}

impl Sum {
    /// Adds one record.
    pub fn add(&mut self, amount_fen: i64) {
        self.records += 1;
        self.amount_fen += amount_fen;
    }
}

/// What the hub should accept from an acquirer, per issuer-side participant.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IssuerSums {
    /// The participant that clears the cards.
    pub issuer: String,
    /// Purchases and composite purchases (the issuer pays the acquirer).
    pub purchases: Sum,
    /// Loads (the acquirer pays the issuer).
    pub loads: Sum,
}

/// Totals per acquirer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AcquirerTruth {
    /// Participant code.
    pub code: String,
    /// Its format.
    pub format: String,
    /// Its complete files (the day's and any late one), relative paths, in upload order;
    /// damaged and duplicate deliveries are not listed here (see the faults).
    pub files: Vec<String>,
    /// Every record of those files.
    pub in_files: Sum,
    /// The clean data: what the hub should accept (`in_files` less the rejections below);
    /// late records included.
    pub accepted: Sum,
    /// Of `accepted`, the previous day's records of a late file.
    pub late: Sum,
    /// The records the hub should reject, by reason code.
    pub rejected: BTreeMap<String, Sum>,
    /// `accepted`, per issuer-side participant (on-us included).
    pub by_issuer: Vec<IssuerSums>,
}

/// What a partner should receive and what its result file says.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PartnerTruth {
    /// Participant code.
    pub code: String,
    /// The records the hub should route to it: accepted records on its cards acquired by
    /// someone else.
    pub routed: Sum,
    /// Its result file, relative path.
    pub results_file: String,
    /// The `<Totals>` of that file (after the result faults).
    pub declared: Sum,
    /// Of `declared`, the results it accepted.
    pub declared_accepted: Sum,
    /// Of `declared`, the results it rejected.
    pub declared_rejected: Sum,
}

/// The whole ground truth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroundTruth {
    /// [`TRUTH_VERSION`].
    pub version: u32,
    /// The seed.
    pub seed: u64,
    /// The settlement day.
    pub day: NaiveDate,
    /// The faults spec, normalised.
    pub faults_spec: String,
    /// Every fault injected.
    pub faults: Vec<Fault>,
    /// Totals per acquirer.
    pub acquirers: Vec<AcquirerTruth>,
    /// Totals per result partner.
    pub partners: Vec<PartnerTruth>,
}

/// Collects faults while the simulator runs; ids are given at the end.
#[derive(Debug, Default)]
pub(crate) struct TruthBuilder {
    pub(crate) faults: Vec<Fault>,
}

impl TruthBuilder {
    pub(crate) fn new() -> TruthBuilder {
        TruthBuilder::default()
    }

    pub(crate) fn push(&mut self, f: Fault) -> usize {
        self.faults.push(f);
        self.faults.len() - 1
    }

    /// Opens the entry of a clone, gap or blacklisted card.
    pub(crate) fn card_fault(&mut self, world: &World, kind: FaultKind, spec: &CardSpec) -> usize {
        let participant = world.issuers[spec.issuer].participant;
        let (level, expect, detail) = match kind {
            FaultKind::Clone => (
                Level::Discrepancy,
                "counter_clash",
                "a cloned card: two cards with one serial, keys and counters ride the same day; their records repeat card counters with different terminals (and break the balance chain)",
            ),
            FaultKind::Gap => (
                Level::Discrepancy,
                "counter_gap",
                "the card's second transaction of the day reaches no file: its counter jumps",
            ),
            _ => (
                Level::Record,
                "R04",
                "the card's issuer blacklisted it after its first tap of the day (or before its only one); records from then on must be rejected",
            ),
        };
        let mut f = Fault::new(kind, level, expect, participant);
        f.card = Some(CardRef::of_spec(world, spec));
        f.detail = detail.to_string();
        self.push(f)
    }

    /// Opens the entry of a late file.
    pub(crate) fn late_file(&mut self, acquirer: &str) -> usize {
        let mut f = Fault::new(
            FaultKind::LateFile,
            Level::Discrepancy,
            "late_presentment",
            acquirer,
        );
        f.detail = format!(
            "a file of {acquirer}'s transactions of the previous evening, delivered today: every record is a late presentment"
        );
        self.push(f)
    }

    /// The faults with their ids.
    pub(crate) fn finish(self) -> Vec<Fault> {
        self.faults
            .into_iter()
            .enumerate()
            .map(|(i, mut f)| {
                f.id = i as u32 + 1;
                f
            })
            .collect()
    }
}
