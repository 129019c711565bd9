use super::*;
use crate::clock::SystemClock;

#[tokio::test(start_paused = true)]
async fn one_request_per_host_at_a_time_and_other_hosts_go_on() {
    let hosts = Hosts::new(1);
    let clock = SystemClock;
    let first = hosts.enter("a:80", &clock).await;
    // A second request to a waits; one to b does not.
    let waiting = {
        let hosts = hosts.clone();
        tokio::spawn(async move { hosts.enter("a:80", &SystemClock).await })
    };
    let _b = hosts.enter("b:80", &clock).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(!waiting.is_finished(), "a's second request waits for its first");
    drop(first);
    let _second = waiting.await.unwrap();
    assert_eq!((hosts.most_in_flight("a:80"), hosts.most_in_flight("b:80")), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn a_host_allowed_more_lets_that_many_in_and_no_more() {
    let hosts = Hosts::new(1);
    hosts.allow("a:80", 3);
    hosts.allow("a:80", 2); // never lowers
    let clock = SystemClock;
    let held = [hosts.enter("a:80", &clock).await, hosts.enter("a:80", &clock).await, hosts.enter("a:80", &clock).await];
    let fourth = {
        let hosts = hosts.clone();
        tokio::spawn(async move { hosts.enter("a:80", &SystemClock).await })
    };
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(!fourth.is_finished(), "a fourth request waits");
    drop(held);
    let _fourth = fourth.await.unwrap();
    assert_eq!(hosts.most_in_flight("a:80"), 3);
}

#[tokio::test(start_paused = true)]
async fn a_pause_holds_back_every_client_of_that_host_only() {
    let hosts = Hosts::new(2);
    let clock = SystemClock;
    let start = tokio::time::Instant::now();
    hosts.pause("a:80", Duration::from_secs(30), &clock);
    drop(hosts.enter("b:80", &clock).await);
    assert!(start.elapsed() < Duration::from_secs(1), "b is not paused");
    drop(hosts.enter("a:80", &clock).await);
    assert!(start.elapsed() >= Duration::from_secs(29), "a waited out its pause: {:?}", start.elapsed());
    // A shorter pause asked later does not shorten a longer one.
    hosts.pause("a:80", Duration::from_secs(60), &clock);
    hosts.pause("a:80", Duration::from_secs(1), &clock);
    let before = tokio::time::Instant::now();
    drop(hosts.enter("a:80", &clock).await);
    assert!(before.elapsed() >= Duration::from_secs(59));
}
