//! `rediss://` end to end (feature `tls`): a real `redis-server --tls-port` on a
//! loopback port, with a server certificate of a test CA made here. The store
//! trusts the CA given with `ca_pem` and claims and completes through TLS; without
//! the CA (the public roots) the connection is refused, and so is plain `redis://`
//! on the TLS port.

#[path = "../../../tests/common/redis_tls.rs"]
mod redis_tls;
#[path = "../../../tests/common/test_ca.rs"]
mod test_ca;

use std::time::{Duration, Instant};

use hookgate_core::dedup::{Claim, DedupKey, DedupStore};
use hookgate_redis::RedisStore;
use redis_tls::TlsRedis;

/// The store over TLS with the test CA, once the server answers (bounded).
async fn store(redis: &TlsRedis) -> RedisStore {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let connected = RedisStore::builder(redis.url("rediss"))
            .prefix("tls-test:")
            .ca_pem(redis.ca_pem.as_bytes())
            .connect()
            .await;
        match connected {
            Ok(store) => return store,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("no TLS connection to redis-server: {e}"),
        }
    }
}

#[tokio::test]
async fn rediss_claims_and_completes_with_a_private_ca() {
    let redis = TlsRedis::start();
    let store = store(&redis).await;
    store.ping().await.unwrap();
    let key = DedupKey::new("/tls", "e1");
    let Claim::New(token) = store.claim(key, Duration::from_secs(60)).await.unwrap() else {
        panic!("a new key is not claimed");
    };
    store
        .complete(key, token, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        store.claim(key, Duration::from_secs(60)).await.unwrap(),
        Claim::Done
    );

    // Without the CA the server's certificate is not trusted; plain TCP on the
    // TLS port gets no Redis answer.
    let untrusted = RedisStore::builder(redis.url("rediss"))
        .operation_timeout(Duration::from_secs(2))
        .reconnect_retries(0)
        .connect()
        .await
        .unwrap_err();
    assert!(
        untrusted.to_string().to_lowercase().contains("certificate")
            || untrusted.to_string().to_lowercase().contains("tls"),
        "{untrusted}"
    );
    assert!(
        RedisStore::builder(redis.url("redis"))
            .operation_timeout(Duration::from_secs(2))
            .reconnect_retries(0)
            .connect()
            .await
            .is_err()
    );
}
