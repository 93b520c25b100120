//! MAC1, MAC2 and TAC for purchase, composite purchase and load (STANDARDS.md §2).
//!
//! | value | key | data |
//! |---|---|---|
//! | purchase session key | DPK | random(4) ‖ offline seq(2) ‖ terminal seq low 2 bytes |
//! | purchase MAC1 | session | amount(4) ‖ type ‖ terminal(6) ‖ date(4) ‖ time(3) [‖ auth code(9)] |
//! | purchase MAC2 | session | amount(4) |
//! | purchase TAC | TAC key | amount ‖ type ‖ terminal ‖ terminal seq(4) ‖ date ‖ time |
//! | load session key | DLK | random(4) ‖ online seq(2) ‖ `80 00` |
//! | load MAC1 | session | balance before(4) ‖ amount ‖ type ‖ terminal |
//! | load MAC2 | session | amount ‖ type ‖ terminal ‖ date ‖ time |
//! | load TAC | TAC key | balance after ‖ online seq before it is incremented (2) ‖ amount ‖ type ‖ terminal ‖ date ‖ time |
//!
//! The TAC key is DTK_L ⊕ DTK_R for 3DES and DTK itself for the SM4 profile. 3DES session keys
//! are `3DES(card key, input8)`; SM4 session keys are `SM4(card key, input8 ‖ 80 00…)`.
//!
//! The load TAC covers the online counter as INITIALIZE FOR LOAD returned it, i.e. before the
//! card increments it ("加1前"): the real Changsha load vector (seq 0000) verifies only so.

use subtle::ConstantTimeEq;

use super::keys::{Algorithm, Key16, SessionKey};
use super::primitives::{des_mac, sm4_encrypt_block, sm4_mac, tdes_encrypt_block};
use crate::identity::{AuthCode, Mac4, TerminalId};
use crate::tx_type::TxType;

/// The facts of a purchase that MAC1 and the TAC cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurchaseData {
    /// Amount in fen.
    pub amount: u32,
    /// 06 (EP purchase), 05 (ED purchase) or 09 (composite purchase).
    pub tx_type: TxType,
    /// The terminal's PSAM number.
    pub terminal: TerminalId,
    /// The PSAM's transaction counter for this transaction.
    pub terminal_seq: u32,
    /// Terminal date and time, BCD `YYYYMMDDhhmmss`.
    pub date_time: [u8; 7],
}

/// The facts of a load that MAC1, MAC2 and the TAC cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadData {
    /// Balance before the load, in fen.
    pub balance_before: u32,
    /// Amount in fen.
    pub amount: u32,
    /// 02 (EP load) or 01 (ED load).
    pub tx_type: TxType,
    /// The loading terminal.
    pub terminal: TerminalId,
    /// The card's online counter as returned by INITIALIZE FOR LOAD (before the load).
    pub online_seq: u16,
    /// Host date and time, BCD `YYYYMMDDhhmmss`.
    pub date_time: [u8; 7],
}

fn session_key(alg: Algorithm, card_key: &Key16, input: [u8; 8]) -> SessionKey {
    match alg {
        Algorithm::TripleDes => SessionKey::Des(tdes_encrypt_block(&card_key.0, input)),
        Algorithm::Sm4 => {
            let mut block = [0u8; 16];
            block[..8].copy_from_slice(&input);
            block[8] = 0x80;
            SessionKey::Sm4(sm4_encrypt_block(&card_key.0, block))
        }
    }
}

/// The purchase process key SESPK from the card's DPK.
pub fn purchase_session_key(
    alg: Algorithm,
    dpk: &Key16,
    random: [u8; 4],
    offline_seq: u16,
    terminal_seq: u32,
) -> SessionKey {
    let mut input = [0u8; 8];
    input[..4].copy_from_slice(&random);
    input[4..6].copy_from_slice(&offline_seq.to_be_bytes());
    input[6..].copy_from_slice(&terminal_seq.to_be_bytes()[2..]);
    session_key(alg, dpk, input)
}

/// The load process key SESLK from the card's DLK.
pub fn load_session_key(
    alg: Algorithm,
    dlk: &Key16,
    random: [u8; 4],
    online_seq: u16,
) -> SessionKey {
    let mut input = [0u8; 8];
    input[..4].copy_from_slice(&random);
    input[4..6].copy_from_slice(&online_seq.to_be_bytes());
    input[6] = 0x80;
    session_key(alg, dlk, input)
}

/// A 4-byte MAC under a session key.
fn session_mac(key: &SessionKey, data: &[u8]) -> Mac4 {
    match key {
        SessionKey::Des(k) => Mac4(left4(&des_mac(k, data))),
        SessionKey::Sm4(k) => Mac4(left4(&sm4_mac(k, data))),
    }
}

fn left4(b: &[u8]) -> [u8; 4] {
    [b[0], b[1], b[2], b[3]]
}

/// A small fixed buffer for MAC input, so the hot path does not allocate.
pub(crate) struct MacInput {
    buf: [u8; 40],
    len: usize,
}

impl MacInput {
    pub(crate) fn new() -> MacInput {
        MacInput {
            buf: [0; 40],
            len: 0,
        }
    }

    pub(crate) fn put(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
        self
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// MAC1 of a purchase. `auth_code` is appended for MOHURD composite purchases (see
/// [`crate::schemes::AuthCodeInMac1`]); pass `None` otherwise.
pub fn purchase_mac1(key: &SessionKey, data: &PurchaseData, auth_code: Option<&AuthCode>) -> Mac4 {
    let mut m = MacInput::new();
    m.put(&data.amount.to_be_bytes())
        .put(&[data.tx_type.0])
        .put(&data.terminal.0)
        .put(&data.date_time);
    if let Some(code) = auth_code {
        m.put(&code.0);
    }
    session_mac(key, m.as_slice())
}

/// MAC2 of a purchase (the card's proof to the terminal).
pub fn purchase_mac2(key: &SessionKey, amount: u32) -> Mac4 {
    session_mac(key, &amount.to_be_bytes())
}

/// The TAC input of a purchase.
pub(crate) fn purchase_tac_input(data: &PurchaseData) -> MacInput {
    let mut m = MacInput::new();
    m.put(&data.amount.to_be_bytes())
        .put(&[data.tx_type.0])
        .put(&data.terminal.0)
        .put(&data.terminal_seq.to_be_bytes())
        .put(&data.date_time);
    m
}

/// The TAC input of a load.
pub(crate) fn load_tac_input(data: &LoadData) -> MacInput {
    let mut m = MacInput::new();
    m.put(&data.balance_before.wrapping_add(data.amount).to_be_bytes())
        .put(&data.online_seq.to_be_bytes())
        .put(&data.amount.to_be_bytes())
        .put(&[data.tx_type.0])
        .put(&data.terminal.0)
        .put(&data.date_time);
    m
}

/// The key a TAC is computed under: DTK_L ⊕ DTK_R (3DES) or DTK (SM4 profile).
pub fn tac_key_material(alg: Algorithm, dtk: &Key16) -> SessionKey {
    match alg {
        Algorithm::TripleDes => {
            let (l, r) = (dtk.left(), dtk.right());
            SessionKey::Des(std::array::from_fn(|i| l[i] ^ r[i]))
        }
        Algorithm::Sm4 => SessionKey::Sm4(dtk.0),
    }
}

/// The TAC of a purchase (or composite purchase), under the card's DTK.
pub fn purchase_tac(alg: Algorithm, dtk: &Key16, data: &PurchaseData) -> Mac4 {
    session_mac(
        &tac_key_material(alg, dtk),
        purchase_tac_input(data).as_slice(),
    )
}

/// MAC1 of a load (the card's proof to the host).
pub fn load_mac1(key: &SessionKey, data: &LoadData) -> Mac4 {
    let mut m = MacInput::new();
    m.put(&data.balance_before.to_be_bytes())
        .put(&data.amount.to_be_bytes())
        .put(&[data.tx_type.0])
        .put(&data.terminal.0);
    session_mac(key, m.as_slice())
}

/// MAC2 of a load (the host's authorisation to the card).
pub fn load_mac2(key: &SessionKey, data: &LoadData) -> Mac4 {
    let mut m = MacInput::new();
    m.put(&data.amount.to_be_bytes())
        .put(&[data.tx_type.0])
        .put(&data.terminal.0)
        .put(&data.date_time);
    session_mac(key, m.as_slice())
}

/// The TAC of a load, under the card's DTK.
pub fn load_tac(alg: Algorithm, dtk: &Key16, data: &LoadData) -> Mac4 {
    session_mac(&tac_key_material(alg, dtk), load_tac_input(data).as_slice())
}

/// Compares a received MAC or TAC with the computed one in constant time.
pub fn verify_mac(received: &Mac4, computed: &Mac4) -> bool {
    received.0.ct_eq(&computed.0).into()
}
