//! Publishes events straight to a broker, the way `hookgate listen`'s sinks do,
//! at a fixed concurrency, and prints the rate and latency: the baseline the
//! sinks' load runs are compared with (`load/sinks.sh`, BENCHMARKS.md).
//!
//! ```text
//! broker_load redis URL KEY CONCURRENCY SECONDS
//! broker_load nats URL SUBJECT CONCURRENCY SECONDS
//! broker_load nats-stream URL NAME SUBJECTS   # creates a file-stored stream
//! ```
//!
//! `redis`: per event the redis-stream sink's own Lua script (the same file), with
//! the same fields. `nats`: per event a JetStream publish of the CloudEvents
//! binary-mode message with a `Nats-Msg-Id`, its ack awaited. The events are
//! those of `load/event.lua` (a 147-byte JSON body), each with a new id. Prints
//! one line: `DIRECT ops=<n> seconds=<s> rate=<ops/s> p50_us=<n> p99_us=<n>`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hookgate_core::{CloudEvent, Data, encode};

const LUA: &str = include_str!("../../../hookgate-cli/src/sink/redis_stream.lua");
const BODY: &str = r#"{"orderId":"ord-20240501-000123","customer":"cust-4711","total":12999,"currency":"EUR","items":3,"express":false,"placedAt":"2024-05-01T12:00:00Z"}"#;

fn event(n: u64) -> CloudEvent {
    CloudEvent::new(
        format!("direct-{}-{n}", std::process::id()),
        "/hookgate/load",
        "com.example.order.placed",
    )
    .with_data(Data::json(BODY).expect("JSON"))
    .with_datacontenttype("application/json")
}

/// One publisher: publishes until `until`, its latencies in µs.
type Publish =
    Arc<dyn Fn(u64) -> futures_util::future::BoxFuture<'static, Result<(), String>> + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    if let [_, cmd, url, name, subjects] = &args[..]
        && cmd == "nats-stream"
    {
        let client = async_nats::connect(url.as_str())
            .await
            .map_err(|e| e.to_string())?;
        async_nats::jetstream::new(client)
            .create_stream(async_nats::jetstream::stream::Config {
                name: name.clone(),
                subjects: vec![subjects.clone()],
                storage: async_nats::jetstream::stream::StorageType::File,
                ..Default::default()
            })
            .await
            .map_err(|e| e.to_string())?;
        return Ok(());
    }
    let [_, kind, url, target, concurrency, seconds] = &args[..] else {
        return Err("usage: broker_load redis|nats URL KEY|SUBJECT CONCURRENCY SECONDS".into());
    };
    let concurrency: usize = concurrency.parse().map_err(|_| "CONCURRENCY")?;
    let seconds: u64 = seconds.parse().map_err(|_| "SECONDS")?;
    let publish: Publish = match kind.as_str() {
        "redis" => {
            let client = redis::Client::open(url.as_str()).map_err(|e| e.to_string())?;
            let conn = redis::aio::ConnectionManager::new(client)
                .await
                .map_err(|e| e.to_string())?;
            let script = Arc::new(redis::Script::new(LUA));
            let key = target.clone();
            Arc::new(move |n| {
                let (mut conn, script, key) = (conn.clone(), Arc::clone(&script), key.clone());
                Box::pin(async move {
                    let event = event(n);
                    let mut invocation = script.key(format!("{key}:direct:{}", event.id()));
                    invocation
                        .key(&key)
                        .arg(86_400_000u64)
                        .arg(0)
                        .arg("event")
                        .arg(event.to_json())
                        .arg("id")
                        .arg(event.id())
                        .arg("source")
                        .arg(event.source())
                        .arg("type")
                        .arg(event.ty());
                    invocation
                        .invoke_async::<(u8, String)>(&mut conn)
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                })
            })
        }
        "nats" => {
            let client = async_nats::connect(url.as_str())
                .await
                .map_err(|e| e.to_string())?;
            let js = async_nats::jetstream::new(client);
            let subject = target.clone();
            Arc::new(move |n| {
                let (js, subject) = (js.clone(), subject.clone());
                Box::pin(async move {
                    let event = event(n);
                    let (fields, payload) = encode::binary(&event);
                    let mut headers = async_nats::HeaderMap::new();
                    for (name, value) in fields {
                        headers.insert(name.as_str(), value.as_str());
                    }
                    headers.insert("Nats-Msg-Id", event.id());
                    let ack = js
                        .publish_with_headers(subject, headers, payload)
                        .await
                        .map_err(|e| e.to_string())?;
                    ack.await.map(|_| ()).map_err(|e| e.to_string())
                })
            })
        }
        other => return Err(format!("not redis or nats: {other}")),
    };
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (publish, next) = (Arc::clone(&publish), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < until {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let at = Instant::now();
                publish(n).await?;
                latencies.push(at.elapsed().as_micros() as u64);
            }
            Ok::<_, String>(latencies)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.map_err(|e| e.to_string())??);
    }
    let took = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let at = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    println!(
        "DIRECT ops={} seconds={took:.3} rate={:.0} p50_us={} p99_us={}",
        all.len(),
        all.len() as f64 / took,
        at(0.5),
        at(0.99)
    );
    Ok(())
}
