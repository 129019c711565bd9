use clap::Parser;

use super::*;
use crate::cli::{Cli, Command};

fn jobs_for(config: &str, command: &[&str]) -> Vec<(String, String, Option<String>)> {
    let settings: Settings = toml::from_str(config).unwrap();
    let Command::Harvest(args) = Cli::parse_from(command).command else { panic!("not a harvest") };
    harvest_jobs(&settings, &args).unwrap().into_iter().map(|(n, j)| (n, j.source.metadata_prefix, j.source.set_spec)).collect()
}

#[test]
fn progress_says_x_of_complete_list_size_the_window_and_the_time_left() {
    let t = Tally { records: 3000, pages: 30, ..Tally::default() };
    let text = progress_text(&t, Some("2024-01-01..2024-02-01"), 3000, Some(10_000), Duration::from_secs(10));
    assert_eq!(text, "3000 records, 30 pages, 300 records/s; window 2024-01-01..2024-02-01: 3000 of 10000 (30%), about 23s left");
    let text = progress_text(&t, None, 1000, Some(100_000), Duration::from_secs(10));
    assert!(text.ends_with("; 1000 of 100000 (1%), about 5m30s left"), "{text}");
    assert_eq!(progress_text(&t, None, 3000, None, Duration::from_secs(10)), "3000 records, 30 pages, 300 records/s", "no size, no guess");
    assert_eq!(duration_text(3725), "1h02m");
}

#[test]
fn the_summary_line_fits_a_hundred_columns() {
    let summary = crate::harvest::Summary {
        records: 100_000,
        deleted: 2_100,
        pages: 1_000,
        requests: 1_001,
        repairs: 0,
        restarts: 0,
        skipped: 0,
        seconds: 12.345,
        resumed: false,
        next_from: Some("2026-11-26T04:00:00Z".into()),
        ..Default::default()
    };
    let line = summary_line("arxiv-cs", &summary);
    assert_eq!(line, "arxiv-cs: 100000 records (2100 deleted), 1000 pages, 12.3s, 8100/s; next from 2026-11-26T04:00:00Z");
    assert!(line.chars().count() <= 100, "{} columns", line.chars().count());
    let line = summary_line("arxiv-cs", &crate::harvest::Summary { repairs: 3, resumed: true, requests: 1_009, ..summary });
    assert!(line.contains(", 1009 requests, 3 repairs, resumed;"), "retries show: {line}");
}

#[test]
fn a_flag_given_wins_over_the_config_and_a_flag_not_given_changes_nothing() {
    let config = "[source.a]\nurl = \"http://a/oai\"\nprefix = \"marcxml\"\nset = \"s\"\n";
    let pair = |n: &str, p: &str, s: Option<&str>| (n.to_string(), p.to_string(), s.map(str::to_string));
    assert_eq!(jobs_for(config, &["oai-mirror", "harvest", "a"]), [pair("a", "marcxml", Some("s"))]);
    assert_eq!(jobs_for(config, &["oai-mirror", "harvest", "a", "--prefix", "oai_dc"]), [pair("a", "oai_dc", Some("s"))]);
    assert_eq!(jobs_for(config, &["oai-mirror", "harvest", "--set", "t"]), [pair("a", "marcxml", Some("t"))]);
    assert_eq!(jobs_for(config, &["oai-mirror", "harvest", "http://b/oai"]), [pair("http://b/oai", "oai_dc", None)]);
    assert_eq!(jobs_for(config, &["oai-mirror", "harvest", "http://b/oai", "--prefix", "mods"]), [pair("http://b/oai", "mods", None)]);
}
