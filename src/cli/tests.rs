use clap::CommandFactory;

use super::*;

/// Every command, however deep, says what each of its arguments is and
/// shows an example.
#[test]
fn every_command_has_examples_and_every_argument_a_description() {
    fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        let path = format!("{path} {}", cmd.get_name()).trim().to_string();
        if cmd.get_subcommands().next().is_none() && !cmd.get_after_help().is_some_and(|h| h.to_string().contains("Examples:\n  oai-mirror")) {
            missing.push(format!("{path}: no examples"));
        }
        for arg in cmd.get_arguments().filter(|a| !a.is_hide_set() && !["help", "version"].contains(&a.get_id().as_str())) {
            if arg.get_help().is_none_or(|h| h.to_string().trim().is_empty()) {
                missing.push(format!("{path}: {} has no description", arg.get_id()));
            }
        }
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            walk(sub, &path, missing);
        }
    }
    let mut missing = Vec::new();
    walk(&Cli::command(), "", &mut missing);
    assert!(missing.is_empty(), "{missing:#?}");
    assert!(Cli::command().get_about().unwrap().to_string().contains("wikis"));
}

#[test]
fn a_url_without_its_scheme_gets_a_suggestion() {
    assert_eq!(base_url("https://x.org/oai").unwrap(), "https://x.org/oai");
    let e = base_url("export.arxiv.org/oai2").unwrap_err().to_string();
    assert!(e.contains("did you mean https://export.arxiv.org/oai2?"), "{e}");
    assert!(!looks_like_a_host("arxiv-cs"));
}
