use super::*;

#[test]
fn sources_come_from_the_file_with_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        "db = \"x.sqlite\"\n[source.zenodo]\nurl = \"https://zenodo.org/oai2d\"\nset = \"user-x\"\nwindow = \"month\"\n[http]\nmax_attempts = 3\n",
    )
    .unwrap();
    let s = Settings::load(Some(&path)).unwrap();
    let z = &s.source["zenodo"];
    assert_eq!((z.url.as_str(), z.prefix.as_str(), z.set.as_deref(), z.window), ("https://zenodo.org/oai2d", "oai_dc", Some("user-x"), Some(Window::Month)));
    assert_eq!(s.http.max_attempts, 3);
    assert_eq!(s.http.timeout_secs, 180);
    assert_eq!(s.db_path(None).unwrap(), dir.path().join("x.sqlite"), "relative to the config file");
    assert_eq!(s.db_path(Some(Path::new("y"))).unwrap(), PathBuf::from("y"));
}

#[test]
fn unknown_keys_in_a_source_are_refused_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "[source.a]\nurl = \"http://x\"\nprefx = \"marc\"\n").unwrap();
    let e = format!("{:#}", Settings::load(Some(&path)).unwrap_err());
    assert!(e.contains("prefx") && e.contains("c.toml"), "{e}");
}

#[test]
fn wiki_passwords_come_from_a_file_or_the_environment_only() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "s3cret-from-file\n").unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
            &path,
            format!("[wiki.a]\napi = \"http://127.0.0.1:1/w/api.php\"\nuser = \"Bot@x\"\npassword_file = \"{}\"\n[wiki.b]\napi = \"http://x\"\nuser = \"Bot@x\"\npassword = \"inline\"\n", secret.display()),
        )
        .unwrap();
    let s = Settings::load(Some(&path)).unwrap();
    let (user, pw) = s.wiki_options("a").unwrap().login.unwrap();
    assert_eq!((user.as_str(), pw.expose()), ("Bot@x", "s3cret-from-file"));
    assert!(!format!("{:?}", s.wiki_options("a").unwrap()).contains("s3cret"), "the secret never shows in Debug");
    let e = format!("{:#}", s.wiki_options("b").unwrap_err());
    assert!(e.contains("password_file") && e.contains("[wiki.b]"), "{e}");
}

#[test]
fn relative_paths_in_the_file_are_taken_from_its_directory_and_those_from_the_environment_from_the_working_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        "db = \"state/x.sqlite\"\n[daemon]\ntoken_file = \"token\"\n\
             [wiki.Main]\napi = \"http://x\"\npassword_file = \"secret\"\noai_password_file = \"/etc/oai\"\n\
             [sync.Pages]\nwiki = \"Main\"\ncheckout = \"pages\"\n\
             [sync.other]\nwiki = \"Main\"\ncheckout = \"elsewhere\"\n",
    )
    .unwrap();
    let mut s: Settings =
        config::Config::builder().add_source(config::File::from(path.as_path()).format(config::FileFormat::Toml)).build().unwrap().try_deserialize().unwrap();
    // As if OAI_MIRROR_SYNC__OTHER__CHECKOUT=elsewhere were set.
    s.anchor_paths(dir.path(), |key| key == "sync.other.checkout");
    assert_eq!(s.db.unwrap(), dir.path().join("state/x.sqlite"));
    assert_eq!(s.daemon.token_file.unwrap(), dir.path().join("token"));
    assert_eq!(s.wiki["Main"].password_file.as_deref().unwrap(), dir.path().join("secret"));
    assert_eq!(s.wiki["Main"].oai_password_file.as_deref().unwrap(), Path::new("/etc/oai"), "absolute paths stay");
    assert_eq!(s.sync["Pages"].checkout.as_deref().unwrap(), dir.path().join("pages"));
    assert_eq!(s.sync["other"].checkout.as_deref().unwrap(), Path::new("elsewhere"), "from the environment: the working directory's");
}

#[test]
fn every_problem_of_a_file_is_reported_with_its_line_at_every_level() {
    let text = "dbb = \"x\"\n\n[htpp]\nmax_attempts = 3\n\n[http]\nmax_atempts = 3\ntimeout_secs = \"soon\"\n\n[source.a]\nurl = \"http://a\"\nprefx = \"m\"\n\n[daemon]\ngrace = 3\n";
    let found: Vec<(Option<usize>, String)> = problems_in(text).into_iter().map(|p| (p.line, p.message)).collect();
    let lines: Vec<Option<usize>> = found.iter().map(|f| f.0).collect();
    assert_eq!(lines, [Some(1), Some(3), Some(7), Some(8), Some(12), Some(15)], "{found:#?}");
    assert!(found[0].1.contains("unknown field `dbb`"), "{found:#?}");
    assert!(found[1].1.contains("unknown field `htpp`"), "a misspelled table: {found:#?}");
    assert!(found[2].1.starts_with("[http] unknown field `max_atempts`"), "{found:#?}");
    assert!(found[3].1.starts_with("[http] invalid type"), "{found:#?}");
    assert!(found[4].1.starts_with("[source.a] unknown field `prefx`"), "{found:#?}");
    assert!(found[5].1.starts_with("[daemon] unknown field `grace`"), "{found:#?}");
    assert_eq!(problems_in("[source.a]\nurl = \"x\"\n"), []);
    let broken = problems_in("[source.a]\nurl = \"x\n");
    assert_eq!(broken.len(), 1, "TOML that does not parse: one error, {broken:?}");
    assert_eq!(broken[0].line, Some(2));
}

#[test]
fn the_environment_sets_keys_of_named_tables_whose_names_hold_a_hyphen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "[source.arxiv-cs]\nurl = \"http://a\"\nset = \"cs\"\n[sync.Pages]\nwiki = \"w\"\ncheckout = \"p\"\n[wiki.w]\napi = \"http://w\"\n")
        .unwrap();
    let env = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
    let s = Settings::load_with(
        Some(&path),
        env(&[
            ("OAI_MIRROR_SOURCE__ARXIV_CS__SET", "math"),
            ("OAI_MIRROR_HTTP__MAX_ATTEMPTS", "2"),
            ("OAI_MIRROR_SYNC__PAGES__CHECKOUT", "here"),
            ("OAI_MIRROR_CONFIG", "ignored"),
            ("OAI_MIRROR_TOKEN", "not config"),
        ]),
    )
    .unwrap();
    assert_eq!(s.source.keys().collect::<Vec<_>>(), ["arxiv-cs"], "no second source `arxiv_cs`");
    assert_eq!(s.source["arxiv-cs"].set.as_deref(), Some("math"));
    assert_eq!(s.http.max_attempts, 2);
    assert_eq!(s.sync["Pages"].checkout.as_deref(), Some(Path::new("here")), "from the environment: the working directory's");
    let e = format!("{:#}", Settings::load_with(Some(&path), env(&[("OAI_MIRROR_HTPP__MAX_ATTEMPTS", "2")])).unwrap_err());
    assert!(e.contains("OAI_MIRROR_HTPP__MAX_ATTEMPTS") && e.contains("htpp"), "{e}");
    let e = format!("{:#}", Settings::load_with(Some(&path), env(&[("OAI_MIRROR_HTTP__MAX_ATEMPTS", "2")])).unwrap_err());
    assert!(e.contains("max_atempts") && e.contains("OAI_MIRROR_HTTP__MAX_ATEMPTS"), "{e}");
}

#[test]
fn a_missing_explicit_file_is_an_error() {
    assert!(Settings::load(Some(Path::new("/nonexistent/oai-mirror.toml"))).is_err());
}
