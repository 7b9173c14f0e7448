//! Runs `stafctl`'s subcommands against stafd (and stacd, for the IOCs shown by `ls`).

use std::process::ExitCode;

use staslib::cli::{ArgparseTool, CtlCommand};
use staslib::ctl::client::dict_list;
use staslib::ctl::commands::{self as common, print};
use staslib::ctl::{Client, ControllerId, CtlError, Daemon, Format, block_on};

use crate::cli::{Cli, Command, DlpArgs};
use crate::render;

/// Runs `command`; prints failures as one line on stderr and returns the exit status.
pub fn run(prog: &str, command: &Command, format: Format) -> ExitCode {
    if let Command::Common(CtlCommand::Completions(args)) = command {
        let script = staslib::ctl::completions(Cli::argparse_command(prog), &args.shell);
        return match staslib::ctl::format::emit(&script) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => CtlError::Output(e).report(),
        };
    }
    block_on(run_async(command, format))
}

async fn client() -> Result<Client, CtlError> {
    Client::connect(Daemon::Stafd).await
}

async fn run_async(command: &Command, format: Format) -> Result<(), CtlError> {
    let wk = staslib::WELL_KNOWN_DISC_NQN;
    match command {
        Command::Common(c) => match c {
            CtlCommand::Tron => common::tron(&client().await?, true, format).await,
            CtlCommand::Troff => common::tron(&client().await?, false, format).await,
            CtlCommand::Status => common::status(&client().await?, true, format).await,
            CtlCommand::Ls(d) => ls(&client().await?, d.detailed, format).await,
            CtlCommand::Stats => common::stats(&client().await?, format).await,
            CtlCommand::Add(a) => {
                let params = common::add_params(a, Some(wk))?;
                common::add(&client().await?, &params, format).await
            }
            CtlCommand::Remove(a) => {
                let id = common::remove_id(a, Some(wk))?;
                common::remove(&client().await?, &id, format).await
            }
            CtlCommand::Monitor(m) => common::monitor(Daemon::Stafd, format, m.count).await,
            CtlCommand::Completions(_) => Ok(()),
        },
        Command::Dlp(args) => dlp(args, format).await,
        Command::Adlp(d) => adlp(&client().await?, d.detailed, format).await,
    }
}

/// `ls`: upstream's `list_controllers(detailed)` for `--json`/`--pprint`; the readable
/// form is a tree of DCs, their log page entries and stacd's IOCs for them.
async fn ls(client: &Client, detailed: bool, format: Format) -> Result<(), CtlError> {
    if format != Format::Readable {
        let list = client.list_controllers(detailed).await?;
        let v = dict_list(&list);
        return print(format, &v, String::new);
    }
    let all = client.get_all_log_pages(true).await?;
    let stacd = Client::new(client.connection().clone(), Daemon::Stacd);
    let iocs = match stacd.list_controllers(true).await {
        Ok(l) => Some(l),
        Err(CtlError::NotRunning { .. }) => None,
        Err(e) => return Err(e),
    };
    print(format, &all, || {
        render::ls_tree(&all, iocs.as_deref(), detailed)
    })
}

/// `dlp`: `get_log_pages()` of one DC (`[]` when stafd has no such DC, as upstream).
async fn dlp(args: &DlpArgs, format: Format) -> Result<(), CtlError> {
    // Upstream resolves the host NQN default before anything else.
    let host_nqn = staslib::ctl::host_nqn(args.host_nqn.as_deref())?;
    let id = ControllerId {
        transport: args.transport.clone(),
        traddr: args.traddr.clone(),
        trsvcid: args.trsvcid.clone(),
        subsysnqn: args.nqn.clone(),
        host_traddr: args.host_traddr.clone(),
        host_iface: args.host_iface.clone(),
        host_nqn,
    };
    let pages = client().await?.get_log_pages(&id).await?;
    let v = dict_list(&pages);
    print(format, &v, || render::dlp(&pages))
}

/// `adlp`: `get_all_log_pages(detailed)`.
async fn adlp(client: &Client, detailed: bool, format: Format) -> Result<(), CtlError> {
    let all = client.get_all_log_pages(detailed).await?;
    print(format, &all, || render::adlp(&all))
}
