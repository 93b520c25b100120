//! The card interface: [`CardReader`], implemented by the simulated card, by the PC/SC reader
//! (feature `pcsc`) and by wrappers that tear transactions or record traces.

use card_standards::StatusWord;
use card_standards::apdu::{Command, CommandApdu};

use crate::card::SimCard;
use crate::error::{Error, Result};

/// Something that exchanges APDUs with one card: a simulated card, a PC/SC reader, a wrapper.
///
/// The terminal, the catalogue and the runner only ever talk to cards through this trait, so
/// the same flows and test cases run against simulated and real cards.
pub trait CardReader {
    /// Sends one command APDU and puts the response (data ‖ SW1 SW2) into `response`, which
    /// is cleared first. An `Err` means no response came back: the card may or may not have
    /// processed the command.
    fn transmit(&mut self, command: &[u8], response: &mut Vec<u8>) -> Result<()>;

    /// Power-cycles the card (a cold reset, as when a card leaves and re-enters the field):
    /// the card loses its selection and any purse session.
    fn reset(&mut self) -> Result<()>;

    /// A short description for reports, e.g. `simulated mohurd card 00004100000000000001`.
    fn describe(&self) -> String;
}

impl<R: CardReader + ?Sized> CardReader for &mut R {
    fn transmit(&mut self, command: &[u8], response: &mut Vec<u8>) -> Result<()> {
        (**self).transmit(command, response)
    }

    fn reset(&mut self) -> Result<()> {
        (**self).reset()
    }

    fn describe(&self) -> String {
        (**self).describe()
    }
}

impl CardReader for SimCard {
    fn transmit(&mut self, command: &[u8], response: &mut Vec<u8>) -> Result<()> {
        self.transmit_into(command, response);
        Ok(())
    }

    fn reset(&mut self) -> Result<()> {
        SimCard::reset(self);
        Ok(())
    }

    fn describe(&self) -> String {
        format!("simulated {} card {}", self.scheme(), self.serial())
    }
}

/// When a [`TearingReader`] loses the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tear {
    /// The card leaves the field before the command reaches it: the card never processes it.
    BeforeCommand,
    /// The card processes the command, then leaves the field before the response arrives.
    AfterCommand,
}

/// A reader wrapper that loses the card at the next command with a given instruction byte,
/// as a passenger who pulls the card away too early. After the tear the card is power-cycled
/// (it lost the field) and the wrapper passes everything through again.
///
/// With a real card, [`Tear::AfterCommand`] is faithful too: the command reaches the card, the
/// response is thrown away and the card is reset, which is what the terminal sees when a card
/// leaves the field after it finished.
#[derive(Debug)]
pub struct TearingReader<R> {
    inner: R,
    armed: Option<(u8, Tear)>,
    torn: u32,
}

impl<R: CardReader> TearingReader<R> {
    /// Wraps a reader; nothing is torn until [`TearingReader::tear_at`].
    pub fn new(inner: R) -> TearingReader<R> {
        TearingReader {
            inner,
            armed: None,
            torn: 0,
        }
    }

    /// Tears the next command whose INS byte is `ins` (e.g. 0x54 DEBIT, 0x52 CREDIT).
    pub fn tear_at(&mut self, ins: u8, when: Tear) {
        self.armed = Some((ins, when));
    }

    /// How many commands were torn so far.
    pub fn tears(&self) -> u32 {
        self.torn
    }

    /// The wrapped reader.
    pub fn inner_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Unwraps the reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: CardReader> CardReader for TearingReader<R> {
    fn transmit(&mut self, command: &[u8], response: &mut Vec<u8>) -> Result<()> {
        match self.armed {
            Some((ins, when)) if command.get(1) == Some(&ins) => {
                self.armed = None;
                self.torn += 1;
                if when == Tear::AfterCommand {
                    self.inner.transmit(command, response)?;
                }
                response.clear();
                self.inner.reset()?;
                Err(Error::Reader(format!(
                    "card left the field {} INS {ins:02X}",
                    match when {
                        Tear::BeforeCommand => "before",
                        Tear::AfterCommand => "during",
                    }
                )))
            }
            _ => self.inner.transmit(command, response),
        }
    }

    fn reset(&mut self) -> Result<()> {
        self.inner.reset()
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// One event of an APDU trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceEvent {
    /// A command and, unless the card was lost, its response.
    Exchange {
        /// The command APDU as sent.
        command: Vec<u8>,
        /// The command's name ([`Command::name`]), or `"(not a command)"`.
        name: &'static str,
        /// The response data ‖ SW1 SW2, or `None` when no response came back.
        response: Option<Vec<u8>>,
    },
    /// The card was power-cycled.
    Reset,
    /// A remark of the test or terminal (e.g. "PSAM computed MAC1").
    Note(String),
    /// The reader failed.
    ReaderError(String),
}

impl TraceEvent {
    /// The status word of an exchange's response.
    pub fn status_word(&self) -> Option<StatusWord> {
        match self {
            TraceEvent::Exchange {
                response: Some(r), ..
            } if r.len() >= 2 => Some(StatusWord::from_bytes(r[r.len() - 2], r[r.len() - 1])),
            _ => None,
        }
    }
}

/// The name of the command in `apdu`, for traces.
pub fn command_name(apdu: &[u8]) -> &'static str {
    CommandApdu::parse(apdu)
        .and_then(|a| Command::parse(&a))
        .map_or("(not a command)", |c| c.name())
}

/// A reader wrapper that records every exchange, reset and reader error as a [`TraceEvent`].
#[derive(Debug)]
pub struct TracingReader<R> {
    inner: R,
    trace: Vec<TraceEvent>,
}

impl<R: CardReader> TracingReader<R> {
    /// Wraps a reader with an empty trace.
    pub fn new(inner: R) -> TracingReader<R> {
        TracingReader {
            inner,
            trace: Vec::new(),
        }
    }

    /// Adds a note to the trace.
    pub fn note(&mut self, text: impl Into<String>) {
        self.trace.push(TraceEvent::Note(text.into()));
    }

    /// The trace so far.
    pub fn trace(&self) -> &[TraceEvent] {
        &self.trace
    }

    /// Takes the trace, leaving it empty.
    pub fn take_trace(&mut self) -> Vec<TraceEvent> {
        std::mem::take(&mut self.trace)
    }

    /// The wrapped reader.
    pub fn inner_mut(&mut self) -> &mut R {
        &mut self.inner
    }
}

impl<R: CardReader> CardReader for TracingReader<R> {
    fn transmit(&mut self, command: &[u8], response: &mut Vec<u8>) -> Result<()> {
        let result = self.inner.transmit(command, response);
        self.trace.push(TraceEvent::Exchange {
            command: command.to_vec(),
            name: command_name(command),
            response: result.as_ref().ok().map(|()| response.clone()),
        });
        if let Err(e) = &result {
            self.trace.push(TraceEvent::ReaderError(e.to_string()));
        }
        result
    }

    fn reset(&mut self) -> Result<()> {
        self.trace.push(TraceEvent::Reset);
        let result = self.inner.reset();
        if let Err(e) = &result {
            self.trace.push(TraceEvent::ReaderError(e.to_string()));
        }
        result
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::CardProfile;
    use card_standards::Scheme;
    use card_standards::crypto::Algorithm;

    fn card() -> SimCard {
        SimCard::personalise(&CardProfile::test(Scheme::Pboc, Algorithm::TripleDes)).unwrap()
    }

    #[test]
    fn tearing_reader_loses_exactly_the_armed_command_and_resets_the_card() {
        let mut r = TearingReader::new(card());
        let mut resp = Vec::new();
        r.transmit(&[0x00, 0xA4, 0x00, 0x00, 0x02, 0x10, 0x01], &mut resp)
            .unwrap();
        r.tear_at(0x5C, Tear::BeforeCommand);
        assert!(
            r.transmit(&[0x80, 0x5C, 0x00, 0x02, 0x04], &mut resp)
                .is_err()
        );
        assert!(resp.is_empty());
        assert_eq!(r.tears(), 1);
        // The card was reset: GET BALANCE outside the application now answers 6985.
        r.transmit(&[0x80, 0x5C, 0x00, 0x02, 0x04], &mut resp)
            .unwrap();
        assert_eq!(resp, vec![0x69, 0x85]);
    }

    #[test]
    fn tracing_reader_records_names_responses_and_resets() {
        let mut r = TracingReader::new(card());
        let mut resp = Vec::new();
        r.transmit(&[0x80, 0x5C, 0x00, 0x02, 0x04], &mut resp)
            .unwrap();
        r.reset().unwrap();
        r.note("done");
        let trace = r.take_trace();
        assert_eq!(trace.len(), 3);
        assert!(matches!(
            trace[0],
            TraceEvent::Exchange {
                name: "GET BALANCE",
                ..
            }
        ));
        assert_eq!(
            trace[0].status_word(),
            Some(StatusWord::CONDITIONS_NOT_SATISFIED)
        );
        assert_eq!(trace[1], TraceEvent::Reset);
        assert!(r.trace().is_empty());
    }
}
