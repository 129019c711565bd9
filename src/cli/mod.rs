//! The command line: clap's types, and one file per group of commands.
//! Only this module and `main.rs` print; what a command does beyond
//! formatting goes through `tasks`, `jobs` and the store's own lookups.
//!
//! * `harvest`: `identify`, `harvest`, `records`, `record`.
//! * `wiki`: `wiki check`, `mirror`, `pages`, `show`, `history`.
//! * `sync`: `sync`, `conflicts`, `queue`, `resolve`.
//! * `daemon`: `run` and `status`.
//! * `config`: `config check`.
//! * `terminal`: what reaches a terminal: control characters from servers escaped.

// The one module that prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod config;
mod daemon;
mod harvest;
mod sync;
pub mod terminal;
mod wiki;

use std::path::{Path, PathBuf};

use checkpoints::Store;
use clap::{Parser, Subcommand};

use crate::harvest::Window;
use crate::settings::Settings;

#[derive(Debug, Parser)]
#[command(name = "oai-mirror", version, about = "Keeps copies of OAI-PMH repositories in step, in an embedded SQLite store")]
pub struct Cli {
    /// The database file [default: the user's data directory; env: OAI_MIRROR_DB]
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// The config file [env: OAI_MIRROR_CONFIG; default: oai-mirror/config.toml in the user's config directory]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Log lines as text or JSON (filter with RUST_LOG)
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// What a repository says about itself, and what this tool will use
    Identify {
        /// The repository's base URL
        url: String,
    },
    /// Harvest a repository (a URL or a [source.NAME] from the config; all of them if none) into the store
    Harvest(HarvestArgs),
    /// A running daemon's jobs; else, per source: records, deletions, repairs, last run, next `from`, in-flight token
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Run every job on its schedule, with a control endpoint to trigger jobs and read status and metrics
    Run {
        /// The control endpoint [default: [daemon] listen, or 127.0.0.1:7878]
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Allow a control endpoint on an address other than loopback
        #[arg(long)]
        allow_remote: bool,
    },
    /// List stored records
    Records {
        /// Only this source's records (its base URL)
        #[arg(long)]
        source: Option<String>,
        /// One JSON object per line
        #[arg(long)]
        json: bool,
    },
    /// Work with the wikis of the config
    #[command(subcommand)]
    Wiki(WikiCommand),
    /// Work with the config file
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Pull a wiki's changes into the store: pages by id, moves, deletions
    Mirror {
        /// A [wiki.NAME] of the config
        name: String,
        /// The change feed [default: oai if the wiki has an `oai` URL, else api]
        #[arg(long, value_enum)]
        feed: Option<crate::mirror::pull::Feed>,
        /// Print the summary as JSON
        #[arg(long)]
        json: bool,
    },
    /// Sync two wikis both ways: merge, replay moves and deletions, push through the outbox
    Sync {
        /// A [sync.NAME] of the config
        name: String,
        /// Print the plan; write nothing
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON
        #[arg(long)]
        json: bool,
    },
    /// List a sync's open conflicts
    Conflicts {
        name: String,
        /// Resolved ones too
        #[arg(long)]
        all: bool,
        /// One JSON object per conflict, with both texts
        #[arg(long)]
        json: bool,
    },
    /// Show a sync's pending pushes and why they wait
    Queue { name: String },
    /// Settle a conflict: take one side's text, or a file's, and queue the pushes
    Resolve {
        name: String,
        /// The page's title
        title: String,
        /// `wiki`, `with`, or the path of a file holding the text to keep
        #[arg(long)]
        take: String,
    },
    /// List a mirrored wiki's pages
    Pages {
        name: String,
        /// One JSON object per page
        #[arg(long)]
        json: bool,
    },
    /// Print a mirrored page's text
    Show {
        name: String,
        /// The full title, namespace prefix included
        title: String,
        /// A revision id instead of the current one
        #[arg(long)]
        rev: Option<u64>,
    },
    /// List a mirrored page's revisions and the titles it had
    History { name: String, title: String },
    /// Print one record's raw metadata
    Record {
        identifier: String,
        /// The source's base URL, when several have the identifier
        #[arg(long)]
        source: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate it: unknown keys, bad schedules, missing secrets, unreachable URLs, each with its line
    Check {
        /// Do not try the URLs
        #[arg(long)]
        offline: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum WikiCommand {
    /// Log in and show the site, its version, the account's rights that matter and the OAI endpoint
    Check {
        /// A [wiki.NAME] of the config
        #[arg(required_unless_present = "api", conflicts_with = "api")]
        name: Option<String>,
        /// The action API URL, instead of a NAME
        #[arg(long)]
        api: Option<String>,
        /// A bot password's login name (User@app)
        #[arg(long, requires = "api")]
        user: Option<String>,
        /// A file whose first line is the password
        #[arg(long, requires = "user")]
        password_file: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
pub struct HarvestArgs {
    /// A base URL, or the NAME of a [source.NAME] table
    pub target: Option<String>,
    /// The metadataPrefix [default: the source's `prefix`, or oai_dc for a URL]
    #[arg(long)]
    pub prefix: Option<String>,
    /// A setSpec
    #[arg(long)]
    pub set: Option<String>,
    /// Harvest from this date (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ) instead of the checkpoint
    #[arg(long)]
    pub from: Option<String>,
    /// Harvest up to this date, inclusive
    #[arg(long)]
    pub until: Option<String>,
    /// Ignore the checkpoint: harvest everything (finds deletions a repository does not keep)
    #[arg(long, conflicts_with = "from")]
    pub full: bool,
    /// Split the range into windows, each checkpointed and resumable
    #[arg(long, value_enum)]
    pub window: Option<Window>,
    /// Refuse bodies with invalid UTF-8 or characters XML forbids instead of repairing them
    #[arg(long)]
    pub strict: bool,
    /// Print the summary as JSON
    #[arg(long)]
    pub json: bool,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Config(ConfigCommand::Check { offline }) = &cli.command {
        return config::check(cli.config.as_deref(), !offline).await;
    }
    let settings = Settings::load(cli.config.as_deref())?;
    let db = || settings.db_path(cli.db.as_deref());
    match cli.command {
        Command::Identify { url } => harvest::identify(&settings, &url).await,
        Command::Harvest(args) => harvest::harvest(&settings, &db()?, args).await,
        Command::Records { source, json } => harvest::records(&open(&db()?)?, source.as_deref(), json),
        Command::Record { identifier, source } => harvest::record(&open(&db()?)?, &identifier, source.as_deref()),
        Command::Status { json } => daemon::status(&settings, &db()?, json).await,
        Command::Run { listen, allow_remote } => daemon::run(settings.clone(), db()?, listen.as_deref(), allow_remote).await,
        Command::Wiki(WikiCommand::Check { name, api, user, password_file }) => wiki::check(&settings, name, api, user, password_file).await,
        Command::Mirror { name, feed, json } => wiki::mirror(&settings, &db()?, &name, feed, json).await,
        Command::Pages { name, json } => wiki::pages(&open(&db()?)?, &name, json),
        Command::Show { name, title, rev } => wiki::show(&open(&db()?)?, &name, &title, rev),
        Command::History { name, title } => wiki::history(&open(&db()?)?, &name, &title),
        Command::Sync { name, dry_run, json } => sync::sync(&settings, &db()?, &name, dry_run, json).await,
        Command::Conflicts { name, all, json } => sync::conflicts(&open(&db()?)?, &name, all, json),
        Command::Queue { name } => sync::queue(&open(&db()?)?, &name),
        Command::Resolve { name, title, take } => sync::resolve(&settings, &open(&db()?)?, &name, &title, &take),
        Command::Config(_) => unreachable!("handled before the settings are loaded"),
    }
}

fn open(path: &Path) -> anyhow::Result<Store> {
    Ok(Store::open(path)?)
}
