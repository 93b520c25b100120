//! Crafted data: participants, stored records with full card facts, closed windows, packages
//! and partners' result files, so that each discrepancy type has a known cause.

use adapters::FileMeta;
use adapters::hutong_xml::result::{self, ResultEntry, Status};
use card_standards::{CardSerial, IssuerId, NaturalKey, Scheme, TerminalId, TxKind};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use hub::clearing::{self, ClearingSettings};
use hub::store::{
    Direction, FileStatus, NewFile, NewParticipant, ParticipantScheme, Store, Timestamp,
};
use hub::vault::Vault;

pub(crate) fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
}

pub(crate) fn at(s: &str) -> Timestamp {
    Timestamp::from_datetime(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc))
}

pub(crate) fn local(d: u32, h: u32, m: u32) -> NaiveDateTime {
    day(d).and_hms_opt(h, m, 0).unwrap()
}

pub(crate) async fn participants(store: &Store) {
    for (code, scheme) in [
        ("QD", ParticipantScheme::Scheme(Scheme::Local)),
        ("MOT", ParticipantScheme::Scheme(Scheme::Mot)),
        ("RZ", ParticipantScheme::Partner),
    ] {
        store
            .add_participant(&NewParticipant {
                code: certs::ParticipantCode::new(code).unwrap(),
                scheme,
                name: code.into(),
                endpoint: None,
                endpoint_ca_pem: None,
                endpoint_cert_path: None,
                endpoint_key_path: None,
                settlement_account: Some(hub::demo::setup::simulated_settlement_account(code)),
            })
            .await
            .unwrap();
    }
}

/// One crafted record.
#[derive(Debug, Clone)]
pub(crate) struct Rec {
    pub(crate) scheme: &'static str,
    pub(crate) city: &'static str,
    pub(crate) serial: u64,
    pub(crate) kind: TxKind,
    pub(crate) card_seq: u16,
    pub(crate) before: i64,
    pub(crate) amount: i64,
    pub(crate) terminal: u64,
    pub(crate) terminal_seq: u32,
    pub(crate) time: NaiveDateTime,
    pub(crate) acquirer: &'static str,
    pub(crate) issuer: &'static str,
}

impl Rec {
    /// A purchase on a T-Union (MOT) card acquired by QD.
    pub(crate) fn mot(serial: u64, seq: u16, before: i64, amount: i64, minute: u32) -> Rec {
        Rec {
            scheme: "mot",
            city: "1100",
            serial,
            kind: TxKind::Purchase,
            card_seq: seq,
            before,
            amount,
            terminal: 0x10_0050,
            terminal_seq: 1000 + u32::from(seq),
            time: local(21, 8, minute),
            acquirer: "QD",
            issuer: "MOT",
        }
    }

    /// A purchase on a Qingdao local card acquired by RZ.
    pub(crate) fn local(serial: u64, seq: u16, before: i64, amount: i64, minute: u32) -> Rec {
        Rec {
            scheme: "local",
            city: "2660",
            serial,
            kind: TxKind::Purchase,
            card_seq: seq,
            before,
            amount,
            terminal: 0x20_0001,
            terminal_seq: 2000 + u32::from(seq) + minute,
            time: local(21, 9, minute),
            acquirer: "RZ",
            issuer: "QD",
        }
    }

    /// The record as ingest would have read it from a file.
    pub(crate) fn canonical(&self) -> card_standards::CanonicalTx {
        use card_standards::{Acceptance, CanonicalTx, CardMedium, CardType, CodeTables, TxType};
        let k = self.key();
        CanonicalTx {
            scheme: k.scheme,
            issuer: k.issuer,
            card_serial: k.card_serial,
            card_type: CardType::Adult,
            card_type_raw: CodeTables::builtin()
                .card_type_code(k.scheme, CardType::Adult)
                .unwrap_or("01")
                .to_string(),
            medium: CardMedium::Cpu,
            tx_type: if self.kind == TxKind::Load {
                TxType::EP_LOAD
            } else {
                TxType::EP_PURCHASE
            },
            amount_fen: self.amount,
            balance_before_fen: self.before,
            card_seq: self.card_seq,
            terminal: k.terminal,
            terminal_seq: self.terminal_seq,
            tx_time: self.time,
            key_version: 1,
            alg_id: 0,
            tac: Some("0A0B0C0D".parse().unwrap()),
            auth_code: None,
            acceptance: Acceptance {
                acquirer: self.acquirer.to_string(),
                operator: None,
                industry: "bus".parse().unwrap(),
                line: None,
                station: None,
                vehicle: None,
            },
            provenance: None,
        }
    }

    pub(crate) fn key(&self) -> NaturalKey {
        NaturalKey {
            scheme: self.scheme.parse().unwrap(),
            issuer: IssuerId {
                issuer_code: "0101".parse().unwrap(),
                city_code: self.city.parse().unwrap(),
            },
            card_serial: serial(self.serial),
            card_seq: self.card_seq,
            kind: self.kind,
            terminal: terminal(self.terminal),
            terminal_seq: self.terminal_seq,
        }
    }
}

pub(crate) fn serial(n: u64) -> CardSerial {
    format!("{n:020}").parse().unwrap()
}

pub(crate) fn terminal(n: u64) -> TerminalId {
    format!("{n:012X}").parse().unwrap()
}

/// Stores an accepted inbound file of `sender` received at `received` with `records`; returns
/// the record ids in order.
pub(crate) async fn file(
    store: &Store,
    sender: &str,
    received: Timestamp,
    records: &[Rec],
) -> Vec<i64> {
    file_and_id(store, sender, received, records).await.1
}

/// [`file`], also returning the file's id.
pub(crate) async fn file_and_id(
    store: &Store,
    sender: &str,
    received: Timestamp,
    records: &[Rec],
) -> (i64, Vec<i64>) {
    let mut name = [0u8; 8];
    aws_lc_rs::rand::fill(&mut name).unwrap();
    let (f, _) = store
        .record_file(&NewFile {
            direction: Direction::In,
            sender: Some(sender.into()),
            addressee: None,
            name: format!("{}.dat", hex::encode(name)),
            sha256: hex::encode([name, name, name, name].concat()),
            bytes: 1,
            status: FileStatus::Received,
            stored_path: "x".into(),
        })
        .await
        .unwrap();
    let id = f.id;
    let txs: Vec<_> = records.iter().map(|r| (r.canonical(), r.issuer)).collect();
    let ids = hub::store::testing::store_accepted(store, id, &txs)
        .await
        .unwrap();
    hub::store::testing::set_received(store, id, received, Some("accepted"))
        .await
        .unwrap();
    (id, ids)
}

/// Closes day `d`'s window (at a time after its cut-off) and writes its outbound packages.
pub(crate) async fn close(store: &Store, vault: &Vault, d: u32, now: Timestamp) {
    clearing::close_window(store, &ClearingSettings::default(), day(d), now, false)
        .await
        .unwrap();
    hub::outbound::produce_packages(store, vault, day(d), &Default::default(), None)
        .await
        .unwrap();
}

/// One line of a result file: the record's key, the partner's amount, and a rejection code.
pub(crate) fn answer(r: &Rec, amount: i64, rejected: Option<(&str, &str)>) -> ResultEntry {
    let k = r.key();
    ResultEntry {
        scheme: k.scheme,
        issuer: k.issuer,
        card: k.card_serial,
        card_seq: k.card_seq,
        kind: k.kind,
        terminal: k.terminal,
        terminal_seq: k.terminal_seq,
        amount_fen: amount,
        status: if rejected.is_some() {
            Status::Rejected
        } else {
            Status::Accepted
        },
        code: rejected.map(|r| r.0.to_string()),
        reason: rejected.map(|r| r.1.to_string()),
    }
}

/// A result file's bytes.
pub(crate) fn result_file(sender: &str, for_day: NaiveDate, entries: &[ResultEntry]) -> Vec<u8> {
    let meta = FileMeta {
        sender: sender.into(),
        receiver: Some("HUB".into()),
        seq: 7,
        created: local(22, 2, 0),
        direction: None,
    };
    let mut w = result::writer(Vec::new(), &meta, for_day).unwrap();
    for e in entries {
        w.write(e).unwrap();
    }
    w.finish().unwrap().0
}

/// A result file's bytes in the result layout of `family` (`hutong-xml`: [`result_file`]).
pub(crate) fn result_file_in(
    family: adapters::Format,
    sender: &str,
    for_day: NaiveDate,
    entries: &[ResultEntry],
) -> Vec<u8> {
    use adapters::result::{RecordStatus, ResultEntry as Line, ResultMeta, ResultTotals, ResultTx};
    if family == adapters::Format::HutongXml {
        return result_file(sender, for_day, entries);
    }
    let meta = ResultMeta {
        sender: sender.into(),
        receiver: Some("HUB".into()),
        seq: 7,
        created: local(22, 2, 0),
        day: Some(for_day),
    };
    let mut out = Vec::new();
    let mut sink = adapters::create_result(
        family,
        &mut out,
        &meta,
        card_standards::CodeTables::builtin(),
    )
    .unwrap();
    let mut totals = ResultTotals::default();
    for (i, e) in entries.iter().enumerate() {
        let accepted = e.status == Status::Accepted;
        sink.write(&Line {
            record: i as u64 + 1,
            tx: Some(ResultTx {
                scheme: e.scheme,
                issuer: e.issuer,
                card: e.card,
                card_seq: e.card_seq,
                kind: e.kind,
                terminal: e.terminal,
                terminal_seq: e.terminal_seq,
                amount_fen: e.amount_fen,
            }),
            status: if accepted {
                RecordStatus::Accepted
            } else {
                RecordStatus::Rejected
            },
            code: e.code.clone(),
            field: None,
            reason: e.reason.clone(),
        })
        .unwrap();
        totals.count += 1;
        totals.amount_fen += e.amount_fen;
        if accepted {
            totals.accepted += 1;
        } else {
            totals.rejected += 1;
        }
    }
    sink.close(&totals).unwrap();
    out
}

/// Stores `bytes` as an upload of `sender` (status received) in the vault; returns the file id.
pub(crate) async fn upload(
    store: &Store,
    vault: &Vault,
    sender: &str,
    name: &str,
    bytes: &[u8],
) -> i64 {
    let mut w = vault.stage().await.unwrap();
    w.write(bytes, u64::MAX).await.unwrap();
    let staged = w.finish().await.unwrap();
    let sha256 = staged.sha256.clone();
    let stored_path = vault.commit(staged, Direction::In, sender).await.unwrap();
    let (f, _) = store
        .record_file(&NewFile {
            direction: Direction::In,
            sender: Some(sender.into()),
            addressee: None,
            name: name.into(),
            sha256,
            bytes: bytes.len() as i64,
            status: FileStatus::Received,
            stored_path,
        })
        .await
        .unwrap();
    f.id
}

/// The crafted day: every one of the twelve discrepancy types has one cause in it.
pub(crate) struct World {
    pub(crate) vault: Vault,
    pub(crate) _dir: tempfile::TempDir,
    /// Record ids by name.
    pub(crate) ids: std::collections::HashMap<&'static str, i64>,
    /// The result file MOT sent.
    pub(crate) result_file: i64,
}

/// Builds the crafted day 21 on `store`: MOT cards acquired by QD (routed to MOT, whose result
/// file confirms, alters, rejects, repeats, omits and invents records), Qingdao cards acquired
/// by RZ (a counter gap, a clone, a broken balance chain) and a late presentment.
pub(crate) async fn world(store: &Store) -> World {
    world_answered_in(store, adapters::Format::HutongXml).await
}

/// [`world`], with MOT's result file in the result layout of `family`.
pub(crate) async fn world_answered_in(store: &Store, family: adapters::Format) -> World {
    let dir = tempfile::tempdir().unwrap();
    let vault = Vault::open(dir.path()).unwrap();
    participants(store).await;
    let mot = [
        ("ok", Rec::mot(1, 1, 10_000, 200, 0)),
        ("altered", Rec::mot(1, 2, 9_800, 300, 5)),
        ("rejected", Rec::mot(1, 3, 9_500, 500, 10)),
        ("tac", Rec::mot(1, 4, 9_000, 400, 15)),
        ("missing", Rec::mot(2, 10, 5_000, 600, 0)),
        ("blacklisted", Rec::mot(2, 11, 4_400, 700, 5)),
        ("repeated", Rec::mot(2, 12, 3_700, 800, 10)),
    ];
    let qd = [
        ("gap_a", Rec::local(11, 5, 1_000, 100, 0)),
        ("gap_b", Rec::local(11, 7, 800, 100, 20)),
        ("clone_a", Rec::local(12, 5, 2_000, 100, 0)),
        ("clone_b", {
            let mut r = Rec::local(12, 5, 2_000, 150, 3);
            r.terminal = 0x20_0009;
            r
        }),
        ("chain_a", Rec::local(13, 1, 1_000, 100, 0)),
        ("chain_b", Rec::local(13, 2, 5_000, 100, 30)),
        ("late", {
            let mut r = Rec::local(14, 1, 900, 120, 0);
            r.time = local(19, 18, 0);
            r
        }),
    ];
    let mut ids = std::collections::HashMap::new();
    let received = at("2026-11-21T10:00:00Z");
    let got = file(
        store,
        "QD",
        received,
        &mot.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
    )
    .await;
    for ((name, _), id) in mot.iter().zip(got) {
        ids.insert(*name, id);
    }
    let got = file(
        store,
        "RZ",
        received,
        &qd.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
    )
    .await;
    for ((name, _), id) in qd.iter().zip(got) {
        ids.insert(*name, id);
    }
    close(store, &vault, 21, at("2026-11-21T16:00:00Z")).await;

    let r = |n: &str| mot.iter().find(|(k, _)| *k == n).unwrap().1.clone();
    let mut never_sent = Rec::mot(9, 1, 1_000, 900, 30);
    never_sent.terminal_seq = 9999;
    let entries = vec![
        answer(&r("ok"), 200, None),
        answer(&r("altered"), 350, None),
        answer(
            &r("rejected"),
            500,
            Some(("E17", "card unknown to the issuer")),
        ),
        answer(&r("tac"), 400, Some(("R02", "TAC does not verify"))),
        answer(
            &r("blacklisted"),
            700,
            Some(("R04", "card on the blacklist")),
        ),
        answer(&r("repeated"), 800, None),
        answer(&r("repeated"), 800, None),
        answer(&never_sent, 900, None),
    ];
    let bytes = result_file_in(family, "MOT", day(21), &entries);
    let result_file = upload(store, &vault, "MOT", "MOT_RESULT_20261121.dat", &bytes).await;
    World {
        vault,
        _dir: dir,
        ids,
        result_file,
    }
}

/// Sets when the hub received a file (tests that need a received time in the crafted past).
pub(crate) async fn set_received(store: &Store, file_id: i64, t: Timestamp) {
    hub::store::testing::set_received(store, file_id, t, None)
        .await
        .unwrap();
}
