//! The envelope walk shared by transaction and blacklist files: root element, record
//! elements, an optional or required trailer, nothing after the root.

use std::borrow::Cow;
use std::io::BufRead;

use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

use crate::error::{Error, Location, Result};
use crate::stream::Bounded;

/// What one step of the walk found.
pub(super) enum Step<'b> {
    /// Nothing of interest (whitespace, a comment, the end of a record element).
    Skip,
    /// A record element (its attributes are the record).
    Record(BytesStart<'b>),
    /// The trailer element.
    Trailer(BytesStart<'b>),
    /// The end of the document, after the root closed.
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Inside the root, before the trailer.
    Body,
    /// Inside a `<Tx>…</Tx>` written with an end tag.
    InElement { trailer: bool },
    /// After the trailer, before `</root>`.
    AfterTrailer,
    /// After `</root>`.
    AfterRoot,
}

/// The names a file kind uses.
#[derive(Debug, Clone, Copy)]
pub(super) struct Names {
    pub(super) namespace: &'static str,
    pub(super) root: &'static str,
    pub(super) record: &'static str,
    pub(super) trailer: &'static str,
    /// Whether a file without the trailer element is malformed.
    pub(super) trailer_required: bool,
}

/// The root element's unprefixed attributes, unescaped.
pub(super) type Attrs = Vec<(String, String)>;

pub(super) struct Core<R> {
    xml: NsReader<Bounded<R>>,
    names: Names,
    file: String,
    state: State,
    pub(super) trailer_seen: bool,
}

impl<R: BufRead> Core<R> {
    /// Reads up to the root element; returns the walker and the root's attributes (unescaped,
    /// unprefixed ones only).
    pub(super) fn open(input: R, names: Names, file: &str) -> Result<(Core<R>, Attrs)> {
        let mut xml = NsReader::from_reader(Bounded::new(input, b'>'));
        xml.config_mut().check_end_names = true;
        let mut core = Core {
            xml,
            names,
            file: file.to_string(),
            state: State::Body,
            trailer_seen: false,
        };
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let ev = core
                .xml
                .read_event_into(&mut buf)
                .map_err(|e| core.syntax(&e))?;
            match ev {
                Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
                Event::Text(t) if is_blank(&t) => {}
                Event::Start(e) => {
                    core.expect_element(&e, names.root)?;
                    let attrs = core.plain_attributes(&e)?;
                    return Ok((core, attrs));
                }
                Event::Empty(e) => {
                    core.expect_element(&e, names.root)?;
                    if names.trailer_required {
                        return Err(
                            core.envelope(names.trailer, "the root element is empty: no trailer")
                        );
                    }
                    let attrs = core.plain_attributes(&e)?;
                    core.state = State::AfterRoot;
                    return Ok((core, attrs));
                }
                Event::Eof => return Err(core.envelope(names.root, "no root element")),
                _ => return Err(core.envelope(names.root, "content before the root element")),
            }
        }
    }

    /// The 1-based line the reader is on.
    pub(super) fn line(&self) -> u64 {
        self.xml.get_ref().line()
    }

    pub(super) fn at(&self, record: Option<u64>) -> Location {
        Location {
            file: self.file.clone(),
            record,
            line: Some(self.line()),
        }
    }

    pub(super) fn envelope(&self, field: &str, reason: impl Into<String>) -> Error {
        Error::envelope(self.at(None), field, reason)
    }

    fn syntax(&self, e: &quick_xml::Error) -> Error {
        self.envelope("xml", format!("not well-formed: {e}"))
    }

    fn expect_element(&self, e: &BytesStart<'_>, local: &str) -> Result<()> {
        let name = e.name();
        let (ns, lname) = self.xml.resolver().resolve_element(name);
        let lname: &str = lname.as_ref();
        let lname = lname.to_string();
        if lname != local {
            return Err(self.envelope(&lname, format!("unexpected element; expected {local}")));
        }
        match ns {
            ResolveResult::Bound(n) if n.0 == self.names.namespace => Ok(()),
            _ => Err(self.envelope(
                &lname,
                format!("element is not in namespace {}", self.names.namespace),
            )),
        }
    }

    /// The unprefixed attributes of an element, unescaped (namespace declarations skipped).
    pub(super) fn plain_attributes(&self, e: &BytesStart<'_>) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        self.each_attribute(e, |k, v| {
            out.push((k.to_string(), v.into_owned()));
            Ok(())
        })?;
        Ok(out)
    }

    /// Calls `f` with each unprefixed attribute's name and unescaped value. Malformed
    /// attributes (duplicates, bad quoting, unknown entities) are well-formedness errors (F01).
    pub(super) fn each_attribute<'e>(
        &self,
        e: &'e BytesStart<'_>,
        mut f: impl FnMut(&str, Cow<'e, str>) -> Result<()>,
    ) -> Result<()> {
        for attr in e.attributes() {
            let attr = attr
                .map_err(|err| self.envelope("xml", format!("not well-formed attribute: {err}")))?;
            let key: &str = attr.key.as_ref();
            if key.starts_with("xmlns") || key.contains(':') {
                continue;
            }
            let value = attr
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|err| self.envelope(key, format!("not well-formed value: {err}")))?;
            if value
                .chars()
                .any(|c| (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
            {
                return Err(self.envelope(key, "a character XML 1.0 does not allow"));
            }
            f(key, value)?;
        }
        Ok(())
    }

    /// Reads one event and says what it was.
    pub(super) fn step<'b>(&mut self, buf: &'b mut Vec<u8>) -> Result<Step<'b>> {
        buf.clear();
        let ev = self.xml.read_event_into(buf).map_err(|e| self.syntax(&e))?;
        let names = self.names;
        match (self.state, ev) {
            (_, Event::Comment(_) | Event::PI(_)) => Ok(Step::Skip),
            (_, Event::Text(t)) if is_blank(&t) => Ok(Step::Skip),
            (State::AfterRoot, Event::Eof) => Ok(Step::End),
            (_, Event::Eof) => Err(self.envelope(
                names.root,
                "the file ends inside the root element (truncated?)",
            )),
            (State::AfterRoot, _) => {
                Err(self.envelope(names.root, "content after the root element"))
            }
            (State::InElement { trailer }, Event::End(_)) => {
                self.state = if trailer {
                    State::AfterTrailer
                } else {
                    State::Body
                };
                Ok(Step::Skip)
            }
            (State::InElement { .. }, _) => {
                Err(self.envelope(names.record, "content inside a record element"))
            }
            (State::Body | State::AfterTrailer, Event::End(_)) => {
                // check_end_names guarantees this closes the root.
                self.state = State::AfterRoot;
                if self.trailer_seen || !names.trailer_required {
                    Ok(Step::Skip)
                } else {
                    Err(self.envelope(names.trailer, "missing"))
                }
            }
            (State::AfterTrailer, Event::Start(e) | Event::Empty(e)) => {
                let lname = local(&e);
                Err(self.envelope(&lname, format!("element after the {}", names.trailer)))
            }
            (State::Body, Event::Start(e)) => {
                let trailer = self.classify(&e)?;
                self.state = State::InElement { trailer };
                Ok(self.found(e, trailer))
            }
            (State::Body, Event::Empty(e)) => {
                let trailer = self.classify(&e)?;
                if trailer {
                    self.state = State::AfterTrailer;
                }
                Ok(self.found(e, trailer))
            }
            (_, _) => Err(self.envelope(names.root, "unexpected content (text, CDATA or entity)")),
        }
    }

    fn found<'b>(&mut self, e: BytesStart<'b>, trailer: bool) -> Step<'b> {
        if trailer {
            self.trailer_seen = true;
            Step::Trailer(e)
        } else {
            Step::Record(e)
        }
    }

    /// Whether a child of the root is the trailer (`true`) or a record (`false`).
    fn classify(&self, e: &BytesStart<'_>) -> Result<bool> {
        let lname = local(e);
        if lname == self.names.record {
            self.expect_element(e, self.names.record)?;
            Ok(false)
        } else if lname == self.names.trailer {
            self.expect_element(e, self.names.trailer)?;
            Ok(true)
        } else {
            Err(self.envelope(
                &lname,
                format!(
                    "unexpected element; expected {} or {}",
                    self.names.record, self.names.trailer
                ),
            ))
        }
    }
}

fn is_blank(t: &quick_xml::events::BytesText<'_>) -> bool {
    let s: &str = t.as_ref();
    s.bytes().all(|b| b.is_ascii_whitespace())
}

fn local(e: &BytesStart<'_>) -> String {
    let name = e.local_name();
    let s: &str = name.as_ref();
    s.to_string()
}

/// An element as it was in the file, from the bytes quick-xml leaves in its buffer (with or
/// without its `<` and `>`, depending on the quick-xml version).
pub(super) fn element_text(inner: &[u8]) -> Vec<u8> {
    if inner.starts_with(b"<") {
        return inner.to_vec();
    }
    let mut out = Vec::with_capacity(inner.len() + 2);
    out.push(b'<');
    out.extend_from_slice(inner);
    out.push(b'>');
    out
}

/// Reads a required decimal attribute of a root or trailer element.
pub(super) fn number(at: &Location, attrs: &[(String, String)], name: &str) -> Result<u64> {
    let v = required(at, attrs, name)?;
    if !v.bytes().all(|b| b.is_ascii_digit()) || v.is_empty() {
        return Err(Error::envelope(
            at.clone(),
            name,
            format!("expected a decimal number (value {v:?})"),
        ));
    }
    v.parse()
        .map_err(|_| Error::envelope(at.clone(), name, format!("too large (value {v:?})")))
}

/// A required attribute of a root or trailer element.
pub(super) fn required<'v>(
    at: &Location,
    attrs: &'v [(String, String)],
    name: &str,
) -> Result<&'v str> {
    attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| Error::envelope(at.clone(), name, "missing"))
}

/// An optional attribute.
pub(super) fn optional<'v>(attrs: &'v [(String, String)], name: &str) -> Option<&'v str> {
    attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}
