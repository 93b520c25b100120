//! `hutong card`: the compliance engineer's card tools. Decode raw card files and responses into
//! JSON, annotate an APDU log, read a card on a PC/SC reader (feature `pcsc`).

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use card_standards::Scheme;
use card_standards::decode::{self, FileKind, trace};
use clap::{Args, Subcommand};
use conformance::dump::{CardDump, FileDump};
use serde_json::{Value, json};

use super::BadInput;

/// `hutong card …`
#[derive(Debug, Subcommand)]
pub enum CardCommand {
    /// Decode a card file or response, as hex (a reader app's dump), into JSON with every field
    /// named and typed. A record file takes its records one per argument or concatenated; a
    /// trailing 9000 is dropped.
    Decode(DecodeArgs),
    /// Annotate an APDU log (`>> C-APDU` / `<< R-APDU` lines, the catalogue's `>`/`<` traces,
    /// pcscd's `APDU:`/`SW:`, `send:`/`receive:` scripts): each command named with its fields,
    /// the status word and its meaning, files and responses decoded.
    Trace(TraceArgs),
    /// Read the card on a PC/SC reader: its application's files, records and balance, decoded
    /// (needs a build with `--features pcsc`).
    Read(ReadArgs),
}

fn file_kind(s: &str) -> Result<FileKind, String> {
    s.parse().map_err(|e: card_standards::Error| e.to_string())
}

/// Arguments of `card decode`.
#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// 0015, 0016, 0017, 0018, 001A, 001E, fci or balance.
    #[arg(long, value_name = "FILE", value_parser = file_kind)]
    file: FileKind,
    /// The card's scheme (local, mohurd, mot, pboc): needed for 0015, names card types, tells
    /// 0017 and 001A layouts apart.
    #[arg(long, value_parser = super::args::scheme)]
    scheme: Option<Scheme>,
    /// The bytes in hex (spaces allowed inside an argument).
    #[arg(value_name = "HEX", required = true)]
    hex: Vec<String>,
}

/// Arguments of `card trace`.
#[derive(Debug, Args)]
pub struct TraceArgs {
    /// The log file (`-` for stdin).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// One JSON array of the exchanges instead of text.
    #[arg(long)]
    json: bool,
}

/// Arguments of `card read`.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// The PC/SC reader: its exact name or a unique part of it.
    #[arg(long, value_name = "NAME")]
    reader: String,
    /// Only try this scheme's AID (default: each scheme's in turn).
    #[arg(long, value_parser = super::args::scheme)]
    scheme: Option<Scheme>,
    /// Also write the APDU exchanges here as `>>`/`<<` lines (for `hutong card trace`).
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
}

/// Runs `hutong card …`.
pub(crate) fn run(cmd: CardCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CardCommand::Decode(a) => decode_files(&a),
        CardCommand::Trace(a) => trace_log(&a),
        CardCommand::Read(a) => read(&a),
    }
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<ExitCode> {
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(ExitCode::SUCCESS)
}

fn decode_files(a: &DecodeArgs) -> anyhow::Result<ExitCode> {
    let parts = a
        .hex
        .iter()
        .map(|h| {
            let compact: String = h.chars().filter(|c| !c.is_whitespace()).collect();
            super::args::hex_bytes(&compact).map_err(|e| BadInput(format!("{h:?}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let decoded = decode::decode(a.file, a.scheme, &parts).map_err(|e| BadInput(e.to_string()))?;
    print_json(&decoded)
}

fn trace_log(a: &TraceArgs) -> anyhow::Result<ExitCode> {
    let mut text = String::new();
    if a.file.as_os_str() == "-" {
        io::stdin().read_to_string(&mut text)?;
    } else {
        text = std::fs::read_to_string(&a.file)
            .map_err(|e| BadInput(format!("{}: {e}", a.file.display())))?;
    }
    let exchanges = trace::annotate(&text);
    if a.json {
        return print_json(&exchanges);
    }
    let mut out = io::stdout().lock();
    for (n, ex) in exchanges.iter().enumerate() {
        let fields: Vec<String> = ex
            .fields
            .0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        writeln!(
            out,
            "#{} (line {}) {}  {}",
            n + 1,
            ex.line,
            ex.name,
            fields.join(" ")
        )?;
        writeln!(out, "  >> {}", ex.command)?;
        if let Some(e) = &ex.parse_error {
            writeln!(out, "     not understood: {e}")?;
        }
        match (&ex.response, &ex.status_word) {
            (Some(data), Some(sw)) => writeln!(
                out,
                "  << {data}{}{sw} ({})",
                if data.is_empty() { "" } else { " " },
                ex.meaning.unwrap_or("unknown status word")
            )?,
            (Some(data), None) => writeln!(out, "  << {data} (no status word)")?,
            _ => writeln!(out, "  << (no response logged)")?,
        }
        if let Some(decoded) = &ex.decoded {
            writeln!(out, "     {}", serde_json::to_string(decoded)?)?;
        }
    }
    writeln!(out, "{} exchanges", exchanges.len())?;
    Ok(ExitCode::SUCCESS)
}

/// A card dump as JSON: the FCI, each file decoded (or the status word that refused it or
/// the decoder's error, with the raw bytes), the balance.
#[cfg_attr(not(feature = "pcsc"), allow(dead_code))]
pub(crate) fn dump_json(reader: &str, dump: &CardDump) -> Value {
    let scheme = Some(dump.scheme);
    let decoded = |kind: FileKind, parts: &[Vec<u8>]| match decode::decode(kind, scheme, parts) {
        Ok(d) => serde_json::to_value(d).unwrap_or(Value::Null),
        Err(e) => json!({
            "error": e.to_string(),
            "raw": parts.iter().map(hex::encode_upper).collect::<Vec<_>>(),
        }),
    };
    let mut files = serde_json::Map::new();
    for (id, file) in &dump.files {
        let name = format!("{id:04X}");
        let value = match (name.parse::<FileKind>(), file) {
            (Ok(kind), FileDump::Binary(b)) => decoded(kind, std::slice::from_ref(b)),
            (Ok(_), FileDump::Records(r)) if r.is_empty() => json!({"records": []}),
            (Ok(kind), FileDump::Records(r)) => decoded(kind, r),
            (_, FileDump::Refused(sw)) => json!({"refused": sw.to_string()}),
            (Err(_), FileDump::Binary(b)) => json!({"raw": hex::encode_upper(b)}),
            (Err(_), FileDump::Records(r)) => {
                json!({"raw": r.iter().map(hex::encode_upper).collect::<Vec<_>>()})
            }
        };
        files.insert(name, value);
    }
    json!({
        "reader": reader,
        "scheme": dump.scheme,
        "fci": decoded(FileKind::Fci, std::slice::from_ref(&dump.fci)),
        "files": files,
        "balance": match &dump.balance {
            Ok(b) => decoded(FileKind::Balance, std::slice::from_ref(b)),
            Err(sw) => json!({"refused": sw.to_string()}),
        },
    })
}

#[cfg(feature = "pcsc")]
fn read(a: &ReadArgs) -> anyhow::Result<ExitCode> {
    use conformance::{TraceEvent, TracingReader};

    let pcsc = conformance::PcscReader::connect_waiting(&a.reader, super::conformance::CARD_WAIT)?;
    let name = pcsc.name().to_string();
    let mut reader = TracingReader::new(pcsc);
    let schemes: Vec<Scheme> = a.scheme.into_iter().collect();
    let dump = conformance::dump::read_card(&mut reader, &schemes);
    if let Some(path) = &a.log {
        let mut log = String::new();
        for event in reader.trace() {
            if let TraceEvent::Exchange {
                command, response, ..
            } = event
            {
                log.push_str(&format!(">> {}\n", hex::encode_upper(command)));
                if let Some(r) = response {
                    log.push_str(&format!("<< {}\n", hex::encode_upper(r)));
                }
            }
        }
        std::fs::write(path, log)
            .map_err(|e| BadInput(format!("cannot write {}: {e}", path.display())))?;
    }
    print_json(&dump_json(&name, &dump?))
}

#[cfg(not(feature = "pcsc"))]
fn read(_: &ReadArgs) -> anyhow::Result<ExitCode> {
    Err(BadInput(
        "this hutong was built without PC/SC support: install libpcsclite-dev and build with \
         `cargo build --release -p hub --features pcsc`"
            .into(),
    )
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use card_standards::crypto::Algorithm;
    use conformance::{CardProfile, SimCard};

    #[test]
    fn a_simulated_cards_dump_becomes_json_with_every_file() {
        let profile = CardProfile::test(Scheme::Mot, Algorithm::TripleDes);
        let mut card = SimCard::personalise(&profile).unwrap();
        let dump = conformance::dump::read_card(&mut card, &[]).unwrap();
        let j = dump_json("sim", &dump);
        assert_eq!(j["scheme"], "mot");
        assert_eq!(j["balance"]["balance"]["fen"], 10_000);
        for file in ["0015", "0016", "0017", "0018", "001A", "001E"] {
            assert!(j["files"].get(file).is_some(), "{file}: {j}");
        }
        assert_eq!(
            j["files"]["0015"]["app_info"]["card_number"],
            profile.serial.mot_card_number()
        );
        // No transaction yet: 0018 holds no record.
        assert_eq!(j["files"]["0018"], json!({"records": []}));
    }
}
