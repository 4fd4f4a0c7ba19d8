//! The service under test, when the probe starts it (`--serve "CMD"`, run by `sh -c`): started
//! with the port, the provider's URL and the database in its environment, its output kept in a
//! log file (a service whose stderr is closed dies of SIGPIPE the first time it logs), killed
//! with SIGKILL for a crash and started again after the scenario's restart delay, and killed
//! when the probe ends, however it ends, even by SIGKILL (a watchdog in its process group):
//! nothing the probe starts outlives it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::ProbeError;

/// How long a service may take to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(20);

/// `CMD` split into words, as a shell would for a simple command: spaces separate words,
/// single and double quotes group them.
pub fn words(cmd: &str) -> Result<Vec<String>, ProbeError> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in cmd.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            (None, c) => word.push(c),
        }
    }
    if quote.is_some() {
        return Err(ProbeError::Input(format!(
            "--serve {cmd:?}: a quote is not closed"
        )));
    }
    if any || !word.is_empty() {
        out.push(word);
    }
    if out.is_empty() {
        return Err(ProbeError::Input("--serve needs a command".to_string()));
    }
    Ok(out)
}

/// The shell the service is started by: it starts a watchdog in the service's process group,
/// then becomes the user's command (`sh -c CMD`, so `cd dir && ./run.sh` and `PORT=1 cmd`
/// work as at a prompt). The watchdog polls idemlab's pid; if idemlab is gone (even by
/// SIGKILL, which no handler sees), or a zombie no one has reaped yet, it kills the whole
/// group, itself included. When idemlab
/// kills the group, the watchdog goes with it: it never outlives the service.
const WRAPPER: &str = "( while kill -0 \"$2\" 2>/dev/null \
                         && ! grep -qs '^[0-9]* (.*) Z' /proc/\"$2\"/stat; do sleep 0.2; done; \
                         kill -9 0 ) </dev/null >/dev/null 2>&1 & exec sh -c \"$1\"";

/// How many of the service's last output lines a report quotes, and how much of each.
const LAST_LINES: usize = 8;
const LINE_CHARS_MAX: usize = 200;

/// A service process the probe started and owns.
pub struct Served {
    cmd: String,
    env: Vec<(String, String)>,
    /// The port it listens on (given to it as `PORT`).
    pub port: u16,
    /// Where its stdout and stderr go, every start appended.
    log: PathBuf,
    child: Mutex<Option<Child>>,
    /// How many times it was started.
    starts: Mutex<u32>,
    /// How long its last start took, from the spawn until it accepted a connection.
    ready_after: Mutex<Duration>,
    /// Set by [`Served::close`]: no start after it (a restart scheduled before the probe ended
    /// must not leave a process behind).
    closed: AtomicBool,
}

impl Served {
    /// Starts `cmd` (through `sh -c`) with `env` (and `PORT`), its output appended to `log`,
    /// and waits until it accepts connections.
    pub fn start(
        cmd: &str,
        port: u16,
        env: Vec<(String, String)>,
        log: PathBuf,
    ) -> Result<Served, ProbeError> {
        if cmd.trim().is_empty() {
            return Err(ProbeError::Input("--serve needs a command".to_string()));
        }
        let served = Served {
            cmd: cmd.to_string(),
            env,
            port,
            log,
            child: Mutex::new(None),
            starts: Mutex::new(0),
            ready_after: Mutex::new(Duration::ZERO),
            closed: AtomicBool::new(false),
        };
        served.spawn()?;
        Ok(served)
    }

    fn spawn(&self) -> Result<(), ProbeError> {
        let mut guard = self.child.lock().unwrap_or_else(|e| e.into_inner());
        if self.closed.load(Ordering::SeqCst) {
            return Err(ProbeError::Interrupted);
        }
        let start = self.starts() + 1;
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| {
                ProbeError::Setup(format!(
                    "cannot write the service's log {}: {e}",
                    self.log.display()
                ))
            })?;
        let _ = writeln!(log, "== idemlab: start {start} of `{}`", self.cmd);
        let err = log
            .try_clone()
            .map_err(|e| ProbeError::Setup(format!("cannot share the service's log: {e}")))?;
        let mut command = Command::new("sh");
        // A process group of its own: a Ctrl-C at the terminal reaches idemlab alone, which
        // stops the service itself; and a kill of the group reaches whatever the service
        // started, the watchdog too.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        command
            .arg("-c")
            .arg(WRAPPER)
            .arg("idemlab-serve")
            .arg(&self.cmd)
            .arg(std::process::id().to_string())
            .env("PORT", self.port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err));
        for (k, v) in &self.env {
            command.env(k, v);
        }
        let mut child = command
            .spawn()
            .map_err(|e| ProbeError::Input(format!("--serve: cannot start `sh -c`: {e}")))?;
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                kill_group(&mut child);
                return Err(ProbeError::Input(format!(
                    "--serve: `{}` exited ({status}) before it listened on port {}{}",
                    self.cmd,
                    self.port,
                    self.tail()
                )));
            }
            if crate::signals::watch().raised() {
                kill_group(&mut child);
                return Err(ProbeError::Interrupted);
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                break;
            }
            if started.elapsed() > READY_WITHIN {
                kill_group(&mut child);
                return Err(ProbeError::Input(format!(
                    "--serve: `{}` did not listen on port {} within {}s (it is given its port as PORT){}",
                    self.cmd,
                    self.port,
                    READY_WITHIN.as_secs(),
                    self.tail()
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        *self.ready_after.lock().unwrap_or_else(|e| e.into_inner()) = started.elapsed();
        *guard = Some(child);
        *self.starts.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        Ok(())
    }

    /// SIGKILL, as a crash: the process's memory is gone, its database is not. The whole
    /// process group is killed, so a service started through a wrapper dies with it.
    pub fn kill(&self) {
        let mut guard = self.child.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(mut child) = guard.take() {
            kill_group(&mut child);
        }
    }

    /// Kills it for good: no restart after this, even one already scheduled.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.kill();
    }

    /// Starts it again after a crash.
    pub fn restart(&self) -> Result<(), ProbeError> {
        self.kill();
        self.spawn()
    }

    /// How many times it was started (1 without a crash).
    pub fn starts(&self) -> u32 {
        *self.starts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long its last start took, from the spawn until it accepted a connection.
    pub fn ready_after(&self) -> Duration {
        *self.ready_after.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where its output goes.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// `Some(how it ended)` when the process the probe started ended by itself (the probe's
    /// own kills take it out first, so this is never a crash of the plan's).
    pub fn exited(&self) -> Option<std::process::ExitStatus> {
        let mut guard = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let status = guard.as_mut()?.try_wait().ok()??;
        if let Some(mut child) = guard.take() {
            kill_group(&mut child);
        }
        Some(status)
    }

    /// The last lines of its output, for a message: `: its last lines (LOG): …`, each cut to
    /// a readable width; empty when it printed nothing.
    pub fn tail(&self) -> String {
        let lines = last_lines(&self.log, LAST_LINES);
        if lines.is_empty() {
            return format!(
                " (it printed nothing; its output goes to {})",
                self.log.display()
            );
        }
        format!(
            "; its last lines ({}):\n{}",
            self.log.display(),
            lines
                .iter()
                .map(|l| format!("  | {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        )
    }
}

/// SIGKILL to the child's whole process group (its id is the child's pid: `process_group(0)`),
/// then the child reaped. The shell's `kill` reaches a group; std has no call for it without
/// `unsafe`.
fn kill_group(child: &mut Child) {
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -9 -{} 2>/dev/null", child.id()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

/// The last `n` lines of the file at `path` (its last 64 KiB at most: a service that printed
/// one 60 KB line is quoted, not echoed), each cut to 200 characters.
pub fn last_lines(path: &Path, n: usize) -> Vec<String> {
    let Ok(mut file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let len = file.metadata().map_or(0, |m| m.len());
    let from = len.saturating_sub(64 * 1024);
    if std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(from)).is_err() {
        return Vec::new();
    }
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("== idemlab: start"))
        .map(|l| {
            let l = l.trim_end();
            if l.chars().count() > LINE_CHARS_MAX {
                let cut: String = l.chars().take(LINE_CHARS_MAX).collect();
                format!("{cut}… ({} characters in all)", l.chars().count())
            } else {
                l.to_string()
            }
        })
        .collect();
    let keep = lines.len().saturating_sub(n);
    lines.drain(..keep);
    lines
}

impl Drop for Served {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_splits_into_words_like_a_shell_does() {
        assert_eq!(
            words("target/release/shop --design 'key in transaction' -x \"\"").unwrap(),
            [
                "target/release/shop",
                "--design",
                "key in transaction",
                "-x",
                ""
            ]
        );
        assert!(words("shop 'open").is_err());
        assert!(words("   ").is_err());
    }
}
