//! The command line: clap's types, and one file per group of commands.
//! Only this module and `main.rs` print; what a command does beyond
//! formatting goes through `jobs` (and `jobs::run`) and the store's own lookups.
//!
//! * `harvest`: `identify`, `harvest`.
//! * `records`: `records`, `record`, `cat`, `forget`; sources by config name.
//! * `wiki`: `wiki check`, `mirror`, `pages`, `show`, `history`.
//! * `sync`: `sync`, `conflicts`, `queue`, `resolve`.
//! * `daemon`: `run` and `status`.
//! * `config`: `config check`.
//! * `terminal`: what reaches a terminal: control characters from servers escaped.

// The one module that prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod config;
mod daemon;
mod files;
mod harvest;
mod packages;
mod records;
mod sync;
pub mod terminal;

pub use daemon::TryLater;
mod wiki;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use checkpoints::Store;
use clap::{Parser, Subcommand};

use crate::connections::Connections;
use crate::harvest::Window;
use crate::settings::Settings;

#[derive(Debug, Parser)]
#[command(
    name = "oai-mirror",
    version,
    about = "Keeps copies of OAI-PMH repositories and MediaWiki wikis in step, in an embedded SQLite store",
    after_help = "Examples:\n  oai-mirror harvest https://export.arxiv.org/oai2 --set cs --window month\n  oai-mirror cat --format jsonl > records.jsonl\n  oai-mirror sync NAME --dry-run"
)]
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
    /// Log more: -v debug, -vv trace (RUST_LOG, if set, wins)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Log only warnings and errors, and show no progress
    #[arg(short, long, global = true)]
    pub quiet: bool,
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
    /// What a repository says about itself (formats and sets too), and what this tool will use
    #[command(after_help = "Examples:\n  oai-mirror identify https://export.arxiv.org/oai2\n  oai-mirror identify https://zenodo.org/oai2d --json")]
    Identify {
        /// The repository's base URL
        url: String,
        /// Print it as JSON, every set included
        #[arg(long)]
        json: bool,
    },
    /// Harvest a repository (a URL or a [source.NAME] from the config; all of them if none) into the store
    #[command(
        after_help = "Examples:\n  oai-mirror harvest https://export.arxiv.org/oai2 --set cs --window month\n  oai-mirror harvest arxiv-cs --full\n  oai-mirror harvest"
    )]
    Harvest(HarvestArgs),
    /// A running daemon's jobs (if one answers), then per source in the database: records, deletions, repairs, last run, next `from`
    #[command(after_help = "Examples:\n  oai-mirror status\n  oai-mirror status --json")]
    Status {
        /// Print it as JSON: {"daemon", "database", "sources"}
        #[arg(long)]
        json: bool,
    },
    /// Read a MediaWiki notification mail on standard input (an MTA's pipe) and trigger the daemon's jobs covering its wiki
    #[command(
        after_help = "Examples:\n  oai-mirror --config /etc/oai-mirror.toml notify < mail.eml\n  # /etc/aliases: wiki-changes: \"|/usr/bin/oai-mirror --config /etc/oai-mirror.toml notify\"\n\nA mail about no configured wiki, or no mail at all, is logged and ignored (exit 0, so the MTA does not bounce it); a daemon that does not answer exits 75 (EX_TEMPFAIL), so the MTA delivers it again later."
    )]
    Notify {
        /// Say which wiki, page and jobs the mail is about; trigger nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Run every job on its schedule, with a control endpoint to trigger jobs and read status and metrics
    #[command(
        after_help = "Examples:\n  oai-mirror --config /etc/oai-mirror.toml run\n  curl -X POST -H \"Authorization: Bearer $TOKEN\" http://127.0.0.1:7878/trigger/source.NAME"
    )]
    Run {
        /// The control endpoint [default: [daemon] listen, or 127.0.0.1:7878]
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Allow a control endpoint on an address other than loopback
        #[arg(long)]
        allow_remote: bool,
    },
    /// Serve the store over OAI-PMH 2.0 (repositories at /oai/NAME, wikis at /oai/wiki/NAME), so it can be harvested in turn
    #[command(after_help = "Examples:\n  oai-mirror serve\n  oai-mirror serve --listen 0.0.0.0:8080 --allow-remote\n  curl 'http://127.0.0.1:8080/oai'")]
    Serve {
        /// Where to listen [default: [serve] listen, or 127.0.0.1:8080]
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Allow an address other than loopback
        #[arg(long)]
        allow_remote: bool,
        /// Rename a served repository (its path /oai/OLD becomes /oai/NEW) and exit; names are otherwise kept whatever the config says
        #[arg(long, num_args = 2, value_names = ["OLD", "NEW"])]
        rename: Option<Vec<String>>,
    },
    /// Read the mirrored wikis in a browser, offline: pages as their wikis render them, histories, files, full-text search
    #[command(after_help = "Examples:\n  oai-mirror read\n  oai-mirror read --listen 127.0.0.1:9000\n\nThen open http://127.0.0.1:8181/read/")]
    Read {
        /// Where to listen
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8181")]
        listen: String,
        /// Allow an address other than loopback
        #[arg(long)]
        allow_remote: bool,
    },
    /// List stored records: source, identifier, datestamp, deleted, sets
    #[command(after_help = "Examples:\n  oai-mirror records --source arxiv-cs | head\n  oai-mirror records --json")]
    Records {
        /// Only this source's records: a [source.NAME] of the config, or a base URL
        #[arg(long)]
        source: Option<String>,
        /// One JSON object per line
        #[arg(long)]
        json: bool,
    },
    /// Work with the wikis of the config
    #[command(after_help = "Examples:\n  oai-mirror wiki check NAME")]
    #[command(subcommand)]
    Wiki(WikiCommand),
    /// Work with the config file
    #[command(after_help = "Examples:\n  oai-mirror config check\n  oai-mirror --config ./mirror.toml config check --offline")]
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Pull a wiki's changes into the store: pages by id, moves, deletions
    #[command(after_help = "Examples:\n  oai-mirror mirror NAME\n  oai-mirror mirror NAME --feed api --json")]
    Mirror {
        /// A [wiki.NAME] of the config
        name: String,
        /// The change feed [default: oai if the wiki has an `oai` URL, else api]
        #[arg(long, value_enum)]
        feed: Option<crate::mirror::pull::Feed>,
        /// Every revision of every page, the history there was before included (as `history = "full"`)
        #[arg(long)]
        history: bool,
        /// Try again the file versions whose downloads failed or were quarantined
        #[arg(long)]
        retry_files: bool,
        /// Render every page again (templates changed under pages; `render = true`)
        #[arg(long)]
        render_all: bool,
        /// Print the summary as JSON
        #[arg(long)]
        json: bool,
    },
    /// Write a package of a mirrored wiki: MediaWiki XML that importDump.php takes, plus its moves and deletions
    #[command(
        after_help = "Examples:\n  oai-mirror export NAME --out NAME-0001.tar --full --history\n  oai-mirror export NAME --out NAME-0002.tar --history\n  \
oai-mirror export NAME --out NAME-0003.tar --since NAME-0001.tar\n\n\
Without --full or --since, a package holds what changed since the last one this database wrote of the wiki (all of it the first time)."
    )]
    Export {
        /// A wiki the database has pages of
        name: String,
        /// The package file to write
        #[arg(long, value_name = "FILE", required_unless_present = "html")]
        out: Option<PathBuf>,
        /// Instead of a package: the wiki as a directory of HTML files that link each other (no search), to open from a file system or any web server
        #[arg(long, value_name = "DIR", conflicts_with_all = ["out", "full", "since", "history", "files"])]
        html: Option<PathBuf>,
        /// Every page, whatever was exported before
        #[arg(long, conflicts_with = "since")]
        full: bool,
        /// What changed since this package (one this database wrote)
        #[arg(long, value_name = "PACKAGE")]
        since: Option<PathBuf>,
        /// Every revision the mirror holds, not only each page's current one
        #[arg(long)]
        history: bool,
        /// With the files of its File: pages (every stored version), for `importDump.php --uploads --image-base-path files`
        #[arg(long)]
        files: bool,
        /// Print the summary as JSON
        #[arg(long)]
        json: bool,
    },
    /// Apply a package to the database as a mirror's feed (pages by id, moves, deletions), or import a MediaWiki XML dump
    #[command(
        after_help = "Examples:\n  oai-mirror import /media/usb/hq-0002.tar\n  oai-mirror import hq-0001.tar --as hq-copy\n  oai-mirror import enwikiquote-latest-pages-articles.xml.bz2 --as quotes"
    )]
    Import {
        /// A package written by `oai-mirror export`, or a MediaWiki XML dump (plain, .gz, .bz2, .zst; needs --as)
        package: PathBuf,
        /// The wiki's name in this database [default: the exporter's name]
        #[arg(long = "as", value_name = "NAME")]
        as_name: Option<String>,
        /// Print the summary as JSON
        #[arg(long)]
        json: bool,
    },
    /// Packages: check one and say what it holds
    #[command(subcommand)]
    Package(PackageCommand),
    /// Sync two wikis (or a group of them) both ways: merge, replay moves and deletions, push through the outbox
    #[command(after_help = "Examples:\n  oai-mirror sync NAME --dry-run\n  oai-mirror sync NAME")]
    Sync {
        /// A [sync.NAME] or [group.NAME] of the config
        name: String,
        /// Print the plan; write nothing
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON
        #[arg(long)]
        json: bool,
    },
    /// List a sync's open conflicts
    #[command(after_help = "Examples:\n  oai-mirror conflicts NAME\n  oai-mirror conflicts NAME --all --json")]
    Conflicts {
        /// A [sync.NAME] or [group.NAME] of the config
        name: String,
        /// Resolved ones too
        #[arg(long)]
        all: bool,
        /// One JSON object per conflict, with both texts
        #[arg(long)]
        json: bool,
    },
    /// Show a sync's pending pushes and why they wait
    #[command(after_help = "Examples:\n  oai-mirror queue NAME")]
    Queue {
        /// A [sync.NAME] or [group.NAME] of the config
        name: String,
    },
    /// Settle a conflict: take one side's text, or a file's, and queue the pushes
    #[command(after_help = "Examples:\n  oai-mirror resolve NAME \"Main Page\" --take wiki\n  oai-mirror resolve NAME \"Main Page\" --take merged.txt")]
    Resolve {
        /// A [sync.NAME] or [group.NAME] of the config
        name: String,
        /// The page's title
        title: String,
        /// `wiki`, `with` (in a group: a member wiki's name), or the path of a file holding the text to keep
        #[arg(long)]
        take: String,
    },
    /// List a mirrored wiki's pages
    #[command(after_help = "Examples:\n  oai-mirror pages NAME\n  oai-mirror pages NAME --json")]
    Pages {
        /// A [wiki.NAME] of the config (or a wiki the database has pages of)
        name: String,
        /// One JSON object per page
        #[arg(long)]
        json: bool,
    },
    /// List a mirrored wiki's files: each version with its SHA-1, size, time, state and where its bytes are
    #[command(after_help = "Examples:\n  oai-mirror files NAME\n  oai-mirror files NAME File:Logo.png --json")]
    Files {
        /// A [wiki.NAME] of the config (or a wiki the database has pages of)
        name: String,
        /// Only this file's versions (`File:` prefix optional)
        title: Option<String>,
        /// One JSON object per version
        #[arg(long)]
        json: bool,
    },
    /// Print a mirrored page's text
    #[command(after_help = "Examples:\n  oai-mirror show NAME \"Main Page\"\n  oai-mirror show NAME Talk:Main_Page --rev 1234")]
    Show {
        /// A [wiki.NAME] of the config (or a wiki the database has pages of)
        name: String,
        /// The full title, namespace prefix included (`_` or spaces)
        title: String,
        /// A revision id instead of the current one
        #[arg(long)]
        rev: Option<u64>,
    },
    /// List a mirrored page's revisions and the titles it had
    #[command(after_help = "Examples:\n  oai-mirror history NAME \"Main Page\"")]
    History {
        /// A [wiki.NAME] of the config (or a wiki the database has pages of)
        name: String,
        /// The full title, namespace prefix included
        title: String,
    },
    /// Print one record's raw metadata
    #[command(after_help = "Examples:\n  oai-mirror record oai:arXiv.org:2101.00001\n  oai-mirror record oai:arXiv.org:2101.00001 --source arxiv-cs")]
    Record {
        /// The record's OAI identifier
        identifier: String,
        /// The source, when several have the identifier: a [source.NAME] or a base URL
        #[arg(long)]
        source: Option<String>,
    },
    /// Stream out the latest version of every matching record, as XML, JSON lines or the metadata alone
    #[command(
        after_help = "Examples:\n  oai-mirror cat arxiv-cs > arxiv-cs.xml\n  oai-mirror cat --format jsonl --from 2024-01-01 --deleted exclude | head\n  oai-mirror cat arxiv-cs --format payload --dir records/"
    )]
    Cat(records::CatArgs),
    /// Remove a source and its records from the store
    #[command(after_help = "Examples:\n  oai-mirror forget arxiv-cs\n  oai-mirror forget https://example.org/oai --yes")]
    Forget {
        /// A [source.NAME] of the config, or a base URL
        source: String,
        /// Do not ask
        #[arg(long)]
        yes: bool,
    },
    /// Print a shell completion script
    #[command(after_help = "Examples:\n  oai-mirror completions bash > /etc/bash_completion.d/oai-mirror\n  oai-mirror completions zsh > ~/.zfunc/_oai-mirror")]
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), made from these definitions
    #[command(after_help = "Examples:\n  oai-mirror man > oai-mirror.1 && man ./oai-mirror.1")]
    Man,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate it: unknown keys, bad schedules, missing secrets, unreachable URLs, each with its line
    #[command(after_help = "Examples:\n  oai-mirror config check\n  oai-mirror --config ./mirror.toml config check --offline")]
    Check {
        /// Do not try the URLs
        #[arg(long)]
        offline: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PackageCommand {
    /// Check a package whole (checksums) and list what it holds
    #[command(after_help = "Examples:\n  oai-mirror package show hq-0002.tar\n  oai-mirror package show hq-0002.tar --json")]
    Show {
        /// A package written by `oai-mirror export` or a sync by packages
        package: PathBuf,
        /// The whole manifest as JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum WikiCommand {
    /// Log in and show the site, its version, the account's rights that matter and the OAI endpoint
    #[command(
        after_help = "Examples:\n  oai-mirror wiki check NAME\n  oai-mirror wiki check --api https://wiki.example.org/w/api.php --user Bot@sync --password-file pw"
    )]
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
    #[arg(long, value_enum, conflicts_with = "parallel")]
    pub window: Option<Window>,
    /// Harvest one big repository in N slices of its date range at once (N requests in flight to its host);
    /// a slice far bigger than its share is split again
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub parallel: Option<u32>,
    /// Refuse bodies with invalid UTF-8 or characters XML forbids instead of repairing them
    #[arg(long)]
    pub strict: bool,
    /// Sources harvested at once, when none is named [default: `[harvest] jobs`, else 4]
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Print the summary as JSON
    #[arg(long)]
    pub json: bool,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Config(ConfigCommand::Check { offline }) => return config::check(cli.config.as_deref(), !offline).await,
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut <Cli as clap::CommandFactory>::command(), "oai-mirror", &mut std::io::stdout());
            return Ok(());
        }
        Command::Man => {
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut std::io::stdout())?;
            return Ok(());
        }
        _ => {}
    }
    let settings = Settings::load(cli.config.as_deref())?;
    let db = || settings.db_path(cli.db.as_deref());
    // The live connections of the commands that reach repositories and wikis.
    let conns = || Arc::new(Connections::new(Arc::new(settings.clone())));
    match cli.command {
        Command::Identify { url, json } => harvest::identify(&settings, &url, json).await,
        Command::Harvest(args) => harvest::harvest(&settings, conns(), &db()?, args, cli.quiet).await,
        Command::Records { source, json } => records::records(&settings, &read(&db()?)?, source.as_deref(), json),
        Command::Record { identifier, source } => records::record(&settings, &read(&db()?)?, &identifier, source.as_deref()),
        // A cursor is written to the store; a plain `cat` only reads it.
        Command::Cat(args) if args.since_last.is_some() => records::cat(&settings, &open(&db()?)?, &args),
        Command::Cat(args) => records::cat(&settings, &read(&db()?)?, &args),
        Command::Forget { source, yes } => records::forget(&settings, &mut open(&db()?)?, &source, yes),
        Command::Status { json } => daemon::status(&settings, &db()?, json).await,
        Command::Serve { listen, allow_remote, rename } => daemon::serve(settings.clone(), db()?, listen.as_deref(), allow_remote, rename.as_deref()).await,
        Command::Read { listen, allow_remote } => daemon::read(&settings, db()?, &listen, allow_remote).await,
        Command::Notify { dry_run } => daemon::notify(&settings, std::io::stdin().lock(), dry_run).await,
        Command::Run { listen, allow_remote } => daemon::run(settings.clone(), db()?, listen.as_deref(), allow_remote).await,
        Command::Wiki(WikiCommand::Check { name, api, user, password_file }) => wiki::check(&settings, name, api, user, password_file).await,
        Command::Mirror { name, feed, history, retry_files, render_all, json } => {
            let flags = wiki::MirrorFlags { feed, history, retry_files, render_all, json };
            wiki::mirror(&settings, &conns(), &db()?, &name, &flags).await
        }
        Command::Files { name, title, json } => files::files(&settings, &read(&db()?)?, &name, title.as_deref(), json),
        Command::Pages { name, json } => wiki::pages(&settings, &read(&db()?)?, &name, json),
        Command::Show { name, title, rev } => wiki::show(&settings, &read(&db()?)?, &name, &title, rev),
        Command::History { name, title } => wiki::history(&settings, &read(&db()?)?, &name, &title),
        Command::Sync { name, dry_run, json } => sync::sync(&settings, &conns(), &db()?, &name, dry_run, json).await,
        Command::Conflicts { name, all, json } => sync::conflicts(&settings, &read(&db()?)?, &name, all, json),
        Command::Queue { name } => sync::queue(&settings, &read(&db()?)?, &name),
        Command::Resolve { name, title, take } => sync::resolve(&settings, &open(&db()?)?, &name, &title, &take).await,
        Command::Export { name, html: Some(dir), json, .. } => packages::export_html(&settings, &read(&db()?)?, &name, &dir, json),
        Command::Export { name, out, full, since, history, files, json, html: None } => {
            let out = out.ok_or_else(|| anyhow::anyhow!("--out FILE (or --html DIR) is needed"))?;
            let args = packages::ExportArgs { name: &name, out: &out, full, since: since.as_deref(), history, files, json };
            packages::export(&settings, &mut open(&db()?)?, &args)
        }
        Command::Import { package, as_name, json } => packages::import(&settings, &db()?, &package, as_name.as_deref(), json),
        Command::Package(PackageCommand::Show { package, json }) => packages::show(&package, json),
        Command::Config(_) | Command::Completions { .. } | Command::Man => unreachable!("handled before the settings are loaded"),
    }
}

fn open(path: &Path) -> anyhow::Result<Store> {
    Ok(Store::open(path)?)
}

/// Whether a word that is not a URL looks like one with its scheme left
/// out (`export.arxiv.org/oai2`).
fn looks_like_a_host(text: &str) -> bool {
    !text.contains("://") && (text.contains('/') || text.split('.').filter(|p| !p.is_empty()).count() >= 2)
}

/// A base URL as given, or an error that says how to write one.
fn base_url(text: &str) -> anyhow::Result<String> {
    if text.contains("://") {
        // Credentials in a URL would be shown wherever it is; a source of
        // the config carries them apart.
        if let Err(why) = crate::jobs::web_url(text, "a repository's base URL") {
            anyhow::bail!("{why}, in a [source.NAME] of the config");
        }
        return Ok(text.to_string());
    }
    if looks_like_a_host(text) {
        anyhow::bail!("{text:?} is not a URL: a base URL starts with http:// or https:// (did you mean https://{text}?)");
    }
    anyhow::bail!("{text:?} is not a URL: give a repository's base URL, such as https://export.arxiv.org/oai2")
}

/// Unix seconds as RFC 3339, as every JSON output writes times.
fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).unwrap_or_default()
}

/// The store for a command that only reads: never created, never written.
fn read(path: &Path) -> anyhow::Result<Store> {
    Ok(Store::open_read_only(path)?)
}

#[cfg(test)]
mod tests;
