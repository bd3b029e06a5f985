//! Outbound HTTPS with Spin's runtime config: `[[client_tls]]` decides which roots a component
//! trusts for a host, `[outbound_networking] block_networks` refuses resolved addresses.

use crate::common::{TestApp, fetch_via_guest, options, start};
use spin_local::{App, StateDir};
use spin_local_testing::{HttpsServer, TestResponse};

/// Answers `/doc` with JSON naming the `Host` header it got, `/moved` with a redirect.
fn document_server() -> HttpsServer {
    HttpsServer::start(document)
}

fn document(request: &spin_local_testing::TestRequest) -> TestResponse {
    match request.path.as_str() {
        "/doc" => TestResponse::json(format!("{{\"host\":\"{}\"}}", request.header("host").unwrap_or(""))),
        "/moved" => TestResponse::redirect(302, "https://localhost/elsewhere"),
        _ => TestResponse::new(404),
    }
}

/// The fixture app allowed to reach `allowed`, with `runtime_config` (written beside the test
/// CA, so `ca_roots_file = "ca.pem"` is relative to it) if given.
async fn app(server: &HttpsServer, allowed: &str, runtime_config: Option<&str>) -> TestApp {
    let rc = runtime_config.map(|text| crate::common::runtime_config(server.dir(), text));
    start(|o| {
        o.variables.push(("outbound_allowed".into(), allowed.to_string()));
        o.runtime_config_file = rc;
    })
    .await
}

const TRUST_TEST_CA: &str = "[[client_tls]]\ncomponent_ids = [\"outbound\"]\nhosts = [\"localhost\", \"127.0.0.1\"]\nca_roots_file = \"ca.pem\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_is_trusted_through_client_tls_ca_roots_file() {
    let server = document_server();
    let origin = format!("https://localhost:{}", server.port());
    let app = app(&server, &origin, Some(TRUST_TEST_CA)).await;

    let (status, body) = fetch_via_guest(&app, &server.url("/doc")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("status=200"), "{body}");
    assert!(body.contains(&format!("\"host\":\"localhost:{}\"", server.port())), "Host names the port: {body}");
    // Redirects reach the guest as they are: nothing follows them.
    let (status, body) = fetch_via_guest(&app, &server.url("/moved")).await;
    assert_eq!((status, body.lines().next()), (200, Some("status=302")), "{body}");
    assert_eq!(server.request_count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_client_tls_for_the_component_the_test_ca_is_not_trusted() {
    let server = document_server();
    let origin = format!("https://localhost:{}", server.port());
    let other_component = TRUST_TEST_CA.replace("[\"outbound\"]", "[\"echo-exact\"]");
    let webpki_only =
        "[[client_tls]]\ncomponent_ids = [\"outbound\"]\nhosts = [\"localhost\"]\nca_use_webpki_roots = true\n";
    for runtime_config in [None, Some(other_component.as_str()), Some(webpki_only)] {
        let app = app(&server, &origin, runtime_config).await;
        let (status, body) = fetch_via_guest(&app, &server.url("/doc")).await;
        assert_eq!(status, 502, "{runtime_config:?}: {body}");
        assert!(body.contains("TlsProtocolError"), "{runtime_config:?}: {body}");
    }
    assert_eq!(server.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_networks_private_refuses_a_name_resolving_to_loopback_and_ip_literals() {
    let server = document_server();
    let any_host = format!("https://*:{}", server.port());
    let config = format!("[outbound_networking]\nblock_networks = [\"private\"]\n{TRUST_TEST_CA}");
    let app = app(&server, &any_host, Some(&config)).await;
    for url in [server.url("/doc"), format!("https://127.0.0.1:{}/doc", server.port())] {
        let (status, body) = fetch_via_guest(&app, &url).await;
        assert_eq!(status, 502, "{url}: {body}");
        assert!(body.contains("DestinationIpProhibited"), "{url}: {body}");
    }
    assert_eq!(server.request_count(), 0, "no connection was made");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_networks_refuses_only_the_listed_networks() {
    let server = document_server();
    let any_host = format!("https://*:{}", server.port());
    let blocking = |networks: &str| format!("[outbound_networking]\nblock_networks = [{networks}]\n{TRUST_TEST_CA}");

    let app_allowed = app(&server, &any_host, Some(&blocking("\"10.0.0.0/8\", \"1.1.1.1/32\""))).await;
    let (status, body) = fetch_via_guest(&app_allowed, &format!("https://127.0.0.1:{}/doc", server.port())).await;
    assert_eq!((status, body.lines().next()), (200, Some("status=200")), "{body}");

    let app_blocked = app(&server, &any_host, Some(&blocking("\"127.0.0.0/8\""))).await;
    let (status, body) = fetch_via_guest(&app_blocked, &format!("https://127.0.0.1:{}/doc", server.port())).await;
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("DestinationIpProhibited"), "{body}");
    assert_eq!(server.request_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_presents_the_configured_client_certificate() {
    let server = HttpsServer::builder().require_client_cert().start(document);
    let (cert, key) = server.client_cert_files();
    let origin = format!("https://localhost:{}", server.port());
    let with_cert = format!(
        "{TRUST_TEST_CA}client_cert_file = \"{}\"\nclient_private_key_file = \"{}\"\n",
        cert.display(),
        key.display()
    );
    let app_with = app(&server, &origin, Some(&with_cert)).await;
    let (status, body) = fetch_via_guest(&app_with, &server.url("/doc")).await;
    assert_eq!((status, body.lines().next()), (200, Some("status=200")), "{body}");

    // Without one the server ends the handshake (under TLS 1.3 the client sees it on its first read).
    let app_without = app(&server, &origin, Some(TRUST_TEST_CA)).await;
    let (status, body) = fetch_via_guest(&app_without, &server.url("/doc")).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(server.request_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_config_errors_stop_the_app_with_spins_messages() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cases = [
        (
            "[outbound_networking]\nblock_networks = [\"localhost\"]\n",
            "invalid value: string \"localhost\", expected an IP network in CIDR notation or the keyword 'private'",
        ),
        ("[[client_tls]]\ncomponent_ids = [\"outbound\"]\nhosts = [\"h\"]\nca_roots_file = \"nope.pem\"\n", "nope.pem"),
        (
            "[[client_tls]]\ncomponent_ids = [\"outbound\"]\nhosts = [\"h\"]\nca_use_platform_roots = false\n",
            "at least one of 'use_platform_roots', 'use_webpki_roots', or 'root_certificates' must be set",
        ),
    ];
    for (text, expected) in cases {
        let mut opts = options(StateDir::None);
        opts.runtime_config_file = Some(crate::common::runtime_config(dir.path(), text));
        let Err(error) = App::load(crate::common::fixture_manifest(), opts).await else {
            panic!("{text}: the app started")
        };
        let message = error.to_string();
        assert!(message.contains("invalid runtime config") && message.contains(expected), "{text}: {message}");
    }
}
