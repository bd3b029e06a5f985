//! The store's shared connection to Redis, made again when it breaks.
//!
//! A `MultiplexedConnection` whose socket closed stays closed: spin-local used to keep one for
//! the app's whole life, so after a Redis restart every request answered `503` for good. Here a
//! command that finds the connection broken drops it, and the next command connects anew: one
//! attempt at a time, at most one every [`RETRY_INTERVAL`], each bounded by the redis crate's
//! connection timeout (1 s). While Redis is down, requests fail at once; within
//! [`RETRY_INTERVAL`] of its return they succeed again.
//!
//! Spin (3.5.0 to 4.0.2) does not behave like this: its `key-value-redis` keeps a redis-rs 0.32
//! `ConnectionManager` whose reconnection waits 1 s, then 60 to 120 s between attempts (six in
//! all), and every command waits for it meanwhile, so requests hang while Redis is down and
//! for up to two minutes after it is back (see the README, "Scale out"). spin-local does not
//! copy that: the README says so, and the host-contract test marks it.

use redis::aio::MultiplexedConnection;
use redis::{Client, Cmd, FromRedisValue, RedisError};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The shortest time between two connection attempts while Redis is unreachable.
const RETRY_INTERVAL: Duration = Duration::from_millis(250);

pub(super) struct Link {
    client: Client,
    state: Mutex<State>,
}

struct State {
    /// The working connection, numbered so a late failure cannot drop its successor.
    up: Option<(u64, MultiplexedConnection)>,
    generation: u64,
    /// No new attempt before this; `None`: try at once.
    next_attempt: Option<Instant>,
    /// Why the last attempt failed, for the error of the commands refused meanwhile.
    last_failure: String,
    /// A connection was made once: from then on opening the store always succeeds ([`Link::opened`]).
    connected_once: bool,
}

impl Link {
    /// A link that connects on first use, as Spin's store does (only the URL is checked here).
    pub(super) fn new(client: Client) -> Self {
        let state =
            State { up: None, generation: 0, next_attempt: None, last_failure: String::new(), connected_once: false };
        Self { client, state: Mutex::new(state) }
    }

    /// What opening the store costs, as in Spin: its store manager connects the first time a
    /// component opens the store (and fails the open if it cannot), and keeps that connection's
    /// manager from then on, so later opens succeed whatever the server's state.
    pub(super) async fn opened(&self) -> Result<(), RedisOrDown> {
        if self.state.lock().await.connected_once {
            return Ok(());
        }
        self.connection().await.map(|_| ())
    }

    pub(super) fn client(&self) -> &Client {
        &self.client
    }

    /// Runs `command` on the shared connection (connecting first if need be); a failure that
    /// means the connection is gone drops it, so the next command reconnects.
    pub(super) async fn query<T: FromRedisValue>(&self, command: &Cmd) -> Result<T, RedisOrDown> {
        let (generation, mut connection) = self.connection().await?;
        let result = command.query_async(&mut connection).await;
        if let Err(error) = &result
            && connection_is_gone(error)
        {
            let mut state = self.state.lock().await;
            if state.up.as_ref().is_some_and(|(current, _)| *current == generation) {
                state.up = None;
                state.next_attempt = None;
            }
        }
        result.map_err(RedisOrDown::Redis)
    }

    async fn connection(&self) -> Result<(u64, MultiplexedConnection), RedisOrDown> {
        let mut state = self.state.lock().await;
        if let Some(up) = &state.up {
            return Ok(up.clone());
        }
        if state.next_attempt.is_some_and(|at| Instant::now() < at) {
            return Err(RedisOrDown::Down(state.last_failure.clone()));
        }
        match self.client.get_multiplexed_async_connection().await {
            Ok(connection) => {
                state.generation += 1;
                state.connected_once = true;
                let up = (state.generation, connection);
                state.up = Some(up.clone());
                Ok(up)
            }
            Err(error) => {
                state.next_attempt = Some(Instant::now() + RETRY_INTERVAL);
                state.last_failure = error.to_string();
                Err(RedisOrDown::Redis(error))
            }
        }
    }
}

/// A command's failure: Redis's error, or no attempt made because the last one just failed.
#[derive(Debug)]
pub(super) enum RedisOrDown {
    Redis(RedisError),
    Down(String),
}

/// True when `error` means the socket is unusable, so the connection must be replaced.
fn connection_is_gone(error: &RedisError) -> bool {
    error.is_io_error() || error.is_connection_dropped() || error.is_unrecoverable_error() || error.is_timeout()
}
