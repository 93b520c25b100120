//! A participant's statement, `camt.053`-style: opening balance 0, one entry per statement
//! line (credit or debit), closing balance = the net position.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use super::Statement;
use crate::error::{Error, Result};
use crate::money::yuan;

fn io(e: std::io::Error) -> Error {
    Error::Output {
        what: "camt.053",
        detail: e.to_string(),
    }
}

fn text<W: std::io::Write>(w: &mut Writer<W>, name: &str, value: &str) -> std::io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(value))?;
    Ok(())
}

fn amount<W: std::io::Write>(w: &mut Writer<W>, fen: i64) -> std::io::Result<()> {
    w.create_element("Amt")
        .with_attribute(("Ccy", "CNY"))
        .write_text_content(BytesText::new(&yuan(fen.abs())))?;
    text(w, "CdtDbtInd", if fen < 0 { "DBIT" } else { "CRDT" })
}

fn balance<W: std::io::Write>(
    w: &mut Writer<W>,
    code: &str,
    fen: i64,
    day: &str,
) -> std::io::Result<()> {
    w.create_element("Bal").write_inner_content(|w| {
        w.create_element("Tp").write_inner_content(|w| {
            w.create_element("CdOrPrtry")
                .write_inner_content(|w| text(w, "Cd", code))?;
            Ok(())
        })?;
        amount(w, fen)?;
        w.create_element("Dt")
            .write_inner_content(|w| text(w, "Dt", day))?;
        Ok(())
    })?;
    Ok(())
}

/// Writes the statement as a `camt.053`-style document.
pub fn write_camt053(s: &Statement) -> Result<Vec<u8>> {
    let day = s.day.to_string();
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .map_err(io)?;
    w.create_element("Document")
        .with_attribute(("xmlns", "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"))
        .write_inner_content(|w| {
            w.create_element("BkToCstmrStmt").write_inner_content(|w| {
                w.create_element("GrpHdr").write_inner_content(|w| {
                    text(w, "MsgId", &format!("HUTONG-STMT-{day}-{}", s.participant))?;
                    text(
                        w,
                        "CreDtTm",
                        &s.created.format("%Y-%m-%dT%H:%M:%S").to_string(),
                    )
                })?;
                w.create_element("Stmt").write_inner_content(|w| {
                    text(w, "Id", &format!("{day}-{}", s.participant))?;
                    text(
                        w,
                        "CreDtTm",
                        &s.created.format("%Y-%m-%dT%H:%M:%S").to_string(),
                    )?;
                    w.create_element("Acct").write_inner_content(|w| {
                        w.create_element("Id").write_inner_content(|w| {
                            w.create_element("Othr")
                                .write_inner_content(|w| text(w, "Id", &s.participant))?;
                            Ok(())
                        })?;
                        text(w, "Ccy", "CNY")
                    })?;
                    balance(w, "OPBD", 0, &day)?;
                    balance(w, "CLBD", s.net_fen, &day)?;
                    w.create_element("TxsSummry").write_inner_content(|w| {
                        w.create_element("TtlNtries").write_inner_content(|w| {
                            text(w, "NbOfNtries", &s.lines.len().to_string())?;
                            text(w, "Sum", &yuan(s.total_credit_fen + s.total_debit_fen))?;
                            w.create_element("TtlNetNtry")
                                .write_inner_content(|w| amount(w, s.net_fen))?;
                            Ok(())
                        })?;
                        w.create_element("TtlCdtNtries")
                            .write_inner_content(|w| text(w, "Sum", &yuan(s.total_credit_fen)))?;
                        w.create_element("TtlDbtNtries")
                            .write_inner_content(|w| text(w, "Sum", &yuan(s.total_debit_fen)))?;
                        Ok(())
                    })?;
                    for (i, l) in s.lines.iter().enumerate() {
                        w.create_element("Ntry").write_inner_content(|w| {
                            text(w, "NtryRef", &format!("{}", i + 1))?;
                            amount(w, l.credit_fen - l.debit_fen)?;
                            w.create_element("Sts")
                                .write_inner_content(|w| text(w, "Cd", "BOOK"))?;
                            w.create_element("BookgDt")
                                .write_inner_content(|w| text(w, "Dt", &day))?;
                            w.create_element("BkTxCd").write_inner_content(|w| {
                                w.create_element("Prtry")
                                    .write_inner_content(|w| text(w, "Cd", l.kind.code()))?;
                                Ok(())
                            })?;
                            w.create_element("NtryDtls").write_inner_content(|w| {
                                w.create_element("TxDtls").write_inner_content(|w| {
                                    w.create_element("Refs")
                                        .write_inner_content(|w| text(w, "Prtry", &l.reference))?;
                                    w.create_element("RltdPties").write_inner_content(|w| {
                                        w.create_element("Cdtr").write_inner_content(|w| {
                                            text(w, "Nm", &l.counterparty)
                                        })?;
                                        Ok(())
                                    })?;
                                    text(w, "AddtlTxInf", &l.description)
                                })?;
                                Ok(())
                            })?;
                            text(w, "AddtlNtryInf", &format!("{} transactions", l.count))
                        })?;
                    }
                    Ok(())
                })?;
                Ok(())
            })?;
            Ok(())
        })
        .map_err(io)?;
    Ok(w.into_inner())
}
