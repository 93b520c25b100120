//! Issuer master TAC keys for TAC verification (`--keys FILE`, `keys = "FILE"` in the serve
//! configuration):
//!
//! ```toml
//! [[issuer]]
//! scheme = "mot"     # local | mohurd | mot | pboc
//! issuer = "0000"
//! city = "1000"
//! alg = "3des"       # or "sm4"
//! mtk = "…32 hex…"   # a card's DTK is diversified from it by the right-most 8 bytes of the serial
//! ```
//!
//! Keys never appear in logs, errors or `Debug` output: errors name the file, the entry's
//! number and its issuer, never the key or the line that holds it.

use std::collections::HashMap;
use std::path::Path;

use card_standards::crypto::{Algorithm, Key16};
use card_standards::{IssuerId, IssuerTacKey, Scheme};
use serde::Deserialize;

/// The issuers whose cards' TACs the hub can verify.
#[derive(Default)]
pub struct IssuerKeys {
    keys: HashMap<(Scheme, IssuerId), IssuerTacKey>,
}

impl std::fmt::Debug for IssuerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IssuerKeys({} issuers, <redacted>)", self.keys.len())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    #[serde(default)]
    issuer: Vec<IssuerEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuerEntry {
    scheme: String,
    issuer: String,
    city: String,
    alg: String,
    mtk: String,
}

/// The line a byte offset of `text` is on (1-based).
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl IssuerKeys {
    /// Reads a keys file.
    pub fn load(path: &Path) -> Result<IssuerKeys, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        IssuerKeys::from_toml(&text, &path.display().to_string())
    }

    /// Parses the text of a keys file; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<IssuerKeys, String> {
        // toml's own messages quote the offending line, which may hold a key: report only
        // the message and the line number.
        let file: KeysFile = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| format!(" (line {})", line_of(text, s.start)))
                .unwrap_or_default();
            format!("{origin}: not a keys file{at}: {}", e.message())
        })?;
        let mut keys = HashMap::new();
        for (i, entry) in file.issuer.iter().enumerate() {
            let n = i + 1;
            let err = |what: String| format!("{origin}: [[issuer]] number {n}: {what}");
            let scheme: Scheme = entry.scheme.parse().map_err(|_| {
                err(format!(
                    "scheme {:?}: expected local, mohurd, mot or pboc",
                    entry.scheme
                ))
            })?;
            let issuer_code = (entry.issuer.len() == 4
                && entry.issuer.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| entry.issuer.parse().ok())
            .flatten()
            .ok_or_else(|| err(format!("issuer {:?}: expected 4 hex digits", entry.issuer)))?;
            let city_code = (entry.city.len() == 4
                && entry.city.bytes().all(|b| b.is_ascii_digit()))
            .then(|| entry.city.parse().ok())
            .flatten()
            .ok_or_else(|| err(format!("city {:?}: expected 4 decimal digits", entry.city)))?;
            let id = IssuerId {
                issuer_code,
                city_code,
            };
            let err = |what: &str| {
                format!(
                    "{origin}: [[issuer]] number {n} ({scheme} {issuer_code}/{city_code}): {what}"
                )
            };
            let alg: Algorithm = match entry.alg.to_ascii_lowercase().as_str() {
                "3des" => Algorithm::TripleDes,
                "sm4" => Algorithm::Sm4,
                _ => return Err(err("alg: expected 3des or sm4")),
            };
            let mtk = entry.mtk.trim();
            if mtk.len() != 32 || !mtk.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(err(
                    "mtk: expected 32 hexadecimal digits (the value is not shown)",
                ));
            }
            let mtk: Key16 = mtk
                .parse()
                .map_err(|_| err("mtk: expected 32 hexadecimal digits (the value is not shown)"))?;
            if keys
                .insert((scheme, id), IssuerTacKey::new(alg, &mtk))
                .is_some()
            {
                return Err(err("a second entry for the same issuer"));
            }
        }
        Ok(IssuerKeys { keys })
    }

    /// The master TAC key of an issuer, if the hub holds it.
    pub fn get(&self, scheme: Scheme, issuer: IssuerId) -> Option<&IssuerTacKey> {
        self.keys.get(&(scheme, issuer))
    }

    /// How many issuers.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MTK: &str = "00112233445566778899AABBCCDDEEFF";

    #[test]
    fn a_keys_file_reads_and_finds_its_issuers() {
        let text = format!(
            "[[issuer]]\nscheme = \"mot\"\nissuer = \"0101\"\ncity = \"3702\"\nalg = \"sm4\"\nmtk = \"{MTK}\"\n"
        );
        let keys = IssuerKeys::from_toml(&text, "k.toml").unwrap();
        assert_eq!(keys.len(), 1);
        let id = IssuerId {
            issuer_code: "0101".parse().unwrap(),
            city_code: "3702".parse().unwrap(),
        };
        assert_eq!(
            keys.get(Scheme::Mot, id).unwrap().algorithm(),
            Algorithm::Sm4
        );
        assert!(keys.get(Scheme::Mohurd, id).is_none());
        assert!(!format!("{keys:?}").contains(MTK));
    }

    #[test]
    fn errors_name_the_entry_but_never_show_the_key() {
        let bad_key = "00112233445566778899AABBCCDDEEF"; // 31 digits
        for text in [
            format!(
                "[[issuer]]\nscheme = \"mot\"\nissuer = \"0101\"\ncity = \"3702\"\nalg = \"sm4\"\nmtk = \"{bad_key}\"\n"
            ),
            format!(
                "[[issuer]]\nscheme = \"mot\"\nissuer = \"0101\"\ncity = \"3702\"\nalg = \"sm4\"\nmtk = \"{bad_key}\"\nextra = 1\n"
            ),
            format!(
                "[[issuer]]\nscheme = \"mot\"\nissuer = \"0101\"\ncity = \"3702\"\nalg = \"aes\"\nmtk = \"{bad_key}\"\n"
            ),
            format!("[[issuer]]\nscheme = \"mot\" issuer = \"0101\"\nmtk = \"{bad_key}\"\n"),
            format!(
                "[[issuer]]\nscheme = \"mot\"\nissuer = \"0101\"\ncity = \"3702\"\nalg = \"sm4\"\nmtk = {bad_key}\n"
            ),
        ] {
            let e = IssuerKeys::from_toml(&text, "k.toml").unwrap_err();
            assert!(e.starts_with("k.toml"), "{e}");
            assert!(!e.contains("AABBCC"), "the key leaked: {e}");
        }
    }
}
