//! Settlement instructions as ISO 20022 `pacs.009.001.08` (valid against its official XSD,
//! `reconciliation/xsd/`): one financial-institution credit transfer per net payer
//! (participant → the hub's settlement account) and per net receiver (settlement account →
//! participant), with the group header's count and control sum. Every debtor and creditor is
//! an agent with a BIC and/or a clearing-system member id, and its account.

use chrono::{NaiveDate, NaiveDateTime};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use serde::Serialize;

use super::account::{
    SettlementAccount, SettlementAccounts, account_id, financial_institution, text,
};
use crate::error::{Error, Result};
use crate::money::yuan;
use crate::positions::Clearing;

/// One side of a transfer: a participant's settlement account, or the hub's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettlementParty {
    /// The participant code; `None` for the hub's settlement account.
    pub participant: Option<String>,
    /// The account and its agent.
    pub account: SettlementAccount,
}

/// One transfer the settlement bank should make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettlementInstruction {
    /// Instruction id, unique per message: `{day}-{participant}-PAY` or `-RCV`.
    pub id: String,
    /// The side debited (a participant, or the settlement account).
    pub debtor: SettlementParty,
    /// The side credited.
    pub creditor: SettlementParty,
    /// Amount, fen (positive).
    pub amount_fen: i64,
}

/// The transfers that settle a window's net positions against the hub's `settlement`
/// account. Every participant with a net position other than zero needs its account in
/// `accounts` ([`Error::NoSettlementAccount`] otherwise).
pub fn settlement_instructions(
    clearing: &Clearing,
    day: NaiveDate,
    settlement: &SettlementAccount,
    accounts: &SettlementAccounts,
) -> Result<Vec<SettlementInstruction>> {
    let hub = SettlementParty {
        participant: None,
        account: settlement.clone(),
    };
    let party = |code: &str| -> Result<SettlementParty> {
        let account = accounts
            .get(code)
            .ok_or_else(|| Error::NoSettlementAccount {
                participant: code.to_string(),
            })?;
        Ok(SettlementParty {
            participant: Some(code.to_string()),
            account: account.clone(),
        })
    };
    let mut out = Vec::new();
    for p in clearing.participants.iter().filter(|p| p.net_fen < 0) {
        out.push(SettlementInstruction {
            id: format!("{day}-{}-PAY", p.code),
            debtor: party(&p.code)?,
            creditor: hub.clone(),
            amount_fen: -p.net_fen,
        });
    }
    for p in clearing.participants.iter().filter(|p| p.net_fen > 0) {
        out.push(SettlementInstruction {
            id: format!("{day}-{}-RCV", p.code),
            debtor: hub.clone(),
            creditor: party(&p.code)?,
            amount_fen: p.net_fen,
        });
    }
    Ok(out)
}

fn io(e: std::io::Error) -> Error {
    Error::Output {
        what: "pacs.009",
        detail: e.to_string(),
    }
}

/// `<Dbtr>`/`<Cdtr>` (the agent) followed by `<DbtrAcct>`/`<CdtrAcct>` (its account).
fn agent<W: std::io::Write>(
    w: &mut Writer<W>,
    role: &str,
    party: &SettlementParty,
) -> std::io::Result<()> {
    w.create_element(role).write_inner_content(|w| {
        financial_institution(w, &party.account, party.participant.as_deref())
    })?;
    account_id(w, &format!("{role}Acct"), &party.account)
}

/// Writes the instructions as a `pacs.009.001.08` document.
pub fn write_pacs009(
    instructions: &[SettlementInstruction],
    day: NaiveDate,
    message_id: &str,
    created: NaiveDateTime,
    settlement: &SettlementAccount,
) -> Result<Vec<u8>> {
    if instructions.is_empty() {
        // The schema wants at least one CdtTrfTxInf; a day without positions has no message.
        return Err(Error::Output {
            what: "pacs.009",
            detail: "no transfers: a pacs.009 carries at least one".into(),
        });
    }
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
                        account_id(w, "SttlmAcct", settlement)
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
