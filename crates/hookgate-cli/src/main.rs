//! `hookgate`: a ready CloudEvents webhook receiver, built only from the hookgate
//! library's public API.
//!
//! ```text
//! hookgate listen [--bind ADDR] [--path PATH] [--exec CMD | --forward URL] ...
//! hookgate send URL [FILE|-] [--mode binary|structured|batch] [--type T --source S] ...
//! hookgate send validate URL [--origin ORIGIN]
//! hookgate send URL --load --connections 8 --duration 10s
//! hookgate config example        # a commented TOML file with every key and its default
//! hookgate config check FILE     # validates a file and prints what it means
//! ```
//!
//! Operating it: traces through OpenTelemetry, on by default and exported over
//! OTLP/HTTP from the standard `OTEL_*` variables ([`telemetry`]); log lines on
//! stderr, JSON ones with the trace ids ([`logs`]); `GET /metrics` in the
//! Prometheus format ([`metrics`]).
//!
//! Exit codes: 0 success (a clean stop on SIGTERM, SIGINT or SIGQUIT; every event sent was
//! accepted); 1 a runtime failure (the address is taken, Redis cannot be reached,
//! the server failed; an event was not accepted, a handshake refused); 2 a bad
//! setting, file or command line (one message naming the setting).

mod config;
mod listen;
mod logs;
mod metrics;
mod send;
mod sink;
mod telemetry;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use config::{FileSettings, ListenArgs, Settings};
use telemetry::{Telemetry, TraceSettings};

/// Exit code of a runtime failure.
pub(crate) const EXIT_RUNTIME: u8 = 1;
/// Exit code of a bad configuration or command line.
pub(crate) const EXIT_CONFIG: u8 = 2;

/// hookgate: a CloudEvents webhook receiver (Azure Event Grid, Azure Web PubSub, any
/// CloudEvents 1.0 sender) with the validation handshake, authentication and
/// deduplication done, handing events to stdout, a command or a downstream URL.
#[derive(Parser, Debug)]
#[command(name = "hookgate", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const EXIT_CODES: &str =
    "Exit codes: 0 success; 1 a runtime failure; 2 a bad setting or command line.";

#[derive(Subcommand, Debug)]
enum Command {
    /// Receive events on an HTTP endpoint and hand them to stdout, a command or a URL.
    Listen(Box<ListenArgs>),
    /// Play the sender: deliver events to any receiver (with retries), play the
    /// validation handshake (`send validate`), or put it under load (`--load`).
    Send(Box<send::SendArgs>),
    /// Print an example configuration file, or check one.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Print a commented TOML file with every key and its default.
    Example,
    /// Check FILE (alone, without flags or environment) and print what it means.
    Check {
        /// The TOML file.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Config(ConfigCommand::Example) => {
            print!("{}", config::example());
            ExitCode::SUCCESS
        }
        Command::Config(ConfigCommand::Check { file }) => {
            let no_env = |_: &str| None;
            match FileSettings::load(&file).and_then(|f| {
                Settings::resolve(&ListenArgs::default(), &f, &no_env).map_err(|e| e.to_string())
            }) {
                Ok(settings) => {
                    for warning in &settings.warnings {
                        eprintln!("warning: {warning}");
                    }
                    println!("{}: valid\n", file.display());
                    print!("{}", settings.describe());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::Listen(args) => listen(&args),
        Command::Send(args) => send(*args),
    }
}

fn send(args: send::SendArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    let result = runtime.block_on(async move {
        match args.command.clone() {
            Some(send::SendCommand::Validate(validate)) => send::validate::run(validate).await,
            None => send::run(args).await,
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => fail(&e.0),
    }
}

fn listen(args: &ListenArgs) -> ExitCode {
    let file = match &args.config {
        Some(path) => match FileSettings::load(path) {
            Ok(file) => file,
            Err(e) => return fail(&e),
        },
        None => FileSettings::default(),
    };
    let settings = match Settings::resolve(args, &file, &config::process_env) {
        Ok(settings) => settings,
        Err(e) => return fail(&e.to_string()),
    };
    let traces = match TraceSettings::resolve(&config::process_env) {
        Ok(traces) => traces,
        Err(e) => return fail(&e),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    let (telemetry, tracer) = match Telemetry::start(&traces, runtime.handle().clone()) {
        Ok(started) => started.unzip(),
        Err(e) => return fail(&e),
    };
    // Held to the end: dropped, it writes the log lines still queued.
    let logs = logs::init(settings.log.format, settings.log.level, tracer);
    tracing::info!("{}", traces.describe());
    let result = runtime.block_on(listen::run(settings));
    // The spans still queued go out while the runtime still runs their requests.
    if let Some(telemetry) = telemetry {
        telemetry.shutdown();
    }
    if let Err(e) = &result {
        tracing::error!("{}", e.0);
    }
    // The queued log lines (that one included) are out before what follows.
    drop(logs);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.0);
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(EXIT_CONFIG)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_listen_flag_shows_its_environment_value() {
        let cli = Cli::command();
        let listen = cli.find_subcommand("listen").unwrap();
        let with_env: Vec<_> = listen
            .get_arguments()
            .filter(|a| a.get_env().is_some())
            .collect();
        assert!(with_env.len() > 30, "{}", with_env.len());
        for arg in with_env {
            assert!(arg.is_hide_env_values_set(), "--{}", arg.get_id());
        }
    }

    #[test]
    fn send_validate_is_a_subcommand_and_send_takes_a_url() {
        let cli =
            Cli::try_parse_from(["hookgate", "send", "validate", "http://127.0.0.1:1/x"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Send(ref args) if matches!(args.command, Some(send::SendCommand::Validate(_)))
        ));
        let cli = Cli::try_parse_from(["hookgate", "send", "http://127.0.0.1:1/x", "-"]).unwrap();
        assert!(
            matches!(cli.command, Command::Send(ref args) if args.url.is_some() && args.input.is_some())
        );
        assert!(Cli::try_parse_from(["hookgate", "send"]).is_err());
        assert!(
            Cli::try_parse_from(["hookgate", "listen", "--exec", "x", "--forward", "http://a"])
                .is_err()
        );
    }
}
