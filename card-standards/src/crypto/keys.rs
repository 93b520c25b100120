//! Keys, algorithms and key diversification.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::primitives::{sm4_encrypt_block, tdes_encrypt_block};
use crate::error::{Error, Result};
use crate::identity::parse_hex_array;

/// The purse algorithm, as the card announces it in the `algId` byte of INITIALIZE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// Two-key triple DES with single-DES MACs (`algId` 00) [S, V].
    #[serde(rename = "3des")]
    TripleDes,
    /// hutong's SM4 profile (`algId` 04) [I]: see STANDARDS.md, "The hub's SM4 profile".
    Sm4,
}

impl Algorithm {
    /// The `algId` byte the card returns.
    pub fn alg_id(self) -> u8 {
        match self {
            Algorithm::TripleDes => 0x00,
            Algorithm::Sm4 => 0x04,
        }
    }

    /// The algorithm an `algId` byte names.
    pub fn from_alg_id(id: u8) -> Result<Algorithm> {
        match id {
            0x00 => Ok(Algorithm::TripleDes),
            0x04 => Ok(Algorithm::Sm4),
            other => Err(Error::UnknownCode {
                table: "algorithm ids",
                code: format!("{other:02X}"),
            }),
        }
    }

    /// The name used on the command line and in configuration (`3des`, `sm4`).
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::TripleDes => "3des",
            Algorithm::Sm4 => "sm4",
        }
    }
}

impl FromStr for Algorithm {
    type Err = Error;
    fn from_str(s: &str) -> Result<Algorithm> {
        match s.to_ascii_lowercase().as_str() {
            "3des" | "tdes" => Ok(Algorithm::TripleDes),
            "sm4" => Ok(Algorithm::Sm4),
            _ => Err(Error::UnknownCode {
                table: "algorithms (3des, sm4)",
                code: s.to_string(),
            }),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A 16-byte key: a master key, a card's diversified key (DPK, DLK, DTK) or an SM4 key.
///
/// Its `Debug` never prints the key, so a key cannot leak into a log by accident; use
/// [`Key16::to_hex`] where printing it is the point (the calculator).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Key16(pub [u8; 16]);

impl Key16 {
    /// The key in upper-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode_upper(self.0)
    }

    /// The left half.
    pub fn left(&self) -> [u8; 8] {
        let mut l = [0u8; 8];
        l.copy_from_slice(&self.0[..8]);
        l
    }

    /// The right half.
    pub fn right(&self) -> [u8; 8] {
        let mut r = [0u8; 8];
        r.copy_from_slice(&self.0[8..]);
        r
    }
}

impl fmt::Debug for Key16 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key16(<redacted>)")
    }
}

impl FromStr for Key16 {
    type Err = Error;
    fn from_str(s: &str) -> Result<Key16> {
        parse_hex_array("key", s).map(Key16)
    }
}

/// A process (session) key: 8 bytes for single-DES MACs, 16 bytes for the SM4 profile.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SessionKey {
    /// 3DES flavour: the 8-byte result of 3DES under the card key, used as a single-DES key.
    Des([u8; 8]),
    /// SM4 flavour: the 16-byte result of SM4 under the card key.
    Sm4([u8; 16]),
}

impl SessionKey {
    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            SessionKey::Des(k) => k,
            SessionKey::Sm4(k) => k,
        }
    }

    /// The key in upper-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode_upper(self.as_bytes())
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey(<redacted>)")
    }
}

/// What diversification does with the DES parity bits of the key it prints.
///
/// DES ignores the low bit of each key byte, so a key and its parity-adjusted form encrypt
/// alike; HSMs and EMV tools print the adjusted form (every byte of odd parity, FIPS 46-3 /
/// ANSI X3.92), card personalisation logs the raw one (the real Changsha card keys of
/// STANDARDS.md §2 are not parity-adjusted). hutong's default is [`Parity::Keep`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Parity {
    /// Print the raw result of the derivation (the default).
    #[default]
    Keep,
    /// Set each byte's low bit so that the byte has odd parity (3DES keys only).
    Adjust,
}

impl FromStr for Parity {
    type Err = Error;
    fn from_str(s: &str) -> Result<Parity> {
        match s.to_ascii_lowercase().as_str() {
            "keep" => Ok(Parity::Keep),
            "adjust" => Ok(Parity::Adjust),
            _ => Err(Error::UnknownCode {
                table: "parity modes (adjust, keep)",
                code: s.to_string(),
            }),
        }
    }
}

/// `key` with every byte set to odd parity (the low bit adjusted), as DES key tools print it.
pub fn adjust_parity(key: &Key16) -> Key16 {
    Key16(key.0.map(|b| {
        let high = b & 0xFE;
        if high.count_ones() % 2 == 0 {
            high | 1
        } else {
            high
        }
    }))
}

/// Diversifies a sub-key from `master` with an 8-byte factor (one level).
///
/// 3DES: left = 3DES(MK, factor), right = 3DES(MK, ¬factor) [S: ConardLKL/ChangSha
/// `doc/密钥分散.txt`]. SM4 profile: SM4(MK, factor ‖ ¬factor) [S: blog, see STANDARDS.md].
pub fn diversify(alg: Algorithm, master: &Key16, factor: &[u8; 8]) -> Key16 {
    let not: [u8; 8] = factor.map(|b| !b);
    match alg {
        Algorithm::TripleDes => {
            let mut out = [0u8; 16];
            out[..8].copy_from_slice(&tdes_encrypt_block(&master.0, *factor));
            out[8..].copy_from_slice(&tdes_encrypt_block(&master.0, not));
            Key16(out)
        }
        Algorithm::Sm4 => {
            let mut block = [0u8; 16];
            block[..8].copy_from_slice(factor);
            block[8..].copy_from_slice(&not);
            Key16(sm4_encrypt_block(&master.0, block))
        }
    }
}

/// Diversifies through several levels: the first factor diversifies `master`, the next
/// diversifies that result, and so on (e.g. issuer factor, then card factor).
///
/// The order of levels on real PSAMs is **[I]** (STANDARDS.md §2): the PSAM command takes
/// "card serial then institution", and derivation probably starts with the institution.
pub fn diversify_path(alg: Algorithm, master: &Key16, factors: &[[u8; 8]]) -> Key16 {
    factors
        .iter()
        .fold(*master, |key, factor| diversify(alg, &key, factor))
}
