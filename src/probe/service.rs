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

/// How many ports [`Served::start`] tries when the one it picked is taken before the service
/// binds it.
pub const PORT_TRIES: u32 = 4;

/// Why a start failed: its port was taken by another process (another port may do), or
/// anything else.
enum Spawn {
    Taken(String),
    Failed(ProbeError),
}

impl From<ProbeError> for Spawn {
    fn from(e: ProbeError) -> Spawn {
        Spawn::Failed(e)
    }
}

impl From<Spawn> for ProbeError {
    fn from(e: Spawn) -> ProbeError {
        match e {
            Spawn::Taken(why) => ProbeError::Setup(why),
            Spawn::Failed(e) => e,
        }
    }
}

/// A port no one listens on now, for a service or a database to listen on, **below the
/// kernel's range of ephemeral ports** (`/proc/sys/net/ipv4/ip_local_port_range`), picked at
/// random among those this process has not handed out lately.
///
/// The kernel's own choice (a socket bound to port 0) is free only until the next socket
/// bound to port 0 anywhere on the machine, and a service that takes a second to start leaves
/// it free for that second: seen in CI, a provider of another probe got the port, the service's
/// readiness check connected to it, and the fault-free check's requests were answered by that
/// provider ("no operation has the reference …"). Below the ephemeral range, no socket bound to
/// port 0 and no outgoing connection is given the port; only another explicit choice can
/// collide, and [`Served::start`] tells a listener of its own from another's.
pub fn free_port() -> Result<u16, ProbeError> {
    use std::collections::VecDeque;
    static RECENT: Mutex<VecDeque<u16>> = Mutex::new(VecDeque::new());
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768);
    // Half the ports below the ephemeral range, out of the well-known ones.
    let (from, to) = (low / 2, low);
    if from >= 1_024 && to > from {
        let span = u64::from(to - from);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mut x = nanos ^ (u64::from(std::process::id()) << 32);
        let mut recent = RECENT.lock().unwrap_or_else(|e| e.into_inner());
        for _ in 0..64 {
            // splitmix64: a spread of candidates from the clock and the pid.
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            let port = from + (z % span) as u16;
            if recent.contains(&port) {
                continue;
            }
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
                recent.push_back(port);
                if recent.len() > 256 {
                    recent.pop_front();
                }
                return Ok(port);
            }
        }
    }
    // No range to pick from, or every pick taken: the kernel's choice.
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| ProbeError::Setup(format!("cannot find a free port: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| ProbeError::Setup(format!("cannot find a free port: {e}")))
}

/// Who listens on a port, as far as `/proc` tells.
enum Holder {
    /// A process of the service's process group.
    Group,
    /// Other processes only (their pids).
    Other(String),
    /// No `/proc` to tell (not Linux), no listener found there, or its process not visible:
    /// taken for the service.
    Unknown,
}

/// Who listens on TCP `port` of this machine: a process of process group `group` (the service,
/// started in a group of its own; 0: none is), or only others.
fn listener_of(port: u16, group: u32) -> Holder {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // sl, local address, remote address, state (0A: listening), …, inode (10th).
            let Some((_, hex)) = f.get(1).and_then(|a| a.rsplit_once(':')) else {
                continue;
            };
            if u16::from_str_radix(hex, 16) == Ok(port)
                && f.get(3) == Some(&"0A")
                && let Some(inode) = f.get(9)
            {
                inodes.push(format!("socket:[{inode}]"));
            }
        }
    }
    if inodes.is_empty() {
        return Holder::Unknown;
    }
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Holder::Unknown;
    };
    let mut others = Vec::new();
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|l| inodes.iter().any(|i| l.as_os_str() == i.as_str()))
        });
        if !holds {
            continue;
        }
        // The process group is the fifth field of /proc/PID/stat, after the name in
        // parentheses (which may hold spaces and parentheses of its own).
        let pgrp = std::fs::read_to_string(entry.path().join("stat"))
            .ok()
            .and_then(|stat| {
                let rest = &stat[stat.rfind(')')? + 1..];
                rest.split_whitespace().nth(2)?.parse::<u32>().ok()
            });
        if group != 0 && pgrp == Some(group) {
            return Holder::Group;
        }
        others.push(pid.to_string());
    }
    // A listener whose process is not visible here (another user's, without the rights to
    // read its descriptors) may be the service run as that user: not refused on a guess.
    if others.is_empty() {
        return Holder::Unknown;
    }
    Holder::Other(format!("pid {}", others.join(", ")))
}

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
    /// and waits until it accepts connections on its port, **its own**: a listener there of
    /// another process (a port is free only until someone binds it) is not taken for the
    /// service. With `port`, on that port, and another process listening there is an error;
    /// without, on a port [`free_port`] picks, and another one when the pick was taken
    /// before the service bound it (at most [`PORT_TRIES`] ports).
    pub fn start(
        cmd: &str,
        port: Option<u16>,
        env: Vec<(String, String)>,
        log: PathBuf,
    ) -> Result<Served, ProbeError> {
        if cmd.trim().is_empty() {
            return Err(ProbeError::Input("--serve needs a command".to_string()));
        }
        let mut tries = 0;
        loop {
            tries += 1;
            let served = Served {
                cmd: cmd.to_string(),
                env: env.clone(),
                port: match port {
                    Some(p) => p,
                    None => free_port()?,
                },
                log: log.clone(),
                child: Mutex::new(None),
                starts: Mutex::new(0),
                ready_after: Mutex::new(Duration::ZERO),
                closed: AtomicBool::new(false),
            };
            match served.spawn() {
                Ok(()) => return Ok(served),
                Err(Spawn::Taken(_)) if port.is_none() && tries < PORT_TRIES => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn spawn(&self) -> Result<(), Spawn> {
        let mut guard = self.child.lock().unwrap_or_else(|e| e.into_inner());
        if self.closed.load(Ordering::SeqCst) {
            return Err(ProbeError::Interrupted.into());
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
                // It could not bind: another process took its port first.
                if let Holder::Other(pids) = listener_of(self.port, 0) {
                    return Err(Spawn::Taken(format!(
                        "--serve: port {} is held by another process ({pids}), and `{}` exited ({status}) without listening",
                        self.port, self.cmd
                    )));
                }
                return Err(ProbeError::Input(format!(
                    "--serve: `{}` exited ({status}) before it listened on port {}{}",
                    self.cmd,
                    self.port,
                    self.tail()
                ))
                .into());
            }
            if crate::signals::watch().raised() {
                kill_group(&mut child);
                return Err(ProbeError::Interrupted.into());
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                // Someone listens: the service, or another process that took the port.
                match listener_of(self.port, child.id()) {
                    Holder::Group | Holder::Unknown => break,
                    Holder::Other(pids) => {
                        kill_group(&mut child);
                        return Err(Spawn::Taken(format!(
                            "--serve: port {} is held by another process ({}), not by `{}`: no request of the probe may reach it (a service behind a proxy or in a container: start it yourself and give --target)",
                            self.port, pids, self.cmd
                        )));
                    }
                }
            }
            if started.elapsed() > READY_WITHIN {
                kill_group(&mut child);
                return Err(ProbeError::Input(format!(
                    "--serve: `{}` did not listen on port {} within {}s (it is given its port as PORT){}",
                    self.cmd,
                    self.port,
                    READY_WITHIN.as_secs(),
                    self.tail()
                ))
                .into());
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
        self.spawn().map_err(ProbeError::from)
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
