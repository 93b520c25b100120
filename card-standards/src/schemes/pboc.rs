//! The PBOC 2.0 ED/EP purse of bank co-branded city cards (市民卡 A-cards).

use super::{AppInfoLayout, AuthCodeInMac1, SchemeProfile};
use crate::scheme::Scheme;

/// The AID hutong's simulated PBOC purse answers to: a proprietary AID under China's national
/// registration prefix `D156`. **[I]**: the ED/EP application AID of a co-branded card is
/// issuer-assigned; configure the real one per issuer.
pub const AID: &[u8] = &[0xD1, 0x56, 0x00, 0x00, 0x01, 0x80, 0x01];

/// The PBOC ED/EP profile.
pub static PROFILE: SchemeProfile = SchemeProfile {
    scheme: Scheme::Pboc,
    name: "PBOC 2.0 ED/EP purse (co-branded card)",
    aid: AID,
    df_id: 0x1001,
    pse: Some("1PAY.SYS.DDF01"),
    files: &[0x0015, 0x0016, 0x0018],
    app_info_layout: AppInfoLayout::Mohurd,
    auth_code_in_mac1: AuthCodeInMac1::Never,
    provenance: "[S] ED/EP commands and crypto (PBOC 2.0); \
                 [I] AID, and that co-branded cards use the MOHURD 0015 layout",
};
