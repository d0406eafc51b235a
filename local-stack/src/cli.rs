//! Flags and their environment variables, through clap, with the two rules
//! local-stack and the bench share that clap does not have: a blank
//! variable counts as unset, and an invalid value read from a variable
//! names that variable. A flag wins over its variable (clap's own rule).

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Command, Parser};

/// Parses `args` (the program name first) and the environment into `T`.
/// Help and errors come back as `Err`; `clap::Error::exit` prints them
/// (help on stdout with status 0, errors on stderr with status 2).
pub fn parse<T, I>(args: I) -> Result<T, clap::Error>
where
    T: Parser,
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let mut cmd = without_blank_variables(T::command());
    let mut matches = cmd
        .try_get_matches_from_mut(&args)
        .map_err(|e| name_the_variable(&cmd, e, &args))?;
    T::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut cmd))
}

/// An error about the command line (or the environment) of `T`, formatted
/// like clap's own.
pub fn error<T: Parser>(message: impl std::fmt::Display) -> clap::Error {
    T::command().error(ErrorKind::ValueValidation, message)
}

/// clap reads each variable when the command is built and takes an empty
/// one as a value; here a blank variable is no variable.
fn without_blank_variables(cmd: Command) -> Command {
    cmd.mut_args(|arg| {
        let blank = arg
            .get_env()
            .and_then(std::env::var_os)
            .is_some_and(|v| v.to_string_lossy().trim().is_empty());
        if blank {
            arg.env(None::<&'static str>)
        } else {
            arg
        }
    })
}

/// `invalid value '-1' for '--sim-seed <S>'` becomes `... for '--sim-seed
/// <S> [env: SIM_SEED]'` when the value came from the variable.
fn name_the_variable(cmd: &Command, mut err: clap::Error, args: &[OsString]) -> clap::Error {
    if !matches!(
        err.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
    ) {
        return err;
    }
    let Some(ContextValue::String(shown)) = err.get(ContextKind::InvalidArg).cloned() else {
        return err;
    };
    let Some(arg) = cmd.get_arguments().find(|a| a.to_string() == shown) else {
        return err;
    };
    let (Some(long), Some(var)) = (arg.get_long(), arg.get_env()) else {
        return err;
    };
    let flag = format!("--{long}");
    let on_command_line = args.iter().skip(1).any(|a| {
        let a = a.to_string_lossy();
        a == flag || a.starts_with(&format!("{flag}="))
    });
    if !on_command_line {
        err.insert(
            ContextKind::InvalidArg,
            ContextValue::String(format!("{shown} [env: {}]", var.to_string_lossy())),
        );
    }
    err
}

/// A number, surrounding blanks allowed (as a variable often has them).
pub fn number<T: std::str::FromStr>(raw: &str) -> Result<T, String> {
    raw.trim()
        .parse()
        .map_err(|_| "not a number (or out of range)".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Parser)]
    struct Demo {
        /// A port.
        #[arg(long, env = "LOCAL_STACK_CLI_DEMO_PORT", default_value_t = 7, value_parser = number::<u16>)]
        port: u16,
    }

    #[test]
    fn blank_variables_are_unset_and_bad_ones_named() {
        // The variable is this test's own: no other test reads it.
        std::env::set_var("LOCAL_STACK_CLI_DEMO_PORT", "  ");
        let d: Demo = parse(["demo"]).unwrap();
        assert_eq!(d.port, 7);
        std::env::set_var("LOCAL_STACK_CLI_DEMO_PORT", " 9 ");
        assert_eq!(parse::<Demo, _>(["demo"]).unwrap().port, 9);
        assert_eq!(parse::<Demo, _>(["demo", "--port=8"]).unwrap().port, 8);
        std::env::set_var("LOCAL_STACK_CLI_DEMO_PORT", "x");
        let err = parse::<Demo, _>(["demo"]).unwrap_err().to_string();
        assert!(err.contains("[env: LOCAL_STACK_CLI_DEMO_PORT]"), "{err}");
        let err = parse::<Demo, _>(["demo", "--port", "y"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("invalid value 'y'") && !err.contains("[env:"),
            "{err}"
        );
        std::env::remove_var("LOCAL_STACK_CLI_DEMO_PORT");
    }
}
