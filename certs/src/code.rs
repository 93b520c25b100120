//! Participant codes: the name a participant has in certificates, URLs, paths and the database.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// The prefix of the SAN URI that carries the participant code.
pub const PARTICIPANT_URN_PREFIX: &str = "urn:hutong:participant:";

/// A participant code: 1 to 32 characters `A-Z a-z 0-9 - _`. It is safe to use as a file name
/// and inside a URN, which is why nothing else is allowed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantCode(String);

impl ParticipantCode {
    /// Checks and wraps a code.
    pub fn new(code: &str) -> Result<ParticipantCode, Error> {
        let ok = !code.is_empty()
            && code.len() <= 32
            && code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(ParticipantCode(code.to_string()))
        } else {
            Err(Error::InvalidParticipantCode(code.to_string()))
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The SAN URI that names this participant: `urn:hutong:participant:<code>`.
    pub fn urn(&self) -> String {
        format!("{PARTICIPANT_URN_PREFIX}{}", self.0)
    }
}

impl fmt::Display for ParticipantCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ParticipantCode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        ParticipantCode::new(s)
    }
}

impl AsRef<str> for ParticipantCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_codes_and_refuses_anything_usable_as_a_path() {
        for good in ["QDT", "rizhao-01", "A_B", &"X".repeat(32)] {
            assert_eq!(ParticipantCode::new(good).unwrap().as_str(), good);
        }
        for bad in ["", "a/b", "..", "a b", "q\u{e9}", &"X".repeat(33), "a:b"] {
            assert!(ParticipantCode::new(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
