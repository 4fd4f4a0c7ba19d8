//! The service under test, when the probe starts it (`--serve "CMD"`): started with the port,
//! the provider's URL and the database in its environment, killed with SIGKILL for a crash and
//! started again after the scenario's restart delay, and killed when the probe ends, however it
//! ends: nothing the probe starts outlives it.

use std::io::Read;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
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

/// A service process the probe started and owns.
pub struct Served {
    argv: Vec<String>,
    env: Vec<(String, String)>,
    /// The port it listens on (given to it as `PORT`).
    pub port: u16,
    child: Mutex<Option<Child>>,
    /// How many times it was started.
    starts: Mutex<u32>,
}

impl Served {
    /// Starts `cmd` with `env` (and `PORT`), and waits until it accepts connections.
    pub fn start(cmd: &str, port: u16, env: Vec<(String, String)>) -> Result<Served, ProbeError> {
        let served = Served {
            argv: words(cmd)?,
            env,
            port,
            child: Mutex::new(None),
            starts: Mutex::new(0),
        };
        served.spawn()?;
        Ok(served)
    }

    fn spawn(&self) -> Result<(), ProbeError> {
        let mut command = Command::new(&self.argv[0]);
        // A process group of its own: a Ctrl-C at the terminal reaches idemlab alone, which
        // stops the service itself; and a kill of the group reaches whatever the service
        // started.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        command
            .args(&self.argv[1..])
            .env("PORT", self.port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            command.env(k, v);
        }
        let mut child = command.spawn().map_err(|e| {
            ProbeError::Input(format!("--serve: cannot start `{}`: {e}", self.argv[0]))
        })?;
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let mut err = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = pipe.read_to_string(&mut err);
                }
                let last = err.lines().last().unwrap_or("").trim().to_string();
                return Err(ProbeError::Input(format!(
                    "--serve: `{}` exited ({status}) before it listened on port {}{}",
                    self.argv[0],
                    self.port,
                    if last.is_empty() {
                        String::new()
                    } else {
                        format!(": {last}")
                    }
                )));
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                break;
            }
            if started.elapsed() > READY_WITHIN {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ProbeError::Input(format!(
                    "--serve: `{}` did not listen on port {} within {}s",
                    self.argv[0],
                    self.port,
                    READY_WITHIN.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Its stderr is not read while it runs: drop the pipe so that it never blocks on it.
        drop(child.stderr.take());
        *self.child.lock().unwrap_or_else(|e| e.into_inner()) = Some(child);
        *self.starts.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        Ok(())
    }

    /// SIGKILL, as a crash: the process's memory is gone, its database is not. The whole
    /// process group is killed, so a service started through a wrapper dies with it.
    pub fn kill(&self) {
        let mut guard = self.child.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(mut child) = guard.take() {
            // The group's id is the child's pid (`process_group(0)`); the shell's `kill`
            // builtin reaches a group, and std has no call for it without `unsafe`.
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
}

impl Drop for Served {
    fn drop(&mut self) {
        self.kill();
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
