//! File seals: the SM4-CMAC of a whole file body under a participant's 16-byte seal key,
//! carried in hex in the `Hutong-Seal` header (uploads, downloads, pushes) and in a
//! `NAME.seal` sidecar where files are written to disk.
//!
//! The CMAC is NIST SP 800-38B (OMAC1) over the SM4 block cipher (GB/T 32907), computed while
//! the body streams through ([`Sealer::update`]) so that a file of any size is sealed in
//! constant memory. The seal is the whole 16-byte tag in upper-case hex (32 digits); on reading,
//! either case is accepted and the comparison is constant-time. `docs/seals.md` has a worked
//! example, checked against OpenSSL by the tests.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use cmac::{Cmac, KeyInit, Mac};
use sm4::Sm4;

/// The HTTP header that carries a seal.
pub const SEAL_HEADER: &str = "hutong-seal";

/// A participant's seal key. Its `Debug` and `Display` never show the key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SealKey([u8; 16]);

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealKey(<redacted>)")
    }
}

impl SealKey {
    /// A key from its 16 bytes.
    pub fn new(bytes: [u8; 16]) -> SealKey {
        SealKey(bytes)
    }

    /// A key from 32 hex digits. The error never quotes the value.
    pub fn from_hex(text: &str) -> Result<SealKey, String> {
        let bytes = hex::decode(text.trim())
            .map_err(|_| "a seal key is 32 hexadecimal digits".to_string())?;
        let bytes: [u8; 16] = bytes.try_into().map_err(|b: Vec<u8>| {
            format!("a seal key is 16 bytes (32 hex digits), got {}", b.len())
        })?;
        Ok(SealKey(bytes))
    }

    /// A key from stored bytes (the database column).
    pub fn from_slice(bytes: &[u8]) -> Option<SealKey> {
        bytes.try_into().ok().map(SealKey)
    }

    /// The raw bytes, for storing.
    pub fn bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The key check value: the first 3 bytes of the SM4-CMAC of sixteen zero bytes, in hex.
    /// It tells which key made a stored seal without revealing the key.
    pub fn check_value(&self) -> String {
        let mut s = Sealer::new(self);
        s.update(&[0u8; 16]);
        s.finish()[..6].to_string()
    }
}

/// A seal being computed over a stream of bytes.
#[derive(Clone)]
pub struct Sealer(Cmac<Sm4>);

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer(<redacted>)")
    }
}

impl Sealer {
    /// Starts a seal under `key`.
    pub fn new(key: &SealKey) -> Sealer {
        Sealer(<Cmac<Sm4> as KeyInit>::new(&key.0.into()))
    }

    /// Feeds the next bytes of the body.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The seal: the 16-byte CMAC in upper-case hex.
    pub fn finish(self) -> String {
        hex::encode_upper(self.0.finalize().into_bytes())
    }
}

/// The seal of a byte string.
pub fn seal_bytes(key: &SealKey, body: &[u8]) -> String {
    let mut s = Sealer::new(key);
    s.update(body);
    s.finish()
}

/// The seal of a file, read in 256 KiB pieces (blocking).
pub fn seal_file(key: &SealKey, path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut sealer = Sealer::new(key);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(sealer.finish());
        }
        sealer.update(&buf[..n]);
    }
}

/// Whether a presented seal (hex, either case, surrounding spaces ignored) equals the computed
/// one; constant-time in the seal's bytes.
pub fn seals_match(presented: &str, computed: &str) -> bool {
    let (Ok(a), Ok(b)) = (hex::decode(presented.trim()), hex::decode(computed)) else {
        return false;
    };
    a.len() == b.len() && subtle::ConstantTimeEq::ct_eq(&a[..], &b[..]).into()
}

/// The sidecar that holds the seal of `path`: `NAME.seal` beside it.
pub fn sidecar_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".seal");
    path.with_file_name(name)
}

/// Writes `seal` (and a newline) to the sidecar of `path`.
pub fn write_sidecar(path: &Path, seal: &str) -> std::io::Result<PathBuf> {
    let side = sidecar_path(path);
    std::fs::write(&side, format!("{seal}\n"))?;
    Ok(side)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of `docs/seals.md`.
    pub(crate) const KEY: &str = "0123456789ABCDEFFEDCBA9876543210";

    #[test]
    fn the_worked_example_of_the_docs_holds() {
        let key = SealKey::from_hex(KEY).unwrap();
        assert_eq!(seal_bytes(&key, b"abc"), "8E75238AC2672A6AEE408C1E251854D8");
    }

    #[test]
    fn streaming_in_pieces_gives_the_seal_of_the_whole() {
        let key = SealKey::from_hex(KEY).unwrap();
        let body: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut s = Sealer::new(&key);
        for piece in body.chunks(4097) {
            s.update(piece);
        }
        assert_eq!(s.finish(), seal_bytes(&key, &body));
    }

    #[test]
    fn keys_never_print_and_bad_keys_are_refused_without_echo() {
        let key = SealKey::from_hex(KEY).unwrap();
        assert_eq!(format!("{key:?}"), "SealKey(<redacted>)");
        let e = SealKey::from_hex("0123456789ABCDEF").unwrap_err();
        assert!(!e.contains("0123456789ABCDEF"), "{e}");
        assert!(SealKey::from_hex("zz").is_err());
    }

    #[test]
    fn seals_compare_in_either_case_and_refuse_anything_else() {
        let s = "8E75238AC2672A6AEE408C1E251854D8";
        assert!(seals_match(&s.to_ascii_lowercase(), s));
        assert!(seals_match(&format!(" {s}\n"), s));
        assert!(!seals_match("8E75238AC2672A6AEE408C1E251854D9", s));
        assert!(!seals_match("8E75", s));
        assert!(!seals_match("not hex", s));
    }
}
