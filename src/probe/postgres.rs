//! A throwaway PostgreSQL: `initdb` and `pg_ctl` from the machine's PostgreSQL, in a temporary
//! directory, listening on a Unix socket only, stopped and removed when dropped.
//!
//! PostgreSQL refuses to run as root; when this process is root, the server runs as the
//! `postgres` user (through `runuser`), as the distribution's packages set it up.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::ProbeError;

/// A PostgreSQL server of our own, for as long as this value lives.
pub struct Postgres {
    dir: PathBuf,
    port: u16,
    bin: PathBuf,
    run_as: Option<String>,
    /// Stops the server and removes its directory if idemlab dies without doing it (SIGKILL:
    /// no handler runs). It ends by itself when the directory is gone.
    watchdog: Option<std::process::Child>,
}

/// How long `initdb` or `pg_ctl` may take before it is killed.
const COMMAND_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Where the PostgreSQL programs are: on the `PATH`, or in the distribution's directory.
fn binaries() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .find(|p| p.join("pg_ctl").is_file() && p.join("initdb").is_file())
    });
    if on_path.is_some() {
        return on_path;
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("pg_ctl").is_file())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    // The owner of /proc/self is this process's user.
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

impl Postgres {
    /// Starts a new server in a new temporary directory and waits until it accepts connections.
    pub fn start() -> Result<Postgres, ProbeError> {
        let bin = binaries().ok_or_else(|| {
            ProbeError::Setup(
                "PostgreSQL's initdb and pg_ctl are not installed (on Debian: apt-get install postgresql)"
                    .to_string(),
            )
        })?;
        let dir = std::env::temp_dir().join(format!(
            "idemlab-pg-{}-{}",
            std::process::id(),
            super::run_id()
        ));
        std::fs::create_dir_all(&dir)
            .map_err(|e| ProbeError::Setup(format!("cannot create {}: {e}", dir.display())))?;
        let run_as = is_root().then(|| "postgres".to_string());
        if run_as.is_some() {
            let status = Command::new("chown")
                .args(["postgres:postgres", &dir.display().to_string()])
                .status();
            if !status.is_ok_and(|s| s.success()) {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(ProbeError::Setup(
                    "running as root, and the postgres user cannot own the data directory"
                        .to_string(),
                ));
            }
        }
        let port = super::service::free_port()?;
        let mut pg = Postgres {
            dir,
            port,
            bin,
            run_as,
            watchdog: None,
        };
        let data = pg.dir.join("data");
        pg.run(
            "initdb",
            &[
                "-D",
                &data.display().to_string(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        let options = format!(
            "-p {port} -k {} -c listen_addresses='' -c fsync=off -c synchronous_commit=off",
            pg.dir.display()
        );
        pg.run(
            "pg_ctl",
            &[
                "-D",
                &data.display().to_string(),
                "-o",
                &options,
                "-l",
                &pg.dir.join("log").display().to_string(),
                "-w",
                "-t",
                "30",
                "start",
            ],
        )?;
        pg.watchdog = pg.watch();
        Ok(pg)
    }

    /// A shell that polls idemlab's pid and, once idemlab is gone, stops the server (as the
    /// user that runs it) and removes its directory; it exits by itself once the directory is
    /// gone (the normal end, by `Drop`).
    fn watch(&self) -> Option<std::process::Child> {
        let data = self.dir.join("data");
        let pg_ctl = self.bin.join("pg_ctl");
        let stop = match &self.run_as {
            Some(user) => format!("runuser -u {user} -- \"$3\" -D \"$2\" -m immediate -w stop"),
            None => "\"$3\" -D \"$2\" -m immediate -w stop".to_string(),
        };
        let script = format!(
            "while kill -0 \"$1\" 2>/dev/null && ! grep -qs '^[0-9]* (.*) Z' /proc/\"$1\"/stat \
             && [ -d \"$2\" ]; do sleep 0.2; done; \
             if [ -d \"$2\" ]; then {stop} >/dev/null 2>&1; rm -rf \"$4\"; fi"
        );
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("idemlab-pg-watchdog")
            .arg(std::process::id().to_string())
            .arg(&data)
            .arg(&pg_ctl)
            .arg(&self.dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), ProbeError> {
        self.run_bounded(program, args, true)
    }

    /// Runs `program`, killed past [`COMMAND_LIMIT`] and, when `interruptible`, on a signal
    /// (the stop in `Drop` is not: it must run after a Ctrl-C too).
    fn run_bounded(
        &self,
        program: &str,
        args: &[&str],
        interruptible: bool,
    ) -> Result<(), ProbeError> {
        let path = self.bin.join(program);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&path);
                c
            }
            None => Command::new(&path),
        };
        let mut child = command
            .args(args)
            .current_dir(&self.dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| ProbeError::Setup(format!("cannot run {program}: {e}")))?;
        // Waited for in steps, so that a signal or a hung command is answered: killed, never
        // waited on for ever.
        let started = std::time::Instant::now();
        let status = loop {
            if let Ok(Some(status)) = child.try_wait() {
                break status;
            }
            let interrupted = interruptible && crate::signals::watch().raised();
            if interrupted || started.elapsed() > COMMAND_LIMIT {
                let _ = child.kill();
                let _ = child.wait();
                return Err(if interrupted {
                    ProbeError::Interrupted
                } else {
                    ProbeError::Setup(format!(
                        "{program} did not finish within {}s: killed",
                        COMMAND_LIMIT.as_secs()
                    ))
                });
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        if !status.success() {
            let mut err = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut pipe, &mut err);
            }
            return Err(ProbeError::Setup(format!(
                "{program} failed: {}",
                err.trim()
            )));
        }
        Ok(())
    }

    /// The connection string (tokio-postgres and libpq both read it).
    pub fn url(&self) -> String {
        format!(
            "host={} port={} user=postgres dbname=postgres",
            self.dir.display(),
            self.port
        )
    }

    /// The directory the server keeps its data and socket in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.join("data").display().to_string();
        let _ = self.run_bounded(
            "pg_ctl",
            &["-D", &data, "-m", "immediate", "-w", "stop"],
            false,
        );
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
    }
}
