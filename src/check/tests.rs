use super::*;

#[tokio::test]
async fn problems_point_at_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "[source.a]\nurl = \"http://127.0.0.1:9/oai\"\nprefx = \"x\"\n").unwrap();
    let p = check(&path, false).await.unwrap();
    assert_eq!(p[0].line, Some(3), "{p:?}");
    assert!(p[0].message.contains("prefx"), "{p:?}");

    std::fs::write(
            &path,
            "[daemon]\ntoken_env = \"NOPE_NOT_SET\"\n\n[source.a]\nurl = \"http://127.0.0.1:9/oai\"\nschedule = \"* * *\"\n\n[wiki.w]\napi = \"http://127.0.0.1:9/w/api.php\"\nuser = \"B@x\"\npassword_file = \"/nonexistent\"\nschedule = \"0 3 * * *\"\ntimezone = \"Mars/Base\"\n",
        )
        .unwrap();
    let p = check(&path, true).await.unwrap();
    let lines: Vec<(Option<usize>, &str)> = p.iter().map(|x| (x.line, x.message.as_str())).collect();
    assert!(lines.iter().any(|(l, m)| *l == Some(6) && m.contains("3 fields")), "{lines:?}");
    assert!(lines.iter().any(|(l, m)| *l == Some(13) && m.contains("unknown time zone")), "{lines:?}");
    assert!(lines.iter().any(|(l, m)| *l == Some(8) && m.contains("password_file")), "{lines:?}");
    assert!(lines.iter().any(|(l, m)| *l == Some(1) && m.contains("NOPE_NOT_SET")), "{lines:?}");
    assert!(lines.iter().any(|(l, m)| *l == Some(5) && m.contains("does not answer")), "{lines:?}");
}

#[tokio::test]
async fn a_mirror_to_notify_needs_its_token() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "[serve]\n[[serve.notify]]\nurl = \"http://m2:7878/trigger/source.a\"\ntoken_env = \"NOPE_NOT_SET_EITHER\"\n").unwrap();
    let p = check(&path, false).await.unwrap();
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].line, Some(3));
    assert!(p[0].message.contains("NOPE_NOT_SET_EITHER") && p[0].message.contains("http://m2:7878"), "{p:?}");
}

#[tokio::test]
async fn a_config_without_a_daemon_needs_no_token_and_a_db_needs_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "db = \"state/m.sqlite\"\n[source.a]\nurl = \"http://127.0.0.1:9/oai\"\n").unwrap();
    let p = check(&path, false).await.unwrap();
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].line, Some(1));
    assert!(p[0].message.contains("state") && p[0].message.contains("does not exist"), "{p:?}");
    std::fs::create_dir(dir.path().join("state")).unwrap();
    assert_eq!(check(&path, false).await.unwrap(), [], "no [daemon], no schedule: no token needed");
    std::fs::write(&path, "[source.a]\nurl = \"http://127.0.0.1:9/oai\"\nschedule = \"0 3 * * *\"\n").unwrap();
    let p = check(&path, false).await.unwrap();
    assert!(p.iter().any(|x| x.message.contains("needs a token")), "a schedule runs in the daemon: {p:?}");
}
