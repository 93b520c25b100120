//! Property tests: computed MACs and TACs verify, and any single-bit change of key or data
//! makes them fail; card files round-trip.

use card_standards::crypto::{self, Algorithm, IssuerTacKey, Key16, LoadData, PurchaseData};
use card_standards::files::{
    AppType, CappRecord, CardFile, Cardholder, MohurdAppInfo, MotAppInfo, MotAppStatus,
    MotManagementInfo, ProcessRecord, ProcessType, TransitRecord, TripPoint, TxRecord,
};
use card_standards::{CardSerial, CityCode, IssuerCode, TerminalId, TxType, bcd};
use chrono::{NaiveDate, NaiveDateTime};
use proptest::prelude::*;

fn alg() -> impl Strategy<Value = Algorithm> {
    prop_oneof![Just(Algorithm::TripleDes), Just(Algorithm::Sm4)]
}

fn datetime() -> impl Strategy<Value = NaiveDateTime> {
    (
        2000i32..2099,
        1u32..=12,
        1u32..=28,
        0u32..24,
        0u32..60,
        0u32..60,
    )
        .prop_map(|(y, mo, d, h, mi, s)| {
            NaiveDate::from_ymd_opt(y, mo, d)
                .unwrap()
                .and_hms_opt(h, mi, s)
                .unwrap()
        })
}

fn date() -> impl Strategy<Value = NaiveDate> {
    datetime().prop_map(|dt| dt.date())
}

fn purchase() -> impl Strategy<Value = PurchaseData> {
    (
        any::<u32>(),
        prop_oneof![Just(0x05u8), Just(0x06), Just(0x09)],
        any::<[u8; 6]>(),
        any::<u32>(),
        datetime(),
    )
        .prop_map(|(amount, t, terminal, terminal_seq, dt)| PurchaseData {
            amount,
            tx_type: TxType(t),
            terminal: TerminalId(terminal),
            terminal_seq,
            date_time: bcd::encode_datetime(dt),
        })
}

fn flip(bytes: &mut [u8], bit: usize) {
    let bit = bit % (bytes.len() * 8);
    bytes[bit / 8] ^= 1 << (bit % 8);
}

proptest! {
    #[test]
    fn a_computed_purchase_tac_verifies_and_any_flipped_bit_breaks_it(
        alg in alg(), mtk in any::<[u8; 16]>(), serial in any::<[u8; 10]>(),
        data in purchase(), bit in any::<usize>(),
    ) {
        let serial = CardSerial(serial);
        let dtk = crypto::diversify(alg, &Key16(mtk), &serial.diversification_factor());
        let tac = crypto::purchase_tac(alg, &dtk, &data);
        let issuer = IssuerTacKey::new(alg, &Key16(mtk));
        prop_assert!(issuer.verify_purchase(&serial, &data, &tac));

        // A flipped bit in the master key.
        let mut bad_key = mtk;
        flip(&mut bad_key, bit);
        // DES ignores each key byte's low (parity) bit, so a flip there leaves the key as it was.
        let parity_bit = alg == Algorithm::TripleDes && bit % (16 * 8) % 8 == 0;
        if !parity_bit {
            prop_assert!(!IssuerTacKey::new(alg, &Key16(bad_key)).verify_purchase(&serial, &data, &tac));
        }

        // A flipped bit in the TAC itself.
        let mut bad_tac = tac;
        flip(&mut bad_tac.0, bit);
        prop_assert!(!issuer.verify_purchase(&serial, &data, &bad_tac));

        // A flipped bit in the amount, terminal or counter.
        let mut bad = data;
        match bit % 3 {
            0 => bad.amount ^= 1 << (bit % 32),
            1 => flip(&mut bad.terminal.0, bit),
            _ => bad.terminal_seq ^= 1 << (bit % 32),
        }
        prop_assert!(!issuer.verify_purchase(&serial, &bad, &tac));
    }

    #[test]
    fn the_card_and_the_psam_agree_on_mac1_and_mac2_only_with_the_same_session(
        alg in alg(), dpk in any::<[u8; 16]>(), random in any::<[u8; 4]>(), seq in any::<u16>(),
        data in purchase(), bit in any::<usize>(),
    ) {
        let sk = crypto::purchase_session_key(alg, &Key16(dpk), random, seq, data.terminal_seq);
        let mac1 = crypto::purchase_mac1(&sk, &data, None);
        prop_assert!(crypto::verify_mac(&mac1, &crypto::purchase_mac1(&sk, &data, None)));
        let mut other_random = random;
        flip(&mut other_random, bit);
        let other = crypto::purchase_session_key(alg, &Key16(dpk), other_random, seq, data.terminal_seq);
        prop_assert!(!crypto::verify_mac(&mac1, &crypto::purchase_mac1(&other, &data, None)));
        prop_assert!(!crypto::verify_mac(&crypto::purchase_mac2(&sk, data.amount), &crypto::purchase_mac2(&other, data.amount)));
    }

    #[test]
    fn a_computed_load_tac_verifies_and_a_changed_balance_breaks_it(
        alg in alg(), mtk in any::<[u8; 16]>(), serial in any::<[u8; 10]>(),
        balance in 0u32..1_000_000, amount in 1u32..1_000_000, seq in any::<u16>(),
        terminal in any::<[u8; 6]>(), dt in datetime(), bit in 0u32..20,
    ) {
        let serial = CardSerial(serial);
        let data = LoadData { balance_before: balance, amount, tx_type: TxType::EP_LOAD,
            terminal: TerminalId(terminal), online_seq: seq, date_time: bcd::encode_datetime(dt) };
        let dtk = crypto::diversify(alg, &Key16(mtk), &serial.diversification_factor());
        let tac = crypto::load_tac(alg, &dtk, &data);
        let issuer = IssuerTacKey::new(alg, &Key16(mtk));
        prop_assert!(issuer.verify_load(&serial, &data, &tac));
        let tampered = LoadData { balance_before: balance ^ (1 << bit), ..data };
        prop_assert!(!issuer.verify_load(&serial, &tampered, &tac));
    }

    #[test]
    fn mohurd_0015_round_trips(issuer in any::<[u8; 2]>(), city in any::<[u8; 2]>(), rest in any::<[u8; 6]>(),
        serial in any::<[u8; 10]>(), start in date(), end in date(), custom in any::<[u8; 2]>(),
        extra in any::<Option<[u8; 2]>>()) {
        let f = MohurdAppInfo { issuer_code: IssuerCode(issuer), city_code: CityCode(city),
            industry_code: [rest[0], rest[1]], rfu: [rest[2], rest[3]], app_type: AppType(rest[4]), app_version: rest[5],
            serial: CardSerial(serial), start_date: start, expiry_date: end, custom, extra };
        let bytes = f.encode();
        prop_assert_eq!(bytes.len(), if extra.is_some() { 32 } else { 30 });
        prop_assert_eq!(MohurdAppInfo::decode(&bytes)?, f);
    }

    #[test]
    fn mot_0015_and_0016_and_0017_round_trip(issuer in any::<[u8; 2]>(), city in any::<[u8; 2]>(),
        suffix in any::<[u8; 4]>(), serial in any::<[u8; 10]>(), start in date(), end in date(),
        name in any::<[u8; 20]>(), id in prop::array::uniform32(any::<u8>()), small in any::<[u8; 8]>()) {
        let f = MotAppInfo { issuer_code: IssuerCode(issuer), city_code: CityCode(city), issuer_suffix: suffix,
            app_type: AppType(small[0]), app_status: MotAppStatus(small[1]), serial: CardSerial(serial), start_date: start,
            expiry_date: end, custom: [small[2], small[3]] };
        prop_assert_eq!(MotAppInfo::decode(&f.encode())?, f);
        let h = Cardholder { card_type: small[4], staff_flag: small[5], name, id_number: id, id_type: small[6] };
        prop_assert_eq!(Cardholder::decode(&h.encode())?, h);
        let mut rfu = [0u8; 49];
        rfu[..20].copy_from_slice(&name);
        let m = MotManagementInfo { country_code: suffix, province_code: issuer, city_code: city,
            interop: u16::from(small[7] & 1), card_kind: small[0], rfu };
        prop_assert_eq!(MotManagementInfo::decode(&m.encode())?, m);
    }

    #[test]
    fn records_0017_0018_001a_001e_round_trip(seq in any::<u16>(), amount in any::<u32>(), over in 0u32..0x100_0000,
        t in any::<u8>(), terminal in any::<[u8; 6]>(), dt in datetime(), other in datetime(),
        data45 in prop::collection::vec(any::<u8>(), 45), b8 in any::<[u8; 8]>(), unset in any::<bool>()) {
        let r = TxRecord { seq, overdraft: over, amount, tx_type: TxType(t), terminal: TerminalId(terminal), date_time: dt };
        prop_assert_eq!(TxRecord::decode(&r.encode())?, r);

        let c = CappRecord { record_id: t, lock_flag: b8[0], data: data45.try_into().unwrap() };
        prop_assert_eq!(CappRecord::decode(&c.encode())?, c);

        let p = ProcessRecord { process_type: ProcessType(t), terminal: b8, industry_code: b8[1],
            line: [b8[0], b8[1], b8[2], b8[3]], station: [b8[4], b8[5], b8[6]], amount, balance: amount / 2,
            date_time: dt, acquirer_city: [b8[7], b8[0]], institution: b8, max_incomplete_amount: over, max_minutes: seq };
        prop_assert_eq!(ProcessRecord::decode(&p.encode())?, p);

        let point = |time| TripPoint { city: [b8[0], b8[1]], institution: b8, operator: [b8[2], b8[3]],
            line: seq, station: t, vehicle: b8, terminal: b8, time };
        let a = TransitRecord { record_id: [0x27, 0x02], len: 0x7D, valid: 1, tx_flag: 1, locked: t & 1,
            tx_serial: b8, state: 1, boarding: point(Some(dt)), max_fare: amount, direction: t,
            alighting: point(if unset { None } else { Some(other) }), amount, mileage: seq,
            reserved_city: [b8[4], b8[5]], driver: [b8[0]; 4], conductor: [b8[1]; 4], trip_no: seq,
            max_minutes: seq, station_name: [b8[2]; 10], rfu: [0, 0] };
        let bytes = a.encode();
        prop_assert_eq!(bytes.len(), 128);
        prop_assert_eq!(TransitRecord::decode(&bytes)?, a);
    }

    #[test]
    fn file_decoders_never_panic_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..140)) {
        let _ = MohurdAppInfo::decode(&bytes);
        let _ = MotAppInfo::decode(&bytes);
        let _ = Cardholder::decode(&bytes);
        let _ = MotManagementInfo::decode(&bytes);
        let _ = CappRecord::decode(&bytes);
        let _ = TxRecord::decode(&bytes);
        let _ = TransitRecord::decode(&bytes);
        let _ = ProcessRecord::decode(&bytes);
        if let Ok(apdu) = card_standards::apdu::CommandApdu::parse(&bytes) {
            let _ = card_standards::apdu::Command::parse(&apdu);
        }
    }
}
