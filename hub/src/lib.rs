//! The hub: the `hutong` binary's library. It owns everything that touches the outside world —
//! the listeners, storage, files on disk, delivery, timed jobs and the command line — and calls
//! the pure crates (`card-standards`, `adapters`, `reconciliation`, `certs`, `conformance`,
//! `simulator`) for the rules.
//!
//! # The modules, in the order data flows through them
//!
//! | step | module | what it does |
//! |---|---|---|
//! | assemble | [`app`] | [`app::Application`]: the one place the running hub is built (API, console, workers, scheduler) |
//! | | [`settings`], [`config`] | the hub's code, cut-off, local time and acceptance window; the `serve` TOML |
//! | upload | [`server`], [`http`], [`wire`] | the mutual-TLS accept loop, the partner API, what both sides say |
//! | | [`vault`], [`seal`] | file contents on disk (fsynced before a receipt); the `Hutong-Seal` MAC |
//! | ingest | [`ingest`] | detect, parse, translate, check (`R01`–`R07`), store; result files and blacklist changes |
//! | clear | [`clearing`], [`day`] | close a settlement window, positions, settlement files; [`day::close_day`], the one sequence that closes a day |
//! | settle | [`outbound`], [`delivery`], [`client`] | outbound packages (下发包) and resends; the outbox and the deliverer; the participant's client |
//! | prove | [`verify`] | `hutong verify`: a closed day's records, pairs, positions, statements, instructions, packages, audit chain and file digests checked against each other |
//! | reconcile | [`reconcile`] | partners' results, matching, card audit, late presentment, resolution rules |
//! | dispute | [`disputes`] | dispute cases: stages, deadlines, evidence, adjustments |
//! | run | [`scheduler`] | the one scheduler of every timed job (cut-off, results intake, deadlines, reconciliation, checks) |
//! | drill | [`drill`] | `hutong drill`: the day through replicas killed at random, held against a clean run |
//! | watch | [`ops`], [`metrics`] | the operations listener (`/healthz`, `/readyz`, `/metrics`) and the counters behind it |
//! | people | [`console`] | the finance console (server-rendered pages) |
//! | | [`cli`], [`demo`] | the `hutong` commands; the whole day end to end on the embedded default |
//! | | [`store`] | every SQL statement: SQLite and PostgreSQL behind one [`store::Store`]; opening refuses a missing hub or a schema of another version ([`store::OpenMode`]) |
//! | | [`datadir`] | one `hutong serve` per SQLite data directory ([`datadir::DataDirLock`]) |
//!
//! Dependencies among these modules point one way (no import circle): the store and the vault
//! know nothing of the parts above them, and the application knows them all.
//!
//! # Building the hub
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! use hub::app::{AppSettings, Application, StoreChoice};
//! use hub::store::{DbTarget, OpenMode};
//!
//! let dir = tempfile::tempdir()?;
//! certs::install_default_provider();
//! let pki = certs::Pki::init(&dir.path().join("pki"), "Example hub CA", 30)?;
//! pki.issue_server(&["127.0.0.1".into()], certs::Validity::days(30)?)?;
//! let data = dir.path().join("data");
//! let settings = AppSettings::new(
//!     StoreChoice::Target(DbTarget::DataDir(data.clone()), OpenMode::Create),
//!     data,
//!     pki.dir().to_path_buf(),
//! );
//! let app = Application::build(settings).await?; // 127.0.0.1, a free port
//! println!("partners upload to {}", app.api_url());
//! app.stop().await;
//! # Ok(())
//! # })
//! # }
//! ```

pub mod app;
pub mod clearing;
pub mod cli;
pub mod client;
pub mod config;
pub mod console;
pub mod datadir;
pub mod day;
pub mod delivery;
pub mod demo;
pub mod disputes;
pub mod drill;
pub mod http;
pub mod ingest;
pub mod metrics;
pub mod ops;
pub mod outbound;
pub mod reconcile;
pub mod scheduler;
pub mod seal;
pub mod server;
pub mod settings;
pub mod store;
pub mod vault;
pub mod verify;
pub mod wire;
