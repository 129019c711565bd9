use super::*;

fn at(s: &str) -> DateTime<Utc> {
    oai::parse_datestamp(s).unwrap()
}

#[test]
fn a_range_is_cut_into_consecutive_whole_units_that_cover_it() {
    let parts = cut(at("2001-01-01"), at("2001-01-10"), 4, TimeDelta::days(1));
    let days: Vec<(String, String)> = parts.iter().map(|(a, b)| (a.format("%d").to_string(), b.format("%d").to_string())).collect();
    assert_eq!(days, [("01", "02"), ("03", "05"), ("06", "07"), ("08", "10")].map(|(a, b)| (a.to_string(), b.to_string())));
    // Fewer units than parts: one part per unit; a backwards range is one unit.
    assert_eq!(cut(at("2001-01-01"), at("2001-01-02"), 4, TimeDelta::days(1)).len(), 2);
    assert_eq!(cut(at("2001-01-05"), at("2001-01-01"), 4, TimeDelta::days(1)), vec![(at("2001-01-05"), at("2001-01-05"))]);
}

#[test]
fn halves_keep_open_ends_open_and_a_single_unit_is_not_split() {
    let bounds = Bounds::new(Granularity::Seconds, Some(at("2001-01-01T00:00:00Z")), None, Some("2001-01-01T00:00:09Z"));
    let slice =
        |from: Option<&str>, until: Option<&str>| Slice { id: 1, from: from.map(str::to_string), until: until.map(str::to_string), token: None, done: false };
    let [a, b] = halves(&bounds, &slice(None, None)).unwrap();
    assert_eq!(a, (None, Some("2001-01-01T00:00:04Z".to_string())));
    assert_eq!(b, (Some("2001-01-01T00:00:05Z".to_string()), None));
    assert!(halves(&bounds, &slice(Some("2001-01-01T00:00:03Z"), Some("2001-01-01T00:00:03Z"))).is_none());
    let day = Bounds::new(Granularity::Day, Some(at("2001-01-01")), Some("2001-01-02"), None);
    assert_eq!(
        halves(&day, &slice(Some("2001-01-01"), Some("2001-01-02"))).unwrap(),
        [(Some("2001-01-01".to_string()), Some("2001-01-01".to_string())), (Some("2001-01-02".to_string()), Some("2001-01-02".to_string()))]
    );
}

#[test]
fn a_fallen_back_run_resumes_for_the_same_range_in_parallel() {
    let wanted = RunPlan { range_from: Some("2001-01-01".into()), parallel: Some(4), ..RunPlan::default() };
    let fallen = RunPlan { parallel: Some(1), ..wanted.clone() };
    assert!(resumes(&fallen, &wanted) && resumes(&wanted, &wanted));
    assert!(!resumes(&fallen, &RunPlan { range_from: None, ..wanted.clone() }), "another range starts afresh");
    assert!(!resumes(&fallen, &RunPlan { parallel: None, ..wanted }), "asked for in one sequence: a plain run");
}

#[test]
fn a_range_refused_is_told_from_a_repository_that_is_down() {
    let origin = oai::Origin { url: "http://127.0.0.1/oai".into(), verb: oai::Verb::ListRecords, token: None };
    let status = |status| oai::Error::Status { origin: origin.clone(), status, retry_after: None, snippet: String::new() };
    assert!(refuses_ranges(&status(422)) && refuses_ranges(&status(413)));
    assert!(!refuses_ranges(&status(503)) && !refuses_ranges(&status(429)));
}
