//! The four card schemes the hub bridges.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::schemes::{self, SchemeProfile};

/// A card scheme: which standard a card follows and therefore where its transactions clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// The city's own e-purse card (CPU cards with the ED/EP purse, and legacy MIFARE Classic
    /// wallet cards). Clears on-us, in the hub.
    Local,
    /// 住建部 城市一卡通 互联互通 cards (CJ/T 166-2014). Clears in the MOHURD network.
    Mohurd,
    /// 交通部 交通联合 / T-Union cards (JT/T 978). Clears in the T-Union centre.
    Mot,
    /// Bank cards under PBOC 3.0, and the PBOC 2.0 ED/EP purse of co-branded city cards.
    Pboc,
}

impl Scheme {
    /// Every scheme, in a fixed order.
    pub const ALL: [Scheme; 4] = [Scheme::Local, Scheme::Mohurd, Scheme::Mot, Scheme::Pboc];

    /// The lower-case name used in files, configuration and the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Local => "local",
            Scheme::Mohurd => "mohurd",
            Scheme::Mot => "mot",
            Scheme::Pboc => "pboc",
        }
    }

    /// The scheme's card profile: AID, files, 0015 layout.
    pub fn profile(self) -> &'static SchemeProfile {
        match self {
            Scheme::Local => &schemes::local::PROFILE,
            Scheme::Mohurd => &schemes::mohurd::PROFILE,
            Scheme::Mot => &schemes::mot::PROFILE,
            Scheme::Pboc => &schemes::pboc::PROFILE,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scheme {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Scheme::ALL
            .into_iter()
            .find(|scheme| scheme.as_str() == s)
            .ok_or_else(|| Error::UnknownCode {
                table: "schemes",
                code: s.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_names_round_trip_and_unknown_names_are_errors() {
        for s in Scheme::ALL {
            assert_eq!(s.as_str().parse::<Scheme>().unwrap(), s);
        }
        let err = "tunion".parse::<Scheme>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "code \"tunion\" is not in the schemes table"
        );
    }
}
