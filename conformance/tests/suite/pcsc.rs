//! The catalogue through a real PC/SC stack: pcscd with vsmartcard's vpcd driver (Debian
//! packages `pcscd`, `vsmartcard-vpcd`), a fresh simulated card per case served to vpcd.
//!
//! Needs the `pcsc` feature and a running pcscd with vpcd's first reader on port 35963. The
//! test skips with a note when either is missing, except under `CI`, where that fails
//! (`.ci/run` installs the packages, starts pcscd and builds with the feature).

/// Why the bench cannot run here, if it cannot.
#[cfg(feature = "pcsc")]
fn virtual_reader() -> Result<String, String> {
    let readers = conformance::PcscReader::list().map_err(|e| format!("pcscd: {e}"))?;
    readers
        .into_iter()
        .find(|r| r.starts_with("Virtual PCD") && r.ends_with("00"))
        .ok_or_else(|| "pcscd lists no vpcd reader (install vsmartcard-vpcd, restart pcscd)".into())
}

/// The virtual reader's name, or `None` (test skipped) when pcscd or vpcd is missing outside CI.
#[cfg(feature = "pcsc")]
fn reader_or_skip() -> Option<String> {
    match virtual_reader() {
        Ok(name) => Some(name),
        Err(why) if std::env::var_os("CI").is_none() => {
            eprintln!("PC/SC bench not run: {why}");
            None
        }
        Err(why) => panic!("under CI the PC/SC bench runs: {why}"),
    }
}

#[cfg(feature = "pcsc")]
#[test]
fn the_whole_catalogue_through_pcscd_gives_the_in_process_verdicts() {
    use conformance::{SimulatedCards, VirtualCards, catalogue, run};

    let Some(reader) = reader_or_skip() else {
        return;
    };
    let cases = catalogue();
    let in_process = run(&cases, &mut SimulatedCards::new(), super::now());
    let mut source = VirtualCards::start(("127.0.0.1", conformance::vpcd::VPCD_PORT), &reader)
        .expect("vpcd accepts the virtual card");
    let through_pcsc = run(&cases, &mut source, super::now());
    assert_eq!(through_pcsc.cases.len(), cases.len());
    for (a, b) in in_process.cases.iter().zip(&through_pcsc.cases) {
        assert_eq!(
            (a.verdict, &a.id),
            (b.verdict, &b.id),
            "{}: {:?}\n{}",
            b.id,
            b.message,
            conformance::report::format_trace(&b.trace)
        );
    }
    let s = through_pcsc.summary();
    assert_eq!((s.passed, s.failed, s.skipped), (cases.len(), 0, 0), "{s}");
    assert!(through_pcsc.target.contains("Virtual PCD"));
}

/// Under CI the PC/SC bench must be built: a test binary without the feature fails there.
#[cfg(not(feature = "pcsc"))]
#[test]
fn under_ci_the_pcsc_bench_is_built() {
    assert!(
        std::env::var_os("CI").is_none(),
        "CI builds the tests with --features conformance/pcsc (the PC/SC bench)"
    );
}
