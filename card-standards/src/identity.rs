//! Identifiers printed on or stored in a card and its terminal: issuer and city codes, the
//! application serial, the terminal (PSAM) number.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Parses exactly `N` bytes from hex (either case).
pub(crate) fn parse_hex_array<const N: usize>(field: &'static str, text: &str) -> Result<[u8; N]> {
    let bytes = hex::decode(text).map_err(|_| Error::InvalidField {
        field,
        value: text.to_string(),
        reason: "not hexadecimal",
    })?;
    bytes.try_into().map_err(|b: Vec<u8>| Error::WrongLength {
        field,
        expected: N,
        actual: b.len(),
    })
}

macro_rules! hex_id {
    ($(#[$attr:meta])* $name:ident, $len:literal, $field:literal) => {
        $(#[$attr])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                for b in self.0 {
                    write!(f, "{b:02X}")?;
                }
                Ok(())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                parse_hex_array($field, s).map($name)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

hex_id!(
    /// The 2-byte issuer code (发卡方代码 / 发卡机构标识 bytes 0–1), written as 4 hex digits.
    IssuerCode, 2, "issuer code"
);
hex_id!(
    /// The 2-byte city code of the card's issuer as the card stores it (BCD, 4 digits): MOHURD's
    /// city code on 住建部 cards, the administrative-division prefix on T-Union cards.
    CityCode, 2, "city code"
);
hex_id!(
    /// The 10-byte application serial (应用序列号) of the card's 0015 file, written as 20 hex
    /// digits. MOHURD cards keep their 8-byte logical card number in the low 8 bytes.
    CardSerial, 10, "card serial"
);
hex_id!(
    /// The 6-byte terminal number: the PSAM number that signs the card's transactions.
    TerminalId, 6, "terminal id"
);
hex_id!(
    /// The 9-byte MOHURD security authentication code (安全认证码) from `80 CA 00 00 09`.
    AuthCode, 9, "authentication code"
);
hex_id!(
    /// A 4-byte MAC or TAC as the card returns it.
    Mac4, 4, "MAC"
);

impl CardSerial {
    /// The right-most 8 bytes: the factor that diversifies the card's keys from the issuer's
    /// master keys.
    pub fn diversification_factor(&self) -> [u8; 8] {
        let mut f = [0u8; 8];
        f.copy_from_slice(&self.0[2..]);
        f
    }

    /// The 19-digit T-Union card number: the serial's 20 BCD digits without the first.
    pub fn mot_card_number(&self) -> String {
        self.to_string()[1..].to_string()
    }

    /// Builds the serial from a 19-digit T-Union card number (the first nibble becomes 0).
    pub fn from_mot_card_number(number: &str) -> Result<CardSerial> {
        if number.len() != 19 || !number.bytes().all(|c| c.is_ascii_digit()) {
            return Err(Error::InvalidField {
                field: "card number",
                value: number.to_string(),
                reason: "expected 19 decimal digits",
            });
        }
        format!("0{number}").parse()
    }
}

/// Who issued a card: the issuer code and the issuer's city code, as stored in the card's 0015.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IssuerId {
    /// 发卡方代码 / the first two bytes of 发卡机构标识.
    pub issuer_code: IssuerCode,
    /// 城市代码 of the issuer.
    pub city_code: CityCode,
}

impl fmt::Display for IssuerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.issuer_code, self.city_code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mot_card_number_drops_the_first_nibble() {
        let serial: CardSerial = "03105170010170907984".parse().unwrap();
        assert_eq!(serial.mot_card_number(), "3105170010170907984");
        assert_eq!(
            CardSerial::from_mot_card_number("3105170010170907984").unwrap(),
            serial
        );
        assert_eq!(
            serial.diversification_factor(),
            [0x51, 0x70, 0x01, 0x01, 0x70, 0x90, 0x79, 0x84]
        );
    }

    #[test]
    fn ids_reject_wrong_length_and_non_hex() {
        assert_eq!(
            "0731AA".parse::<IssuerCode>().unwrap_err(),
            Error::WrongLength {
                field: "issuer code",
                expected: 2,
                actual: 3
            }
        );
        assert!("07G1".parse::<IssuerCode>().is_err());
        assert_eq!("0731".parse::<IssuerCode>().unwrap().to_string(), "0731");
    }
}
