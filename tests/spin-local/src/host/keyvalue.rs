//! `fermyon:spin/key-value@2.0.0` and `wasi:keyvalue/{store,atomics,batch}@0.2.0-draft2` over
//! the same stores, so both APIs see the same data for a label.

use super::HostState;
use super::bindings::fermyon::spin::key_value as spin_kv;
use super::bindings::wasi::keyvalue::{atomics, batch, store as wasi_kv};
use crate::kv::{CasState, KvError, OpenError, Store};
use wasmtime::component::Resource;

/// A `fermyon:spin/key-value.store` handle.
pub struct SpinStore(Store);

/// A `wasi:keyvalue/store.bucket` handle.
pub struct Bucket(Store);

/// A `wasi:keyvalue/atomics.cas` handle.
pub struct CasHandle {
    store: Store,
    state: CasState,
}

impl HostState {
    fn open_store(&self, label: &str) -> Result<Store, OpenError> {
        self.component.stores.open(label, &self.component.key_value_stores)
    }
}

fn spin_err(e: KvError) -> spin_kv::Error {
    spin_kv::Error::Other(e.0)
}

fn wasi_err(e: KvError) -> wasi_kv::Error {
    wasi_kv::Error::Other(e.0)
}

impl spin_kv::Host for HostState {}

impl spin_kv::HostStore for HostState {
    async fn open(&mut self, label: String) -> wasmtime::Result<Result<Resource<SpinStore>, spin_kv::Error>> {
        match self.open_store(&label) {
            Ok(store) => Ok(Ok(self.table.push(SpinStore(store))?)),
            Err(OpenError::AccessDenied) => Ok(Err(spin_kv::Error::AccessDenied)),
            Err(OpenError::NoSuchStore) => Ok(Err(spin_kv::Error::NoSuchStore)),
        }
    }

    async fn get(
        &mut self,
        this: Resource<SpinStore>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, spin_kv::Error>> {
        let store = self.table.get(&this)?.0.clone();
        Ok(store.get(&key).await.map_err(spin_err))
    }

    async fn set(
        &mut self,
        this: Resource<SpinStore>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), spin_kv::Error>> {
        let store = self.table.get(&this)?.0.clone();
        Ok(store.set(&key, &value).await.map_err(spin_err))
    }

    async fn delete(&mut self, this: Resource<SpinStore>, key: String) -> wasmtime::Result<Result<(), spin_kv::Error>> {
        let store = self.table.get(&this)?.0.clone();
        Ok(store.delete(&key).await.map_err(spin_err))
    }

    async fn exists(
        &mut self,
        this: Resource<SpinStore>,
        key: String,
    ) -> wasmtime::Result<Result<bool, spin_kv::Error>> {
        let store = self.table.get(&this)?.0.clone();
        Ok(store.exists(&key).await.map_err(spin_err))
    }

    async fn get_keys(&mut self, this: Resource<SpinStore>) -> wasmtime::Result<Result<Vec<String>, spin_kv::Error>> {
        let store = self.table.get(&this)?.0.clone();
        Ok(store.get_keys().await.map_err(spin_err))
    }

    async fn drop(&mut self, this: Resource<SpinStore>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

impl wasi_kv::Host for HostState {
    async fn open(&mut self, label: String) -> wasmtime::Result<Result<Resource<Bucket>, wasi_kv::Error>> {
        match self.open_store(&label) {
            Ok(store) => Ok(Ok(self.table.push(Bucket(store))?)),
            Err(OpenError::AccessDenied) => Ok(Err(wasi_kv::Error::AccessDenied)),
            Err(OpenError::NoSuchStore) => Ok(Err(wasi_kv::Error::NoSuchStore)),
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
        Ok(store.get(&key).await.map_err(wasi_err))
    }

    async fn set(
        &mut self,
        this: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), wasi_kv::Error>> {
        let store = self.table.get(&this)?.0.clone();
        Ok(store.set(&key, &value).await.map_err(wasi_err))
    }

    async fn delete(&mut self, this: Resource<Bucket>, key: String) -> wasmtime::Result<Result<(), wasi_kv::Error>> {
        let store = self.table.get(&this)?.0.clone();
        Ok(store.delete(&key).await.map_err(wasi_err))
    }

    async fn exists(&mut self, this: Resource<Bucket>, key: String) -> wasmtime::Result<Result<bool, wasi_kv::Error>> {
        let store = self.table.get(&this)?.0.clone();
        Ok(store.exists(&key).await.map_err(wasi_err))
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
        Ok(store.get_keys().await.map(|keys| wasi_kv::KeyResponse { keys, cursor: None }).map_err(wasi_err))
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
        Ok(store.increment(&key, delta).await.map_err(wasi_err))
    }

    async fn swap(
        &mut self,
        cas: Resource<CasHandle>,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), atomics::CasError>> {
        let CasHandle { store, state } = self.table.delete(cas)?;
        let key = state.key.clone();
        match store.cas_swap(state, &value).await {
            Ok(true) => Ok(Ok(())),
            Ok(false) => {
                // A fresh handle lets the guest read the new value and retry.
                let retry = self.table.push(CasHandle { store, state: CasState::new(key) })?;
                Ok(Err(atomics::CasError::CasFailed(retry)))
            }
            Err(e) => Ok(Err(atomics::CasError::StoreError(wasi_err(e)))),
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
        let handle = CasHandle { store, state: CasState::new(key) };
        Ok(Ok(self.table.push(handle)?))
    }

    async fn current(
        &mut self,
        this: Resource<CasHandle>,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, wasi_kv::Error>> {
        let handle = self.table.get_mut(&this)?;
        let store = handle.store.clone();
        Ok(store.cas_current(&mut handle.state).await.map_err(wasi_err))
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
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            match store.get(&key).await {
                Ok(v) => out.push((key, v)),
                Err(e) => return Ok(Err(wasi_err(e))),
            }
        }
        Ok(Ok(out))
    }

    async fn set_many(
        &mut self,
        bucket: Resource<Bucket>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> wasmtime::Result<Result<(), wasi_kv::Error>> {
        let store = self.table.get(&bucket)?.0.clone();
        for (key, value) in key_values {
            if let Err(e) = store.set(&key, &value).await {
                return Ok(Err(wasi_err(e)));
            }
        }
        Ok(Ok(()))
    }

    async fn delete_many(
        &mut self,
        bucket: Resource<Bucket>,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<(), wasi_kv::Error>> {
        let store = self.table.get(&bucket)?.0.clone();
        for key in keys {
            if let Err(e) = store.delete(&key).await {
                return Ok(Err(wasi_err(e)));
            }
        }
        Ok(Ok(()))
    }
}
