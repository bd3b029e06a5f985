//! Component variables: templates over application variables, present and missing.

use crate::common::{get, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn component_variables_render_application_variables() {
    let app = start(|o| o.variables.push(("greeting".into(), "hi".into()))).await;
    assert_eq!(get(&format!("{}/vars/greeting", app.url)).await, (200, "hi, world".into()));
    assert_eq!(get(&format!("{}/vars/secret", app.url)).await, (200, "s3cret".into()));
    assert_eq!(get(&format!("{}/vars/literal", app.url)).await, (200, "plain".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defaults_apply_and_undeclared_variables_are_ignored() {
    let app = start(|o| o.variables.push(("not_declared".into(), "x".into()))).await;
    assert_eq!(get(&format!("{}/vars/greeting", app.url)).await, (200, "hello, world".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_and_invalid_variable_names_are_guest_errors() {
    let app = start(|_| {}).await;
    let (status, body) = get(&format!("{}/vars/nope", app.url)).await;
    assert_eq!(status, 404, "{body}");
    assert!(body.starts_with("undefined"), "{body}");
    // A component sees only its own variables, not the application's.
    let (status, _) = get(&format!("{}/vars/outbound_allowed", app.url)).await;
    assert_eq!(status, 404);
    let (status, body) = get(&format!("{}/vars/Bad-Name", app.url)).await;
    assert_eq!(status, 400, "{body}");
}
