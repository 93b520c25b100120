//! Runs catalogue cases against a source of cards — fresh simulated cards, or one real card
//! behind a [`CardReader`] — and collects verdicts and APDU traces into a [`Report`].

use std::fmt;
use std::time::{Duration, Instant};

use card_standards::Scheme;
use chrono::NaiveDateTime;

use crate::card::SimCard;
use crate::catalogue::{Case, CaseRun, Setup};
use crate::profile::IssuerKeys;
use crate::reader::{CardReader, TraceEvent};

/// A case's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every check held.
    Passed,
    /// A check failed, or the card or reader failed.
    Failed,
    /// The card under test cannot run the case (another scheme, special personalisation).
    Skipped,
}

impl Verdict {
    /// `PASS`, `FAIL` or `SKIP`.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Passed => "PASS",
            Verdict::Failed => "FAIL",
            Verdict::Skipped => "SKIP",
        }
    }
}

/// One case's outcome.
#[derive(Debug, Clone)]
pub struct CaseReport {
    /// The case id.
    pub id: String,
    /// The case title.
    pub title: &'static str,
    /// The scheme.
    pub scheme: Scheme,
    /// The standard and clause checked.
    pub reference: &'static str,
    /// Passed, failed or skipped.
    pub verdict: Verdict,
    /// Why it failed or was skipped.
    pub message: Option<String>,
    /// Every APDU exchanged, with notes.
    pub trace: Vec<TraceEvent>,
    /// How long preparing and running the case took (wall time, for the JUnit `time`; the
    /// only clock the crate reads, and it never changes a verdict).
    pub duration: Duration,
}

/// Counts of verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Cases passed.
    pub passed: usize,
    /// Cases failed.
    pub failed: usize,
    /// Cases skipped.
    pub skipped: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct Report {
    /// What the cases ran against.
    pub target: String,
    /// The run's clock in China Standard Time, UTC+08:00 (transaction times start one second
    /// after it).
    pub started: NaiveDateTime,
    /// One report per case, in catalogue order.
    pub cases: Vec<CaseReport>,
}

impl Report {
    /// Counts of verdicts.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for case in &self.cases {
            match case.verdict {
                Verdict::Passed => s.passed += 1,
                Verdict::Failed => s.failed += 1,
                Verdict::Skipped => s.skipped += 1,
            }
        }
        s
    }

    /// True when no case failed and at least one passed.
    pub fn succeeded(&self) -> bool {
        let s = self.summary();
        s.failed == 0 && s.passed > 0
    }
}

/// The card a source prepared for a case.
pub struct CardUnderTest<'a> {
    /// The card.
    pub reader: &'a mut dyn CardReader,
    /// The issuer keys it was personalised with.
    pub keys: IssuerKeys,
    /// The key index of its DPK and DLK.
    pub key_index: u8,
}

/// Why a source has no card for a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    /// The card cannot run this case: the case is skipped.
    Skip(String),
    /// Preparing the card failed: the case fails.
    Error(String),
}

/// Where cards for the cases come from.
pub trait CardSource {
    /// What the cases run against, for the report.
    fn describe(&self) -> String;

    /// A card for `case`, in the state the case expects.
    fn prepare(&mut self, case: &Case) -> Result<CardUnderTest<'_>, Unavailable>;
}

/// A fresh simulated card per case, personalised with the catalogue's test profile and the
/// case's [`Setup`].
#[derive(Debug, Default)]
pub struct SimulatedCards {
    card: Option<SimCard>,
}

impl SimulatedCards {
    /// A source of simulated cards.
    pub fn new() -> SimulatedCards {
        SimulatedCards::default()
    }
}

impl CardSource for SimulatedCards {
    fn describe(&self) -> String {
        "simulated cards personalised with the catalogue's test keys".to_string()
    }

    fn prepare(&mut self, case: &Case) -> Result<CardUnderTest<'_>, Unavailable> {
        let profile = case.simulated_profile();
        let card = SimCard::personalise(&profile).map_err(|e| Unavailable::Error(e.to_string()))?;
        Ok(CardUnderTest {
            reader: self.card.insert(card),
            keys: profile.keys,
            key_index: profile.key_index,
        })
    }
}

/// One real card of a known scheme behind a reader, with the issuer master keys it was
/// personalised with. Cases of other schemes, cases for the other algorithm and cases that
/// need a specially personalised card are skipped; the card is reset before each case.
#[derive(Debug)]
pub struct RealCard<R> {
    reader: R,
    scheme: Scheme,
    keys: IssuerKeys,
    key_index: u8,
}

impl<R: CardReader> RealCard<R> {
    /// A real card of `scheme` whose keys were diversified from `keys`, answering INITIALIZE
    /// for `key_index`.
    pub fn new(reader: R, scheme: Scheme, keys: IssuerKeys, key_index: u8) -> RealCard<R> {
        RealCard {
            reader,
            scheme,
            keys,
            key_index,
        }
    }
}

impl<R: CardReader> CardSource for RealCard<R> {
    fn describe(&self) -> String {
        format!(
            "{} ({} card, {} keys)",
            self.reader.describe(),
            self.scheme,
            self.keys.alg
        )
    }

    fn prepare(&mut self, case: &Case) -> Result<CardUnderTest<'_>, Unavailable> {
        if case.scheme != self.scheme {
            return Err(Unavailable::Skip(format!(
                "the card under test is a {} card",
                self.scheme
            )));
        }
        match case.setup {
            Setup::Standard => {}
            Setup::Algorithm(alg) if alg == self.keys.alg => {}
            Setup::Algorithm(alg) => {
                return Err(Unavailable::Skip(format!(
                    "needs a card with {alg} keys; the card under test has {} keys",
                    self.keys.alg
                )));
            }
            Setup::Special { needs, .. } => {
                return Err(Unavailable::Skip(format!("needs {needs}")));
            }
        }
        self.reader
            .reset()
            .map_err(|e| Unavailable::Error(e.to_string()))?;
        Ok(CardUnderTest {
            reader: &mut self.reader,
            keys: self.keys,
            key_index: self.key_index,
        })
    }
}

/// Runs one case.
pub fn run_case(case: &Case, source: &mut dyn CardSource, now: NaiveDateTime) -> CaseReport {
    let begun = Instant::now();
    let mut report = CaseReport {
        id: case.id.clone(),
        title: case.title,
        scheme: case.scheme,
        reference: case.reference,
        verdict: Verdict::Passed,
        message: None,
        trace: Vec::new(),
        duration: Duration::ZERO,
    };
    match source.prepare(case) {
        Err(Unavailable::Skip(why)) => {
            report.verdict = Verdict::Skipped;
            report.message = Some(why);
        }
        Err(Unavailable::Error(why)) => {
            report.verdict = Verdict::Failed;
            report.message = Some(format!("preparing the card failed: {why}"));
        }
        Ok(card) => {
            let mut ctx = CaseRun::new(case.scheme, card.reader, card.keys, card.key_index, now);
            // A case is code written against cards that may answer anything: a panic in it
            // fails that case, not the run.
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| case.run(&mut ctx)))
                    .unwrap_or_else(|panic| {
                        let what = panic
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_default();
                        Err(format!("the case panicked: {what}"))
                    });
            if let Err(why) = outcome {
                report.verdict = Verdict::Failed;
                report.message = Some(why);
            }
            report.trace = ctx.take_trace();
        }
    }
    report.duration = begun.elapsed();
    report
}

/// Runs the cases in order and calls `on_case` as each finishes (for progress output).
pub fn run_each(
    cases: &[Case],
    source: &mut dyn CardSource,
    now: NaiveDateTime,
    mut on_case: impl FnMut(&CaseReport),
) -> Report {
    let mut reports = Vec::with_capacity(cases.len());
    for case in cases {
        let report = run_case(case, source, now);
        on_case(&report);
        reports.push(report);
    }
    Report {
        target: source.describe(),
        started: now,
        cases: reports,
    }
}

/// Runs the cases in order.
pub fn run(cases: &[Case], source: &mut dyn CardSource, now: NaiveDateTime) -> Report {
    run_each(cases, source, now, |_| {})
}
