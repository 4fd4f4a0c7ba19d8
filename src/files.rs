//! Files written whole or not at all: the one place that writes exports, counterexamples and
//! sweep results. `cli` and `tui` both use it.
//!
//! [`write_atomically`] writes to a temporary file beside the target, syncs it, and renames it
//! over the target, so that an interrupted export never replaces a good file with half a one.
//! A temporary file left by a process that was killed (`kill -9` mid-export) is removed the
//! next time the same file is written.

use std::io;
use std::path::{Path, PathBuf};

/// A file that could not be written, with the reason in words.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FileError(pub String);

/// The temporary file of `path` for process `pid`: `.NAME.tmp-PID` beside it.
fn temporary(dir: &Path, name: &str, pid: u32) -> PathBuf {
    dir.join(format!(".{name}.tmp-{pid}"))
}

/// Removes the temporary files of `name` in `dir` that belong to processes no longer running
/// (where the system says which are: `/proc` on Linux). Best effort: what cannot be read or
/// removed is left alone.
fn remove_stale_temporaries(dir: &Path, name: &str) {
    let proc = Path::new("/proc/self");
    if !proc.exists() {
        return;
    }
    let prefix = format!(".{name}.tmp-");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(pid) = file
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Writes a file atomically: to a temporary file in the same directory, then renamed over
/// `path`. On any error the temporary file is removed and `path` is untouched.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut io::BufWriter<std::fs::File>) -> io::Result<()>,
) -> Result<(), FileError> {
    let fail = |e: io::Error| FileError(format!("cannot write {}: {e}", path.display()));
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| FileError(format!("{} is not a file path", path.display())))?
        .to_string_lossy()
        .into_owned();
    remove_stale_temporaries(&dir, &file_name);
    let tmp = temporary(&dir, &file_name, std::process::id());
    let result = (|| {
        let file = std::fs::File::create(&tmp)?;
        let mut w = io::BufWriter::new(file);
        write(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_temporary_file_of_a_dead_process_is_removed_and_a_live_ones_is_kept() {
        let dir = std::env::temp_dir().join(format!("idemlab-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // No process has this number (Linux caps pids far below it).
        let dead = temporary(&dir, "out.csv", 4_000_000_000);
        std::fs::write(&dead, "half a file").unwrap();
        let mine = dir.join(format!(".out.csv.tmp-{}-other", std::process::id()));
        std::fs::write(&mine, "not a temporary of ours").unwrap();
        write_atomically(&dir.join("out.csv"), |w| io::Write::write_all(w, b"whole")).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("out.csv")).unwrap(),
            "whole"
        );
        if Path::new("/proc/self").exists() {
            assert!(!dead.exists(), "the dead process's temporary file stayed");
        }
        assert!(mine.exists(), "a file that is no temporary was removed");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
