//! The whole catalogue through a real PC/SC stack (feature `pcsc`): a fresh simulated card per
//! case, served to pcscd through vpcd ([`crate::vpcd`]) and driven through the PC/SC reader
//! like a card on a desk reader.

use std::net::ToSocketAddrs;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::card::SimCard;
use crate::catalogue::Case;
use crate::error::{Error, Result};
use crate::pcsc_reader::PcscReader;
use crate::profile::CardProfile;
use crate::reader::CardReader;
use crate::runner::{CardSource, CardUnderTest, Unavailable};
use crate::vpcd::{self, VirtualSlot, VpcdStream};

/// How long pcscd may take to notice the virtual card: it polls vpcd a few times a second, but
/// vpcd accepts a new card only once it noticed that the previous one left, which can take
/// seconds after a card process died.
const CARD_PRESENT_TIMEOUT: Duration = Duration::from_secs(30);

/// A [`CardSource`] of fresh simulated cards, personalised per case exactly as
/// [`crate::SimulatedCards`] does, each put into the field of vpcd's virtual reader and
/// reached through pcscd: every case runs as in-process, but over PC/SC.
///
/// The connection to vpcd stays open for the whole run; between cases the card in the field
/// is swapped and the PC/SC connection power-cycles the card, so pcscd reads the new card's
/// ATR.
pub struct VirtualCards {
    slot: VirtualSlot,
    stream: VpcdStream,
    server: Option<JoinHandle<std::io::Result<()>>>,
    reader_name: String,
    reader: Option<PcscReader>,
}

impl std::fmt::Debug for VirtualCards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VirtualCards({})", self.reader_name)
    }
}

impl VirtualCards {
    /// Connects to vpcd at `vpcd` as its virtual card (nothing in the field yet answers) and
    /// will drive the cards through the PC/SC reader named `reader` (exact, or a unique part
    /// of the name, as [`PcscReader::connect`] takes it).
    pub fn start(vpcd: impl ToSocketAddrs, reader: &str) -> Result<VirtualCards> {
        let stream = VpcdStream::connect(vpcd)
            .map_err(|e| Error::Reader(format!("connecting to vpcd: {e}")))?;
        let first = CardProfile::test(
            card_standards::Scheme::Mohurd,
            card_standards::crypto::Algorithm::TripleDes,
        );
        let slot = VirtualSlot::new(SimCard::personalise(&first)?);
        let mut served = stream
            .try_clone()
            .map_err(|e| Error::Reader(format!("vpcd socket: {e}")))?;
        let served_slot = slot.clone();
        let server = std::thread::Builder::new()
            .name("vpcd card".into())
            .spawn(move || vpcd::serve(&mut served, &served_slot, |_| {}))
            .map_err(|e| Error::Reader(format!("starting the vpcd card: {e}")))?;
        Ok(VirtualCards {
            slot,
            stream,
            server: Some(server),
            reader_name: reader.to_string(),
            reader: None,
        })
    }

    fn connect(&mut self) -> Result<&mut PcscReader> {
        if self.reader.is_none() {
            let deadline = Instant::now() + CARD_PRESENT_TIMEOUT;
            let reader = loop {
                match PcscReader::connect(&self.reader_name).and_then(probe) {
                    Ok(r) => break r,
                    Err(e) if Instant::now() >= deadline => return Err(e),
                    Err(_) => std::thread::sleep(Duration::from_millis(100)),
                }
            };
            self.reader = Some(reader);
        } else if let Some(r) = self.reader.as_mut() {
            r.reset()?;
        }
        self.reader
            .as_mut()
            .ok_or_else(|| Error::Reader("no PC/SC connection".into()))
    }
}

/// Checks that the card behind a fresh PC/SC connection is ours and answers: pcscd may still
/// hold the card of an earlier run that has gone (vpcd notices at its next poll). SELECT of an
/// AID no card has changes nothing on the card; the reset then leaves it as it was.
fn probe(mut reader: PcscReader) -> Result<PcscReader> {
    let mut response = Vec::new();
    reader.transmit(
        &[0x00, 0xA4, 0x04, 0x00, 0x05, 0xF0, 0x00, 0x00, 0x00, 0x00],
        &mut response,
    )?;
    if response.len() < 2 {
        return Err(Error::Reader(
            "the virtual card answered no status word".into(),
        ));
    }
    reader.reset()?;
    Ok(reader)
}

impl Drop for VirtualCards {
    fn drop(&mut self) {
        self.reader = None;
        let _ = self.stream.shutdown();
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
    }
}

impl CardSource for VirtualCards {
    fn describe(&self) -> String {
        format!(
            "simulated cards personalised with the catalogue's test keys, through PC/SC reader {} (vpcd)",
            self.reader_name
        )
    }

    fn prepare(&mut self, case: &Case) -> std::result::Result<CardUnderTest<'_>, Unavailable> {
        let profile = case.simulated_profile();
        let card = SimCard::personalise(&profile).map_err(|e| Unavailable::Error(e.to_string()))?;
        self.slot.insert(card);
        let reader = self
            .connect()
            .map_err(|e| Unavailable::Error(e.to_string()))?;
        Ok(CardUnderTest {
            reader,
            keys: profile.keys,
            key_index: profile.key_index,
        })
    }
}
