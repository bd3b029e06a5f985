//! `Accept` headers (RFC 9110 §12.5.1): which media types a client takes. Every endpoint that
//! chooses or checks an answer's type reads them here.

use mediatype::{MediaType, MediaTypeList, ReadParams, names};

use crate::web::Request;

/// The media ranges of a request's `Accept` headers, in order. Ranges that do not parse are
/// passed over.
pub struct Accept<'a> {
    /// Whether the request sent any `Accept` header at all.
    sent: bool,
    /// The headers' values, as sent; parsed into ranges only when a decision needs them.
    values: Vec<&'a str>,
}

impl<'a> Accept<'a> {
    /// The ranges of every `Accept` header of `request`.
    pub fn of(request: &'a Request) -> Self {
        let values: Vec<&str> = request.headers().get_all("accept").iter().filter_map(|v| v.to_str().ok()).collect();
        Self { sent: !values.is_empty(), values }
    }

    /// True when the client accepts `wanted`: a range names it, its `type/*` or `*/*`, with
    /// q > 0. No `Accept` at all means anything.
    pub fn accepts(&self, wanted: &str) -> bool {
        if !self.sent {
            return true;
        }
        self.plainly_lists(wanted) || self.ranges_accept(wanted)
    }

    /// [`Self::accepts`] read from the parsed ranges alone.
    fn ranges_accept(&self, wanted: &str) -> bool {
        let Ok(wanted) = MediaType::parse(wanted) else { return false };
        self.ranges().any(|range| covers(&range, &wanted) && !refused(&range))
    }

    /// The parsed media ranges, in order; those that do not parse are passed over.
    fn ranges(&self) -> impl Iterator<Item = MediaType<'a>> + '_ {
        self.values.iter().flat_map(|value| MediaTypeList::new(value)).filter_map(Result::ok)
    }

    /// True when no `Accept` value has a parameter (so no `q`, and no quoting) and one of its
    /// items is `wanted`, its `type/*` or `*/*`: what MCP clients send
    /// (`application/json, text/event-stream`), decided without parsing media types. Anything
    /// else is left to the parsed ranges.
    fn plainly_lists(&self, wanted: &str) -> bool {
        let Some((ty, _)) = wanted.split_once('/') else { return false };
        self.values.iter().all(|value| !value.contains([';', '"']))
            && self.values.iter().flat_map(|value| value.split(',')).map(|item| item.trim_matches([' ', '\t'])).any(
                |item| {
                    item.eq_ignore_ascii_case(wanted)
                        || item == "*/*"
                        || item.strip_suffix("/*").is_some_and(|range| range.eq_ignore_ascii_case(ty))
                },
            )
    }

    /// True when a range names `wanted` itself (no wildcard), with q > 0: what a client asks
    /// for on purpose, as a script's `Accept: application/json` does and a browser's never does.
    pub fn names(&self, wanted: &str) -> bool {
        let Ok(wanted) = MediaType::parse(wanted) else { return false };
        self.ranges().any(|range| same_type(&range, &wanted) && !refused(&range))
    }
}

/// `range` (`*/*`, `type/*` or `type/subtype`) includes `wanted`.
fn covers(range: &MediaType<'_>, wanted: &MediaType<'_>) -> bool {
    match (range.ty == names::_STAR, range.subty == names::_STAR) {
        (true, true) => true,
        (false, true) => range.ty == wanted.ty,
        _ => same_type(range, wanted),
    }
}

fn same_type(range: &MediaType<'_>, wanted: &MediaType<'_>) -> bool {
    range.ty == wanted.ty && range.subty == wanted.subty && range.suffix == wanted.suffix
}

/// The range says `q=0` ("not acceptable"). A qvalue is `0`, `0.` and up to three digits, or
/// `1` likewise (RFC 9110 §12.4.2), so it is zero when it is `0` followed only by zeros; read
/// as text, this needs no float parsing in the component.
fn refused(range: &MediaType<'_>) -> bool {
    let Some(q) = range.get_param(names::Q) else { return false };
    let rest = q.as_str().strip_prefix('0');
    rest.is_some_and(|rest| rest.is_empty() || rest.strip_prefix('.').is_some_and(|d| d.bytes().all(|b| b == b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(headers: &[(&str, &str)]) -> Request {
        let mut builder = http::Request::post("/mcp");
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(Vec::new()).unwrap()
    }

    fn accepts(request: &Request, wanted: &str) -> bool {
        Accept::of(request).accepts(wanted)
    }

    #[test]
    fn accept_rules() {
        assert!(accepts(&with(&[]), "application/json"));
        assert!(accepts(&with(&[("accept", "application/json, text/event-stream")]), "application/json"));
        assert!(accepts(&with(&[("accept", "*/*")]), "application/json"));
        assert!(accepts(&with(&[("accept", "application/*;q=0.5")]), "application/json"));
        assert!(!accepts(&with(&[("accept", "text/event-stream")]), "application/json"));
        assert!(!accepts(&with(&[("accept", "text/html")]), "application/json"));
        assert!(!accepts(&with(&[("accept", "application/json;q=0")]), "application/json"));
    }

    #[test]
    fn accept_ranges_parse_like_http_says() {
        assert!(accepts(&with(&[("accept", "Application/JSON")]), "application/json"));
        assert!(accepts(&with(&[("accept", "text/html, application/json ; q=0.5")]), "application/json"));
        assert!(accepts(&with(&[("accept", "text/html"), ("accept", "application/json")]), "application/json"));
        assert!(accepts(&with(&[("accept", "text/x; a=\"b,application/json\", */*")]), "application/json"));
        assert!(!accepts(&with(&[("accept", "text/x; a=\"b,application/json\"")]), "application/json"));
        assert!(!accepts(&with(&[("accept", "application/json;q=0.000, text/*")]), "application/json"));
        assert!(!accepts(&with(&[("accept", "application/vnd.api+json")]), "application/json"));
        assert!(!accepts(&with(&[("accept", "not a media range")]), "application/json"));
    }

    #[test]
    fn a_plain_list_is_decided_without_parsing_and_never_against_the_parsed_ranges() {
        let headers = [
            "application/json, text/event-stream",
            "text/event-stream,application/json",
            "APPLICATION/JSON",
            "application/*",
            "*/*",
            "text/html, */*",
            "application/jsonx",
            "application/json;q=0",
            "text/x; a=\"b,application/json\"",
            "application/vnd.api+json",
            "text/event-stream",
            "json",
        ];
        for header in headers {
            let request = with(&[("accept", header)]);
            let accept = Accept::of(&request);
            for wanted in ["application/json", "text/event-stream", "text/html"] {
                if accept.plainly_lists(wanted) {
                    assert!(accept.ranges_accept(wanted), "{header} for {wanted}");
                }
                assert_eq!(accept.accepts(wanted), accept.ranges_accept(wanted), "{header} for {wanted}");
            }
        }
        let mcp_client = with(&[("accept", "application/json, text/event-stream")]);
        assert!(Accept::of(&mcp_client).plainly_lists("application/json"));
    }

    #[test]
    fn a_type_is_named_only_without_wildcards_and_with_q_above_zero() {
        let named = |value: &str| Accept::of(&with(&[("accept", value)])).names("application/json");
        assert!(named("application/json"));
        assert!(named("text/html;q=0.9, Application/JSON;q=0.5"));
        assert!(!named("*/*"));
        assert!(!named("application/*"));
        assert!(!named("application/json;q=0"));
        assert!(!Accept::of(&with(&[])).names("application/json"), "no Accept names nothing");
    }
}
