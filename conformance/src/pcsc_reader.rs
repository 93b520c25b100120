//! A real card on a PC/SC reader (cargo feature `pcsc`, which needs Debian's
//! `libpcsclite-dev` to build and the `pcscd` service to run).

use card_standards::apdu::CommandApdu;
use pcsc::{Card, Context, Disposition, MAX_BUFFER_SIZE, Protocols, Scope, ShareMode};

use crate::error::{Error, Result};
use crate::reader::CardReader;

fn pcsc_err(what: &str, e: pcsc::Error) -> Error {
    match e {
        pcsc::Error::NoSmartcard | pcsc::Error::RemovedCard | pcsc::Error::UnpoweredCard
            if what == "connect" =>
        {
            Error::Reader(format!("{NO_CARD_YET}: {e}"))
        }
        _ => Error::Reader(format!("PC/SC {what}: {e}")),
    }
}

/// How a connect error begins when the reader has no (powered) card yet.
const NO_CARD_YET: &str = "PC/SC connect: no card";

/// A card in a PC/SC reader. T=0 conventions are handled: `61xx` is followed by GET
/// RESPONSE, `6Cxx` by the command again with Le = xx.
pub struct PcscReader {
    _context: Context,
    card: Card,
    name: String,
    buf: Vec<u8>,
}

impl std::fmt::Debug for PcscReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PcscReader({})", self.name)
    }
}

impl PcscReader {
    /// The names of the readers PC/SC knows.
    pub fn list() -> Result<Vec<String>> {
        let context = Context::establish(Scope::User).map_err(|e| pcsc_err("context", e))?;
        let readers = context
            .list_readers_owned()
            .map_err(|e| pcsc_err("list readers", e))?;
        Ok(readers
            .iter()
            .map(|r| r.to_string_lossy().into_owned())
            .collect())
    }

    /// Connects to the card in the reader named `name` (exact name, or else the only reader
    /// whose name contains it, ignoring case).
    pub fn connect(name: &str) -> Result<PcscReader> {
        let context = Context::establish(Scope::User).map_err(|e| pcsc_err("context", e))?;
        let readers = context
            .list_readers_owned()
            .map_err(|e| pcsc_err("list readers", e))?;
        let wanted = name.to_lowercase();
        let exact = readers.iter().position(|r| r.to_string_lossy() == name);
        let index = match exact {
            Some(i) => i,
            None => {
                let matches: Vec<usize> = (0..readers.len())
                    .filter(|&i| {
                        readers[i]
                            .to_string_lossy()
                            .to_lowercase()
                            .contains(&wanted)
                    })
                    .collect();
                match matches.as_slice() {
                    [one] => *one,
                    [] => {
                        return Err(Error::Reader(format!(
                            "no PC/SC reader named {name:?}; readers: {readers:?}"
                        )));
                    }
                    _ => {
                        return Err(Error::Reader(format!(
                            "{name:?} matches several PC/SC readers: {readers:?}"
                        )));
                    }
                }
            }
        };
        let reader = &readers[index];
        let card = context
            .connect(reader, ShareMode::Exclusive, Protocols::ANY)
            .map_err(|e| pcsc_err("connect", e))?;
        Ok(PcscReader {
            name: reader.to_string_lossy().into_owned(),
            _context: context,
            card,
            buf: vec![0; MAX_BUFFER_SIZE],
        })
    }

    /// [`PcscReader::connect`], retried while the reader is empty or the card not yet powered
    /// (a card just put on the reader, a virtual card just connected to vpcd) for up to `wait`.
    pub fn connect_waiting(name: &str, wait: std::time::Duration) -> Result<PcscReader> {
        let deadline = std::time::Instant::now() + wait;
        loop {
            match PcscReader::connect(name) {
                Err(Error::Reader(why))
                    if std::time::Instant::now() < deadline && why.starts_with(NO_CARD_YET) =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                other => return other,
            }
        }
    }

    /// The reader's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn exchange(&mut self, command: &[u8], response: &mut Vec<u8>) -> Result<()> {
        let r = self
            .card
            .transmit(command, &mut self.buf)
            .map_err(|e| pcsc_err("transmit", e))?;
        response.extend_from_slice(r);
        Ok(())
    }
}

impl CardReader for PcscReader {
    fn transmit(&mut self, command: &[u8], response: &mut Vec<u8>) -> Result<()> {
        response.clear();
        self.exchange(command, response)?;
        // 6Cxx: the card wants Le = xx.
        if let [.., 0x6C, le] = response[..]
            && let Ok(apdu) = CommandApdu::parse(command)
        {
            let again = apdu.with_le(u16::from(le)).to_bytes();
            response.clear();
            self.exchange(&again, response)?;
        }
        // 61xx: xx more bytes wait for GET RESPONSE.
        while let [.., 0x61, more] = response[..] {
            response.truncate(response.len() - 2);
            self.exchange(&[0x00, 0xC0, 0x00, 0x00, more], response)?;
        }
        Ok(())
    }

    fn reset(&mut self) -> Result<()> {
        self.card
            .reconnect(
                ShareMode::Exclusive,
                Protocols::ANY,
                Disposition::UnpowerCard,
            )
            .map_err(|e| pcsc_err("reset", e))
    }

    fn describe(&self) -> String {
        format!("PC/SC reader {}", self.name)
    }
}
