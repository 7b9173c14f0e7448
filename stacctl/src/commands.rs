//! Runs `stacctl`'s subcommands against stacd.

use std::process::ExitCode;

use staslib::cli::ArgparseTool;
use staslib::ctl::client::dict_list;
use staslib::ctl::commands::{self as common, print};
use staslib::ctl::{Client, CtlError, Daemon, Format, block_on};
use staslib::pprint::PyValue;

use crate::cli::{Cli, Command};
use crate::render;

/// Runs `command`; prints failures as one line on stderr and returns the exit status.
pub fn run(prog: &str, command: &Command, format: Format) -> ExitCode {
    if let Command::Completions(args) = command {
        let script = staslib::ctl::completions(Cli::argparse_command(prog), &args.shell);
        return match staslib::ctl::format::emit(&script) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => CtlError::Output(e).report(),
        };
    }
    block_on(run_async(command, format))
}

async fn client() -> Result<Client, CtlError> {
    Client::connect(Daemon::Stacd).await
}

async fn run_async(command: &Command, format: Format) -> Result<(), CtlError> {
    match command {
        Command::Tron => common::tron(&client().await?, true, format).await,
        Command::Troff => common::tron(&client().await?, false, format).await,
        Command::Status => common::status(&client().await?, false, format).await,
        Command::Ls(d) => ls(&client().await?, d.detailed, format).await,
        Command::Stats => common::stats(&client().await?, format).await,
        Command::Add(a) => {
            let params = common::add_params(a, None)?;
            common::add(&client().await?, &params, format).await
        }
        Command::Remove(a) => {
            let id = common::remove_id(a, None)?;
            common::remove(&client().await?, &id, format).await
        }
        Command::Monitor(m) => common::monitor(Daemon::Stacd, format, m.count).await,
        Command::Completions(_) => Ok(()),
    }
}

/// `ls`: upstream's `list_controllers(detailed)` for `--json`/`--pprint`; the readable
/// form shows every IOC's device and state.
async fn ls(client: &Client, detailed: bool, format: Format) -> Result<(), CtlError> {
    if format == Format::Readable {
        let list = client.list_controllers(true).await?;
        return print(format, &PyValue::None, || render::ls(&list, detailed));
    }
    let list = client.list_controllers(detailed).await?;
    let v = dict_list(&list);
    print(format, &v, String::new)
}
