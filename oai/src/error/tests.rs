use super::*;

#[test]
fn a_host_that_does_not_exist_is_told_from_a_resolver_that_is_down() {
    assert!(says_unknown_host("dns error: failed to lookup address information: Name or service not known"));
    assert!(says_unknown_host("failed to lookup address information: nodename nor servname provided, or not known"));
    assert!(!says_unknown_host("dns error: failed to lookup address information: Temporary failure in name resolution"));
    assert!(!says_unknown_host("tcp connect error: Connection refused (os error 111)"));
}

#[tokio::test]
async fn a_failed_request_says_why_and_a_refused_connection_may_pass() {
    // A port nothing listens on: the connection is refused.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/oai", listener.local_addr().unwrap());
    drop(listener);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cause = reqwest::Client::new().get(&url).send().await.unwrap_err();
    let origin = Origin { url: url.clone(), verb: crate::Verb::Identify, token: None };
    let error = Error::Http { origin, cause };
    let text = error.to_string();
    assert!(text.contains("could not connect") && text.contains("Connection refused"), "{text}");
    assert!(!text.ends_with("request failed"), "{text}");
    assert!(error.is_retryable() && error.is_transient());
}
