//! The simulated cards' files read back as a reader app reads them (`conformance::dump`) and
//! decoded by `card_standards::decode`: every field the card was personalised with, and every
//! transaction the terminal made, comes back.

use card_standards::crypto::Algorithm;
use card_standards::decode::{self, FileKind};
use card_standards::{CodeTables, Industry, Scheme, TerminalId};
use conformance::dump::{FileDump, read_card};
use conformance::{CardProfile, LoadHost, Psam, SimCard, Terminal, TerminalConfig};
use serde_json::Value;

use super::now;

fn terminal(profile: &CardProfile) -> Terminal {
    let mut psam = Psam::new(TerminalId([0, 0, 0, 0, 0, 7]));
    psam.add_key(
        profile.issuer,
        profile.key_version,
        profile.keys.alg,
        profile.keys.mpk,
    );
    let mut host = LoadHost::new();
    host.add_key(
        profile.issuer,
        profile.key_version,
        profile.keys.alg,
        profile.keys.mlk,
    );
    Terminal::new(TerminalConfig::new("QDT", Industry::Bus), psam, host)
}

fn json(d: &decode::Decoded) -> Value {
    serde_json::to_value(d).unwrap()
}

#[test]
fn every_schemes_card_decodes_to_what_it_was_personalised_with_and_did() {
    for scheme in Scheme::ALL {
        for alg in [Algorithm::TripleDes, Algorithm::Sm4] {
            let profile = CardProfile::test(scheme, alg);
            let mut card = SimCard::personalise(&profile).unwrap();
            let mut t = terminal(&profile);
            let mut amounts = vec![
                t.purchase(&mut card, scheme, 200, now())
                    .unwrap()
                    .amount_fen,
            ];
            amounts.push(t.load(&mut card, scheme, 5_000, now()).unwrap().amount_fen);
            if scheme != Scheme::Pboc {
                let tx = t.composite_purchase(&mut card, scheme, 300, now()).unwrap();
                amounts.push(tx.amount_fen);
            }
            let balance = card.purse().balance;

            let dump = read_card(&mut card, &[]).unwrap();
            assert_eq!(dump.scheme, scheme);

            // The FCI names the scheme and carries 0015.
            let fci = json(
                &decode::decode(FileKind::Fci, None, std::slice::from_ref(&dump.fci)).unwrap(),
            );
            assert_eq!(fci["scheme"], scheme.to_string());
            let info = &fci["fci"]["app_info"];
            assert_eq!(info["serial"], profile.serial.to_string());
            let number = decode::card_number(scheme, &profile.serial);
            assert_eq!(info["card_number"], number);
            if scheme == Scheme::Mot {
                assert_eq!(number.len(), 19);
            }
            assert_eq!(info["issuer_code"], profile.issuer.issuer_code.to_string());
            let city_code = profile.issuer.city_code.to_string();
            assert_eq!(info["city"]["raw"], city_code);
            let table = CodeTables::builtin()
                .city_by_card_code(scheme, &city_code)
                .ok();
            assert_eq!(
                info["city"]["name"].as_str(),
                table.map(|c| c.name.as_str()),
                "{scheme}"
            );
            if scheme == Scheme::Mohurd {
                assert_eq!(info["city"]["name_zh"], "长沙");
            }
            assert_eq!(info["start_date"], profile.start_date.to_string());
            assert_eq!(info["expiry_date"], profile.expiry_date.to_string());
            // Only the T-Union layout has an enabled flag (启用标识); MOHURD's has none.
            if scheme == Scheme::Mot {
                assert_eq!(info["enabled"], true, "{scheme}");
            } else {
                assert!(info.get("enabled").is_none(), "{scheme}: {info}");
            }

            for (id, file) in &dump.files {
                let kind: FileKind = format!("{id:04X}").parse().unwrap();
                let parts = match file {
                    FileDump::Binary(b) => vec![b.clone()],
                    FileDump::Records(r) => r.clone(),
                    FileDump::Refused(sw) => panic!("{scheme} {id:04X} refused {sw}"),
                };
                if parts.is_empty() {
                    continue;
                }
                let d = json(&decode::decode(kind, Some(scheme), &parts).unwrap());
                match id {
                    0x0015 => assert_eq!(&d["app_info"], info),
                    0x0016 => {
                        let raw = format!("{:02X}", profile.card_type);
                        assert_eq!(d["cardholder"]["card_type"]["raw"], raw);
                        assert_eq!(d["cardholder"]["card_type"]["name"], "adult", "{scheme}");
                    }
                    0x0018 => {
                        let recs = d["tx_records"].as_array().unwrap();
                        assert_eq!(recs.len(), amounts.len(), "{scheme}");
                        // Record 1 is the newest.
                        for (rec, amount) in recs.iter().zip(amounts.iter().rev()) {
                            assert_eq!(rec["amount"]["fen"], *amount);
                        }
                        assert_eq!(recs.last().unwrap()["tx_type"]["name"], "EP purchase");
                        assert_eq!(recs[amounts.len() - 2]["tx_type"]["name"], "EP load");
                        assert_eq!(recs.last().unwrap()["counter"], 1);
                    }
                    0x0017 if scheme == Scheme::Mot => {
                        assert_eq!(d["management"]["interoperable"], true);
                    }
                    0x0017 => assert!(!d["capp_records"].as_array().unwrap().is_empty()),
                    0x001A => assert!(!d["transit_records"].as_array().unwrap().is_empty()),
                    0x001E => {
                        let recs = d["process_records"].as_array().unwrap();
                        assert_eq!(recs[0]["amount"]["fen"], 300);
                    }
                    _ => panic!("{scheme}: unexpected file {id:04X}"),
                }
            }
            let b =
                json(&decode::decode(FileKind::Balance, None, &[dump.balance.unwrap()]).unwrap());
            assert_eq!(b["balance"]["fen"], balance);
            assert_eq!(
                b["balance"]["yuan"],
                format!("{}.{:02}", balance / 100, balance % 100)
            );
        }
    }
}
