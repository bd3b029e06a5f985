//! `fermyon:spin/key-value@2.0.0` and `wasi:keyvalue/{store,atomics,batch}@0.2.0-draft2` over
//! the same stores, so both APIs see the same data for a label.

use super::HostState;
use super::bindings::fermyon::spin::key_value as spin_kv;
use super::bindings::wasi::keyvalue::{atomics, batch, store as wasi_kv};
use crate::kv::{Cas, KvError, OpenError, Store, SwapError};
use wasmtime::component::Resource;

/// A `fermyon:spin/key-value.store` handle.
pub struct SpinStore(Store);

/// A `wasi:keyvalue/store.bucket` handle.
pub struct Bucket(Store);

/// A `wasi:keyvalue/atomics.cas` handle.
pub struct CasHandle {
    store: Store,
    cas: Cas,
}

impl HostState {
    fn open_store(&self, label: &str) -> Result<Store, OpenError> {
        self.component.stores.open(label, &self.component.key_value_stores)
    }
}

/// `store`, once opened: or the backend's error on opening it (a Redis store that cannot
/// connect the first time, as in Spin).
async fn opened(store: Store) -> Result<Store, String> {
    match store.opened().await {
        Ok(()) => Ok(store),
        Err(error) => Err(error.to_string()),
    }
}

/// A backend result for the guest: its error as the interface's `other`, or a trap where Spin's
/// host panics.
fn for_guest<T, E>(result: Result<T, KvError>, other: impl FnOnce(String) -> E) -> wasmtime::Result<Result<T, E>> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(KvError::Other(message)) => Ok(Err(other(message))),
        Err(KvError::Trap(message)) => Err(wasmtime::Error::msg(message)),
    }
}

fn spin_result<T>(result: Result<T, KvError>) -> wasmtime::Result<Result<T, spin_kv::Error>> {
    for_guest(result, spin_kv::Error::Other)
}

fn wasi_result<T>(result: Result<T, KvError>) -> wasmtime::Result<Result<T, wasi_kv::Error>> {
    for_guest(result, wasi_kv::Error::Other)
}

impl spin_kv::Host for HostState {}

impl spin_kv::HostStore for HostState {
    async fn open(&mut self, label: String) -> wasmtime::Result<Result<Resource<SpinStore>, spin_kv::Error>> {
        let store = match self.open_store(&label) {
            Ok(store) => opened(store).await,
            Err(OpenError::AccessDenied) => return Ok(Err(spin_kv::Error::AccessDenied)),
            Err(OpenError::NoSuchStore) => return Ok(Err(spin_kv::Error::NoSuchStore)),
        };
        match store {
            Ok(store) => Ok(Ok(self.table.push(SpinStore(store))?)),
            Err(message) => Ok(Err(spin_kv::Error::Other(message))),
        }
    }

    async fn get(
        &mut self,
        this: Resource<SpinStore>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, spin_kv::Error>> {
        let store = self.table.get(&this)?.0.clone();
        spin_result(store.get(&key).await)
    }

    async fn set(
        &mut self,
        this: Resource<SpinStore>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), spin_kv::Error>> {
        let store = self.table.get(&this)?.0.clone();
        spin_result(store.set(&key, &value).await)
    }

    async fn delete(&mut self, this: Resource<SpinStore>, key: String) -> wasmtime::Result<Result<(), spin_kv::Error>> {
        let store = self.table.get(&this)?.0.clone();
        spin_result(store.delete(&key).await)
    }

    async fn exists(
        &mut self,
        this: Resource<SpinStore>,
        key: String,
    ) -> wasmtime::Result<Result<bool, spin_kv::Error>> {
        let store = self.table.get(&this)?.0.clone();
        spin_result(store.exists(&key).await)
    }

    async fn get_keys(&mut self, this: Resource<SpinStore>) -> wasmtime::Result<Result<Vec<String>, spin_kv::Error>> {
        let store = self.table.get(&this)?.0.clone();
        spin_result(store.get_keys().await)
    }

    async fn drop(&mut self, this: Resource<SpinStore>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

impl wasi_kv::Host for HostState {
    async fn open(&mut self, label: String) -> wasmtime::Result<Result<Resource<Bucket>, wasi_kv::Error>> {
        let store = match self.open_store(&label) {
            Ok(store) => opened(store).await,
            Err(OpenError::AccessDenied) => return Ok(Err(wasi_kv::Error::AccessDenied)),
            Err(OpenError::NoSuchStore) => return Ok(Err(wasi_kv::Error::NoSuchStore)),
        };
        match store {
            Ok(store) => Ok(Ok(self.table.push(Bucket(store))?)),
            Err(message) => Ok(Err(wasi_kv::Error::Other(message))),
        }
    }
}

impl wasi_kv::HostBucket for HostState {
    async fn get(
        &mut self,
        this: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, wasi_kv::Error>> {
        let store = self.table.get(&this)?.0.clone();
        wasi_result(store.get(&key).await)
    }

    async fn set(
        &mut self,
        this: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), wasi_kv::Error>> {
        let store = self.table.get(&this)?.0.clone();
        wasi_result(store.set(&key, &value).await)
    }

    async fn delete(&mut self, this: Resource<Bucket>, key: String) -> wasmtime::Result<Result<(), wasi_kv::Error>> {
        let store = self.table.get(&this)?.0.clone();
        wasi_result(store.delete(&key).await)
    }

    async fn exists(&mut self, this: Resource<Bucket>, key: String) -> wasmtime::Result<Result<bool, wasi_kv::Error>> {
        let store = self.table.get(&this)?.0.clone();
        wasi_result(store.exists(&key).await)
    }

    async fn list_keys(
        &mut self,
        this: Resource<Bucket>,
        cursor: Option<String>,
    ) -> wasmtime::Result<Result<wasi_kv::KeyResponse, wasi_kv::Error>> {
        if cursor.is_some() {
            // Spin returns every key at once and rejects cursors the same way.
            return Ok(Err(wasi_kv::Error::Other("list_keys: cursor not supported".into())));
        }
        let store = self.table.get(&this)?.0.clone();
        wasi_result(store.get_keys().await.map(|keys| wasi_kv::KeyResponse { keys, cursor: None }))
    }

    async fn drop(&mut self, this: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

impl atomics::Host for HostState {
    async fn increment(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        delta: i64,
    ) -> wasmtime::Result<Result<i64, wasi_kv::Error>> {
        let store = self.table.get(&bucket)?.0.clone();
        wasi_result(store.increment(&key, delta).await)
    }

    async fn swap(
        &mut self,
        cas: Resource<CasHandle>,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), atomics::CasError>> {
        let CasHandle { store, mut cas } = self.table.delete(cas)?;
        let store_error =
            |e: KvError| for_guest::<(), _>(Err(e), |m| atomics::CasError::StoreError(wasi_kv::Error::Other(m)));
        match store.cas_swap(&mut cas, &value).await {
            Ok(()) => Ok(Ok(())),
            Err(SwapError::Store(e)) => store_error(e),
            Err(SwapError::CasFailed) => {
                // Like Spin: the guest gets a fresh CAS on which `current` already ran.
                let retry = match store.new_cas(cas.key()).await {
                    Ok(retry) => retry,
                    Err(e) => return store_error(e),
                };
                let mut handle = CasHandle { store, cas: retry };
                if let Err(e) = handle.store.cas_current(&mut handle.cas).await {
                    return store_error(e);
                }
                Ok(Err(atomics::CasError::CasFailed(self.table.push(handle)?)))
            }
        }
    }
}

impl atomics::HostCas for HostState {
    async fn new(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<Resource<CasHandle>, wasi_kv::Error>> {
        let store = self.table.get(&bucket)?.0.clone();
        match store.new_cas(&key).await {
            Ok(cas) => Ok(Ok(self.table.push(CasHandle { store, cas })?)),
            Err(e) => wasi_result(Err(e)),
        }
    }

    async fn current(
        &mut self,
        this: Resource<CasHandle>,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, wasi_kv::Error>> {
        let handle = self.table.get_mut(&this)?;
        wasi_result(handle.store.cas_current(&mut handle.cas).await)
    }

    async fn drop(&mut self, this: Resource<CasHandle>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

impl batch::Host for HostState {
    async fn get_many(
        &mut self,
        bucket: Resource<Bucket>,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<Vec<(String, Option<Vec<u8>>)>, wasi_kv::Error>> {
        let store = self.table.get(&bucket)?.0.clone();
        wasi_result(store.get_many(keys).await)
    }

    async fn set_many(
        &mut self,
        bucket: Resource<Bucket>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> wasmtime::Result<Result<(), wasi_kv::Error>> {
        let store = self.table.get(&bucket)?.0.clone();
        wasi_result(store.set_many(key_values).await)
    }

    async fn delete_many(
        &mut self,
        bucket: Resource<Bucket>,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<(), wasi_kv::Error>> {
        let store = self.table.get(&bucket)?.0.clone();
        wasi_result(store.delete_many(keys).await)
    }
}
