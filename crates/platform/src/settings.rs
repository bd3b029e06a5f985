//! The settings every component shares: where this server lives (`public_base_url`) and which
//! request header a trusted reverse proxy names the client's address in (`client_addr_header`).
//!
//! They have this one owner and are read once per request, by the host adapter
//! (`spin-platform`), which applies them to the request it hands to the libraries
//! ([`Settings::apply`]): the libraries ask the request ([`crate::web::base_url`],
//! [`crate::web::client_ip`]) and never read these variables themselves.

use crate::Variables;
use crate::web::{PublicBaseUrl, Request, use_client_addr_header};

/// `public_base_url` and `client_addr_header`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// The public origin (`https://mcp.example.com`); unset, the server answers on loopback
    /// only ([`crate::web::base_url`]).
    pub public_base_url: Option<String>,
    /// The header a trusted reverse proxy puts the client's address in (`x-forwarded-for`);
    /// unset, no header is trusted.
    pub client_addr_header: Option<String>,
}

impl Settings {
    pub const PUBLIC_BASE_URL: &'static str = "public_base_url";
    pub const CLIENT_ADDR_HEADER: &'static str = "client_addr_header";

    /// Both, from the variables. A variable the host cannot read counts as unset, which trusts
    /// less: the server then answers on loopback only, and takes each caller's address from
    /// its connection.
    pub fn from_variables(vars: &dyn Variables) -> Self {
        let read = |name: &str| vars.get(name).ok().flatten();
        Self { public_base_url: read(Self::PUBLIC_BASE_URL), client_addr_header: read(Self::CLIENT_ADDR_HEADER) }
    }

    /// Applies them to `request`: the client's address from the trusted header, if any, and the
    /// configured public origin.
    pub fn apply(&self, request: &mut Request) {
        if let Some(header) = &self.client_addr_header {
            use_client_addr_header(request, header);
        }
        if let Some(base) = self.public_base_url.as_deref().map(str::trim).filter(|base| !base.is_empty()) {
            request.extensions_mut().insert(PublicBaseUrl(base.to_owned()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StaticVariables;
    use crate::web::{ClientAddr, base_url, client_ip};

    fn request() -> Request {
        let mut request = http::Request::get("http://evil.example/mcp")
            .header("x-forwarded-for", "198.51.100.7")
            .body(Vec::new())
            .unwrap();
        request.extensions_mut().insert(ClientAddr("192.0.2.1:4000".parse().unwrap()));
        request
    }

    #[test]
    fn applied_settings_decide_the_base_url_and_the_trusted_client_address() {
        let vars = StaticVariables::new([
            ("public_base_url", "https://mcp.example.com/"),
            ("client_addr_header", "X-Forwarded-For"),
        ]);
        let mut applied = request();
        Settings::from_variables(&vars).apply(&mut applied);
        assert_eq!(base_url(&applied).map(|base| base.url).as_deref(), Ok("https://mcp.example.com"));
        assert_eq!(client_ip(&applied), Some("198.51.100.7".parse().unwrap()));
    }

    #[test]
    fn without_them_the_request_alone_decides_and_trusts_no_header() {
        let mut applied = request();
        Settings::from_variables(&StaticVariables::default()).apply(&mut applied);
        assert!(base_url(&applied).is_err(), "a foreign origin from a remote peer");
        assert_eq!(client_ip(&applied), Some("192.0.2.1".parse().unwrap()));
    }
}
