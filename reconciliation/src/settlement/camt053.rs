//! A participant's statement as ISO 20022 `camt.053.001.08` (valid against its official XSD,
//! `reconciliation/xsd/`): the participant's settlement account, opening balance 0, one
//! entry per statement line (credit or debit), closing balance = the net position.
//!
//! On a credit entry the participant is the creditor and the counterparty the debtor; on a
//! debit entry the reverse. A party whose settlement account is known is written as an agent
//! (`Agt`: BIC and/or clearing-system member id, and the code as `Nm`) with its account;
//! otherwise as a party with its code as `Nm`.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use super::account::{
    SettlementAccount, SettlementAccounts, account_id, at_most, financial_institution, text,
};
use super::{LineKind, Statement};
use crate::error::{Error, Result};
use crate::money::yuan;

/// `Issr` of the proprietary bank transaction codes and the reference types.
const ISSUER: &str = "HUTONG";

fn io(e: std::io::Error) -> Error {
    Error::Output {
        what: "camt.053",
        detail: e.to_string(),
    }
}

/// `Amt` with its currency (`ActiveOrHistoricCurrencyAndAmount`) and `CdtDbtInd`.
fn amount<W: std::io::Write>(w: &mut Writer<W>, fen: i64) -> std::io::Result<()> {
    w.create_element("Amt")
        .with_attribute(("Ccy", "CNY"))
        .write_text_content(BytesText::new(&yuan(fen.abs())))?;
    indicator(w, fen)
}

fn indicator<W: std::io::Write>(w: &mut Writer<W>, fen: i64) -> std::io::Result<()> {
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

/// `Dbtr`/`Cdtr` (a `Party40Choice`), then `DbtrAcct`/`CdtrAcct` when the account is known.
fn party<W: std::io::Write>(
    w: &mut Writer<W>,
    role: &str,
    code: &str,
    account: Option<&SettlementAccount>,
) -> std::io::Result<()> {
    w.create_element(role)
        .write_inner_content(|w| match account {
            Some(a) => {
                w.create_element("Agt")
                    .write_inner_content(|w| financial_institution(w, a, Some(code)))?;
                Ok(())
            }
            None => {
                w.create_element("Pty")
                    .write_inner_content(|w| text(w, "Nm", at_most(code, 140)))?;
                Ok(())
            }
        })?;
    if let Some(a) = account {
        account_id(w, &format!("{role}Acct"), a)?;
    }
    Ok(())
}

/// The `Refs/Prtry/Tp` of a line's reference.
fn reference_type(kind: LineKind) -> &'static str {
    match kind {
        LineKind::Transactions => "HUTONG-TXNS",
        LineKind::Fee => "HUTONG-FEE-RULE",
        LineKind::Adjustment => "HUTONG-ADJUSTMENT",
    }
}

/// Writes the statement as a `camt.053.001.08` document. `accounts` must hold the
/// participant's settlement account ([`Error::NoSettlementAccount`] otherwise); the
/// counterparties' accounts, when there, are named on the entries.
pub fn write_camt053(s: &Statement, accounts: &SettlementAccounts) -> Result<Vec<u8>> {
    let own = accounts
        .get(&s.participant)
        .ok_or_else(|| Error::NoSettlementAccount {
            participant: s.participant.clone(),
        })?;
    let day = s.day.to_string();
    let created = s.created.format("%Y-%m-%dT%H:%M:%S").to_string();
    let credits = s.lines.iter().filter(|l| l.credit_fen > l.debit_fen);
    let credit_count = credits.count();
    let debit_count = s.lines.len() - credit_count;
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .map_err(io)?;
    w.create_element("Document")
        .with_attribute(("xmlns", "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"))
        .write_inner_content(|w| {
            w.create_element("BkToCstmrStmt").write_inner_content(|w| {
                w.create_element("GrpHdr").write_inner_content(|w| {
                    text(
                        w,
                        "MsgId",
                        at_most(&format!("HUTONG-STMT-{day}-{}", s.participant), 35),
                    )?;
                    text(w, "CreDtTm", &created)
                })?;
                w.create_element("Stmt").write_inner_content(|w| {
                    text(w, "Id", &format!("{day}-{}", s.participant))?;
                    text(w, "CreDtTm", &created)?;
                    w.create_element("Acct").write_inner_content(|w| {
                        w.create_element("Id").write_inner_content(|w| {
                            w.create_element("Othr")
                                .write_inner_content(|w| text(w, "Id", &own.account_id))?;
                            Ok(())
                        })?;
                        text(w, "Ccy", "CNY")?;
                        w.create_element("Ownr")
                            .write_inner_content(|w| text(w, "Nm", &s.participant))?;
                        w.create_element("Svcr")
                            .write_inner_content(|w| financial_institution(w, own, None))?;
                        Ok(())
                    })?;
                    balance(w, "OPBD", 0, &day)?;
                    balance(w, "CLBD", s.net_fen, &day)?;
                    w.create_element("TxsSummry").write_inner_content(|w| {
                        w.create_element("TtlNtries").write_inner_content(|w| {
                            text(w, "NbOfNtries", &s.lines.len().to_string())?;
                            text(w, "Sum", &yuan(s.total_credit_fen + s.total_debit_fen))?;
                            // AmountAndDirection35: a plain non-negative number, no currency.
                            w.create_element("TtlNetNtry").write_inner_content(|w| {
                                text(w, "Amt", &yuan(s.net_fen.abs()))?;
                                indicator(w, s.net_fen)
                            })?;
                            Ok(())
                        })?;
                        w.create_element("TtlCdtNtries").write_inner_content(|w| {
                            text(w, "NbOfNtries", &credit_count.to_string())?;
                            text(w, "Sum", &yuan(s.total_credit_fen))
                        })?;
                        w.create_element("TtlDbtNtries").write_inner_content(|w| {
                            text(w, "NbOfNtries", &debit_count.to_string())?;
                            text(w, "Sum", &yuan(s.total_debit_fen))
                        })?;
                        Ok(())
                    })?;
                    for (i, l) in s.lines.iter().enumerate() {
                        let signed = l.credit_fen - l.debit_fen;
                        let (debtor, creditor) = if signed < 0 {
                            (s.participant.as_str(), l.counterparty.as_str())
                        } else {
                            (l.counterparty.as_str(), s.participant.as_str())
                        };
                        w.create_element("Ntry").write_inner_content(|w| {
                            text(w, "NtryRef", &format!("{}", i + 1))?;
                            amount(w, signed)?;
                            w.create_element("Sts")
                                .write_inner_content(|w| text(w, "Cd", "BOOK"))?;
                            w.create_element("BookgDt")
                                .write_inner_content(|w| text(w, "Dt", &day))?;
                            w.create_element("BkTxCd").write_inner_content(|w| {
                                w.create_element("Prtry").write_inner_content(|w| {
                                    text(w, "Cd", l.kind.code())?;
                                    text(w, "Issr", ISSUER)
                                })?;
                                Ok(())
                            })?;
                            w.create_element("NtryDtls").write_inner_content(|w| {
                                w.create_element("TxDtls").write_inner_content(|w| {
                                    if !l.reference.is_empty() {
                                        w.create_element("Refs").write_inner_content(|w| {
                                            w.create_element("Prtry").write_inner_content(|w| {
                                                text(w, "Tp", reference_type(l.kind))?;
                                                text(w, "Ref", at_most(&l.reference, 35))
                                            })?;
                                            Ok(())
                                        })?;
                                    }
                                    w.create_element("RltdPties").write_inner_content(|w| {
                                        party(w, "Dbtr", debtor, accounts.get(debtor))?;
                                        party(w, "Cdtr", creditor, accounts.get(creditor))
                                    })?;
                                    if !l.description.is_empty() {
                                        text(w, "AddtlTxInf", at_most(&l.description, 500))?;
                                    }
                                    Ok(())
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
