//! 住建部 城市一卡通 互联互通 (CJ/T 166-2014).

use super::{AppInfoLayout, AuthCodeInMac1, SchemeProfile};
use crate::scheme::Scheme;

/// The interconnection application AID `A00000000386980701` [S].
pub const AID: &[u8] = &[0xA0, 0x00, 0x00, 0x00, 0x03, 0x86, 0x98, 0x07, 0x01];

/// The MOHURD profile.
pub static PROFILE: SchemeProfile = SchemeProfile {
    scheme: Scheme::Mohurd,
    name: "MOHURD interconnection (CJ/T 166)",
    aid: AID,
    df_id: 0x1001,
    pse: Some("1PAY.SYS.DDF01"),
    files: &[0x0015, 0x0016, 0x0017, 0x0018],
    app_info_layout: AppInfoLayout::Mohurd,
    auth_code_in_mac1: AuthCodeInMac1::CompositeOnly,
    provenance: "[S] AID, DF 1001, 0015/0017/0018 from a real Changsha card and readers; \
                 [I] whether every CJ/T 166 card appends the auth code to MAC1",
};
