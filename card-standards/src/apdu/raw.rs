//! Raw command and response APDUs in ISO 7816-4 short form.

use std::fmt;

use crate::error::{Error, Result};
use crate::status::StatusWord;

/// A command APDU: CLA INS P1 P2 [Lc data] [Le].
#[derive(Clone, PartialEq, Eq)]
pub struct CommandApdu {
    /// Class byte (00 for ISO commands, 80 for the purse's proprietary ones).
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// Command data (Lc is its length).
    pub data: Vec<u8>,
    /// Expected response length, if the command has one; `Some(256)` is written as `00`.
    pub le: Option<u16>,
}

impl CommandApdu {
    /// A command with data and no Le.
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8, data: Vec<u8>) -> CommandApdu {
        CommandApdu {
            cla,
            ins,
            p1,
            p2,
            data,
            le: None,
        }
    }

    /// The same command with an Le.
    pub fn with_le(mut self, le: u16) -> CommandApdu {
        self.le = Some(le);
        self
    }

    /// Parses the four short-form cases. Anything else is [`Error::MalformedApdu`] (6700).
    pub fn parse(bytes: &[u8]) -> Result<CommandApdu> {
        let [cla, ins, p1, p2, rest @ ..] = bytes else {
            return Err(Error::MalformedApdu("shorter than the 4-byte header"));
        };
        let (data, le) = match rest {
            [] => (Vec::new(), None),
            [le] => (
                Vec::new(),
                Some(if *le == 0 { 256 } else { u16::from(*le) }),
            ),
            [lc, body @ ..] => {
                let lc = usize::from(*lc);
                if lc == 0 {
                    return Err(Error::MalformedApdu("Lc = 0 with data following"));
                }
                match body.len().checked_sub(lc) {
                    Some(0) => (body.to_vec(), None),
                    Some(1) => {
                        let le = body[lc];
                        (
                            body[..lc].to_vec(),
                            Some(if le == 0 { 256 } else { u16::from(le) }),
                        )
                    }
                    _ => return Err(Error::MalformedApdu("Lc disagrees with the data length")),
                }
            }
        };
        Ok(CommandApdu {
            cla: *cla,
            ins: *ins,
            p1: *p1,
            p2: *p2,
            data,
            le,
        })
    }

    /// Encodes to bytes (short form).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![self.cla, self.ins, self.p1, self.p2];
        if !self.data.is_empty() {
            out.push(self.data.len() as u8);
            out.extend_from_slice(&self.data);
        }
        if let Some(le) = self.le {
            out.push(if le >= 256 { 0 } else { le as u8 });
        }
        out
    }
}

impl fmt::Debug for CommandApdu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode_upper(self.to_bytes()))
    }
}

/// A response APDU: data followed by SW1 SW2.
#[derive(Clone, PartialEq, Eq)]
pub struct ResponseApdu {
    /// Response data.
    pub data: Vec<u8>,
    /// Status word.
    pub sw: StatusWord,
}

impl ResponseApdu {
    /// A successful response with data.
    pub fn ok(data: Vec<u8>) -> ResponseApdu {
        ResponseApdu {
            data,
            sw: StatusWord::OK,
        }
    }

    /// An error response without data.
    pub fn status(sw: StatusWord) -> ResponseApdu {
        ResponseApdu {
            data: Vec::new(),
            sw,
        }
    }

    /// Parses data ‖ SW1 SW2.
    pub fn parse(bytes: &[u8]) -> Result<ResponseApdu> {
        if bytes.len() < 2 {
            return Err(Error::MalformedApdu("response shorter than SW1 SW2"));
        }
        let (data, sw) = bytes.split_at(bytes.len() - 2);
        Ok(ResponseApdu {
            data: data.to_vec(),
            sw: StatusWord::from_bytes(sw[0], sw[1]),
        })
    }

    /// Encodes data ‖ SW1 SW2.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.data.clone();
        out.extend_from_slice(&self.sw.to_bytes());
        out
    }

    /// The data if the status is 9000, else [`Error::CardStatus`].
    pub fn into_ok(self) -> Result<Vec<u8>> {
        if self.sw.is_ok() {
            Ok(self.data)
        } else {
            Err(Error::CardStatus(self.sw))
        }
    }
}

impl fmt::Debug for ResponseApdu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode_upper(self.to_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_four_short_form_cases() {
        let c1 = CommandApdu::parse(&[0x00, 0xA4, 0x00, 0x00]).unwrap();
        assert_eq!((c1.data.len(), c1.le), (0, None));
        let c2 = CommandApdu::parse(&hex::decode("805C000204").unwrap()).unwrap();
        assert_eq!(c2.le, Some(4));
        let c3 = CommandApdu::parse(&hex::decode("00A40000021001").unwrap()).unwrap();
        assert_eq!((c3.data, c3.le), (vec![0x10, 0x01], None));
        let c4 = CommandApdu::parse(&hex::decode("805A0006020001").unwrap()).unwrap();
        assert_eq!(c4.data, vec![0x00, 0x01]);
        let c4le = CommandApdu::parse(&hex::decode("805A000602000108").unwrap()).unwrap();
        assert_eq!(c4le.le, Some(8));
        assert_eq!(c4le.to_bytes(), hex::decode("805A000602000108").unwrap());
    }

    #[test]
    fn rejects_apdus_whose_lc_disagrees_with_the_data() {
        assert!(CommandApdu::parse(&hex::decode("00A400000510").unwrap()).is_err());
        assert!(CommandApdu::parse(&hex::decode("00A4000002100102FF").unwrap()).is_err());
        assert!(CommandApdu::parse(&[0x00, 0xA4]).is_err());
    }

    #[test]
    fn response_splits_data_and_status() {
        let r = ResponseApdu::parse(&hex::decode("00001C379000").unwrap()).unwrap();
        assert_eq!(r.data, vec![0, 0, 0x1C, 0x37]);
        assert!(r.sw.is_ok());
        assert_eq!(
            ResponseApdu::parse(&[0x94, 0x01])
                .unwrap()
                .into_ok()
                .unwrap_err(),
            Error::CardStatus(StatusWord::INSUFFICIENT_BALANCE)
        );
    }
}
