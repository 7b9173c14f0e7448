//! Command-line plumbing shared by the five programs.

/// Parses `args` (including `argv[0]`) with `cmd`, an already customised clap command
/// (argparse-style usage line, per-program defaults). Errors exit with status 2 through
/// [`clap::Error::exit`], as argparse does.
pub fn try_parse_with<C, I, T>(mut cmd: clap::Command, args: I) -> Result<C, clap::Error>
where
    C: clap::FromArgMatches,
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = cmd.try_get_matches_from_mut(args)?;
    C::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))
}
