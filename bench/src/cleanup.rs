//! Everything the bench starts, it stops: each local stack runs in its own
//! process group (its functions and DynamoDB Local's JVM are in it), and
//! local-stack's launcher lists the groups alive right now, so that
//! Ctrl-C, SIGTERM or a panic kill them before the bench exits. Normal and
//! error paths stop them through [`crate::stack::Stack`]'s `stop` and the
//! launcher's `Drop`.

use local_stack::launcher;

/// On SIGINT, SIGTERM or SIGHUP: kill the stacks and exit 130. (Function
/// processes the bench spawns itself die with it: they carry
/// `PR_SET_PDEATHSIG`.)
pub fn install_signal_handlers() -> Result<(), String> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut hup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
            _ = hup.recv() => "SIGHUP",
        };
        eprintln!("bench: {name}: stopping the local stack(s)");
        launcher::kill_all();
        std::process::exit(130);
    });
    // A panic anywhere (in a task too) must not leave a stack running.
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        launcher::kill_all();
        default(info);
    }));
    Ok(())
}
