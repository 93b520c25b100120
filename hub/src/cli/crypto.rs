//! `hutong crypto`: the purse-crypto calculator. Prints one JSON object; hex is upper case.

use std::process::ExitCode;

use card_standards::crypto::{self, Algorithm, Key16, LoadData, Parity, PurchaseData};
use card_standards::{AuthCode, TerminalId, TxType, bcd};
use chrono::NaiveDateTime;
use clap::{Args, Subcommand};
use serde_json::json;

use super::BadInput;
use super::args::{HexBytes, algorithm, compact_datetime, hex_array, hex_value};

/// `hutong crypto …`
#[derive(Debug, Subcommand)]
pub enum CryptoCommand {
    /// Diversify a card key from a master key (one or two levels).
    Diversify(DiversifyArgs),
    /// Session key, MAC1, MAC2 and TAC of a purchase or composite purchase.
    Purchase(PurchaseArgs),
    /// Session key, MAC1, MAC2 and TAC of a load.
    Load(LoadArgs),
    /// A MAC over arbitrary data (single-DES, retail MAC, the SM4 profile, or SM4-CMAC).
    Mac(MacArgs),
}

/// Arguments of `crypto diversify`.
#[derive(Debug, Args)]
pub struct DiversifyArgs {
    /// 3des or sm4.
    #[arg(long, value_parser = algorithm)]
    alg: Algorithm,
    /// The master key, 32 hex digits.
    #[arg(long, value_name = "HEX", value_parser = hex_array::<16>)]
    master: [u8; 16],
    /// An 8-byte factor (16 hex digits); give it twice for two levels, the first diversifies first.
    #[arg(long, value_name = "HEX16", value_parser = hex_array::<8>, required = true, num_args = 1)]
    factor: Vec<[u8; 8]>,
    /// DES key parity of the printed key: keep (default) prints the raw derivation, as card
    /// personalisation logs do; adjust sets every byte to odd parity, as HSM and EMV tools print
    /// keys. Both encrypt the same (DES ignores the parity bits). 3des only.
    #[arg(long, value_name = "MODE", default_value = "keep", value_parser = parity)]
    parity: Parity,
}

fn parity(s: &str) -> Result<Parity, String> {
    s.parse().map_err(|_| "expected adjust or keep".to_string())
}

/// Arguments of `crypto purchase`.
#[derive(Debug, Args)]
pub struct PurchaseArgs {
    /// 3des or sm4.
    #[arg(long, value_parser = algorithm)]
    alg: Algorithm,
    /// The card's purchase key DPK, 32 hex digits.
    #[arg(long, value_name = "HEX", value_parser = hex_array::<16>)]
    dpk: [u8; 16],
    /// The card's TAC key DTK, 32 hex digits.
    #[arg(long, value_name = "HEX", value_parser = hex_array::<16>)]
    dtk: [u8; 16],
    /// The card's random from INITIALIZE, 8 hex digits.
    #[arg(long, value_name = "HEX8", value_parser = hex_array::<4>)]
    random: [u8; 4],
    /// The card's offline counter as INITIALIZE returned it (decimal).
    #[arg(long)]
    card_seq: u16,
    /// The PSAM's transaction counter (decimal).
    #[arg(long)]
    terminal_seq: u32,
    /// Amount in fen.
    #[arg(long)]
    amount: u32,
    /// Transaction type byte: 06 purchase, 09 composite purchase.
    #[arg(long = "type", value_name = "HEX2", value_parser = hex_array::<1>)]
    tx_type: [u8; 1],
    /// Terminal (PSAM) number, 12 hex digits.
    #[arg(long, value_name = "HEX12", value_parser = hex_array::<6>)]
    terminal: [u8; 6],
    /// Terminal date and time, YYYYMMDDhhmmss.
    #[arg(long, value_name = "T", value_parser = compact_datetime)]
    datetime: NaiveDateTime,
    /// MOHURD authentication code (18 hex digits), appended to MAC1's data.
    #[arg(long, value_name = "HEX18", value_parser = hex_array::<9>)]
    auth_code: Option<[u8; 9]>,
}

/// Arguments of `crypto load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// 3des or sm4.
    #[arg(long, value_parser = algorithm)]
    alg: Algorithm,
    /// The card's load key DLK, 32 hex digits.
    #[arg(long, value_name = "HEX", value_parser = hex_array::<16>)]
    dlk: [u8; 16],
    /// The card's TAC key DTK, 32 hex digits.
    #[arg(long, value_name = "HEX", value_parser = hex_array::<16>)]
    dtk: [u8; 16],
    /// The card's random from INITIALIZE FOR LOAD, 8 hex digits.
    #[arg(long, value_name = "HEX8", value_parser = hex_array::<4>)]
    random: [u8; 4],
    /// The online counter INITIALIZE FOR LOAD returned (decimal).
    #[arg(long)]
    card_seq: u16,
    /// Balance before the load, in fen.
    #[arg(long)]
    balance: u32,
    /// Amount in fen.
    #[arg(long)]
    amount: u32,
    /// Transaction type byte: 02 EP load, 01 ED load.
    #[arg(long = "type", value_name = "HEX2", value_parser = hex_array::<1>)]
    tx_type: [u8; 1],
    /// Terminal number, 12 hex digits.
    #[arg(long, value_name = "HEX12", value_parser = hex_array::<6>)]
    terminal: [u8; 6],
    /// Host date and time, YYYYMMDDhhmmss.
    #[arg(long, value_name = "T", value_parser = compact_datetime)]
    datetime: NaiveDateTime,
}

/// Arguments of `crypto mac`.
#[derive(Debug, Args)]
pub struct MacArgs {
    /// 3des or sm4.
    #[arg(long, value_parser = algorithm)]
    alg: Algorithm,
    /// 3des: 8 bytes (single-DES MAC) or 16 bytes (ISO 9797-1 MAC algorithm 3); sm4: 16 bytes.
    #[arg(long, value_name = "HEX", value_parser = hex_value)]
    key: HexBytes,
    /// The data, hex (may be empty: "").
    #[arg(long, value_name = "HEX", value_parser = hex_value)]
    data: HexBytes,
    /// SM4-CMAC (NIST SP 800-38B / GB/T 15852.1-2020 MAC algorithm 5 over SM4) instead of the
    /// SM4 profile's CBC-MAC; needs --alg sm4. Prints the whole 16-byte tag as "mac_full" and
    /// its left 4 bytes as "mac".
    #[arg(long)]
    cmac: bool,
}

/// Runs `hutong crypto …`.
pub(crate) fn run(cmd: CryptoCommand) -> anyhow::Result<ExitCode> {
    let out = match cmd {
        CryptoCommand::Diversify(a) => {
            let key = crypto::diversify_path(a.alg, &Key16(a.master), &a.factor);
            let key = match (a.parity, a.alg) {
                (Parity::Keep, _) => key,
                (Parity::Adjust, Algorithm::TripleDes) => crypto::adjust_parity(&key),
                (Parity::Adjust, Algorithm::Sm4) => {
                    return Err(BadInput(
                        "--parity adjust: SM4 keys have no parity bits (3des only)".into(),
                    )
                    .into());
                }
            };
            let parity = match a.parity {
                Parity::Keep => "keep",
                Parity::Adjust => "adjust",
            };
            json!({ "key": key.to_hex(), "parity": parity })
        }
        CryptoCommand::Purchase(a) => {
            let sk = crypto::purchase_session_key(
                a.alg,
                &Key16(a.dpk),
                a.random,
                a.card_seq,
                a.terminal_seq,
            );
            let data = PurchaseData {
                amount: a.amount,
                tx_type: TxType(a.tx_type[0]),
                terminal: TerminalId(a.terminal),
                terminal_seq: a.terminal_seq,
                date_time: bcd::encode_datetime(a.datetime),
            };
            let auth = a.auth_code.map(AuthCode);
            json!({
                "session_key": sk.to_hex(),
                "mac1": crypto::purchase_mac1(&sk, &data, auth.as_ref()).to_string(),
                "mac2": crypto::purchase_mac2(&sk, a.amount).to_string(),
                "tac": crypto::purchase_tac(a.alg, &Key16(a.dtk), &data).to_string(),
            })
        }
        CryptoCommand::Load(a) => {
            let sk = crypto::load_session_key(a.alg, &Key16(a.dlk), a.random, a.card_seq);
            let data = LoadData {
                balance_before: a.balance,
                amount: a.amount,
                tx_type: TxType(a.tx_type[0]),
                terminal: TerminalId(a.terminal),
                online_seq: a.card_seq,
                date_time: bcd::encode_datetime(a.datetime),
            };
            json!({
                "session_key": sk.to_hex(),
                "mac1": crypto::load_mac1(&sk, &data).to_string(),
                "mac2": crypto::load_mac2(&sk, &data).to_string(),
                "tac": crypto::load_tac(a.alg, &Key16(a.dtk), &data).to_string(),
            })
        }
        CryptoCommand::Mac(MacArgs {
            alg,
            key: HexBytes(key),
            data: HexBytes(data),
            cmac,
        }) => {
            if cmac && alg != Algorithm::Sm4 {
                return Err(BadInput("--cmac: SM4-CMAC needs --alg sm4".into()).into());
            }
            let full: Vec<u8> = match (alg, key.len()) {
                (Algorithm::Sm4, 16) if cmac => {
                    crypto::sm4_cmac(&key[..].try_into()?, &data).to_vec()
                }
                (Algorithm::TripleDes, 8) => crypto::des_mac(&key[..].try_into()?, &data).to_vec(),
                (Algorithm::TripleDes, 16) => {
                    crypto::retail_mac(&key[..].try_into()?, &data).to_vec()
                }
                (Algorithm::Sm4, 16) => crypto::sm4_mac(&key[..].try_into()?, &data).to_vec(),
                (alg, n) => {
                    let expected = match alg {
                        Algorithm::TripleDes => "16 or 32 hex digits (8 or 16 bytes)",
                        Algorithm::Sm4 => "32 hex digits (16 bytes)",
                    };
                    return Err(BadInput(format!(
                        "--key: {} hex digits given; a {alg} key is {expected}",
                        n * 2
                    ))
                    .into());
                }
            };
            json!({ "mac": hex::encode_upper(&full[..4]), "mac_full": hex::encode_upper(&full) })
        }
    };
    println!("{out}");
    Ok(ExitCode::SUCCESS)
}
