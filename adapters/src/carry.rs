//! Whether a format can carry a record, decided without writing a file.
//!
//! The hub decides at ingest whether the participant a record is charged to can receive it in
//! its own format, and checks again when a window closes. Both ask [`CarryCheck`]: one writer
//! per format into [`std::io::sink`], kept for the life of the check, so that a file of millions
//! of records costs one encoding per record and not one writer per record. A writer refuses a
//! record it cannot carry with [`Error::CannotCarry`] and stays usable, so the answer for one
//! record never depends on the records checked before it.

use std::io;

use card_standards::{CanonicalTx, CodeTables};

use crate::error::Result;
use crate::stream::TxSink;
use crate::{FileMeta, Format};

/// Answers "can `format` carry this record?" for any number of records and formats. It is
/// `Send`, so an async task may hold it across an `.await`.
pub struct CarryCheck<'t> {
    tables: &'t CodeTables,
    sinks: Vec<(Format, Box<dyn TxSink + Send + 't>)>,
}

impl std::fmt::Debug for CarryCheck<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let formats: Vec<Format> = self.sinks.iter().map(|(f, _)| *f).collect();
        f.debug_struct("CarryCheck")
            .field("formats", &formats)
            .finish()
    }
}

impl<'t> CarryCheck<'t> {
    /// A check that translates codes with `tables` (the tables the files are written with).
    pub fn new(tables: &'t CodeTables) -> CarryCheck<'t> {
        CarryCheck {
            tables,
            sinks: Vec::new(),
        }
    }

    /// `Ok` when `format` (a transaction format) can carry `tx`; otherwise the writer's
    /// [`Error::CannotCarry`](crate::Error) naming the field and the format's reason.
    pub fn check(&mut self, format: Format, tx: &CanonicalTx) -> Result<()> {
        let i = match self.sinks.iter().position(|(f, _)| *f == format) {
            Some(i) => i,
            None => {
                let meta = FileMeta::new("HUB", 1, chrono::NaiveDateTime::default());
                let sink = crate::create_send(format, io::sink(), &meta, self.tables)?;
                self.sinks.push((format, sink));
                self.sinks.len() - 1
            }
        };
        self.sinks[i].1.write(tx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    #[test]
    fn agrees_with_writing_a_whole_file_for_every_sample_record_and_format() {
        let tables = CodeTables::builtin();
        let mut check = CarryCheck::new(tables);
        for format in Format::TRANSACTIONS {
            for tx in sample::records(tables) {
                let alone = crate::write_all(format, &sample::sample_meta(format), tables, [&tx]);
                assert_eq!(
                    check.check(format, &tx).is_ok(),
                    alone.is_ok(),
                    "{format:?} {tx:?}"
                );
            }
        }
    }

    #[test]
    fn refuses_a_t_union_serial_that_is_not_decimal_and_names_the_field() {
        let tables = CodeTables::builtin();
        let mut tx = sample::records(tables)
            .into_iter()
            .find(|t| t.scheme == card_standards::Scheme::Mot)
            .expect("a T-Union sample");
        let mut check = CarryCheck::new(tables);
        assert!(check.check(Format::Mot, &tx).is_ok());
        tx.card_serial = "0310ABCDEF0123456789".parse().unwrap();
        let e = check.check(Format::Mot, &tx).unwrap_err();
        assert_eq!(e.field(), Some("card_serial"), "{e}");
        assert!(e.to_string().contains("19-digit"), "{e}");
        // The writer stays usable: the next good record still passes.
        tx.card_serial = "03105170010170907984".parse().unwrap();
        assert!(check.check(Format::Mot, &tx).is_ok());
    }
}
