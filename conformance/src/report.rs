//! Reports of a run: a text trace, JUnit XML for CI systems and a self-contained HTML page for
//! people. Everything is written to a [`Write`]; the caller decides where it goes.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::Duration;

use card_standards::{Scheme, StatusWord};
use quick_xml::escape::escape;

use crate::reader::TraceEvent;
use crate::runner::{CaseReport, Report, Summary, Verdict};

fn spaced_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{b:02X}");
    }
    s
}

/// One line per command, response, reset or note:
/// `> 80 5C 00 02 04  GET BALANCE` / `< 00 00 27 10  9000 (success)`.
pub fn format_trace(trace: &[TraceEvent]) -> String {
    let mut out = String::new();
    for event in trace {
        match event {
            TraceEvent::Exchange {
                command,
                name,
                response,
            } => {
                let _ = writeln!(out, "> {}  {name}", spaced_hex(command));
                match response {
                    Some(r) if r.len() >= 2 => {
                        let (data, sw) = r.split_at(r.len() - 2);
                        let sw = StatusWord::from_bytes(sw[0], sw[1]);
                        if data.is_empty() {
                            let _ = writeln!(out, "< {sw}");
                        } else {
                            let _ = writeln!(out, "< {}  {sw}", spaced_hex(data));
                        }
                    }
                    Some(r) => {
                        let _ = writeln!(out, "< {} (no status word)", spaced_hex(r));
                    }
                    None => out.push_str("< (no response)\n"),
                }
            }
            TraceEvent::Reset => out.push_str("* card reset\n"),
            TraceEvent::Note(text) => {
                let _ = writeln!(out, "# {text}");
            }
            TraceEvent::ReaderError(text) => {
                let _ = writeln!(out, "! {text}");
            }
        }
    }
    out
}

fn summary_of<'a>(cases: impl Iterator<Item = &'a CaseReport>) -> Summary {
    let mut s = Summary::default();
    for c in cases {
        match c.verdict {
            Verdict::Passed => s.passed += 1,
            Verdict::Failed => s.failed += 1,
            Verdict::Skipped => s.skipped += 1,
        }
    }
    s
}

/// Seconds with three decimals, as JUnit's `time` (xUnit's `SUREFIRE_TIME` allows no more).
fn seconds(d: Duration) -> String {
    format!("{}.{:03}", d.as_secs(), d.subsec_millis())
}

/// Writes the report as JUnit XML that validates against Jenkins' JUnit schemas (junit-4 and
/// the xUnit plugin's junit-10, in `conformance/xsd/`): one `<testsuite>` per scheme with its
/// counts, `time` and a `timestamp` carrying the run clock's UTC offset (+08:00, China Standard
/// Time); one `<testcase>` per case with its `time`, a `<skipped>` (the reason as its text) or a
/// `<failure>`, and the APDU trace in `<system-out>`. `<testsuites>` carries no skipped count:
/// neither schema allows one there.
pub fn write_junit(report: &Report, out: &mut impl Write) -> io::Result<()> {
    let total = report.summary();
    let total_time: Duration = report.cases.iter().map(|c| c.duration).sum();
    let timestamp = format!("{}+08:00", report.started.format("%Y-%m-%dT%H:%M:%S"));
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="hutong conformance" tests="{}" failures="{}" errors="0" time="{}">"#,
        report.cases.len(),
        total.failed,
        seconds(total_time)
    )?;
    for scheme in Scheme::ALL {
        let cases: Vec<&CaseReport> = report.cases.iter().filter(|c| c.scheme == scheme).collect();
        if cases.is_empty() {
            continue;
        }
        let s = summary_of(cases.iter().copied());
        let time: Duration = cases.iter().map(|c| c.duration).sum();
        writeln!(
            out,
            r#"  <testsuite name="conformance.{scheme}" tests="{}" failures="{}" errors="0" skipped="{}" time="{}" timestamp="{timestamp}">"#,
            cases.len(),
            s.failed,
            s.skipped,
            seconds(time),
        )?;
        writeln!(
            out,
            r#"    <properties><property name="target" value="{}"/></properties>"#,
            escape(report.target.as_str())
        )?;
        for case in cases {
            let name = format!("{} {}", case.id, case.title);
            writeln!(
                out,
                r#"    <testcase classname="conformance.{scheme}" name="{}" time="{}">"#,
                escape(name.as_str()),
                seconds(case.duration)
            )?;
            let message = case.message.as_deref().unwrap_or("");
            match case.verdict {
                Verdict::Passed => {}
                Verdict::Failed => writeln!(
                    out,
                    r#"      <failure message="{}" type="conformance">{}</failure>"#,
                    escape(message),
                    escape(format!("{message}\n{}", case.reference).as_str())
                )?,
                Verdict::Skipped => writeln!(out, "      <skipped>{}</skipped>", escape(message))?,
            }
            if !case.trace.is_empty() {
                writeln!(
                    out,
                    "      <system-out>{}</system-out>",
                    escape(format_trace(&case.trace).as_str())
                )?;
            }
            writeln!(out, "    </testcase>")?;
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem;color:#1d2329;max-width:75rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccd3da}
.meta{color:#58626d}.badge{display:inline-block;min-width:3rem;text-align:center;border-radius:.25rem;padding:.05rem .4rem;font-weight:600;font-size:.8rem;color:#fff}
.PASS{background:#2e7d32}.FAIL{background:#c62828}.SKIP{background:#8d6e63}
table{border-collapse:collapse;width:100%;font-size:.85rem}td,th{border-bottom:1px solid #e3e7eb;padding:.25rem .4rem;text-align:left;vertical-align:top}
details{border:1px solid #e3e7eb;border-radius:.3rem;margin:.4rem 0;padding:.3rem .6rem}summary{cursor:pointer}
.ref{color:#58626d;font-size:.85rem}.msg{color:#c62828;font-weight:600;white-space:pre-wrap}
code,.apdu{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.8rem}
.note td{color:#58626d;font-style:italic}.bad{color:#c62828}.ok{color:#2e7d32}
";

fn html_trace(trace: &[TraceEvent], out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "<table><tr><th>#</th><th>command</th><th>C-APDU</th><th>response data</th><th>SW</th></tr>"
    )?;
    let mut n = 0;
    for event in trace {
        match event {
            TraceEvent::Exchange {
                command,
                name,
                response,
            } => {
                n += 1;
                let (data, sw) = match response {
                    Some(r) if r.len() >= 2 => {
                        let (d, sw) = r.split_at(r.len() - 2);
                        (d.to_vec(), Some(StatusWord::from_bytes(sw[0], sw[1])))
                    }
                    _ => (Vec::new(), None),
                };
                let sw_cell = match sw {
                    Some(sw) => format!(
                        r#"<span class="{}">{}</span>"#,
                        if sw.is_ok() { "ok" } else { "bad" },
                        escape(sw.to_string().as_str())
                    ),
                    None => r#"<span class="bad">no response</span>"#.to_string(),
                };
                writeln!(
                    out,
                    r#"<tr><td>{n}</td><td>{}</td><td class="apdu">{}</td><td class="apdu">{}</td><td>{sw_cell}</td></tr>"#,
                    escape(*name),
                    spaced_hex(command),
                    spaced_hex(&data)
                )?;
            }
            TraceEvent::Reset => writeln!(
                out,
                r#"<tr class="note"><td></td><td colspan="4">card reset (power cycle)</td></tr>"#
            )?,
            TraceEvent::Note(text) => writeln!(
                out,
                r#"<tr class="note"><td></td><td colspan="4">{}</td></tr>"#,
                escape(text.as_str())
            )?,
            TraceEvent::ReaderError(text) => writeln!(
                out,
                r#"<tr class="note"><td></td><td colspan="4" class="bad">{}</td></tr>"#,
                escape(text.as_str())
            )?,
        }
    }
    writeln!(out, "</table>")
}

/// Writes the report as one self-contained HTML page (inline CSS, no scripts, no external
/// resources): the summary, a table of every case, then each case with its verdict, reference,
/// failure message and APDU trace. Failed cases are open, others folded.
pub fn write_html(report: &Report, out: &mut impl Write) -> io::Result<()> {
    let total = report.summary();
    writeln!(
        out,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>hutong conformance report</title><style>{STYLE}</style></head><body>
<h1>hutong conformance report</h1>
<p class="meta">Target: {}<br>Run clock: {}<br><strong>{}</strong></p>"#,
        escape(report.target.as_str()),
        report.started.format("%Y-%m-%d %H:%M:%S"),
        escape(total.to_string().as_str())
    )?;
    writeln!(
        out,
        "<table><tr><th>verdict</th><th>case</th><th>scheme</th><th>title</th></tr>"
    )?;
    for case in &report.cases {
        let label = case.verdict.label();
        writeln!(
            out,
            r##"<tr><td><span class="badge {label}">{label}</span></td><td><a href="#{id}">{id}</a></td><td>{}</td><td>{}</td></tr>"##,
            case.scheme,
            escape(case.title),
            id = escape(case.id.as_str())
        )?;
    }
    writeln!(out, "</table>")?;
    for scheme in Scheme::ALL {
        let cases: Vec<&CaseReport> = report.cases.iter().filter(|c| c.scheme == scheme).collect();
        if cases.is_empty() {
            continue;
        }
        let s = summary_of(cases.iter().copied());
        writeln!(
            out,
            "<h2>{} — {}</h2>",
            scheme.profile().name,
            escape(s.to_string().as_str())
        )?;
        for case in cases {
            let label = case.verdict.label();
            writeln!(
                out,
                r#"<details id="{id}"{open}><summary><span class="badge {label}">{label}</span> <strong>{id}</strong> {}</summary>"#,
                escape(case.title),
                id = escape(case.id.as_str()),
                open = if case.verdict == Verdict::Failed {
                    " open"
                } else {
                    ""
                }
            )?;
            writeln!(out, r#"<p class="ref">{}</p>"#, escape(case.reference))?;
            if let Some(message) = &case.message {
                let class = if case.verdict == Verdict::Failed {
                    "msg"
                } else {
                    "ref"
                };
                writeln!(
                    out,
                    r#"<p class="{class}">{}</p>"#,
                    escape(message.as_str())
                )?;
            }
            if !case.trace.is_empty() {
                html_trace(&case.trace, out)?;
            }
            writeln!(out, "</details>")?;
        }
    }
    writeln!(out, "</body></html>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn report() -> Report {
        let exchange = TraceEvent::Exchange {
            command: vec![0x80, 0x5C, 0x00, 0x02, 0x04],
            name: "GET BALANCE",
            response: Some(vec![0x00, 0x00, 0x27, 0x10, 0x90, 0x00]),
        };
        Report {
            target: "simulated <cards> & \"keys\"".into(),
            started: NaiveDate::from_ymd_opt(2026, 11, 22)
                .unwrap()
                .and_hms_opt(8, 0, 0)
                .unwrap(),
            cases: vec![
                CaseReport {
                    id: "MOT-01".into(),
                    title: "first <case>",
                    scheme: Scheme::Mot,
                    reference: "JT/T 978 & friends",
                    verdict: Verdict::Passed,
                    message: None,
                    trace: vec![exchange.clone(), TraceEvent::Reset],
                    duration: Duration::from_micros(12_345),
                },
                CaseReport {
                    id: "MOT-02".into(),
                    title: "second",
                    scheme: Scheme::Mot,
                    reference: "ISO",
                    verdict: Verdict::Failed,
                    message: Some("expected 9000, got 6985 <oops>".into()),
                    trace: vec![
                        TraceEvent::Note("a note".into()),
                        TraceEvent::Exchange {
                            command: vec![0x80, 0x54],
                            name: "(not a command)",
                            response: None,
                        },
                    ],
                    duration: Duration::from_millis(1_500),
                },
                CaseReport {
                    id: "PBOC-03".into(),
                    title: "third",
                    scheme: Scheme::Pboc,
                    reference: "ISO",
                    verdict: Verdict::Skipped,
                    message: Some("needs a blocked card".into()),
                    trace: vec![],
                    duration: Duration::ZERO,
                },
            ],
        }
    }

    #[test]
    fn text_trace_shows_hex_names_and_status_meanings() {
        let text = format_trace(&report().cases[0].trace);
        assert_eq!(
            text,
            "> 80 5C 00 02 04  GET BALANCE\n< 00 00 27 10  9000 (success)\n* card reset\n"
        );
    }

    #[test]
    fn junit_counts_verdicts_per_scheme_and_escapes_text() {
        let mut out = Vec::new();
        write_junit(&report(), &mut out).unwrap();
        let xml = String::from_utf8(out).unwrap();
        assert!(xml.contains(
            r#"<testsuites name="hutong conformance" tests="3" failures="1" errors="0" time="1.512">"#
        ));
        assert!(xml.contains(
            r#"<testsuite name="conformance.mot" tests="2" failures="1" errors="0" skipped="0" time="1.512" timestamp="2026-11-22T08:00:00+08:00">"#
        ));
        assert!(xml.contains(r#"name="MOT-01 first &lt;case&gt;" time="0.012">"#));
        assert!(xml.contains(r#"<failure message="expected 9000, got 6985 &lt;oops&gt;""#));
        assert!(xml.contains("<skipped>needs a blocked card</skipped>"));
        assert!(xml.contains(r#"skipped="1" time="0.000""#));
        assert!(xml.contains("first &lt;case&gt;"));
        // Well-formed: quick-xml reads it to the end.
        let mut reader = quick_xml::Reader::from_str(&xml);
        let mut depth = 0i32;
        loop {
            match reader.read_event().unwrap() {
                quick_xml::events::Event::Start(_) => depth += 1,
                quick_xml::events::Event::End(_) => depth -= 1,
                quick_xml::events::Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(depth, 0);
    }

    #[test]
    fn html_is_self_contained_and_opens_failed_cases() {
        let mut out = Vec::new();
        write_html(&report(), &mut out).unwrap();
        let html = String::from_utf8(out).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains(r#"<details id="MOT-02" open>"#));
        assert!(html.contains(r#"<details id="MOT-01">"#));
        assert!(html.contains("simulated &lt;cards&gt; &amp; &quot;keys&quot;"));
        assert!(html.contains("1 passed, 1 failed, 1 skipped"));
        assert!(
            !html.contains("<script") && !html.contains("http://") && !html.contains("https://")
        );
        assert!(html.contains("9000 (success)"));
    }
}
