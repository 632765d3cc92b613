//! `hookgate send --load`: a load generator. `--connections` senders, each with its
//! own connection, send new events (a share `--duplicates` repeats an event already
//! sent) for `--duration`, then it reports the rate, the latency percentiles and the
//! answers by status class. The event is the one the flags describe (`--type`,
//! `--source`, `--data`), or a small default one.

use std::time::{Duration, Instant};

use super::{SendArgs, SendMode, UsageError, event_from_flags, new_id, request_for};

/// The most latencies kept per sender (the rest are counted, not kept).
const MAX_SAMPLES: usize = 1 << 20;

#[derive(Debug, Default)]
struct Tally {
    latencies_micros: Vec<u32>,
    ok: u64,
    client_errors: u64,
    server_errors: u64,
    failures: u64,
}

/// Runs the load; the exit code (1 when any request failed or was answered 5xx).
pub(crate) async fn run(
    args: &SendArgs,
    url: reqwest::Url,
    mode: SendMode,
) -> Result<u8, UsageError> {
    if !(0.0..=1.0).contains(&args.duplicates) {
        return Err(UsageError("--duplicates must be between 0 and 1".into()));
    }
    let mut template = args.clone();
    if template.ty.is_none() || template.source.is_none() {
        template.ty = Some("com.example.load".into());
        template.source = Some("/hookgate/send".into());
        template.data.get_or_insert_with(|| "{\"n\":1}".into());
    }
    event_from_flags(&template, new_id())?;
    let mode = if mode == SendMode::Batch {
        SendMode::Structured
    } else {
        mode
    };
    let deadline = Instant::now() + args.duration;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for sender in 0..args.connections {
        let client = reqwest::Client::builder()
            .timeout(args.timeout)
            .pool_max_idle_per_host(1)
            .build()
            .map_err(|e| UsageError(format!("cannot build the HTTP client: {e}")))?;
        let (url, template, bearer) = (url.clone(), template.clone(), args.bearer.clone());
        let every = if template.duplicates > 0.0 {
            (1.0 / template.duplicates).round().max(1.0) as u64
        } else {
            0
        };
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut last_id: Option<String> = None;
            let mut n: u64 = u64::from(sender);
            while Instant::now() < deadline {
                n += 1;
                let id = match &last_id {
                    Some(id) if every > 0 && n.is_multiple_of(every) => id.clone(),
                    _ => new_id(),
                };
                last_id = Some(id.clone());
                let Ok(event) = event_from_flags(&template, id) else {
                    break;
                };
                let request = request_for(event, mode, &template);
                let mut builder = client.post(url.clone());
                for (name, value) in &request.headers {
                    builder = builder.header(name, value);
                }
                if let Some(token) = &bearer {
                    builder = builder.bearer_auth(token);
                }
                let sent = Instant::now();
                let result = builder.body(request.body).send().await;
                let status = match result {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let _ = response.bytes().await;
                        Some(status)
                    }
                    Err(_) => None,
                };
                let took = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
                if tally.latencies_micros.len() < MAX_SAMPLES {
                    tally.latencies_micros.push(took);
                }
                match status {
                    Some(200..=299) => tally.ok += 1,
                    Some(500..) => tally.server_errors += 1,
                    Some(_) => tally.client_errors += 1,
                    None => tally.failures += 1,
                }
            }
            tally
        }));
    }
    let mut all = Tally::default();
    for task in tasks {
        let Ok(tally) = task.await else { continue };
        all.latencies_micros.extend(tally.latencies_micros);
        all.ok += tally.ok;
        all.client_errors += tally.client_errors;
        all.server_errors += tally.server_errors;
        all.failures += tally.failures;
    }
    let elapsed = started.elapsed();
    let total = all.ok + all.client_errors + all.server_errors + all.failures;
    all.latencies_micros.sort_unstable();
    let pct = |p: f64| -> Duration {
        let v = &all.latencies_micros;
        if v.is_empty() {
            return Duration::ZERO;
        }
        let i = ((v.len() - 1) as f64 * p).round() as usize;
        Duration::from_micros(u64::from(v[i.min(v.len() - 1)]))
    };
    println!(
        "{total} requests in {elapsed:.2?} over {} connection(s): {:.0} req/s",
        args.connections,
        total as f64 / elapsed.as_secs_f64().max(1e-9)
    );
    println!(
        "latency p50 {:.2?}  p90 {:.2?}  p99 {:.2?}  max {:.2?}",
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(1.0)
    );
    println!(
        "answers: {} 2xx, {} 4xx, {} 5xx, {} failed",
        all.ok, all.client_errors, all.server_errors, all.failures
    );
    Ok(u8::from(all.server_errors + all.failures > 0 || total == 0))
}
