//! ISO 7816-4 and PBOC e-purse status words.

use crate::macros::named_code;

named_code! {
    /// A status word (SW1 SW2) that ends every response APDU.
    ///
    /// Sources: ISO 7816-4 for the 6xxx/9000 family; the FM1208 / 建设部 PSAM command list for
    /// the e-purse 93xx/94xx words and 6300 (STANDARDS.md §1). `COUNTER_AT_LIMIT` (9402) is
    /// recalled from the PBOC 2.0 text and is **inferred**.
    StatusWord(u16, 4) {
        /// Normal processing.
        OK = 0x9000 => "success",
        /// The authentication code or PIN did not verify (6300).
        AUTH_FAILED = 0x6300 => "authentication failed",
        /// Selected file invalidated: the application is blocked (6283).
        FILE_INVALIDATED = 0x6283 => "selected file invalidated (application blocked)",
        /// Memory failure while writing (6581).
        MEMORY_FAILURE = 0x6581 => "memory failure",
        /// Lc or Le is wrong for the command (6700).
        WRONG_LENGTH = 0x6700 => "wrong length",
        /// Command incompatible with the file structure (6981).
        INCOMPATIBLE_FILE = 0x6981 => "command incompatible with file structure",
        /// Security status not satisfied (6982).
        SECURITY_NOT_SATISFIED = 0x6982 => "security status not satisfied",
        /// Authentication method blocked (6983).
        AUTH_BLOCKED = 0x6983 => "authentication method blocked",
        /// Referenced data invalidated (6984), e.g. a locked composite record.
        DATA_INVALIDATED = 0x6984 => "referenced data invalidated",
        /// Conditions of use not satisfied (6985): wrong order of commands, expired application.
        CONDITIONS_NOT_SATISFIED = 0x6985 => "conditions of use not satisfied",
        /// Command not allowed, no current EF (6986).
        NO_CURRENT_EF = 0x6986 => "command not allowed (no current EF)",
        /// Incorrect data field (6A80).
        WRONG_DATA = 0x6A80 => "incorrect parameters in the data field",
        /// Function not supported (6A81).
        FUNCTION_NOT_SUPPORTED = 0x6A81 => "function not supported",
        /// File or application not found (6A82).
        FILE_NOT_FOUND = 0x6A82 => "file or application not found",
        /// Record not found (6A83).
        RECORD_NOT_FOUND = 0x6A83 => "record not found",
        /// Incorrect P1 P2 (6A86).
        WRONG_P1P2 = 0x6A86 => "incorrect P1 P2",
        /// Referenced data not found (6A88).
        DATA_NOT_FOUND = 0x6A88 => "referenced data not found",
        /// Wrong parameters: offset outside the EF (6B00).
        WRONG_OFFSET = 0x6B00 => "wrong parameters (offset outside the file)",
        /// Instruction not supported (6D00).
        INSTRUCTION_NOT_SUPPORTED = 0x6D00 => "instruction not supported",
        /// Class not supported (6E00).
        CLASS_NOT_SUPPORTED = 0x6E00 => "class not supported",
        /// No precise diagnosis (6F00).
        UNKNOWN_ERROR = 0x6F00 => "no precise diagnosis",
        /// MAC error (9302): MAC1 or MAC2 did not verify.
        MAC_ERROR = 0x9302 => "MAC error",
        /// Application permanently locked (9303).
        APPLICATION_LOCKED = 0x9303 => "application permanently locked",
        /// Insufficient balance (9401).
        INSUFFICIENT_BALANCE = 0x9401 => "insufficient balance",
        /// Transaction counter at its limit (9402) — inferred from PBOC 2.0.
        COUNTER_AT_LIMIT = 0x9402 => "transaction counter at its limit",
        /// Key index not found (9403).
        KEY_NOT_FOUND = 0x9403 => "key index not found",
        /// MAC not available (9406): GET TRANSACTION PROVE for a transaction the card does not hold.
        MAC_NOT_AVAILABLE = 0x9406 => "required MAC not available",
    }
}

impl StatusWord {
    /// Builds the status word from SW1 and SW2.
    pub fn from_bytes(sw1: u8, sw2: u8) -> StatusWord {
        StatusWord(u16::from_be_bytes([sw1, sw2]))
    }

    /// SW1 and SW2.
    pub fn to_bytes(self) -> [u8; 2] {
        self.0.to_be_bytes()
    }

    /// True for 9000.
    pub fn is_ok(self) -> bool {
        self == StatusWord::OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_words_print_their_meaning_and_unknown_ones_print_hex() {
        assert_eq!(
            StatusWord::INSUFFICIENT_BALANCE.to_string(),
            "9401 (insufficient balance)"
        );
        assert_eq!(StatusWord(0x6A99).to_string(), "6A99 (unknown)");
        assert_eq!(format!("{:?}", StatusWord::MAC_ERROR), "MAC_ERROR(9302)");
        assert_eq!(
            StatusWord::from_bytes(0x94, 0x03),
            StatusWord::KEY_NOT_FOUND
        );
        assert_eq!(StatusWord::OK.to_bytes(), [0x90, 0x00]);
    }
}
