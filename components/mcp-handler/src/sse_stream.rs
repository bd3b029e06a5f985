//! `GET /sse`: a streamed response that polls the session mailbox until the stream's time is
//! up or the client goes away, then deletes the session. After its first event, and again when
//! it ends, the stream runs the housekeeping it owes (its share of the sweep).

use mcp_server::sse::{OpenedStream, SseStream};
use mcp_server::{Services, Settings};
use platform::{KeyValueStore, SystemClock};
use spin_platform::{BodyWriter, Component, SpinPorts, SpinVariables, sleep};
use spin_sdk::http::{IncomingRequest, OutgoingResponse, ResponseOutparam};
use std::time::Instant;

pub async fn run(component: &Component, incoming: IncomingRequest, out: ResponseOutparam) {
    let variables = SpinVariables::default();
    let request = match component.read_request(incoming, &variables).await {
        Ok(request) => request,
        Err(refused) => return spin_platform::write_response(refused, out).await,
    };
    let spin_ports = match component.open_ports(&request, variables) {
        Ok(ports) => ports,
        Err(unavailable) => {
            component.log().response(&unavailable);
            return spin_platform::write_response(*unavailable, out).await;
        }
    };
    let ports = spin_ports.ports();
    let opened = match Settings::from_variables(ports.variables) {
        Ok(settings) => mcp_server::sse::open_stream(&request, &Services { ports, settings: &settings }),
        Err(error) => Err(Box::new(mcp_server::transport::config_error(&error))),
    };
    match opened {
        Ok(opened) => stream(component, opened, &spin_ports, out).await,
        Err(response) => {
            component.log().response(&response);
            spin_platform::write_response(*response, out).await;
            component.housekeeping(&spin_ports);
        }
    }
}

async fn stream(component: &Component, opened: OpenedStream, ports: &SpinPorts, out: ResponseOutparam) {
    let OpenedStream { head, first_event, mut stream } = opened;
    let store = ports.ports().store;
    let outgoing = OutgoingResponse::new(spin_platform::fields(head.headers()));
    let _ = outgoing.set_status_code(head.status().as_u16());
    let started = Instant::now();
    // The first event (`endpoint`) goes out with the head, in one write.
    if let Some(mut body) = spin_platform::start_streaming(outgoing, out, first_event.as_bytes()).await {
        // Off the response's path: the first event is out. Its failure is not this client's problem.
        component.housekeeping(ports);
        pump(&mut stream, store, &mut body, started).await;
    }
    stream.close(store, &SystemClock);
    component.housekeeping(ports);
}

/// Polls and writes until the stream is finished or the client left: noticed at the first
/// poll after its connection closed (at most the idle poll interval, half a second), not at
/// the next write, so its place in the stream caps is free within a second.
async fn pump(stream: &mut SseStream, store: &dyn KeyValueStore, body: &mut BodyWriter, started: Instant) {
    loop {
        sleep(stream.poll_interval()).await;
        if body.client_gone() {
            return;
        }
        let poll = stream.poll(store, &SystemClock, started.elapsed());
        for chunk in poll.chunks {
            if body.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
        }
        if poll.finished {
            return;
        }
    }
}
