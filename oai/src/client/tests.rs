use super::*;
use std::io::Write;

#[test]
fn retry_after_reads_seconds_and_http_dates() {
    let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
    assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
    assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now), Some(Duration::from_secs(30)));
    assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), Some(Duration::ZERO));
    assert_eq!(parse_retry_after("soon", now), None);
}

#[test]
fn backoff_doubles_and_is_capped() {
    let p = RetryPolicy { initial_backoff: Duration::from_secs(1), max_backoff: Duration::from_secs(5), ..Default::default() };
    let waits: Vec<u64> = (1..=5).map(|a| p.backoff(a).as_secs()).collect();
    assert_eq!(waits, [1, 2, 4, 5, 5]);
}

#[test]
fn gzip_is_sniffed_without_a_header_and_deflate_accepts_both_framings() {
    let text = b"<OAI-PMH/>".repeat(10);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&text).unwrap();
    let gz = gz.finish().unwrap();
    assert_eq!(decode(None, &gz, MAX_BODY).unwrap().as_ref(), &text[..]);
    assert_eq!(decode(Some("gzip"), &gz, MAX_BODY).unwrap().as_ref(), &text[..]);

    let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    raw.write_all(&text).unwrap();
    assert_eq!(decode(Some("deflate"), &raw.finish().unwrap(), MAX_BODY).unwrap().as_ref(), &text[..]);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(&text).unwrap();
    assert_eq!(decode(Some("deflate"), &z.finish().unwrap(), MAX_BODY).unwrap().as_ref(), &text[..]);

    assert!(decode(Some("gzip"), b"not gzip", MAX_BODY).is_err());
    assert_eq!(decode(None, b"plain", MAX_BODY).unwrap().as_ref(), b"plain");
    // A bomb stops at the limit.
    let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    bomb.write_all(&vec![0u8; 1 << 20]).unwrap();
    let bomb = bomb.finish().unwrap();
    assert!(matches!(decode(Some("gzip"), &bomb, 1 << 19), Err(Undecodable::TooLarge)));
    assert_eq!(decode(Some("gzip"), &bomb, 1 << 20).unwrap().len(), 1 << 20);
}

#[test]
fn a_follow_up_url_carries_only_the_verb_and_the_encoded_token() {
    let c = Client::new("http://127.0.0.1:1/oai", ClientOptions::default()).unwrap();
    let args = ListArgs::Resume { token: "a+b/c=d@e!f g&h".into() };
    let url = c.url(Verb::ListRecords, &args.params());
    assert_eq!(url.as_str(), "http://127.0.0.1:1/oai?verb=ListRecords&resumptionToken=a%2Bb%2Fc%3Dd%40e%21f+g%26h");
    let back: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    assert_eq!(back[1].1, "a+b/c=d@e!f g&h");
}
