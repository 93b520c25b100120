//! The test catalogue: positive and negative cases per scheme, each with an id, a title, the
//! standard and clause it checks, and the card it needs.
//!
//! A case talks to the card only through a [`CaseRun`], which records every APDU in the
//! case's trace. Cases read the card's state before they act and compare after, so the same
//! case runs against a fresh simulated card and against a real card with a history. Cases
//! whose card must be personalised specially (expired, blocked, counters at the limit, …)
//! say so in their [`Setup`]; a real-card run skips them unless the card under test fits.
//!
//! Ids are `SCHEME-NN`: numbers below 40 are the common cases (the same number checks the same
//! thing in every scheme), 40 and above are scheme-specific.

mod common;
mod specific;

use card_standards::apdu::{
    Balance, BalanceRegister, Command, InitializeForLoadResponse, InitializeForPurchaseResponse,
    ResponseApdu,
};
use card_standards::crypto::Algorithm;
use card_standards::schemes::AuthCodeInMac1;
use card_standards::{AuthCode, CanonicalTx, Purse, Scheme, StatusWord, TacCheck, TxType, bcd};
use chrono::{NaiveDateTime, Timelike};

use crate::error::Error;
use crate::profile::{CardProfile, IssuerKeys};
use crate::psam::{LoadHost, Mac1, Mac1Request, Psam};
use crate::reader::{CardReader, Tear, TearingReader, TraceEvent, TracingReader};
use crate::terminal::{CardInfo, Recovery, Terminal, TerminalConfig};

/// The outcome of a check inside a case: `Err` carries what went wrong, for the report.
pub type Check<T = ()> = std::result::Result<T, String>;

/// Fails the case with a message unless the condition holds.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}
pub(crate) use ensure;

/// The card a case needs.
#[derive(Debug, Clone, Copy)]
pub enum Setup {
    /// The scheme's standard test card (3DES); on a real reader, any card of the scheme.
    Standard,
    /// A card with this algorithm; on a real reader, only if the card's keys are of it.
    Algorithm(Algorithm),
    /// A card personalised specially. The simulated source applies `apply` to the standard
    /// test profile; a real-card run skips the case and reports `needs`.
    Special {
        /// What the card must be like, for the skip message.
        needs: &'static str,
        /// How the simulated source personalises it.
        apply: fn(&mut CardProfile),
    },
}

/// One case of the catalogue.
#[derive(Debug, Clone)]
pub struct Case {
    /// `SCHEME-NN`, e.g. `MOHURD-05`.
    pub id: String,
    /// What the case checks, as a sentence.
    pub title: &'static str,
    /// The scheme whose card it runs against.
    pub scheme: Scheme,
    /// The standard and clause it checks, where known, with the source markers of
    /// STANDARDS.md (\[S\] seen, \[V\] verified, \[I\] inferred).
    pub reference: &'static str,
    /// The card it needs.
    pub setup: Setup,
    run: fn(&mut CaseRun<'_>) -> Check,
}

impl Case {
    /// Runs the case on a prepared [`CaseRun`].
    pub fn run(&self, ctx: &mut CaseRun<'_>) -> Check {
        (self.run)(ctx)
    }

    /// The profile a simulated card for this case is personalised with.
    pub fn simulated_profile(&self) -> CardProfile {
        let mut profile = CardProfile::test(self.scheme, Algorithm::TripleDes);
        match self.setup {
            Setup::Standard => {}
            Setup::Algorithm(alg) => profile.keys = IssuerKeys::test(alg),
            Setup::Special { apply, .. } => apply(&mut profile),
        }
        profile
    }
}

/// A case as written once and instantiated for each scheme it applies to.
pub(crate) struct CaseDef {
    pub(crate) number: u8,
    pub(crate) title: &'static str,
    pub(crate) reference: &'static str,
    pub(crate) setup: Setup,
    pub(crate) schemes: &'static [Scheme],
    pub(crate) run: fn(&mut CaseRun<'_>) -> Check,
}

/// Every scheme.
pub(crate) const ALL: &[Scheme] = &Scheme::ALL;

/// The id prefix of a scheme's cases.
pub fn id_prefix(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::Local => "LOCAL",
        Scheme::Mohurd => "MOHURD",
        Scheme::Mot => "MOT",
        Scheme::Pboc => "PBOC",
    }
}

/// The whole catalogue, scheme by scheme in [`Scheme::ALL`] order, then by number.
pub fn catalogue() -> Vec<Case> {
    let defs: Vec<&CaseDef> = common::CASES.iter().chain(specific::CASES).collect();
    let mut cases = Vec::new();
    for scheme in Scheme::ALL {
        let mut mine: Vec<&&CaseDef> = defs
            .iter()
            .filter(|d| d.schemes.contains(&scheme))
            .collect();
        mine.sort_by_key(|d| d.number);
        for def in mine {
            cases.push(Case {
                id: format!("{}-{:02}", id_prefix(scheme), def.number),
                title: def.title,
                scheme,
                reference: def.reference,
                setup: def.setup,
                run: def.run,
            });
        }
    }
    cases
}

/// The catalogue restricted to some schemes (all when `schemes` is empty).
pub fn catalogue_for(schemes: &[Scheme]) -> Vec<Case> {
    catalogue()
        .into_iter()
        .filter(|c| schemes.is_empty() || schemes.contains(&c.scheme))
        .collect()
}

/// The terminal number of the catalogue's PSAM.
pub const TEST_TERMINAL: card_standards::TerminalId =
    card_standards::TerminalId([0x00, 0x00, 0x00, 0x00, 0xC0, 0x01]);

/// The purse state a case compares before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Balance (GET BALANCE).
    pub balance: u32,
    /// Offline counter (INITIALIZE FOR PURCHASE of 0 fen).
    pub offline_seq: u16,
    /// Online counter (INITIALIZE FOR LOAD of 0 fen).
    pub online_seq: u16,
    /// The most recent 0018 record, if any.
    pub last_record: Option<Vec<u8>>,
}

/// Which flow [`CaseRun::torn`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// A purchase, torn at DEBIT.
    Purchase,
    /// A load, torn at CREDIT.
    Load,
}

/// INITIALIZE and the PSAM's MAC1 of a purchase whose DEBIT a case sends itself.
#[derive(Debug, Clone, Copy)]
pub struct BegunPurchase {
    /// What INITIALIZE answered.
    pub init: InitializeForPurchaseResponse,
    /// What the PSAM answered.
    pub mac1: Mac1,
    /// The terminal date and time MAC1 covers.
    pub date_time: [u8; 7],
}

impl BegunPurchase {
    /// DEBIT FOR PURCHASE with this MAC1 (or another).
    pub fn debit(&self, mac1: card_standards::Mac4) -> Command {
        Command::DebitForPurchase {
            terminal_seq: self.mac1.terminal_seq,
            date_time: self.date_time,
            mac1,
        }
    }
}

/// What a case works with: the card (through a recording, tearing reader), a terminal with
/// its PSAM and load host holding the issuer's master keys, and the run's clock.
pub struct CaseRun<'a> {
    scheme: Scheme,
    reader: TracingReader<TearingReader<&'a mut dyn CardReader>>,
    terminal: Terminal,
    keys: IssuerKeys,
    now: NaiveDateTime,
    tick: i64,
    card: Option<CardInfo>,
}

fn err(e: Error) -> String {
    e.to_string()
}

impl<'a> CaseRun<'a> {
    /// A run of one case against `reader`, whose card was personalised with `keys`.
    pub fn new(
        scheme: Scheme,
        reader: &'a mut dyn CardReader,
        keys: IssuerKeys,
        key_index: u8,
        now: NaiveDateTime,
    ) -> CaseRun<'a> {
        let mut config = TerminalConfig::new("CONFORMANCE", card_standards::Industry::Bus);
        config.key_index = key_index;
        // The catalogue wants to see the card's own refusals.
        config.check_validity = false;
        // Card dates carry whole seconds.
        let now = now.with_nanosecond(0).unwrap_or(now);
        CaseRun {
            scheme,
            reader: TracingReader::new(TearingReader::new(reader)),
            terminal: Terminal::new(config, Psam::new(TEST_TERMINAL), LoadHost::new()),
            keys,
            now,
            tick: 0,
            card: None,
        }
    }

    /// The scheme under test.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The trace recorded so far.
    pub fn take_trace(&mut self) -> Vec<TraceEvent> {
        self.reader.take_trace()
    }

    /// Adds a note to the trace.
    pub fn note(&mut self, text: impl Into<String>) {
        self.reader.note(text);
    }

    /// A fresh transaction time: the run's clock plus one second per call.
    pub fn time(&mut self) -> NaiveDateTime {
        self.tick += 1;
        self.now + chrono::Duration::seconds(self.tick)
    }

    /// The terminal (to change its configuration or reach its PSAM).
    pub fn terminal(&mut self) -> &mut Terminal {
        &mut self.terminal
    }

    /// The issuer keys of the card under test.
    pub fn keys(&self) -> IssuerKeys {
        self.keys
    }

    /// Loses the card at the next command with instruction byte `ins`.
    pub fn tear_next(&mut self, ins: u8, when: Tear) {
        self.reader.inner_mut().tear_at(ins, when);
        self.note(format!(
            "the card will leave the field {} the next INS {ins:02X}",
            match when {
                Tear::BeforeCommand => "before",
                Tear::AfterCommand => "while processing",
            }
        ));
    }

    /// Sends raw bytes and parses the response.
    pub fn send_raw(&mut self, apdu: &[u8]) -> Check<ResponseApdu> {
        let mut response = Vec::new();
        self.reader.transmit(apdu, &mut response).map_err(err)?;
        ResponseApdu::parse(&response).map_err(|e| e.to_string())
    }

    /// Sends a typed command.
    pub fn send(&mut self, command: &Command) -> Check<ResponseApdu> {
        self.send_raw(&command.to_apdu().to_bytes())
    }

    /// Sends a command and requires the status word `sw`; returns the response data.
    pub fn expect(&mut self, command: &Command, sw: StatusWord) -> Check<Vec<u8>> {
        let resp = self.send(command)?;
        ensure!(
            resp.sw == sw,
            "{}: expected {sw}, the card answered {}",
            command.name(),
            resp.sw
        );
        Ok(resp.data)
    }

    /// Sends raw bytes and requires the status word `sw`.
    pub fn expect_raw(&mut self, apdu: &[u8], sw: StatusWord) -> Check<Vec<u8>> {
        let resp = self.send_raw(apdu)?;
        ensure!(
            resp.sw == sw,
            "{} ({}): expected {sw}, the card answered {}",
            crate::reader::command_name(apdu),
            hex::encode_upper(apdu),
            resp.sw
        );
        Ok(resp.data)
    }

    /// Sends a command and requires 9000.
    pub fn expect_ok(&mut self, command: &Command) -> Check<Vec<u8>> {
        self.expect(command, StatusWord::OK)
    }

    /// Selects the application (through the terminal, which reads 0015 from the FCI) and
    /// installs the issuer's keys in the PSAM and host for the card's issuer.
    pub fn open(&mut self) -> Check<CardInfo> {
        let info = self
            .terminal
            .select(&mut self.reader, self.scheme)
            .map_err(err)?;
        if !self.terminal.psam().has_issuer(info.issuer) {
            let keys = self.keys;
            self.terminal
                .psam_mut()
                .add_key_any_version(info.issuer, keys.alg, keys.mpk);
            self.terminal
                .host_mut()
                .add_key_any_version(info.issuer, keys.alg, keys.mlk);
        }
        self.card = Some(info);
        Ok(info)
    }

    /// The card's balance and counters, and its latest 0018 record. Reads the counters with
    /// INITIALIZE FOR PURCHASE and INITIALIZE FOR LOAD of 0 fen, whose sessions the next
    /// command cancels.
    pub fn snapshot(&mut self) -> Check<Snapshot> {
        self.open()?;
        let balance = self.balance()?;
        let key_index = self.terminal.config().key_index;
        let terminal = TEST_TERMINAL;
        let p = self.expect_ok(&Command::InitializeForPurchase {
            composite: false,
            purse: Purse::Ep,
            key_index,
            amount: 0,
            terminal,
        })?;
        let offline_seq = InitializeForPurchaseResponse::parse(&p)
            .map_err(|e| e.to_string())?
            .offline_seq;
        let l = self.expect_ok(&Command::InitializeForLoad {
            purse: Purse::Ep,
            key_index,
            amount: 0,
            terminal,
        })?;
        let online_seq = InitializeForLoadResponse::parse(&l)
            .map_err(|e| e.to_string())?
            .online_seq;
        let last = self.send(&read_record(0x18, 1))?;
        Ok(Snapshot {
            balance,
            offline_seq,
            online_seq,
            last_record: last.sw.is_ok().then_some(last.data),
        })
    }

    /// GET BALANCE (the application must be selected).
    pub fn balance(&mut self) -> Check<u32> {
        let b = self.expect_ok(&Command::GetBalance {
            purse: Purse::Ep,
            register: BalanceRegister::Balance,
        })?;
        ensure!(b.len() == 4, "GET BALANCE answered {} bytes", b.len());
        // Bit 31 is not part of the balance (card_standards::apdu::Balance::parse).
        Balance::parse(&b).map(|b| b.0).map_err(|e| e.to_string())
    }

    /// Loads enough for `min` fen of purchases if the balance is lower.
    pub fn ensure_balance(&mut self, min: u32) -> Check {
        self.open()?;
        let balance = self.balance()?;
        if balance < min {
            self.note(format!(
                "topping up: balance {balance} fen is below {min} fen"
            ));
            self.load(min - balance + 1_000)?;
        }
        Ok(())
    }

    /// Notes a completed transaction in the trace.
    fn note_tx(&mut self, tx: &CanonicalTx) {
        self.note(format!(
            "terminal: {} of {} fen completed, card counter {}, terminal counter {}, TAC {}",
            tx.kind(),
            tx.amount_fen,
            tx.card_seq,
            tx.terminal_seq,
            tx.tac.map_or_else(|| "none".to_string(), |t| t.to_string())
        ));
    }

    /// A complete purchase through the terminal.
    pub fn purchase(&mut self, amount: u32) -> Check<CanonicalTx> {
        let at = self.time();
        let tx = self
            .terminal
            .purchase(&mut self.reader, self.scheme, amount, at)
            .map_err(err)?;
        self.note_tx(&tx);
        Ok(tx)
    }

    /// A complete composite purchase through the terminal.
    pub fn composite_purchase(&mut self, amount: u32) -> Check<CanonicalTx> {
        let at = self.time();
        let tx = self
            .terminal
            .composite_purchase(&mut self.reader, self.scheme, amount, at)
            .map_err(err)?;
        self.note_tx(&tx);
        Ok(tx)
    }

    /// A complete load through the terminal and host.
    pub fn load(&mut self, amount: u32) -> Check<CanonicalTx> {
        let at = self.time();
        let tx = self
            .terminal
            .load(&mut self.reader, self.scheme, amount, at)
            .map_err(err)?;
        self.note_tx(&tx);
        Ok(tx)
    }

    /// A purchase or load that the card loses (see [`CaseRun::tear_next`]): returns what
    /// the terminal kept for recovery.
    pub fn torn(&mut self, flow: Flow, amount: u32) -> Check<crate::terminal::Pending> {
        let at = self.time();
        let scheme = self.scheme;
        let result = match flow {
            Flow::Purchase => self.terminal.purchase(&mut self.reader, scheme, amount, at),
            Flow::Load => self.terminal.load(&mut self.reader, scheme, amount, at),
        };
        match result {
            Err(Error::Torn(pending)) => Ok(*pending),
            Err(e) => Err(format!("expected a torn transaction, got: {e}")),
            Ok(_) => Err("expected a torn transaction, but it completed".into()),
        }
    }

    /// Recovers a torn transaction through the terminal.
    pub fn recover(&mut self, pending: &crate::terminal::Pending) -> Check<Recovery> {
        let recovery = self
            .terminal
            .recover(&mut self.reader, pending)
            .map_err(err)?;
        match &recovery {
            Recovery::Completed(tx) => self.note_tx(tx),
            Recovery::NotCompleted => self.note("terminal: the card does not hold the transaction"),
        }
        Ok(recovery)
    }

    /// Checks a transaction's TAC with the issuer's master TAC key, as a clearing centre does.
    pub fn check_tac(&mut self, tx: &CanonicalTx) -> Check {
        match tx
            .check_tac(&self.keys.tac_key())
            .map_err(|e| e.to_string())?
        {
            TacCheck::Valid => {
                self.note("clearing: the TAC verifies with the issuer's master TAC key");
                Ok(())
            }
            other => Err(format!(
                "TAC {:?} of the {} does not verify with the issuer's master TAC key ({other:?})",
                tx.tac,
                tx.kind()
            )),
        }
    }

    /// GET AUTHENTICATION CODE when the scheme's composite MAC1 covers it.
    pub fn auth_code_if_needed(&mut self, composite: bool) -> Check<Option<AuthCode>> {
        if composite && self.scheme.profile().auth_code_in_mac1 == AuthCodeInMac1::CompositeOnly {
            let code = self.expect_ok(&Command::GetAuthCode)?;
            let code: [u8; 9] = code
                .try_into()
                .map_err(|c: Vec<u8>| format!("authentication code of {} bytes", c.len()))?;
            Ok(Some(AuthCode(code)))
        } else {
            Ok(None)
        }
    }

    /// INITIALIZE FOR (CAPP) PURCHASE and the PSAM's MAC1, without DEBIT. `auth_code` is what
    /// the PSAM appends to MAC1's data.
    pub fn begin_purchase(
        &mut self,
        composite: bool,
        amount: u32,
        auth_code: Option<AuthCode>,
    ) -> Check<BegunPurchase> {
        let info = self.card.ok_or("the application is not selected")?;
        let init = self.expect_ok(&Command::InitializeForPurchase {
            composite,
            purse: Purse::Ep,
            key_index: self.terminal.config().key_index,
            amount,
            terminal: TEST_TERMINAL,
        })?;
        let init = InitializeForPurchaseResponse::parse(&init).map_err(|e| e.to_string())?;
        let date_time = bcd::encode_datetime(self.time());
        let mac1 = self
            .terminal
            .psam_mut()
            .compute_mac1(&Mac1Request {
                serial: info.serial,
                issuer: info.issuer,
                key_version: init.key_version,
                alg_id: init.alg_id,
                random: init.random,
                card_seq: init.offline_seq,
                amount,
                tx_type: if composite {
                    TxType::COMPOSITE_PURCHASE
                } else {
                    TxType::EP_PURCHASE
                },
                date_time,
                auth_code,
            })
            .map_err(err)?;
        self.note(format!(
            "PSAM: terminal counter {}, MAC1 {}",
            mac1.terminal_seq, mac1.mac1
        ));
        Ok(BegunPurchase {
            init,
            mac1,
            date_time,
        })
    }
}

/// READ RECORD `n` of the record file `sfi`, whole record.
pub fn read_record(sfi: u8, n: u8) -> Command {
    Command::ReadRecord {
        record: n,
        target: card_standards::apdu::ReadTarget::Sfi(sfi),
        le: 256,
    }
}

/// READ BINARY of the transparent file `sfi`, whole file.
pub fn read_binary(sfi: u8) -> Command {
    Command::ReadBinary {
        target: card_standards::apdu::ReadTarget::Sfi(sfi),
        offset: 0,
        le: 256,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_scheme_has_at_least_fifteen_cases_with_unique_ids() {
        let cases = catalogue();
        let ids: HashSet<_> = cases.iter().map(|c| c.id.clone()).collect();
        assert_eq!(ids.len(), cases.len());
        for scheme in Scheme::ALL {
            let n = cases.iter().filter(|c| c.scheme == scheme).count();
            assert!(n >= 15, "{scheme}: {n} cases");
        }
        assert!(cases.iter().all(|c| c.id.starts_with(id_prefix(c.scheme))));
        assert!(cases.iter().all(|c| !c.reference.is_empty()));
    }

    #[test]
    fn catalogue_for_filters_by_scheme() {
        let mot = catalogue_for(&[Scheme::Mot]);
        assert!(!mot.is_empty() && mot.iter().all(|c| c.scheme == Scheme::Mot));
        assert_eq!(catalogue_for(&[]).len(), catalogue().len());
    }
}
