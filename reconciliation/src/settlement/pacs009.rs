//! Settlement instructions, `pacs.009`-style: one financial-institution credit transfer per net
//! payer (participant → settlement account) and per net receiver (settlement account →
//! participant), with the group header's count and control sum.

use chrono::{NaiveDate, NaiveDateTime};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::money::yuan;
use crate::positions::Clearing;

/// One transfer the settlement bank should make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettlementInstruction {
    /// Instruction id, unique per message.
    pub id: String,
    /// The account debited (a participant, or the settlement account).
    pub debtor: String,
    /// The account credited.
    pub creditor: String,
    /// Amount, fen (positive).
    pub amount_fen: i64,
}

/// The transfers that settle a window's net positions against `settlement_account`.
pub fn settlement_instructions(
    clearing: &Clearing,
    day: NaiveDate,
    settlement_account: &str,
) -> Vec<SettlementInstruction> {
    let mut out = Vec::new();
    for p in clearing.participants.iter().filter(|p| p.net_fen < 0) {
        out.push(SettlementInstruction {
            id: format!("{day}-{}-PAY", p.code),
            debtor: p.code.clone(),
            creditor: settlement_account.to_string(),
            amount_fen: -p.net_fen,
        });
    }
    for p in clearing.participants.iter().filter(|p| p.net_fen > 0) {
        out.push(SettlementInstruction {
            id: format!("{day}-{}-RCV", p.code),
            debtor: settlement_account.to_string(),
            creditor: p.code.clone(),
            amount_fen: p.net_fen,
        });
    }
    out
}

fn io(e: std::io::Error) -> Error {
    Error::Output {
        what: "pacs.009",
        detail: e.to_string(),
    }
}

fn text<W: std::io::Write>(w: &mut Writer<W>, name: &str, value: &str) -> std::io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(value))?;
    Ok(())
}

fn agent<W: std::io::Write>(w: &mut Writer<W>, role: &str, id: &str) -> std::io::Result<()> {
    w.create_element(role).write_inner_content(|w| {
        w.create_element("FinInstnId").write_inner_content(|w| {
            w.create_element("ClrSysMmbId")
                .write_inner_content(|w| text(w, "MmbId", id))?;
            Ok(())
        })?;
        Ok(())
    })?;
    Ok(())
}

/// Writes the instructions as a `pacs.009`-style document.
pub fn write_pacs009(
    instructions: &[SettlementInstruction],
    day: NaiveDate,
    message_id: &str,
    created: NaiveDateTime,
    settlement_account: &str,
) -> Result<Vec<u8>> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .map_err(io)?;
    let control_sum: i64 = instructions.iter().map(|i| i.amount_fen).sum();
    w.create_element("Document")
        .with_attribute(("xmlns", "urn:iso:std:iso:20022:tech:xsd:pacs.009.001.08"))
        .write_inner_content(|w| {
            w.create_element("FICdtTrf").write_inner_content(|w| {
                w.create_element("GrpHdr").write_inner_content(|w| {
                    text(w, "MsgId", message_id)?;
                    text(
                        w,
                        "CreDtTm",
                        &created.format("%Y-%m-%dT%H:%M:%S").to_string(),
                    )?;
                    text(w, "NbOfTxs", &instructions.len().to_string())?;
                    text(w, "CtrlSum", &yuan(control_sum))?;
                    text(w, "IntrBkSttlmDt", &day.to_string())?;
                    w.create_element("SttlmInf").write_inner_content(|w| {
                        text(w, "SttlmMtd", "CLRG")?;
                        w.create_element("SttlmAcct").write_inner_content(|w| {
                            w.create_element("Id").write_inner_content(|w| {
                                w.create_element("Othr")
                                    .write_inner_content(|w| text(w, "Id", settlement_account))?;
                                Ok(())
                            })?;
                            Ok(())
                        })?;
                        Ok(())
                    })?;
                    Ok(())
                })?;
                for i in instructions {
                    w.create_element("CdtTrfTxInf").write_inner_content(|w| {
                        w.create_element("PmtId").write_inner_content(|w| {
                            text(w, "InstrId", &i.id)?;
                            text(w, "EndToEndId", &i.id)
                        })?;
                        w.create_element("IntrBkSttlmAmt")
                            .with_attribute(("Ccy", "CNY"))
                            .write_text_content(BytesText::new(&yuan(i.amount_fen)))?;
                        agent(w, "Dbtr", &i.debtor)?;
                        agent(w, "Cdtr", &i.creditor)?;
                        w.create_element("RmtInf").write_inner_content(|w| {
                            text(w, "Ustrd", &format!("hutong net settlement {day}"))
                        })?;
                        Ok(())
                    })?;
                }
                Ok(())
            })?;
            Ok(())
        })
        .map_err(io)?;
    Ok(w.into_inner())
}
