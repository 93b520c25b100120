//! Tests of the hub's PKI, one module per topic. TLS handshakes here run between in-memory
//! rustls connections; the hub's tests repeat the important ones over real sockets.

mod handshake;
mod issue;
mod revoke;

use std::sync::Arc;

use certs::{KeySource, ParticipantCode, Pki, Validity};
use rustls::{ClientConnection, ServerConnection};

/// A fresh PKI with a server certificate for `hub.test`.
pub fn pki() -> (tempfile::TempDir, Pki) {
    certs::install_default_provider();
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::init(dir.path(), "Test hub CA", 3650).unwrap();
    pki.issue_server(
        &["hub.test".into(), "127.0.0.1".into()],
        Validity::days(30).unwrap(),
    )
    .unwrap();
    (dir, pki)
}

/// A participant code.
pub fn code(s: &str) -> ParticipantCode {
    ParticipantCode::new(s).unwrap()
}

/// A participant certificate and key (PEM) with a generated key.
pub fn participant(pki: &Pki, name: &str) -> (String, String) {
    let issued = pki
        .issue_participant(
            &code(name),
            KeySource::Generate,
            Validity::days(365).unwrap(),
        )
        .unwrap();
    (issued.cert_pem, issued.key_pem.unwrap())
}

/// Runs a TLS handshake between the PKI's server configuration (as on disk now) and a client
/// presenting `identity`; returns the server's error if it refused, else the peer certificate's
/// participant.
pub fn handshake(pki: &Pki, identity: Option<(&str, &str)>) -> Result<String, rustls::Error> {
    let server = certs::ServerTlsFiles::of(pki).load().unwrap();
    let ca = pki.ca_pem().unwrap();
    let client = certs::client_config(
        ca.as_bytes(),
        identity.map(|(c, k)| (c.as_bytes(), k.as_bytes())),
    )
    .unwrap();
    let mut s = ServerConnection::new(Arc::new(server)).unwrap();
    let mut c = ClientConnection::new(Arc::new(client), "hub.test".try_into().unwrap()).unwrap();
    for _ in 0..10 {
        let mut buf = Vec::new();
        while c.wants_write() {
            c.write_tls(&mut buf).unwrap();
        }
        let mut slice = &buf[..];
        while !slice.is_empty() {
            s.read_tls(&mut slice).unwrap();
        }
        s.process_new_packets()?;
        let mut buf = Vec::new();
        while s.wants_write() {
            s.write_tls(&mut buf).unwrap();
        }
        let mut slice = &buf[..];
        while !slice.is_empty() {
            c.read_tls(&mut slice).unwrap();
        }
        c.process_new_packets()?;
        if !s.is_handshaking() && !c.is_handshaking() {
            let der = s.peer_certificates().expect("a client certificate")[0].clone();
            return Ok(certs::peer_identity(&der).unwrap().participant.to_string());
        }
    }
    panic!("the handshake did not finish")
}
