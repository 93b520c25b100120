//! What the hub and its partners say to each other over `/v1/files`: the receipt of an
//! upload, a listing entry, the JSON result of a file, and the rule for file names. The server
//! ([`crate::http`]) answers with these types and the client ([`crate::client`]) and the
//! deliverer ([`crate::delivery`]) read them, so neither side depends on the other.

use serde::{Deserialize, Serialize};

use crate::store::{FileRecord, Timestamp};

/// The receipt of an upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The hub's id for the file.
    pub file_id: i64,
    /// The name it was first uploaded under.
    pub name: String,
    /// SHA-256 of the content, lower-case hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: i64,
    /// `received`: stored durably, waiting for ingest.
    pub status: String,
    /// When the hub stored it.
    pub received_at: Timestamp,
}

impl From<&FileRecord> for Receipt {
    fn from(f: &FileRecord) -> Receipt {
        Receipt {
            file_id: f.id,
            name: f.name.clone(),
            sha256: f.sha256.clone(),
            bytes: f.bytes,
            status: f.status.as_str().to_string(),
            received_at: f.received_at,
        }
    }
}

/// One entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// The hub's id for the file.
    pub file_id: i64,
    /// `in` (uploaded by the caller) or `out` (addressed to the caller).
    pub direction: String,
    /// Name.
    pub name: String,
    /// SHA-256, lower-case hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: i64,
    /// Status.
    pub status: String,
    /// When the hub stored it.
    pub received_at: Timestamp,
}

impl From<&FileRecord> for FileInfo {
    fn from(f: &FileRecord) -> FileInfo {
        FileInfo {
            file_id: f.id,
            direction: f.direction.as_str().to_string(),
            name: f.name.clone(),
            sha256: f.sha256.clone(),
            bytes: f.bytes,
            status: f.status.as_str().to_string(),
            received_at: f.received_at,
        }
    }
}

/// Checks an uploaded file's name: 1 to 255 bytes, no path separator, no `..`, no control
/// characters.
pub fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 255 {
        return Err("a file name has 1 to 255 bytes".into());
    }
    if name.contains('/') || name.contains('\\') {
        return Err(format!("file name {name:?} contains a path separator"));
    }
    if name.contains("..") || name == "." {
        return Err(format!("file name {name:?} contains '..'"));
    }
    if name.chars().any(char::is_control) {
        return Err(format!("file name {name:?} contains a control character"));
    }
    Ok(())
}

/// One rejection in the JSON result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultRejection {
    /// The record's number in the file; 0 for the file as a whole.
    pub record: i64,
    /// `R01`…`R07`, or `F01`…`F05` for a whole-file rejection.
    pub code: String,
    /// The field at fault, as the file spells it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Why.
    pub reason: String,
}

/// The JSON result of a file, without its rejections (which stream after it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileResultJson {
    /// The file.
    pub file_id: i64,
    /// `received` (not ingested yet), `accepted`, `partially_accepted` or `rejected`.
    pub status: String,
    /// Records read.
    pub records: i64,
    /// Records accepted.
    pub accepted: i64,
    /// Records rejected.
    pub rejected: i64,
    /// Every rejection, by record.
    pub rejections: Vec<ResultRejection>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_separators_or_dot_dot_are_refused() {
        for bad in [
            "",
            "a/b",
            "a\\b",
            "..",
            "../x",
            "x..",
            ".",
            "a\nb",
            &"n".repeat(256),
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["TX20261122.dat", "青岛-日照 01.csv", ".hidden", "a.b.c"] {
            assert!(validate_name(good).is_ok(), "{good:?} refused");
        }
    }
}
