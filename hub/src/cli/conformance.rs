//! `hutong conformance`: the conformance suite. Lists the catalogue, runs it against simulated
//! cards or a real card on a PC/SC reader (JUnit XML and HTML reports on request), and opens an
//! APDU shell on one simulated card.

use std::fs::File;
use std::io::{self, BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use card_standards::crypto::{Algorithm, Key16};
use card_standards::{CardSerial, CityCode, IssuerCode, Scheme};
use chrono::{DateTime, NaiveDateTime};
use clap::{Args, Subcommand};
use conformance::{
    CardProfile, CardSource, IssuerKeys, Report, SimCard, SimulatedCards, Verdict, catalogue_for,
    report,
};

use super::BadInput;
use super::args::{HexBytes, algorithm, compact_datetime, hex_array, hex_value};

/// `hutong conformance …`
#[derive(Debug, Subcommand)]
pub enum ConformanceCommand {
    /// Print the catalogue: each case's id, title and the standard it checks.
    List(ListArgs),
    /// Run the catalogue against simulated cards (or a real card with --reader); exit 0 only
    /// when no case failed.
    Run(RunArgs),
    /// Personalise one simulated card and exchange APDUs with it: one hex APDU per line on
    /// stdin, one hex response (data, SW1 SW2) per line on stdout.
    Apdu(ApduArgs),
    /// List the PC/SC readers (needs a build with `--features pcsc`).
    Readers,
    /// Be a simulated card in vsmartcard's virtual reader (vpcd, a pcscd driver): anything
    /// that talks PC/SC then talks to this card. Logs every APDU pair; stays until stopped.
    Vcard(VcardArgs),
}

/// Arguments of `conformance list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this scheme's cases (local, mohurd, mot, pboc); repeat for several.
    #[arg(long = "scheme", value_name = "S", value_parser = super::args::scheme)]
    schemes: Vec<Scheme>,
}

/// Arguments of `conformance run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Only this scheme's cases (local, mohurd, mot, pboc); repeat for several.
    #[arg(long = "scheme", value_name = "S", value_parser = super::args::scheme)]
    schemes: Vec<Scheme>,
    /// Write a JUnit XML report here (for CI systems).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write a self-contained HTML report here.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Run against the card in this PC/SC reader instead of simulated cards (needs a build
    /// with `--features pcsc`, and --keys or --vpcd).
    #[arg(long, value_name = "NAME")]
    reader: Option<String>,
    /// With --reader naming vpcd's virtual reader: serve a fresh simulated card for each case
    /// into vpcd at HOST:PORT (as `conformance vcard` does) and run the whole catalogue over
    /// PC/SC, special cards included.
    #[arg(
        long,
        value_name = "HOST:PORT",
        requires = "reader",
        conflicts_with = "keys"
    )]
    vpcd: Option<String>,
    /// TOML file with the master keys the real card's keys were diversified from: alg, mpk,
    /// mlk, mtk, and optionally key_index (default 1).
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,
    /// The terminal clock, YYYYMMDDhhmmss (default: now, China Standard Time).
    #[arg(long, value_name = "T", value_parser = compact_datetime)]
    at: Option<NaiveDateTime>,
}

/// Arguments of `conformance apdu`.
#[derive(Debug, Args)]
pub struct ApduArgs {
    /// The card's scheme: local, mohurd, mot or pboc.
    #[arg(long, value_parser = super::args::scheme)]
    scheme: Scheme,
    /// The 10-byte application serial, 20 hex digits; its right-most 8 bytes diversify the keys.
    /// Not needed with --0015, which carries the serial.
    #[arg(long, value_name = "HEX20", value_parser = hex_array::<10>, required_unless_present = "file_0015")]
    serial: Option<[u8; 10]>,
    /// The initial balance in fen.
    #[arg(long, value_name = "FEN")]
    balance: u32,
    /// 3des or sm4.
    #[arg(long, value_parser = algorithm)]
    alg: Algorithm,
    /// Master purchase key, 32 hex digits (DPK is diversified from it).
    #[arg(long, value_name = "HEX", value_parser = hex_array::<16>)]
    mpk: [u8; 16],
    /// Master load key, 32 hex digits (DLK).
    #[arg(long, value_name = "HEX", value_parser = hex_array::<16>)]
    mlk: [u8; 16],
    /// Master TAC key, 32 hex digits (DTK).
    #[arg(long, value_name = "HEX", value_parser = hex_array::<16>)]
    mtk: [u8; 16],
    /// Issuer code, 4 hex digits (default: the scheme's test issuer).
    #[arg(long, value_name = "HEX4", value_parser = hex_array::<2>)]
    issuer: Option<[u8; 2]>,
    /// Issuer city code, 4 hex digits (default: the scheme's test city).
    #[arg(long, value_name = "HEX4", value_parser = hex_array::<2>)]
    city: Option<[u8; 2]>,
    /// A real card's 0015, hex (30 bytes; 32 in the MOHURD layout): the simulated card becomes
    /// that card — serial, issuer, city, dates, application type and (T-Union) 启用标识 — and
    /// answers these bytes in its FCI and READ BINARY.
    #[arg(long = "0015", id = "file_0015", value_name = "HEX", value_parser = hex_value,
          conflicts_with_all = ["serial", "issuer", "city"])]
    file_0015: Option<HexBytes>,
    /// A real card's 0016, hex (55 bytes; its card type is used); needs --0015.
    #[arg(long = "0016", value_name = "HEX", value_parser = hex_value, requires = "file_0015")]
    file_0016: Option<HexBytes>,
    /// A real card's 0017, hex: T-Union management information (60 bytes) or MOHURD composite
    /// records (a multiple of 48); needs --0015.
    #[arg(long = "0017", value_name = "HEX", value_parser = hex_value, requires = "file_0015")]
    file_0017: Option<HexBytes>,
    /// A 0018 record to preload, hex (23 bytes); repeat, most recent first (as READ RECORD 1,
    /// 2, … answered on the real card). The counters follow the records.
    #[arg(long = "0018", value_name = "HEX", value_parser = hex_value)]
    file_0018: Vec<HexBytes>,
    /// The ED purse balance in fen: gives the card an ED beside the EP (default: PBOC cards have
    /// an empty ED, other schemes none).
    #[arg(long, value_name = "FEN")]
    ed_balance: Option<u32>,
}

/// Arguments of `conformance vcard`.
#[derive(Debug, Args)]
pub struct VcardArgs {
    /// The card's scheme: local, mohurd, mot or pboc.
    #[arg(long, value_parser = super::args::scheme)]
    scheme: Scheme,
    /// The algorithm of the catalogue's test keys (without --keys): 3des or sm4.
    #[arg(long, value_parser = algorithm, default_value = "3des", conflicts_with = "keys")]
    alg: Algorithm,
    /// The 10-byte application serial, 20 hex digits (default: the scheme's test serial).
    #[arg(long, value_name = "HEX20", value_parser = hex_array::<10>)]
    serial: Option<[u8; 10]>,
    /// The initial balance in fen.
    #[arg(long, value_name = "FEN", default_value_t = 10_000)]
    balance: u32,
    /// The master keys to personalise the card from, as for `run --keys` (default: the
    /// catalogue's test keys).
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,
    /// Where vpcd listens: its first reader on 35963, the second on 35964.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:35963")]
    vpcd: String,
}

/// Runs `hutong conformance …`.
pub(crate) fn run(cmd: ConformanceCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ConformanceCommand::List(a) => list(&a),
        ConformanceCommand::Run(a) => run_catalogue(&a),
        ConformanceCommand::Apdu(a) => apdu_shell(&a),
        ConformanceCommand::Readers => readers(),
        ConformanceCommand::Vcard(a) => vcard(&a),
    }
}

fn list(a: &ListArgs) -> anyhow::Result<ExitCode> {
    let cases = catalogue_for(&a.schemes);
    let mut out = io::stdout().lock();
    for case in &cases {
        let special = match case.setup {
            conformance::Setup::Special { needs, .. } => format!(" (needs {needs})"),
            conformance::Setup::Algorithm(alg) => format!(" ({alg} card)"),
            conformance::Setup::Standard => String::new(),
        };
        writeln!(out, "{:<10} {}{special}", case.id, case.title)?;
        writeln!(out, "{:<10} {}", "", case.reference)?;
    }
    let per_scheme: Vec<String> = Scheme::ALL
        .iter()
        .filter_map(|s| {
            let n = cases.iter().filter(|c| c.scheme == *s).count();
            (n > 0).then(|| format!("{s} {n}"))
        })
        .collect();
    writeln!(out, "{} cases ({})", cases.len(), per_scheme.join(", "))?;
    Ok(ExitCode::SUCCESS)
}

/// Now in China Standard Time (UTC+8, no daylight saving), the time of the terminals.
fn china_now() -> NaiveDateTime {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    DateTime::from_timestamp(i64::try_from(secs).unwrap_or(0) + 8 * 3600, 0)
        .unwrap_or_default()
        .naive_utc()
}

fn create(path: &Path) -> anyhow::Result<BufWriter<File>> {
    File::create(path)
        .map(BufWriter::new)
        .map_err(|e| BadInput(format!("cannot create {}: {e}", path.display())).into())
}

fn write_reports(a: &RunArgs, report: &Report) -> anyhow::Result<()> {
    if let Some(path) = &a.junit {
        let mut f = create(path)?;
        report::write_junit(report, &mut f)
            .and_then(|()| f.flush())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &a.html {
        let mut f = create(path)?;
        report::write_html(report, &mut f)
            .and_then(|()| f.flush())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn run_catalogue(a: &RunArgs) -> anyhow::Result<ExitCode> {
    let now = a.at.unwrap_or_else(china_now);
    match &a.reader {
        None => {
            if a.keys.is_some() {
                return Err(BadInput("--keys is for a real card: give --reader too".into()).into());
            }
            run_with(a, &mut SimulatedCards::new(), &a.schemes, now)
        }
        Some(name) => run_real(a, name, now),
    }
}

fn run_with(
    a: &RunArgs,
    source: &mut dyn CardSource,
    schemes: &[Scheme],
    now: NaiveDateTime,
) -> anyhow::Result<ExitCode> {
    let cases = catalogue_for(schemes);
    let mut out = io::stdout().lock();
    let report = conformance::run_each(&cases, source, now, |case| {
        let _ = writeln!(out, "{} {} {}", case.verdict.label(), case.id, case.title);
        if let (Some(message), Verdict::Failed | Verdict::Skipped) = (&case.message, case.verdict) {
            let _ = writeln!(out, "     {message}");
        }
    });
    writeln!(out, "{}: {}", report.target, report.summary())?;
    drop(out);
    write_reports(a, &report)?;
    Ok(if report.succeeded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The keys file of a real-card run.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    alg: String,
    mpk: String,
    mlk: String,
    mtk: String,
    #[serde(default = "default_key_index")]
    key_index: u8,
}

fn default_key_index() -> u8 {
    1
}

pub(crate) fn read_keys(path: &Path) -> anyhow::Result<(IssuerKeys, u8)> {
    let bad = |what: String| BadInput(format!("{}: {what}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let file: KeysFile = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let key = |name: &str, hex: &str| -> Result<Key16, BadInput> {
        hex.parse()
            .map_err(|_| bad(format!("{name}: expected 32 hex digits")))
    };
    let keys = IssuerKeys {
        alg: file
            .alg
            .parse()
            .map_err(|_| bad("alg: expected 3des or sm4".into()))?,
        mpk: key("mpk", &file.mpk)?,
        mlk: key("mlk", &file.mlk)?,
        mtk: key("mtk", &file.mtk)?,
    };
    Ok((keys, file.key_index))
}

/// How long `run --reader` and `card read` wait for a card on the reader.
#[cfg(feature = "pcsc")]
pub(crate) const CARD_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

#[cfg(feature = "pcsc")]
fn run_real(a: &RunArgs, name: &str, now: NaiveDateTime) -> anyhow::Result<ExitCode> {
    use conformance::{LoadHost, Psam, RealCard, Terminal, TerminalConfig};

    if let Some(vpcd) = &a.vpcd {
        let mut source = conformance::VirtualCards::start(vpcd.as_str(), name)
            .with_context(|| format!("vpcd at {vpcd}"))?;
        return run_with(a, &mut source, &a.schemes, now);
    }
    let path = a
        .keys
        .as_deref()
        .ok_or_else(|| BadInput("--reader needs --keys FILE".into()))?;
    let (keys, key_index) = read_keys(path)?;
    let mut reader = conformance::PcscReader::connect_waiting(name, CARD_WAIT)?;
    let scheme = match a.schemes.as_slice() {
        [one] => *one,
        [] => {
            let mut terminal = Terminal::new(
                TerminalConfig::new("CONFORMANCE", card_standards::Industry::Bus),
                Psam::new(conformance::catalogue::TEST_TERMINAL),
                LoadHost::new(),
            );
            terminal.detect(&mut reader)?.scheme
        }
        _ => {
            return Err(
                BadInput("a real card has one scheme: give at most one --scheme".into()).into(),
            );
        }
    };
    let mut source = RealCard::new(reader, scheme, keys, key_index);
    run_with(a, &mut source, &[scheme], now)
}

#[cfg(not(feature = "pcsc"))]
fn run_real(_: &RunArgs, _: &str, _: NaiveDateTime) -> anyhow::Result<ExitCode> {
    Err(no_pcsc())
}

#[cfg(not(feature = "pcsc"))]
fn no_pcsc() -> anyhow::Error {
    BadInput(
        "this hutong was built without PC/SC support: install libpcsclite-dev and build with \
         `cargo build --release -p hub --features pcsc`"
            .into(),
    )
    .into()
}

#[cfg(feature = "pcsc")]
fn readers() -> anyhow::Result<ExitCode> {
    for name in conformance::PcscReader::list()? {
        println!("{name}");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "pcsc"))]
fn readers() -> anyhow::Result<ExitCode> {
    Err(no_pcsc())
}

fn vcard(a: &VcardArgs) -> anyhow::Result<ExitCode> {
    use conformance::vpcd::{self, VirtualSlot, VpcdStream};

    let (keys, key_index) = match &a.keys {
        Some(path) => read_keys(path)?,
        None => (IssuerKeys::test(a.alg), 1),
    };
    let serial = a
        .serial
        .map_or_else(|| CardProfile::test_serial(a.scheme), CardSerial);
    let mut profile = CardProfile::new(a.scheme, serial, keys);
    profile.balance = a.balance;
    profile.max_balance = profile.max_balance.max(a.balance);
    profile.key_index = key_index;
    let card = SimCard::personalise(&profile).map_err(|e| BadInput(e.to_string()))?;
    let slot = VirtualSlot::new(card);
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "# simulated {} card {} ({} keys), ATR {}",
        a.scheme,
        profile.serial,
        keys.alg,
        hex::encode_upper(vpcd::atr(a.scheme))
    )?;
    out.flush()?;
    let mut waiting = false;
    loop {
        match VpcdStream::connect(a.vpcd.as_str()) {
            Ok(mut stream) => {
                waiting = false;
                writeln!(out, "# connected to vpcd at {}", a.vpcd)?;
                out.flush()?;
                let served = vpcd::serve(&mut stream, &slot, |event| {
                    let _ = writeln!(out, "{}", vpcd::log_line(event));
                    let _ = out.flush();
                });
                let why = served.err().map_or("closed".to_string(), |e| e.to_string());
                writeln!(out, "# vpcd connection ended ({why}); reconnecting")?;
                out.flush()?;
            }
            Err(e) if !waiting => {
                waiting = true;
                writeln!(
                    out,
                    "# waiting for vpcd at {} ({e}): is pcscd running with vsmartcard-vpcd?",
                    a.vpcd
                )?;
                out.flush()?;
            }
            Err(_) => {}
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

fn apdu_shell(a: &ApduArgs) -> anyhow::Result<ExitCode> {
    let keys = IssuerKeys {
        alg: a.alg,
        mpk: Key16(a.mpk),
        mlk: Key16(a.mlk),
        mtk: Key16(a.mtk),
    };
    let mut profile = match (&a.file_0015, a.serial) {
        (Some(HexBytes(raw)), _) => CardProfile::from_real_files(
            a.scheme,
            keys,
            raw,
            a.file_0016.as_ref().map(|h| &h.0[..]),
            a.file_0017.as_ref().map(|h| &h.0[..]),
        )
        .map_err(|e| BadInput(format!("--0015/--0016/--0017: {e}")))?,
        (None, Some(serial)) => CardProfile::new(a.scheme, CardSerial(serial), keys),
        (None, None) => return Err(BadInput("--serial or --0015 is needed".into()).into()),
    };
    profile.balance = a.balance;
    profile.max_balance = profile.max_balance.max(a.balance);
    if let Some(ed) = a.ed_balance {
        profile.ed_balance = Some(ed);
        profile.max_balance = profile.max_balance.max(ed);
    }
    if let Some(code) = a.issuer {
        profile.issuer.issuer_code = IssuerCode(code);
    }
    if let Some(code) = a.city {
        profile.issuer.city_code = CityCode(code);
    }
    if !a.file_0018.is_empty() {
        let records: Vec<Vec<u8>> = a.file_0018.iter().map(|h| h.0.clone()).collect();
        profile
            .preload_records(&records)
            .map_err(|e| BadInput(format!("--0018: {e}")))?;
    }
    let mut card = SimCard::personalise(&profile).map_err(|e| BadInput(e.to_string()))?;
    let mut out = io::stdout().lock();
    let mut response = Vec::with_capacity(64);
    for line in io::stdin().lock().split(b'\n') {
        let line = line.context("reading stdin")?;
        let text: Vec<u8> = line
            .into_iter()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        if text.is_empty() || text.starts_with(b"#") {
            continue;
        }
        match hex::decode(&text) {
            Ok(apdu) => card.transmit_into(&apdu, &mut response),
            Err(_) => {
                response.clear();
                response.extend_from_slice(&[0x67, 0x00]);
            }
        }
        writeln!(out, "{}", hex::encode_upper(&response))?;
        out.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys_file(name: &str, text: &str) -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("hutong-keys-{}-{name}.toml", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn keys_file_gives_the_master_keys_and_a_default_key_index() {
        let path = keys_file(
            "ok",
            "alg = \"sm4\"\nmpk = \"11223344556677888877665544332211\"\n\
             mlk = \"22334455667788999988776655443322\"\nmtk = \"33445566778899AAAA99887766554433\"\n",
        );
        let (keys, index) = read_keys(&path).unwrap();
        assert_eq!(keys, IssuerKeys::test(Algorithm::Sm4));
        assert_eq!(index, 1);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_keys_file_with_a_short_key_or_an_unknown_field_is_bad_input() {
        let short = keys_file(
            "short",
            "alg = \"3des\"\nmpk = \"1122\"\nmlk = \"22334455667788999988776655443322\"\n\
             mtk = \"33445566778899AAAA99887766554433\"\n",
        );
        let err = read_keys(&short).unwrap_err();
        assert!(
            err.downcast_ref::<BadInput>().unwrap().0.contains("mpk"),
            "{err}"
        );
        let extra = keys_file(
            "extra",
            "alg = \"3des\"\nmpk = \"\"\nmlk = \"\"\nmtk = \"\"\ndpk = \"\"\n",
        );
        assert!(
            read_keys(&extra)
                .unwrap_err()
                .downcast_ref::<BadInput>()
                .is_some()
        );
        std::fs::remove_file(short).unwrap();
        std::fs::remove_file(extra).unwrap();
    }

    #[test]
    fn china_time_is_eight_hours_ahead_of_utc() {
        let utc = DateTime::from_timestamp(
            i64::try_from(
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_secs(),
            )
            .unwrap(),
            0,
        )
        .unwrap()
        .naive_utc();
        let diff = china_now() - utc;
        assert!((diff.num_seconds() - 8 * 3600).abs() <= 2);
    }
}
