//! Parse + translate throughput of every format (criterion), on an in-memory synthetic file.
//! For figures against `wc -l` on files of a million records, run `scripts/bench-adapters.sh`.

use std::io::Read;

use adapters::sample::SyntheticFile;
use adapters::{Format, ReadOptions};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const N: u64 = 20_000;

fn parse_and_translate(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse+translate");
    group.throughput(Throughput::Elements(N));
    group.sample_size(10);
    for format in Format::TRANSACTIONS {
        let mut bytes = Vec::new();
        SyntheticFile::new(format, N)
            .expect("synthetic file")
            .read_to_end(&mut bytes)
            .expect("generated");
        group.bench_function(format.as_str(), |b| {
            b.iter(|| {
                let mut stream =
                    adapters::open(format, &bytes[..], ReadOptions::new("bench")).expect("header");
                let mut n = 0u64;
                for item in &mut stream {
                    item.expect("record");
                    n += 1;
                }
                stream.finish().expect("trailer");
                n
            })
        });
    }
    group.finish();
}

criterion_group!(benches, parse_and_translate);
criterion_main!(benches);
