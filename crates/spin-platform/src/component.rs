//! A component's edge, the same for every component: read the request, open the ports, let
//! the library answer, write the answer to the log and the wire, then do the housekeeping the
//! request owes.

use platform::web::{Request, Response};
use platform::{Ports, Settings, StoreError, SystemClock};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};

use crate::{
    ComponentLog, SpinHttpClient, SpinSleep, SpinStore, SpinVariables, StdoutAudit, read_request, write_response,
};

/// What tells the components apart at the edge.
pub struct Component {
    /// The component's id in `spin.toml`: it names the component in the log and the audit trail.
    pub name: &'static str,
    /// The largest request body the component reads (a larger one is refused with 413).
    pub max_body_bytes: usize,
    /// Its answer when the key-value store cannot be opened.
    pub store_unavailable: fn(&Request, &StoreError) -> Response,
}

/// The ports of one request on Spin ([`Ports`]): the `default` store, opened once, and the
/// component's audit trail; the other ports have no state.
pub struct SpinPorts {
    store: SpinStore,
    audit: StdoutAudit,
    variables: SpinVariables,
}

impl SpinPorts {
    pub fn ports(&self) -> Ports<'_> {
        Ports {
            store: &self.store,
            clock: &SystemClock,
            http: &SpinHttpClient,
            sleep: &SpinSleep,
            audit: &self.audit,
            variables: &self.variables,
        }
    }
}

impl Component {
    /// The component's log ([`ComponentLog`]).
    pub fn log(&self) -> ComponentLog {
        ComponentLog::new(self.name)
    }

    /// The request as the libraries take it, with the shared settings (read here, once, from
    /// the request's `variables`) applied; or the 413/400 answer to a body that cannot be read.
    pub async fn read_request(
        &self,
        incoming: IncomingRequest,
        variables: &SpinVariables,
    ) -> Result<Request, Response> {
        let settings = Settings::from_variables(variables);
        read_request(incoming, self.max_body_bytes, &settings).await.map_err(|error| error.into_response())
    }

    /// Opens the request's ports (with the `variables` the request was read with); the
    /// component's answer when the store cannot be opened.
    pub fn open_ports(&self, request: &Request, variables: SpinVariables) -> Result<SpinPorts, Box<Response>> {
        match SpinStore::open_default() {
            Ok(store) => Ok(SpinPorts { store, audit: StdoutAudit::new(self.name), variables }),
            Err(error) => Err(Box::new((self.store_unavailable)(request, &error))),
        }
    }

    /// The housekeeping `ports`' request owes (`platform::housekeeping`): its share of the sweep,
    /// in proportion to what it stored, so a request that stored nothing (every `/mcp` call)
    /// costs nothing here. Run it once the response is out: the client has its answer, and a
    /// failure goes to the log (the next request's sweep takes the work up again).
    pub fn housekeeping(&self, ports: &SpinPorts) {
        if let Err(error) = platform::housekeeping::after_response(&ports.store, &SystemClock) {
            self.log().write(&format!("housekeeping after the response: {error}"));
        }
    }
}

/// Serves one request: reads it (answering 413/400 itself when the body is refused), opens the
/// ports, runs `respond`, writes the response's diagnostic to the log and the response (head and
/// body in one write on Spin, [`crate::response_body`]), and then runs the housekeeping. A Spin
/// guest may keep running after its response is complete, so that work costs the client nothing.
pub async fn serve<F>(component: &Component, incoming: IncomingRequest, out: ResponseOutparam, respond: F)
where
    F: AsyncFnOnce(Request, Ports<'_>) -> Response,
{
    let variables = SpinVariables::default();
    let request = match component.read_request(incoming, &variables).await {
        Ok(request) => request,
        Err(refused) => return write_response(refused, out).await,
    };
    let ports = match component.open_ports(&request, variables) {
        Ok(ports) => ports,
        Err(unavailable) => {
            component.log().response(&unavailable);
            return write_response(*unavailable, out).await;
        }
    };
    let response = respond(request, ports.ports()).await;
    component.log().response(&response);
    // `write_response` drops the body sink, which finishes the body, before it returns.
    write_response(response, out).await;
    component.housekeeping(&ports);
}
