use super::*;

/// Captured from the MediaWiki 1.39 test bed (a file uploaded twice, a
/// title without a file), trimmed of the fields not asked for.
const ANSWER: &str = r#"{"batchcomplete":true,"query":{"pages":[
 {"ns":6,"title":"File:Nothere.png","missing":true,"imagerepository":""},
 {"pageid":1571,"ns":6,"title":"File:Probe-test.svg","imagerepository":"local","imageinfo":[
  {"timestamp":"2026-12-04T20:24:11Z","user":"Harvestbot","userid":3,"size":98,"comment":"v1",
   "url":"http://127.0.0.1:18681/w/images/e/e5/Probe-test.svg","sha1":"5f06efd6eedc9703925328e9da01e1df50b1d12d","mime":"image/svg+xml"},
  {"timestamp":"2026-12-04T20:24:10Z","user":"Harvestbot","userid":3,"size":99,"comment":"v0",
   "url":"http://127.0.0.1:18681/w/images/archive/e/e5/20261204202410%21Probe-test.svg","sha1":"8017c9cccdd6c0553d27fcbdf18ae97aec5cbfa6","mime":"image/svg+xml"}]},
 {"pageid":1572,"ns":6,"title":"File:Hidden.png","imagerepository":"local","imageinfo":[
  {"timestamp":"2026-12-04T20:25:00Z","filehidden":true,"userhidden":true,"size":5,"comment":"x","mime":"image/png"}]},
 {"pageid":1573,"ns":6,"title":"File:Commons.jpg","imagerepository":"shared","imageinfo":[
  {"timestamp":"2020-01-01T00:00:00Z","user":"Someone","size":7,"comment":"","url":"https://upload.wikimedia.org/x.jpg","sha1":"ABCDEF0123456789ABCDEF0123456789ABCDEF01","mime":"image/jpeg"}]}
]}}"#;

#[test]
fn every_version_is_read_newest_first_with_hidden_and_shared_files_told_apart() {
    let infos = read_file_info(&serde_json::from_str(ANSWER).unwrap());
    assert_eq!(infos.len(), 3, "a title without a page is not a file");
    let probe = &infos[0];
    assert_eq!((probe.pageid, probe.title.as_str(), probe.repository.as_str()), (1571, "File:Probe-test.svg", "local"));
    let stamps: Vec<&str> = probe.versions.iter().map(|v| v.timestamp.as_str()).collect();
    assert_eq!(stamps, ["2026-12-04T20:24:11Z", "2026-12-04T20:24:10Z"]);
    assert_eq!(probe.versions[1].url, "http://127.0.0.1:18681/w/images/archive/e/e5/20261204202410%21Probe-test.svg");
    assert_eq!((probe.versions[0].size, probe.versions[0].mime.as_str(), probe.versions[0].comment.as_str()), (98, "image/svg+xml", "v1"));
    assert!(!probe.versions[0].hidden);
    assert!(infos[1].versions[0].hidden, "no URL, no SHA-1");
    assert_eq!(infos[2].repository, "shared");
    assert_eq!(infos[2].versions[0].sha1, "abcdef0123456789abcdef0123456789abcdef01", "lower case, as the store names contents");
}

#[test]
fn a_content_range_is_read_from_its_first_byte() {
    assert_eq!(content_range_start("bytes 100-199/200"), Some(100));
    assert_eq!(content_range_start("bytes 0-0/1"), Some(0));
    assert_eq!(content_range_start("bytes */200"), None);
    assert_eq!(content_range_start("items 1-2/3"), None);
}

#[test]
fn the_files_a_page_shows_are_read_per_page() {
    let v = serde_json::json!({"query": {"pages": [
        {"pageid": 5, "ns": 0, "title": "Water", "images": [{"ns": 6, "title": "File:Drop.png"}, {"ns": 6, "title": "File:Sea.jpg"}]},
        {"pageid": 6, "ns": 0, "title": "Air"},
        {"ns": 0, "title": "Missing", "missing": true}
    ]}});
    assert_eq!(read_images(&v), [(5, vec!["File:Drop.png".to_string(), "File:Sea.jpg".into()]), (6, vec![])]);
}
