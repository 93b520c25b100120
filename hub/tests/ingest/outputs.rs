//! What ingest gives back: result JSON (sender only), result files in the sender's own
//! format, blacklists (R04) and their distribution, sealed downloads.

use adapters::{Action, Entry, Format};
use chrono::Duration;
use hub::store::{Direction, FileStatus};

use crate::lab::{ACQUIRER, Lab, blacklist_file, file, records, scalar, seal_key};
use crate::on_both_backends;

/// The outbound files addressed to `code`, with their content.
async fn outbox(lab: &Lab, code: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for f in lab.store().files_of(code, Direction::Out).await.unwrap() {
        let bytes = std::fs::read(lab.hub.vault.path_of(&f.stored_path)).unwrap();
        out.push((f.name, String::from_utf8(bytes).unwrap()));
    }
    out
}

async fn the_sender_gets_a_result_file_in_its_own_format_listing_every_record(lab: Lab) {
    let mut recs = crate::lab::records_for(Format::Mohurd)[..4].to_vec();
    recs[1].amount_fen += 1; // R02
    let r = lab
        .ingest_one(
            &lab.qdt,
            "UP1.txt",
            &file(Format::Mohurd, ACQUIRER, 5, &recs),
        )
        .await;
    assert_eq!(r.status, FileStatus::PartiallyAccepted);
    let files = outbox(&lab, ACQUIRER).await;
    assert_eq!(files.len(), 1, "{files:?}");
    let (name, text) = &files[0];
    assert_eq!(name, &format!("RESULT-{}-UP1.txt", r.file_id));
    let lines: Vec<&str> = text.lines().collect();
    let layout = &adapters::mohurd::RESULT_LAYOUT;
    assert!(lines[0].starts_with(&layout.signature()), "{text}");
    assert!(
        lines[0].contains("0000000005"),
        "the answered file's seq: {}",
        lines[0]
    );
    assert_eq!(lines.len(), 1 + 4 + 1);
    assert!(lines[1].starts_with("R0000000001") && lines[1].contains("purchase"));
    assert_eq!(&lines[1][95..96], "A");
    assert_eq!(&lines[2][95..99], "RR02");
    assert_eq!(lines[5], "T0000000004000000000000650100000000030000000001");
    // Depositing again changes nothing.
    lab.ingestor(true).deposit_pending_outputs().await.unwrap();
    lab.ingestor(true).deposit_outputs(r.file_id).await.unwrap();
    assert_eq!(outbox(&lab, ACQUIRER).await.len(), 1);
    // It can be fetched over mTLS like any file addressed to the sender.
    let dir = lab.hub.dir.path().join("inbox");
    let got = hub::client::fetch_new(&lab.hub.client(&lab.qdt), &dir)
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(std::fs::read_to_string(&got[0].path).unwrap(), *text);
}

async fn only_the_sender_may_read_a_files_result(lab: Lab) {
    let r = lab
        .ingest_one(
            &lab.qdt,
            "x.xml",
            &file(Format::HutongXml, ACQUIRER, 1, &records()),
        )
        .await;
    let url = format!("{}/v1/files/{}/result", lab.hub.url, r.file_id);
    let other = lab
        .hub
        .raw(Some(&lab.rizhao))
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 403);
    let mine = lab.hub.raw(Some(&lab.qdt)).get(&url).send().await.unwrap();
    assert_eq!(mine.status(), 200);
    let json: serde_json::Value = mine.json().await.unwrap();
    assert_eq!(json["status"], "accepted");
    assert_eq!(json["accepted"], 7);
    assert_eq!(json["rejections"], serde_json::json!([]));
    let missing = lab
        .hub
        .raw(Some(&lab.qdt))
        .get(format!("{}/v1/files/999999/result", lab.hub.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let refused = lab
        .hub
        .wait_for_audit(|e| e.result == "403" && e.participant.as_deref() == Some("RIZHAO"))
        .await;
    assert!(refused.target.unwrap().ends_with("/result"));
    // Before ingest the result says so.
    let id = lab
        .upload(
            &lab.qdt,
            "y.xml",
            &file(Format::HutongXml, ACQUIRER, 2, &records()[..1]),
        )
        .await;
    assert_eq!(lab.result(&lab.qdt, id).await.status, "received");
}

async fn a_blacklisted_card_is_r04_and_the_change_reaches_every_partner_in_its_format(lab: Lab) {
    lab.store()
        .set_participant_format("RIZHAO", Some(Format::LocalCsv))
        .await
        .unwrap();
    let recs = records();
    let mot = &recs[4];
    let lost = Entry {
        scheme: mot.scheme,
        issuer: mot.issuer,
        card: mot.card_serial,
        action: Action::Add,
        effective: mot.tx_time - Duration::hours(2),
        reason: "lost".into(),
    };
    // TUNION clears this card's issuer: it may blacklist it; QDT01 may not.
    let bl = lab
        .ingest_one(
            &lab.tunion,
            "BL1.txt",
            &blacklist_file(
                Format::MotBlacklist,
                "TUNION",
                1,
                std::slice::from_ref(&lost),
            ),
        )
        .await;
    assert_eq!(bl.status, FileStatus::Accepted, "{bl:?}");
    let intruder = lab
        .ingest_one(
            &lab.qdt,
            "BL2.xml",
            &blacklist_file(
                Format::HutongBlacklist,
                ACQUIRER,
                1,
                std::slice::from_ref(&lost),
            ),
        )
        .await;
    assert_eq!(intruder.status, FileStatus::Rejected);
    let json = lab.result(&lab.qdt, intruder.file_id).await;
    assert_eq!(json.rejections[0].code, "R01");
    assert!(
        json.rejections[0].reason.contains("route to TUNION"),
        "{json:?}"
    );

    // The change went to every other participant, each in its own family.
    let to_qdt = outbox(&lab, ACQUIRER).await;
    let bl_qdt = to_qdt
        .iter()
        .find(|(n, _)| n.starts_with("BLACKLIST-"))
        .unwrap();
    assert!(
        bl_qdt.1.contains("<BlacklistFile") && bl_qdt.1.contains("03105170010170907984"),
        "{bl_qdt:?}"
    );
    let bl_rz = outbox(&lab, "RIZHAO").await;
    let bl_rz = bl_rz
        .iter()
        .find(|(n, _)| n.starts_with("BLACKLIST-"))
        .unwrap();
    assert!(
        bl_rz.1.starts_with("H,local-csv-blacklist,1,HUB,RIZHAO,"),
        "{bl_rz:?}"
    );
    assert!(bl_rz.1.contains(",add,"));
    for p in ["MOHURD-CC", "BANK"] {
        assert!(
            outbox(&lab, p)
                .await
                .iter()
                .any(|(n, _)| n.starts_with("BLACKLIST-")),
            "{p}"
        );
    }
    assert!(
        !outbox(&lab, "TUNION")
            .await
            .iter()
            .any(|(n, _)| n.starts_with("BLACKLIST-")),
        "the sender does not get its own change back"
    );
    // The sender's result file is in its own (mot) family.
    let tun = outbox(&lab, "TUNION").await;
    assert!(
        tun.iter()
            .any(|(n, t)| n.starts_with("RESULT-") && t.starts_with("HTUNIRS01")),
        "{tun:?}"
    );
    assert_eq!(
        scalar(lab.store(), "SELECT COUNT(*) FROM blacklisted_cards").await,
        1
    );

    // A transaction on the card after it was listed is R04; the rest goes on.
    let r = lab
        .ingest_one(
            &lab.qdt,
            "tx.xml",
            &file(Format::HutongXml, ACQUIRER, 9, &recs),
        )
        .await;
    assert_eq!((r.accepted, r.rejected), (6, 1), "{r:?}");
    let json = lab.result(&lab.qdt, r.file_id).await;
    assert_eq!(json.rejections[0].record, 5);
    assert_eq!(json.rejections[0].code, "R04");
    assert_eq!(json.rejections[0].field.as_deref(), Some("card_serial"));

    // Lifted (effective before the transaction): the same transaction is accepted again.
    let found = Entry {
        action: Action::Remove,
        effective: mot.tx_time - Duration::minutes(30),
        reason: "found".into(),
        ..lost
    };
    let lifted = lab
        .ingest_one(
            &lab.tunion,
            "BL3.txt",
            &blacklist_file(Format::MotBlacklist, "TUNION", 2, &[found]),
        )
        .await;
    assert_eq!(lifted.status, FileStatus::Accepted);
    assert_eq!(
        scalar(lab.store(), "SELECT COUNT(*) FROM blacklisted_cards").await,
        0
    );
    let again = lab
        .ingest_one(
            &lab.qdt,
            "tx2.xml",
            &file(Format::HutongXml, ACQUIRER, 10, std::slice::from_ref(mot)),
        )
        .await;
    assert_eq!(again.status, FileStatus::Accepted, "{again:?}");
}

async fn a_sealed_participant_gets_sealed_downloads_and_fetch_checks_them(lab: Lab) {
    let key = seal_key();
    lab.store()
        .set_seal_key(ACQUIRER, Some(&key))
        .await
        .unwrap();
    let body = file(Format::HutongXml, ACQUIRER, 1, &records());
    let seal = hub::seal::seal_bytes(&key, &body);
    lab.upload_sealed(&lab.qdt, "s.xml", &body, Some(&seal))
        .await;
    let reports = lab.ingest().await;
    assert_eq!(reports[0].status, FileStatus::Accepted);
    // The result file was sealed at deposit; the download carries the seal.
    let out = lab
        .store()
        .files_of(ACQUIRER, Direction::Out)
        .await
        .unwrap();
    let content = std::fs::read(lab.hub.vault.path_of(&out[0].stored_path)).unwrap();
    assert_eq!(
        out[0].seal.as_deref(),
        Some(hub::seal::seal_bytes(&key, &content).as_str())
    );
    let response = lab
        .hub
        .raw(Some(&lab.qdt))
        .get(format!("{}/v1/files/{}", lab.hub.url, out[0].id))
        .send()
        .await
        .unwrap();
    let header = response.headers()["hutong-seal"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(header, hub::seal::seal_bytes(&key, &content));
    // fetch with the key verifies and writes the sidecar; with another key it refuses.
    let client = lab.hub.client(&lab.qdt);
    let wrong = hub::seal::SealKey::from_hex("00000000000000000000000000000001").unwrap();
    let bad_dir = lab.hub.dir.path().join("bad");
    let e = hub::client::fetch_new_sealed(&client, &bad_dir, Some(&wrong))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("Hutong-Seal"), "{e}");
    let dir = lab.hub.dir.path().join("good");
    let got = hub::client::fetch_new_sealed(&client, &dir, Some(&key))
        .await
        .unwrap();
    let sidecar = hub::seal::sidecar_path(&got[0].path);
    assert_eq!(std::fs::read_to_string(sidecar).unwrap().trim(), header);
    // A key changed after deposit: the seal is made again with the new key.
    let newer = hub::seal::SealKey::from_hex("11111111111111111111111111111111").unwrap();
    lab.store()
        .set_seal_key(ACQUIRER, Some(&newer))
        .await
        .unwrap();
    let response = lab
        .hub
        .raw(Some(&lab.qdt))
        .get(format!("{}/v1/files/{}", lab.hub.url, out[0].id))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["hutong-seal"].to_str().unwrap(),
        hub::seal::seal_bytes(&newer, &content)
    );
    // Participants without a key get no seal header.
    let plain = lab
        .hub
        .raw(Some(&lab.rizhao))
        .get(format!("{}/v1/files", lab.hub.url))
        .send()
        .await
        .unwrap();
    assert!(plain.headers().get("hutong-seal").is_none());
}

async fn the_serve_worker_ingests_an_upload_as_soon_as_it_is_stored(lab: Lab) {
    let worker = tokio::spawn(
        lab.ingestor(true)
            .run(lab.hub.ingest_wake.clone(), Default::default()),
    );
    let id = lab
        .upload(
            &lab.qdt,
            "w.xml",
            &file(Format::HutongXml, ACQUIRER, 1, &records()),
        )
        .await;
    let started = std::time::Instant::now();
    let json = loop {
        let json = lab.result(&lab.qdt, id).await;
        if json.status != "received" {
            break json;
        }
        assert!(
            started.elapsed().as_secs() < 4,
            "the worker did not ingest within its poll"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(json.status, "accepted");
    assert_eq!(json.accepted, 7);
    // Its result file follows in the outbox.
    for _ in 0..200 {
        if !outbox(&lab, ACQUIRER).await.is_empty() {
            worker.abort();
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("no result file in the outbox");
}

on_both_backends!(
    the_serve_worker_ingests_an_upload_as_soon_as_it_is_stored,
    the_sender_gets_a_result_file_in_its_own_format_listing_every_record,
    only_the_sender_may_read_a_files_result,
    a_blacklisted_card_is_r04_and_the_change_reaches_every_partner_in_its_format,
    a_sealed_participant_gets_sealed_downloads_and_fetch_checks_them,
);
