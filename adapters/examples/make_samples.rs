//! Writes the sample files of `adapters/samples/` with the crate's own writers.
//!
//! `cargo run -p adapters --example make_samples` (the test `samples_are_what_the_writers_write`
//! fails when a committed sample differs from what this writes).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    std::fs::create_dir_all(&dir)?;
    for (name, bytes) in adapters::sample::sample_files(card_standards::CodeTables::builtin())? {
        std::fs::write(dir.join(name), bytes)?;
        println!("wrote samples/{name}");
    }
    Ok(())
}
