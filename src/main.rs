// The binary reports a failure on stderr when no log line can.
#![allow(clippy::print_stderr)]

use std::process::ExitCode;

use clap::Parser;
use oai_mirror::cli::{Cli, LogFormat};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    // Colours only for a person at a terminal, not in log files or journald.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(oai_mirror::cli::terminal::log_writer).with_ansi(ansi);
    match cli.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(oai_mirror::cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of standard output went away (`| head`): nothing failed
        // that anyone is waiting to hear of.
        Err(_) if oai_mirror::cli::terminal::stdout_closed() => ExitCode::SUCCESS,
        Err(e) => {
            oai_mirror::cli::terminal::eprint_line(&format!("error: {e:#}"));
            // sysexits' EX_TEMPFAIL: an MTA delivers the mail again later.
            if e.downcast_ref::<oai_mirror::cli::TryLater>().is_some() { ExitCode::from(75) } else { ExitCode::FAILURE }
        }
    }
}
