//! The finance console end to end: a real HTTPS console on 127.0.0.1, Debian's headless
//! Chromium driven over WebDriver (chromedriver, a few JSON requests: no client crate), one
//! browser session for all of it. Sign in, filter the queue, open a case, take an action, and
//! check that it is recorded; then CSRF and roles with plain requests.
//!
//! `HUTONG_CONSOLE_SCREENSHOT=docs/console.png` also writes the screenshot for the README.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use certs::{Pki, Validity};
use hub::app::{AppSettings, Application, StoreChoice};
use hub::reconcile::{self, ReconcileSettings};
use hub::store::testing::TestDb;
use hub::store::{NewUser, StaffRole};
use serde_json::{Value, json};

use crate::data::{at, day, world};

struct Driver {
    child: Child,
    http: reqwest::Client,
    base: String,
    session: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Driver {
    async fn start(profile: &std::path::Path) -> Option<Driver> {
        if !std::path::Path::new("/usr/bin/chromedriver").exists()
            || !std::path::Path::new("/usr/bin/chromium").exists()
        {
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if let Ok(r) = http.get(format!("{base}/status")).send().await
                && r.status().is_success()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage", "--window-size=1360,900",
                         format!("--user-data-dir={}", profile.display())]
            }
        }}});
        let r: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {r}"))
            .to_string();
        Some(Driver {
            child,
            http,
            base,
            session,
        })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        if v["value"].get("error").is_some() {
            panic!("WebDriver {path}: {v}");
        }
        v["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// Finds an element, waiting up to 15 s for it: after a click the next page may still be
    /// loading when WebDriver answers.
    async fn find(&self, css: &str) -> String {
        let url = format!("{}/session/{}/element", self.base, self.session);
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        let v = loop {
            let v: Value = self
                .http
                .post(&url)
                .json(&json!({"using": "css selector", "value": css}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            match v["value"].get("error").and_then(Value::as_str) {
                None => break v["value"].clone(),
                Some("no such element") if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Some(_) => panic!("WebDriver /element {css}: {v}"),
            }
        };
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    async fn count(&self, css: &str) -> usize {
        self.call(
            reqwest::Method::POST,
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        )
        .await
        .as_array()
        .map(|a| a.len())
        .unwrap_or(0)
    }

    /// Clicks what loads a new page (a link, a form's submit button) and waits, up to 15 s,
    /// until the old page is gone: WebDriver answers the click before the next page has
    /// loaded, and reading then would read the old page. While the page is changing,
    /// ChromeDriver may also answer `unknown error` (no execution context yet, on a loaded
    /// machine): that is asked again, until the old element is reported stale.
    async fn click_and_wait(&self, css: &str) {
        let old = self.find("html").await;
        self.click(css).await;
        let url = format!("{}/session/{}/element/{old}/name", self.base, self.session);
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            let v: Value = self
                .http
                .get(&url)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            match v["value"].get("error").and_then(Value::as_str) {
                Some("stale element reference") => return,
                Some("unknown error") if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await
                }
                Some(e) => panic!("WebDriver {url}: {e} ({})", v["value"]["message"]),
                None if std::time::Instant::now() >= deadline => {
                    panic!("clicking {css} loaded no new page within 15 s")
                }
                None => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{e}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{e}/clear"),
            Some(json!({})),
        )
        .await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    async fn text(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{e}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn cookie(&self, name: &str) -> String {
        self.call(reqwest::Method::GET, &format!("/cookie/{name}"), None)
            .await["value"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn screenshot(&self) -> Vec<u8> {
        let b64 = self.call(reqwest::Method::GET, "/screenshot", None).await;
        base64_decode(b64.as_str().unwrap())
    }
}

fn form_body<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k.as_ref()), enc(v.as_ref())))
        .collect::<Vec<_>>()
        .join("&")
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let clean: Vec<u8> = s
        .bytes()
        .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let v: Vec<u32> = chunk.iter().map(|c| u32::from(val(*c))).collect();
        let n = v
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, x)| acc | (x << (18 - 6 * i)));
        out.push((n >> 16) as u8);
        if v.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if v.len() > 3 {
            out.push(n as u8);
        }
    }
    out
}

#[tokio::test]
async fn finance_staff_sign_in_filter_the_queue_and_act_on_a_case_in_chromium() {
    certs::install_default_provider();
    let dir = tempfile::tempdir().unwrap();
    let Some(driver) = Driver::start(&dir.path().join("chromium-profile")).await else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must have chromium and chromium-driver (.ci/run installs them)"
        );
        eprintln!("chromium or chromedriver missing: console browser test skipped");
        return;
    };
    let db = TestDb::sqlite(dir.path()).await.unwrap();
    let store = db.store.clone();
    let w = world(&store).await;
    let settings = ReconcileSettings::default();
    reconcile::reconcile_day(
        &store,
        &w.vault,
        &settings,
        day(21),
        at("2026-11-22T03:00:00Z"),
        None,
    )
    .await
    .unwrap();
    for (name, role, participant, password) in [
        ("fang", StaffRole::Finance, Some("QD"), "fang-password-1"),
        ("vera", StaffRole::Viewer, None, "vera-password-1"),
    ] {
        store
            .add_user(&NewUser {
                name: name.into(),
                role,
                participant: participant.map(str::to_string),
                password_hash: Some(hub::console::auth::hash_password(password).unwrap()),
                cert_login: false,
            })
            .await
            .unwrap();
    }
    let pki = Pki::init(&dir.path().join("pki"), "Test hub CA", 30).unwrap();
    pki.issue_server(&["127.0.0.1".into()], Validity::days(30).unwrap())
        .unwrap();
    // The hub as `hutong serve --console-listen` builds it; the test drives the jobs itself.
    let mut app_settings = AppSettings::new(
        StoreChoice::Open(store.clone()),
        w.vault.data_dir().to_path_buf(),
        pki.dir().to_path_buf(),
    );
    app_settings.console_listen = Some(([127, 0, 0, 1], 0).into());
    app_settings.reconcile = settings.clone();
    app_settings.workers.ingest = false;
    app_settings.workers.delivery = false;
    app_settings.workers.scheduler = false;
    let console = Application::build(app_settings).await.unwrap();
    let base = format!(
        "https://127.0.0.1:{}",
        console.console_addr().expect("a console").port()
    );

    // Not signed in: every page leads to the sign-in form. A wrong password is refused.
    driver.goto(&format!("{base}/discrepancies")).await;
    assert!(driver.url().await.ends_with("/login"));
    driver.fill("#name", "fang").await;
    driver.fill("#password", "wrong-password").await;
    driver.click_and_wait("#sign-in").await;
    assert!(
        driver
            .text("#error")
            .await
            .contains("Wrong user name or password")
    );
    driver.fill("#name", "fang").await;
    driver.fill("#password", "fang-password-1").await;
    driver.click_and_wait("#sign-in").await;
    assert!(
        driver
            .text("#who")
            .await
            .contains("fang · finance · for QD")
    );

    // The queue of the day, with every type; the screenshot for the README.
    driver
        .goto(&format!("{base}/discrepancies?day=2026-11-21"))
        .await;
    assert_eq!(driver.count("#queue tbody tr").await, 12);
    let png = driver.screenshot().await;
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    if let Ok(path) = std::env::var("HUTONG_CONSOLE_SCREENSHOT") {
        std::fs::write(path, &png).unwrap();
    }

    // Filter by type, open the case.
    driver
        .click("#filter-type option[value=rejected_by_issuer]")
        .await;
    driver.click_and_wait("#apply-filters").await;
    assert_eq!(driver.count("#queue tbody tr").await, 1);
    assert!(
        driver
            .text("#queue tbody tr")
            .await
            .contains("rejected_by_issuer")
    );
    driver
        .click_and_wait("#queue tbody tr td:last-child a")
        .await;
    assert!(driver.text("h1").await.contains("MOT v QD"));
    assert_eq!(driver.text("#stage").await, "opened");

    // QD's finance staff propose half; it is recorded with who and when.
    driver.fill("#propose-amount", "250").await;
    driver.click_and_wait("#act-propose").await;
    assert!(
        driver.text("#flash").await.contains("propose"),
        "{}",
        driver.text("main").await
    );
    assert_eq!(driver.text("#stage").await, "proposed");
    assert!(driver.text("#pending").await.contains("QD pays MOT ¥2.50"));
    assert!(driver.text("#history").await.contains("fang (QD)"));
    let case_id: i64 = driver
        .url()
        .await
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let c = store.case(case_id).await.unwrap().unwrap();
    let last = c.case.history.last().unwrap();
    assert_eq!(
        (last.actor.as_str(), last.action.as_str()),
        ("fang (QD)", "propose")
    );
    let audit = store.audit_entries(0, 10_000).await.unwrap();
    assert!(audit.iter().any(
        |e| e.action == "dispute.propose" && e.detail.as_deref().unwrap_or("").contains("fang")
    ));
    assert!(
        audit
            .iter()
            .any(|e| e.action == "console.login" && e.result == "refused")
    );

    // CSRF: the session cookie without the form's token is refused, and nothing changes.
    let cookie = driver.cookie("hutong_session").await;
    assert_eq!(cookie.len(), 64);
    let ca = pki.ca_pem().unwrap();
    let tls = certs::client_config(ca.as_bytes(), None).unwrap();
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let post = |cookie: String, form: Vec<(&'static str, String)>| {
        http.post(format!("{base}/cases/{case_id}/action"))
            .header("cookie", format!("hutong_session={cookie}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&form))
            .send()
    };
    let r = post(
        cookie.clone(),
        vec![("csrf", "0".repeat(64)), ("action", "escalate".into())],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        store.case(case_id).await.unwrap().unwrap().case.stage,
        reconciliation::dispute::Stage::Proposed
    );
    // No session: to the sign-in page.
    let r = http
        .get(format!("{base}/cases/{case_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    // A viewer cannot act even with a valid token.
    let login = http.get(format!("{base}/login")).send().await.unwrap();
    let login_cookie = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("hutong_login="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let token = login_cookie.trim_start_matches("hutong_login=").to_string();
    let r = http
        .post(format!("{base}/login"))
        .header("cookie", &login_cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[
            ("csrf", token.as_str()),
            ("name", "vera"),
            ("password", "vera-password-1"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let vera = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("hutong_session="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("hutong_session=")
        .to_string();
    let page = http
        .get(format!("{base}/cases/{case_id}"))
        .header("cookie", format!("hutong_session={vera}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !page.contains("act-propose"),
        "a viewer sees no action forms"
    );
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let r = post(vera, vec![("csrf", csrf), ("action", "escalate".into())])
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // The exports answer the filtered queue.
    let csv = http
        .get(format!(
            "{base}/discrepancies/export/csv?day=2026-11-21&type=counter_gap"
        ))
        .header("cookie", format!("hutong_session={cookie}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.lines().nth(1).unwrap().contains(",counter_gap,"));
    let xlsx = http
        .get(format!("{base}/days/2026-11-21/export/xlsx"))
        .header("cookie", format!("hutong_session={cookie}"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&xlsx[..2], b"PK");
    // The day page shows the proof of the closed day (`hutong verify`), check by check.
    let page = http
        .get(format!("{base}/days/2026-11-21"))
        .header("cookie", format!("hutong_session={cookie}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Proof of the day"), "{page}");
    for check in [
        "window.count",
        "positions.zero_sum",
        "package",
        "audit.chain",
    ] {
        assert!(
            page.contains(&format!("<td>{check}")),
            "the day page shows {check}: {page}"
        );
    }
    console.stop().await;
    let _ = driver.call(reqwest::Method::DELETE, "", None).await;
}
