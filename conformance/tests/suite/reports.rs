use card_standards::Scheme;
use conformance::{SimulatedCards, catalogue_for, report, run};
use quick_xml::events::Event;

use super::now;

#[test]
fn junit_of_a_real_run_is_well_formed_and_counts_every_case() {
    let cases = catalogue_for(&[Scheme::Pboc, Scheme::Local]);
    let r = run(&cases, &mut SimulatedCards::new(), now());
    let mut xml = Vec::new();
    report::write_junit(&r, &mut xml).unwrap();
    let xml = String::from_utf8(xml).unwrap();
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut testcases, mut suites) = (0, 0);
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) if e.name().0 == "testcase" => testcases += 1,
            Event::Start(e) if e.name().0 == "testsuite" => suites += 1,
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!((testcases, suites), (cases.len(), 2));
    assert!(xml.contains("GET TRANSACTION PROVE"));
}

#[test]
fn html_report_lists_every_case_with_its_trace() {
    let cases = catalogue_for(&[Scheme::Mohurd]);
    let r = run(&cases, &mut SimulatedCards::new(), now());
    let mut html = Vec::new();
    report::write_html(&r, &mut html).unwrap();
    let html = String::from_utf8(html).unwrap();
    for case in &cases {
        assert!(
            html.contains(&format!(r#"<details id="{}">"#, case.id)),
            "{}",
            case.id
        );
    }
    assert!(html.contains("9302 (MAC error)"));
    assert!(html.contains("80 CA 00 00 09"));
}

/// Validates `xml` against `conformance/xsd/{schema}` with xmllint (skipped with a note when
/// xmllint is missing, except under `CI`, where that fails).
fn xmllint(schema: &str, xml: &[u8], name: &str) {
    let xsd = concat!(env!("CARGO_MANIFEST_DIR"), "/xsd/");
    let path = std::env::temp_dir().join(format!("hutong-junit-{}-{name}.xml", std::process::id()));
    std::fs::write(&path, xml).unwrap();
    let out = match std::process::Command::new("xmllint")
        .args(["--noout", "--schema", &format!("{xsd}{schema}")])
        .arg(&path)
        .output()
    {
        Ok(out) => out,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("xmllint not run ({e}); install libxml2-utils to validate {schema}");
            return;
        }
        Err(e) => panic!("xmllint runs under CI (Debian package libxml2-utils): {e}"),
    };
    std::fs::remove_file(&path).unwrap();
    assert!(
        out.status.success(),
        "the {name} JUnit report does not validate against {schema}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn junit_validates_against_both_jenkins_schemas_with_passes_failures_and_skips() {
    use card_standards::crypto::{Algorithm, Key16};
    use conformance::{CardProfile, IssuerKeys, RealCard, SimCard, Verdict};

    // Every case passing on simulated cards ...
    let passing = run(&conformance::catalogue(), &mut SimulatedCards::new(), now());
    // ... and a "real" card whose keys are not the ones given: failures, and skips for the
    // cases that need special cards or the other algorithm.
    let profile = CardProfile::test(Scheme::Mot, Algorithm::TripleDes);
    let card = SimCard::personalise(&profile).unwrap();
    let wrong = IssuerKeys {
        mtk: Key16([0x5A; 16]),
        ..profile.keys
    };
    let mut source = RealCard::new(card, Scheme::Mot, wrong, profile.key_index);
    let mixed = run(
        &conformance::catalogue_for(&[Scheme::Mot]),
        &mut source,
        now(),
    );
    let s = mixed.summary();
    assert!(s.passed > 0 && s.failed > 0 && s.skipped > 0, "{s}");
    assert!(
        mixed
            .cases
            .iter()
            .any(|c| c.verdict == Verdict::Skipped && c.message.is_some())
    );

    for (name, report) in [("passing", &passing), ("mixed", &mixed)] {
        let mut xml = Vec::new();
        report::write_junit(report, &mut xml).unwrap();
        let text = String::from_utf8(xml.clone()).unwrap();
        let testcases: Vec<&str> = text
            .lines()
            .filter(|l| l.trim_start().starts_with("<testcase "))
            .collect();
        assert_eq!(testcases.len(), report.cases.len());
        assert!(
            testcases.iter().all(|l| l.contains(r#"" time=""#)),
            "every testcase carries its time"
        );
        assert!(text.contains("+08:00\">"), "timestamps carry their offset");
        xmllint("jenkins-junit.xsd", &xml, name);
        xmllint("jenkins-xunit-junit-10.xsd", &xml, name);
    }
}
