//! The cases every scheme shares (numbers 01–39).

use card_standards::apdu::{BalanceRegister, Command, InitializeForLoadResponse};
use card_standards::crypto::Algorithm;
use card_standards::files::{AppInfo, CardFile, MotAppStatus, TxRecord};
use card_standards::{Mac4, Purse, Scheme, StatusWord, TxType, bcd};
use chrono::NaiveDate;

use super::{
    ALL, CaseDef, CaseRun, Check, Flow, Setup, TEST_TERMINAL, ensure, read_binary, read_record,
};
use crate::card::layout;
use crate::profile::{AppState, CardProfile};
use crate::psam::LoadRequest;
use crate::reader::Tear;
use crate::terminal::{Recovery, fci_app_info, tlv_find};

const R_FCI: &str = "CJ/T 166 application FCI (real card log, STANDARDS.md §3) and JT/T 978 FCI \
                     (STANDARDS.md §4): 6F/84 AID/A5/9F08/9F0C copy of 0015 [S]";
const R_FILES: &str = "CJ/T 166-2014 and JT/T 978 application files 0015–001E (STANDARDS.md §3–4) \
                       [S]; ISO/IEC 7816-4 READ BINARY/READ RECORD by SFI, 6A82 [S]";
const R_PURCHASE: &str = "PBOC 2.0 ED/EP (JR/T 0025-2005 part 2): INITIALIZE FOR PURCHASE, DEBIT \
                          FOR PURCHASE; session key, MAC1, MAC2, TAC of STANDARDS.md §2 [S, V]";
const R_SM4: &str = "PBOC 2.0 ED/EP purchase flow with hutong's SM4 profile (STANDARDS.md §2, \
                     \"The hub's SM4 profile\") [I]";
const R_LOAD: &str = "PBOC 2.0 ED/EP: INITIALIZE FOR LOAD, CREDIT FOR LOAD; load MAC1/MAC2, TAC \
                      over the online counter before increment (STANDARDS.md §2) [V]";
const R_LOAD_SM4: &str = "PBOC 2.0 ED/EP load flow with hutong's SM4 profile (STANDARDS.md §2) [I]";
const R_MAC: &str = "PBOC 2.0 ED/EP: 9302 MAC error, no change to the purse (FM1208 / 建设部 PSAM \
                     status list, STANDARDS.md §1) [S]";
const R_BALANCE: &str = "PBOC 2.0 ED/EP: 9401 insufficient balance at INITIALIZE FOR PURCHASE \
                         (STANDARDS.md §1) [S]";
const R_KEY: &str = "PBOC 2.0 ED/EP: 9403 key index not found (STANDARDS.md §1) [S]";
const R_SEQUENCE: &str = "PBOC 2.0 ED/EP: DEBIT/CREDIT only right after INITIALIZE; ISO/IEC \
                          7816-4 6985 conditions of use not satisfied [S]";
const R_ISO: &str = "ISO/IEC 7816-4 §5.1.3 status words: 6A86 incorrect P1 P2, 6700 wrong \
                     length, 6D00 instruction not supported [S]";
const R_VALIDITY: &str = "0015 启用日期 / 有效日期 / 启用标识 (STANDARDS.md §3–4) [S]; the card's \
                          refusal with 6985 [I]";
const R_BLOCKED: &str = "PBOC 2.0 APPLICATION BLOCK; SELECT of a permanently locked application \
                         answers 9303 (FMCOS) [I]";
const R_0018: &str = "0018 transaction detail: cyclic 23-byte records holding the counter after \
                      the transaction (STANDARDS.md §3, real card log) [S]";
const R_CYCLIC: &str = "ISO/IEC 7816-4 cyclic EF: record 1 is the most recent, the oldest is \
                        overwritten; 0018 holds 10 records (STANDARDS.md §3) [S]";
const R_LIMIT: &str = "PBOC 2.0 ED/EP transaction counters; 9402 when a counter is at its limit \
                       FFFF [I]";
const R_COUNTER: &str = "PBOC 2.0 ED/EP offline counter: advanced only by a completed purchase \
                         (STANDARDS.md §1, §3) [S]";
const R_PROVE: &str = "PBOC 2.0 GET TRANSACTION PROVE with the counter after the transaction \
                       (STANDARDS.md §1; CShbguo/MZT CPU_Union.c) [S]";
const R_PROVE_MISSING: &str = "PBOC 2.0 GET TRANSACTION PROVE: 9406 when the card does not hold \
                               the transaction (STANDARDS.md §1) [S]";
const R_CHALLENGE: &str = "ISO/IEC 7816-4 §7.5.3 GET CHALLENGE [S]";

pub(crate) static CASES: &[CaseDef] = &[
    CaseDef {
        number: 1,
        title: "SELECT by AID answers the FCI with the AID and a copy of 0015",
        reference: R_FCI,
        setup: Setup::Standard,
        schemes: ALL,
        run: select_answers_the_fci,
    },
    CaseDef {
        number: 2,
        title: "READ BINARY of 0015 by SFI returns the FCI's copy in the scheme's layout",
        reference: R_FILES,
        setup: Setup::Standard,
        schemes: ALL,
        run: read_0015_matches_the_fci,
    },
    CaseDef {
        number: 3,
        title: "The scheme's files are present and the files it lacks answer 6A82",
        reference: R_FILES,
        setup: Setup::Standard,
        schemes: ALL,
        run: files_present_and_absent,
    },
    CaseDef {
        number: 4,
        title: "GET BALANCE answers the balance INITIALIZE FOR PURCHASE reports",
        reference: R_PURCHASE,
        setup: Setup::Standard,
        schemes: ALL,
        run: get_balance_agrees_with_initialize,
    },
    CaseDef {
        number: 5,
        title: "A 3DES purchase debits once, advances the offline counter, and its TAC verifies \
                with the issuer's master key",
        reference: R_PURCHASE,
        setup: Setup::Algorithm(Algorithm::TripleDes),
        schemes: ALL,
        run: purchase_completes,
    },
    CaseDef {
        number: 6,
        title: "An SM4 purchase debits once, advances the offline counter, and its TAC verifies \
                with the issuer's master key",
        reference: R_SM4,
        setup: Setup::Algorithm(Algorithm::Sm4),
        schemes: ALL,
        run: purchase_completes,
    },
    CaseDef {
        number: 7,
        title: "A 3DES load: the host verifies MAC1, the card accepts MAC2, credits once and its \
                TAC verifies",
        reference: R_LOAD,
        setup: Setup::Algorithm(Algorithm::TripleDes),
        schemes: ALL,
        run: load_completes,
    },
    CaseDef {
        number: 8,
        title: "An SM4 load: the host verifies MAC1, the card accepts MAC2, credits once and its \
                TAC verifies",
        reference: R_LOAD_SM4,
        setup: Setup::Algorithm(Algorithm::Sm4),
        schemes: ALL,
        run: load_completes,
    },
    CaseDef {
        number: 9,
        title: "DEBIT with a wrong MAC1 answers 9302 and changes nothing",
        reference: R_MAC,
        setup: Setup::Standard,
        schemes: ALL,
        run: wrong_mac1_changes_nothing,
    },
    CaseDef {
        number: 10,
        title: "CREDIT with a wrong MAC2 answers 9302 and changes nothing",
        reference: R_MAC,
        setup: Setup::Standard,
        schemes: ALL,
        run: wrong_mac2_changes_nothing,
    },
    CaseDef {
        number: 11,
        title: "A purchase above the balance is refused at INITIALIZE with 9401",
        reference: R_BALANCE,
        setup: Setup::Standard,
        schemes: ALL,
        run: insufficient_balance,
    },
    CaseDef {
        number: 12,
        title: "INITIALIZE with an unknown key index answers 9403",
        reference: R_KEY,
        setup: Setup::Standard,
        schemes: ALL,
        run: unknown_key_index,
    },
    CaseDef {
        number: 13,
        title: "DEBIT and CREDIT without INITIALIZE answer 6985",
        reference: R_SEQUENCE,
        setup: Setup::Standard,
        schemes: ALL,
        run: debit_and_credit_need_initialize,
    },
    CaseDef {
        number: 14,
        title: "Any command between INITIALIZE and DEBIT or CREDIT cancels the transaction",
        reference: R_SEQUENCE,
        setup: Setup::Standard,
        schemes: ALL,
        run: command_in_between_cancels,
    },
    CaseDef {
        number: 15,
        title: "Wrong P1 or P2 answers 6A86",
        reference: R_ISO,
        setup: Setup::Standard,
        schemes: ALL,
        run: wrong_p1p2,
    },
    CaseDef {
        number: 16,
        title: "A wrong Lc or Le answers 6700",
        reference: R_ISO,
        setup: Setup::Standard,
        schemes: ALL,
        run: wrong_length,
    },
    CaseDef {
        number: 17,
        title: "An unknown instruction answers 6D00",
        reference: R_ISO,
        setup: Setup::Standard,
        schemes: ALL,
        run: unknown_instruction,
    },
    CaseDef {
        number: 18,
        title: "An expired application refuses DEBIT and CREDIT with 6985",
        reference: R_VALIDITY,
        setup: Setup::Special {
            needs: "a card whose 有效日期 has passed",
            apply: expired,
        },
        schemes: ALL,
        run: outside_validity_refused,
    },
    CaseDef {
        number: 19,
        title: "An application before its 启用日期 refuses DEBIT and CREDIT with 6985",
        reference: R_VALIDITY,
        setup: Setup::Special {
            needs: "a card whose 启用日期 is in the future",
            apply: not_yet_valid,
        },
        schemes: ALL,
        run: outside_validity_refused,
    },
    CaseDef {
        number: 20,
        title: "An application not enabled refuses INITIALIZE with 6985",
        reference: R_VALIDITY,
        setup: Setup::Special {
            needs: "a card whose application is not enabled (T-Union 启用标识 00)",
            apply: not_enabled,
        },
        schemes: ALL,
        run: not_enabled_refused,
    },
    CaseDef {
        number: 21,
        title: "A blocked application answers SELECT with 9303 and its purse stays closed",
        reference: R_BLOCKED,
        setup: Setup::Special {
            needs: "a card whose application is blocked",
            apply: blocked,
        },
        schemes: ALL,
        run: blocked_refused,
    },
    CaseDef {
        number: 22,
        title: "0018 records each purchase and load with the counter after it",
        reference: R_0018,
        setup: Setup::Standard,
        schemes: ALL,
        run: records_hold_the_counter_after,
    },
    CaseDef {
        number: 23,
        title: "0018 is cyclic: the eleventh transaction overwrites the oldest of ten records",
        reference: R_CYCLIC,
        setup: Setup::Standard,
        schemes: ALL,
        run: cyclic_0018_overwrites,
    },
    CaseDef {
        number: 24,
        title: "Counters at their limit refuse purchases and loads with 9402",
        reference: R_LIMIT,
        setup: Setup::Special {
            needs: "a card whose offline and online counters are FFFF",
            apply: counters_at_limit,
        },
        schemes: ALL,
        run: counters_at_limit_refused,
    },
    CaseDef {
        number: 25,
        title: "INITIALIZE alone does not advance the offline counter; each purchase advances \
                it by one",
        reference: R_COUNTER,
        setup: Setup::Standard,
        schemes: ALL,
        run: counter_moves_only_on_completion,
    },
    CaseDef {
        number: 26,
        title: "A purchase torn after the card debited is recovered with GET TRANSACTION PROVE, \
                debited once",
        reference: R_PROVE,
        setup: Setup::Standard,
        schemes: ALL,
        run: torn_purchase_recovered,
    },
    CaseDef {
        number: 27,
        title: "A purchase torn before DEBIT reached the card: PROVE answers 9406, nothing was \
                debited, the retry completes",
        reference: R_PROVE_MISSING,
        setup: Setup::Standard,
        schemes: ALL,
        run: torn_before_debit_retried,
    },
    CaseDef {
        number: 28,
        title: "A load torn after the card credited is recovered with GET TRANSACTION PROVE, \
                credited once",
        reference: R_PROVE,
        setup: Setup::Standard,
        schemes: ALL,
        run: torn_load_recovered,
    },
    CaseDef {
        number: 29,
        title: "GET TRANSACTION PROVE for a counter or type the card did not use answers 9406",
        reference: R_PROVE_MISSING,
        setup: Setup::Standard,
        schemes: ALL,
        run: prove_of_unknown_transaction,
    },
    CaseDef {
        number: 30,
        title: "GET CHALLENGE answers 4 or 8 fresh random bytes",
        reference: R_CHALLENGE,
        setup: Setup::Standard,
        schemes: ALL,
        run: get_challenge,
    },
];

fn expired(p: &mut CardProfile) {
    p.start_date = NaiveDate::from_ymd_opt(2010, 1, 1).unwrap_or_default();
    p.expiry_date = NaiveDate::from_ymd_opt(2015, 12, 31).unwrap_or_default();
}

fn not_yet_valid(p: &mut CardProfile) {
    p.start_date = NaiveDate::from_ymd_opt(2099, 1, 1).unwrap_or_default();
    p.expiry_date = NaiveDate::from_ymd_opt(2099, 12, 31).unwrap_or_default();
}

fn not_enabled(p: &mut CardProfile) {
    p.app_state = AppState::NotEnabled;
}

fn blocked(p: &mut CardProfile) {
    p.app_state = AppState::Blocked;
}

fn counters_at_limit(p: &mut CardProfile) {
    p.offline_seq = u16::MAX;
    p.online_seq = u16::MAX;
}

fn select_aid(ctx: &mut CaseRun<'_>) -> Check<Vec<u8>> {
    ctx.expect_ok(&Command::SelectByName {
        name: layout::aid(ctx.scheme()).to_vec(),
    })
}

fn select_answers_the_fci(ctx: &mut CaseRun<'_>) -> Check {
    let scheme = ctx.scheme();
    let fci = select_aid(ctx)?;
    let body = tlv_find(&fci, &[0x6F]).ok_or("the response is not an FCI template 6F")?;
    let aid = tlv_find(body, &[0x84]).ok_or("the FCI has no DF name 84")?;
    ensure!(
        aid == layout::aid(scheme),
        "the FCI names {}, expected the AID {}",
        hex::encode_upper(aid),
        hex::encode_upper(layout::aid(scheme))
    );
    let prop = tlv_find(body, &[0xA5]).ok_or("the FCI has no proprietary template A5")?;
    ensure!(
        tlv_find(prop, &[0x9F, 0x08]).is_some(),
        "the FCI has no application version 9F08"
    );
    let info = fci_app_info(&fci).ok_or("the FCI has no 9F0C copy of 0015")?;
    let lengths = AppInfo::lengths(scheme.profile().app_info_layout);
    ensure!(
        lengths.contains(&info.len()),
        "9F0C holds {} bytes, expected {:?}",
        info.len(),
        lengths
    );
    AppInfo::decode(scheme.profile().app_info_layout, info)
        .map_err(|e| format!("the 9F0C copy of 0015 does not decode: {e}"))?;
    Ok(())
}

fn read_0015_matches_the_fci(ctx: &mut CaseRun<'_>) -> Check {
    let fci = select_aid(ctx)?;
    let copy = fci_app_info(&fci)
        .ok_or("the FCI has no 9F0C copy of 0015")?
        .to_vec();
    let file = ctx.expect_ok(&read_binary(0x15))?;
    ensure!(
        file == copy,
        "0015 is {}, the FCI's copy {}",
        hex::encode_upper(&file),
        hex::encode_upper(&copy)
    );
    let info = AppInfo::decode(ctx.scheme().profile().app_info_layout, &file)
        .map_err(|e| format!("0015 does not decode: {e}"))?;
    ensure!(
        info.start_date() <= info.expiry_date(),
        "0015 starts {} after it expires {}",
        info.start_date(),
        info.expiry_date()
    );
    ctx.note(format!(
        "serial {}, issuer {}, valid {} to {}",
        info.serial(),
        info.issuer(),
        info.start_date(),
        info.expiry_date()
    ));
    Ok(())
}

/// The expected structure of each file: Some(length) for transparent files, None for
/// record files.
fn transparent_len(scheme: Scheme, fid: u16) -> Option<usize> {
    match (fid, scheme) {
        (0x0015, _) => Some(30),
        (0x0016, _) => Some(55),
        (0x0017, Scheme::Mot) => Some(60),
        _ => None,
    }
}

fn files_present_and_absent(ctx: &mut CaseRun<'_>) -> Check {
    let scheme = ctx.scheme();
    select_aid(ctx)?;
    for &fid in scheme.profile().files {
        let sfi = (fid & 0x1F) as u8;
        match transparent_len(scheme, fid) {
            Some(len) => {
                let data = ctx.expect_ok(&read_binary(sfi))?;
                ensure!(
                    data.len() == len,
                    "{fid:04X} has {} bytes, expected {len}",
                    data.len()
                );
            }
            None => {
                let resp = ctx.send(&read_record(sfi, 1))?;
                ensure!(
                    resp.sw.is_ok() || resp.sw == StatusWord::RECORD_NOT_FOUND,
                    "READ RECORD 1 of {fid:04X}: the card answered {}",
                    resp.sw
                );
            }
        }
    }
    let absent = [0x17u8, 0x1A, 0x1E, 0x19]
        .into_iter()
        .find(|sfi| !scheme.profile().files.contains(&u16::from(*sfi)))
        .unwrap_or(0x19);
    ctx.expect(&read_binary(absent), StatusWord::FILE_NOT_FOUND)?;
    ctx.expect(
        &Command::SelectByFileId { file_id: 0x0019 },
        StatusWord::FILE_NOT_FOUND,
    )?;
    ctx.expect(
        &Command::SelectByName {
            name: vec![0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10],
        },
        StatusWord::FILE_NOT_FOUND,
    )?;
    Ok(())
}

fn initialize_purchase(amount: u32, key_index: u8) -> Command {
    Command::InitializeForPurchase {
        composite: false,
        purse: Purse::Ep,
        key_index,
        amount,
        terminal: TEST_TERMINAL,
    }
}

fn initialize_load(amount: u32, key_index: u8) -> Command {
    Command::InitializeForLoad {
        purse: Purse::Ep,
        key_index,
        amount,
        terminal: TEST_TERMINAL,
    }
}

fn get_balance_agrees_with_initialize(ctx: &mut CaseRun<'_>) -> Check {
    ctx.open()?;
    let balance = ctx.balance()?;
    let key = ctx.terminal().config().key_index;
    let cmd = initialize_purchase(0, key);
    let init = ctx.expect_ok(&cmd)?;
    ensure!(
        init.len() == 15,
        "INITIALIZE FOR PURCHASE answered {} bytes, expected 15",
        init.len()
    );
    let init_balance = u32::from_be_bytes([init[0], init[1], init[2], init[3]]);
    ensure!(
        init_balance == balance,
        "GET BALANCE says {balance} fen, INITIALIZE says {init_balance} fen"
    );
    Ok(())
}

fn purchase_completes(ctx: &mut CaseRun<'_>) -> Check {
    ctx.ensure_balance(100)?;
    let before = ctx.snapshot()?;
    let tx = ctx.purchase(100)?;
    ensure!(
        tx.alg_id == ctx.keys().alg.alg_id(),
        "the card announced algorithm {:02X}, its keys are {}",
        tx.alg_id,
        ctx.keys().alg
    );
    ensure!(
        tx.balance_before_fen == i64::from(before.balance) && tx.card_seq == before.offline_seq,
        "INITIALIZE reported balance {} and counter {}, GET BALANCE {} and counter {}",
        tx.balance_before_fen,
        tx.card_seq,
        before.balance,
        before.offline_seq
    );
    ctx.check_tac(&tx)?;
    let after = ctx.snapshot()?;
    ensure!(
        after.balance + 100 == before.balance,
        "balance went from {} to {} fen for a purchase of 100 fen",
        before.balance,
        after.balance
    );
    ensure!(
        after.offline_seq == before.offline_seq.wrapping_add(1)
            && after.online_seq == before.online_seq,
        "counters went from {}/{} to {}/{} (offline/online)",
        before.offline_seq,
        before.online_seq,
        after.offline_seq,
        after.online_seq
    );
    Ok(())
}

fn load_completes(ctx: &mut CaseRun<'_>) -> Check {
    let before = ctx.snapshot()?;
    let tx = ctx.load(500)?;
    ensure!(
        tx.card_seq == before.online_seq && tx.balance_before_fen == i64::from(before.balance),
        "INITIALIZE FOR LOAD reported counter {} and balance {}, expected {} and {}",
        tx.card_seq,
        tx.balance_before_fen,
        before.online_seq,
        before.balance
    );
    ensure!(
        tx.alg_id == ctx.keys().alg.alg_id(),
        "the card announced algorithm {:02X}",
        tx.alg_id
    );
    ctx.check_tac(&tx)?;
    let after = ctx.snapshot()?;
    ensure!(
        after.balance == before.balance + 500,
        "balance went from {} to {} fen for a load of 500 fen",
        before.balance,
        after.balance
    );
    ensure!(
        after.online_seq == before.online_seq.wrapping_add(1)
            && after.offline_seq == before.offline_seq,
        "counters went from {}/{} to {}/{} (offline/online)",
        before.offline_seq,
        before.online_seq,
        after.offline_seq,
        after.online_seq
    );
    Ok(())
}

fn unchanged(before: &super::Snapshot, after: &super::Snapshot) -> Check {
    ensure!(
        before == after,
        "the card changed: before {before:?}, after {after:?}"
    );
    Ok(())
}

fn flip(mac: Mac4) -> Mac4 {
    let mut m = mac;
    m.0[3] ^= 0x01;
    m
}

fn wrong_mac1_changes_nothing(ctx: &mut CaseRun<'_>) -> Check {
    ctx.ensure_balance(100)?;
    let before = ctx.snapshot()?;
    ctx.open()?;
    let begun = ctx.begin_purchase(false, 100, None)?;
    ctx.note("MAC1 with its last bit flipped");
    ctx.expect(&begun.debit(flip(begun.mac1.mac1)), StatusWord::MAC_ERROR)?;
    // The refused DEBIT ended the session: the right MAC1 now finds none.
    ctx.expect(
        &begun.debit(begun.mac1.mac1),
        StatusWord::CONDITIONS_NOT_SATISFIED,
    )?;
    let after = ctx.snapshot()?;
    unchanged(&before, &after)
}

fn wrong_mac2_changes_nothing(ctx: &mut CaseRun<'_>) -> Check {
    let before = ctx.snapshot()?;
    let info = ctx.open()?;
    let key = ctx.terminal().config().key_index;
    let init = ctx.expect_ok(&initialize_load(100, key))?;
    let init = InitializeForLoadResponse::parse(&init).map_err(|e| e.to_string())?;
    let date_time = bcd::encode_datetime(ctx.time());
    let auth = ctx
        .terminal()
        .host_mut()
        .authorise(&LoadRequest {
            serial: info.serial,
            issuer: info.issuer,
            key_version: init.key_version,
            alg_id: init.alg_id,
            random: init.random,
            online_seq: init.online_seq,
            balance_before: init.balance,
            amount: 100,
            tx_type: TxType::EP_LOAD,
            terminal: TEST_TERMINAL,
            mac1: init.mac1,
            date_time,
        })
        .map_err(|e| e.to_string())?;
    ctx.note("MAC2 with its last bit flipped");
    ctx.expect(
        &Command::CreditForLoad {
            date_time,
            mac2: flip(auth.mac2),
        },
        StatusWord::MAC_ERROR,
    )?;
    let after = ctx.snapshot()?;
    unchanged(&before, &after)
}

fn insufficient_balance(ctx: &mut CaseRun<'_>) -> Check {
    ctx.open()?;
    let balance = ctx.balance()?;
    let key = ctx.terminal().config().key_index;
    let cmd = initialize_purchase(balance.saturating_add(1), key);
    ctx.expect(&cmd, StatusWord::INSUFFICIENT_BALANCE)?;
    let after = ctx.balance()?;
    ensure!(
        after == balance,
        "balance changed from {balance} to {after}"
    );
    Ok(())
}

fn unknown_key_index(ctx: &mut CaseRun<'_>) -> Check {
    ctx.open()?;
    let key = ctx.terminal().config().key_index;
    let wrong = if key == 0xFE { 0xFD } else { 0xFE };
    let cmd = initialize_purchase(0, wrong);
    ctx.expect(&cmd, StatusWord::KEY_NOT_FOUND)?;
    ctx.expect(&initialize_load(1, wrong), StatusWord::KEY_NOT_FOUND)?;
    Ok(())
}

fn debit_and_credit_need_initialize(ctx: &mut CaseRun<'_>) -> Check {
    let before = ctx.snapshot()?;
    ctx.open()?;
    let date_time = bcd::encode_datetime(ctx.time());
    ctx.expect(
        &Command::DebitForPurchase {
            terminal_seq: 1,
            date_time,
            mac1: Mac4([0x12, 0x34, 0x56, 0x78]),
        },
        StatusWord::CONDITIONS_NOT_SATISFIED,
    )?;
    ctx.expect(
        &Command::CreditForLoad {
            date_time,
            mac2: Mac4([0x12, 0x34, 0x56, 0x78]),
        },
        StatusWord::CONDITIONS_NOT_SATISFIED,
    )?;
    let after = ctx.snapshot()?;
    unchanged(&before, &after)
}

fn command_in_between_cancels(ctx: &mut CaseRun<'_>) -> Check {
    ctx.ensure_balance(100)?;
    let before = ctx.snapshot()?;
    ctx.open()?;
    let begun = ctx.begin_purchase(false, 100, None)?;
    ctx.note("GET BALANCE between INITIALIZE and DEBIT");
    ctx.balance()?;
    ctx.expect(
        &begun.debit(begun.mac1.mac1),
        StatusWord::CONDITIONS_NOT_SATISFIED,
    )?;
    let key = ctx.terminal().config().key_index;
    ctx.expect_ok(&initialize_load(100, key))?;
    ctx.note("GET CHALLENGE between INITIALIZE FOR LOAD and CREDIT");
    ctx.expect_ok(&Command::GetChallenge { len: 4 })?;
    ctx.expect(
        &Command::CreditForLoad {
            date_time: begun.date_time,
            mac2: Mac4([0; 4]),
        },
        StatusWord::CONDITIONS_NOT_SATISFIED,
    )?;
    let after = ctx.snapshot()?;
    unchanged(&before, &after)
}

fn wrong_p1p2(ctx: &mut CaseRun<'_>) -> Check {
    ctx.open()?;
    for apdu in [
        "805002020B0100000000000000000000",
        "805C000304",
        // P1 = 01 (the second balance register) is valid since issue 17; 02 is not.
        "805C020204",
        "00B201C500",
        "805402000F00000001202611220800000000000000",
    ] {
        let bytes = hex::decode(apdu).map_err(|e| e.to_string())?;
        ctx.expect_raw(&bytes, StatusWord::WRONG_P1P2)?;
    }
    Ok(())
}

fn wrong_length(ctx: &mut CaseRun<'_>) -> Check {
    ctx.open()?;
    for apdu in [
        "805001020A01000000000000000000",
        "805401000E0000000120261122080000000000",
        "805C000208",
        "805200000A20261122080000000000",
        "80",
    ] {
        let bytes = hex::decode(apdu).map_err(|e| e.to_string())?;
        ctx.expect_raw(&bytes, StatusWord::WRONG_LENGTH)?;
    }
    Ok(())
}

fn unknown_instruction(ctx: &mut CaseRun<'_>) -> Check {
    ctx.open()?;
    for apdu in ["80EE000000", "00FE0000", "80F2000000"] {
        let bytes = hex::decode(apdu).map_err(|e| e.to_string())?;
        ctx.expect_raw(&bytes, StatusWord::INSTRUCTION_NOT_SUPPORTED)?;
    }
    Ok(())
}

fn outside_validity_refused(ctx: &mut CaseRun<'_>) -> Check {
    let before = ctx.snapshot()?;
    ctx.open()?;
    let begun = ctx.begin_purchase(false, 1, None)?;
    ctx.expect(
        &begun.debit(begun.mac1.mac1),
        StatusWord::CONDITIONS_NOT_SATISFIED,
    )?;
    let info = ctx.open()?;
    let key = ctx.terminal().config().key_index;
    let init = ctx.expect_ok(&initialize_load(100, key))?;
    let init = InitializeForLoadResponse::parse(&init).map_err(|e| e.to_string())?;
    let date_time = bcd::encode_datetime(ctx.time());
    let auth = ctx
        .terminal()
        .host_mut()
        .authorise(&LoadRequest {
            serial: info.serial,
            issuer: info.issuer,
            key_version: init.key_version,
            alg_id: init.alg_id,
            random: init.random,
            online_seq: init.online_seq,
            balance_before: init.balance,
            amount: 100,
            tx_type: TxType::EP_LOAD,
            terminal: TEST_TERMINAL,
            mac1: init.mac1,
            date_time,
        })
        .map_err(|e| e.to_string())?;
    ctx.expect(
        &Command::CreditForLoad {
            date_time,
            mac2: auth.mac2,
        },
        StatusWord::CONDITIONS_NOT_SATISFIED,
    )?;
    let after = ctx.snapshot()?;
    unchanged(&before, &after)
}

fn not_enabled_refused(ctx: &mut CaseRun<'_>) -> Check {
    let fci = select_aid(ctx)?;
    let raw = fci_app_info(&fci).ok_or("the FCI has no 9F0C copy of 0015")?;
    let info =
        AppInfo::decode(ctx.scheme().profile().app_info_layout, raw).map_err(|e| e.to_string())?;
    // A T-Union 0015 says 未启用 in byte 9; a MOHURD-layout 0015 has no such flag (byte 8 is the
    // application type), so there only the card's refusal shows it.
    match info.status() {
        Some(status) => ensure!(
            status == MotAppStatus::NOT_ENABLED,
            "0015 启用标识 is {status}, expected 00"
        ),
        None => ctx.note(format!(
            "0015 (MOHURD layout) has no 启用 flag; byte 8, the application type, is {}",
            info.app_type()
        )),
    }
    let key = ctx.terminal().config().key_index;
    let cmd = initialize_purchase(0, key);
    ctx.expect(&cmd, StatusWord::CONDITIONS_NOT_SATISFIED)?;
    ctx.expect(
        &initialize_load(1, key),
        StatusWord::CONDITIONS_NOT_SATISFIED,
    )?;
    Ok(())
}

fn blocked_refused(ctx: &mut CaseRun<'_>) -> Check {
    let aid = layout::aid(ctx.scheme()).to_vec();
    ctx.expect(
        &Command::SelectByName { name: aid },
        StatusWord::APPLICATION_LOCKED,
    )?;
    ctx.expect(
        &Command::GetBalance {
            purse: Purse::Ep,
            register: BalanceRegister::Balance,
        },
        StatusWord::CONDITIONS_NOT_SATISFIED,
    )?;
    Ok(())
}

fn tx_record(ctx: &mut CaseRun<'_>, n: u8) -> Check<TxRecord> {
    let raw = ctx.expect_ok(&read_record(0x18, n))?;
    TxRecord::decode(&raw).map_err(|e| format!("0018 record {n}: {e}"))
}

fn records_hold_the_counter_after(ctx: &mut CaseRun<'_>) -> Check {
    ctx.ensure_balance(123)?;
    let purchase = ctx.purchase(123)?;
    let rec = tx_record(ctx, 1)?;
    ensure!(
        rec.seq == purchase.card_seq_after()
            && rec.amount == 123
            && rec.tx_type == TxType::EP_PURCHASE
            && rec.terminal == TEST_TERMINAL
            && rec.date_time == purchase.tx_time,
        "0018 record 1 is {rec:?}; expected counter {}, 123 fen, type 06, terminal {}, {}",
        purchase.card_seq_after(),
        TEST_TERMINAL,
        purchase.tx_time
    );
    let load = ctx.load(77)?;
    let rec = tx_record(ctx, 1)?;
    ensure!(
        rec.seq == load.card_seq_after() && rec.amount == 77 && rec.tx_type == TxType::EP_LOAD,
        "0018 record 1 after the load is {rec:?}; expected counter {}, 77 fen, type 02",
        load.card_seq_after()
    );
    let older = tx_record(ctx, 2)?;
    ensure!(
        older.seq == purchase.card_seq_after() && older.amount == 123,
        "0018 record 2 is {older:?}; expected the purchase"
    );
    Ok(())
}

fn cyclic_0018_overwrites(ctx: &mut CaseRun<'_>) -> Check {
    ctx.ensure_balance(110)?;
    let mut seqs = Vec::new();
    for i in 0..11 {
        let tx = ctx.purchase(10)?;
        ensure!(
            tx.amount_fen == 10,
            "purchase {i} has amount {}",
            tx.amount_fen
        );
        seqs.push(tx.card_seq_after());
    }
    let newest = tx_record(ctx, 1)?;
    ensure!(
        newest.seq == seqs[10],
        "record 1 has counter {}, expected the newest {}",
        newest.seq,
        seqs[10]
    );
    let oldest = tx_record(ctx, 10)?;
    ensure!(
        oldest.seq == seqs[1],
        "record 10 has counter {}, expected the second purchase's {} (the first was overwritten)",
        oldest.seq,
        seqs[1]
    );
    ctx.expect(&read_record(0x18, 11), StatusWord::RECORD_NOT_FOUND)?;
    Ok(())
}

fn counters_at_limit_refused(ctx: &mut CaseRun<'_>) -> Check {
    ctx.open()?;
    let key = ctx.terminal().config().key_index;
    let cmd = initialize_purchase(1, key);
    ctx.expect(&cmd, StatusWord::COUNTER_AT_LIMIT)?;
    ctx.expect(&initialize_load(1, key), StatusWord::COUNTER_AT_LIMIT)?;
    Ok(())
}

fn counter_moves_only_on_completion(ctx: &mut CaseRun<'_>) -> Check {
    ctx.ensure_balance(50)?;
    let before = ctx.snapshot()?;
    ctx.open()?;
    ctx.begin_purchase(false, 50, None)?;
    ctx.begin_purchase(false, 50, None)?;
    let between = ctx.snapshot()?;
    ensure!(
        between.offline_seq == before.offline_seq,
        "two INITIALIZEs without DEBIT moved the offline counter from {} to {}",
        before.offline_seq,
        between.offline_seq
    );
    let tx = ctx.purchase(50)?;
    ensure!(
        tx.card_seq == before.offline_seq,
        "the purchase used counter {}, expected {}",
        tx.card_seq,
        before.offline_seq
    );
    let after = ctx.snapshot()?;
    ensure!(
        after.offline_seq == before.offline_seq.wrapping_add(1),
        "one purchase moved the offline counter from {} to {}",
        before.offline_seq,
        after.offline_seq
    );
    Ok(())
}

fn torn_purchase_recovered(ctx: &mut CaseRun<'_>) -> Check {
    ctx.ensure_balance(100)?;
    let before = ctx.snapshot()?;
    ctx.tear_next(0x54, Tear::AfterCommand);
    let pending = ctx.torn(Flow::Purchase, 100)?;
    ensure!(
        pending.seq_after() == before.offline_seq.wrapping_add(1),
        "the terminal will ask for counter {}, expected {}",
        pending.seq_after(),
        before.offline_seq.wrapping_add(1)
    );
    let Recovery::Completed(tx) = ctx.recover(&pending)? else {
        return Err("the card says it does not hold the purchase it completed".into());
    };
    ctx.check_tac(&tx)?;
    let after = ctx.snapshot()?;
    ensure!(
        after.balance + 100 == before.balance
            && after.offline_seq == before.offline_seq.wrapping_add(1),
        "balance {} → {}, counter {} → {}: expected one debit of 100 fen",
        before.balance,
        after.balance,
        before.offline_seq,
        after.offline_seq
    );
    Ok(())
}

fn torn_before_debit_retried(ctx: &mut CaseRun<'_>) -> Check {
    ctx.ensure_balance(100)?;
    let before = ctx.snapshot()?;
    ctx.tear_next(0x54, Tear::BeforeCommand);
    let pending = ctx.torn(Flow::Purchase, 100)?;
    let recovery = ctx.recover(&pending)?;
    ensure!(
        recovery == Recovery::NotCompleted,
        "the card claims a purchase it never received: {recovery:?}"
    );
    let between = ctx.snapshot()?;
    unchanged(&before, &between)?;
    let tx = ctx.purchase(100)?;
    ctx.check_tac(&tx)?;
    ensure!(
        tx.card_seq == before.offline_seq,
        "the retry used counter {}, expected {}",
        tx.card_seq,
        before.offline_seq
    );
    Ok(())
}

fn torn_load_recovered(ctx: &mut CaseRun<'_>) -> Check {
    let before = ctx.snapshot()?;
    ctx.tear_next(0x52, Tear::AfterCommand);
    let pending = ctx.torn(Flow::Load, 300)?;
    let Recovery::Completed(tx) = ctx.recover(&pending)? else {
        return Err("the card says it does not hold the load it completed".into());
    };
    ctx.check_tac(&tx)?;
    let after = ctx.snapshot()?;
    ensure!(
        after.balance == before.balance + 300
            && after.online_seq == before.online_seq.wrapping_add(1),
        "balance {} → {}, online counter {} → {}: expected one credit of 300 fen",
        before.balance,
        after.balance,
        before.online_seq,
        after.online_seq
    );
    Ok(())
}

fn prove_of_unknown_transaction(ctx: &mut CaseRun<'_>) -> Check {
    ctx.ensure_balance(10)?;
    let tx = ctx.purchase(10)?;
    ctx.open()?;
    let seq = tx.card_seq_after();
    ctx.expect_ok(&Command::GetTransactionProve {
        tx_type: TxType::EP_PURCHASE,
        seq,
    })?;
    ctx.expect(
        &Command::GetTransactionProve {
            tx_type: TxType::EP_PURCHASE,
            seq: seq.wrapping_add(5),
        },
        StatusWord::MAC_NOT_AVAILABLE,
    )?;
    ctx.expect(
        &Command::GetTransactionProve {
            tx_type: TxType::EP_LOAD,
            seq,
        },
        StatusWord::MAC_NOT_AVAILABLE,
    )?;
    Ok(())
}

fn get_challenge(ctx: &mut CaseRun<'_>) -> Check {
    ctx.open()?;
    let four = ctx.expect_ok(&Command::GetChallenge { len: 4 })?;
    ensure!(
        four.len() == 4,
        "GET CHALLENGE 4 answered {} bytes",
        four.len()
    );
    let a = ctx.expect_ok(&Command::GetChallenge { len: 8 })?;
    let b = ctx.expect_ok(&Command::GetChallenge { len: 8 })?;
    ensure!(
        a.len() == 8 && b.len() == 8,
        "GET CHALLENGE 8 answered {} and {} bytes",
        a.len(),
        b.len()
    );
    ensure!(
        a != b,
        "two challenges were equal: {}",
        hex::encode_upper(&a)
    );
    ctx.expect_raw(&[0x00, 0x84, 0x00, 0x00, 0x05], StatusWord::WRONG_LENGTH)?;
    Ok(())
}
