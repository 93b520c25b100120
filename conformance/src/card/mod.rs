//! The simulated contactless CPU card: an ISO 7816-4 APDU state machine with an MF, the
//! scheme's PSE and application DF, its elementary files, the ED/EP purse and its keys.
//!
//! # State machine
//!
//! * **Selection.** After reset the MF (3F00) is selected. `SELECT` by the scheme's AID (or by
//!   file id 1001) selects the application DF and answers its FCI; by the PSE name selects the
//!   PSE; by an EF's file id inside the application selects that EF for `READ BINARY`/`READ
//!   RECORD` without SFI. Purse commands outside the application answer 6985.
//! * **Session.** `INITIALIZE FOR PURCHASE/LOAD` opens a session that only the matching
//!   `DEBIT FOR PURCHASE`/`CREDIT FOR LOAD` may use. Any other command cancels it, except
//!   `UPDATE CAPP DATA CACHE` inside a composite purchase, which caches a record that `DEBIT`
//!   writes together with the purse (the cache is lost if the purchase does not complete). A
//!   command that fails also cancels the session. A cancelled session makes `DEBIT`/`CREDIT`
//!   answer 6985.
//! * **Atomicity.** `DEBIT` and `CREDIT` change the balance, the counter, 0018, the cached
//!   composite records and the transaction proof together, after every check has passed; a
//!   refused command changes nothing.
//! * **No clock.** The card checks its 启用日期/有效日期 against the date in `DEBIT`/`CREDIT`.
//!
//! # Status words
//!
//! | condition | SW | source |
//! |---|---|---|
//! | MAC1 (purchase) or MAC2 (load) wrong | 9302 | \[S\] PSAM/COS lists |
//! | amount above balance | 9401 | \[S\] |
//! | key index unknown | 9403 | \[S\] |
//! | counter at FFFF | 9402 | \[I\] PBOC 2.0, recalled |
//! | GET TRANSACTION PROVE for a transaction the card does not hold | 9406 | \[S\] |
//! | DEBIT/CREDIT without session, purse command outside the application | 6985 | \[S\] |
//! | date before 启用日期 or after 有效日期, application not enabled, load above maximum balance | 6985 | \[I\] "conditions of use not satisfied" |
//! | blocked application selected | 9303 | \[I\] FMCOS-style permanent lock |
//! | composite record locked | 6984 | \[I\] "referenced data invalidated" |
//! | composite purchase on a card without composite files | 6A81 | \[I\] |
//! | ED purse (P2 = 01) on a card without one | 6A86 | \[I\] (EP-only cards; PBOC cards carry an ED beside the EP) |
//! | GET BALANCE P1 other than 00 (balance) and 01 (second register, answered 0) | 6A86 | ISO 7816-4 |
//! | file / application not found | 6A82 | ISO 7816-4 |
//! | record not found | 6A83 | ISO 7816-4 |
//! | wrong P1/P2, Lc, INS, CLA | 6A86, 6700, 6D00, 6E00 | ISO 7816-4 via [`Command::parse`] |
//! | date in DEBIT/CREDIT not a calendar date | 6A80 | ISO 7816-4 |
//! | Le longer than the data | 6Cxx | ISO 7816-4 |

mod fs;
pub(crate) mod layout;

use card_standards::apdu::{
    BalanceRegister, Command, CommandApdu, CreditForLoadResponse, DebitForPurchaseResponse,
    InitializeForLoadResponse, InitializeForPurchaseResponse, ReadTarget, ResponseApdu,
    TransactionProveResponse,
};
use card_standards::crypto::{self, Algorithm, LoadData, PurchaseData, SessionKey};
use card_standards::files::{CardFile, TxRecord};
use card_standards::schemes::AuthCodeInMac1;
use card_standards::{
    AuthCode, CardSerial, IssuerId, Mac4, Purse, Scheme, StatusWord, TerminalId, TxType, bcd,
};
use chrono::NaiveDateTime;

use crate::error::Result;
use crate::profile::{AppState, CardKeys, CardProfile};
use fs::{Ef, Role};
use layout::Pse;

/// The file id of the MF.
const MF: u16 = 0x3F00;
/// Records the cyclic 0018 file holds (what [`CardProfile::preload_records`] may fill).
pub(crate) const TX_RECORD_CAPACITY: usize = layout::TX_RECORDS;
/// Most composite records one purchase may cache (T-Union writes 001A and 001E).
const MAX_PENDING: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Df {
    Mf,
    Pse,
    Adf,
}

/// A composite record cached by UPDATE CAPP DATA CACHE until DEBIT.
#[derive(Debug, Clone, Copy)]
struct PendingRecord {
    file: usize,
    /// Record number; 0 appends to a cyclic file.
    record: u8,
    len: usize,
    data: [u8; 128],
}

const NO_RECORD: PendingRecord = PendingRecord {
    file: 0,
    record: 0,
    len: 0,
    data: [0; 128],
};

#[derive(Debug, Clone, Copy)]
struct PurchaseSession {
    composite: bool,
    purse: Purse,
    amount: u32,
    terminal: TerminalId,
    random: [u8; 4],
    seq: u16,
    /// Records cached in [`SimCard::pending`] for this session.
    pending_len: usize,
}

#[derive(Debug, Clone, Copy)]
struct LoadSession {
    purse: Purse,
    amount: u32,
    terminal: TerminalId,
    seq: u16,
    balance_before: u32,
    key: SessionKey,
}

#[derive(Debug, Clone, Copy, Default)]
enum Session {
    #[default]
    None,
    Purchase(PurchaseSession),
    Load(LoadSession),
}

/// What GET TRANSACTION PROVE answers: the last transaction's type, counter after it, MAC
/// and TAC.
#[derive(Debug, Clone, Copy)]
struct LastTx {
    tx_type: TxType,
    seq_after: u16,
    mac: Mac4,
    tac: Mac4,
}

/// The purse state a card keeps in EEPROM: what tests and simulators look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurseState {
    /// EP balance in fen.
    pub balance: u32,
    /// ED balance in fen, on a card with an ED purse.
    pub ed_balance: Option<u32>,
    /// Offline (purchase) counter.
    pub offline_seq: u16,
    /// Online (load) counter.
    pub online_seq: u16,
}

/// A simulated contactless CPU card of one scheme.
///
/// Drive it with raw APDUs ([`SimCard::transmit`], or [`crate::CardReader`] which it
/// implements) or with the typed API ([`SimCard::process`] and one method per command). It
/// holds no clock and no global state; it is `Send` and cheap to clone.
///
/// ```
/// use card_standards::Scheme;
/// use card_standards::crypto::Algorithm;
/// use conformance::{CardProfile, SimCard};
///
/// let mut card = SimCard::personalise(&CardProfile::test(Scheme::Mohurd, Algorithm::TripleDes))?;
/// let fci = card.transmit(&hex::decode("00A404000AA0000000038698070100").unwrap());
/// assert_eq!(&fci[fci.len() - 2..], &[0x6A, 0x82]); // no such AID (one byte too many)
/// let fci = card.transmit(&hex::decode("00A4040009A0000000038698070100").unwrap());
/// assert_eq!(&fci[fci.len() - 2..], &[0x90, 0x00]);
/// assert_eq!(card.transmit(&hex::decode("805C000204").unwrap()), [0, 0, 0x27, 0x10, 0x90, 0x00]);
/// # Ok::<(), conformance::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SimCard {
    scheme: Scheme,
    alg: Algorithm,
    keys: CardKeys,
    key_index: u8,
    key_version: u8,
    serial: CardSerial,
    issuer: IssuerId,
    app_state: AppState,
    start: [u8; 4],
    expiry: [u8; 4],
    purse: PurseState,
    overdraft_limit: u32,
    max_balance: u32,
    aid: &'static [u8],
    df_id: u16,
    fci: Vec<u8>,
    pse: Option<Pse>,
    files: Vec<Ef>,
    tx_file: usize,
    has_capp: bool,
    auth_code: Option<AuthCode>,
    df: Df,
    ef: Option<usize>,
    session: Session,
    /// The composite records the open session cached (its `pending_len` first ones count).
    pending: [PendingRecord; MAX_PENDING],
    last: Option<LastTx>,
    rng: u64,
    challenge: [u8; 8],
}

impl Clone for Pse {
    fn clone(&self) -> Self {
        Pse {
            name: self.name,
            fci: self.fci.clone(),
            dir_record: self.dir_record.clone(),
        }
    }
}

impl std::fmt::Debug for Pse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pse({})", String::from_utf8_lossy(self.name))
    }
}

type CardResult<T> = std::result::Result<T, StatusWord>;

impl SimCard {
    /// Personalises a card: writes the scheme's files from the profile and diversifies DPK,
    /// DLK and DTK from the issuer's master keys by the right-most 8 bytes of the serial.
    pub fn personalise(profile: &CardProfile) -> Result<SimCard> {
        profile.validate()?;
        let scheme = profile.scheme;
        let aid = layout::aid(scheme);
        let app_info = layout::app_info(profile);
        let files = layout::files(profile);
        let tx_file = files
            .iter()
            .position(|f| f.fid == 0x0018)
            .ok_or_else(|| crate::Error::Profile(format!("scheme {scheme} has no 0018 file")))?;
        let has_capp = files
            .iter()
            .any(|f| matches!(f.role, Role::Capp { .. }) && !f.is_cyclic());
        let factor = profile.serial.diversification_factor();
        let uid = [factor[4], factor[5], factor[6], factor[7]];
        let auth_code =
            (scheme.profile().auth_code_in_mac1 == AuthCodeInMac1::CompositeOnly).then(|| {
                // 85 ‖ UID ‖ 4 bytes; on the real card the last 4 repeat the UID [S].
                let mut code = [0u8; 9];
                code[0] = 0x85;
                code[1..5].copy_from_slice(&uid);
                code[5..].copy_from_slice(&uid);
                AuthCode(code)
            });
        let seed = u64::from_be_bytes(factor) ^ 0x9E37_79B9_7F4A_7C15;
        Ok(SimCard {
            scheme,
            alg: profile.keys.alg,
            keys: profile.keys.card_keys(&profile.serial),
            key_index: profile.key_index,
            key_version: profile.key_version,
            serial: profile.serial,
            issuer: profile.issuer,
            app_state: profile.app_state,
            start: bcd::encode_date(profile.start_date),
            expiry: bcd::encode_date(profile.expiry_date),
            purse: PurseState {
                balance: profile.balance,
                ed_balance: profile.ed_balance,
                offline_seq: profile.offline_seq,
                online_seq: profile.online_seq,
            },
            overdraft_limit: profile.overdraft_limit,
            max_balance: profile.max_balance,
            aid,
            df_id: scheme.profile().df_id,
            fci: layout::fci(scheme, aid, &app_info),
            pse: layout::pse(scheme),
            files,
            tx_file,
            has_capp,
            auth_code,
            df: Df::Mf,
            ef: None,
            session: Session::None,
            pending: [NO_RECORD; MAX_PENDING],
            last: None,
            rng: if seed == 0 { 1 } else { seed },
            challenge: [0; 8],
        })
    }

    /// The card's scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The application serial.
    pub fn serial(&self) -> CardSerial {
        self.serial
    }

    /// The issuer and issuer city.
    pub fn issuer(&self) -> IssuerId {
        self.issuer
    }

    /// The purse algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Balance and counters.
    pub fn purse(&self) -> PurseState {
        self.purse
    }

    /// Record `n` of the record file with short file id `sfi` as stored (1 = most recent for
    /// cyclic files), for tests; `None` if there is no such file or record.
    pub fn record(&self, sfi: u8, n: u8) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|f| f.sfi() == sfi)
            .and_then(|f| f.record(n))
    }

    /// Power-cycles the card: the MF is selected again and any session is lost; balance,
    /// counters, files and the last transaction's proof persist (they live in EEPROM).
    pub fn reset(&mut self) {
        self.df = Df::Mf;
        self.ef = None;
        self.session = Session::None;
    }

    /// Processes one command APDU and returns the response: data followed by SW1 SW2. Any
    /// byte string is accepted; what is not a well-formed command gets the status word of
    /// [`card_standards::Error::status_word`] (6700, 6A86, 6D00, 6E00).
    pub fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(48);
        self.transmit_into(apdu, &mut out);
        out
    }

    /// [`SimCard::transmit`] into a buffer the caller reuses (cleared first).
    pub fn transmit_into(&mut self, apdu: &[u8], out: &mut Vec<u8>) {
        out.clear();
        let sw = match CommandApdu::parse(apdu).and_then(|a| Command::parse(&a)) {
            Ok(command) => match self.dispatch(&command, out) {
                Ok(()) => StatusWord::OK,
                Err(sw) => {
                    out.clear();
                    sw
                }
            },
            Err(err) => {
                self.session = Session::None;
                err.status_word()
            }
        };
        out.extend_from_slice(&sw.to_bytes());
    }

    /// Processes one typed command.
    pub fn process(&mut self, command: &Command) -> ResponseApdu {
        let mut data = Vec::new();
        match self.dispatch(command, &mut data) {
            Ok(()) => ResponseApdu::ok(data),
            Err(sw) => ResponseApdu::status(sw),
        }
    }

    fn dispatch(&mut self, command: &Command, out: &mut Vec<u8>) -> CardResult<()> {
        match command {
            Command::SelectByName { name } => out.extend_from_slice(self.select_by_name(name)?),
            Command::SelectByFileId { file_id } => {
                out.extend_from_slice(self.select_by_file_id(*file_id)?)
            }
            Command::ReadBinary { target, offset, le } => {
                out.extend_from_slice(self.read_binary(*target, *offset, *le)?)
            }
            Command::ReadRecord { record, target, le } => {
                out.extend_from_slice(self.read_record(*record, *target, *le)?)
            }
            Command::GetBalance { purse, register } => {
                out.extend_from_slice(&self.get_balance(*purse, *register)?.to_be_bytes())
            }
            Command::InitializeForPurchase {
                composite,
                purse,
                key_index,
                amount,
                terminal,
            } => out.extend_from_slice(
                &self
                    .initialize_for_purchase(*composite, *purse, *key_index, *amount, *terminal)?
                    .encode(),
            ),
            Command::DebitForPurchase {
                terminal_seq,
                date_time,
                mac1,
            } => out.extend_from_slice(
                &self
                    .debit_for_purchase(*terminal_seq, *date_time, *mac1)?
                    .encode(),
            ),
            Command::InitializeForLoad {
                purse,
                key_index,
                amount,
                terminal,
            } => out.extend_from_slice(
                &self
                    .initialize_for_load(*purse, *key_index, *amount, *terminal)?
                    .encode(),
            ),
            Command::CreditForLoad { date_time, mac2 } => {
                out.extend_from_slice(&self.credit_for_load(*date_time, *mac2)?.encode())
            }
            Command::UpdateCappDataCache {
                record_id,
                sfi,
                data,
            } => self.update_capp_data_cache(*record_id, *sfi, data)?,
            Command::GetTransactionProve { tx_type, seq } => {
                out.extend_from_slice(&self.get_transaction_prove(*tx_type, *seq)?.encode())
            }
            Command::GetChallenge { len } => out.extend_from_slice(self.get_challenge(*len)?),
            Command::GetAuthCode => out.extend_from_slice(&self.get_auth_code()?.0),
        }
        Ok(())
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*: deterministic per card, so that simulated traces are reproducible.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn random4(&mut self) -> [u8; 4] {
        let r = self.next_random().to_be_bytes();
        [r[0], r[1], r[2], r[3]]
    }

    fn select_application(&mut self) -> CardResult<&[u8]> {
        if self.app_state == AppState::Blocked {
            self.df = Df::Mf;
            self.ef = None;
            return Err(StatusWord::APPLICATION_LOCKED);
        }
        self.df = Df::Adf;
        self.ef = None;
        Ok(&self.fci)
    }

    /// SELECT by DF name: the scheme's AID answers the FCI, the PSE name the PSE's FCI.
    pub fn select_by_name(&mut self, name: &[u8]) -> CardResult<&[u8]> {
        self.session = Session::None;
        if name == self.aid {
            return self.select_application();
        }
        match &self.pse {
            Some(pse) if pse.name == name => {
                self.df = Df::Pse;
                self.ef = None;
                Ok(&pse.fci)
            }
            _ => Err(StatusWord::FILE_NOT_FOUND),
        }
    }

    /// SELECT by file id: 3F00 (MF), the application DF (answers its FCI), or an EF of the
    /// selected application (no response data).
    pub fn select_by_file_id(&mut self, file_id: u16) -> CardResult<&[u8]> {
        self.session = Session::None;
        if file_id == MF {
            self.df = Df::Mf;
            self.ef = None;
            return Ok(&[]);
        }
        if file_id == self.df_id {
            return self.select_application();
        }
        if self.df == Df::Adf
            && let Some(i) = self.files.iter().position(|f| f.fid == file_id)
        {
            self.ef = Some(i);
            return Ok(&[]);
        }
        Err(StatusWord::FILE_NOT_FOUND)
    }

    fn find_ef(&self, target: ReadTarget) -> CardResult<usize> {
        match target {
            ReadTarget::Current => self.ef.ok_or(StatusWord::NO_CURRENT_EF),
            ReadTarget::Sfi(sfi) if self.df == Df::Adf => self
                .files
                .iter()
                .position(|f| f.sfi() == sfi)
                .ok_or(StatusWord::FILE_NOT_FOUND),
            ReadTarget::Sfi(_) => Err(StatusWord::FILE_NOT_FOUND),
        }
    }

    /// READ BINARY of a transparent EF. Le 00 (256) reads to the end of the file; a longer
    /// Le answers 6Cxx with the length available.
    pub fn read_binary(&mut self, target: ReadTarget, offset: u16, le: u16) -> CardResult<&[u8]> {
        self.session = Session::None;
        let i = self.find_ef(target)?;
        if let ReadTarget::Sfi(_) = target {
            self.ef = Some(i);
        }
        let fs::Body::Transparent(data) = &self.files[i].body else {
            return Err(StatusWord::INCOMPATIBLE_FILE);
        };
        let offset = usize::from(offset);
        if offset >= data.len() {
            return Err(StatusWord::WRONG_OFFSET);
        }
        let available = data.len() - offset;
        let n = match usize::from(le) {
            256 => available,
            n if n <= available => n,
            _ => return Err(StatusWord(0x6C00 | available.min(0xFF) as u16)),
        };
        Ok(&data[offset..offset + n])
    }

    /// READ RECORD `record` of a record EF (1 = most recent for cyclic files).
    pub fn read_record(&mut self, record: u8, target: ReadTarget, le: u16) -> CardResult<&[u8]> {
        if self.df == Df::Pse && target == ReadTarget::Sfi(1) {
            self.session = Session::None;
            return match (&self.pse, record) {
                (
                    Some(Pse {
                        dir_record: Some(r),
                        ..
                    }),
                    1,
                ) => Ok(r),
                _ => Err(StatusWord::RECORD_NOT_FOUND),
            };
        }
        self.session = Session::None;
        let i = self.find_ef(target)?;
        if let ReadTarget::Sfi(_) = target {
            self.ef = Some(i);
        }
        let ef = &self.files[i];
        let Some(rec_len) = ef.rec_len() else {
            return Err(StatusWord::INCOMPATIBLE_FILE);
        };
        let data = ef.record(record).ok_or(StatusWord::RECORD_NOT_FOUND)?;
        match usize::from(le) {
            256 => Ok(data),
            n if n <= rec_len => Ok(&data[..n]),
            _ => Err(StatusWord(0x6C00 | rec_len as u16)),
        }
    }

    fn purse_ready(&self, purse: Purse) -> CardResult<()> {
        if self.df != Df::Adf {
            return Err(StatusWord::CONDITIONS_NOT_SATISFIED);
        }
        if purse == Purse::Ed && self.purse.ed_balance.is_none() {
            return Err(StatusWord::WRONG_P1P2);
        }
        Ok(())
    }

    fn balance_of(&self, purse: Purse) -> u32 {
        match purse {
            Purse::Ep => self.purse.balance,
            Purse::Ed => self.purse.ed_balance.unwrap_or(0),
        }
    }

    fn set_balance(&mut self, purse: Purse, fen: u32) {
        match purse {
            Purse::Ep => self.purse.balance = fen,
            Purse::Ed => self.purse.ed_balance = Some(fen),
        }
    }

    /// GET BALANCE of the EP, or of the ED on a card that has one. P1 = 01, the second register
    /// real T-Union cards answer (readers subtract it from the balance), answers the overdraft
    /// in use: always 0, since these cards never let a purse go below zero **\[I\]**.
    pub fn get_balance(&mut self, purse: Purse, register: BalanceRegister) -> CardResult<u32> {
        self.session = Session::None;
        self.purse_ready(purse)?;
        Ok(match register {
            BalanceRegister::Balance => self.balance_of(purse),
            BalanceRegister::Second => 0,
        })
    }

    fn check_initialize(&self, purse: Purse, key_index: u8) -> CardResult<()> {
        self.purse_ready(purse)?;
        if self.app_state != AppState::Enabled {
            return Err(StatusWord::CONDITIONS_NOT_SATISFIED);
        }
        if key_index != self.key_index {
            return Err(StatusWord::KEY_NOT_FOUND);
        }
        Ok(())
    }

    /// INITIALIZE FOR PURCHASE (composite when `composite`): opens a purchase session.
    pub fn initialize_for_purchase(
        &mut self,
        composite: bool,
        purse: Purse,
        key_index: u8,
        amount: u32,
        terminal: TerminalId,
    ) -> CardResult<InitializeForPurchaseResponse> {
        self.session = Session::None;
        self.check_initialize(purse, key_index)?;
        if composite && !self.has_capp {
            return Err(StatusWord::FUNCTION_NOT_SUPPORTED);
        }
        // A composite (CAPP) purchase debits the EP [I: no source shows one on an ED].
        if composite && purse == Purse::Ed {
            return Err(StatusWord::WRONG_P1P2);
        }
        if self.purse.offline_seq == u16::MAX {
            return Err(StatusWord::COUNTER_AT_LIMIT);
        }
        let balance = self.balance_of(purse);
        if amount > balance {
            return Err(StatusWord::INSUFFICIENT_BALANCE);
        }
        let random = self.random4();
        self.session = Session::Purchase(PurchaseSession {
            composite,
            purse,
            amount,
            terminal,
            random,
            seq: self.purse.offline_seq,
            pending_len: 0,
        });
        Ok(InitializeForPurchaseResponse {
            balance,
            offline_seq: self.purse.offline_seq,
            overdraft_limit: self.overdraft_limit,
            key_version: self.key_version,
            alg_id: self.alg.alg_id(),
            random,
        })
    }

    /// Checks the date of a DEBIT/CREDIT: a calendar date (else 6A80) inside the application's
    /// validity (else 6985).
    fn check_date(&self, date_time: &[u8; 7]) -> CardResult<NaiveDateTime> {
        let dt = bcd::decode_datetime("transaction date", date_time)
            .map_err(|_| StatusWord::WRONG_DATA)?;
        let date = &date_time[..4];
        if date < &self.start[..] || date > &self.expiry[..] {
            return Err(StatusWord::CONDITIONS_NOT_SATISFIED);
        }
        Ok(dt)
    }

    fn append_tx_record(
        &mut self,
        seq: u16,
        amount: u32,
        tx_type: TxType,
        terminal: TerminalId,
        date_time: NaiveDateTime,
    ) {
        let record = TxRecord {
            seq,
            overdraft: self.overdraft_limit,
            amount,
            tx_type,
            terminal,
            date_time,
        }
        .encode();
        self.files[self.tx_file].append(&record);
    }

    /// DEBIT FOR PURCHASE: checks MAC1 and completes the purchase opened by INITIALIZE.
    pub fn debit_for_purchase(
        &mut self,
        terminal_seq: u32,
        date_time: [u8; 7],
        mac1: Mac4,
    ) -> CardResult<DebitForPurchaseResponse> {
        let Session::Purchase(s) = std::mem::take(&mut self.session) else {
            return Err(StatusWord::CONDITIONS_NOT_SATISFIED);
        };
        let dt = self.check_date(&date_time)?;
        let tx_type = match (s.composite, s.purse) {
            (true, _) => TxType::COMPOSITE_PURCHASE,
            (false, Purse::Ep) => TxType::EP_PURCHASE,
            (false, Purse::Ed) => TxType::ED_PURCHASE,
        };
        let data = PurchaseData {
            amount: s.amount,
            tx_type,
            terminal: s.terminal,
            terminal_seq,
            date_time,
        };
        let key =
            crypto::purchase_session_key(self.alg, &self.keys.dpk, s.random, s.seq, terminal_seq);
        let auth = if s.composite {
            self.auth_code.as_ref()
        } else {
            None
        };
        if !crypto::verify_mac(&mac1, &crypto::purchase_mac1(&key, &data, auth)) {
            return Err(StatusWord::MAC_ERROR);
        }
        // Every check passed: commit purse, counter, 0018 and the cached records together.
        let before = self.balance_of(s.purse);
        self.set_balance(s.purse, before - s.amount);
        self.purse.offline_seq += 1;
        let seq_after = self.purse.offline_seq;
        self.append_tx_record(seq_after, s.amount, tx_type, s.terminal, dt);
        for p in &self.pending[..s.pending_len] {
            let ef = &mut self.files[p.file];
            if p.record == 0 {
                ef.append(&p.data[..p.len]);
            } else {
                ef.write_record(p.record, &p.data[..p.len]);
            }
        }
        let tac = crypto::purchase_tac(self.alg, &self.keys.dtk, &data);
        let mac2 = crypto::purchase_mac2(&key, s.amount);
        self.last = Some(LastTx {
            tx_type,
            seq_after,
            mac: mac2,
            tac,
        });
        Ok(DebitForPurchaseResponse { tac, mac2 })
    }

    /// INITIALIZE FOR LOAD: opens a load session and answers the card's MAC1 for the host.
    pub fn initialize_for_load(
        &mut self,
        purse: Purse,
        key_index: u8,
        amount: u32,
        terminal: TerminalId,
    ) -> CardResult<InitializeForLoadResponse> {
        self.session = Session::None;
        self.check_initialize(purse, key_index)?;
        if self.purse.online_seq == u16::MAX {
            return Err(StatusWord::COUNTER_AT_LIMIT);
        }
        let balance = self.balance_of(purse);
        if balance
            .checked_add(amount)
            .is_none_or(|after| after > self.max_balance)
        {
            return Err(StatusWord::CONDITIONS_NOT_SATISFIED);
        }
        let random = self.random4();
        let seq = self.purse.online_seq;
        let key = crypto::load_session_key(self.alg, &self.keys.dlk, random, seq);
        let data = LoadData {
            balance_before: balance,
            amount,
            tx_type: purse.load_type(),
            terminal,
            online_seq: seq,
            date_time: [0; 7],
        };
        let mac1 = crypto::load_mac1(&key, &data);
        self.session = Session::Load(LoadSession {
            purse,
            amount,
            terminal,
            seq,
            balance_before: balance,
            key,
        });
        Ok(InitializeForLoadResponse {
            balance,
            online_seq: seq,
            key_version: self.key_version,
            alg_id: self.alg.alg_id(),
            random,
            mac1,
        })
    }

    /// CREDIT FOR LOAD: checks the host's MAC2 and completes the load.
    pub fn credit_for_load(
        &mut self,
        date_time: [u8; 7],
        mac2: Mac4,
    ) -> CardResult<CreditForLoadResponse> {
        let Session::Load(s) = std::mem::take(&mut self.session) else {
            return Err(StatusWord::CONDITIONS_NOT_SATISFIED);
        };
        let dt = self.check_date(&date_time)?;
        let tx_type = s.purse.load_type();
        let data = LoadData {
            balance_before: s.balance_before,
            amount: s.amount,
            tx_type,
            terminal: s.terminal,
            online_seq: s.seq,
            date_time,
        };
        if !crypto::verify_mac(&mac2, &crypto::load_mac2(&s.key, &data)) {
            return Err(StatusWord::MAC_ERROR);
        }
        // The load TAC covers the online counter before it is incremented [V].
        let tac = crypto::load_tac(self.alg, &self.keys.dtk, &data);
        self.set_balance(s.purse, s.balance_before + s.amount);
        self.purse.online_seq += 1;
        let seq_after = self.purse.online_seq;
        self.append_tx_record(seq_after, s.amount, tx_type, s.terminal, dt);
        self.last = Some(LastTx {
            tx_type,
            seq_after,
            mac: mac2,
            tac,
        });
        Ok(CreditForLoadResponse { tac })
    }

    /// UPDATE CAPP DATA CACHE inside a composite purchase: caches the record for DEBIT. P1 is
    /// the record number of a linear composite file (0017, 001A), or 00 to append to a cyclic
    /// one (001E) **\[I\]**.
    pub fn update_capp_data_cache(
        &mut self,
        record_id: u8,
        sfi: u8,
        data: &[u8],
    ) -> CardResult<()> {
        let Session::Purchase(mut s) = std::mem::take(&mut self.session) else {
            return Err(StatusWord::CONDITIONS_NOT_SATISFIED);
        };
        if !s.composite {
            return Err(StatusWord::CONDITIONS_NOT_SATISFIED);
        }
        let file = self
            .files
            .iter()
            .position(|f| f.sfi() == sfi)
            .ok_or(StatusWord::FILE_NOT_FOUND)?;
        let ef = &self.files[file];
        if !matches!(ef.role, Role::Capp { .. }) {
            return Err(StatusWord::INCOMPATIBLE_FILE);
        }
        if ef.rec_len() != Some(data.len()) {
            return Err(StatusWord::WRONG_LENGTH);
        }
        if ef.is_cyclic() {
            if record_id != 0 {
                return Err(StatusWord::WRONG_P1P2);
            }
        } else {
            if record_id == 0 || usize::from(record_id) > ef.record_count() {
                return Err(StatusWord::RECORD_NOT_FOUND);
            }
            if ef.is_locked(record_id) {
                return Err(StatusWord::DATA_INVALIDATED);
            }
        }
        let same = self.pending[..s.pending_len]
            .iter()
            .position(|p| record_id != 0 && p.file == file && p.record == record_id);
        let slot = match same {
            Some(i) => i,
            None if s.pending_len < MAX_PENDING => {
                s.pending_len += 1;
                s.pending_len - 1
            }
            None => return Err(StatusWord::CONDITIONS_NOT_SATISFIED),
        };
        let p = &mut self.pending[slot];
        p.file = file;
        p.record = record_id;
        p.len = data.len();
        p.data[..data.len()].copy_from_slice(data);
        self.session = Session::Purchase(s);
        Ok(())
    }

    /// GET TRANSACTION PROVE: the MAC and TAC of the last transaction, if its type and the
    /// counter after it match; 9406 otherwise.
    pub fn get_transaction_prove(
        &mut self,
        tx_type: TxType,
        seq: u16,
    ) -> CardResult<TransactionProveResponse> {
        self.session = Session::None;
        self.purse_ready(Purse::Ep)?;
        match self.last {
            Some(last) if last.tx_type == tx_type && last.seq_after == seq => {
                Ok(TransactionProveResponse {
                    mac: last.mac,
                    tac: last.tac,
                })
            }
            _ => Err(StatusWord::MAC_NOT_AVAILABLE),
        }
    }

    /// GET CHALLENGE: 4 or 8 random bytes.
    pub fn get_challenge(&mut self, len: u8) -> CardResult<&[u8]> {
        self.session = Session::None;
        self.challenge = self.next_random().to_be_bytes();
        Ok(&self.challenge[..usize::from(len).min(8)])
    }

    /// `80 CA 00 00 09`: the MOHURD security authentication code; other schemes answer 6D00.
    pub fn get_auth_code(&mut self) -> CardResult<AuthCode> {
        self.session = Session::None;
        let code = self
            .auth_code
            .ok_or(StatusWord::INSTRUCTION_NOT_SUPPORTED)?;
        if self.df != Df::Adf {
            return Err(StatusWord::CONDITIONS_NOT_SATISFIED);
        }
        Ok(code)
    }
}

#[cfg(test)]
mod tests;
