//! Loading an app: manifest, variables, stores, components; then [`App::start`] serves it.

use crate::component::{ComponentInfo, LoadedComponent};
use crate::engine::{build_engine, default_cache_dir, load_component};
use crate::error::{Chain, Error};
use crate::host::stdio::ComponentOutput;
use crate::kv::{RedisMode, RedisStore, SqliteDb, SqliteStore, Store, Stores};
use crate::manifest::{ComponentDef, Manifest, RouteDef, SourceDef};
use crate::outbound::AppNetwork;
use crate::outbound::{AllowedHost, AllowedHosts, Entry, parse_entries};
use crate::runtime_config::{OutboundNetworking, RuntimeConfig, StoreConfig};
use crate::trigger::routing::{Route, Router};
use crate::variables::{Resolver, Template, VariableSources};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::Engine;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

/// Where Spin's state (logs, the default SQLite store) lives.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum StateDir {
    /// `.spin/` beside `spin.toml` (Spin's default).
    #[default]
    Default,
    /// `--state-dir DIR`.
    Path(PathBuf),
    /// `--state-dir ""`: no state on disk; the default store is in memory (Spin's meaning).
    None,
}

/// How to load an app. `Default` is what `spin up` does without flags.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// `--variable k=v` values (highest precedence); undeclared names are ignored, like Spin.
    pub variables: Vec<(String, String)>,
    /// Read `SPIN_VARIABLE_<NAME>` from the environment (Spin always does; tests may not want to).
    pub env_variables: bool,
    /// The `.env` file to read (Spin: `.env` in the working directory); `None` for none.
    pub dotenv_path: Option<PathBuf>,
    /// `--runtime-config-file`.
    pub runtime_config_file: Option<PathBuf>,
    pub state_dir: StateDir,
    /// Compiled-component cache; `None` = [`default_cache_dir`].
    pub cache_dir: Option<PathBuf>,
    /// One line per request on stderr (env `SPIN_LOCAL_QUIET=1` turns it off too).
    pub log_requests: bool,
    /// Also copy each component's stdout and stderr onto the runtime's stderr, as `spin up`
    /// does unless `--quiet`. Either way they are appended to `<state-dir>/logs/<component>_stdout.txt`
    /// and `..._stderr.txt` (without a state dir they always go to the runtime's stderr).
    pub follow_component_output: bool,
    /// Instances that may run at once; more requests wait for a free slot.
    pub max_instances: u32,
    /// Linear memory limit of one instance.
    pub max_memory: usize,
    /// A guest that runs this long without waiting on I/O is trapped (-> 500).
    pub guest_time_limit: Duration,
    /// How `type = "redis"` stores do compare-and-swap and `get-many`: like Spin 4.1 (the
    /// default: `swap` always reports `cas-failed`) or correctly. `spin-local up --redis-mode`.
    pub redis_mode: RedisMode,
    /// Set `TCP_NODELAY` on accepted connections. Off, like Spin: a response head flushed
    /// before its body then waits ~40 ms for the client's delayed ACK, as it does on Spin.
    pub tcp_nodelay: bool,
    /// Deadlines and caps for slow clients (spin-local's own; Spin has none).
    pub limits: crate::trigger::limits::Limits,
}

impl Default for AppOptions {
    fn default() -> Self {
        Self {
            variables: Vec::new(),
            env_variables: true,
            dotenv_path: Some(PathBuf::from(".env")),
            runtime_config_file: None,
            state_dir: StateDir::Default,
            cache_dir: None,
            log_requests: std::env::var("SPIN_LOCAL_QUIET").map_or(true, |v| v.is_empty() || v == "0"),
            follow_component_output: true,
            max_instances: 256,
            max_memory: 256 << 20,
            guest_time_limit: Duration::from_secs(30),
            redis_mode: RedisMode::default(),
            tcp_nodelay: false,
            limits: crate::trigger::limits::Limits::default(),
        }
    }
}

/// A loaded app, ready to [`start`](App::start).
pub struct App {
    pub(crate) name: String,
    pub(crate) engine: Engine,
    pub(crate) router: Router,
    pub(crate) components: HashMap<String, LoadedComponent>,
    pub(crate) options: AppOptions,
    pub(crate) state_dir: Option<PathBuf>,
}

impl App {
    /// Loads `manifest` (a `spin.toml` or the directory holding it) the way `spin up` does:
    /// checks required variables, opens the stores, compiles (or loads cached) components.
    pub async fn load(manifest: impl AsRef<Path>, options: AppOptions) -> Result<App, Error> {
        let manifest_path = manifest_file(manifest.as_ref());
        let manifest = Manifest::load(&manifest_path)?;
        // What released Spin refuses at load (its allow-list check) is refused here too.
        crate::outbound::load_check::check(&manifest, &manifest_path)?;
        let base = manifest_path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let resolver = Arc::new(build_resolver(&manifest, &options)?);
        resolver.check_required()?;
        let state_dir = prepare_state_dir(&base, &options.state_dir)?;
        let runtime_config = match &options.runtime_config_file {
            Some(path) => RuntimeConfig::load(path)?,
            None => RuntimeConfig::default(),
        };
        let network = app_network(runtime_config.outbound, options.runtime_config_file.as_deref())?;
        let stores = open_stores(runtime_config.key_value_stores, &options, state_dir.as_deref()).await?;
        let engine = build_engine(options.max_instances, options.max_memory)?;
        let log_dir = state_dir.as_ref().map(|dir| dir.join("logs"));
        let host = HostParts { resolver: &resolver, stores: &stores, network: &network, log_dir: log_dir.as_deref() };
        let components = load_components(&manifest, &base, &engine, &options, &host)?;
        let router = build_router(&manifest, &manifest_path)?;
        Ok(App { name: manifest.application.name.clone(), engine, router, components, options, state_dir })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The state directory in use (`None` with `--state-dir ""`).
    pub fn state_dir(&self) -> Option<&Path> {
        self.state_dir.as_deref()
    }

    /// `(component, route as written)` in manifest order, for the start-up listing.
    pub fn routes(&self) -> Vec<(String, String)> {
        self.router.routes().iter().map(|r| (r.component.clone(), r.raw.clone())).collect()
    }
}

/// What `spin up` prints after "Serving ...": one line per `(component, route)`.
pub fn routes_listing(routes: &[(String, String)], base_url: &str) -> String {
    let mut out = String::from("Available Routes:\n");
    for (component, raw) in routes {
        let (path, suffix) = match raw.strip_suffix("/...") {
            Some(prefix) => (prefix, " (wildcard)"),
            None => (raw.as_str(), ""),
        };
        let base = base_url.trim_end_matches('/');
        out.push_str(&format!("  {component}: {base}{path}{suffix}\n"));
    }
    out
}

fn manifest_file(path: &Path) -> PathBuf {
    if path.is_dir() { path.join("spin.toml") } else { path.to_path_buf() }
}

fn build_resolver(manifest: &Manifest, options: &AppOptions) -> Result<Resolver, Error> {
    let dotenv = match &options.dotenv_path {
        Some(p) => VariableSources::read_dotenv(p)?,
        None => HashMap::new(),
    };
    let sources = VariableSources {
        explicit: options.variables.iter().cloned().collect(),
        use_env: options.env_variables,
        dotenv,
    };
    Ok(Resolver::new(manifest.variables.clone(), sources))
}

/// Creates the state dir with `logs/` in it, as Spin does.
fn prepare_state_dir(base: &Path, state: &StateDir) -> Result<Option<PathBuf>, Error> {
    let dir = match state {
        StateDir::Default => base.join(".spin"),
        StateDir::Path(p) => p.clone(),
        StateDir::None => return Ok(None),
    };
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).map_err(|source| Error::Read { path: logs, source })?;
    Ok(Some(dir))
}

/// The TLS configurations are built at start-up, so a `[[client_tls]]` Spin would refuse
/// stops the app here, as in Spin.
fn app_network(config: OutboundNetworking, path: Option<&Path>) -> Result<AppNetwork, Error> {
    AppNetwork::new(config)
        .map_err(|message| Error::RuntimeConfig { path: path.map(Path::to_path_buf).unwrap_or_default(), message })
}

/// Stores from the runtime config; `default` falls back to `<state-dir>/sqlite_key_value.db`,
/// or memory without a state dir.
async fn open_stores(
    mut configs: BTreeMap<String, StoreConfig>,
    options: &AppOptions,
    state_dir: Option<&Path>,
) -> Result<Stores, Error> {
    configs.entry("default".to_string()).or_insert_with(|| match state_dir {
        Some(dir) => StoreConfig::Sqlite(dir.join("sqlite_key_value.db")),
        None => StoreConfig::Memory,
    });
    let mut sqlite_files: HashMap<PathBuf, SqliteDb> = HashMap::new();
    let mut by_label = HashMap::new();
    for (label, config) in configs {
        let kv_err = |message: String| Error::KeyValue { label: label.clone(), message };
        let store = match config {
            StoreConfig::Memory => {
                Store::new(SqliteDb::open_in_memory().map_err(|e| kv_err(e.to_string()))?.store(&label))
            }
            StoreConfig::Redis(url) => {
                Store::new(RedisStore::open(&url, options.redis_mode).map_err(|e| kv_err(e.to_string()))?)
            }
            StoreConfig::Sqlite(path) => Store::new(sqlite_store(&mut sqlite_files, &path, &label).map_err(kv_err)?),
        };
        by_label.insert(label, store);
    }
    Ok(Stores::new(by_label))
}

/// Labels in one SQLite file share its connection (one table keyed by label and key).
fn sqlite_store(files: &mut HashMap<PathBuf, SqliteDb>, path: &Path, label: &str) -> Result<SqliteStore, String> {
    if let Some(db) = files.get(path) {
        return Ok(db.store(label));
    }
    let db = SqliteDb::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let store = db.store(label);
    files.insert(path.to_path_buf(), db);
    Ok(store)
}

/// What every component's host interfaces share.
struct HostParts<'a> {
    resolver: &'a Arc<Resolver>,
    stores: &'a Stores,
    network: &'a AppNetwork,
    /// `<state-dir>/logs`, where components' stdout and stderr are kept.
    log_dir: Option<&'a Path>,
}

fn load_components(
    manifest: &Manifest,
    base: &Path,
    engine: &Engine,
    options: &AppOptions,
    host: &HostParts<'_>,
) -> Result<HashMap<String, LoadedComponent>, Error> {
    let linker = crate::host::linker(engine).map_err(|e| Error::Engine(e.to_string()))?;
    let cache_dir = options.cache_dir.clone().unwrap_or_else(default_cache_dir);
    let mut compiled: HashMap<PathBuf, wasmtime::component::Component> = HashMap::new();
    let mut out = HashMap::new();
    for (id, def) in &manifest.component {
        let component_err = |message: String| Error::Component { component: id.clone(), message };
        let info = component_info(id, def, host, options.follow_component_output)?;
        let source = source_path(id, def, base)?;
        let component = match compiled.get(&source) {
            Some(c) => c.clone(),
            None => {
                let c = load_component(engine, &source, &cache_dir).map_err(component_err)?;
                compiled.insert(source.clone(), c.clone());
                c
            }
        };
        let pre =
            linker.instantiate_pre(&component).and_then(ProxyPre::new).map_err(|e| component_err(format!("{e:#}")))?;
        out.insert(id.clone(), LoadedComponent { info: Arc::new(info), pre });
    }
    Ok(out)
}

fn source_path(id: &str, def: &ComponentDef, base: &Path) -> Result<PathBuf, Error> {
    let SourceDef::Path(rel) = &def.source else {
        return Err(Error::Component {
            component: id.to_string(),
            message: "remote (`url`) sources are not supported by spin-local".into(),
        });
    };
    let path = base.join(rel);
    if !path.is_file() {
        return Err(Error::MissingSource { component: id.to_string(), path, build: def.build_hint() });
    }
    Ok(path)
}

fn component_info(id: &str, def: &ComponentDef, host: &HostParts<'_>, follow: bool) -> Result<ComponentInfo, Error> {
    let HostParts { resolver, stores, network, log_dir } = host;
    for label in &def.key_value_stores {
        if !stores.contains(label) {
            return Err(Error::Component {
                component: id.to_string(),
                message: format!("key_value_stores: unknown store `{label}` (define it in the runtime config file)"),
            });
        }
    }
    Ok(ComponentInfo {
        id: id.to_string(),
        key_value_stores: def.key_value_stores.clone(),
        variables: component_variables(id, def, resolver)?,
        environment: def.environment.clone(),
        allowed_hosts: allowed_hosts(id, def, resolver),
        network: network.for_component(id),
        resolver: Arc::clone(resolver),
        stores: (*stores).clone(),
        output: ComponentOutput::open(*log_dir, id, follow)
            .map_err(|source| Error::Read { path: log_dir.map(Path::to_path_buf).unwrap_or_default(), source })?,
    })
}

/// Parses component variables; each template may only name declared application variables.
fn component_variables(id: &str, def: &ComponentDef, resolver: &Resolver) -> Result<BTreeMap<String, Template>, Error> {
    let mut out = BTreeMap::new();
    for (name, text) in &def.variables {
        let template =
            Template::parse(text).map_err(|e| Error::Variable(format!("component `{id}`, variable `{name}`: {e}")))?;
        if let Some(unknown) = template.variables().find(|v| !resolver.is_declared(v)) {
            return Err(Error::Variable(format!(
                "component `{id}`, variable `{name}` refers to undeclared application variable `{unknown}`"
            )));
        }
        out.insert(name.clone(), template);
    }
    Ok(out)
}

/// The allow-list with the variables' values, as released Spin builds it at run time: every
/// template rendered and parsed. If one entry is invalid (an empty value included), the whole
/// list is: Spin then denies every outbound request of the component, and so does spin-local,
/// saying so once at start-up instead of on each request.
fn allowed_hosts(id: &str, def: &ComponentDef, resolver: &Resolver) -> AllowedHosts {
    let resolved = parse_entries(&def.allowed_outbound_hosts).and_then(|entries| {
        entries
            .into_iter()
            .map(|entry| match entry {
                Entry::Exact(host) => Ok(host),
                Entry::Template(template) => {
                    let value = resolver
                        .render(&template)
                        .map_err(|missing| Chain::new(format!("no provider resolved required variable {missing:?}")))?;
                    AllowedHost::parse(&value)
                }
            })
            .collect::<Result<Vec<_>, Chain>>()
    });
    match resolved {
        Ok(hosts) => AllowedHosts::new(hosts),
        Err(cause) => {
            eprintln!(
                "spin-local: warning: component `{id}`: allowed_outbound_hosts is invalid with the variables' \
                 values ({}); like Spin, every outbound request of this component will be denied",
                cause.messages().join(": ")
            );
            AllowedHosts::deny_all()
        }
    }
}

fn build_router(manifest: &Manifest, path: &Path) -> Result<Router, Error> {
    let mut routes = Vec::new();
    for (index, trigger) in manifest.trigger.http.iter().enumerate() {
        match &trigger.route {
            RouteDef::Path(raw) => {
                routes.push(Route::parse(raw, &trigger.component, index).map_err(|e| Error::manifest(path, e))?)
            }
            RouteDef::Private { private: true } => {}
            RouteDef::Private { private: false } => {
                return Err(Error::manifest(path, "`route = { private = false }` is not valid"));
            }
        }
    }
    let router = Router::new(routes);
    for dup in router.duplicates() {
        eprintln!(
            "spin-local: warning: route `{}` of component `{}` is a duplicate and will never be used",
            dup.raw, dup.component
        );
    }
    Ok(router)
}
