//! The Redis store (`type = "redis"`, `url = "redis://..."`): keys as given, like Spin's.
//!
//! Plain operations share one multiplexed connection. A CAS gets its own connection, because
//! WATCH is per connection: `current` = WATCH + GET, `swap` = MULTI / SET / EXEC, and a nil
//! EXEC reply (the watched key changed) is reported as a conflict. Spin's own backend reads
//! that reply as success; this one must not.

use super::{CasState, KvError};
use redis::aio::MultiplexedConnection;
use redis::{Client, Value, cmd};

#[derive(Clone)]
pub struct RedisStore {
    client: Client,
    shared: MultiplexedConnection,
}

impl RedisStore {
    pub async fn connect(url: &str) -> Result<Self, KvError> {
        let client = Client::open(url).map_err(KvError::from_display)?;
        let shared = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| KvError(format!("cannot connect to {url}: {e}")))?;
        Ok(Self { client, shared })
    }

    fn conn(&self) -> MultiplexedConnection {
        // Clones share one socket and pipeline requests; cheap by design.
        self.shared.clone()
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        cmd("GET").arg(key).query_async(&mut self.conn()).await.map_err(KvError::from_display)
    }

    pub async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        cmd("SET").arg(key).arg(value).query_async::<()>(&mut self.conn()).await.map_err(KvError::from_display)
    }

    pub async fn delete(&self, key: &str) -> Result<(), KvError> {
        cmd("DEL").arg(key).query_async::<()>(&mut self.conn()).await.map_err(KvError::from_display)
    }

    pub async fn exists(&self, key: &str) -> Result<bool, KvError> {
        cmd("EXISTS").arg(key).query_async(&mut self.conn()).await.map_err(KvError::from_display)
    }

    pub async fn get_keys(&self) -> Result<Vec<String>, KvError> {
        cmd("KEYS").arg("*").query_async(&mut self.conn()).await.map_err(KvError::from_display)
    }

    /// INCRBY, as Spin's Redis backend (the value is a decimal string there).
    pub async fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        cmd("INCRBY").arg(key).arg(delta).query_async(&mut self.conn()).await.map_err(KvError::from_display)
    }

    /// `current`: opens the CAS's own connection (first time), WATCHes the key and reads it.
    pub(crate) async fn watch_and_get(&self, cas: &mut CasState) -> Result<Option<Vec<u8>>, KvError> {
        if cas.redis.is_none() {
            let conn = self.client.get_multiplexed_async_connection().await.map_err(KvError::from_display)?;
            cas.redis = Some(conn);
        }
        let conn = cas.redis.as_mut().ok_or_else(|| KvError("no connection".into()))?;
        cmd("WATCH").arg(&cas.key).query_async::<()>(conn).await.map_err(KvError::from_display)?;
        cmd("GET").arg(&cas.key).query_async(conn).await.map_err(KvError::from_display)
    }

    /// `swap`: MULTI/SET/EXEC on the watching connection. `Ok(false)` when EXEC was aborted.
    pub(crate) async fn exec_swap(&self, mut cas: CasState, value: &[u8]) -> Result<bool, KvError> {
        let conn = cas.redis.as_mut().ok_or_else(|| KvError("CAS without current".into()))?;
        cmd("MULTI").query_async::<()>(conn).await.map_err(KvError::from_display)?;
        cmd("SET").arg(&cas.key).arg(value).query_async::<()>(conn).await.map_err(KvError::from_display)?;
        let reply: Value = cmd("EXEC").query_async(conn).await.map_err(KvError::from_display)?;
        match reply {
            Value::Nil => Ok(false),
            Value::Array(_) => Ok(true),
            other => Err(KvError(format!("unexpected EXEC reply: {other:?}"))),
        }
    }
}
