//! The terminal driver: runs complete flows against any [`CardReader`] with a [`Psam`] (and a
//! [`LoadHost`] for loads) and yields one [`CanonicalTx`] per completed transaction.
//!
//! | flow | APDUs |
//! |---|---|
//! | purchase | SELECT AID, READ BINARY 0016, INITIALIZE FOR PURCHASE, (PSAM MAC1), DEBIT FOR PURCHASE, (PSAM MAC2) |
//! | composite purchase | SELECT, READ 0016, [GET AUTHENTICATION CODE on MOHURD], INITIALIZE FOR CAPP PURCHASE, (PSAM MAC1), UPDATE CAPP DATA CACHE 0017, or 001A and 001E on T-Union, DEBIT, (PSAM MAC2) |
//! | load | SELECT, READ 0016, INITIALIZE FOR LOAD, (host verifies MAC1, computes MAC2), CREDIT FOR LOAD |
//! | recovery | reset, SELECT, GET TRANSACTION PROVE with the card counter after the transaction |
//!
//! When the card is lost during DEBIT or CREDIT the flow fails with [`Error::Torn`], which
//! carries a [`Pending`] transaction; [`Terminal::recover`] asks the card whether it completed
//! and yields the transaction if it did.
//!
//! The SELECT and READ BINARY APDUs are encoded once per terminal; a flow's own allocations
//! are the per-command APDU encoding and the strings of the canonical record.

use card_standards::apdu::{
    Command, CreditForLoadResponse, DebitForPurchaseResponse, InitializeForLoadResponse,
    InitializeForPurchaseResponse, TransactionProveResponse,
};
use card_standards::files::{
    AppInfo, AppType, CappRecord, CardFile, Cardholder, Invalidity, MotAppStatus, ProcessRecord,
    ProcessType, TransitRecord, TripPoint,
};
use card_standards::schemes::AuthCodeInMac1;
use card_standards::{
    Acceptance, AuthCode, CanonicalTx, CardMedium, CardSerial, CardType, CityCode, CodeTables,
    Industry, IssuerId, Mac4, Purse, Scheme, StatusWord, TxType, bcd,
};
use chrono::{NaiveDate, NaiveDateTime};

use crate::card::layout;
use crate::error::{Error, Result};
use crate::psam::{LoadHost, LoadRequest, Mac1Request, Psam, PsamSession};
use crate::reader::CardReader;

/// Where a terminal stands and whom it works for: what goes into the canonical record's
/// acceptance fields and into the composite records it writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalConfig {
    /// The acquirer's participant code (who sends the transactions to the hub).
    pub acquirer: String,
    /// Operator / merchant, where known.
    pub operator: Option<String>,
    /// The industry the terminal serves.
    pub industry: Industry,
    /// Line number (written to composite records; reported as decimal).
    pub line: u16,
    /// Station or stop number.
    pub station: u16,
    /// Vehicle, where the terminal is on one (ASCII, at most 8 characters on the card).
    pub vehicle: Option<String>,
    /// The acquirer's city code as T-Union 001E records store it.
    pub city: CityCode,
    /// The acquiring institution's code (8 bytes) for T-Union records.
    pub institution: [u8; 8],
    /// The key index INITIALIZE asks for (01 on the simulated cards).
    pub key_index: u8,
    /// The composite record the terminal updates: a record number of 0017 (MOHURD, local) or
    /// 001A (T-Union).
    pub capp_record: u8,
    /// Whether the terminal refuses cards outside their validity before touching the purse,
    /// as production terminals do. The catalogue turns it off to see the card's own refusal.
    pub check_validity: bool,
}

impl TerminalConfig {
    /// A configuration with defaults: no operator, line 1, station 1, no vehicle, city
    /// 4520 (Qingdao, T-Union code), institution zero, key index 01, composite record 1,
    /// validity checked.
    pub fn new(acquirer: impl Into<String>, industry: Industry) -> TerminalConfig {
        TerminalConfig {
            acquirer: acquirer.into(),
            operator: None,
            industry,
            line: 1,
            station: 1,
            vehicle: None,
            city: CityCode([0x45, 0x20]),
            institution: [0; 8],
            key_index: 0x01,
            capp_record: 1,
            check_validity: true,
        }
    }

    fn acceptance(&self) -> Acceptance {
        Acceptance {
            acquirer: self.acquirer.clone(),
            operator: self.operator.clone(),
            industry: self.industry,
            line: Some(self.line.to_string()),
            station: Some(self.station.to_string()),
            vehicle: self.vehicle.clone(),
        }
    }
}

/// What the terminal read from the card before the purse commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardInfo {
    /// The scheme whose application answered.
    pub scheme: Scheme,
    /// Application serial from 0015.
    pub serial: CardSerial,
    /// Issuer and city from 0015.
    pub issuer: IssuerId,
    /// 启用日期.
    pub start_date: NaiveDate,
    /// 有效日期.
    pub expiry_date: NaiveDate,
    /// T-Union 0015 byte 9, 启用标识; `None` for the MOHURD layout, whose 0015 has no such flag
    /// (byte 8 is the application type) **\[I\]**.
    pub status: Option<MotAppStatus>,
    /// 0015 byte 8, the application type (kept raw; checked by nothing).
    pub app_type: AppType,
    /// The raw card-type code from 0016 (0 when 0016 was not read).
    pub card_type: u8,
}

/// A purchase whose DEBIT was torn.
#[derive(Debug, Clone)]
pub struct PendingPurchase {
    /// The card.
    pub card: CardInfo,
    /// What INITIALIZE FOR PURCHASE answered.
    pub init: InitializeForPurchaseResponse,
    /// Amount in fen.
    pub amount: u32,
    /// 06 or 09.
    pub tx_type: TxType,
    /// The PSAM counter of the transaction.
    pub terminal_seq: u32,
    /// Terminal time.
    pub at: NaiveDateTime,
    /// The authentication code MAC1 covered (MOHURD composite purchases).
    pub auth_code: Option<AuthCode>,
    /// The PSAM session, to verify MAC2 from GET TRANSACTION PROVE.
    pub session: PsamSession,
}

/// A load whose CREDIT was torn.
#[derive(Debug, Clone)]
pub struct PendingLoad {
    /// The card.
    pub card: CardInfo,
    /// What INITIALIZE FOR LOAD answered.
    pub init: InitializeForLoadResponse,
    /// Amount in fen.
    pub amount: u32,
    /// The host's counter for the load.
    pub host_seq: u32,
    /// The MAC2 the host issued.
    pub mac2: Mac4,
    /// Host time.
    pub at: NaiveDateTime,
}

/// A transaction that may or may not have completed on the card.
#[derive(Debug, Clone)]
pub enum Pending {
    /// Torn during DEBIT FOR PURCHASE.
    Purchase(PendingPurchase),
    /// Torn during CREDIT FOR LOAD.
    Load(PendingLoad),
}

impl Pending {
    /// The command that was torn.
    pub fn command(&self) -> &'static str {
        match self {
            Pending::Purchase(_) => "DEBIT FOR PURCHASE",
            Pending::Load(_) => "CREDIT FOR LOAD",
        }
    }

    /// The card of the transaction.
    pub fn card(&self) -> &CardInfo {
        match self {
            Pending::Purchase(p) => &p.card,
            Pending::Load(l) => &l.card,
        }
    }

    /// The type byte GET TRANSACTION PROVE names.
    pub fn tx_type(&self) -> TxType {
        match self {
            Pending::Purchase(p) => p.tx_type,
            Pending::Load(_) => TxType::EP_LOAD,
        }
    }

    /// The card counter after the transaction (INITIALIZE's value + 1), which GET
    /// TRANSACTION PROVE names.
    pub fn seq_after(&self) -> u16 {
        match self {
            Pending::Purchase(p) => p.init.offline_seq.wrapping_add(1),
            Pending::Load(l) => l.init.online_seq.wrapping_add(1),
        }
    }
}

/// The outcome of [`Terminal::recover`].
#[derive(Debug, Clone, PartialEq)]
pub enum Recovery {
    /// The card had completed the transaction; here it is, with the TAC from GET TRANSACTION
    /// PROVE.
    Completed(Box<CanonicalTx>),
    /// The card does not hold the transaction (9406): nothing was debited or credited, and the
    /// terminal may start again.
    NotCompleted,
}

const READ_0016: [u8; 5] = [0x00, 0xB0, 0x96, 0x00, 0x00];
const GET_AUTH_CODE: [u8; 5] = [0x80, 0xCA, 0x00, 0x00, 0x09];

fn scheme_index(scheme: Scheme) -> usize {
    match scheme {
        Scheme::Local => 0,
        Scheme::Mohurd => 1,
        Scheme::Mot => 2,
        Scheme::Pboc => 3,
    }
}

/// Finds the value of `tag` among the BER-TLVs of `data` (one level).
pub(crate) fn tlv_find<'a>(mut data: &'a [u8], tag: &[u8]) -> Option<&'a [u8]> {
    while !data.is_empty() {
        let mut tag_len = 1;
        if data[0] & 0x1F == 0x1F {
            while data.get(tag_len)? & 0x80 != 0 {
                tag_len += 1;
            }
            tag_len += 1;
        }
        let this_tag = data.get(..tag_len)?;
        let (len, len_len) = match *data.get(tag_len)? {
            n if n < 0x80 => (usize::from(n), 1),
            0x81 => (usize::from(*data.get(tag_len + 1)?), 2),
            0x82 => (
                usize::from(u16::from_be_bytes([
                    *data.get(tag_len + 1)?,
                    *data.get(tag_len + 2)?,
                ])),
                3,
            ),
            _ => return None,
        };
        let start = tag_len + len_len;
        let value = data.get(start..start + len)?;
        if this_tag == tag {
            return Some(value);
        }
        data = &data[start + len..];
    }
    None
}

/// The 30-byte copy of 0015 in an application FCI (`6F / A5 / 9F0C`).
pub fn fci_app_info(fci: &[u8]) -> Option<&[u8]> {
    let body = tlv_find(fci, &[0x6F])?;
    let prop = tlv_find(body, &[0xA5])?;
    tlv_find(prop, &[0x9F, 0x0C])
}

/// Writes `value` as BCD into `out` (right-aligned, leading zeros).
fn bcd_into(mut value: u32, out: &mut [u8]) {
    for byte in out.iter_mut().rev() {
        let lo = (value % 10) as u8;
        value /= 10;
        let hi = (value % 10) as u8;
        value /= 10;
        *byte = (hi << 4) | lo;
    }
}

/// A terminal: its configuration, its PSAM and the load host it reaches.
#[derive(Debug)]
pub struct Terminal {
    config: TerminalConfig,
    acceptance: Acceptance,
    psam: Psam,
    host: LoadHost,
    selects: [Vec<u8>; 4],
    card_types: [Option<CardType>; 1024],
    cmd: Vec<u8>,
    resp: Vec<u8>,
}

impl Terminal {
    /// A terminal with its PSAM and load host (which may hold no keys if the terminal does
    /// not load).
    pub fn new(config: TerminalConfig, psam: Psam, host: LoadHost) -> Terminal {
        let selects = Scheme::ALL.map(|s| {
            Command::SelectByName {
                name: layout::aid(s).to_vec(),
            }
            .to_apdu()
            .to_bytes()
        });
        Terminal {
            acceptance: config.acceptance(),
            config,
            psam,
            host,
            selects,
            card_types: [None; 1024],
            cmd: Vec::with_capacity(64),
            resp: Vec::with_capacity(64),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &TerminalConfig {
        &self.config
    }

    /// Changes the configuration between flows (a bus reaching the next stop, another
    /// composite record).
    pub fn reconfigure(&mut self, change: impl FnOnce(&mut TerminalConfig)) {
        change(&mut self.config);
        self.acceptance = self.config.acceptance();
    }

    /// The PSAM.
    pub fn psam(&self) -> &Psam {
        &self.psam
    }

    /// The PSAM, to install keys or compute MACs by hand.
    pub fn psam_mut(&mut self) -> &mut Psam {
        &mut self.psam
    }

    /// The load host.
    pub fn host_mut(&mut self) -> &mut LoadHost {
        &mut self.host
    }

    fn send<R: CardReader + ?Sized>(
        &mut self,
        card: &mut R,
        name: &'static str,
        apdu: &[u8],
    ) -> Result<usize> {
        card.transmit(apdu, &mut self.resp)?;
        let n = self.resp.len();
        if n < 2 {
            return Err(Error::Reader(format!(
                "{name}: response of {n} bytes has no status word"
            )));
        }
        let sw = StatusWord::from_bytes(self.resp[n - 2], self.resp[n - 1]);
        if sw.is_ok() {
            Ok(n - 2)
        } else {
            Err(Error::Card { command: name, sw })
        }
    }

    fn exchange<R: CardReader + ?Sized>(
        &mut self,
        card: &mut R,
        command: &Command,
    ) -> Result<usize> {
        let apdu = command.to_apdu();
        self.cmd.clear();
        self.cmd.extend_from_slice(&apdu.to_bytes());
        let cmd = std::mem::take(&mut self.cmd);
        let result = self.send(card, command.name(), &cmd);
        self.cmd = cmd;
        result
    }

    /// Selects the scheme's application and reads 0015 from its FCI.
    pub fn select<R: CardReader + ?Sized>(
        &mut self,
        card: &mut R,
        scheme: Scheme,
    ) -> Result<CardInfo> {
        let apdu = std::mem::take(&mut self.selects[scheme_index(scheme)]);
        let result = self.send(card, "SELECT (by name)", &apdu);
        self.selects[scheme_index(scheme)] = apdu;
        let n = result?;
        let fci = &self.resp[..n];
        let raw = fci_app_info(fci).ok_or_else(|| {
            Error::Standards(card_standards::Error::InvalidField {
                field: "FCI",
                value: hex::encode_upper(fci),
                reason: "no 6F/A5/9F0C template with the copy of 0015",
            })
        })?;
        let info = AppInfo::decode(scheme.profile().app_info_layout, raw)?;
        Ok(CardInfo {
            scheme,
            serial: info.serial(),
            issuer: info.issuer(),
            start_date: info.start_date(),
            expiry_date: info.expiry_date(),
            status: info.status(),
            app_type: info.app_type(),
            card_type: 0,
        })
    }

    /// Finds which scheme's application the card carries, trying each scheme's AID.
    pub fn detect<R: CardReader + ?Sized>(&mut self, card: &mut R) -> Result<CardInfo> {
        let mut last = None;
        for scheme in Scheme::ALL {
            match self.select(card, scheme) {
                Ok(info) => return Ok(info),
                Err(e @ Error::Card { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or(Error::Card {
            command: "SELECT (by name)",
            sw: StatusWord::FILE_NOT_FOUND,
        }))
    }

    /// Selects the application, reads 0016 and checks validity if configured.
    pub fn read_card<R: CardReader + ?Sized>(
        &mut self,
        card: &mut R,
        scheme: Scheme,
        at: NaiveDateTime,
    ) -> Result<CardInfo> {
        let mut info = self.select(card, scheme)?;
        let n = self.send(card, "READ BINARY", &READ_0016)?;
        info.card_type = Cardholder::decode(&self.resp[..n])?.card_type;
        if self.config.check_validity {
            // The dates, and the T-Union 启用标识 where 0015 has one; never byte 8, which real
            // cards in use carry as 00, 01, 02, 03 or 82 (issue 17).
            Invalidity::check(info.status, info.start_date, info.expiry_date, at.date())
                .map_err(|why| Error::CardNotValid(why.reason()))?;
        }
        Ok(info)
    }

    /// A purchase (type 06).
    pub fn purchase<R: CardReader + ?Sized>(
        &mut self,
        card: &mut R,
        scheme: Scheme,
        amount: u32,
        at: NaiveDateTime,
    ) -> Result<CanonicalTx> {
        self.debit(card, scheme, amount, at, false)
    }

    /// A composite purchase (type 09) that updates the scheme's composite records: 0017 on
    /// MOHURD and local cards, 001A and 001E on T-Union cards.
    pub fn composite_purchase<R: CardReader + ?Sized>(
        &mut self,
        card: &mut R,
        scheme: Scheme,
        amount: u32,
        at: NaiveDateTime,
    ) -> Result<CanonicalTx> {
        self.debit(card, scheme, amount, at, true)
    }

    fn debit<R: CardReader + ?Sized>(
        &mut self,
        card: &mut R,
        scheme: Scheme,
        amount: u32,
        at: NaiveDateTime,
        composite: bool,
    ) -> Result<CanonicalTx> {
        let info = self.read_card(card, scheme, at)?;
        let auth_code =
            if composite && scheme.profile().auth_code_in_mac1 == AuthCodeInMac1::CompositeOnly {
                let n = self.send(card, "GET AUTHENTICATION CODE", &GET_AUTH_CODE)?;
                Some(AuthCode(self.resp[..n].try_into().map_err(|_| {
                    card_standards::Error::WrongLength {
                        field: "authentication code",
                        expected: 9,
                        actual: n,
                    }
                })?))
            } else {
                None
            };
        let n = self.exchange(
            card,
            &Command::InitializeForPurchase {
                composite,
                purse: Purse::Ep,
                key_index: self.config.key_index,
                amount,
                terminal: self.psam.terminal(),
            },
        )?;
        let init = InitializeForPurchaseResponse::parse(&self.resp[..n])?;
        let tx_type = if composite {
            TxType::COMPOSITE_PURCHASE
        } else {
            TxType::EP_PURCHASE
        };
        let date_time = bcd::encode_datetime(at);
        let mac1 = self.psam.compute_mac1(&Mac1Request {
            serial: info.serial,
            issuer: info.issuer,
            key_version: init.key_version,
            alg_id: init.alg_id,
            random: init.random,
            card_seq: init.offline_seq,
            amount,
            tx_type,
            date_time,
            auth_code,
        })?;
        let session = self.psam.session().ok_or(Error::NoPsamSession)?;
        if composite {
            let balance_after = init.balance.saturating_sub(amount);
            self.write_composite_records(
                card,
                scheme,
                amount,
                balance_after,
                mac1.terminal_seq,
                at,
            )?;
        }
        let pending = PendingPurchase {
            card: info,
            init,
            amount,
            tx_type,
            terminal_seq: mac1.terminal_seq,
            at,
            auth_code,
            session,
        };
        let debit = Command::DebitForPurchase {
            terminal_seq: mac1.terminal_seq,
            date_time,
            mac1: mac1.mac1,
        };
        match self.exchange(card, &debit) {
            Ok(n) => {
                let resp = DebitForPurchaseResponse::parse(&self.resp[..n])?;
                self.psam.verify_mac2(&resp.mac2)?;
                self.purchase_tx(&pending, resp.tac)
            }
            Err(Error::Reader(_)) => Err(Error::Torn(Box::new(Pending::Purchase(pending)))),
            Err(e) => Err(e),
        }
    }

    fn write_composite_records<R: CardReader + ?Sized>(
        &mut self,
        card: &mut R,
        scheme: Scheme,
        amount: u32,
        balance_after: u32,
        terminal_seq: u32,
        at: NaiveDateTime,
    ) -> Result<()> {
        let terminal = self.psam.terminal().0;
        let mut terminal8 = [0u8; 8];
        terminal8[2..].copy_from_slice(&terminal);
        match scheme {
            Scheme::Mohurd | Scheme::Local => {
                // The 45 data bytes are the operator's [I]: terminal(6) ‖ time(7) ‖ amount(4)
                // ‖ line(2) ‖ station(2) ‖ zeros.
                let mut data = [0u8; 45];
                data[..6].copy_from_slice(&terminal);
                data[6..13].copy_from_slice(&bcd::encode_datetime(at));
                data[13..17].copy_from_slice(&amount.to_be_bytes());
                data[17..19].copy_from_slice(&self.config.line.to_be_bytes());
                data[19..21].copy_from_slice(&self.config.station.to_be_bytes());
                let record = CappRecord {
                    record_id: self.config.capp_record,
                    lock_flag: 0,
                    data,
                };
                self.exchange(
                    card,
                    &Command::UpdateCappDataCache {
                        record_id: self.config.capp_record,
                        sfi: 0x17,
                        data: record.encode(),
                    },
                )?;
            }
            Scheme::Mot => {
                let mut tx_serial = [0u8; 8];
                bcd_into(terminal_seq, &mut tx_serial);
                let mut vehicle = [b' '; 8];
                if let Some(v) = &self.config.vehicle {
                    for (dst, src) in vehicle.iter_mut().zip(v.bytes()) {
                        *dst = src;
                    }
                }
                let transit = TransitRecord {
                    record_id: [0x27, 0x02],
                    len: 0x7D,
                    valid: 0x01,
                    tx_flag: 0x01,
                    locked: 0x00,
                    tx_serial,
                    state: 0x02,
                    boarding: TripPoint {
                        city: self.config.city.0,
                        institution: self.config.institution,
                        operator: [0, 0],
                        line: self.config.line,
                        station: self.config.station as u8,
                        vehicle,
                        terminal: terminal8,
                        time: Some(at),
                    },
                    max_fare: amount,
                    direction: 0,
                    alighting: TripPoint::default(),
                    amount,
                    mileage: 0,
                    reserved_city: self.config.city.0,
                    driver: [0; 4],
                    conductor: [0; 4],
                    trip_no: 0,
                    max_minutes: 0,
                    station_name: [0; 10],
                    rfu: [0; 2],
                };
                self.exchange(
                    card,
                    &Command::UpdateCappDataCache {
                        record_id: self.config.capp_record,
                        sfi: 0x1A,
                        data: transit.encode(),
                    },
                )?;
                let industry =
                    CodeTables::builtin().industry_code(Scheme::Mot, self.config.industry)?;
                let industry_code = u8::from_str_radix(industry, 16).map_err(|_| {
                    card_standards::Error::InvalidField {
                        field: "T-Union industry code",
                        value: industry.to_string(),
                        reason: "not one hex byte",
                    }
                })?;
                let mut line = [0u8; 4];
                bcd_into(u32::from(self.config.line), &mut line);
                let mut station = [0u8; 3];
                bcd_into(u32::from(self.config.station), &mut station);
                let process = ProcessRecord {
                    process_type: ProcessType::EP_SINGLE,
                    terminal: terminal8,
                    industry_code,
                    line,
                    station,
                    amount,
                    balance: balance_after,
                    date_time: at,
                    acquirer_city: self.config.city.0,
                    institution: self.config.institution,
                    max_incomplete_amount: 0,
                    max_minutes: 0,
                };
                self.exchange(
                    card,
                    &Command::UpdateCappDataCache {
                        record_id: 0,
                        sfi: 0x1E,
                        data: process.encode(),
                    },
                )?;
            }
            Scheme::Pboc => {}
        }
        Ok(())
    }

    /// A load (type 02): the host verifies the card's MAC1 and answers MAC2.
    pub fn load<R: CardReader + ?Sized>(
        &mut self,
        card: &mut R,
        scheme: Scheme,
        amount: u32,
        at: NaiveDateTime,
    ) -> Result<CanonicalTx> {
        let info = self.read_card(card, scheme, at)?;
        let terminal = self.psam.terminal();
        let n = self.exchange(
            card,
            &Command::InitializeForLoad {
                purse: Purse::Ep,
                key_index: self.config.key_index,
                amount,
                terminal,
            },
        )?;
        let init = InitializeForLoadResponse::parse(&self.resp[..n])?;
        let date_time = bcd::encode_datetime(at);
        let auth = self.host.authorise(&LoadRequest {
            serial: info.serial,
            issuer: info.issuer,
            key_version: init.key_version,
            alg_id: init.alg_id,
            random: init.random,
            online_seq: init.online_seq,
            balance_before: init.balance,
            amount,
            tx_type: TxType::EP_LOAD,
            terminal,
            mac1: init.mac1,
            date_time,
        })?;
        let pending = PendingLoad {
            card: info,
            init,
            amount,
            host_seq: auth.host_seq,
            mac2: auth.mac2,
            at,
        };
        match self.exchange(
            card,
            &Command::CreditForLoad {
                date_time,
                mac2: auth.mac2,
            },
        ) {
            Ok(n) => {
                let resp = CreditForLoadResponse::parse(&self.resp[..n])?;
                self.load_tx(&pending, resp.tac)
            }
            Err(Error::Reader(_)) => Err(Error::Torn(Box::new(Pending::Load(pending)))),
            Err(e) => Err(e),
        }
    }

    /// Recovers a torn transaction: power-cycles the card, checks it is the same card, and
    /// asks it with GET TRANSACTION PROVE (type and counter after the transaction) whether it
    /// completed. A completed purchase's MAC2 is verified by the PSAM session; the TAC is the
    /// card's. The load "MAC" of the proof is not checked **\[I\]**: what a card returns there
    /// for a load is not confirmed.
    pub fn recover<R: CardReader + ?Sized>(
        &mut self,
        card: &mut R,
        pending: &Pending,
    ) -> Result<Recovery> {
        card.reset()?;
        let expected = pending.card();
        let info = self.select(card, expected.scheme)?;
        if info.serial != expected.serial {
            return Err(Error::WrongCard {
                expected: expected.serial,
                found: info.serial,
            });
        }
        let prove = Command::GetTransactionProve {
            tx_type: pending.tx_type(),
            seq: pending.seq_after(),
        };
        let n = match self.exchange(card, &prove) {
            Ok(n) => n,
            Err(Error::Card {
                sw: StatusWord::MAC_NOT_AVAILABLE,
                ..
            }) => return Ok(Recovery::NotCompleted),
            Err(e) => return Err(e),
        };
        let proof = TransactionProveResponse::parse(&self.resp[..n])?;
        let tx = match pending {
            Pending::Purchase(p) => {
                if !p.session.verify_mac2(&proof.mac) {
                    return Err(Error::Mac2Invalid);
                }
                self.purchase_tx(p, proof.tac)?
            }
            Pending::Load(l) => self.load_tx(l, proof.tac)?,
        };
        Ok(Recovery::Completed(Box::new(tx)))
    }

    fn card_type(&mut self, scheme: Scheme, raw: u8) -> Result<CardType> {
        let slot = scheme_index(scheme) * 256 + usize::from(raw);
        if let Some(t) = self.card_types[slot] {
            return Ok(t);
        }
        let t = CodeTables::builtin().card_type(scheme, &format!("{raw:02X}"))?;
        self.card_types[slot] = Some(t);
        Ok(t)
    }

    #[allow(clippy::too_many_arguments)]
    fn canonical(
        &mut self,
        card: &CardInfo,
        tx_type: TxType,
        amount: u32,
        balance_before: u32,
        card_seq: u16,
        terminal_seq: u32,
        at: NaiveDateTime,
        key_version: u8,
        alg_id: u8,
        tac: Mac4,
        auth_code: Option<AuthCode>,
    ) -> Result<CanonicalTx> {
        Ok(CanonicalTx {
            scheme: card.scheme,
            issuer: card.issuer,
            card_serial: card.serial,
            card_type: self.card_type(card.scheme, card.card_type)?,
            card_type_raw: format!("{:02X}", card.card_type),
            medium: CardMedium::Cpu,
            tx_type,
            amount_fen: i64::from(amount),
            balance_before_fen: i64::from(balance_before),
            card_seq,
            terminal: self.psam.terminal(),
            terminal_seq,
            tx_time: at,
            key_version,
            alg_id,
            tac: Some(tac),
            auth_code,
            acceptance: self.acceptance.clone(),
            provenance: None,
        })
    }

    fn purchase_tx(&mut self, p: &PendingPurchase, tac: Mac4) -> Result<CanonicalTx> {
        self.canonical(
            &p.card,
            p.tx_type,
            p.amount,
            p.init.balance,
            p.init.offline_seq,
            p.terminal_seq,
            p.at,
            p.init.key_version,
            p.init.alg_id,
            tac,
            p.auth_code,
        )
    }

    fn load_tx(&mut self, l: &PendingLoad, tac: Mac4) -> Result<CanonicalTx> {
        self.canonical(
            &l.card,
            TxType::EP_LOAD,
            l.amount,
            l.init.balance,
            l.init.online_seq,
            l.host_seq,
            l.at,
            l.init.key_version,
            l.init.alg_id,
            tac,
            None,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlv_find_walks_one_level_and_survives_truncation() {
        let fci = hex::decode("6F0A8402A000A50488020102").unwrap();
        let body = tlv_find(&fci, &[0x6F]).unwrap();
        assert_eq!(tlv_find(body, &[0x84]), Some(&[0xA0, 0x00][..]));
        assert_eq!(tlv_find(body, &[0xA5]), Some(&[0x88, 0x02, 0x01, 0x02][..]));
        assert_eq!(tlv_find(&fci[..5], &[0x6F]), None);
        assert_eq!(tlv_find(&[0x9F], &[0x9F, 0x0C]), None);
        assert_eq!(fci_app_info(&fci), None);
    }

    #[test]
    fn bcd_into_writes_decimal_digits_right_aligned() {
        let mut out = [0u8; 4];
        bcd_into(1_234_567, &mut out);
        assert_eq!(out, [0x01, 0x23, 0x45, 0x67]);
        let mut out = [0u8; 2];
        bcd_into(7, &mut out);
        assert_eq!(out, [0x00, 0x07]);
    }
}
