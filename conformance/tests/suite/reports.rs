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
