//! `stacctl`, the STorage Appliance Connector control utility: a D-Bus client of `stacd`.
//!
//! The command line is upstream's ([`cli`]); each subcommand prints a readable form by
//! default, JSON with `--json` (schema: `stacctl/schema/stacctl.schema.json`), or upstream's
//! exact `pprint` output with `--pprint` ([`render`], [`commands`]).

pub mod cli;
pub mod commands;
pub mod render;

pub use cli::{Cli, Command, DetailedArgs, PROG, parse};

use std::process::ExitCode;

use staslib::cli::ArgparseTool;

/// Runs `stacctl` with an already parsed command line.
pub fn run(cli: &Cli) -> ExitCode {
    let prog = staslib::prog_name(PROG);
    match staslib::cli::version_or_command(cli.version, cli.command.as_ref(), &Cli::usage(&prog)) {
        Ok(command) => commands::run(&prog, command, cli.output.format()),
        Err(code) => code,
    }
}
