use super::*;

#[test]
fn files_are_counted_per_wiki_and_state_with_their_bytes_and_a_wiki_name_is_escaped() {
    let counts = checkpoints::FilesStatus { versions: 5, stored: 3, pending: 1, quarantined: 1, bytes: 1234, bad_downloads: 3, ..Default::default() };
    let text = files_metrics(&[("a\"b".to_string(), counts)]);
    assert!(text.contains("oai_mirror_files{wiki=\"a\\\"b\",state=\"stored\"} 3\n"), "{text}");
    assert!(text.contains("oai_mirror_files{wiki=\"a\\\"b\",state=\"quarantined\"} 1\n"));
    assert!(text.contains("oai_mirror_files_bytes{wiki=\"a\\\"b\"} 1234\n"));
    assert!(text.contains("oai_mirror_files_bad_downloads_total{wiki=\"a\\\"b\"} 3\n"));
    assert_eq!(text.matches("# TYPE").count(), 3, "each family declared once");
    assert_eq!(files_metrics(&[]), "", "no files, no families");
}
