//! A simulated card as the virtual card of vsmartcard's `vpcd`, the virtual reader driver of
//! pcscd (Debian package `vsmartcard-vpcd`). With it, anything that talks PC/SC — `hutong
//! conformance run --reader`, `hutong card read`, a vendor's reader tool — talks to a
//! [`SimCard`] exactly as to a card on a desk reader.
//!
//! The protocol, as vsmartcard's `vpcd.c` and its `vpicc` (`VirtualSmartcard.py`) implement it
//! \[S: github.com/frankmorgner/vsmartcard, `virtualsmartcard/src/vpcd/vpcd.c`,
//! `virtualsmartcard/src/vpicc/virtualsmartcard/VirtualSmartcard.py`\]: vpcd listens on TCP
//! (port 35963 for its first reader, 35964 for the second) and the virtual card connects to it.
//! Every message in both directions is a 2-byte big-endian length and that many bytes. A
//! message of one byte is a control code — 0 power off, 1 power on, 2 reset, 4 get ATR; only
//! get ATR is answered (with the ATR). Any other message is a command APDU, answered with the
//! response APDU (data ‖ SW1 SW2). vpcd asks for the ATR every few hundred milliseconds to see
//! whether the card is still there.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex, MutexGuard};

use card_standards::Scheme;

use crate::card::SimCard;

/// vpcd's TCP port for its first reader (`0x8C7B` in Debian's `/etc/reader.conf.d/vpcd`).
pub const VPCD_PORT: u16 = 35963;

/// A message from vpcd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VpcdRequest {
    /// Control code 0: the field is switched off.
    PowerOff,
    /// Control code 1: the field is switched on.
    PowerOn,
    /// Control code 2: a warm reset.
    Reset,
    /// Control code 4: answer the ATR (also vpcd's presence check).
    GetAtr,
    /// A message of length 0 (vpicc ignores it, and so does this card).
    Empty,
    /// A command APDU. vpcd frames APDUs like control codes, so a one-byte message is a
    /// control code when it is 0, 1, 2 or 4 and a (malformed) one-byte APDU otherwise: the
    /// card answers it (6700) instead of leaving vpcd waiting.
    Apdu(Vec<u8>),
}

/// Reads one message; `Ok(None)` when vpcd closed the connection cleanly between messages.
pub fn read_request(r: &mut impl Read) -> io::Result<Option<VpcdRequest>> {
    let mut len = [0u8; 2];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
    r.read_exact(&mut body)?;
    Ok(Some(match body.as_slice() {
        [0] => VpcdRequest::PowerOff,
        [1] => VpcdRequest::PowerOn,
        [2] => VpcdRequest::Reset,
        [4] => VpcdRequest::GetAtr,
        [] => VpcdRequest::Empty,
        _ => VpcdRequest::Apdu(body),
    }))
}

/// Writes one message: the 2-byte big-endian length, then `payload` (at most 65535 bytes).
pub fn write_frame(w: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    let len = u16::try_from(payload.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "a vpcd message holds at most 65535 bytes",
        )
    })?;
    let mut frame = Vec::with_capacity(payload.len() + 2);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    w.write_all(&frame)?;
    w.flush()
}

/// The ATR a simulated card of `scheme` answers: the ATR a PC/SC reader builds for a
/// contactless ISO 14443-4 card (PC/SC Part 3, §3.1.3.2.3: `3B 8n 80 01`, n historical bytes,
/// the check byte TCK = XOR of the bytes after `3B`), with `hutong <scheme>` as the historical
/// bytes.
///
/// \[I\] A real card's ATR carries its COS's ATS historical bytes, which differ by
/// manufacturer; nothing in the catalogue or the terminal depends on them.
pub fn atr(scheme: Scheme) -> Vec<u8> {
    let historical = format!("hutong {scheme}");
    let historical = &historical.as_bytes()[..historical.len().min(15)];
    let mut atr = vec![0x3B, 0x80 | historical.len() as u8, 0x80, 0x01];
    atr.extend_from_slice(historical);
    let tck = atr[1..].iter().fold(0u8, |x, b| x ^ b);
    atr.push(tck);
    atr
}

/// The virtual card's TCP connection to vpcd.
///
/// Debian's vpcd (3.3+dfsg-2, seen with strace) writes a message's length and its body with two
/// `send` calls and does not disable Nagle's algorithm, so the body waits until the length is acknowledged; with the receiver's
/// delayed ACK that costs 40 ms per APDU. The stream therefore asks for an immediate ACK
/// (Linux `TCP_QUICKACK`) before every read: an APDU then takes well under a millisecond.
#[derive(Debug)]
pub struct VpcdStream(TcpStream);

impl VpcdStream {
    /// Connects to vpcd at `addr` (e.g. `127.0.0.1:35963`).
    pub fn connect(addr: impl ToSocketAddrs) -> io::Result<VpcdStream> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        Ok(VpcdStream(stream))
    }

    /// A second handle on the same connection (e.g. to shut it down from another thread).
    pub fn try_clone(&self) -> io::Result<VpcdStream> {
        self.0.try_clone().map(VpcdStream)
    }

    /// Closes the connection: a [`serve`] on it returns.
    pub fn shutdown(&self) -> io::Result<()> {
        self.0.shutdown(Shutdown::Both)
    }

    /// The address of vpcd.
    pub fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.0.peer_addr()
    }
}

impl Read for VpcdStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            // Best effort: without it the card still works, only slower.
            let _ = socket2::SockRef::from(&self.0).set_tcp_quickack(true);
        }
        self.0.read(buf)
    }
}

impl Write for VpcdStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// What happened on the connection, for logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VpcdEvent<'a> {
    /// The field went on.
    PowerOn,
    /// The field went off.
    PowerOff,
    /// A reset.
    Reset,
    /// A command and the card's response (data ‖ SW1 SW2).
    Apdu {
        /// The command APDU.
        command: &'a [u8],
        /// The response APDU.
        response: &'a [u8],
    },
}

/// The card in the virtual reader's field, shared between the connection that serves it and
/// whoever wants to swap it for another card (a fresh card per catalogue case) or look at it.
#[derive(Debug, Clone)]
pub struct VirtualSlot(Arc<Mutex<SimCard>>);

impl VirtualSlot {
    /// A slot holding `card`.
    pub fn new(card: SimCard) -> VirtualSlot {
        VirtualSlot(Arc::new(Mutex::new(card)))
    }

    /// The card (a card that panicked elsewhere is still a card: poisoning is ignored).
    pub fn card(&self) -> MutexGuard<'_, SimCard> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts another card into the field; the reader sees it at its next power-up.
    pub fn insert(&self, card: SimCard) {
        *self.card() = card;
    }
}

/// Serves the slot's card on one vpcd connection until vpcd closes it: answers the ATR and
/// every APDU, power-cycles the card on power off, power on and reset (it keeps its files,
/// balance and counters and loses its selection and purse session, as a card does), and calls
/// `on_event` for everything but the ATR polls.
pub fn serve(
    stream: &mut (impl Read + Write),
    slot: &VirtualSlot,
    mut on_event: impl FnMut(VpcdEvent<'_>),
) -> io::Result<()> {
    let mut response = Vec::with_capacity(300);
    while let Some(request) = read_request(stream)? {
        match request {
            VpcdRequest::GetAtr => {
                let atr = atr(slot.card().scheme());
                write_frame(stream, &atr)?;
            }
            VpcdRequest::PowerOn => {
                slot.card().reset();
                on_event(VpcdEvent::PowerOn);
            }
            VpcdRequest::PowerOff => {
                slot.card().reset();
                on_event(VpcdEvent::PowerOff);
            }
            VpcdRequest::Reset => {
                slot.card().reset();
                on_event(VpcdEvent::Reset);
            }
            VpcdRequest::Empty => {}
            VpcdRequest::Apdu(command) => {
                slot.card().transmit_into(&command, &mut response);
                write_frame(stream, &response)?;
                on_event(VpcdEvent::Apdu {
                    command: &command,
                    response: &response,
                });
            }
        }
    }
    Ok(())
}

/// One log line per event, as `hutong conformance vcard` prints them: `>> C-APDU` and
/// `<< R-APDU` in hex (what `hutong card trace` reads back), `# power on` and the like.
pub fn log_line(event: VpcdEvent<'_>) -> String {
    match event {
        VpcdEvent::PowerOn => "# power on".to_string(),
        VpcdEvent::PowerOff => "# power off".to_string(),
        VpcdEvent::Reset => "# reset".to_string(),
        VpcdEvent::Apdu { command, response } => format!(
            ">> {}\n<< {}",
            hex::encode_upper(command),
            hex::encode_upper(response)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::CardProfile;
    use card_standards::crypto::Algorithm;

    /// What vpcd sends, as bytes on the wire.
    fn frames(messages: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for m in messages {
            write_frame(&mut out, m).unwrap();
        }
        out
    }

    /// A fake connection: reads what vpcd sent, collects what the card wrote.
    struct Wire {
        input: io::Cursor<Vec<u8>>,
        output: Vec<u8>,
    }

    impl Read for Wire {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.input.read(buf)
        }
    }

    impl Write for Wire {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.output.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn slot(scheme: Scheme) -> VirtualSlot {
        VirtualSlot::new(
            SimCard::personalise(&CardProfile::test(scheme, Algorithm::TripleDes)).unwrap(),
        )
    }

    fn answers(output: &[u8]) -> Vec<Vec<u8>> {
        let mut r = io::Cursor::new(output);
        let mut out = Vec::new();
        loop {
            let mut len = [0u8; 2];
            if r.read_exact(&mut len).is_err() {
                break;
            }
            let mut body = vec![0; usize::from(u16::from_be_bytes(len))];
            r.read_exact(&mut body).unwrap();
            out.push(body);
        }
        out
    }

    #[test]
    fn atr_is_a_pcsc_contactless_atr_with_a_valid_check_byte() {
        let atr = atr(Scheme::Mohurd);
        assert_eq!(&atr[..4], &[0x3B, 0x8D, 0x80, 0x01]);
        assert_eq!(&atr[4..atr.len() - 1], b"hutong mohurd");
        assert_eq!(atr[1..].iter().fold(0, |x, b| x ^ b), 0, "TCK");
        assert_ne!(super::atr(Scheme::Mot), atr);
    }

    #[test]
    fn controls_are_answered_only_for_the_atr_and_apdus_with_the_response() {
        let slot = slot(Scheme::Mohurd);
        let select = hex::decode("00A4040009A0000000038698070100").unwrap();
        let balance = [0x80, 0x5C, 0x00, 0x02, 0x04];
        let mut wire = Wire {
            input: io::Cursor::new(frames(&[
                &[1],
                &[4],
                &select,
                &balance,
                &[2],
                &balance,
                &[0],
            ])),
            output: Vec::new(),
        };
        let mut log = Vec::new();
        serve(&mut wire, &slot, |e| log.push(log_line(e))).unwrap();
        let answers = answers(&wire.output);
        assert_eq!(answers.len(), 4, "ATR, SELECT, GET BALANCE, GET BALANCE");
        assert_eq!(answers[0], atr(Scheme::Mohurd));
        assert_eq!(answers[1][..2], [0x6F, answers[1][1]]);
        assert_eq!(answers[1][answers[1].len() - 2..], [0x90, 0x00]);
        assert_eq!(answers[2], [0x00, 0x00, 0x27, 0x10, 0x90, 0x00]);
        // The reset lost the selection, as on a real card.
        assert_eq!(answers[3], [0x69, 0x85]);
        assert_eq!(log[0], "# power on");
        assert_eq!(log[2], ">> 805C000204\n<< 000027109000");
        assert_eq!(log[3], "# reset");
        assert_eq!(log.last().unwrap(), "# power off");
    }

    #[test]
    fn a_power_cycle_keeps_the_balance_and_a_swapped_card_answers_its_own_atr() {
        let slot = slot(Scheme::Pboc);
        let other = SimCard::personalise(&CardProfile::test(Scheme::Mot, Algorithm::Sm4)).unwrap();
        slot.insert(other);
        let mut wire = Wire {
            input: io::Cursor::new(frames(&[&[0], &[1], &[4]])),
            output: Vec::new(),
        };
        serve(&mut wire, &slot, |_| {}).unwrap();
        assert_eq!(answers(&wire.output), vec![atr(Scheme::Mot)]);
        assert_eq!(slot.card().purse().balance, 10_000);
    }

    #[test]
    fn a_connection_cut_inside_a_message_is_an_error_not_a_panic() {
        let slot = slot(Scheme::Local);
        let mut bytes = frames(&[&[0x80, 0x5C, 0x00, 0x02, 0x04]]);
        bytes.truncate(4);
        let mut wire = Wire {
            input: io::Cursor::new(bytes),
            output: Vec::new(),
        };
        assert!(serve(&mut wire, &slot, |_| {}).is_err());
        // A 0-length message is ignored, as vpicc does; the next one is served.
        // A one-byte message that is no control code is a one-byte APDU: answered 6700.
        let mut wire = Wire {
            input: io::Cursor::new(frames(&[&[], &[4], &[0x80]])),
            output: Vec::new(),
        };
        serve(&mut wire, &slot, |_| {}).unwrap();
        assert_eq!(
            answers(&wire.output),
            vec![atr(Scheme::Local), vec![0x67, 0x00]]
        );
    }
}
