//! 交通部 交通联合 / T-Union (JT/T 978).

use super::{AppInfoLayout, AuthCodeInMac1, SchemeProfile};
use crate::scheme::Scheme;

/// The T-Union e-purse AID `A000000632010105` ("MOT_T_EP") [S].
pub const AID: &[u8] = &[0xA0, 0x00, 0x00, 0x06, 0x32, 0x01, 0x01, 0x05];

/// The T-Union PSAM application AID, "MOT.CPSAM01" [S].
pub const PSAM_AID: &[u8] = b"\xA0\x00\x00\x06\x32MOT.CPSAM01";

/// The T-Union profile.
pub static PROFILE: SchemeProfile = SchemeProfile {
    scheme: Scheme::Mot,
    name: "T-Union (JT/T 978)",
    aid: AID,
    df_id: 0x1001,
    pse: Some("2PAY.SYS.DDF01"),
    files: &[0x0015, 0x0016, 0x0017, 0x0018, 0x001A, 0x001E],
    app_info_layout: AppInfoLayout::Mot,
    auth_code_in_mac1: AuthCodeInMac1::Never,
    provenance: "[S] AID, PPSE, file layouts from terminal code and readers; \
                 [I] DF id 1001 under the MF and the purse algorithms (same as PBOC)",
};
