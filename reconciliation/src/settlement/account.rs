//! Settlement accounts: where a participant's (or the hub's) money is settled, and how a
//! settlement bank identifies the financial institution behind it.
//!
//! An account has an id (`Othr/Id` in ISO 20022, up to 34 characters) and an agent: a BIC
//! (ISO 9362, 8 or 11 characters) and/or a clearing-system member id with its clearing system
//! (e.g. `CNAPS` and a 12-digit bank code). At least one of BIC and member id is required.

use std::collections::BTreeMap;
use std::fmt;

use quick_xml::Writer;
use quick_xml::events::BytesText;
use serde::{Deserialize, Serialize};

/// A membership of a clearing system: which system, and the member id in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClearingMember {
    /// The clearing system. Up to 5 upper-case letters or digits is a code of ISO 20022's
    /// external code list (`ClrSysId/Cd`, e.g. `CNAPS`); anything else (up to 35 characters)
    /// is written as a proprietary system (`ClrSysId/Prtry`).
    pub system: String,
    /// The member id in that system (1 to 35 characters).
    pub member_id: String,
}

impl ClearingMember {
    /// Whether [`ClearingMember::system`] is written as an external code (`Cd`) rather than a
    /// proprietary one (`Prtry`).
    pub fn system_is_code(&self) -> bool {
        (1..=5).contains(&self.system.len())
            && self
                .system
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    }
}

/// A settlement account with the agent that identifies it to a settlement bank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementAccount {
    /// The account id (1 to 34 characters).
    pub account_id: String,
    /// The agent's BIC (ISO 9362: 8 or 11 characters).
    pub bic: Option<String>,
    /// The agent's clearing-system membership.
    pub member: Option<ClearingMember>,
}

/// Which part of a settlement account is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountField {
    /// The account id.
    AccountId,
    /// The BIC.
    Bic,
    /// The clearing system.
    ClearingSystem,
    /// The member id.
    MemberId,
    /// Neither a BIC nor a member id.
    Agent,
}

impl fmt::Display for AccountField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AccountField::AccountId => "account id",
            AccountField::Bic => "BIC",
            AccountField::ClearingSystem => "clearing system",
            AccountField::MemberId => "member id",
            AccountField::Agent => "agent",
        })
    }
}

/// A settlement account that is not valid, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("settlement account {field}: {reason}")]
pub struct AccountError {
    /// The field.
    pub field: AccountField,
    /// What is wrong.
    pub reason: String,
}

/// Whether `s` is a BIC as ISO 20022 writes it (`BICFIDec2014Identifier`):
/// `[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?`.
pub fn is_bic(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: &u8| c.is_ascii_uppercase() || c.is_ascii_digit();
    (b.len() == 8 || b.len() == 11)
        && b[..4].iter().all(alnum)
        && b[4..6].iter().all(u8::is_ascii_uppercase)
        && b[6..].iter().all(alnum)
}

fn text_field(
    field: AccountField,
    value: &str,
    max: usize,
) -> std::result::Result<(), AccountError> {
    let bad = |reason: String| Err(AccountError { field, reason });
    if value.is_empty() {
        return bad("is empty".into());
    }
    if value.trim() != value {
        return bad(format!("{value:?} has leading or trailing spaces"));
    }
    if value.chars().count() > max {
        return bad(format!("{value:?} is longer than {max} characters"));
    }
    if value.chars().any(char::is_control) {
        return bad(format!("{value:?} has a control character"));
    }
    Ok(())
}

impl SettlementAccount {
    /// A validated account: see [`SettlementAccount::validate`].
    pub fn new(
        account_id: impl Into<String>,
        bic: Option<String>,
        member: Option<ClearingMember>,
    ) -> std::result::Result<Self, AccountError> {
        let a = SettlementAccount {
            account_id: account_id.into(),
            bic,
            member,
        };
        a.validate()?;
        Ok(a)
    }

    /// Checks the account: an id of 1 to 34 characters; a BIC, if any, of the ISO 9362
    /// pattern (8 or 11 characters, upper case); a clearing system and member id, if any, of 1
    /// to 35 characters; and at least one of BIC and member id.
    pub fn validate(&self) -> std::result::Result<(), AccountError> {
        text_field(AccountField::AccountId, &self.account_id, 34)?;
        if let Some(bic) = &self.bic
            && !is_bic(bic)
        {
            return Err(AccountError {
                field: AccountField::Bic,
                reason: format!(
                    "{bic:?} is not an ISO 9362 BIC (8 or 11 upper-case letters and digits: \
                     4 institution, 2 country letters, 2 location, optional 3 branch)"
                ),
            });
        }
        if let Some(m) = &self.member {
            text_field(AccountField::ClearingSystem, &m.system, 35)?;
            text_field(AccountField::MemberId, &m.member_id, 35)?;
        }
        if self.bic.is_none() && self.member.is_none() {
            return Err(AccountError {
                field: AccountField::Agent,
                reason: "needs a BIC or a clearing-system member id (or both)".into(),
            });
        }
        Ok(())
    }

    /// The agent in one line: `BIC ABCDCNBJ`, `CNAPS 999000000001`, or both.
    pub fn agent(&self) -> String {
        let mut parts = Vec::new();
        if let Some(b) = &self.bic {
            parts.push(format!("BIC {b}"));
        }
        if let Some(m) = &self.member {
            parts.push(format!("{} {}", m.system, m.member_id));
        }
        parts.join(", ")
    }
}

impl fmt::Display for SettlementAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.account_id, self.agent())
    }
}

/// The settlement accounts of participants, by participant code.
pub type SettlementAccounts = BTreeMap<String, SettlementAccount>;

/// `value` cut to at most `max` characters (ISO 20022 text types have a maximum length).
pub(crate) fn at_most(value: &str, max: usize) -> &str {
    match value.char_indices().nth(max) {
        Some((i, _)) => &value[..i],
        None => value,
    }
}

pub(crate) fn text<W: std::io::Write>(
    w: &mut Writer<W>,
    name: &str,
    value: &str,
) -> std::io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(value))?;
    Ok(())
}

/// `<FinInstnId>` of ISO 20022's `FinancialInstitutionIdentification18`: `BICFI`, then
/// `ClrSysMmbId` (`ClrSysId/Cd` or `Prtry`, `MmbId`), then `Nm` when given.
pub(crate) fn financial_institution<W: std::io::Write>(
    w: &mut Writer<W>,
    account: &SettlementAccount,
    name: Option<&str>,
) -> std::io::Result<()> {
    w.create_element("FinInstnId").write_inner_content(|w| {
        if let Some(bic) = &account.bic {
            text(w, "BICFI", bic)?;
        }
        if let Some(m) = &account.member {
            w.create_element("ClrSysMmbId").write_inner_content(|w| {
                w.create_element("ClrSysId").write_inner_content(|w| {
                    if m.system_is_code() {
                        text(w, "Cd", &m.system)
                    } else {
                        text(w, "Prtry", at_most(&m.system, 35))
                    }
                })?;
                text(w, "MmbId", at_most(&m.member_id, 35))
            })?;
        }
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            text(w, "Nm", at_most(name, 140))?;
        }
        Ok(())
    })?;
    Ok(())
}

/// `<{element}><Id><Othr><Id>account id</Id></Othr></Id></{element}>` (a `CashAccount38`).
pub(crate) fn account_id<W: std::io::Write>(
    w: &mut Writer<W>,
    element: &str,
    account: &SettlementAccount,
) -> std::io::Result<()> {
    w.create_element(element).write_inner_content(|w| {
        w.create_element("Id").write_inner_content(|w| {
            w.create_element("Othr")
                .write_inner_content(|w| text(w, "Id", at_most(&account.account_id, 34)))?;
            Ok(())
        })?;
        Ok(())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(system: &str, id: &str) -> Option<ClearingMember> {
        Some(ClearingMember {
            system: system.into(),
            member_id: id.into(),
        })
    }

    #[test]
    fn a_bic_has_8_or_11_characters_of_the_iso_9362_pattern() {
        for good in ["ICBKCNBJ", "ICBKCNBJXXX", "BKCHCNBJ300", "1CBKCNB2"] {
            assert!(is_bic(good), "{good}");
        }
        for bad in [
            "",
            "ICBKCNB",
            "ICBKCNBJX",
            "icbkcnbj",
            "ICBK12BJ",
            "ICBKCNBJ-XX",
            "ICBKCNBJXXXX",
        ] {
            assert!(!is_bic(bad), "{bad}");
        }
    }

    #[test]
    fn an_account_needs_a_bic_or_a_member_id() {
        let e = SettlementAccount::new("ACC-1", None, None).unwrap_err();
        assert_eq!(e.field, AccountField::Agent);
        assert!(SettlementAccount::new("ACC-1", Some("ICBKCNBJ".into()), None).is_ok());
        assert!(SettlementAccount::new("ACC-1", None, member("CNAPS", "102100099996")).is_ok());
        let both = SettlementAccount::new(
            "ACC-1",
            Some("ICBKCNBJ".into()),
            member("CNAPS", "102100099996"),
        )
        .unwrap();
        assert_eq!(both.agent(), "BIC ICBKCNBJ, CNAPS 102100099996");
    }

    #[test]
    fn an_invalid_field_is_named() {
        let field = |a: std::result::Result<SettlementAccount, AccountError>| a.unwrap_err().field;
        assert_eq!(
            field(SettlementAccount::new("", Some("ICBKCNBJ".into()), None)),
            AccountField::AccountId
        );
        assert_eq!(
            field(SettlementAccount::new(
                "A".repeat(35),
                Some("ICBKCNBJ".into()),
                None
            )),
            AccountField::AccountId
        );
        assert_eq!(
            field(SettlementAccount::new("ACC", Some("icbkcnbj".into()), None)),
            AccountField::Bic
        );
        assert_eq!(
            field(SettlementAccount::new("ACC", None, member("", "1"))),
            AccountField::ClearingSystem
        );
        assert_eq!(
            field(SettlementAccount::new("ACC", None, member("CNAPS", " 1"))),
            AccountField::MemberId
        );
    }

    #[test]
    fn a_short_upper_case_clearing_system_is_a_code_and_a_longer_one_proprietary() {
        let m = |s: &str| ClearingMember {
            system: s.into(),
            member_id: "1".into(),
        };
        assert!(m("CNAPS").system_is_code());
        assert!(m("USABA").system_is_code());
        assert!(!m("HUTONG").system_is_code());
        assert!(!m("cnaps").system_is_code());
    }

    #[test]
    fn texts_are_cut_at_a_character_boundary() {
        assert_eq!(at_most("日照通公交", 3), "日照通");
        assert_eq!(at_most("abc", 35), "abc");
    }
}
