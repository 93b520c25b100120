//! Canonical industries (行业).

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// hutong's canonical industry: where a card was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Industry {
    /// 地铁 / urban rail.
    Metro,
    /// 公交 / city bus.
    Bus,
    /// 城市水上客运 / city water transport.
    Water,
    /// 出租汽车 / taxi.
    Taxi,
    /// 租赁汽车 / car rental.
    CarRental,
    /// 公共自行车 / public bike.
    Bike,
    /// 停车收费 / parking.
    Parking,
    /// 长途客运 / coach.
    Coach,
    /// 轮渡 / ferry.
    Ferry,
    /// 城际高速铁路 / intercity rail.
    IntercityRail,
    /// 民航 / aviation.
    Aviation,
    /// 高速公路收费, tunnel and bridge tolls (e.g. 胶州湾隧道).
    Highway,
    /// 市郊城铁 / suburban rail.
    SuburbanRail,
    /// 小额消费 / retail.
    Retail,
    /// Anything else.
    Other,
}

impl Industry {
    /// Every industry.
    pub const ALL: [Industry; 15] = [
        Industry::Metro,
        Industry::Bus,
        Industry::Water,
        Industry::Taxi,
        Industry::CarRental,
        Industry::Bike,
        Industry::Parking,
        Industry::Coach,
        Industry::Ferry,
        Industry::IntercityRail,
        Industry::Aviation,
        Industry::Highway,
        Industry::SuburbanRail,
        Industry::Retail,
        Industry::Other,
    ];

    /// The snake-case name used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Industry::Metro => "metro",
            Industry::Bus => "bus",
            Industry::Water => "water",
            Industry::Taxi => "taxi",
            Industry::CarRental => "car_rental",
            Industry::Bike => "bike",
            Industry::Parking => "parking",
            Industry::Coach => "coach",
            Industry::Ferry => "ferry",
            Industry::IntercityRail => "intercity_rail",
            Industry::Aviation => "aviation",
            Industry::Highway => "highway",
            Industry::SuburbanRail => "suburban_rail",
            Industry::Retail => "retail",
            Industry::Other => "other",
        }
    }
}

impl std::fmt::Display for Industry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Industry {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Industry::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| Error::UnknownCode {
                table: "industries (canonical)",
                code: s.to_string(),
            })
    }
}
