//! Whole-file rejections (F01–F05): the file is kept and reported, nothing of it applied.

use adapters::Format;
use hub::store::FileStatus;

use crate::lab::{ACQUIRER, Lab, file, records, records_for, seal_key};
use crate::on_both_backends;

/// Nothing of `file_id` is stored but its outcome: no records, no rejections.
async fn nothing_applied(lab: &Lab, file_id: i64) {
    let recs = lab
        .scalar(&format!(
            "SELECT COUNT(*) FROM records WHERE file_id = {file_id}"
        ))
        .await;
    let rejs = lab
        .scalar(&format!(
            "SELECT COUNT(*) FROM rejections WHERE file_id = {file_id}"
        ))
        .await;
    assert_eq!((recs, rejs), (0, 0), "file {file_id} left rows behind");
    let f = lab.store().file(file_id).await.unwrap().unwrap();
    assert_eq!(f.status, FileStatus::Rejected);
    assert!(
        lab.hub.vault.path_of(&f.stored_path).exists(),
        "the rejected file is kept"
    );
}

async fn an_unreadable_file_is_rejected_with_f01_and_nothing_is_stored(lab: Lab) {
    let r = lab
        .ingest_one(&lab.qdt, "junk.dat", b"this is not a transaction file\n")
        .await;
    assert_eq!(r.status, FileStatus::Rejected);
    assert_eq!(r.code.as_deref(), Some("F01"));
    nothing_applied(&lab, r.file_id).await;
    let json = lab.result(&lab.qdt, r.file_id).await;
    assert_eq!(json.status, "rejected");
    assert_eq!((json.accepted, json.rejected), (0, 0));
    assert_eq!(json.rejections.len(), 1);
    assert_eq!(json.rejections[0].code, "F01");
    assert_eq!(json.rejections[0].field.as_deref(), Some("format"));
}

async fn an_envelope_broken_midway_is_f01_naming_line_and_field_and_applies_nothing(lab: Lab) {
    let good = String::from_utf8(file(Format::HutongXml, ACQUIRER, 1, &records())).unwrap();
    // The fourth record's element is not closed: XML breaks after three good records.
    let mut lines: Vec<&str> = good.lines().collect();
    let fourth = lines[5].trim_end_matches("/>").to_string();
    lines[5] = &fourth;
    let bad = lines.join("\n");
    let r = lab.ingest_one(&lab.qdt, "broken.xml", bad.as_bytes()).await;
    assert_eq!(r.code.as_deref(), Some("F01"), "{r:?}");
    nothing_applied(&lab, r.file_id).await;
    let reason = r.reason.unwrap();
    assert!(reason.contains("line "), "{reason}");
    assert!(reason.contains("broken.xml"), "{reason}");
    assert!(
        r.records >= 3,
        "the records before the break were read: {}",
        r.records
    );
}

async fn a_trailer_that_disagrees_is_f02_and_none_of_the_good_records_is_applied(lab: Lab) {
    let good = String::from_utf8(file(
        Format::Mohurd,
        ACQUIRER,
        1,
        &records_for(Format::Mohurd)[..4],
    ))
    .unwrap();
    let trailer = good.lines().last().unwrap();
    let bad = good.replace(trailer, &trailer.replace("T0000000004", "T0000000005"));
    let r = lab.ingest_one(&lab.qdt, "MH.txt", bad.as_bytes()).await;
    assert_eq!(r.code.as_deref(), Some("F02"));
    assert_eq!(r.records, 4);
    assert_eq!(r.rejected, 4, "every record goes down with the file");
    nothing_applied(&lab, r.file_id).await;
    let json = lab.result(&lab.qdt, r.file_id).await;
    assert_eq!(json.rejections[0].code, "F02");
    assert_eq!(json.rejections[0].field.as_deref(), Some("record count"));
    // The same records in a correct file are then accepted: nothing was half-applied.
    let fixed = lab
        .ingest_one(
            &lab.qdt,
            "MH2.txt",
            &file(
                Format::Mohurd,
                ACQUIRER,
                1,
                &records_for(Format::Mohurd)[..4],
            ),
        )
        .await;
    assert_eq!(fixed.status, FileStatus::Accepted, "{fixed:?}");
    assert_eq!(fixed.accepted, 4);
}

async fn a_file_whose_header_names_another_sender_is_f03(lab: Lab) {
    let bytes = file(Format::HutongXml, "RIZHAO", 1, &records());
    let r = lab.ingest_one(&lab.qdt, "spoof.xml", &bytes).await;
    assert_eq!(r.code.as_deref(), Some("F03"));
    assert!(r.reason.as_deref().unwrap().contains("RIZHAO"), "{r:?}");
    nothing_applied(&lab, r.file_id).await;
}

async fn a_reused_sequence_number_with_other_content_is_f04(lab: Lab) {
    let recs = records();
    let first = lab
        .ingest_one(
            &lab.qdt,
            "a.csv",
            &file(Format::LocalCsv, ACQUIRER, 7, &recs[..2]),
        )
        .await;
    assert_eq!(first.status, FileStatus::Accepted, "{first:?}");
    let second = lab
        .ingest_one(
            &lab.qdt,
            "b.csv",
            &file(Format::LocalCsv, ACQUIRER, 7, &recs[2..4]),
        )
        .await;
    assert_eq!(second.code.as_deref(), Some("F04"));
    assert!(
        second
            .reason
            .as_deref()
            .unwrap()
            .contains(&format!("file {}", first.file_id))
    );
    nothing_applied(&lab, second.file_id).await;
    // Another sender's seq 7 is its own; and a seq whose file was rejected is free again.
    let other = lab
        .ingest_one(
            &lab.rizhao,
            "r.csv",
            &file(Format::LocalCsv, "RIZHAO", 7, &recs[2..3]),
        )
        .await;
    assert_eq!(other.status, FileStatus::Accepted, "{other:?}");
    let again = lab
        .ingest_one(
            &lab.qdt,
            "c.csv",
            &file(Format::LocalCsv, ACQUIRER, 8, &recs[3..4]),
        )
        .await;
    assert_eq!(again.status, FileStatus::Accepted, "{again:?}");
}

async fn a_sealed_participants_upload_without_or_with_a_wrong_seal_is_f05(lab: Lab) {
    let key = seal_key();
    lab.store()
        .set_seal_key(ACQUIRER, Some(&key))
        .await
        .unwrap();
    let recs = records();
    let body = file(Format::HutongXml, ACQUIRER, 1, &recs);
    // No seal.
    let missing = lab.upload(&lab.qdt, "a.xml", &body).await;
    // A seal of other bytes.
    let body2 = file(Format::HutongXml, ACQUIRER, 2, &recs[..1]);
    let wrong_seal = hub::seal::seal_bytes(&key, b"something else");
    let wrong = lab
        .upload_sealed(&lab.qdt, "b.xml", &body2, Some(&wrong_seal))
        .await;
    let reports = lab.ingest().await;
    for id in [missing, wrong] {
        let r = reports.iter().find(|r| r.file_id == id).unwrap();
        assert_eq!(r.code.as_deref(), Some("F05"), "{r:?}");
        nothing_applied(&lab, id).await;
    }
    // The right seal (lower-case hex is fine too).
    let body3 = file(Format::HutongXml, ACQUIRER, 3, &recs);
    let good3 = hub::seal::seal_bytes(&key, &body3).to_ascii_lowercase();
    let ok = lab
        .upload_sealed(&lab.qdt, "c.xml", &body3, Some(&good3))
        .await;
    let r = lab.ingest().await;
    let r = r.iter().find(|r| r.file_id == ok).unwrap();
    assert_eq!(r.status, FileStatus::Accepted, "{r:?}");
    assert_eq!(r.accepted, recs.len() as i64);
}

on_both_backends!(
    an_unreadable_file_is_rejected_with_f01_and_nothing_is_stored,
    an_envelope_broken_midway_is_f01_naming_line_and_field_and_applies_nothing,
    a_trailer_that_disagrees_is_f02_and_none_of_the_good_records_is_applied,
    a_file_whose_header_names_another_sender_is_f03,
    a_reused_sequence_number_with_other_content_is_f04,
    a_sealed_participants_upload_without_or_with_a_wrong_seal_is_f05,
);
