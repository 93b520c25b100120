//! Personalisation: the issuer's master keys and everything a card is issued with.

use card_standards::crypto::{self, Algorithm, Key16};
use card_standards::files::{
    AppInfo, AppType, CappRecord, CardFile, Cardholder, MotAppStatus, MotManagementInfo, TxRecord,
};
use card_standards::schemes::AppInfoLayout;
use card_standards::{
    CardSerial, CardType, CityCode, CodeTables, IssuerCode, IssuerId, Scheme, TxKind,
};
use chrono::NaiveDate;

use crate::error::{Error, Result};

/// An issuer's master keys and the algorithm of its cards. Each card's keys are diversified
/// from these by the right-most 8 bytes of the card's serial (one level, STANDARDS.md §2).
///
/// `Debug` never prints a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuerKeys {
    /// 3DES or hutong's SM4 profile (the SM4 profile is inferred, STANDARDS.md "SM4").
    pub alg: Algorithm,
    /// Master purchase key (MPK), from which each card's DPK is diversified.
    pub mpk: Key16,
    /// Master load key (MLK), from which each card's DLK is diversified.
    pub mlk: Key16,
    /// Master TAC key (MTK), from which each card's DTK is diversified.
    pub mtk: Key16,
}

/// The published test master keys of the conformance catalogue's simulated cards: not secret,
/// never to be used on a real card.
const TEST_MPK: [u8; 16] = *b"\x11\x22\x33\x44\x55\x66\x77\x88\x88\x77\x66\x55\x44\x33\x22\x11";
const TEST_MLK: [u8; 16] = *b"\x22\x33\x44\x55\x66\x77\x88\x99\x99\x88\x77\x66\x55\x44\x33\x22";
const TEST_MTK: [u8; 16] = *b"\x33\x44\x55\x66\x77\x88\x99\xAA\xAA\x99\x88\x77\x66\x55\x44\x33";

impl IssuerKeys {
    /// The catalogue's test keys: MPK `11223344556677888877665544332211`, MLK
    /// `22334455667788999988776655443322`, MTK `33445566778899AAAA99887766554433`.
    pub fn test(alg: Algorithm) -> IssuerKeys {
        IssuerKeys {
            alg,
            mpk: Key16(TEST_MPK),
            mlk: Key16(TEST_MLK),
            mtk: Key16(TEST_MTK),
        }
    }

    /// The card keys of the card with this serial.
    pub fn card_keys(&self, serial: &CardSerial) -> CardKeys {
        let factor = serial.diversification_factor();
        CardKeys {
            dpk: crypto::diversify(self.alg, &self.mpk, &factor),
            dlk: crypto::diversify(self.alg, &self.mlk, &factor),
            dtk: crypto::diversify(self.alg, &self.mtk, &factor),
        }
    }

    /// The issuer's TAC key scheduled for bulk verification, as a clearing centre holds it.
    pub fn tac_key(&self) -> card_standards::IssuerTacKey {
        card_standards::IssuerTacKey::new(self.alg, &self.mtk)
    }
}

/// A card's own keys: purchase (DPK), load (DLK) and TAC (DTK) keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardKeys {
    /// The purchase key.
    pub dpk: Key16,
    /// The load key.
    pub dlk: Key16,
    /// The TAC key.
    pub dtk: Key16,
}

/// The life-cycle state of the purse application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppState {
    /// Issued but not enabled: the card refuses INITIALIZE with 6985. A T-Union card says so in
    /// 0015 (启用标识 = 00); a MOHURD-layout 0015 has no such flag (byte 8 is the application
    /// type), so only the COS knows **\[I\]**.
    NotEnabled,
    /// Enabled (启用标识 = 01): the normal state.
    Enabled,
    /// Blocked / stopped (T-Union 启用标识 = 02): the card answers SELECT of the application
    /// with 9303. **\[I\]**: FMCOS-style behaviour of a permanently locked application.
    Blocked,
}

/// Everything a simulated card is personalised with.
///
/// [`CardProfile::new`] fills sensible defaults; [`CardProfile::test`] is the catalogue's
/// standard test card. The fields are public so that a simulator can build populations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardProfile {
    /// The card's scheme (which AID, files and 0015 layout).
    pub scheme: Scheme,
    /// Issuer code and issuer city code, written to 0015.
    pub issuer: IssuerId,
    /// The 10-byte application serial, written to 0015; its right-most 8 bytes diversify the
    /// card's keys.
    pub serial: CardSerial,
    /// The scheme's raw card-type code, written to 0016 byte 0.
    pub card_type: u8,
    /// 启用日期: the first day the application may be used.
    pub start_date: NaiveDate,
    /// 有效日期: the last day the application may be used.
    pub expiry_date: NaiveDate,
    /// Enabled, not enabled or blocked.
    pub app_state: AppState,
    /// The e-purse balance in fen.
    pub balance: u32,
    /// The overdraft limit in fen (3 bytes; reported by INITIALIZE FOR PURCHASE and stored in
    /// 0018 records; the EP purse never overdraws).
    pub overdraft_limit: u32,
    /// The highest balance a load may reach, in fen; a load above it is refused with 6985
    /// **\[I\]** (the PBOC 2.0 text's status word for this case is not at hand).
    pub max_balance: u32,
    /// The offline (purchase) transaction counter.
    pub offline_seq: u16,
    /// The online (load) transaction counter.
    pub online_seq: u16,
    /// The issuer's master keys; the card holds keys diversified from them.
    pub keys: IssuerKeys,
    /// The key index of DPK and DLK that INITIALIZE must name (others answer 9403).
    pub key_index: u8,
    /// The key version INITIALIZE announces.
    pub key_version: u8,
    /// Record numbers of the composite-record file (0017 on MOHURD and local cards, 001A on
    /// T-Union cards) personalised with their lock flag set.
    pub locked_records: Vec<u8>,
    /// 0015 byte 8, the application type (kept raw; see [`AppType`]). Default: 01 in the
    /// MOHURD layout, as on the real Changsha card; 02 on T-Union cards, as on theirs \[S\].
    pub app_type: AppType,
    /// The ED (电子存折) balance in fen for a card with an ED purse beside the EP; `None` for an
    /// EP-only card. Default: an empty ED on PBOC ED/EP cards (PBOC 2.0 defines both purses),
    /// none elsewhere (JT/T 978 pairs the EP with e-cash, not an ED) **\[I\]**.
    pub ed_balance: Option<u32>,
    /// Files written verbatim instead of being built from the fields above, as read off a real
    /// card (see [`CardProfile::from_real_files`]).
    pub real_files: RealFiles,
    /// 0018 records the card holds when issued, as READ RECORD returns them (record 1, the most
    /// recent, first); see [`CardProfile::preload_records`].
    pub tx_records: Vec<[u8; 23]>,
}

/// Raw files of a real card that personalisation writes byte for byte.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RealFiles {
    /// 0015 (30 bytes, or 32 in the MOHURD layout); the FCI's 9F0C carries the same bytes.
    pub app_info: Option<Vec<u8>>,
    /// 0016 (55 bytes).
    pub cardholder: Option<Vec<u8>>,
    /// 0017: T-Union management information (60 bytes), or MOHURD composite records
    /// (a multiple of 48 bytes, record 1 first).
    pub file_0017: Option<Vec<u8>>,
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

impl CardProfile {
    /// A profile with defaults: issuer and city of the scheme's test issuer (see
    /// [`CardProfile::test_issuer`]), adult card type, valid 2020-01-01 to 2049-12-31, enabled,
    /// balance 0, overdraft 0, maximum balance 1 000 000 fen, counters 0, key index and version
    /// 01, no locked record.
    pub fn new(scheme: Scheme, serial: CardSerial, keys: IssuerKeys) -> CardProfile {
        let adult = CodeTables::builtin()
            .card_type_code(scheme, CardType::Adult)
            .ok()
            .and_then(|raw| u8::from_str_radix(raw, 16).ok())
            .unwrap_or(0);
        CardProfile {
            scheme,
            issuer: CardProfile::test_issuer(scheme),
            serial,
            card_type: adult,
            start_date: date(2020, 1, 1),
            expiry_date: date(2049, 12, 31),
            app_state: AppState::Enabled,
            balance: 0,
            overdraft_limit: 0,
            max_balance: 1_000_000,
            offline_seq: 0,
            online_seq: 0,
            keys,
            key_index: 0x01,
            key_version: 0x01,
            locked_records: Vec::new(),
            app_type: match scheme.profile().app_info_layout {
                AppInfoLayout::Mohurd => AppType::TYPE_01,
                AppInfoLayout::Mot => AppType::TYPE_02,
            },
            ed_balance: (scheme == Scheme::Pboc).then_some(0),
            real_files: RealFiles::default(),
            tx_records: Vec::new(),
        }
    }

    /// A profile that becomes the card whose raw 0015 (and, if given, 0016 and 0017) these are:
    /// the serial, issuer, city, dates and application type come from 0015, the card type from
    /// 0016, and the files are written byte for byte. The application state follows the
    /// T-Union 启用标识 (00 not enabled, 02 stopped → blocked **\[I\]**, 01 or a value no source
    /// defines → enabled); a MOHURD-layout card is enabled (its 0015 has no flag). Keys,
    /// balance and counters are the caller's (the card's real keys are not in its files).
    pub fn from_real_files(
        scheme: Scheme,
        keys: IssuerKeys,
        app_info: &[u8],
        cardholder: Option<&[u8]>,
        file_0017: Option<&[u8]>,
    ) -> Result<CardProfile> {
        let layout = scheme.profile().app_info_layout;
        let info =
            AppInfo::decode(layout, app_info).map_err(|e| Error::Profile(format!("0015: {e}")))?;
        let mut p = CardProfile::new(scheme, info.serial(), keys);
        p.issuer = info.issuer();
        p.start_date = info.start_date();
        p.expiry_date = info.expiry_date();
        p.app_type = info.app_type();
        p.app_state = match info.status() {
            Some(MotAppStatus::NOT_ENABLED) => AppState::NotEnabled,
            Some(MotAppStatus::STOPPED) => AppState::Blocked,
            _ => AppState::Enabled,
        };
        p.real_files.app_info = Some(app_info.to_vec());
        if let Some(raw) = cardholder {
            let holder =
                Cardholder::decode(raw).map_err(|e| Error::Profile(format!("0016: {e}")))?;
            p.card_type = holder.card_type;
            p.real_files.cardholder = Some(raw.to_vec());
        }
        if let Some(raw) = file_0017 {
            match layout {
                AppInfoLayout::Mot => {
                    MotManagementInfo::decode(raw)
                        .map_err(|e| Error::Profile(format!("0017: {e}")))?;
                }
                AppInfoLayout::Mohurd => {
                    if raw.is_empty() || raw.len() % CappRecord::LEN != 0 {
                        return Err(Error::Profile(format!(
                            "0017: {} bytes is not a whole number of {}-byte composite records",
                            raw.len(),
                            CappRecord::LEN
                        )));
                    }
                    for (i, rec) in raw.chunks(CappRecord::LEN).enumerate() {
                        CappRecord::decode(rec)
                            .map_err(|e| Error::Profile(format!("0017 record {}: {e}", i + 1)))?;
                    }
                }
            }
            p.real_files.file_0017 = Some(raw.to_vec());
        }
        Ok(p)
    }

    /// Preloads 0018 with a real card's records, as READ RECORD returned them (record 1, the
    /// most recent, first; at most 10). Each must decode as a 0018 record. The counters are
    /// raised to the highest counter the records show — purchases for the offline counter,
    /// loads for the online one (a record stores the counter after its transaction) — so the
    /// card's next transaction follows them.
    pub fn preload_records(&mut self, records: &[Vec<u8>]) -> Result<()> {
        if records.len() > crate::card::TX_RECORD_CAPACITY {
            return Err(Error::Profile(format!(
                "{} 0018 records given; the file holds {}",
                records.len(),
                crate::card::TX_RECORD_CAPACITY
            )));
        }
        let mut out = Vec::with_capacity(records.len());
        for (i, raw) in records.iter().enumerate() {
            let rec = TxRecord::decode(raw)
                .map_err(|e| Error::Profile(format!("0018 record {}: {e}", i + 1)))?;
            match rec.tx_type.kind() {
                TxKind::Load => self.online_seq = self.online_seq.max(rec.seq),
                k if k.is_debit() => self.offline_seq = self.offline_seq.max(rec.seq),
                _ => {}
            }
            let mut bytes = [0u8; 23];
            bytes.copy_from_slice(raw);
            out.push(bytes);
        }
        self.tx_records = out;
        Ok(())
    }

    /// The catalogue's standard test card of a scheme: [`CardProfile::new`] with the scheme's
    /// test serial, the [test keys](IssuerKeys::test) and a balance of 10 000 fen.
    pub fn test(scheme: Scheme, alg: Algorithm) -> CardProfile {
        let mut profile = CardProfile::new(
            scheme,
            CardProfile::test_serial(scheme),
            IssuerKeys::test(alg),
        );
        profile.balance = 10_000;
        profile
    }

    /// The test issuer of each scheme: local = 琴岛通 Qingdao (issuer 0532, MOHURD city 2660),
    /// mohurd = Changsha (0731/4100, as on the real card of STANDARDS.md), mot = a T-Union
    /// issuer in Qingdao (0101/4520, T-Union city code of Qingdao), pboc = a Ningbo co-branded card (0574/3150). The issuer
    /// codes are illustrative **\[I\]**.
    pub fn test_issuer(scheme: Scheme) -> IssuerId {
        let (issuer, city) = match scheme {
            Scheme::Local => ([0x05, 0x32], [0x26, 0x60]),
            Scheme::Mohurd => ([0x07, 0x31], [0x41, 0x00]),
            Scheme::Mot => ([0x01, 0x01], [0x45, 0x20]),
            Scheme::Pboc => ([0x05, 0x74], [0x31, 0x50]),
        };
        IssuerId {
            issuer_code: IssuerCode(issuer),
            city_code: CityCode(city),
        }
    }

    /// The test serial of each scheme's standard test card.
    pub fn test_serial(scheme: Scheme) -> CardSerial {
        CardSerial(match scheme {
            Scheme::Local => [0x00, 0x00, 0x26, 0x60, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01],
            Scheme::Mohurd => [0x00, 0x00, 0x41, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01],
            Scheme::Mot => [0x03, 0x10, 0x43, 0x70, 0x20, 0x00, 0x00, 0x00, 0x00, 0x01],
            Scheme::Pboc => [0x00, 0x00, 0x31, 0x50, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01],
        })
    }

    /// Checks that the profile can be personalised: dates in order, balance within the
    /// maximum and the overdraft limit within 3 bytes.
    pub fn validate(&self) -> Result<()> {
        if self.start_date > self.expiry_date {
            return Err(Error::Profile(format!(
                "start date {} is after expiry date {}",
                self.start_date, self.expiry_date
            )));
        }
        if self.balance > self.max_balance {
            return Err(Error::Profile(format!(
                "balance {} fen is above the maximum balance {} fen",
                self.balance, self.max_balance
            )));
        }
        if let Some(ed) = self.ed_balance
            && ed > self.max_balance
        {
            return Err(Error::Profile(format!(
                "ED balance {ed} fen is above the maximum balance {} fen",
                self.max_balance
            )));
        }
        if self.overdraft_limit > 0x00FF_FFFF {
            return Err(Error::Profile(format!(
                "overdraft limit {} fen does not fit in 3 bytes",
                self.overdraft_limit
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_keys_are_the_one_level_diversification_of_the_master_keys() {
        let keys = IssuerKeys::test(Algorithm::TripleDes);
        let serial = CardProfile::test_serial(Scheme::Mohurd);
        let card = keys.card_keys(&serial);
        let factor = serial.diversification_factor();
        assert_eq!(
            card.dtk,
            crypto::diversify(Algorithm::TripleDes, &keys.mtk, &factor)
        );
        assert_ne!(card.dpk, card.dlk);
        assert_eq!(keys.tac_key().card_dtk(&serial), card.dtk);
    }

    #[test]
    fn test_profiles_validate_and_broken_ones_do_not() {
        for scheme in Scheme::ALL {
            let p = CardProfile::test(scheme, Algorithm::Sm4);
            p.validate().unwrap();
            assert_eq!(p.balance, 10_000);
        }
        let mut p = CardProfile::test(Scheme::Mot, Algorithm::TripleDes);
        p.start_date = date(2050, 1, 1);
        assert!(
            p.validate()
                .unwrap_err()
                .to_string()
                .contains("after expiry")
        );
        let mut p = CardProfile::test(Scheme::Mot, Algorithm::TripleDes);
        p.balance = p.max_balance + 1;
        assert!(p.validate().is_err());
    }

    #[test]
    fn default_card_type_is_the_schemes_adult_code() {
        assert_eq!(
            CardProfile::test(Scheme::Mohurd, Algorithm::TripleDes).card_type,
            0x01
        );
        assert_eq!(
            CardProfile::test(Scheme::Local, Algorithm::TripleDes).card_type,
            0x00
        );
    }
}
