//! `GET /sse`: a streamed response that polls the session mailbox until the stream's time is
//! up or the client goes away, then deletes the session. After its first event, and again when
//! it ends, the stream runs the housekeeping it owes (its share of the sweep).

use mcp_server::Services;
use mcp_server::sse::{OpenedStream, SseStream};
use platform::SystemClock;
use spin_platform::{BodyWriter, SpinHttpClient, SpinStore, sleep};
use spin_sdk::http::{IncomingRequest, OutgoingResponse, ResponseOutparam};
use std::time::Instant;

pub async fn run(incoming: IncomingRequest, out: ResponseOutparam) {
    let request = match spin_platform::read_request(incoming, mcp_server::MAX_BODY_BYTES).await {
        Ok(request) => request,
        Err(error) => return spin_platform::write_response(error.into_response(), out).await,
    };
    let (store, config) = match crate::environment() {
        Ok(environment) => environment,
        Err(response) => {
            spin_platform::log_diagnostic(crate::COMPONENT, &response);
            return spin_platform::write_response(*response, out).await;
        }
    };
    let services =
        Services { store: &store, clock: &SystemClock, http: SpinHttpClient, config: &config, audit: &crate::AUDIT };
    match mcp_server::sse::open_stream(&request, &services) {
        Ok(opened) => stream(opened, &store, out).await,
        Err(response) => {
            spin_platform::log_diagnostic(crate::COMPONENT, &response);
            spin_platform::write_response(*response, out).await;
            spin_platform::run_housekeeping(crate::COMPONENT, &store);
        }
    }
}

async fn stream(opened: OpenedStream, store: &SpinStore, out: ResponseOutparam) {
    let OpenedStream { head, first_event, mut stream } = opened;
    let outgoing = OutgoingResponse::new(spin_platform::fields(head.headers()));
    let _ = outgoing.set_status_code(head.status().as_u16());
    let started = Instant::now();
    // The first event (`endpoint`) goes out with the head, in one write.
    if let Some(mut body) = spin_platform::start_streaming(outgoing, out, first_event.as_bytes()).await {
        // Off the response's path: the first event is out. Its failure is not this client's problem.
        spin_platform::run_housekeeping(crate::COMPONENT, store);
        pump(&mut stream, store, &mut body, started).await;
    }
    stream.close(store, &SystemClock);
    spin_platform::run_housekeeping(crate::COMPONENT, store);
}

/// Polls and writes until the stream is finished or the client left: noticed at the first
/// poll after its connection closed (at most the idle poll interval, half a second), not at
/// the next write, so its place in the stream caps is free within a second.
async fn pump(stream: &mut SseStream, store: &SpinStore, body: &mut BodyWriter, started: Instant) {
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
