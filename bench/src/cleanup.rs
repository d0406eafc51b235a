//! Everything the bench starts, it stops: each local stack runs in its own
//! process group (its functions and DynamoDB Local's JVM are in it), and
//! the groups alive right now are listed here so that Ctrl-C, SIGTERM or a
//! panic can kill them before the bench exits. Normal and error paths stop
//! them through [`crate::stack::Stack`]'s `stop` and `Drop`.

use std::sync::Mutex;

static GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

fn groups() -> std::sync::MutexGuard<'static, Vec<i32>> {
    GROUPS.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn register(pgid: i32) {
    groups().push(pgid);
}

pub fn unregister(pgid: i32) {
    groups().retain(|g| *g != pgid);
}

/// The groups alive right now.
pub fn groups_snapshot() -> Vec<i32> {
    groups().clone()
}

/// SIGKILL to every registered group (and forget them).
pub fn kill_all() {
    for pgid in groups().drain(..) {
        // SAFETY: kill(2) of a process group this process created.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
}

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
        kill_all();
        std::process::exit(130);
    });
    // A panic anywhere (in a task too) must not leave a stack running.
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        kill_all();
        default(info);
    }));
    Ok(())
}
