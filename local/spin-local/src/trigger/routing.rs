//! Spin's HTTP routing: exact routes beat wildcards, the longest wildcard prefix wins, `/...`
//! also matches the bare prefix, `:name` matches one segment, and a duplicate route's last
//! declaration wins. One trailing slash of a route (and of a request to an exact route) is
//! ignored; a wildcard keeps the request's trailing slash in `spin-path-info`.

/// The runtime's reserved prefix; the app never sees these requests.
pub const WELL_KNOWN_PREFIX: &str = "/.well-known/spin/";

#[derive(Debug, Clone)]
pub struct Route {
    /// The route as written in the manifest, e.g. `/sse/...`.
    pub raw: String,
    pub component: String,
    wildcard: bool,
    segments: Vec<Segment>,
    index: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Literal(String),
    Param(String),
}

/// What a request matched, with the values for Spin's headers.
#[derive(Debug, Clone)]
pub struct RouteMatch<'a> {
    pub route: &'a Route,
    pub path_info: String,
    pub params: Vec<(String, String)>,
}

impl Route {
    pub fn parse(raw: &str, component: &str, index: usize) -> Result<Self, String> {
        if !raw.starts_with('/') {
            return Err(format!("route `{raw}` must start with `/`"));
        }
        let (prefix, wildcard) = match raw.strip_suffix("/...") {
            Some(p) => (p, true),
            None => (raw, false),
        };
        if prefix.contains("...") {
            return Err(format!("route `{raw}`: `...` may only end a route"));
        }
        let trimmed = prefix.strip_suffix('/').unwrap_or(prefix);
        let segments =
            if trimmed.is_empty() { Vec::new() } else { trimmed[1..].split('/').map(Segment::parse).collect() };
        Ok(Self { raw: raw.to_string(), component: component.to_string(), wildcard, segments, index })
    }

    pub fn is_wildcard(&self) -> bool {
        self.wildcard
    }

    /// The route without the `/...` marker (`spin-component-route`).
    pub fn component_route(&self) -> &str {
        self.raw.strip_suffix("/...").unwrap_or(&self.raw)
    }

    /// Matches `path` (which starts with `/`), giving the path info and `:name` captures.
    fn matches(&self, path: &str) -> Option<(String, Vec<(String, String)>)> {
        let path = if self.wildcard { path } else { strip_one_slash(path) };
        let request: Vec<&str> = if path == "/" { Vec::new() } else { path[1..].split('/').collect() };
        let enough =
            if self.wildcard { request.len() >= self.segments.len() } else { request.len() == self.segments.len() };
        if !enough {
            return None;
        }
        let mut params = Vec::new();
        for (seg, got) in self.segments.iter().zip(&request) {
            match seg {
                Segment::Literal(l) if l == got => {}
                Segment::Param(name) if !got.is_empty() => params.push((name.clone(), got.to_string())),
                _ => return None,
            }
        }
        let path_info = if self.wildcard {
            let consumed: usize = request[..self.segments.len()].iter().map(|s| s.len() + 1).sum();
            path[consumed..].to_string()
        } else {
            String::new()
        };
        Some((path_info, params))
    }

    /// Higher is better: exact over wildcard, then longer prefixes, then literal segments over
    /// `:params`, then the later declaration (Spin: the last duplicate wins).
    fn rank(&self) -> (bool, usize, usize, usize) {
        let literals = self.segments.iter().filter(|s| matches!(s, Segment::Literal(_))).count();
        (!self.wildcard, self.segments.len(), literals, self.index)
    }
}

impl Segment {
    fn parse(s: &str) -> Self {
        match s.strip_prefix(':') {
            Some(name) => Segment::Param(name.to_string()),
            None => Segment::Literal(s.to_string()),
        }
    }
}

fn strip_one_slash(path: &str) -> &str {
    if path.len() > 1 { path.strip_suffix('/').unwrap_or(path) } else { path }
}

#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    pub fn new(routes: Vec<Route>) -> Self {
        Self { routes }
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The best route for `path`, or `None` (-> 404).
    pub fn route(&self, path: &str) -> Option<RouteMatch<'_>> {
        self.routes
            .iter()
            .filter_map(|r| r.matches(path).map(|(info, params)| (r, info, params)))
            .max_by_key(|(r, _, _)| r.rank())
            .map(|(route, path_info, params)| RouteMatch { route, path_info, params })
    }

    /// Routes that a later identical route hides (Spin warns about these).
    pub fn duplicates(&self) -> Vec<&Route> {
        self.routes.iter().filter(|r| self.routes.iter().any(|o| o.index > r.index && o.raw == r.raw)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[(&str, &str)]) -> Router {
        Router::new(routes.iter().enumerate().map(|(i, (r, c))| Route::parse(r, c, i).expect("valid route")).collect())
    }

    fn hit(r: &Router, path: &str) -> Option<(String, String)> {
        r.route(path).map(|m| (m.route.component.clone(), m.path_info))
    }

    #[test]
    fn exact_beats_wildcard_and_longest_prefix_wins() {
        let r = router(&[("/...", "root"), ("/a/...", "a"), ("/a/b/...", "ab"), ("/a/x", "ax")]);
        assert_eq!(hit(&r, "/a/x"), Some(("ax".into(), "".into())));
        assert_eq!(hit(&r, "/a/b/c"), Some(("ab".into(), "/c".into())));
        assert_eq!(hit(&r, "/a/q"), Some(("a".into(), "/q".into())));
        assert_eq!(hit(&r, "/zzz"), Some(("root".into(), "/zzz".into())));
    }

    #[test]
    fn wildcard_matches_bare_prefix_and_keeps_trailing_slash() {
        let r = router(&[("/sse/...", "s")]);
        assert_eq!(hit(&r, "/sse"), Some(("s".into(), "".into())));
        assert_eq!(hit(&r, "/sse/"), Some(("s".into(), "/".into())));
        assert_eq!(hit(&r, "/sse/message"), Some(("s".into(), "/message".into())));
        assert_eq!(hit(&r, "/ssex"), None);
    }

    #[test]
    fn exact_ignores_one_trailing_slash_and_misses_give_none() {
        let r = router(&[("/mcp", "m"), ("/", "root")]);
        assert_eq!(hit(&r, "/mcp/"), Some(("m".into(), "".into())));
        assert_eq!(hit(&r, "/"), Some(("root".into(), "".into())));
        assert_eq!(hit(&r, "/mcp/x"), None);
    }

    #[test]
    fn params_and_duplicates() {
        let r = router(&[("/u/:id", "p"), ("/u/new", "lit"), ("/d", "first"), ("/d", "second")]);
        let m = r.route("/u/7").expect("matches");
        assert_eq!(m.params, vec![("id".to_string(), "7".to_string())]);
        assert_eq!(hit(&r, "/u/new").map(|h| h.0).as_deref(), Some("lit"));
        assert_eq!(hit(&r, "/d").map(|h| h.0).as_deref(), Some("second"));
        assert_eq!(r.duplicates().len(), 1);
    }
}
