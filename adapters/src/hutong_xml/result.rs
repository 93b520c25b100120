//! `<ResultFile xmlns="urn:hutong:result:1">`: what an issuer-side partner sends back for the
//! records the hub routed to it — one confirmation or rejection per record, with its reason
//! code, and the partner's own totals for the settlement day. Read and written as a stream.
//!
//! ```xml
//! <ResultFile xmlns="urn:hutong:result:1" sender="MOHURD" seq="9822001"
//!             created="2026-11-23T02:00:00" receiver="HUB" day="2026-11-22">
//!   <Result scheme="mohurd" issuer="0574" city="3150" card="03150200000000000042" cardSeq="17"
//!           kind="composite_purchase" terminal="370201000012" terminalSeq="123" amount="200"
//!           status="accepted"/>
//!   <Result scheme="mohurd" issuer="0574" city="3150" card="03150200000000000042" cardSeq="18"
//!           kind="purchase" terminal="370205000003" terminalSeq="88" amount="1500"
//!           status="rejected" code="R02" reason="TAC does not verify"/>
//!   <Totals count="2" amount="1700" accepted="1" acceptedAmount="200" rejected="1"
//!           rejectedAmount="1500"/>
//! </ResultFile>
//! ```
//!
//! A `<Result>` names its transaction by the natural key of [`CanonicalTx`](card_standards::CanonicalTx)
//! (`scheme issuer city card cardSeq kind terminal terminalSeq`) and carries the amount the
//! partner holds for it, so that the hub can match it record by record and find amounts that
//! differ. `<Totals>` is required: `count` and `amount` over every `<Result>`, and (optional on
//! reading, always written) the accepted and rejected parts. A reader checks the totals against
//! the `<Result>` elements (`F02`); the hub compares them with what it sent.
//!
//! The XSD is `adapters/schemas/result.xsd`; the field table is in
//! `docs/formats/hutong-xml.md`. The result files of the other formats (MOHURD 下发包 receipts,
//! T-Union and bank acknowledgements) are a later step: for now every partner's results are
//! written in this format.

use std::fmt::Write as _;
use std::io::{BufRead, Write};

use card_standards::{
    CardSerial, CityCode, IssuerCode, IssuerId, NaturalKey, Scheme, TerminalId, TxKind,
};
use chrono::NaiveDate;

use super::core::{self, Core, Names, Step};
use super::reader::read_meta;
use super::writer::{attr, root_attributes};
use crate::Format;
use crate::error::{Error, Location, Result};
use crate::stream::{FileMeta, ReadOptions};

/// The namespace of result files.
pub const RESULT_NAMESPACE: &str = "urn:hutong:result:1";

const NAMES: Names = Names {
    namespace: RESULT_NAMESPACE,
    root: "ResultFile",
    record: "Result",
    trailer: "Totals",
    trailer_required: true,
};

/// Errors name the file as a `hutong-xml` file (a result file is one of its documents).
const FORMAT: Format = Format::HutongXml;

/// The transaction kinds a `<Result kind>` may name, with their names.
const KINDS: [TxKind; 6] = [
    TxKind::Purchase,
    TxKind::CompositePurchase,
    TxKind::Load,
    TxKind::Unload,
    TxKind::CashWithdrawal,
    TxKind::OverdraftUpdate,
];

/// Whether a file's first bytes start a result file (`<ResultFile>` as the root element).
/// [`crate::detect`] names transaction and blacklist formats only; a hub that takes result
/// files on the same channel asks this first.
pub fn is_result_file(first: &[u8]) -> bool {
    super::root_element(first).as_deref() == Some("ResultFile")
}

/// Whether the partner took the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// `accepted`: the partner confirms the record and will settle it.
    Accepted,
    /// `rejected`: the partner refuses the record (`code` says why).
    Rejected,
}

impl Status {
    /// `accepted` or `rejected`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Accepted => "accepted",
            Status::Rejected => "rejected",
        }
    }
}

/// One `<Result>`: the partner's answer for one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultEntry {
    /// The card's scheme.
    pub scheme: Scheme,
    /// The card's issuer and issuer city (the card's own city code).
    pub issuer: IssuerId,
    /// The card's application serial.
    pub card: CardSerial,
    /// The card counter as the card returned it in INITIALIZE.
    pub card_seq: u16,
    /// What the transaction did.
    pub kind: TxKind,
    /// The terminal (PSAM) number.
    pub terminal: TerminalId,
    /// The terminal's transaction counter.
    pub terminal_seq: u32,
    /// The amount the partner holds for the transaction, fen.
    pub amount_fen: i64,
    /// Accepted or rejected.
    pub status: Status,
    /// The partner's reason code (required for a rejection; hutong's own codes such as `R02`
    /// when the partner uses them).
    pub code: Option<String>,
    /// The partner's reason, free text.
    pub reason: Option<String>,
}

impl ResultEntry {
    /// The natural key of the transaction the result is about.
    pub fn natural_key(&self) -> NaturalKey {
        NaturalKey {
            scheme: self.scheme,
            issuer: self.issuer,
            card_serial: self.card,
            card_seq: self.card_seq,
            kind: self.kind,
            terminal: self.terminal,
            terminal_seq: self.terminal_seq,
        }
    }
}

/// The attributes of `<Result>` (name, required, meaning), in writing order.
pub const RESULT_ATTRIBUTES: &[(&str, bool, &str)] = &[
    (
        "scheme",
        true,
        "card's scheme: `local`, `mohurd`, `mot`, `pboc`",
    ),
    ("issuer", true, "card issuer's code, 4 hex digits"),
    (
        "city",
        true,
        "card issuer's city code as the card stores it, 4 digits",
    ),
    ("card", true, "application serial, 20 hex digits"),
    (
        "cardSeq",
        true,
        "card counter as the card returned it in INITIALIZE",
    ),
    (
        "kind",
        true,
        "`purchase`, `composite_purchase`, `load`, `unload`, `cash_withdrawal`, `overdraft_update`",
    ),
    ("terminal", true, "PSAM terminal number, 12 hex digits"),
    ("terminalSeq", true, "PSAM transaction counter"),
    ("amount", true, "the amount the partner holds, fen"),
    ("status", true, "`accepted` or `rejected`"),
    (
        "code",
        false,
        "reason code; required when `status` is `rejected`",
    ),
    ("reason", false, "reason, free text"),
];

/// The partner's totals (`<Totals>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    /// Number of `<Result>` elements.
    pub count: u64,
    /// Sum of their amounts, fen.
    pub amount_fen: i64,
    /// Accepted results and their amount (`accepted`, `acceptedAmount`); optional on reading.
    pub accepted: Option<(u64, i64)>,
    /// Rejected results and their amount (`rejected`, `rejectedAmount`); optional on reading.
    pub rejected: Option<(u64, i64)>,
}

/// Running sums of the results read or written.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    count: u64,
    amount: i128,
    accepted: u64,
    accepted_amount: i128,
    rejected: u64,
    rejected_amount: i128,
}

impl Tally {
    fn add(&mut self, e: &ResultEntry) {
        let a = i128::from(e.amount_fen);
        self.count += 1;
        self.amount += a;
        match e.status {
            Status::Accepted => {
                self.accepted += 1;
                self.accepted_amount += a;
            }
            Status::Rejected => {
                self.rejected += 1;
                self.rejected_amount += a;
            }
        }
    }

    fn totals(&self) -> Totals {
        let fen = |v: i128| i64::try_from(v).unwrap_or(i64::MAX);
        Totals {
            count: self.count,
            amount_fen: fen(self.amount),
            accepted: Some((self.accepted, fen(self.accepted_amount))),
            rejected: Some((self.rejected, fen(self.rejected_amount))),
        }
    }
}

/// What a reader found at the end of a result file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultSummary {
    /// The root's `sender`, `seq`, `created` and `receiver`.
    pub meta: FileMeta,
    /// The settlement day the results are for (the root's `day`).
    pub day: NaiveDate,
    /// The totals as the partner declared them (checked against the results).
    pub totals: Totals,
}

/// A reader of one `<ResultFile>`: an iterator of results. Result-level problems are `R07`
/// (or `R05` for an amount out of range) and the next item is the next result; envelope
/// problems are `F01` and the iterator ends. [`Reader::finish`] checks the `<Totals>` (`F02`).
pub struct Reader<R> {
    core: Core<R>,
    buf: Vec<u8>,
    meta: FileMeta,
    day: NaiveDate,
    results: u64,
    tally: Tally,
    totals: Option<(Totals, Location)>,
    fatal: Option<Error>,
    done: bool,
}

impl<R> std::fmt::Debug for Reader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("result::Reader")
            .field("meta", &self.meta)
            .field("day", &self.day)
            .field("results", &self.results)
            .finish_non_exhaustive()
    }
}

/// Opens a result file: reads up to the root element and checks its attributes (`F01`).
pub fn reader<R: BufRead>(input: R, opts: ReadOptions<'_>) -> Result<Reader<R>> {
    let (core, attrs) = Core::open(input, NAMES, opts.file)?;
    let at = core.at(None);
    let meta = read_meta(&at, &attrs)?;
    let day_text = core::required(&at, &attrs, "day")?;
    let day = NaiveDate::parse_from_str(day_text, "%Y-%m-%d")
        .ok()
        .filter(|_| day_text.len() == 10)
        .ok_or_else(|| {
            Error::envelope(
                at.clone(),
                "day",
                format!("expected a date YYYY-MM-DD (value {day_text:?})"),
            )
        })?;
    Ok(Reader {
        core,
        buf: Vec::new(),
        meta,
        day,
        results: 0,
        tally: Tally::default(),
        totals: None,
        fatal: None,
        done: false,
    })
}

fn decimal<T: std::str::FromStr>(
    at: &Location,
    name: &'static str,
    text: &str,
    max: &str,
) -> Result<T> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::bad_field(
            at.clone(),
            name,
            text,
            "expected a decimal number",
        ));
    }
    text.parse::<T>().map_err(|_| Error::OutOfRange {
        at: at.clone(),
        field: name,
        value: crate::error::clip(text),
        reason: format!("must be between 0 and {max}"),
    })
}

fn parse_result(at: &Location, attrs: &[(String, String)]) -> Result<ResultEntry> {
    let get = |name: &'static str| {
        core::optional(attrs, name).ok_or_else(|| Error::bad_field(at.clone(), name, "", "missing"))
    };
    let bad = |name: &'static str, v: &str, why: &str| Error::bad_field(at.clone(), name, v, why);
    let scheme_t = get("scheme")?;
    let scheme = scheme_t
        .parse::<Scheme>()
        .map_err(|e| bad("scheme", scheme_t, &e.to_string()))?;
    let issuer_t = get("issuer")?;
    let issuer_code: IssuerCode = issuer_t
        .parse()
        .map_err(|_| bad("issuer", issuer_t, "expected 4 hexadecimal digits"))?;
    let city_t = get("city")?;
    if city_t.len() != 4 || !city_t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("city", city_t, "expected 4 decimal digits"));
    }
    let city_code: CityCode = city_t
        .parse()
        .map_err(|_| bad("city", city_t, "expected 4 decimal digits"))?;
    let card_t = get("card")?;
    let card: CardSerial = card_t
        .parse()
        .map_err(|_| bad("card", card_t, "expected 20 hexadecimal digits"))?;
    let card_seq: u16 = decimal(at, "cardSeq", get("cardSeq")?, "65535")?;
    let kind_t = get("kind")?;
    let kind = KINDS
        .into_iter()
        .find(|k| k.as_str() == kind_t)
        .ok_or_else(|| bad("kind", kind_t, "not a transaction kind"))?;
    let terminal_t = get("terminal")?;
    let terminal: TerminalId = terminal_t
        .parse()
        .map_err(|_| bad("terminal", terminal_t, "expected 12 hexadecimal digits"))?;
    let terminal_seq: u32 = decimal(at, "terminalSeq", get("terminalSeq")?, "4294967295")?;
    let amount_fen: i64 = decimal(at, "amount", get("amount")?, "9223372036854775807")?;
    let status_t = get("status")?;
    let status = match status_t {
        "accepted" => Status::Accepted,
        "rejected" => Status::Rejected,
        _ => return Err(bad("status", status_t, "expected accepted or rejected")),
    };
    let code = core::optional(attrs, "code").map(str::to_string);
    if status == Status::Rejected && code.as_deref().is_none_or(str::is_empty) {
        return Err(bad("code", "", "a rejection needs a reason code"));
    }
    let reason = core::optional(attrs, "reason").map(str::to_string);
    Ok(ResultEntry {
        scheme,
        issuer: IssuerId {
            issuer_code,
            city_code,
        },
        card,
        card_seq,
        kind,
        terminal,
        terminal_seq,
        amount_fen,
        status,
        code,
        reason,
    })
}

fn parse_totals(at: &Location, attrs: &[(String, String)]) -> Result<Totals> {
    let amount = |name: &str| -> Result<i64> {
        let v = core::number(at, attrs, name)?;
        i64::try_from(v).map_err(|_| Error::envelope(at.clone(), name, "too large"))
    };
    let pair = |n: &str, a: &str| -> Result<Option<(u64, i64)>> {
        match (core::optional(attrs, n), core::optional(attrs, a)) {
            (None, None) => Ok(None),
            _ => Ok(Some((core::number(at, attrs, n)?, amount(a)?))),
        }
    };
    Ok(Totals {
        count: core::number(at, attrs, "count")?,
        amount_fen: amount("amount")?,
        accepted: pair("accepted", "acceptedAmount")?,
        rejected: pair("rejected", "rejectedAmount")?,
    })
}

impl<R: BufRead> Reader<R> {
    /// The root's `sender`, `seq`, `created` and `receiver`.
    pub fn meta(&self) -> &FileMeta {
        &self.meta
    }

    /// The settlement day the results are for.
    pub fn day(&self) -> NaiveDate {
        self.day
    }

    fn fail(&mut self, e: Error) -> Option<Result<ResultEntry>> {
        self.done = true;
        self.fatal = Some(e.clone());
        Some(Err(e))
    }

    /// Reads to the end, then checks the envelope (`F01`: broken, or no `<Totals>`) and the
    /// totals against the results read (`F02`). Results that failed to parse count in
    /// `count` but not in the amounts.
    pub fn finish(&mut self) -> Result<ResultSummary> {
        while self.next().is_some() {}
        if let Some(e) = &self.fatal {
            return Err(e.clone());
        }
        let Some((totals, at)) = &self.totals else {
            return Err(self.core.envelope("Totals", "missing"));
        };
        let mismatch = |field: &'static str, stated: i128, actual: i128| {
            (stated != actual).then(|| Error::TrailerMismatch {
                at: at.clone(),
                field,
                stated,
                actual,
            })
        };
        let t = &self.tally;
        let mut checks = vec![
            mismatch("count", totals.count.into(), self.results.into()),
            mismatch("amount", totals.amount_fen.into(), t.amount),
        ];
        if let Some((n, a)) = totals.accepted {
            checks.push(mismatch("accepted", n.into(), t.accepted.into()));
            checks.push(mismatch("acceptedAmount", a.into(), t.accepted_amount));
        }
        if let Some((n, a)) = totals.rejected {
            checks.push(mismatch("rejected", n.into(), t.rejected.into()));
            checks.push(mismatch("rejectedAmount", a.into(), t.rejected_amount));
        }
        if let Some(e) = checks.into_iter().flatten().next() {
            return Err(e);
        }
        Ok(ResultSummary {
            meta: self.meta.clone(),
            day: self.day,
            totals: *totals,
        })
    }
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = Result<ResultEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let Reader { core, buf, .. } = self;
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
                    let totals = core
                        .plain_attributes(&e)
                        .and_then(|attrs| parse_totals(&at, &attrs));
                    match totals {
                        Ok(t) => self.totals = Some((t, at)),
                        Err(err) => return self.fail(err),
                    }
                }
                Step::Record(e) => {
                    self.results += 1;
                    let at = core.at(Some(self.results));
                    let parsed = match core.plain_attributes(&e) {
                        Ok(attrs) => parse_result(&at, &attrs),
                        Err(err) => return self.fail(err),
                    };
                    if let Ok(entry) = &parsed {
                        // `count` is checked against every <Result>, the amounts against the
                        // ones that parsed.
                        self.tally.add(entry);
                    }
                    return Some(parsed);
                }
            }
        }
    }
}

/// A writer of one `<ResultFile>`: the totals are computed while results stream through.
pub struct Writer<W: Write> {
    out: W,
    tally: Tally,
    line: String,
}

impl<W: Write> std::fmt::Debug for Writer<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("result::Writer")
            .field("count", &self.tally.count)
            .finish_non_exhaustive()
    }
}

/// Starts a result file for settlement day `day`: writes the declaration and the root start
/// tag (`sender`, `seq`, `created`, `day`, and `receiver` when the metadata names one).
pub fn writer<W: Write>(mut out: W, meta: &FileMeta, day: NaiveDate) -> Result<Writer<W>> {
    let mut head = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = write!(head, "<ResultFile xmlns=\"{RESULT_NAMESPACE}\"");
    root_attributes(FORMAT, meta, &mut head)?;
    let _ = writeln!(head, " day=\"{}\">", day.format("%Y-%m-%d"));
    out.write_all(head.as_bytes())
        .map_err(|e| Error::output(FORMAT, &e))?;
    Ok(Writer {
        out,
        tally: Tally::default(),
        line: String::new(),
    })
}

impl<W: Write> Writer<W> {
    /// Writes one `<Result/>`. A rejection without a code, a negative amount or a city code
    /// that is not 4 decimal digits is refused (`CannotCarry`) and nothing is written.
    pub fn write(&mut self, e: &ResultEntry) -> Result<()> {
        let refuse = |field: &'static str, reason: String| Error::CannotCarry {
            format: FORMAT,
            field,
            reason,
        };
        let city = e.issuer.city_code.to_string();
        if !city.bytes().all(|b| b.is_ascii_digit()) {
            return Err(refuse("city", format!("{city} is not 4 decimal digits")));
        }
        if e.amount_fen < 0 {
            return Err(refuse("amount", format!("{} is negative", e.amount_fen)));
        }
        if e.status == Status::Rejected && e.code.as_deref().is_none_or(str::is_empty) {
            return Err(refuse("code", "a rejection needs a reason code".into()));
        }
        if !KINDS.contains(&e.kind) {
            return Err(refuse("kind", format!("{} has no name in files", e.kind)));
        }
        let mut l = std::mem::take(&mut self.line);
        l.clear();
        let _ = write!(
            l,
            "  <Result scheme=\"{}\" issuer=\"{}\" city=\"{city}\" card=\"{}\" cardSeq=\"{}\" kind=\"{}\" terminal=\"{}\" terminalSeq=\"{}\" amount=\"{}\" status=\"{}\"",
            e.scheme,
            e.issuer.issuer_code,
            e.card,
            e.card_seq,
            e.kind,
            e.terminal,
            e.terminal_seq,
            e.amount_fen,
            e.status.as_str()
        );
        let mut escaped = Ok(());
        if let Some(code) = &e.code {
            escaped = escaped.and_then(|()| attr(FORMAT, &mut l, "code", code, "code"));
        }
        if let Some(reason) = &e.reason {
            escaped = escaped.and_then(|()| attr(FORMAT, &mut l, "reason", reason, "reason"));
        }
        l.push_str("/>\n");
        let written = escaped.and_then(|()| {
            self.out
                .write_all(l.as_bytes())
                .map_err(|err| Error::output(FORMAT, &err))
        });
        self.line = l;
        written?;
        self.tally.add(e);
        Ok(())
    }

    /// The totals of the results written so far.
    pub fn totals(&self) -> Totals {
        self.tally.totals()
    }

    /// Writes `<Totals>` and closes the root; returns the output and the totals.
    pub fn finish(mut self) -> Result<(W, Totals)> {
        let t = self.tally.totals();
        let (accepted, accepted_amount) = t.accepted.unwrap_or_default();
        let (rejected, rejected_amount) = t.rejected.unwrap_or_default();
        let tail = format!(
            "  <Totals count=\"{}\" amount=\"{}\" accepted=\"{accepted}\" acceptedAmount=\"{accepted_amount}\" rejected=\"{rejected}\" rejectedAmount=\"{rejected_amount}\"/>\n</ResultFile>\n",
            t.count, t.amount_fen
        );
        self.out
            .write_all(tail.as_bytes())
            .and_then(|()| self.out.flush())
            .map_err(|e| Error::output(FORMAT, &e))?;
        Ok((self.out, t))
    }
}
