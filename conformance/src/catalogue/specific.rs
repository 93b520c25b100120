//! Scheme-specific cases (numbers 40 and above): the MOHURD authentication code, composite
//! purchases and their records, record locking, the T-Union management and process files.

use card_standards::apdu::Command;
use card_standards::files::{
    CappRecord, CardFile, MotManagementInfo, ProcessRecord, ProcessType, TransitRecord, TxRecord,
};
use card_standards::{Purse, Scheme, StatusWord, TxType};

use super::{CaseDef, CaseRun, Check, Setup, TEST_TERMINAL, ensure, read_binary, read_record};
use crate::profile::CardProfile;

const R_AUTH: &str = "CJ/T 166 安全认证码 80 CA 00 00 09 = 85 ‖ UID ‖ 4 bytes (STANDARDS.md §3; \
                      CShbguo/MZT CPU_Union.c) [S]";
const R_AUTH_OTHERS: &str = "The authentication code is a MOHURD (CJ/T 166) command; other \
                             applications answer 6D00 [I]";
const R_CAPP_MOHURD: &str = "PBOC 2.0 composite purchase (复合消费, type 09) with 0017 written by \
                             80 DC (STANDARDS.md §3, real log 80 DC 02 B8 30) [S]; MAC1 over the \
                             authentication code on 住建部 cards (STANDARDS.md §2) [V]";
const R_CAPP_LOCAL: &str = "PBOC 2.0 composite purchase (type 09) with 0017 written by 80 DC, on \
                            the MOHURD file layout the local card follows [I]";
const R_CAPP_MOT: &str = "JT/T 978 composite purchase: 80 50 03 → 80 70 → 80 DC 001A/001E → 80 \
                          54 → 80 72 (STANDARDS.md §4; ProjectAfcApp CPUCARJTB.c) [S]";
const R_CAPP_NONE: &str = "PBOC 2.0 co-branded purse without composite files: INITIALIZE FOR \
                           CAPP PURCHASE answers 6A81 function not supported [I]";
const R_AUTH_MAC1: &str = "MAC1 of a 住建部 composite purchase matches only with the 9-byte \
                           authentication code appended (STANDARDS.md §2, real Changsha card) [V]";
const R_LOCK: &str = "Composite record lock flag (0017 byte 2, 001A byte 5: STANDARDS.md §3–4) \
                      [S]; UPDATE CAPP DATA CACHE refused with 6984 referenced data invalidated \
                      [I]";
const R_CACHE_SESSION: &str = "PBOC 2.0 UPDATE CAPP DATA CACHE only between INITIALIZE FOR CAPP \
                               PURCHASE and DEBIT; 6985 otherwise [S: sequence in STANDARDS.md \
                               §4]";
const R_MGMT: &str = "JT/T 978 0017 management information, 60 bytes, interoperability flag \
                      (STANDARDS.md §4; stJTB17) [S]";
const R_PROCESS: &str = "JT/T 978 001E public-transport process records, cyclic 48 bytes \
                         (STANDARDS.md §4) [S]; 10 records [I]";

const MOHURD: &[Scheme] = &[Scheme::Mohurd];
const NOT_MOHURD: &[Scheme] = &[Scheme::Local, Scheme::Mot, Scheme::Pboc];
const LOCAL: &[Scheme] = &[Scheme::Local];
const MOT: &[Scheme] = &[Scheme::Mot];
const PBOC: &[Scheme] = &[Scheme::Pboc];
const WITH_CAPP: &[Scheme] = &[Scheme::Local, Scheme::Mohurd, Scheme::Mot];
const ALL: &[Scheme] = &Scheme::ALL;

pub(crate) static CASES: &[CaseDef] = &[
    CaseDef {
        number: 40,
        title: "GET AUTHENTICATION CODE (80 CA 00 00 09) answers 9 bytes beginning 85",
        reference: R_AUTH,
        setup: Setup::Standard,
        schemes: MOHURD,
        run: auth_code,
    },
    CaseDef {
        number: 40,
        title: "GET AUTHENTICATION CODE is MOHURD's: this application answers 6D00",
        reference: R_AUTH_OTHERS,
        setup: Setup::Standard,
        schemes: NOT_MOHURD,
        run: auth_code,
    },
    CaseDef {
        number: 41,
        title: "A composite purchase with MAC1 over the authentication code writes 0017 and \
                debits together; its TAC verifies",
        reference: R_CAPP_MOHURD,
        setup: Setup::Standard,
        schemes: MOHURD,
        run: composite_completes,
    },
    CaseDef {
        number: 41,
        title: "A composite purchase writes 0017 and debits together; its TAC verifies",
        reference: R_CAPP_LOCAL,
        setup: Setup::Standard,
        schemes: LOCAL,
        run: composite_completes,
    },
    CaseDef {
        number: 41,
        title: "A composite purchase writes 001A and 001E and debits together; its TAC verifies",
        reference: R_CAPP_MOT,
        setup: Setup::Standard,
        schemes: MOT,
        run: composite_completes,
    },
    CaseDef {
        number: 41,
        title: "INITIALIZE FOR CAPP PURCHASE answers 6A81: the purse has no composite files",
        reference: R_CAPP_NONE,
        setup: Setup::Standard,
        schemes: PBOC,
        run: composite_not_supported,
    },
    CaseDef {
        number: 42,
        title: "A composite MAC1 without the authentication code answers 9302; neither 0017 nor \
                the purse change",
        reference: R_AUTH_MAC1,
        setup: Setup::Standard,
        schemes: MOHURD,
        run: composite_without_auth_code,
    },
    CaseDef {
        number: 43,
        title: "A locked composite record refuses UPDATE CAPP DATA CACHE with 6984, the purchase \
                cannot complete, an unlocked record still can",
        reference: R_LOCK,
        setup: Setup::Special {
            needs: "a card whose composite record 1 is locked and record 2 is not",
            apply: lock_record_1,
        },
        schemes: WITH_CAPP,
        run: locked_record_refused,
    },
    CaseDef {
        number: 44,
        title: "UPDATE CAPP DATA CACHE outside a composite purchase answers 6985",
        reference: R_CACHE_SESSION,
        setup: Setup::Standard,
        schemes: ALL,
        run: update_outside_composite,
    },
    CaseDef {
        number: 45,
        title: "0017 holds the 60-byte management information with the interoperability flag",
        reference: R_MGMT,
        setup: Setup::Standard,
        schemes: MOT,
        run: management_file,
    },
    CaseDef {
        number: 46,
        title: "001E is cyclic: the eleventh composite purchase overwrites the oldest process \
                record",
        reference: R_PROCESS,
        setup: Setup::Standard,
        schemes: MOT,
        run: cyclic_001e_overwrites,
    },
];

fn lock_record_1(p: &mut CardProfile) {
    p.locked_records = vec![1];
}

/// The composite file a terminal updates with a record number, and its record length.
fn capp_file(scheme: Scheme) -> (u8, usize) {
    match scheme {
        Scheme::Mot => (0x1A, 128),
        _ => (0x17, 48),
    }
}

fn auth_code(ctx: &mut CaseRun<'_>) -> Check {
    ctx.open()?;
    if ctx.scheme() == Scheme::Mohurd {
        let code = ctx.expect_ok(&Command::GetAuthCode)?;
        ensure!(
            code.len() == 9 && code[0] == 0x85,
            "the authentication code is {}, expected 9 bytes beginning 85",
            hex::encode_upper(&code)
        );
    } else {
        ctx.expect(&Command::GetAuthCode, StatusWord::INSTRUCTION_NOT_SUPPORTED)?;
    }
    Ok(())
}

fn composite_completes(ctx: &mut CaseRun<'_>) -> Check {
    let scheme = ctx.scheme();
    ctx.ensure_balance(200)?;
    let before = ctx.snapshot()?;
    let tx = ctx.composite_purchase(200)?;
    ensure!(
        tx.tx_type == TxType::COMPOSITE_PURCHASE,
        "the transaction has type {}, expected 09",
        tx.tx_type
    );
    ensure!(
        tx.auth_code.is_some() == (scheme == Scheme::Mohurd),
        "authentication code in the record: {:?}",
        tx.auth_code
    );
    ctx.check_tac(&tx)?;
    let after = ctx.snapshot()?;
    ensure!(
        after.balance + 200 == before.balance
            && after.offline_seq == before.offline_seq.wrapping_add(1),
        "balance {} → {}, offline counter {} → {}: expected one debit of 200 fen",
        before.balance,
        after.balance,
        before.offline_seq,
        after.offline_seq
    );
    let rec = after
        .last_record
        .as_deref()
        .map(TxRecord::decode)
        .transpose()
        .map_err(|e| e.to_string())?
        .ok_or("0018 holds no record after the purchase")?;
    ensure!(
        rec.tx_type == TxType::COMPOSITE_PURCHASE,
        "0018 record 1 has type {}, expected 09",
        rec.tx_type
    );
    match scheme {
        Scheme::Mot => {
            let raw = ctx.expect_ok(&read_record(0x1A, 1))?;
            let transit = TransitRecord::decode(&raw).map_err(|e| e.to_string())?;
            ensure!(
                transit.amount == 200
                    && transit.boarding.terminal[2..] == TEST_TERMINAL.0
                    && transit.boarding.time == Some(tx.tx_time),
                "001A record 1 does not hold this purchase: {transit:?}"
            );
            let raw = ctx.expect_ok(&read_record(0x1E, 1))?;
            let process = ProcessRecord::decode(&raw).map_err(|e| e.to_string())?;
            ensure!(
                process.process_type == ProcessType::EP_SINGLE
                    && process.amount == 200
                    && i64::from(process.balance) == tx.balance_after_fen()
                    && process.date_time == tx.tx_time,
                "001E record 1 does not hold this purchase: {process:?}"
            );
        }
        _ => {
            let raw = ctx.expect_ok(&read_record(0x17, 1))?;
            let capp = CappRecord::decode(&raw).map_err(|e| e.to_string())?;
            ensure!(
                capp.record_id == 1
                    && capp.lock_flag == 0
                    && capp.data[..6] == TEST_TERMINAL.0
                    && capp.data[13..17] == 200u32.to_be_bytes(),
                "0017 record 1 does not hold this purchase: {}",
                hex::encode_upper(&raw)
            );
        }
    }
    Ok(())
}

fn composite_not_supported(ctx: &mut CaseRun<'_>) -> Check {
    let before = ctx.snapshot()?;
    ctx.open()?;
    let key_index = ctx.terminal().config().key_index;
    ctx.expect(
        &Command::InitializeForPurchase {
            composite: true,
            purse: Purse::Ep,
            key_index,
            amount: 0,
            terminal: TEST_TERMINAL,
        },
        StatusWord::FUNCTION_NOT_SUPPORTED,
    )?;
    let after = ctx.snapshot()?;
    ensure!(before == after, "the card changed: {before:?} → {after:?}");
    Ok(())
}

fn marker_record(scheme: Scheme, record: u8) -> Vec<u8> {
    let (_, len) = capp_file(scheme);
    let mut r = vec![0xAA; len];
    if scheme == Scheme::Mot {
        r[..6].copy_from_slice(&[0x27, 0x02, 0x7D, 0x01, 0x01, 0x00]);
    } else {
        r[..3].copy_from_slice(&[record, 0x2E, 0x00]);
    }
    r
}

fn composite_without_auth_code(ctx: &mut CaseRun<'_>) -> Check {
    ctx.ensure_balance(200)?;
    let before = ctx.snapshot()?;
    ctx.open()?;
    let record_before = ctx.expect_ok(&read_record(0x17, 1))?;
    let code = ctx.auth_code_if_needed(true)?;
    ensure!(code.is_some(), "the card has no authentication code");
    ctx.note("the PSAM computes MAC1 without the authentication code");
    let begun = ctx.begin_purchase(true, 200, None)?;
    ctx.expect_ok(&Command::UpdateCappDataCache {
        record_id: 1,
        sfi: 0x17,
        data: marker_record(Scheme::Mohurd, 1),
    })?;
    ctx.expect(&begun.debit(begun.mac1.mac1), StatusWord::MAC_ERROR)?;
    let record_after = ctx.expect_ok(&read_record(0x17, 1))?;
    ensure!(
        record_after == record_before,
        "0017 record 1 changed although DEBIT was refused: {}",
        hex::encode_upper(&record_after)
    );
    let after = ctx.snapshot()?;
    ensure!(before == after, "the card changed: {before:?} → {after:?}");
    Ok(())
}

fn locked_record_refused(ctx: &mut CaseRun<'_>) -> Check {
    let scheme = ctx.scheme();
    let (sfi, _) = capp_file(scheme);
    ctx.ensure_balance(200)?;
    let before = ctx.snapshot()?;
    ctx.open()?;
    let code = ctx.auth_code_if_needed(true)?;
    let begun = ctx.begin_purchase(true, 100, code)?;
    ctx.expect(
        &Command::UpdateCappDataCache {
            record_id: 1,
            sfi,
            data: marker_record(scheme, 1),
        },
        StatusWord::DATA_INVALIDATED,
    )?;
    // The refusal ended the composite purchase.
    ctx.expect(
        &begun.debit(begun.mac1.mac1),
        StatusWord::CONDITIONS_NOT_SATISFIED,
    )?;
    let after = ctx.snapshot()?;
    ensure!(before == after, "the card changed: {before:?} → {after:?}");
    ctx.note("the terminal now writes the unlocked record 2");
    ctx.terminal().reconfigure(|c| c.capp_record = 2);
    let tx = ctx.composite_purchase(100)?;
    ctx.check_tac(&tx)?;
    Ok(())
}

fn update_outside_composite(ctx: &mut CaseRun<'_>) -> Check {
    let scheme = ctx.scheme();
    let (sfi, _) = capp_file(scheme);
    let before = ctx.snapshot()?;
    ctx.open()?;
    let update = Command::UpdateCappDataCache {
        record_id: 1,
        sfi,
        data: marker_record(scheme, 1),
    };
    ctx.expect(&update, StatusWord::CONDITIONS_NOT_SATISFIED)?;
    ctx.note("inside an ordinary (not composite) purchase");
    ctx.begin_purchase(false, 0, None)?;
    ctx.expect(&update, StatusWord::CONDITIONS_NOT_SATISFIED)?;
    let after = ctx.snapshot()?;
    ensure!(before == after, "the card changed: {before:?} → {after:?}");
    Ok(())
}

fn management_file(ctx: &mut CaseRun<'_>) -> Check {
    ctx.open()?;
    let raw = ctx.expect_ok(&read_binary(0x17))?;
    let info = MotManagementInfo::decode(&raw).map_err(|e| format!("0017: {e}"))?;
    ensure!(
        info.interop <= 1,
        "interoperability flag {:04X}, expected 0000 or 0001",
        info.interop
    );
    ctx.note(format!(
        "city {}, interoperable: {}",
        hex::encode_upper(info.city_code),
        info.is_interoperable()
    ));
    Ok(())
}

fn cyclic_001e_overwrites(ctx: &mut CaseRun<'_>) -> Check {
    ctx.ensure_balance(110)?;
    let mut balances = Vec::new();
    for _ in 0..11 {
        let tx = ctx.composite_purchase(10)?;
        balances.push(tx.balance_after_fen());
    }
    let newest =
        ProcessRecord::decode(&ctx.expect_ok(&read_record(0x1E, 1))?).map_err(|e| e.to_string())?;
    ensure!(
        i64::from(newest.balance) == balances[10],
        "001E record 1 has balance {}, expected the newest {}",
        newest.balance,
        balances[10]
    );
    let oldest = ProcessRecord::decode(&ctx.expect_ok(&read_record(0x1E, 10))?)
        .map_err(|e| e.to_string())?;
    ensure!(
        i64::from(oldest.balance) == balances[1],
        "001E record 10 has balance {}, expected the second purchase's {}",
        oldest.balance,
        balances[1]
    );
    ctx.expect(&read_record(0x1E, 11), StatusWord::RECORD_NOT_FOUND)?;
    Ok(())
}
