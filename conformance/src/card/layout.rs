//! What personalisation writes: each scheme's files, the application's FCI and the payment
//! system environment (PSE) that lists it.
//!
//! A profile made from a real card's files ([`CardProfile::from_real_files`]) has its 0015, 0016
//! and 0017 written byte for byte instead, and its preloaded 0018 records.
//!
//! | file | MOHURD, local | T-Union | PBOC |
//! |---|---|---|---|
//! | 0015 | 30 B (32 from a real card), MOHURD layout \[S\] | 30 B, T-Union layout \[S\] | 30 B, MOHURD layout \[I\] |
//! | 0016 | 55 B \[I: the T-Union layout\] | 55 B \[S\] | 55 B \[I\] |
//! | 0017 | 3 composite records of 48 B \[S: record 02 on a real card; count I\] | 60 B management \[S\] | — |
//! | 0018 | cyclic, 10 × 23 B \[S\] | cyclic, 10 × 23 B \[S\] | cyclic, 10 × 23 B \[S\] |
//! | 001A | — | 2 composite records of 128 B \[S: layout; count I\] | — |
//! | 001E | — | cyclic, 10 × 48 B \[S: layout; capacity I\] | — |

use card_standards::files::{
    CappRecord, CardFile, Cardholder, MohurdAppInfo, MotAppInfo, MotAppStatus, MotManagementInfo,
    TxRecord,
};
use card_standards::schemes::AppInfoLayout;
use card_standards::{Scheme, schemes};

use super::fs::{Ef, Role};
use crate::profile::{AppState, CardProfile};

/// Records in the cyclic transaction-detail file 0018 \[S: 10 on the cards seen\].
pub(crate) const TX_RECORDS: usize = 10;
/// Records in the T-Union cyclic process file 001E **\[I\]**.
pub(crate) const PROCESS_RECORDS: usize = 10;
/// Composite records in a MOHURD / local 0017 **\[I\]**.
pub(crate) const CAPP_RECORDS: u8 = 3;
/// Composite records in a T-Union 001A **\[I\]**.
pub(crate) const TRANSIT_RECORDS: u8 = 2;
/// Offset of the lock flag in a MOHURD 0017 record (id, len, lock) \[S: ticket.cpp\].
pub(crate) const CAPP_LOCK_AT: usize = 2;
/// Offset of the application-lock byte in a T-Union 001A record \[S: stJTB1A\].
pub(crate) const TRANSIT_LOCK_AT: usize = 5;

/// Appends a BER-TLV with a one- or two-byte length.
pub(crate) fn tlv(out: &mut Vec<u8>, tag: &[u8], value: &[u8]) {
    out.extend_from_slice(tag);
    if value.len() < 0x80 {
        out.push(value.len() as u8);
    } else {
        out.extend_from_slice(&[0x81, value.len() as u8]);
    }
    out.extend_from_slice(value);
}

/// The bytes of 0015 for a profile, in its scheme's layout: the real card's bytes when the
/// profile has them, else 30 bytes built from the profile.
pub(crate) fn app_info(p: &CardProfile) -> Vec<u8> {
    if let Some(raw) = &p.real_files.app_info {
        return raw.clone();
    }
    match p.scheme.profile().app_info_layout {
        // Byte 8 is the application type, not an enabled flag: a MOHURD-layout 0015 does not
        // show whether the application is enabled; the COS does [I].
        AppInfoLayout::Mohurd => MohurdAppInfo {
            issuer_code: p.issuer.issuer_code,
            city_code: p.issuer.city_code,
            industry_code: [0, 0],
            rfu: [0, 0],
            app_type: p.app_type,
            app_version: 0x01,
            serial: p.serial,
            start_date: p.start_date,
            expiry_date: p.expiry_date,
            custom: [0, 0],
            extra: None,
        }
        .encode(),
        AppInfoLayout::Mot => MotAppInfo {
            issuer_code: p.issuer.issuer_code,
            city_code: p.issuer.city_code,
            issuer_suffix: [0xFF; 4],
            app_type: p.app_type,
            app_status: match p.app_state {
                AppState::NotEnabled => MotAppStatus::NOT_ENABLED,
                AppState::Enabled => MotAppStatus::ENABLED,
                AppState::Blocked => MotAppStatus::STOPPED,
            },
            serial: p.serial,
            start_date: p.start_date,
            expiry_date: p.expiry_date,
            custom: [0, 0],
        }
        .encode(),
    }
}

/// The FCI's 9F08 (application version) of a scheme: 01 on MOHURD-layout cards \[S: the real
/// Changsha log\], 02 on T-Union cards \[S: nfcim/nfsee `tests/reader-mock.js`, a real T-Union
/// FCI; issue 17 also saw two-byte values, which a real-card profile would carry in its own FCI\].
pub(crate) fn fci_version(scheme: Scheme) -> u8 {
    match scheme.profile().app_info_layout {
        AppInfoLayout::Mohurd => 0x01,
        AppInfoLayout::Mot => 0x02,
    }
}

/// The application's FCI: `6F … 84 AID A5 25 9F08 01 <version> 9F0C <len> <0015>` \[S: real
/// logs\]; the version per [`fci_version`].
pub(crate) fn fci(scheme: Scheme, aid: &[u8], app_info: &[u8]) -> Vec<u8> {
    let mut prop = Vec::with_capacity(40);
    tlv(&mut prop, &[0x9F, 0x08], &[fci_version(scheme)]);
    tlv(&mut prop, &[0x9F, 0x0C], app_info);
    let mut body = Vec::with_capacity(64);
    tlv(&mut body, &[0x84], aid);
    tlv(&mut body, &[0xA5], &prop);
    let mut out = Vec::with_capacity(body.len() + 2);
    tlv(&mut out, &[0x6F], &body);
    out
}

/// The payment system environment of a scheme: its name, its FCI and the directory record
/// (READ RECORD SFI 1) where the scheme lists applications that way.
pub(crate) struct Pse {
    pub(crate) name: &'static [u8],
    pub(crate) fci: Vec<u8>,
    pub(crate) dir_record: Option<Vec<u8>>,
}

/// `1PAY.SYS.DDF01` with a DIR record `61 0B 4F 09 AID` \[S: FMCOS-SIM TestSuite only\], or the
/// contactless `2PAY.SYS.DDF01` whose FCI lists the application in `BF0C` with the label
/// `MOT_T_EP` \[S: CtticCard, Flipper T-Union poller\].
pub(crate) fn pse(scheme: Scheme) -> Option<Pse> {
    let profile = scheme.profile();
    let name = profile.pse?.as_bytes();
    let mut entry = Vec::new();
    tlv(&mut entry, &[0x4F], profile.aid);
    if name.starts_with(b"2PAY") {
        tlv(&mut entry, &[0x50], b"MOT_T_EP");
        tlv(&mut entry, &[0x87], &[0x01]);
        let mut app = Vec::new();
        tlv(&mut app, &[0x61], &entry);
        let mut dir = Vec::new();
        tlv(&mut dir, &[0xBF, 0x0C], &app);
        let mut body = Vec::new();
        tlv(&mut body, &[0x84], name);
        tlv(&mut body, &[0xA5], &dir);
        let mut fci = Vec::new();
        tlv(&mut fci, &[0x6F], &body);
        Some(Pse {
            name,
            fci,
            dir_record: None,
        })
    } else {
        let mut record = Vec::new();
        tlv(&mut record, &[0x61], &entry);
        let mut body = Vec::new();
        tlv(&mut body, &[0x84], name);
        tlv(&mut body, &[0xA5], &[0x88, 0x01, 0x01]);
        let mut fci = Vec::new();
        tlv(&mut fci, &[0x6F], &body);
        Some(Pse {
            name,
            fci,
            dir_record: Some(record),
        })
    }
}

fn capp_record(n: u8, locked: bool) -> Vec<u8> {
    let mut r = vec![0u8; 48];
    r[0] = n;
    r[1] = 0x2E;
    r[CAPP_LOCK_AT] = u8::from(locked);
    r
}

fn transit_record(n: u8, locked: bool) -> Vec<u8> {
    let mut r = vec![0u8; 128];
    // 27 02 = public bus information, 27 01 for the second record [I].
    r[..4].copy_from_slice(&[0x27, if n == 1 { 0x02 } else { 0x01 }, 0x7D, 0x01]);
    r[TRANSIT_LOCK_AT] = u8::from(locked);
    r
}

/// The application's elementary files for a profile.
pub(crate) fn files(p: &CardProfile) -> Vec<Ef> {
    let scheme_profile = p.scheme.profile();
    let locked = |n: u8| p.locked_records.contains(&n);
    let mut files = Vec::with_capacity(scheme_profile.files.len());
    for &fid in scheme_profile.files {
        let ef = match (fid, p.scheme) {
            (0x0015, _) => Ef::transparent(fid, app_info(p)),
            (0x0016, _) => Ef::transparent(
                fid,
                p.real_files
                    .cardholder
                    .clone()
                    .unwrap_or_else(|| Cardholder::anonymous(p.card_type).encode()),
            ),
            (0x0017, Scheme::Mot) if p.real_files.file_0017.is_some() => {
                Ef::transparent(fid, p.real_files.file_0017.clone().unwrap_or_default())
            }
            (0x0017, _) if p.real_files.file_0017.is_some() => Ef::linear(
                fid,
                &p.real_files
                    .file_0017
                    .iter()
                    .flat_map(|raw| raw.chunks(CappRecord::LEN).map(<[u8]>::to_vec))
                    .collect::<Vec<_>>(),
                Role::Capp {
                    lock_at: Some(CAPP_LOCK_AT),
                },
            ),
            (0x0017, Scheme::Mot) => Ef::transparent(
                fid,
                MotManagementInfo {
                    // International code and province are [I]: China's ISO 3166 number and
                    // the province prefix of the city code.
                    country_code: [0x00, 0x00, 0x01, 0x56],
                    province_code: [p.issuer.city_code.0[0], 0x00],
                    city_code: p.issuer.city_code.0,
                    interop: 0x0001,
                    card_kind: p.card_type,
                    rfu: [0; 49],
                }
                .encode(),
            ),
            (0x0017, _) => Ef::linear(
                fid,
                &(1..=CAPP_RECORDS)
                    .map(|n| capp_record(n, locked(n)))
                    .collect::<Vec<_>>(),
                Role::Capp {
                    lock_at: Some(CAPP_LOCK_AT),
                },
            ),
            (0x0018, _) => {
                let mut ef = Ef::cyclic(fid, TxRecord::LEN, TX_RECORDS, Role::Plain);
                // Appended oldest first, so that record 1 reads back as the most recent.
                for rec in p.tx_records.iter().rev() {
                    ef.append(rec);
                }
                ef
            }
            (0x001A, _) => Ef::linear(
                fid,
                &(1..=TRANSIT_RECORDS)
                    .map(|n| transit_record(n, locked(n)))
                    .collect::<Vec<_>>(),
                Role::Capp {
                    lock_at: Some(TRANSIT_LOCK_AT),
                },
            ),
            (0x001E, _) => Ef::cyclic(fid, 48, PROCESS_RECORDS, Role::Capp { lock_at: None }),
            (other, _) => Ef::transparent(other, Vec::new()),
        };
        files.push(ef);
    }
    files
}

/// The scheme's AID.
pub(crate) fn aid(scheme: Scheme) -> &'static [u8] {
    match scheme {
        Scheme::Local => schemes::local::AID,
        Scheme::Mohurd => schemes::mohurd::AID,
        Scheme::Mot => schemes::mot::AID,
        Scheme::Pboc => schemes::pboc::AID,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use card_standards::crypto::Algorithm;
    use card_standards::files::{AppInfo, CappRecord, TransitRecord};

    #[test]
    fn fci_has_the_shape_of_the_real_card_log() {
        let p = CardProfile::test(Scheme::Mohurd, Algorithm::TripleDes);
        let info = app_info(&p);
        let fci = fci(Scheme::Mohurd, schemes::mohurd::AID, &info);
        // 6F 32 84 09 <AID> A5 25 9F08 01 01 9F0C 1E <30 bytes>
        assert_eq!(&fci[..4], &[0x6F, 0x32, 0x84, 0x09]);
        assert_eq!(
            &fci[13..22],
            &[0xA5, 0x25, 0x9F, 0x08, 0x01, 0x01, 0x9F, 0x0C, 0x1E]
        );
        assert_eq!(&fci[22..], &info[..]);
    }

    #[test]
    fn each_schemes_0015_decodes_in_its_layout_with_the_profiles_facts() {
        for scheme in Scheme::ALL {
            let p = CardProfile::test(scheme, Algorithm::TripleDes);
            let info = AppInfo::decode(scheme.profile().app_info_layout, &app_info(&p)).unwrap();
            assert_eq!(info.serial(), p.serial);
            assert_eq!(info.issuer(), p.issuer);
            assert_eq!(info.validity(p.start_date), Ok(()));
            assert_eq!(info.expiry_date(), p.expiry_date);
        }
    }

    #[test]
    fn personalised_composite_records_decode_and_carry_the_lock_flag() {
        let mut p = CardProfile::test(Scheme::Mohurd, Algorithm::TripleDes);
        p.locked_records = vec![2];
        let fs = files(&p);
        let capp = fs.iter().find(|f| f.fid == 0x0017).unwrap();
        assert_eq!(
            CappRecord::decode(capp.record(2).unwrap())
                .unwrap()
                .lock_flag,
            1
        );
        assert!(capp.is_locked(2) && !capp.is_locked(1));

        let p = CardProfile::test(Scheme::Mot, Algorithm::TripleDes);
        let fs = files(&p);
        let transit = fs.iter().find(|f| f.fid == 0x001A).unwrap();
        let rec = TransitRecord::decode(transit.record(1).unwrap()).unwrap();
        assert_eq!(rec.record_id, [0x27, 0x02]);
        assert_eq!(fs.len(), 6);
    }
}
