//! Typed response data of the purse commands.

use crate::error::{Error, Result};
use crate::identity::Mac4;

fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(bytes);
    out
}

/// GET BALANCE: the balance in fen (4 bytes, big-endian, bit 31 not part of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Balance(pub u32);

impl Balance {
    /// Bit 31 of the 4-byte answer, which is not part of the balance.
    pub const BIT31: u32 = 0x8000_0000;

    /// Encodes the 4 bytes (bit 31 clear).
    pub fn encode(&self) -> Vec<u8> {
        (self.0 & !Self::BIT31).to_be_bytes().to_vec()
    }

    /// Parses the 4 bytes, **masking bit 31**.
    ///
    /// Real cards answer GET BALANCE with bit 31 set: nfcim/nfsee's recorded answer
    /// `8000164E 9000` (`tests/reader-mock.js`) is a card holding 5710 fen. The public readers
    /// all drop that bit — nfsee (`assets/read.js`) takes the value modulo 0x80000000, and
    /// metrodroid (`transit/china/ChinaTransitData.kt`, `parseBalance`: "upper bit is some
    /// garbage") reads bits 1–31 — so it is not part of the balance; read whole it would be
    /// over two billion fen. What the bit flags is **[I]** unknown. The raw bit is
    /// [`Balance::bit31`].
    pub fn parse(data: &[u8]) -> Result<Balance> {
        Error::check_len("GET BALANCE response", 4, data.len())?;
        Ok(Balance(u32::from_be_bytes(array(data)) & !Self::BIT31))
    }

    /// Whether bit 31 of a 4-byte GET BALANCE answer is set (`false` for any other length).
    pub fn bit31(data: &[u8]) -> bool {
        data.len() == 4 && data[0] & 0x80 != 0
    }
}

/// INITIALIZE FOR PURCHASE: balance(4) offline seq(2) overdraft limit(3) key version(1)
/// alg id(1) random(4) — 15 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitializeForPurchaseResponse {
    /// Balance before the purchase, in fen.
    pub balance: u32,
    /// The card's offline transaction counter (before this purchase).
    pub offline_seq: u16,
    /// Overdraft limit in fen (3 bytes).
    pub overdraft_limit: u32,
    /// Version of the DPK used.
    pub key_version: u8,
    /// Algorithm id (00 = 3DES, 04 = SM4 profile).
    pub alg_id: u8,
    /// The card's pseudo-random number for the session key.
    pub random: [u8; 4],
}

impl InitializeForPurchaseResponse {
    /// Encodes the 15 bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.balance.to_be_bytes().to_vec();
        out.extend_from_slice(&self.offline_seq.to_be_bytes());
        out.extend_from_slice(&self.overdraft_limit.to_be_bytes()[1..]);
        out.extend_from_slice(&[self.key_version, self.alg_id]);
        out.extend_from_slice(&self.random);
        out
    }

    /// Parses the 15 bytes.
    pub fn parse(data: &[u8]) -> Result<Self> {
        Error::check_len("INITIALIZE FOR PURCHASE response", 15, data.len())?;
        Ok(InitializeForPurchaseResponse {
            balance: u32::from_be_bytes(array(&data[0..4])),
            offline_seq: u16::from_be_bytes(array(&data[4..6])),
            overdraft_limit: u32::from_be_bytes([0, data[6], data[7], data[8]]),
            key_version: data[9],
            alg_id: data[10],
            random: array(&data[11..15]),
        })
    }
}

/// DEBIT FOR PURCHASE: TAC(4) MAC2(4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DebitForPurchaseResponse {
    /// The transaction authentication code for the clearing centre.
    pub tac: Mac4,
    /// MAC2 for the PSAM.
    pub mac2: Mac4,
}

impl DebitForPurchaseResponse {
    /// Encodes the 8 bytes.
    pub fn encode(&self) -> Vec<u8> {
        [self.tac.0, self.mac2.0].concat()
    }

    /// Parses the 8 bytes.
    pub fn parse(data: &[u8]) -> Result<Self> {
        Error::check_len("DEBIT FOR PURCHASE response", 8, data.len())?;
        Ok(DebitForPurchaseResponse {
            tac: Mac4(array(&data[0..4])),
            mac2: Mac4(array(&data[4..8])),
        })
    }
}

/// INITIALIZE FOR LOAD: balance(4) online seq(2) key version(1) alg id(1) random(4) MAC1(4)
/// — 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitializeForLoadResponse {
    /// Balance before the load.
    pub balance: u32,
    /// The card's online transaction counter (before this load).
    pub online_seq: u16,
    /// Version of the DLK used.
    pub key_version: u8,
    /// Algorithm id.
    pub alg_id: u8,
    /// The card's pseudo-random number.
    pub random: [u8; 4],
    /// MAC1, the card's proof to the host.
    pub mac1: Mac4,
}

impl InitializeForLoadResponse {
    /// Encodes the 16 bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.balance.to_be_bytes().to_vec();
        out.extend_from_slice(&self.online_seq.to_be_bytes());
        out.extend_from_slice(&[self.key_version, self.alg_id]);
        out.extend_from_slice(&self.random);
        out.extend_from_slice(&self.mac1.0);
        out
    }

    /// Parses the 16 bytes.
    pub fn parse(data: &[u8]) -> Result<Self> {
        Error::check_len("INITIALIZE FOR LOAD response", 16, data.len())?;
        Ok(InitializeForLoadResponse {
            balance: u32::from_be_bytes(array(&data[0..4])),
            online_seq: u16::from_be_bytes(array(&data[4..6])),
            key_version: data[6],
            alg_id: data[7],
            random: array(&data[8..12]),
            mac1: Mac4(array(&data[12..16])),
        })
    }
}

/// CREDIT FOR LOAD: TAC(4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditForLoadResponse {
    /// The load's TAC.
    pub tac: Mac4,
}

impl CreditForLoadResponse {
    /// Encodes the 4 bytes.
    pub fn encode(&self) -> Vec<u8> {
        self.tac.0.to_vec()
    }

    /// Parses the 4 bytes.
    pub fn parse(data: &[u8]) -> Result<Self> {
        Error::check_len("CREDIT FOR LOAD response", 4, data.len())?;
        Ok(CreditForLoadResponse {
            tac: Mac4(array(data)),
        })
    }
}

/// GET TRANSACTION PROVE: MAC2 (or the load's MAC) (4) and TAC (4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransactionProveResponse {
    /// MAC2 of the purchase (for a load, the MAC of the same position).
    pub mac: Mac4,
    /// The TAC.
    pub tac: Mac4,
}

impl TransactionProveResponse {
    /// Encodes the 8 bytes.
    pub fn encode(&self) -> Vec<u8> {
        [self.mac.0, self.tac.0].concat()
    }

    /// Parses the 8 bytes.
    pub fn parse(data: &[u8]) -> Result<Self> {
        Error::check_len("GET TRANSACTION PROVE response", 8, data.len())?;
        Ok(TransactionProveResponse {
            mac: Mac4(array(&data[0..4])),
            tac: Mac4(array(&data[4..8])),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_initialize_responses() {
        let load = InitializeForLoadResponse::parse(
            &hex::decode("00000000000001 00CDEF4F2006B1BEF5".replace(' ', "")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            (load.balance, load.online_seq, load.key_version, load.alg_id),
            (0, 0, 1, 0)
        );
        assert_eq!(load.random, [0xCD, 0xEF, 0x4F, 0x20]);
        assert_eq!(
            hex::encode_upper(load.encode()),
            "0000000000000100CDEF4F2006B1BEF5"
        );

        let p = InitializeForPurchaseResponse::parse(
            &hex::decode("00001C3700000000000100 9AC87503".replace(' ', "")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            (p.balance, p.offline_seq, p.overdraft_limit, p.key_version),
            (0x1C37, 0, 0, 1)
        );
        assert_eq!(
            hex::encode_upper(p.encode()),
            "00001C37000000000001009AC87503"
        );
        assert!(InitializeForPurchaseResponse::parse(&[0; 14]).is_err());
    }
}
