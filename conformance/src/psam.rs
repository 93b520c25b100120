//! The simulated PSAM (purchase secure access module) of a terminal, and the load host.
//!
//! The PSAM holds issuers' master purchase keys, diversifies each card's DPK by the card
//! serial, computes MAC1 (the `80 70` command, with the MOHURD authentication code appended
//! when the terminal passes it), verifies the card's MAC2 (`80 72`) and keeps the terminal
//! transaction counter that every purchase and its TAC carry.
//!
//! The load host holds issuers' master load keys: it verifies the card's load MAC1 and
//! answers MAC2, as the issuer's host does for an online load.

use card_standards::crypto::{self, Algorithm, Key16, LoadData, PurchaseData, SessionKey};
use card_standards::{AuthCode, CardSerial, IssuerId, Mac4, TerminalId, TxType};

use crate::error::{Error, Result};

/// One issuer's master key as a PSAM or host holds it.
#[derive(Debug, Clone, Copy)]
struct MasterKey {
    issuer: IssuerId,
    /// `None`: any key version (a test PSAM given one key for a card under test).
    key_version: Option<u8>,
    alg: Algorithm,
    key: Key16,
}

fn find_key<'a>(
    keys: &'a [MasterKey],
    what: &'static str,
    issuer: IssuerId,
    key_version: u8,
    alg_id: u8,
) -> Result<&'a MasterKey> {
    keys.iter()
        .find(|k| {
            k.issuer == issuer
                && k.key_version.is_none_or(|v| v == key_version)
                && k.alg.alg_id() == alg_id
        })
        .ok_or(Error::KeyNotFound {
            what,
            issuer,
            key_version,
        })
}

/// What the terminal hands the PSAM to compute MAC1 (the data of `80 70`).
#[derive(Debug, Clone, Copy)]
pub struct Mac1Request {
    /// The card's application serial (its right-most 8 bytes diversify the DPK).
    pub serial: CardSerial,
    /// The card's issuer, to choose the master key.
    pub issuer: IssuerId,
    /// Key version from INITIALIZE FOR PURCHASE.
    pub key_version: u8,
    /// Algorithm id from INITIALIZE FOR PURCHASE.
    pub alg_id: u8,
    /// The card's random from INITIALIZE FOR PURCHASE.
    pub random: [u8; 4],
    /// The card's offline counter from INITIALIZE FOR PURCHASE.
    pub card_seq: u16,
    /// Amount in fen.
    pub amount: u32,
    /// 06 purchase or 09 composite purchase.
    pub tx_type: TxType,
    /// Terminal date and time, BCD `YYYYMMDDhhmmss`.
    pub date_time: [u8; 7],
    /// The MOHURD authentication code, when the scheme's MAC1 covers it.
    pub auth_code: Option<AuthCode>,
}

/// The PSAM's answer to `80 70`: its transaction counter and MAC1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mac1 {
    /// The terminal transaction counter assigned to this purchase.
    pub terminal_seq: u32,
    /// MAC1 for DEBIT FOR PURCHASE.
    pub mac1: Mac4,
}

/// The PSAM's purchase session: what it needs to verify MAC2 later, e.g. after a torn
/// transaction. `Debug` does not print the key.
#[derive(Clone, Copy)]
pub struct PsamSession {
    key: SessionKey,
    amount: u32,
}

impl std::fmt::Debug for PsamSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PsamSession(amount {}, <key redacted>)", self.amount)
    }
}

impl PsamSession {
    /// Whether `mac2` is the card's MAC2 of this purchase (constant time).
    pub fn verify_mac2(&self, mac2: &Mac4) -> bool {
        crypto::verify_mac(mac2, &crypto::purchase_mac2(&self.key, self.amount))
    }
}

/// A simulated PSAM.
#[derive(Debug, Clone)]
pub struct Psam {
    terminal: TerminalId,
    next_seq: u32,
    keys: Vec<MasterKey>,
    session: Option<PsamSession>,
}

impl Psam {
    /// A PSAM with terminal number `terminal` whose first transaction gets counter 1.
    pub fn new(terminal: TerminalId) -> Psam {
        Psam {
            terminal,
            next_seq: 1,
            keys: Vec::new(),
            session: None,
        }
    }

    /// Sets the counter the next purchase gets.
    pub fn set_next_seq(&mut self, seq: u32) {
        self.next_seq = seq;
    }

    /// Installs an issuer's master purchase key for cards announcing `key_version`.
    pub fn add_key(&mut self, issuer: IssuerId, key_version: u8, alg: Algorithm, mpk: Key16) {
        self.install(issuer, Some(key_version), alg, mpk);
    }

    /// Installs an issuer's master purchase key for whatever key version its cards announce
    /// (a test PSAM for one card under test).
    pub fn add_key_any_version(&mut self, issuer: IssuerId, alg: Algorithm, mpk: Key16) {
        self.install(issuer, None, alg, mpk);
    }

    fn install(&mut self, issuer: IssuerId, key_version: Option<u8>, alg: Algorithm, key: Key16) {
        self.keys
            .retain(|k| !(k.issuer == issuer && k.key_version == key_version && k.alg == alg));
        self.keys.push(MasterKey {
            issuer,
            key_version,
            alg,
            key,
        });
    }

    /// Whether the PSAM holds a purchase key for this issuer.
    pub fn has_issuer(&self, issuer: IssuerId) -> bool {
        self.keys.iter().any(|k| k.issuer == issuer)
    }

    /// The PSAM's terminal number (终端机编号), which the card's TAC covers.
    pub fn terminal(&self) -> TerminalId {
        self.terminal
    }

    /// The counter the next purchase gets.
    pub fn next_seq(&self) -> u32 {
        self.next_seq
    }

    /// The session of the last MAC1 computation.
    pub fn session(&self) -> Option<PsamSession> {
        self.session
    }

    /// `80 70`: diversifies the card's DPK, derives the session key, computes MAC1 and
    /// assigns the next terminal transaction counter.
    pub fn compute_mac1(&mut self, req: &Mac1Request) -> Result<Mac1> {
        let master = find_key(
            &self.keys,
            "purchase",
            req.issuer,
            req.key_version,
            req.alg_id,
        )?;
        let dpk = crypto::diversify(
            master.alg,
            &master.key,
            &req.serial.diversification_factor(),
        );
        let terminal_seq = self.next_seq;
        let key =
            crypto::purchase_session_key(master.alg, &dpk, req.random, req.card_seq, terminal_seq);
        let data = PurchaseData {
            amount: req.amount,
            tx_type: req.tx_type,
            terminal: self.terminal,
            terminal_seq,
            date_time: req.date_time,
        };
        let mac1 = crypto::purchase_mac1(&key, &data, req.auth_code.as_ref());
        self.next_seq = self.next_seq.wrapping_add(1);
        self.session = Some(PsamSession {
            key,
            amount: req.amount,
        });
        Ok(Mac1 { terminal_seq, mac1 })
    }

    /// `80 72`: verifies the card's MAC2 against the last MAC1 computation.
    pub fn verify_mac2(&mut self, mac2: &Mac4) -> Result<()> {
        let session = self.session.take().ok_or(Error::NoPsamSession)?;
        if session.verify_mac2(mac2) {
            Ok(())
        } else {
            Err(Error::Mac2Invalid)
        }
    }
}

/// What the load terminal sends the host for a load (from INITIALIZE FOR LOAD).
#[derive(Debug, Clone, Copy)]
pub struct LoadRequest {
    /// The card's serial.
    pub serial: CardSerial,
    /// The card's issuer.
    pub issuer: IssuerId,
    /// Key version from INITIALIZE FOR LOAD.
    pub key_version: u8,
    /// Algorithm id from INITIALIZE FOR LOAD.
    pub alg_id: u8,
    /// The card's random.
    pub random: [u8; 4],
    /// The card's online counter (before the load).
    pub online_seq: u16,
    /// Balance before the load.
    pub balance_before: u32,
    /// Amount in fen.
    pub amount: u32,
    /// 02 EP load.
    pub tx_type: TxType,
    /// The loading terminal.
    pub terminal: TerminalId,
    /// The card's MAC1.
    pub mac1: Mac4,
    /// Host date and time, BCD.
    pub date_time: [u8; 7],
}

/// The host's answer: MAC2 for CREDIT FOR LOAD and the host's transaction number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadAuthorisation {
    /// MAC2.
    pub mac2: Mac4,
    /// The host's transaction counter for this load (the canonical record's terminal counter).
    pub host_seq: u32,
}

/// The issuer's load host: verifies the card's MAC1 and computes MAC2.
#[derive(Debug, Clone, Default)]
pub struct LoadHost {
    keys: Vec<MasterKey>,
    next_seq: u32,
}

impl LoadHost {
    /// A host without keys whose first load gets counter 1.
    pub fn new() -> LoadHost {
        LoadHost {
            keys: Vec::new(),
            next_seq: 1,
        }
    }

    /// Installs an issuer's master load key for cards announcing `key_version`.
    pub fn add_key(&mut self, issuer: IssuerId, key_version: u8, alg: Algorithm, mlk: Key16) {
        self.keys.push(MasterKey {
            issuer,
            key_version: Some(key_version),
            alg,
            key: mlk,
        });
    }

    /// Installs an issuer's master load key for any key version.
    pub fn add_key_any_version(&mut self, issuer: IssuerId, alg: Algorithm, mlk: Key16) {
        self.keys.push(MasterKey {
            issuer,
            key_version: None,
            alg,
            key: mlk,
        });
    }

    /// Whether the host holds a load key for this issuer.
    pub fn has_issuer(&self, issuer: IssuerId) -> bool {
        self.keys.iter().any(|k| k.issuer == issuer)
    }

    /// Verifies the card's MAC1 and answers MAC2.
    pub fn authorise(&mut self, req: &LoadRequest) -> Result<LoadAuthorisation> {
        let master = find_key(&self.keys, "load", req.issuer, req.key_version, req.alg_id)?;
        let dlk = crypto::diversify(
            master.alg,
            &master.key,
            &req.serial.diversification_factor(),
        );
        let key = crypto::load_session_key(master.alg, &dlk, req.random, req.online_seq);
        let data = LoadData {
            balance_before: req.balance_before,
            amount: req.amount,
            tx_type: req.tx_type,
            terminal: req.terminal,
            online_seq: req.online_seq,
            date_time: req.date_time,
        };
        if !crypto::verify_mac(&req.mac1, &crypto::load_mac1(&key, &data)) {
            return Err(Error::CardMac1Invalid);
        }
        let host_seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        Ok(LoadAuthorisation {
            mac2: crypto::load_mac2(&key, &data),
            host_seq,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use card_standards::{CityCode, IssuerCode};

    fn issuer() -> IssuerId {
        IssuerId {
            issuer_code: IssuerCode([0x07, 0x31]),
            city_code: CityCode([0x41, 0x00]),
        }
    }

    fn request(key_version: u8) -> Mac1Request {
        Mac1Request {
            serial: CardSerial([0, 0, 0x41, 0, 0, 0, 0, 0, 0, 1]),
            issuer: issuer(),
            key_version,
            alg_id: 0,
            random: [1, 2, 3, 4],
            card_seq: 5,
            amount: 100,
            tx_type: TxType::EP_PURCHASE,
            date_time: [0x20, 0x26, 0x11, 0x22, 0x08, 0x00, 0x00],
            auth_code: None,
        }
    }

    #[test]
    fn psam_counts_its_transactions_and_matches_the_calculator() {
        let mpk: Key16 = "11223344556677888877665544332211".parse().unwrap();
        let mut psam = Psam::new(TerminalId([0, 0, 0, 0, 0, 9]));
        psam.set_next_seq(41);
        psam.add_key(issuer(), 1, Algorithm::TripleDes, mpk);
        let req = request(1);
        let m = psam.compute_mac1(&req).unwrap();
        assert_eq!((m.terminal_seq, psam.next_seq()), (41, 42));

        let dpk = crypto::diversify(
            Algorithm::TripleDes,
            &mpk,
            &req.serial.diversification_factor(),
        );
        let key = crypto::purchase_session_key(Algorithm::TripleDes, &dpk, req.random, 5, 41);
        let data = PurchaseData {
            amount: 100,
            tx_type: TxType::EP_PURCHASE,
            terminal: psam.terminal(),
            terminal_seq: 41,
            date_time: req.date_time,
        };
        assert_eq!(m.mac1, crypto::purchase_mac1(&key, &data, None));
        assert!(psam.verify_mac2(&crypto::purchase_mac2(&key, 101)).is_err());
        assert!(matches!(
            psam.verify_mac2(&crypto::purchase_mac2(&key, 100)),
            Err(Error::NoPsamSession)
        ));
    }

    #[test]
    fn psam_refuses_cards_whose_issuer_version_or_algorithm_it_lacks() {
        let mut psam = Psam::new(TerminalId::default());
        psam.add_key(issuer(), 1, Algorithm::TripleDes, Key16([7; 16]));
        assert!(matches!(
            psam.compute_mac1(&request(2)),
            Err(Error::KeyNotFound { key_version: 2, .. })
        ));
        let mut sm4 = request(1);
        sm4.alg_id = 0x04;
        assert!(psam.compute_mac1(&sm4).is_err());
        psam.add_key_any_version(issuer(), Algorithm::Sm4, Key16([7; 16]));
        assert!(psam.compute_mac1(&sm4).is_ok());
    }
}
