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
}

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

/// A port no one listens on now (the kernel's choice for a socket bound to port 0).
pub fn free_port() -> Result<u16, ProbeError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| ProbeError::Setup(format!("cannot find a free port: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| ProbeError::Setup(format!("cannot find a free port: {e}")))
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
        let port = free_port()?;
        let pg = Postgres {
            dir,
            port,
            bin,
            run_as,
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
        Ok(pg)
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), ProbeError> {
        let path = self.bin.join(program);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&path);
                c
            }
            None => Command::new(&path),
        };
        let out = command
            .args(args)
            .current_dir(&self.dir)
            .output()
            .map_err(|e| ProbeError::Setup(format!("cannot run {program}: {e}")))?;
        if !out.status.success() {
            return Err(ProbeError::Setup(format!(
                "{program} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
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
        let _ = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
