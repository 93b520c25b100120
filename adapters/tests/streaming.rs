//! Streaming in constant memory: a generated file far larger than what a reader may hold is
//! read record by record while the process's peak resident memory stays flat.
//!
//! This is its own test binary (one process, one test) so that the peak it reads from
//! `/proc/self/status` is this test's alone. The 1 GB run is in `scripts/bench-adapters.sh`.

use std::io::BufReader;

use adapters::sample::SyntheticFile;
use adapters::{Format, ReadOptions};

/// Peak resident set size (VmHWM) in KiB, where the kernel reports it.
fn peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn readers_stream_a_large_generated_file_in_flat_memory() {
    // Enough records that holding them would show (a canonical record with its strings is
    // ≈ 450 bytes: 20 000 of them ≈ 9 MB per format, against a 4 MiB allowance for all five),
    // few enough for a debug-build test of a few seconds.
    const N: u64 = 20_000;
    let mut baseline = None;
    for format in Format::TRANSACTIONS {
        let input = BufReader::new(SyntheticFile::new(format, N).unwrap());
        let mut stream = adapters::open(format, input, ReadOptions::new("synthetic")).unwrap();
        let mut ok = 0u64;
        let mut total = 0i64;
        for (i, item) in (&mut stream).enumerate() {
            let tx = item.unwrap_or_else(|e| panic!("{format}: {e}"));
            total += tx.amount_fen;
            ok += 1;
            if baseline.is_none() && i == 5_000 {
                baseline = peak_kib();
            }
        }
        let summary = stream.finish().unwrap();
        assert_eq!(
            (ok, summary.records, summary.total_fen),
            (N, N, total),
            "{format}"
        );
    }
    if let (Some(before), Some(after)) = (baseline, peak_kib()) {
        let growth = after.saturating_sub(before);
        assert!(
            growth < 4 * 1024,
            "peak memory grew by {growth} KiB while streaming {N} records per format"
        );
        eprintln!(
            "peak memory: {before} KiB after 5 000 records, {after} KiB after {}",
            N * 5
        );
    }
}
