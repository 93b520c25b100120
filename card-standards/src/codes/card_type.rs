//! Canonical card types.

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// hutong's canonical card type: the fare category a card belongs to, whatever the scheme's own
/// code for it. The scheme's raw code travels beside it in the canonical record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardType {
    /// 普通卡.
    Adult,
    /// 学生卡.
    Student,
    /// 老年卡.
    Elderly,
    /// 残疾人卡 / 爱心卡.
    Disabled,
    /// 员工卡 / 职工卡.
    Staff,
    /// Any other category.
    Other,
}

impl CardType {
    /// Every card type.
    pub const ALL: [CardType; 6] = [
        CardType::Adult,
        CardType::Student,
        CardType::Elderly,
        CardType::Disabled,
        CardType::Staff,
        CardType::Other,
    ];

    /// The snake-case name used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            CardType::Adult => "adult",
            CardType::Student => "student",
            CardType::Elderly => "elderly",
            CardType::Disabled => "disabled",
            CardType::Staff => "staff",
            CardType::Other => "other",
        }
    }
}

impl std::fmt::Display for CardType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for CardType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        CardType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| Error::UnknownCode {
                table: "card types (canonical)",
                code: s.to_string(),
            })
    }
}
