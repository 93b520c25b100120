//! The city's own CPU e-purse card (e.g. a B-card such as 琴岛通 / 甬城通).

use super::{AppInfoLayout, AuthCodeInMac1, SchemeProfile};
use crate::scheme::Scheme;

/// The AID hutong's simulated local card answers to: a proprietary AID under `D156`.
/// **[I]**: each city assigns its own; configure the real one.
pub const AID: &[u8] = &[0xD1, 0x56, 0x00, 0x00, 0x01, 0x80, 0x02];

/// The local-card profile.
pub static PROFILE: SchemeProfile = SchemeProfile {
    scheme: Scheme::Local,
    name: "local city card",
    aid: AID,
    df_id: 0x1001,
    pse: Some("1PAY.SYS.DDF01"),
    files: &[0x0015, 0x0016, 0x0017, 0x0018],
    app_info_layout: AppInfoLayout::Mohurd,
    auth_code_in_mac1: AuthCodeInMac1::Never,
    provenance: "[I] a city CPU card built on the MOHURD file layout, as 琴岛通 and 甬城通 are",
};
