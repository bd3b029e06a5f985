//! What a guest instance can reach: WASI 0.2 and wasi:http (wasmtime-wasi, wasmtime-wasi-http),
//! plus the Spin interfaces in `/wit` (key-value, variables, wasi:keyvalue).

pub mod component_info;
pub mod http;
pub mod keyvalue;
pub mod stdio;
pub mod variables;

use crate::host::component_info::ComponentInfo;
use std::sync::Arc;
use std::time::Instant;
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, StoreLimits};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// Bindings for the Spin host interfaces (`wit/world.wit`).
pub(crate) mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "spin-local:host/runtime",
        imports: { default: async | trappable },
        require_store_data_send: true,
        with: {
            "fermyon:spin/key-value.store": super::keyvalue::SpinStore,
            "wasi:keyvalue/store.bucket": super::keyvalue::Bucket,
            "wasi:keyvalue/atomics.cas": super::keyvalue::CasHandle,
        },
    });
}

/// The data of one request's `Store`: a fresh one per request, like Spin's instances.
pub struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: http::OutboundHooks,
    pub(crate) component: Arc<ComponentInfo>,
    pub(crate) limits: StoreLimits,
    /// For the epoch callback: how long the guest has been running without a break.
    pub(crate) busy: BusyClock,
}

impl HostState {
    pub(crate) fn new(component: Arc<ComponentInfo>, limits: StoreLimits) -> Self {
        let mut wasi = WasiCtx::builder();
        wasi.stdout(component.output.stdout.clone()).stderr(component.output.stderr.clone());
        for (k, v) in &component.environment {
            wasi.env(k, v);
        }
        Self {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: http::OutboundHooks::new(component.clone()),
            component,
            limits,
            busy: BusyClock::default(),
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}

/// Tracks continuous guest execution between epoch ticks, so that a guest that waits on I/O
/// (a long SSE stream) is not mistaken for a runaway loop.
#[derive(Debug, Default)]
pub(crate) struct BusyClock {
    last_tick: Option<Instant>,
    streak_start: Option<Instant>,
}

impl BusyClock {
    /// Called on each epoch deadline while the guest runs; returns how long it has been busy.
    pub(crate) fn tick(&mut self, tick: std::time::Duration) -> std::time::Duration {
        let now = Instant::now();
        let continuous = self.last_tick.is_some_and(|last| now.duration_since(last) < tick * 5);
        if !continuous {
            self.streak_start = Some(now);
        }
        self.last_tick = Some(now);
        self.streak_start.map(|s| now.duration_since(s)).unwrap_or_default()
    }
}

/// A linker with every interface spin-local provides.
pub(crate) fn linker(engine: &Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    bindings::Runtime::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s)?;
    Ok(linker)
}
