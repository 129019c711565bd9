use super::*;

#[test]
fn datestamps_of_both_granularities_parse_as_utc() {
    let day = parse_datestamp("2026-04-02").unwrap();
    assert_eq!(day.to_rfc3339(), "2026-04-02T00:00:00+00:00");
    let secs = parse_datestamp("2026-04-02T10:11:12Z").unwrap();
    assert_eq!(secs.to_rfc3339(), "2026-04-02T10:11:12+00:00");
    let frac = parse_datestamp("2026-04-02T10:11:12.5Z").unwrap();
    assert_eq!(frac.timestamp(), secs.timestamp());
    assert!(parse_datestamp("02/04/2026").is_none());
}

#[test]
fn granularity_formats_drop_the_time_at_day_granularity() {
    let at = parse_datestamp("2026-04-02T23:59:59Z").unwrap();
    assert_eq!(Granularity::Day.format(at), "2026-04-02");
    assert_eq!(Granularity::Seconds.format(at), "2026-04-02T23:59:59Z");
    assert_eq!(Granularity::from_identify(" YYYY-MM-DD "), Granularity::Day);
    assert_eq!(Granularity::from_identify("YYYY-MM-DDThh:mm:ssZ"), Granularity::Seconds);
    for missing_or_wrong in ["", "  ", "YYYY-MM-DDThh:mm:ss", "seconds"] {
        assert_eq!(Granularity::from_identify(missing_or_wrong), Granularity::Day, "{missing_or_wrong:?}: the protocol's floor");
    }
}

#[test]
fn an_empty_token_with_attributes_ends_the_list() {
    let page: Page<Header> = Page { token: Some(ResumptionToken { value: "  ".into(), cursor: Some(600), ..Default::default() }), ..Default::default() };
    assert_eq!(page.next_token(), None);
}
