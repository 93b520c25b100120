//! The demo's first two steps: the simulated day, and the hub configured for it from the
//! simulator's manifest (`world.toml`) — the PKI and a client certificate per partner, the
//! participants with their formats, the routes, as an operator would with `hutong certs`,
//! `hutong participants` and `hutong routes`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::NaiveDate;

use super::{DemoConfig, DemoError, Event, Observer, StepResult};
use crate::ingest::checks::RoutePattern;
use crate::store::{NewParticipant, ParticipantScheme, Store};
use reconciliation::settlement::{ClearingMember, SettlementAccount};
use simulator::{self as simulate, GroundTruth, Manifest, ParticipantKind};

/// What the simulation step made.
#[derive(Debug)]
pub struct Simulated {
    /// `world.toml`.
    pub manifest: Manifest,
    /// `ground-truth.json`.
    pub truth: GroundTruth,
    /// Seconds it took.
    pub seconds: f64,
}

/// Simulates the day into `out`.
pub fn simulate(
    config: &DemoConfig,
    day: NaiveDate,
    out: &Path,
    observe: Observer<'_>,
) -> Result<Simulated, DemoError> {
    let started = Instant::now();
    let mut sim = simulate::Config::new(config.seed, day);
    sim.taps = config.taps;
    if let Err(e) = sim.check() {
        return Err(DemoError::BadInput(e.to_string()));
    }
    let show = |p: simulate::Progress| {
        observe(Event::Simulated {
            records: p.records,
            expected: p.expected,
        })
    };
    let summary = simulate::run_with_progress(&sim, out, &show).step("simulate")?;
    Ok(Simulated {
        manifest: summary.manifest,
        truth: summary.truth,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Reads an earlier simulation of settlement day `day` from `dir`.
pub fn load(dir: &Path, day: NaiveDate) -> Result<Simulated, DemoError> {
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .map_err(|e| DemoError::BadInput(format!("{}: {e}", dir.join(name).display())))
    };
    let manifest: Manifest = toml::from_str(&read("world.toml")?)
        .map_err(|e| DemoError::BadInput(format!("{}/world.toml: {e}", dir.display())))?;
    if manifest.day != day {
        return Err(DemoError::BadInput(format!(
            "{} simulates {}, not today's settlement day {day}",
            dir.display(),
            manifest.day
        )));
    }
    let truth: GroundTruth = serde_json::from_str(&read("ground-truth.json")?)
        .map_err(|e| DemoError::BadInput(format!("{}/ground-truth.json: {e}", dir.display())))?;
    Ok(Simulated {
        manifest,
        truth,
        seconds: 0.0,
    })
}

/// A partner's credentials for mutual TLS, as `hutong certs issue` hands them out.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Certificate, PEM.
    pub cert: PathBuf,
    /// Private key, PEM.
    pub key: PathBuf,
    /// The hub CA to trust, PEM.
    pub ca: PathBuf,
}

/// The configured hub.
#[derive(Debug)]
pub struct Configured {
    /// The PKI directory.
    pub pki: certs::Pki,
    /// Each partner's credentials, by participant code.
    pub credentials: BTreeMap<String, Credentials>,
    /// Routes stored.
    pub routes: usize,
}

/// The made-up clearing system member ids of the demo start with this (real CNAPS bank codes
/// are 12 digits too; none starts with 999).
const DEMO_MEMBER_PREFIX: &str = "999";

/// The settlement account the demo gives a simulated participant: account id
/// `DEMO-{code}` and a CNAPS-like member id (`CNAPS`, `999` followed by nine digits derived
/// from the code). **Made up**: no bank knows these accounts; a real participant is added with
/// its own (`hutong participants add --settlement-account … --settlement-bic …` or
/// `--clearing-system … --member-id …`). Tests use it as their default too.
pub fn simulated_settlement_account(code: &str) -> SettlementAccount {
    // FNV-1a: a stable number per code, whatever the order of the manifest.
    let hash = code.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let account_id: String = format!("DEMO-{code}").chars().take(34).collect();
    SettlementAccount::new(
        account_id,
        None,
        Some(ClearingMember {
            system: "CNAPS".into(),
            member_id: format!("{DEMO_MEMBER_PREFIX}{:09}", hash % 1_000_000_000),
        }),
    )
    .expect("a valid made-up account")
}

fn scheme_of(kind: ParticipantKind) -> ParticipantScheme {
    use card_standards::Scheme;
    match kind {
        ParticipantKind::Local => ParticipantScheme::Scheme(Scheme::Local),
        ParticipantKind::Mohurd => ParticipantScheme::Scheme(Scheme::Mohurd),
        ParticipantKind::Mot => ParticipantScheme::Scheme(Scheme::Mot),
        ParticipantKind::Pboc => ParticipantScheme::Scheme(Scheme::Pboc),
        ParticipantKind::Partner | ParticipantKind::Hub => ParticipantScheme::Partner,
    }
}

/// Creates the PKI under `dir/pki`, a certificate per partner under `dir/partners/CODE/`,
/// and the participants and routes of `manifest` in `store`.
pub async fn configure(
    dir: &Path,
    manifest: &Manifest,
    store: &Store,
) -> Result<Configured, DemoError> {
    let pki = certs::Pki::init(&dir.join("pki"), "hutong demo CA", 365).step("configure")?;
    pki.issue_server(
        &["127.0.0.1".into(), "localhost".into()],
        certs::Validity::days(30).step("configure")?,
    )
    .step("configure")?;
    let mut credentials = BTreeMap::new();
    for p in &manifest.participant {
        let code = certs::ParticipantCode::new(&p.code).step("configure")?;
        store
            .add_participant(&NewParticipant {
                code: code.clone(),
                scheme: scheme_of(p.kind),
                name: p.name.clone(),
                endpoint: None,
                endpoint_ca_pem: None,
                endpoint_cert_path: None,
                endpoint_key_path: None,
                settlement_account: Some(simulated_settlement_account(&p.code)),
            })
            .await
            .step("configure")?;
        let Some(format) = p.format.as_deref() else {
            continue; // the hub itself: no format, no certificate
        };
        let format: adapters::Format = format.parse().map_err(|e| DemoError::Step {
            step: "configure",
            message: format!("participant {}: format {format}: {e}", p.code),
        })?;
        store
            .set_participant_format(&p.code, Some(format))
            .await
            .step("configure")?;
        let issued = pki
            .issue_participant(
                &code,
                certs::KeySource::Generate,
                certs::Validity::days(30).step("configure")?,
            )
            .step("configure")?;
        let home = dir.join("partners").join(&p.code);
        std::fs::create_dir_all(&home).step("configure")?;
        let c = Credentials {
            cert: home.join("client.crt"),
            key: home.join("client.key"),
            ca: home.join("hub-ca.crt"),
        };
        std::fs::write(&c.cert, &issued.cert_pem).step("configure")?;
        std::fs::write(&c.key, issued.key_pem.unwrap_or_default()).step("configure")?;
        std::fs::write(&c.ca, &issued.ca_pem).step("configure")?;
        credentials.insert(p.code.clone(), c);
    }
    for r in &manifest.route {
        let scheme: card_standards::Scheme = r.scheme.parse().map_err(|e| DemoError::Step {
            step: "configure",
            message: format!("route scheme {}: {e}", r.scheme),
        })?;
        let pattern = RoutePattern::parse(&r.issuer, &r.city).map_err(|e| DemoError::Step {
            step: "configure",
            message: format!("route {} {} {}: {e}", r.scheme, r.issuer, r.city),
        })?;
        store
            .add_route(
                scheme,
                &pattern.issuer_text(),
                &pattern.city_text(),
                &r.participant,
            )
            .await
            .step("configure")?;
    }
    Ok(Configured {
        pki,
        credentials,
        routes: manifest.route.len(),
    })
}
