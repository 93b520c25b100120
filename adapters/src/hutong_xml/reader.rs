//! The `<TxFile>` reader.

use std::io::BufRead;

use card_standards::CanonicalTx;

use super::core::{self, Core, Names, Step};
use super::{TX_ATTRIBUTES, TX_NAMESPACE};
use crate::Format;
use crate::error::{Error, Location, Result};
use crate::fields::{self, CodeSpace, Codec, Texts, TimeStyle};
use crate::stream::{FileMeta, FileSummary, ReadOptions, Tally, TxStream};

const NAMES: Names = Names {
    namespace: TX_NAMESPACE,
    root: "TxFile",
    record: "Tx",
    trailer: "Trailer",
    trailer_required: true,
};

/// A reader of one `<TxFile>`: an iterator of canonical records (see [`TxStream`]).
pub struct Reader<'a, R> {
    core: Core<R>,
    buf: Vec<u8>,
    codec: Codec<'a>,
    meta: FileMeta,
    records: u64,
    tally: Tally,
    trailer: Option<(u64, i128, Location)>,
    fatal: Option<Error>,
    done: bool,
}

impl<R> std::fmt::Debug for Reader<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("hutong_xml::Reader")
            .field("meta", &self.meta)
            .field("records", &self.records)
            .finish_non_exhaustive()
    }
}

/// Reads the root attributes `sender`, `seq`, `created` and the optional `receiver`.
pub(super) fn read_meta(at: &Location, attrs: &[(String, String)]) -> Result<FileMeta> {
    let sender = core::required(at, attrs, "sender")?;
    if sender.is_empty() {
        return Err(Error::envelope(at.clone(), "sender", "empty"));
    }
    let seq = core::number(at, attrs, "seq")?;
    let created_text = core::required(at, attrs, "created")?;
    let created = fields::read_time(TimeStyle::Iso, created_text).ok_or_else(|| {
        Error::envelope(
            at.clone(),
            "created",
            format!("expected a date-time YYYY-MM-DDThh:mm:ss (value {created_text:?})"),
        )
    })?;
    let mut meta = FileMeta::new(sender, seq, created);
    meta.receiver = core::optional(attrs, "receiver").map(str::to_string);
    Ok(meta)
}

impl<'a, R: BufRead> Reader<'a, R> {
    /// Opens a file: reads up to the root element and checks its attributes (`F01`).
    pub fn open(input: R, opts: ReadOptions<'a>) -> Result<Self> {
        let (core, attrs) = Core::open(input, NAMES, opts.file)?;
        let meta = read_meta(&core.at(None), &attrs)?;
        Ok(Reader {
            core,
            buf: Vec::with_capacity(1024),
            codec: Codec {
                format: Format::HutongXml,
                tables: opts.tables,
                space: CodeSpace::Canonical,
                time: TimeStyle::Iso,
            },
            meta,
            records: 0,
            tally: Tally::default(),
            trailer: None,
            fatal: None,
            done: false,
        })
    }

    fn fail(&mut self, e: Error) -> Option<Result<CanonicalTx>> {
        self.done = true;
        self.fatal = Some(e.clone());
        Some(Err(e))
    }
}

impl<R: BufRead> Iterator for Reader<'_, R> {
    type Item = Result<CanonicalTx>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let Reader {
                core, buf, codec, ..
            } = self;
            let step = match core.step(buf) {
                Ok(s) => s,
                Err(e) => return self.fail(e),
            };
            match step {
                Step::Skip => {}
                Step::End => {
                    self.done = true;
                    return None;
                }
                Step::Trailer(e) => {
                    let at = core.at(None);
                    let attrs = match core.plain_attributes(&e) {
                        Ok(a) => a,
                        Err(err) => return self.fail(err),
                    };
                    let count = core::number(&at, &attrs, "count");
                    let total = core::number(&at, &attrs, "totalAmount");
                    match (count, total) {
                        (Ok(c), Ok(t)) => self.trailer = Some((c, i128::from(t), at)),
                        (Err(err), _) | (_, Err(err)) => return self.fail(err),
                    }
                }
                Step::Record(e) => {
                    self.records += 1;
                    let at = core.at(Some(self.records));
                    let mut texts = Texts::new();
                    for attr in TX_ATTRIBUTES {
                        texts.declare(attr.slot, attr.name);
                    }
                    let walked = core.each_attribute(&e, |key, value| {
                        if let Some(attr) = TX_ATTRIBUTES.iter().find(|a| a.name == key) {
                            texts.set(attr.slot, attr.name, value);
                        }
                        Ok(())
                    });
                    if let Err(err) = walked {
                        return self.fail(err);
                    }
                    let amount = fields::tally_amount(&texts);
                    let sender = self.meta.sender.as_str();
                    let built = fields::build(codec, &texts, &at, Some(sender));
                    self.tally.add(amount);
                    return Some(built);
                }
            }
        }
    }
}

impl<R: BufRead> TxStream for Reader<'_, R> {
    fn meta(&self) -> &FileMeta {
        &self.meta
    }

    fn raw_record(&self) -> Option<std::borrow::Cow<'_, [u8]>> {
        (self.records > 0).then(|| std::borrow::Cow::Owned(core::element_text(&self.buf)))
    }

    fn finish(&mut self) -> Result<FileSummary> {
        while self.next().is_some() {}
        if let Some(e) = &self.fatal {
            return Err(e.clone());
        }
        let (count, total, at) = self
            .trailer
            .clone()
            .ok_or_else(|| self.core.envelope("Trailer", "missing"))?;
        self.tally
            .check(&at, ("count", "totalAmount"), count, total)?;
        Ok(FileSummary {
            meta: self.meta.clone(),
            records: self.tally.count,
            total_fen: self.tally.total_fen(),
        })
    }
}
