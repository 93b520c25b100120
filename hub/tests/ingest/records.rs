//! Record-level checks (R01–R07): the record is rejected and kept, the rest of the file goes
//! on; and what an accepted record is stored with.

use crate::lab::china_local;
use adapters::Format;
use card_standards::{Scheme, TxType};
use chrono::{Duration, Utc};
use hub::store::FileStatus;

use crate::lab::{ACQUIRER, Lab, file, genuine, records, scalar, text};
use crate::on_both_backends;

/// The code stored for record `n` of `file_id`.
async fn code_of(lab: &Lab, file_id: i64, n: i64) -> Option<String> {
    text(
        lab.store(),
        &format!("SELECT MAX(code) FROM rejections WHERE file_id = {file_id} AND record_no = {n}"),
    )
    .await
}

async fn a_clean_file_is_accepted_whole_with_each_records_route_and_tac_status(lab: Lab) {
    let recs = records();
    let r = lab
        .ingest_one(
            &lab.qdt,
            "all.xml",
            &file(Format::HutongXml, ACQUIRER, 1, &recs),
        )
        .await;
    assert_eq!(r.status, FileStatus::Accepted, "{r:?}");
    assert_eq!((r.records, r.accepted, r.rejected), (7, 7, 0));
    let f = r.file_id;
    let s = lab.store();
    let q = |w: &str| format!("SELECT COUNT(*) FROM records WHERE file_id = {f} AND {w}");
    assert_eq!(
        scalar(s, &q("issuer_participant = 'QDT01' AND scheme = 'local'")).await,
        3
    );
    assert_eq!(
        scalar(
            s,
            &q("issuer_participant = 'MOHURD-CC' AND kind = 'composite_purchase'")
        )
        .await,
        1
    );
    assert_eq!(
        scalar(
            s,
            &q("issuer_participant = 'TUNION' AND card_serial = '03105170010170907984'")
        )
        .await,
        1
    );
    assert_eq!(scalar(s, &q("issuer_participant = 'BANK'")).await, 2);
    // Genuine TACs verify; the M1 record and the e-cash record have none.
    assert_eq!(scalar(s, &q("tac_status = 'valid'")).await, 5);
    assert_eq!(
        scalar(s, &q("tac_status = 'not_applicable' AND tac IS NULL")).await,
        2
    );
    assert_eq!(scalar(s, &q("medium = 'm1'")).await, 1);
    // Every canonical fact is stored as the contract says.
    let total: i64 = recs.iter().map(|t| t.amount_fen).sum();
    assert_eq!(
        scalar(
            s,
            &format!("SELECT CAST(SUM(amount_fen) AS BIGINT) FROM records WHERE file_id = {f}")
        )
        .await,
        total
    );
    assert_eq!(
        text(
            s,
            &format!(
                "SELECT auth_code FROM records WHERE file_id = {f} AND kind = 'composite_purchase'"
            )
        )
        .await
        .as_deref(),
        Some("8588D32B7688D32B76")
    );
    assert_eq!(
        text(
            s,
            &format!("SELECT industry FROM records WHERE file_id = {f} AND scheme = 'mot'")
        )
        .await
        .as_deref(),
        Some("highway")
    );
    assert_eq!(
        scalar(
            s,
            &q("tx_type = 9 AND terminal = '000000000001' AND terminal_seq = 1 AND card_seq = 42")
        )
        .await,
        1
    );
    assert_eq!(scalar(s, &q("LENGTH(natural_key) = 28")).await, 7);
    // Read back, every record is the canonical record that was sent, field for field.
    let stored = s.stored_records(None, 0, 100).await.unwrap();
    assert_eq!(stored.len(), 7);
    for (got, sent) in stored.iter().zip(&recs) {
        let mut got = got.tx.clone();
        assert_eq!(got.provenance.take().unwrap().file, format!("file {f}"));
        let mut sent = sent.clone();
        sent.provenance = None;
        assert_eq!(got, sent);
    }
    // …and can be written out in the issuer's own format (the 下发包 of a clearing window),
    // sealed for a participant that seals.
    let bank = s.stored_records(Some("BANK"), 0, 100).await.unwrap();
    assert_eq!(bank.len(), 2);
    let out = lab.hub.dir.path().join("to-bank.txt");
    let mut meta = adapters::FileMeta::new(
        "HUB",
        1,
        chrono::NaiveDate::from_ymd_opt(2026, 11, 22)
            .unwrap()
            .and_hms_opt(2, 0, 0)
            .unwrap(),
    );
    meta.receiver = Some("BANK".into());
    let key = crate::lab::seal_key();
    let written = hub::ingest::outputs::write_records(
        Format::Pboc,
        &meta,
        bank.iter().map(|r| &r.tx),
        &out,
        Some(&key),
    )
    .unwrap();
    assert!(written.refused.is_empty());
    assert_eq!(written.summary.records, 2);
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(
        written.seal.as_deref(),
        Some(hub::seal::seal_bytes(&key, &bytes).as_str())
    );
    assert_eq!(
        std::fs::read_to_string(hub::seal::sidecar_path(&out))
            .unwrap()
            .trim(),
        written.seal.unwrap()
    );
    let mut back =
        adapters::open(Format::Pboc, &bytes[..], adapters::ReadOptions::new("b")).unwrap();
    assert_eq!(
        back.next().unwrap().unwrap().card_serial,
        bank[0].tx.card_serial
    );
    // Without the issuers' keys the same records pass unverified.
    let later: Vec<_> = recs
        .iter()
        .map(|t| {
            let mut t = t.clone();
            t.terminal_seq += 1000;
            genuine(t)
        })
        .collect();
    let id = lab
        .upload(
            &lab.qdt,
            "nokeys.xml",
            &file(Format::HutongXml, ACQUIRER, 2, &later),
        )
        .await;
    let (reports, errors) = lab.ingestor(false).run_pending().await;
    assert!(errors.is_empty());
    assert_eq!(reports[0].status, FileStatus::Accepted);
    assert_eq!(
        scalar(
            s,
            &format!(
                "SELECT COUNT(*) FROM records WHERE file_id = {id} AND tac_status = 'unverified'"
            )
        )
        .await,
        5
    );
}

async fn a_card_without_a_route_is_r01_and_the_rest_goes_on(lab: Lab) {
    let mut recs = records();
    recs[4].issuer.issuer_code = "0202".parse().unwrap(); // a T-Union issuer…
    lab.store()
        .remove_route(Scheme::Mot, "*", "*")
        .await
        .unwrap();
    lab.store()
        .add_route(Scheme::Mot, "0101", "*", "TUNION")
        .await
        .unwrap(); // …with no route
    let r = lab
        .ingest_one(
            &lab.qdt,
            "r01.xml",
            &file(Format::HutongXml, ACQUIRER, 1, &recs),
        )
        .await;
    assert_eq!(r.status, FileStatus::PartiallyAccepted);
    assert_eq!((r.accepted, r.rejected), (6, 1));
    assert_eq!(code_of(&lab, r.file_id, 5).await.as_deref(), Some("R01"));
    let json = lab.result(&lab.qdt, r.file_id).await;
    assert_eq!(json.rejections.len(), 1);
    assert_eq!(json.rejections[0].record, 5);
    assert_eq!(json.rejections[0].field.as_deref(), Some("issuer"));
    assert!(
        json.rejections[0].reason.contains("0202"),
        "{:?}",
        json.rejections[0]
    );
}

async fn a_tac_that_does_not_verify_is_r02_where_the_hub_holds_the_key(lab: Lab) {
    let mut recs = records();
    recs[0].amount_fen += 1; // the TAC no longer covers the amount
    let r = lab
        .ingest_one(
            &lab.qdt,
            "r02.xml",
            &file(Format::HutongXml, ACQUIRER, 1, &recs),
        )
        .await;
    assert_eq!((r.accepted, r.rejected), (6, 1));
    assert_eq!(code_of(&lab, r.file_id, 1).await.as_deref(), Some("R02"));
    let raw = text(
        lab.store(),
        &format!("SELECT raw FROM rejections WHERE file_id = {}", r.file_id),
    )
    .await
    .unwrap();
    assert!(
        raw.starts_with("<Tx ") && raw.contains("amount=\"201\""),
        "the record is kept as sent: {raw}"
    );
    // The same forged record passes unverified where the hub has no key for its issuer.
    let mut forged = recs[0].clone();
    forged.terminal_seq += 1;
    let id = lab
        .upload(
            &lab.qdt,
            "r02b.xml",
            &file(Format::HutongXml, ACQUIRER, 2, &[forged]),
        )
        .await;
    let (reports, _) = lab.ingestor(false).run_pending().await;
    assert_eq!(reports[0].status, FileStatus::Accepted);
    assert_eq!(
        text(
            lab.store(),
            &format!("SELECT tac_status FROM records WHERE file_id = {id}")
        )
        .await
        .as_deref(),
        Some("unverified")
    );
}

async fn a_duplicate_is_r03_within_a_file_across_files_and_across_senders(lab: Lab) {
    let recs = records();
    // Within one file: record 3 repeats record 1.
    let within = vec![recs[0].clone(), recs[1].clone(), recs[0].clone()];
    let r = lab
        .ingest_one(
            &lab.qdt,
            "d1.csv",
            &file(Format::LocalCsv, ACQUIRER, 1, &within),
        )
        .await;
    assert_eq!((r.accepted, r.rejected), (2, 1), "{r:?}");
    assert_eq!(code_of(&lab, r.file_id, 3).await.as_deref(), Some("R03"));
    let dup_of = scalar(
        lab.store(),
        &format!(
            "SELECT CAST(d.record_no AS BIGINT) FROM rejections j JOIN records d ON d.id = j.duplicate_of \
             WHERE j.file_id = {}",
            r.file_id
        ),
    )
    .await;
    assert_eq!(dup_of, 1, "the first of the two is kept and named");
    // Across files of one sender (another format, the same transaction).
    let across = lab
        .ingest_one(
            &lab.qdt,
            "d2.txt",
            &file(
                Format::Mohurd,
                ACQUIRER,
                2,
                &[recs[3].clone(), recs[0].clone()],
            ),
        )
        .await;
    assert_eq!((across.accepted, across.rejected), (1, 1), "{across:?}");
    assert_eq!(
        code_of(&lab, across.file_id, 2).await.as_deref(),
        Some("R03")
    );
    let json = lab.result(&lab.qdt, across.file_id).await;
    assert!(
        json.rejections[0]
            .reason
            .contains(&format!("file {}", r.file_id)),
        "{json:?}"
    );
    // Across senders: RIZHAO presents the T-Union record QDT01 will also present.
    let mot = recs[4].clone();
    let first = lab
        .ingest_one(
            &lab.rizhao,
            "rz.xml",
            &file(Format::HutongXml, "RIZHAO", 1, std::slice::from_ref(&mot)),
        )
        .await;
    assert_eq!(first.status, FileStatus::Accepted);
    let second = lab
        .ingest_one(
            &lab.qdt,
            "d3.txt",
            &file(Format::Mot, ACQUIRER, 3, std::slice::from_ref(&mot)),
        )
        .await;
    assert_eq!(
        second.status,
        FileStatus::Rejected,
        "every record rejected: {second:?}"
    );
    assert_eq!(
        code_of(&lab, second.file_id, 1).await.as_deref(),
        Some("R03")
    );
    assert_eq!(
        scalar(
            lab.store(),
            "SELECT COUNT(*) FROM records WHERE card_serial = '03105170010170907984'"
        )
        .await,
        1
    );
}

async fn an_amount_out_of_range_is_r05(lab: Lab) {
    let mut recs = records();
    recs[0].amount_fen = 200_000; // ¥2 000 on a bus
    let recs: Vec<_> = recs.into_iter().map(genuine).collect();
    let r = lab
        .ingest_one(
            &lab.qdt,
            "r05.xml",
            &file(Format::HutongXml, ACQUIRER, 1, &recs),
        )
        .await;
    assert_eq!((r.accepted, r.rejected), (6, 1));
    assert_eq!(code_of(&lab, r.file_id, 1).await.as_deref(), Some("R05"));
    let json = lab.result(&lab.qdt, r.file_id).await;
    assert_eq!(json.rejections[0].field.as_deref(), Some("amount_fen"));
}

async fn a_time_outside_the_acceptance_window_is_r06(lab: Lab) {
    let mut recs = records();
    recs[1].tx_time = china_local(Utc::now()) - Duration::days(40);
    recs[2].tx_time = china_local(Utc::now()) + Duration::hours(2); // ahead of the receipt
    let recs: Vec<_> = recs.into_iter().map(genuine).collect();
    let r = lab
        .ingest_one(
            &lab.qdt,
            "r06.xml",
            &file(Format::HutongXml, ACQUIRER, 1, &recs),
        )
        .await;
    assert_eq!((r.accepted, r.rejected), (5, 2), "{r:?}");
    assert_eq!(code_of(&lab, r.file_id, 2).await.as_deref(), Some("R06"));
    assert_eq!(code_of(&lab, r.file_id, 3).await.as_deref(), Some("R06"));
}

async fn a_malformed_field_is_r07_named_and_kept_raw(lab: Lab) {
    let recs = records();
    let good = String::from_utf8(file(Format::Mot, ACQUIRER, 1, &[recs[4].clone()])).unwrap();
    let mut second = recs[4].clone();
    second.terminal_seq += 1;
    second = genuine(second);
    let two =
        String::from_utf8(file(Format::Mot, ACQUIRER, 1, &[recs[4].clone(), second])).unwrap();
    let _ = good;
    // Break the second record's terminal (a hex field) and give the first an unknown type.
    let mut lines: Vec<String> = two.lines().map(str::to_string).collect();
    lines[2].replace_range(60..72, "37020000000Z");
    let bad = lines.join("\n") + "\n";
    let r = lab.ingest_one(&lab.qdt, "r07.txt", bad.as_bytes()).await;
    assert_eq!((r.accepted, r.rejected), (1, 1), "{r:?}");
    assert_eq!(code_of(&lab, r.file_id, 2).await.as_deref(), Some("R07"));
    let json = lab.result(&lab.qdt, r.file_id).await;
    assert_eq!(json.rejections[0].field.as_deref(), Some("terminal"));
    assert!(json.rejections[0].reason.contains("record 2"), "{json:?}");
    let raw = text(
        lab.store(),
        &format!("SELECT raw FROM rejections WHERE file_id = {}", r.file_id),
    )
    .await;
    assert_eq!(raw.as_deref(), Some(lines[2].as_str()));
    // An unknown transaction type is R07 naming tx_type.
    let mut odd = records()[0].clone();
    odd.tx_type = TxType(0x42);
    odd.terminal_seq += 7;
    let r = lab
        .ingest_one(
            &lab.qdt,
            "r07b.xml",
            &file(Format::HutongXml, ACQUIRER, 2, &[odd]),
        )
        .await;
    assert_eq!(r.status, FileStatus::Rejected);
    let json = lab.result(&lab.qdt, r.file_id).await;
    assert_eq!(
        (
            json.rejections[0].code.as_str(),
            json.rejections[0].field.as_deref()
        ),
        ("R07", Some("tx_type"))
    );
}

/// Issue 12, defect 1: a T-Union purchase whose serial the `mot` format cannot carry was
/// accepted, charged to TUNION at the close and left out of its package. It is `R07` at ingest
/// now, naming the field and the format's reason, and kept in the file's result.
async fn a_record_its_issuers_format_cannot_carry_is_r07_at_ingest(lab: Lab) {
    let base = records()[4].clone();
    assert_eq!(base.scheme, Scheme::Mot);
    // TUNION receives the T-Union exchange file, as the T-Union network does.
    lab.store()
        .set_participant_format("TUNION", Some(Format::Mot))
        .await
        .unwrap();
    let five: Vec<_> = (0..5u32)
        .map(|i| {
            let mut tx = base.clone();
            tx.terminal_seq += i;
            if i == 2 {
                tx.card_serial = "0310ABCDEF0123456789".parse().unwrap();
            }
            genuine(tx)
        })
        .collect();
    let r = lab
        .ingest_one(
            &lab.qdt,
            "tunion5.xml",
            &file(Format::HutongXml, ACQUIRER, 1, &five),
        )
        .await;
    assert_eq!(r.status, FileStatus::PartiallyAccepted, "{r:?}");
    assert_eq!((r.accepted, r.rejected), (4, 1), "{r:?}");
    assert_eq!(code_of(&lab, r.file_id, 3).await.as_deref(), Some("R07"));
    let json = lab.result(&lab.qdt, r.file_id).await;
    let rej = &json.rejections[0];
    assert_eq!((rej.record, rej.field.as_deref()), (3, Some("card_serial")));
    assert!(
        rej.reason.contains("TUNION") && rej.reason.contains("19-digit T-Union card number"),
        "{rej:?}"
    );
    assert_eq!(
        scalar(
            lab.store(),
            &format!(
                "SELECT COUNT(*) FROM records WHERE file_id = {} AND issuer_participant = 'TUNION'",
                r.file_id
            )
        )
        .await,
        4
    );
}

on_both_backends!(
    a_clean_file_is_accepted_whole_with_each_records_route_and_tac_status,
    a_card_without_a_route_is_r01_and_the_rest_goes_on,
    a_tac_that_does_not_verify_is_r02_where_the_hub_holds_the_key,
    a_duplicate_is_r03_within_a_file_across_files_and_across_senders,
    an_amount_out_of_range_is_r05,
    a_time_outside_the_acceptance_window_is_r06,
    a_malformed_field_is_r07_named_and_kept_raw,
    a_record_its_issuers_format_cannot_carry_is_r07_at_ingest,
);
