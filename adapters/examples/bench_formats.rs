//! Parse + translate speed of every format, for `scripts/bench-adapters.sh`.
//!
//! ```sh
//! bench_formats gen FORMAT N FILE   # writes a synthetic file of N records
//! bench_formats read FORMAT FILE    # reads it: records, seconds, records/s (one line of JSON)
//! ```
//!
//! "Parse + translate" is what the hub's ingest does before verify and store: open the file,
//! stream every record into a `CanonicalTx` through the code tables, check the trailer.

use std::io::{BufReader, BufWriter};
use std::time::Instant;

use adapters::{Format, ReadOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("gen") if args.len() == 5 => {
            let format: Format = args[2].parse()?;
            let n: u64 = args[3].parse()?;
            let mut input = adapters::sample::SyntheticFile::new(format, n)?;
            let mut out = BufWriter::new(std::fs::File::create(&args[4])?);
            std::io::copy(&mut input, &mut out)?;
            Ok(())
        }
        Some("read") if args.len() == 4 => {
            let format: Format = args[2].parse()?;
            let file = std::fs::File::open(&args[3])?;
            let bytes = file.metadata()?.len();
            let start = Instant::now();
            let input = BufReader::with_capacity(256 * 1024, file);
            let mut stream = adapters::open(format, input, ReadOptions::new(&args[3]))?;
            let mut records = 0u64;
            for item in &mut stream {
                item?;
                records += 1;
            }
            let summary = stream.finish()?;
            // Integer arithmetic only (the workspace lints floats).
            let nanos = start.elapsed().as_nanos().max(1);
            assert_eq!(summary.records, records);
            println!(
                "{{\"format\":\"{format}\",\"records\":{records},\"bytes\":{bytes},\"millis\":{},\"records_per_s\":{},\"mb_per_s\":{}}}",
                nanos / 1_000_000,
                u128::from(records) * 1_000_000_000 / nanos,
                u128::from(bytes) * 1_000 / nanos
            );
            Ok(())
        }
        _ => Err("usage: bench_formats gen FORMAT N FILE | read FORMAT FILE".into()),
    }
}
