//! One profile per scheme, each in a file of the same shape: the card application's AID, how it
//! is selected, which elementary files it has, and how its 0015 file is laid out.
//!
//! Adding a scheme means copying one of these files and filling in the same constants.

pub mod local;
pub mod mohurd;
pub mod mot;
pub mod pboc;

use crate::scheme::Scheme;

/// How a scheme lays out its 30-byte 0015 public application file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppInfoLayout {
    /// 发卡方代码, 城市代码, 行业代码 … serial in bytes 10–19 (CJ/T 166, STANDARDS.md §3).
    Mohurd,
    /// 发卡机构标识(8), 应用类型, 版本, 10-byte serial … (JT/T 978, STANDARDS.md §4).
    Mot,
}

/// When the 9-byte MOHURD authentication code is appended to MAC1's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthCodeInMac1 {
    /// Never.
    Never,
    /// For composite (type 09) purchases, as verified on a real 住建部 card (STANDARDS.md §2).
    CompositeOnly,
}

/// The card-level profile of a scheme.
#[derive(Debug)]
pub struct SchemeProfile {
    /// The scheme.
    pub scheme: Scheme,
    /// A human name.
    pub name: &'static str,
    /// The AID of the purse application (its DF name).
    pub aid: &'static [u8],
    /// The file id of the application's DF under the MF.
    pub df_id: u16,
    /// The payment system environment name that lists the application, if any.
    pub pse: Option<&'static str>,
    /// The elementary files of the application, by short file id.
    pub files: &'static [u16],
    /// The layout of 0015.
    pub app_info_layout: AppInfoLayout,
    /// Whether MAC1 covers the authentication code.
    pub auth_code_in_mac1: AuthCodeInMac1,
    /// How sure we are of this profile, for documentation: `[S]` seen, `[I]` inferred.
    pub provenance: &'static str,
}
