//! The Redis store (`type = "redis"`, `url = "redis://..."`), sending the commands Spin's
//! `key-value-redis` backend sends: GET, SET, DEL, EXISTS, `KEYS *`, INCRBY (so a counter is
//! stored as decimal text and `get` returns that text, e.g. `b"32"`), MSET, DEL for the batch, and
//! for compare-and-swap its own connection per CAS: `current` = WATCH + GET, `swap` =
//! MULTI / SET / EXEC. Keys are used as given, whatever the store label (like Spin).
//!
//! Two operations are broken in every released Spin with `wasi:keyvalue` (3.0 through 4.0.2, and
//! 4.1): `swap` and `get-many`. [`RedisMode`] picks Spin's behaviour (the default, so tests see
//! what real Spin does) or the correct one.

mod link;

use super::{Backend, CasBackend, KeyValues, KvError, Op};
use link::{Link, RedisOrDown};
use redis::aio::MultiplexedConnection;
use redis::{Client, Cmd, FromRedisValue, Value, cmd};
use std::sync::Arc;

/// How the Redis store does `swap` and `get-many`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RedisMode {
    /// Exactly what Spin's Redis backend does (3.0 through 4.1):
    /// - `swap` runs MULTI / SET / EXEC, then sends `UNWATCH <key>`, which Redis refuses
    ///   (UNWATCH takes no argument), so every `swap` reports `cas-failed`: after writing the value
    ///   when the transaction ran, without writing when Redis aborted it (the key changed since
    ///   `current`). The commands really go to the server, so a server that accepted the argument
    ///   would make `swap` report success even when the transaction was aborted, as Spin would.
    /// - `get-many` sends `KEYS <key>...`: more than one key is a Redis error, one absent key gives
    ///   an empty list, and one existing key makes Spin's host panic (the guest traps here).
    #[default]
    Spin41,
    /// What Spin's Redis backend means to do: `swap` succeeds exactly when EXEC ran (a conflict is
    /// `cas-failed` with nothing written); `get-many` is MGET, one `(key, value or none)` per key.
    Correct,
}

impl RedisMode {
    /// The names `--redis-mode` and `SPIN_LOCAL_REDIS_MODE` accept.
    pub const NAMES: [&'static str; 2] = ["spin-4.1", "correct"];
}

impl std::str::FromStr for RedisMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "spin-4.1" => Ok(Self::Spin41),
            "correct" => Ok(Self::Correct),
            other => Err(format!("unknown Redis mode `{other}` (expected `spin-4.1` or `correct`)")),
        }
    }
}

impl std::fmt::Display for RedisMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Spin41 => "spin-4.1",
            Self::Correct => "correct",
        })
    }
}

/// The Redis store: one shared, pipelined connection ([`link`]: remade after Redis restarts)
/// plus a connection of its own per compare-and-swap.
#[derive(Clone)]
pub struct RedisStore {
    link: Arc<Link>,
    mode: RedisMode,
}

impl RedisStore {
    /// The store for `url`, which must be one of the URLs Spin's Redis store takes
    /// (`redis://[user[:password]@]host[:port][/db]`, `rediss://` for TLS, `redis+unix://`,
    /// `unix://`, `valkey://`, `valkeys://`; the README lists them). It connects on first use,
    /// as Spin does: an unreachable server is an error of the requests, not of the start.
    pub fn open(url: &str, mode: RedisMode) -> Result<Self, KvError> {
        if redis::parse_redis_url(url).is_none() {
            return Err(KvError::Other(format!("invalid Redis URL `{}`", redacted(url))));
        }
        let client = Client::open(url).map_err(|e| KvError::Other(format!("Redis URL `{}`: {e}", redacted(url))))?;
        Ok(Self { link: Arc::new(Link::new(client)), mode })
    }

    /// Called when a component opens the store: connects the first time, as Spin does ([`Link::opened`]).
    pub async fn opened(&self) -> Result<(), KvError> {
        self.link.opened().await.map_err(link_err)
    }

    async fn query<T: FromRedisValue>(&self, command: &Cmd) -> Result<T, KvError> {
        self.link.query(command).await.map_err(link_err)
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.query(cmd("GET").arg(key)).await
    }

    pub async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.query(cmd("SET").arg(key).arg(value)).await
    }

    pub async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.query(cmd("DEL").arg(key)).await
    }

    pub async fn exists(&self, key: &str) -> Result<bool, KvError> {
        self.query(cmd("EXISTS").arg(key)).await
    }

    pub async fn get_keys(&self) -> Result<Vec<String>, KvError> {
        self.query(cmd("KEYS").arg("*")).await
    }

    pub async fn get_many(&self, keys: &[String]) -> Result<KeyValues, KvError> {
        match self.mode {
            RedisMode::Spin41 => spin41_pairs_from_keys_reply(self.query(cmd("KEYS").arg(keys)).await?),
            RedisMode::Correct => {
                let values: Vec<Option<Vec<u8>>> = self.query(cmd("MGET").arg(keys)).await?;
                Ok(keys.iter().cloned().zip(values).collect())
            }
        }
    }

    pub async fn set_many(&self, pairs: &[(String, Vec<u8>)]) -> Result<(), KvError> {
        self.query(cmd("MSET").arg(pairs)).await
    }

    pub async fn delete_many(&self, keys: &[String]) -> Result<(), KvError> {
        self.query(cmd("DEL").arg(keys)).await
    }

    /// INCRBY: atomic; a value that is not a decimal integer is Redis's error.
    pub async fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        self.query(cmd("INCRBY").arg(key).arg(delta)).await
    }

    /// A new connection for one CAS, because WATCH is per connection.
    pub(crate) async fn cas_connection(&self) -> Result<MultiplexedConnection, KvError> {
        self.link.client().get_multiplexed_async_connection().await.map_err(redis_err)
    }

    /// `current`: WATCH the key on the CAS's connection, then read it.
    pub(crate) async fn watch_and_get(
        &self,
        conn: &mut MultiplexedConnection,
        key: &str,
    ) -> Result<Option<Vec<u8>>, KvError> {
        cmd("WATCH").arg(key).query_async::<()>(conn).await.map_err(redis_err)?;
        cmd("GET").arg(key).query_async(conn).await.map_err(redis_err)
    }

    /// `swap`: `Ok(true)` = success, `Ok(false)` = `cas-failed`, per [`RedisMode`].
    pub(crate) async fn swap(
        &self,
        conn: &mut MultiplexedConnection,
        key: &str,
        value: &[u8],
    ) -> Result<bool, KvError> {
        let transaction = multi_set_exec(conn, key, value).await;
        match self.mode {
            RedisMode::Correct => match transaction.map_err(redis_err)? {
                Value::Nil => Ok(false),
                Value::Array(_) => Ok(true),
                other => Err(KvError::Other(format!("unexpected EXEC reply: {other:?}"))),
            },
            RedisMode::Spin41 => {
                // Spin: `UNWATCH <key>`, and any error there or in the transaction is `cas-failed`;
                // an aborted EXEC (nil) is not an error to the redis crate Spin uses.
                let unwatch = cmd("UNWATCH").arg(key).query_async::<()>(conn).await;
                Ok(unwatch.is_ok() && transaction.is_ok())
            }
        }
    }
}

/// The store as a [`Backend`].
impl Backend for RedisStore {
    fn opened(&self) -> Op<'_, ()> {
        Box::pin(RedisStore::opened(self))
    }
    fn get<'a>(&'a self, key: &'a str) -> Op<'a, Option<Vec<u8>>> {
        Box::pin(RedisStore::get(self, key))
    }
    fn set<'a>(&'a self, key: &'a str, value: &'a [u8]) -> Op<'a, ()> {
        Box::pin(RedisStore::set(self, key, value))
    }
    fn delete<'a>(&'a self, key: &'a str) -> Op<'a, ()> {
        Box::pin(RedisStore::delete(self, key))
    }
    fn exists<'a>(&'a self, key: &'a str) -> Op<'a, bool> {
        Box::pin(RedisStore::exists(self, key))
    }
    fn get_keys(&self) -> Op<'_, Vec<String>> {
        Box::pin(RedisStore::get_keys(self))
    }
    fn get_many<'a>(&'a self, keys: &'a [String]) -> Op<'a, KeyValues> {
        Box::pin(RedisStore::get_many(self, keys))
    }
    fn set_many<'a>(&'a self, pairs: &'a [(String, Vec<u8>)]) -> Op<'a, ()> {
        Box::pin(RedisStore::set_many(self, pairs))
    }
    fn delete_many<'a>(&'a self, keys: &'a [String]) -> Op<'a, ()> {
        Box::pin(RedisStore::delete_many(self, keys))
    }
    fn increment<'a>(&'a self, key: &'a str, delta: i64) -> Op<'a, i64> {
        Box::pin(RedisStore::increment(self, key, delta))
    }
    fn new_cas<'a>(&'a self, key: &'a str) -> Op<'a, Box<dyn CasBackend>> {
        Box::pin(async move {
            let conn = self.cas_connection().await?;
            Ok(Box::new(RedisCas { store: self.clone(), key: key.to_owned(), conn }) as Box<dyn CasBackend>)
        })
    }
}

/// Spin's Redis compare-and-swap, on a connection of its own (WATCH is per connection).
struct RedisCas {
    store: RedisStore,
    key: String,
    conn: MultiplexedConnection,
}

impl CasBackend for RedisCas {
    fn current(&mut self) -> Op<'_, Option<Vec<u8>>> {
        Box::pin(async move { self.store.watch_and_get(&mut self.conn, &self.key).await })
    }
    fn swap<'a>(&'a mut self, value: &'a [u8]) -> Op<'a, bool> {
        Box::pin(async move { self.store.swap(&mut self.conn, &self.key, value).await })
    }
}

/// MULTI, SET, EXEC on the watching connection; the EXEC reply (nil when Redis aborted it).
async fn multi_set_exec(conn: &mut MultiplexedConnection, key: &str, value: &[u8]) -> redis::RedisResult<Value> {
    cmd("MULTI").query_async::<()>(conn).await?;
    cmd("SET").arg(key).arg(value).query_async::<()>(conn).await?;
    cmd("EXEC").query_async(conn).await
}

fn link_err(failure: RedisOrDown) -> KvError {
    match failure {
        RedisOrDown::Redis(error) => redis_err(error),
        RedisOrDown::Down(reason) => KvError::Other(format!("not connected to Redis: {reason}")),
    }
}

/// Spin formats backend errors with `{:?}`.
fn redis_err(e: redis::RedisError) -> KvError {
    KvError::Other(format!("{e:?}"))
}

/// `url` without its password, for messages.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// What Spin's `get_many` makes of its `KEYS <keys>` reply: the redis crate reads the list of
/// matching key names as `(key, value)` pairs. An empty list is empty; names pair up two by two
/// (`(first name, second name as the value)`); an odd count hits `unreachable!()` in that crate,
/// a panic in Spin's host.
fn spin41_pairs_from_keys_reply(reply: Value) -> Result<KeyValues, KvError> {
    let items = match reply {
        Value::Nil => return Ok(Vec::new()),
        Value::Array(items) | Value::Set(items) => items,
        other => return Err(KvError::Other(format!("Response was of incompatible type: {other:?}"))),
    };
    if items.len() % 2 == 1 {
        return Err(KvError::Trap(
            "wasi:keyvalue get-many of one existing key on Redis: Spin's host panics here (its Redis \
             store sends `KEYS <key>` and misreads the reply); spin-local emulates that"
                .into(),
        ));
    }
    items
        .chunks(2)
        .map(|pair| {
            let parse_err = |e: redis::ParsingError| KvError::Other(format!("{e:?}"));
            let key = redis::from_redis_value_ref::<String>(&pair[0]).map_err(parse_err)?;
            let value = redis::from_redis_value_ref::<Option<Vec<u8>>>(&pair[1]).map_err(parse_err)?;
            Ok((key, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn spin41_get_many_reads_key_names_as_pairs_and_panics_on_an_odd_count() {
        assert!(spin41_pairs_from_keys_reply(Value::Array(vec![])).expect("empty").is_empty());
        assert!(matches!(spin41_pairs_from_keys_reply(Value::Array(vec![bulk("a")])), Err(KvError::Trap(_))));
        let pairs = spin41_pairs_from_keys_reply(Value::Array(vec![bulk("a1"), bulk("a2")])).expect("pairs");
        assert_eq!(pairs, vec![("a1".to_string(), Some(b"a2".to_vec()))]);
    }

    #[test]
    fn the_url_forms_spin_takes_open_and_others_are_refused_without_the_password() {
        for url in [
            "redis://127.0.0.1:6379",
            "redis://:secret@127.0.0.1:6379/2",
            "redis://app:secret@redis.internal:6380",
            "rediss://app:secret@redis.internal:6380",
            "rediss://redis.internal/#insecure",
            "redis+unix:///run/redis.sock?db=1&pass=secret",
            "unix:///run/redis.sock",
            "valkey://127.0.0.1",
        ] {
            assert!(RedisStore::open(url, RedisMode::Spin41).is_ok(), "{url}");
        }
        for url in ["http://127.0.0.1:6379", "127.0.0.1:6379", "redis://app:secret@h/notadb"] {
            let Err(KvError::Other(message)) = RedisStore::open(url, RedisMode::Spin41) else {
                panic!("{url} accepted")
            };
            assert!(!message.contains("secret"), "{message}");
        }
    }

    #[test]
    fn modes_parse_from_their_names() {
        for name in RedisMode::NAMES {
            assert_eq!(name.parse::<RedisMode>().expect("known").to_string(), name);
        }
        assert!("fixed".parse::<RedisMode>().is_err());
    }
}
