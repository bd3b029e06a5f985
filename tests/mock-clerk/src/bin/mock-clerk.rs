//! Runs the mock Clerk on its own: `cargo run -p mock-clerk --bin mock-clerk -- [--port N] [--page]`.

#![allow(clippy::print_stdout, clippy::print_stderr, reason = "a command-line tool: what it prints is its interface")]

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port = args
        .iter()
        .position(|a| a == "--port")
        .and_then(|i| args.get(i + 1))
        .map(|p| p.parse())
        .transpose()?
        .unwrap_or(0);
    let page = args.iter().any(|a| a == "--page");
    let clerk = mock_clerk::MockClerk::start_with(mock_clerk::Options { port, page })?;
    println!("mock Clerk on {}", clerk.base_url());
    for (name, value) in clerk.variables() {
        println!("SPIN_VARIABLE_{}={value}", name.to_uppercase());
    }
    loop {
        std::thread::park();
    }
}
