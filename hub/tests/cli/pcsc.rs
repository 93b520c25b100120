//! `hutong conformance vcard`, `conformance run --reader` and `card read` through a real PC/SC
//! stack: pcscd with vsmartcard's vpcd driver, the simulated card served into vpcd's second
//! reader (port 35964, "Virtual PCD 00 01"; the conformance crate's tests use the first).
//!
//! Skipped with a note when the binary was built without `--features pcsc` or pcscd lists no
//! vpcd reader, except under `CI`, where that fails (`.ci/run` provides both).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use super::hutong;

const VPCD: &str = "127.0.0.1:35964";
const READER: &str = "Virtual PCD 00 01";

/// One test at a time on the virtual reader.
static BENCH: Mutex<()> = Mutex::new(());

/// Whether the PC/SC bench can run (panics under CI when it cannot).
fn bench_ready() -> bool {
    let out = hutong(&["conformance", "readers"]);
    let readers = String::from_utf8_lossy(&out.stdout);
    let why = if !out.status.success() {
        String::from_utf8_lossy(&out.stderr).into_owned()
    } else if !readers.lines().any(|l| l == READER) {
        format!("pcscd lists no {READER:?} (readers: {readers:?})")
    } else {
        return true;
    };
    assert!(
        std::env::var_os("CI").is_none(),
        "under CI the PC/SC bench runs: {why}"
    );
    eprintln!("PC/SC bench not run: {why}");
    false
}

/// A `hutong conformance vcard` in the background, killed when dropped.
struct Vcard {
    child: Child,
}

impl Vcard {
    fn start(args: &[&str]) -> Vcard {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hutong"))
            .args(["conformance", "vcard", "--vpcd", VPCD])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("hutong conformance vcard starts");
        // Wait until pcscd has seen the card and powered it (after a card that just left, pcscd
        // first has to notice that one is gone).
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = Vec::new();
        loop {
            let line = lines.next().expect("vcard prints").unwrap();
            let powered = line == "# power on";
            seen.push(line);
            if powered {
                break;
            }
            assert!(seen.len() < 10, "vcard is not powered: {seen:?}");
        }
        assert!(seen.iter().any(|l| l.starts_with("# connected to vpcd")));
        // Keep reading its log in the background so that it never blocks on a full pipe.
        let log = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
        VCARD_LOG.lock().unwrap().replace(log);
        Vcard { child }
    }

    /// Stops the card and returns what it logged after connecting.
    fn stop(mut self) -> Vec<String> {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        VCARD_LOG
            .lock()
            .unwrap()
            .take()
            .map(|h| h.join().unwrap())
            .unwrap_or_default()
    }
}

impl Drop for Vcard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type LogThread = std::thread::JoinHandle<Vec<String>>;
static VCARD_LOG: Mutex<Option<LogThread>> = Mutex::new(None);

fn keys_file(name: &str, alg: &str) -> std::path::PathBuf {
    let path =
        std::env::temp_dir().join(format!("hutong-bench-{}-{name}.toml", std::process::id()));
    std::fs::write(
        &path,
        format!(
            "alg = \"{alg}\"\nmpk = \"11223344556677888877665544332211\"\n\
             mlk = \"22334455667788999988776655443322\"\nmtk = \"33445566778899AAAA99887766554433\"\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_vcard_in_vpcd_runs_the_catalogue_as_a_card_on_a_desk_reader() {
    let _bench = BENCH.lock().unwrap_or_else(|e| e.into_inner());
    if !bench_ready() {
        return;
    }
    for (scheme, alg) in [("mot", "3des"), ("mohurd", "sm4")] {
        let keys = keys_file(scheme, alg);
        let vcard = Vcard::start(&["--scheme", scheme, "--keys", keys.to_str().unwrap()]);
        let junit =
            std::env::temp_dir().join(format!("hutong-bench-{}-{scheme}.xml", std::process::id()));
        let out = hutong(&[
            "conformance",
            "run",
            "--reader",
            READER,
            "--keys",
            keys.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
            "--at",
            "20261122081500",
        ]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Found by its AID; special cards and the other algorithm's cases skipped with the reason.
        let last = text.lines().last().unwrap();
        assert!(
            last.starts_with(&format!(
                "PC/SC reader {READER} ({scheme} card, {alg} keys)"
            )),
            "{last}"
        );
        assert!(last.contains(" 0 failed, 8 skipped"), "{last}");
        assert!(text.contains("needs a card"), "{text}");
        let xml = std::fs::read_to_string(&junit).unwrap();
        assert!(xml.contains("<skipped>needs "));
        std::fs::remove_file(junit).unwrap();
        std::fs::remove_file(keys).unwrap();

        let log = vcard.stop();
        let commands = log.iter().filter(|l| l.starts_with(">> ")).count();
        let responses = log.iter().filter(|l| l.starts_with("<< ")).count();
        assert!(
            commands > 300 && commands == responses,
            "{commands} {responses}"
        );
        // The card was power-cycled before every case and kept its balance across them.
        assert!(log.iter().filter(|l| *l == "# power on").count() > 20);
        assert!(log.iter().any(|l| l.starts_with(">> 805C")));
    }
}

#[test]
fn run_with_vpcd_serves_a_fresh_card_per_case_and_passes_the_whole_catalogue() {
    let _bench = BENCH.lock().unwrap_or_else(|e| e.into_inner());
    if !bench_ready() {
        return;
    }
    let out = hutong(&[
        "conformance",
        "run",
        "--reader",
        READER,
        "--vpcd",
        VPCD,
        "--at",
        "20261122081500",
    ]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    assert!(
        text.lines()
            .last()
            .unwrap()
            .ends_with("(vpcd): 138 passed, 0 failed, 0 skipped"),
        "{text}"
    );
}

#[test]
fn card_read_through_the_virtual_reader_gives_the_cards_files_as_json() {
    let _bench = BENCH.lock().unwrap_or_else(|e| e.into_inner());
    if !bench_ready() {
        return;
    }
    let vcard = Vcard::start(&["--scheme", "mot", "--balance", "4321"]);
    let log = std::env::temp_dir().join(format!("hutong-bench-{}-read.log", std::process::id()));
    let out = hutong(&[
        "card",
        "read",
        "--reader",
        READER,
        "--log",
        log.to_str().unwrap(),
    ]);
    let j = super::json(&out);
    assert_eq!(j["reader"], READER);
    assert_eq!(j["scheme"], "mot");
    assert_eq!(j["balance"]["balance"]["fen"], 4321);
    assert_eq!(j["balance"]["balance"]["yuan"], "43.21");
    assert_eq!(
        j["files"]["0015"]["app_info"]["card_number"],
        "3104370200000000001"
    );
    assert_eq!(j["files"]["0017"]["management"]["interoperable"], true);
    assert_eq!(j["fci"]["fci"]["aid"], "A000000632010105");
    for file in ["0016", "0018", "001A", "001E"] {
        assert!(j["files"].get(file).is_some(), "{file}");
    }
    // The log it wrote reads back with `card trace`, and the card saw the same exchanges.
    let traced = hutong(&["card", "trace", "--json", log.to_str().unwrap()]);
    let exchanges: serde_json::Value = serde_json::from_slice(&traced.stdout).unwrap();
    let n = exchanges.as_array().unwrap().len();
    assert!(n > 5, "{exchanges}");
    assert!(
        exchanges
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["decoded"]["app_info"]["layout"] == "mot")
    );
    std::fs::remove_file(log).unwrap();
    let card_log = vcard.stop();
    assert_eq!(card_log.iter().filter(|l| l.starts_with(">> ")).count(), n);
}
