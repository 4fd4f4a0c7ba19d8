//! `idemlab sweep`: a parameter grid × seeds × designs on every core, its rows kept in `OUT.partial` and resumable.

use super::*;

/// The arguments of `idemlab sweep`.
#[derive(clap::Args, Debug)]
pub struct SweepArgs {
    /// A scenario file, or the name of a bundled scenario.
    pub scenario: String,
    /// A parameter and its values: PATH=FROM:TO:STEP or PATH=a,b,c (repeatable), e.g.
    /// network.loss.response=0:0.3:0.05 or client.retry.timeout=10ms:100ms:10ms.
    #[arg(long = "param", value_name = "PATH=VALUES", required = true)]
    pub params: Vec<String>,
    /// How many seeds per grid point (seeds 1..=N).
    #[arg(long, default_value_t = 10)]
    pub seeds: u64,
    /// Comma-separated design names (default: the scenario's).
    #[arg(long, value_delimiter = ',')]
    pub designs: Option<Vec<String>>,
    /// Where to write the results (rows are kept in OUT.partial until the sweep ends).
    #[arg(long, value_name = "FILE.csv")]
    pub out: PathBuf,
    /// Also draw duplicate rate, in-doubt rate and p99 latency against the first parameter.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    pub jobs: usize,
    /// Run only slice I of N (I from 0): tasks whose number is I modulo N.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Skip the rows already in OUT.partial (or OUT) and finish the sweep.
    #[arg(long)]
    pub resume: bool,
}

/// `OUT.partial`: where a sweep's rows go as they finish.
pub(super) fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// A sweep row's key (its parameters, seed and design) and the whole row.
pub(super) type KeyedRow = (Vec<String>, Vec<String>);

/// The rows of a sweep CSV that match `header`, by key (parameters, seed, design).
pub(super) fn read_rows(
    path: &Path,
    header: &[String],
    keys: usize,
) -> Result<Vec<KeyedRow>, CliError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| CliError::Input(format!("cannot read {}: {e}", path.display())))?;
    let found: Vec<String> = reader
        .headers()
        .map_err(|e| CliError::Input(format!("cannot read {}: {e}", path.display())))?
        .iter()
        .map(str::to_string)
        .collect();
    if found != header {
        return Err(CliError::Input(format!(
            "cannot resume from {}: its columns are not this sweep's (different parameters?)",
            path.display()
        )));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        // A row cut short by a kill is not a row: it will be run again.
        let Ok(record) = record else { continue };
        if record.len() != header.len() {
            continue;
        }
        let row: Vec<String> = record.iter().map(str::to_string).collect();
        rows.push((row[..keys].to_vec(), row));
    }
    Ok(rows)
}

pub(super) fn cmd_sweep(args: SweepArgs) -> Result<(), CliError> {
    use std::collections::BTreeMap;
    use std::io::Write as _;

    let scenario = load_scenario(&args.scenario)?;
    let params = args
        .params
        .iter()
        .map(|p| crate::sweep::Param::parse(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CliError::Input(e.to_string()))?;
    if args.seeds == 0 {
        return Err(CliError::Input("--seeds must be at least 1".into()));
    }
    let designs = args.designs.unwrap_or_else(|| scenario.designs.clone());
    let plan = crate::sweep::SweepPlan::new(&scenario, params, args.seeds, designs)
        .map_err(|e| CliError::Input(e.to_string()))?;
    let shard = shard_arg(args.shard.as_deref())?;
    let mine = shard.map_or(plan.len(), |s| s.size(plan.len()));
    if mine > crate::sweep::MAX_TASKS {
        return Err(CliError::Input(format!(
            "this sweep would do {mine} runs, more than the limit of {} for one invocation; split it with --shard I/N (N of at least {}), or sweep fewer values, seeds or designs",
            crate::sweep::MAX_TASKS,
            mine.div_ceil(crate::sweep::MAX_TASKS) * shard.map_or(1, |s| s.count)
        )));
    }
    let header = plan.header();
    let keys = plan.params.len() + 2;
    let partial = partial_path(&args.out);

    // Rows already done: kept (as CSV lines), and their tasks skipped.
    let mut done: BTreeMap<Vec<String>, String> = BTreeMap::new();
    if args.resume {
        // A finished file of this very sweep counts; an older file of another is left alone
        // (and replaced only when this sweep completes).
        if args.out.exists()
            && let Ok(rows) = read_rows(&args.out, &header, keys)
        {
            done.extend(
                rows.into_iter()
                    .map(|(k, r)| (k, crate::sweep::encode_row(&r))),
            );
        }
        if partial.exists() {
            let rows = read_rows(&partial, &header, keys)?;
            done.extend(
                rows.into_iter()
                    .map(|(k, r)| (k, crate::sweep::encode_row(&r))),
            );
        }
    } else if partial.exists() {
        return Err(CliError::Input(format!(
            "{} holds an unfinished sweep: add --resume to finish it, or delete it to start over",
            partial.display()
        )));
    }
    let tasks: Vec<u64> = (0..plan.len())
        .filter(|i| shard.is_none_or(|s| s.owns(*i)))
        .filter(|i| !done.contains_key(&plan.key(&plan.task(*i))))
        .collect();

    // The partial file: rewritten with what is kept, then appended to as rows finish.
    let io_err = |e: io::Error| CliError::Io(format!("cannot write {}: {e}", partial.display()));
    let header_line = crate::sweep::encode_row(&header);
    let mut writer = std::io::BufWriter::new(std::fs::File::create(&partial).map_err(io_err)?);
    writer.write_all(header_line.as_bytes()).map_err(io_err)?;
    for line in done.values() {
        writer.write_all(line.as_bytes()).map_err(io_err)?;
    }
    writer.flush().map_err(io_err)?;

    let signals = watch_ctrl_c();
    let bar = indicatif::ProgressBar::new(tasks.len() as u64);
    if io::stdout().is_terminal() {
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} runs · {per_sec} · eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut failure: Option<CliError> = None;
    let mut fresh: Vec<(u64, String)> = Vec::with_capacity(tasks.len());
    let stop = std::sync::atomic::AtomicBool::new(false);
    let jobs = worker_threads(args.jobs, tasks.len() as u64)?;
    // The pool stops on a signal or on a write failure; both end the sweep the same way.
    let watcher_done = std::sync::atomic::AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !watcher_done.load(std::sync::atomic::Ordering::Relaxed) {
                if signals.raised() {
                    stop.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        });
        let r = crate::sweep::run(&plan, &tasks, jobs, &stop, |index, line| {
            if failure.is_none() {
                // One flush per row: a kill loses at most the row being written.
                if let Err(e) = writer
                    .write_all(line.as_bytes())
                    .and_then(|()| writer.flush())
                {
                    failure = Some(io_err(e));
                    stop.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
            fresh.push((index, line));
            bar.inc(1);
        });
        watcher_done.store(true, std::sync::atomic::Ordering::Relaxed);
        r
    });
    result.map_err(CliError::Io)?;
    bar.finish_and_clear();
    if let Some(e) = failure {
        return Err(e);
    }
    drop(writer);
    if signals.raised() {
        return Err(stopped_by_signal(format!(
            "interrupted by {}: {} of {} runs are in {}; run the same command with --resume to finish",
            signals.name().unwrap_or("a signal"),
            done.len() + fresh.len(),
            done.len() + tasks.len(),
            partial.display()
        )));
    }

    // Every row, in task order: the same file whatever order the threads finished in. Rows
    // kept from before (`--resume`) are known by their key; only then is the index of keys
    // built (for a million runs it is a million small vectors of strings).
    let index_of: BTreeMap<Vec<String>, u64> = if done.is_empty() {
        BTreeMap::new()
    } else {
        (0..plan.len())
            .map(|i| (plan.key(&plan.task(i)), i))
            .collect()
    };
    let mut rows: Vec<(u64, String)> = done
        .into_iter()
        .filter_map(|(key, line)| index_of.get(&key).map(|i| (*i, line)))
        .chain(fresh)
        .collect();
    rows.sort_by_key(|(i, _)| *i);
    write_atomically(&args.out, |w| {
        w.write_all(header_line.as_bytes())?;
        for (_, line) in &rows {
            w.write_all(line.as_bytes())?;
        }
        Ok(())
    })?;
    let _ = std::fs::remove_file(&partial);
    if let Some(svg_path) = &args.plot {
        // Parsed back only for the chart, by one reader: each line is one record (building a
        // reader per line took longer than the whole sweep).
        let text: String = rows.iter().map(|(_, line)| line.as_str()).collect();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let parsed: Vec<(u64, Vec<String>)> = rows
            .iter()
            .zip(reader.records())
            .filter_map(|((i, _), record)| {
                Some((*i, record.ok()?.iter().map(str::to_string).collect()))
            })
            .collect();
        let chart = crate::sweep::panels(&plan, &parsed);
        let title = format!(
            "{} · {} seeds per point · {}",
            scenario.name,
            plan.seeds,
            chart.subject()
        );
        let text = crate::plot::svg(&title, &chart.parameter, &chart.ticks, &chart.panels);
        write_atomically(svg_path, |w| w.write_all(text.as_bytes()))?;
    }
    eprintln!(
        "{} rows written to {}{}",
        rows.len(),
        args.out.display(),
        args.plot
            .as_ref()
            .map(|p| format!(", chart to {}", p.display()))
            .unwrap_or_default()
    );
    Ok(())
}
