//! Dispute cases between two participants, with stages, deadlines per scheme and default
//! outcomes when a deadline passes. Pure: the hub passes the time in and stores the case.
//!
//! ```text
//!  opened ──request evidence──▶ evidence requested ──propose──▶ proposed ──accept──▶ accepted ──(adjustment cleared)──▶ closed
//!    │  └──────────────propose─────────────────────────────────▲   │
//!    └──accept (respondent concedes the claim)──▶ accepted      contest / escalate
//!                                                               ▼
//!                                                    escalated ──operator arbitrates──▶ accepted
//! ```
//!
//! A case opens with the claimant's claim (the respondent pays the claimant the amount at
//! stake). Default outcomes when a deadline passes, in the spirit of the bank-card schemes'
//! retrieval / chargeback / representment stages (silence concedes):
//!
//! | stage | who must act | deadline (default days; PBOC cases use the bank-card-like 30) | if nobody acts |
//! |---|---|---|---|
//! | opened | respondent | 10 | the claim is accepted |
//! | evidence requested | respondent | 20 | the claim is accepted |
//! | proposed | the other party | 10 | the proposal is accepted |
//! | escalated | the hub operator | 15 | nothing automatic; the case is flagged overdue |

use std::collections::HashMap;

use card_standards::Scheme;
use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};

/// Where a case is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Claim made; the respondent's move.
    Opened,
    /// Evidence asked of the respondent.
    EvidenceRequested,
    /// A proposal awaits the other party.
    Proposed,
    /// Arbitration by the hub operator.
    Escalated,
    /// Decided; the outcome's adjustment clears in the next open window.
    Accepted,
    /// Done: the adjustment has cleared (or there was nothing to pay).
    Closed,
}

impl Stage {
    /// The snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Opened => "opened",
            Stage::EvidenceRequested => "evidence_requested",
            Stage::Proposed => "proposed",
            Stage::Escalated => "escalated",
            Stage::Accepted => "accepted",
            Stage::Closed => "closed",
        }
    }

    /// Every stage, in lifecycle order.
    pub const ALL: [Stage; 6] = [
        Stage::Opened,
        Stage::EvidenceRequested,
        Stage::Proposed,
        Stage::Escalated,
        Stage::Accepted,
        Stage::Closed,
    ];

    /// Whether the case still waits for someone (not accepted or closed).
    pub fn is_open(self) -> bool {
        !matches!(self, Stage::Accepted | Stage::Closed)
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Stage {
    type Err = String;
    fn from_str(s: &str) -> Result<Stage, String> {
        Stage::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("unknown dispute stage {s:?}"))
    }
}

/// In what capacity someone acts on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The participant that claims.
    Claimant,
    /// The participant that answers.
    Respondent,
    /// Hub staff (operator / finance): may arbitrate.
    Operator,
}

impl Role {
    /// The snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Claimant => "claimant",
            Role::Respondent => "respondent",
            Role::Operator => "operator",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        match s {
            "claimant" => Ok(Role::Claimant),
            "respondent" => Ok(Role::Respondent),
            "operator" => Ok(Role::Operator),
            other => Err(format!("unknown role {other:?}")),
        }
    }
}

/// Days allowed per stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Deadlines {
    /// For the respondent to answer an opened case.
    pub respond_days: i64,
    /// For the respondent to supply requested evidence.
    pub evidence_days: i64,
    /// For the other party to accept or contest a proposal.
    pub accept_days: i64,
    /// For the operator to arbitrate.
    pub arbitration_days: i64,
}

/// Deadlines per scheme, with a default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineTable {
    default: Deadlines,
    per_scheme: HashMap<Scheme, Deadlines>,
}

impl Default for DeadlineTable {
    fn default() -> Self {
        let bank_like = Deadlines {
            respond_days: 30,
            evidence_days: 30,
            accept_days: 30,
            arbitration_days: 30,
        };
        DeadlineTable {
            default: Deadlines {
                respond_days: 10,
                evidence_days: 20,
                accept_days: 10,
                arbitration_days: 15,
            },
            per_scheme: HashMap::from([(Scheme::Pboc, bank_like)]),
        }
    }
}

impl DeadlineTable {
    /// Parses `[disputes.default]` and `[disputes.<scheme>]` tables; absent ones keep defaults.
    pub fn from_toml(text: &str) -> Result<DeadlineTable, String> {
        #[derive(Deserialize)]
        struct File {
            #[serde(default)]
            disputes: HashMap<String, Deadlines>,
        }
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut table = DeadlineTable::default();
        for (key, d) in file.disputes {
            if key == "default" {
                table.default = d;
            } else {
                let scheme: Scheme = key
                    .parse()
                    .map_err(|e: card_standards::Error| format!("disputes.{key}: {e}"))?;
                table.per_scheme.insert(scheme, d);
            }
        }
        Ok(table)
    }

    /// The deadlines of schemes without their own table.
    pub fn default_deadlines(&self) -> Deadlines {
        self.default
    }

    /// The schemes with a table of their own, sorted by name.
    pub fn per_scheme(&self) -> Vec<(Scheme, Deadlines)> {
        let mut v: Vec<_> = self.per_scheme.iter().map(|(s, d)| (*s, *d)).collect();
        v.sort_by_key(|(s, _)| s.as_str());
        v
    }

    /// The deadlines of a scheme.
    pub fn for_scheme(&self, scheme: Scheme) -> Deadlines {
        self.per_scheme
            .get(&scheme)
            .copied()
            .unwrap_or(self.default)
    }
}

/// Who pays whom how much.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// Who pays.
    pub payer: String,
    /// Who receives.
    pub payee: String,
    /// Fen; 0 = nothing to pay.
    pub amount_fen: i64,
}

/// A file offered as evidence, identified by its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// File name.
    pub name: String,
    /// SHA-256, hex.
    pub sha256: String,
    /// Who added it.
    pub added_by: String,
    /// When.
    pub at: NaiveDateTime,
}

/// Something done to a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Ask the respondent for evidence (claimant or operator).
    RequestEvidence,
    /// Add an evidence file (anyone, while the case is open).
    AddEvidence {
        /// File name.
        name: String,
        /// SHA-256 of the stored file.
        sha256: String,
    },
    /// Propose an outcome (claimant or respondent).
    Propose(Proposal),
    /// Accept the pending claim or proposal (the party it was made to).
    Accept,
    /// Contest the pending proposal: escalates to the operator.
    Contest,
    /// Ask the operator to arbitrate (either party).
    Escalate,
    /// The operator's ruling.
    Arbitrate(Proposal),
    /// The claimant withdraws: closed, nothing paid.
    Withdraw,
}

impl Action {
    /// The action's snake-case name, as the history records it.
    pub fn name(&self) -> &'static str {
        match self {
            Action::RequestEvidence => "request_evidence",
            Action::AddEvidence { .. } => "add_evidence",
            Action::Propose(_) => "propose",
            Action::Accept => "accept",
            Action::Contest => "contest",
            Action::Escalate => "escalate",
            Action::Arbitrate(_) => "arbitrate",
            Action::Withdraw => "withdraw",
        }
    }
}

/// One entry of a case's history: who did what, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseEvent {
    /// When.
    pub at: NaiveDateTime,
    /// Who (a participant code, a staff user, or `system` for deadlines).
    pub actor: String,
    /// What (`open`, `propose`, `deadline_passed`, …).
    pub action: String,
    /// Details.
    pub note: String,
    /// The stage afterwards.
    pub stage: Stage,
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisputeError {
    /// The action is not allowed in this stage or for this role.
    #[error("{action} is not allowed for the {role:?} while the case is {stage}")]
    NotAllowed {
        /// The action.
        action: &'static str,
        /// The actor's role.
        role: Role,
        /// The stage.
        stage: &'static str,
    },
    /// A proposal that does not move money between the two parties.
    #[error(
        "a proposal must have the claimant and respondent as payer and payee and a non-negative amount"
    )]
    BadProposal,
}

/// What a case is opened with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// Who claims (usually the issuer side).
    pub claimant: String,
    /// Who answers (the acquirer or partner).
    pub respondent: String,
    /// The scheme, for deadlines.
    pub scheme: Scheme,
    /// Amount at stake, fen.
    pub amount_fen: i64,
    /// Why (e.g. the discrepancy).
    pub note: String,
}

/// A dispute case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputeCase {
    /// The participant that claims.
    pub claimant: String,
    /// The participant that answers.
    pub respondent: String,
    /// The scheme (for deadlines).
    pub scheme: Scheme,
    /// Amount at stake, fen.
    pub amount_fen: i64,
    /// Current stage.
    pub stage: Stage,
    /// When the current stage's deadline passes.
    pub deadline: NaiveDateTime,
    /// The pending claim or proposal and who made it.
    pub proposal: Option<(Proposal, Role)>,
    /// The decided outcome (stage accepted or closed).
    pub outcome: Option<Proposal>,
    /// Whether the operator's deadline passed without a ruling.
    pub overdue: bool,
    /// Evidence files.
    pub evidence: Vec<Evidence>,
    /// Everything that happened.
    pub history: Vec<CaseEvent>,
}

impl DisputeCase {
    /// Opens a case with the claimant's claim: the respondent pays the amount at stake.
    pub fn open(
        claim: Claim,
        actor: &str,
        now: NaiveDateTime,
        table: &DeadlineTable,
    ) -> DisputeCase {
        let proposal = Proposal {
            payer: claim.respondent.clone(),
            payee: claim.claimant.clone(),
            amount_fen: claim.amount_fen,
        };
        let deadline = now + Duration::days(table.for_scheme(claim.scheme).respond_days);
        DisputeCase {
            claimant: claim.claimant,
            respondent: claim.respondent,
            scheme: claim.scheme,
            amount_fen: claim.amount_fen,
            stage: Stage::Opened,
            deadline,
            proposal: Some((proposal, Role::Claimant)),
            outcome: None,
            overdue: false,
            evidence: Vec::new(),
            history: vec![CaseEvent {
                at: now,
                actor: actor.into(),
                action: "open".into(),
                note: claim.note,
                stage: Stage::Opened,
            }],
        }
    }

    /// The role a participant code has in this case, if any.
    pub fn role_of(&self, participant: &str) -> Option<Role> {
        if participant == self.claimant {
            Some(Role::Claimant)
        } else if participant == self.respondent {
            Some(Role::Respondent)
        } else {
            None
        }
    }

    fn move_to(&mut self, stage: Stage, now: NaiveDateTime, table: &DeadlineTable) {
        let d = table.for_scheme(self.scheme);
        let days = match stage {
            Stage::Opened => d.respond_days,
            Stage::EvidenceRequested => d.evidence_days,
            Stage::Proposed => d.accept_days,
            Stage::Escalated => d.arbitration_days,
            Stage::Accepted | Stage::Closed => 0,
        };
        self.stage = stage;
        self.deadline = now + Duration::days(days);
    }

    fn decide(&mut self, outcome: Proposal) {
        self.outcome = Some(outcome);
        self.proposal = None;
        self.stage = Stage::Accepted;
    }

    fn valid(&self, p: &Proposal) -> bool {
        p.amount_fen >= 0
            && ((p.payer == self.claimant && p.payee == self.respondent)
                || (p.payer == self.respondent && p.payee == self.claimant))
    }

    /// Applies an action. Returns the outcome when the action decides the case.
    pub fn act(
        &mut self,
        actor: &str,
        role: Role,
        action: Action,
        now: NaiveDateTime,
        table: &DeadlineTable,
    ) -> Result<Option<Proposal>, DisputeError> {
        let refuse = |s: &Self, a: &Action| DisputeError::NotAllowed {
            action: a.name(),
            role,
            stage: s.stage.as_str(),
        };
        let open = !matches!(self.stage, Stage::Accepted | Stage::Closed);
        let name = action.name();
        let mut note = String::new();
        let mut decided = None;
        match (&action, self.stage, role) {
            (Action::AddEvidence { name, sha256 }, _, _) if open => {
                note = format!("{name} sha256 {sha256}");
                self.evidence.push(Evidence {
                    name: name.clone(),
                    sha256: sha256.clone(),
                    added_by: actor.into(),
                    at: now,
                });
            }
            (Action::RequestEvidence, Stage::Opened, Role::Claimant | Role::Operator) => {
                self.move_to(Stage::EvidenceRequested, now, table)
            }
            (
                Action::Propose(p),
                Stage::Opened | Stage::EvidenceRequested | Stage::Proposed,
                Role::Claimant | Role::Respondent,
            ) => {
                if !self.valid(p) {
                    return Err(DisputeError::BadProposal);
                }
                note = format!("{} pays {} {} fen", p.payer, p.payee, p.amount_fen);
                self.proposal = Some((p.clone(), role));
                self.move_to(Stage::Proposed, now, table);
            }
            (
                Action::Accept,
                Stage::Opened | Stage::EvidenceRequested | Stage::Proposed,
                Role::Claimant | Role::Respondent,
            ) => {
                let Some((p, by)) = self.proposal.clone() else {
                    return Err(refuse(self, &action));
                };
                if by == role {
                    return Err(refuse(self, &action));
                }
                note = format!("{} pays {} {} fen", p.payer, p.payee, p.amount_fen);
                self.decide(p.clone());
                decided = Some(p);
            }
            (
                Action::Contest | Action::Escalate,
                Stage::Opened | Stage::EvidenceRequested | Stage::Proposed,
                Role::Claimant | Role::Respondent,
            ) => {
                if matches!(action, Action::Contest) && self.stage != Stage::Proposed {
                    return Err(refuse(self, &action));
                }
                self.move_to(Stage::Escalated, now, table);
            }
            (
                Action::Arbitrate(p),
                Stage::Escalated | Stage::Opened | Stage::EvidenceRequested | Stage::Proposed,
                Role::Operator,
            ) => {
                if !self.valid(p) {
                    return Err(DisputeError::BadProposal);
                }
                note = format!("ruling: {} pays {} {} fen", p.payer, p.payee, p.amount_fen);
                self.decide(p.clone());
                decided = Some(p.clone());
            }
            (Action::Withdraw, _, Role::Claimant | Role::Operator) if open => {
                self.outcome = Some(Proposal {
                    payer: self.respondent.clone(),
                    payee: self.claimant.clone(),
                    amount_fen: 0,
                });
                self.proposal = None;
                self.stage = Stage::Closed;
            }
            _ => return Err(refuse(self, &action)),
        }
        self.history.push(CaseEvent {
            at: now,
            actor: actor.into(),
            action: name.into(),
            note,
            stage: self.stage,
        });
        Ok(decided)
    }

    /// Applies the default outcome if the stage's deadline has passed (see the module docs).
    pub fn expire(&mut self, now: NaiveDateTime) -> Option<Proposal> {
        if now < self.deadline {
            return None;
        }
        match self.stage {
            Stage::Opened | Stage::EvidenceRequested | Stage::Proposed => {
                let (p, _) = self.proposal.clone()?;
                let note = format!(
                    "deadline passed: {} pays {} {} fen",
                    p.payer, p.payee, p.amount_fen
                );
                self.decide(p.clone());
                self.history.push(CaseEvent {
                    at: now,
                    actor: "system".into(),
                    action: "deadline_passed".into(),
                    note,
                    stage: self.stage,
                });
                Some(p)
            }
            Stage::Escalated if !self.overdue => {
                self.overdue = true;
                self.history.push(CaseEvent {
                    at: now,
                    actor: "system".into(),
                    action: "arbitration_overdue".into(),
                    note: "the operator has not ruled".into(),
                    stage: self.stage,
                });
                None
            }
            _ => None,
        }
    }

    /// Marks a decided case closed once its adjustment has cleared.
    pub fn close(&mut self, now: NaiveDateTime, note: &str) -> bool {
        if self.stage != Stage::Accepted {
            return false;
        }
        self.stage = Stage::Closed;
        self.history.push(CaseEvent {
            at: now,
            actor: "system".into(),
            action: "close".into(),
            note: note.into(),
            stage: Stage::Closed,
        });
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn t(day: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, day)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap()
    }

    fn case() -> (DisputeCase, DeadlineTable) {
        let table = DeadlineTable::default();
        (
            DisputeCase::open(
                Claim {
                    claimant: "MOT".into(),
                    respondent: "QD".into(),
                    scheme: Scheme::Mot,
                    amount_fen: 5000,
                    note: "rejected_by_issuer".into(),
                },
                "MOT",
                t(1),
                &table,
            ),
            table,
        )
    }

    #[test]
    fn a_counter_proposal_accepted_by_the_claimant_decides_the_case() {
        let (mut c, table) = case();
        c.act(
            "QD",
            Role::Respondent,
            Action::AddEvidence {
                name: "log.csv".into(),
                sha256: "ab".into(),
            },
            t(2),
            &table,
        )
        .unwrap();
        let half = Proposal {
            payer: "QD".into(),
            payee: "MOT".into(),
            amount_fen: 2500,
        };
        c.act(
            "QD",
            Role::Respondent,
            Action::Propose(half.clone()),
            t(3),
            &table,
        )
        .unwrap();
        assert_eq!(c.stage, Stage::Proposed);
        assert!(
            c.act("QD", Role::Respondent, Action::Accept, t(4), &table)
                .is_err(),
            "one cannot accept one's own proposal"
        );
        assert_eq!(
            c.act("MOT", Role::Claimant, Action::Accept, t(4), &table)
                .unwrap(),
            Some(half)
        );
        assert_eq!(c.stage, Stage::Accepted);
        assert!(c.close(t(5), "ADJ-1 cleared"));
        assert_eq!(
            c.history
                .iter()
                .map(|e| e.action.as_str())
                .collect::<Vec<_>>(),
            ["open", "add_evidence", "propose", "accept", "close"]
        );
    }

    #[test]
    fn a_contested_proposal_goes_to_the_operator_who_rules() {
        let (mut c, table) = case();
        c.act(
            "QD",
            Role::Respondent,
            Action::Propose(Proposal {
                payer: "QD".into(),
                payee: "MOT".into(),
                amount_fen: 0,
            }),
            t(2),
            &table,
        )
        .unwrap();
        c.act("MOT", Role::Claimant, Action::Contest, t(3), &table)
            .unwrap();
        assert_eq!(c.stage, Stage::Escalated);
        assert!(
            c.act(
                "QD",
                Role::Respondent,
                Action::Arbitrate(Proposal {
                    payer: "MOT".into(),
                    payee: "QD".into(),
                    amount_fen: 1
                }),
                t(4),
                &table
            )
            .is_err()
        );
        let ruling = Proposal {
            payer: "QD".into(),
            payee: "MOT".into(),
            amount_fen: 4000,
        };
        assert_eq!(
            c.act(
                "op1",
                Role::Operator,
                Action::Arbitrate(ruling.clone()),
                t(5),
                &table
            )
            .unwrap(),
            Some(ruling)
        );
    }

    #[test]
    fn silence_past_the_deadline_concedes_the_claim() {
        let (mut c, _) = case();
        assert_eq!(
            c.expire(t(10)),
            None,
            "the respondent has until day 11, 09:00"
        );
        let outcome = c.expire(t(11)).unwrap();
        assert_eq!(
            (
                outcome.payer.as_str(),
                outcome.payee.as_str(),
                outcome.amount_fen
            ),
            ("QD", "MOT", 5000)
        );
        assert_eq!(c.history.last().unwrap().actor, "system");
    }

    #[test]
    fn an_escalated_case_past_its_deadline_is_flagged_not_decided() {
        let (mut c, table) = case();
        c.act("QD", Role::Respondent, Action::Escalate, t(2), &table)
            .unwrap();
        assert_eq!(c.expire(t(20)), None);
        assert!(c.overdue);
        assert_eq!(c.stage, Stage::Escalated);
    }

    #[test]
    fn pboc_cases_get_bank_card_like_deadlines_and_config_overrides_them() {
        let table = DeadlineTable::default();
        assert_eq!(table.for_scheme(Scheme::Pboc).respond_days, 30);
        let t2 = DeadlineTable::from_toml("[disputes.mot]\nrespond_days = 3\nevidence_days = 5\naccept_days = 2\narbitration_days = 7\n").unwrap();
        assert_eq!(t2.for_scheme(Scheme::Mot).respond_days, 3);
        assert_eq!(t2.for_scheme(Scheme::Local).respond_days, 10);
        assert!(DeadlineTable::from_toml("[disputes.visa]\nrespond_days = 3\nevidence_days = 5\naccept_days = 2\narbitration_days = 7\n").is_err());
    }
}
