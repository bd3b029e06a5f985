//! Scopes: the one table that says which scope unlocks which tools and which Clerk roles may
//! be granted it ([`CAPABILITIES`]), and the rules around it.
//!
//! - A request that names no scope, or the scope `mcp` (what every token carried before per-tool
//!   scopes existed), asks for every scope in the table; the user's role then decides what is
//!   granted. So clients that never heard of these scopes get exactly what they got before.
//! - A scope outside the table is `invalid_scope`, except the OpenID/OAuth scopes clients add on
//!   their own ([`IGNORED`]), which are dropped. A request left with nothing is `invalid_scope`.
//! - A scope the user's role may not hold is left out of the grant, not refused.
//! - A refresh may narrow the scope and never widen it (RFC 6749 §6).
//! - A token carrying `mcp` (issued before this table existed) holds every scope.

/// The scope every token carried before per-tool scopes; asking for it means "everything my role
/// allows", and a token that carries it holds every scope.
pub const ALL: &str = "mcp";
/// The basic tools.
pub const BASIC: &str = "mcp:basic";
/// Image generation.
pub const IMAGES: &str = "mcp:images";

/// Who may be granted a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holders {
    /// Every signed-in user.
    EveryUser,
    /// Users whose Clerk `public_metadata.role` is in the `image_roles` setting.
    ImageRoles,
}

/// One row of the scope table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capability {
    /// The scope's name, as clients request it and tokens carry it.
    pub scope: &'static str,
    /// The MCP tools this scope unlocks (each tool appears under exactly one scope).
    pub tools: &'static [&'static str],
    pub holders: Holders,
    /// What the consent page says it allows, in words for a person.
    pub consent: &'static str,
}

/// The scope table. To add a capability: add a row here (and its tools in `mcp-server`); every
/// metadata document, consent page, token and `/mcp` check follows from this table.
pub const CAPABILITIES: &[Capability] = &[
    Capability {
        scope: BASIC,
        tools: &["add", "userInfo"],
        holders: Holders::EveryUser,
        consent: "Use the basic tools: add numbers, and read your profile (name, email, role)",
    },
    Capability {
        scope: IMAGES,
        tools: &["generateImage"],
        holders: Holders::ImageRoles,
        consent: "Generate images from your prompts",
    },
];

/// Scopes clients add on their own (OpenID Connect, `offline_access`): not ours to grant, and
/// dropped rather than refused so such clients keep working. (Refresh tokens are issued
/// without asking; 2026-07-28 keeps `offline_access` out of `scopes_supported`.)
pub const IGNORED: &[&str] = &["openid", "profile", "email", "offline_access"];

/// The variable naming the roles that may hold [`IMAGES`] (comma separated).
pub const IMAGE_ROLES_VARIABLE: &str = "image_roles";

/// Roles that may hold [`IMAGES`] unless `image_roles` says otherwise.
pub const DEFAULT_IMAGE_ROLES: [&str; 3] = ["admin", "premium", "image_generation"];

/// `scopes_supported` in both metadata documents: the table's scopes, in its order.
pub fn supported() -> Vec<&'static str> {
    CAPABILITIES.iter().map(|c| c.scope).collect()
}

/// The table's row for `scope`.
pub fn capability(scope: &str) -> Option<&'static Capability> {
    CAPABILITIES.iter().find(|c| c.scope == scope)
}

/// The scope that unlocks `tool`, if the table names it.
pub fn scope_of_tool(tool: &str) -> Option<&'static str> {
    CAPABILITIES.iter().find(|c| c.tools.contains(&tool)).map(|c| c.scope)
}

/// Why a requested scope cannot be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("unknown scope `{0}` (this server offers: {offered})", offered = supported().join(", "))]
    Unknown(String),
    #[error("none of the requested scopes is offered (this server offers: {offered})", offered = supported().join(", "))]
    NoneOffered,
    #[error("the requested scope `{0}` exceeds the scope originally granted")]
    Widened(String),
}

fn split(scope: &str) -> impl Iterator<Item = &str> {
    scope.split(' ').filter(|s| !s.is_empty())
}

/// `scopes` in the table's order, once each.
fn in_table_order<'a>(scopes: impl Fn(&str) -> bool + 'a) -> Vec<String> {
    CAPABILITIES.iter().filter(|c| scopes(c.scope)).map(|c| c.scope.to_owned()).collect()
}

/// Every scope in the table.
pub fn everything() -> Vec<String> {
    in_table_order(|_| true)
}

/// The scopes an authorization request asks for (its `scope` parameter), before the user's role
/// is known: no scope or `mcp` is everything; unknown scopes are refused, [`IGNORED`] ones dropped.
pub fn requested(scope: Option<&str>) -> Result<Vec<String>, ScopeError> {
    let Some(scope) = scope.filter(|s| !s.trim().is_empty()) else {
        return Ok(everything());
    };
    let mut asked: Vec<&str> = Vec::new();
    for name in split(scope) {
        if name == ALL {
            return known_only(scope).map(|()| everything());
        }
        if capability(name).is_some() {
            asked.push(name);
        } else if !IGNORED.contains(&name) {
            return Err(ScopeError::Unknown(name.to_owned()));
        }
    }
    let asked = in_table_order(|s| asked.contains(&s));
    if asked.is_empty() { Err(ScopeError::NoneOffered) } else { Ok(asked) }
}

/// Refuses an unknown scope anywhere in `scope` (even beside `mcp`).
fn known_only(scope: &str) -> Result<(), ScopeError> {
    match split(scope).find(|s| *s != ALL && capability(s).is_none() && !IGNORED.contains(s)) {
        Some(unknown) => Err(ScopeError::Unknown(unknown.to_owned())),
        None => Ok(()),
    }
}

/// The concrete scopes a stored scope list stands for: `mcp` (grants, codes and tokens of
/// earlier releases) stands for every scope; names no longer in the table are dropped.
pub fn expand(stored: &[String]) -> Vec<String> {
    if stored.iter().any(|s| s == ALL) {
        return everything();
    }
    in_table_order(|s| stored.iter().any(|g| g == s))
}

/// Whether a token's stored scopes hold `scope` (`mcp` holds every scope).
pub fn holds(stored: &[String], scope: &str) -> bool {
    stored.iter().any(|s| s == scope || s == ALL)
}

/// The scope of a refreshed access token: `requested` (none or `mcp`: all of it) must lie
/// within what the grant holds (`granted`, expanded).
pub fn narrow(granted: &[String], requested: Option<&str>) -> Result<Vec<String>, ScopeError> {
    let granted = expand(granted);
    let wants_everything = requested.is_none_or(|s| s.trim().is_empty() || split(s).any(|n| n == ALL));
    if wants_everything {
        if let Some(scope) = requested {
            known_only(scope)?;
        }
        return Ok(granted);
    }
    let asked = self::requested(requested)?;
    match asked.iter().find(|s| !granted.contains(s)) {
        Some(wider) => Err(ScopeError::Widened(wider.clone())),
        None => Ok(asked),
    }
}

/// The space-separated form.
pub fn join(scopes: &[String]) -> String {
    scopes.join(" ")
}

/// Which roles may hold which scope: the table's [`Holders`] plus the `image_roles` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopePolicy {
    pub image_roles: Vec<String>,
}

impl Default for ScopePolicy {
    fn default() -> Self {
        Self { image_roles: DEFAULT_IMAGE_ROLES.iter().map(|r| (*r).to_owned()).collect() }
    }
}

impl ScopePolicy {
    /// From the `image_roles` variable (unset: [`DEFAULT_IMAGE_ROLES`]). Every component that
    /// grants or checks scopes reads it here, so they agree.
    pub fn from_variables(vars: &dyn platform::Variables) -> Result<Self, platform::VariableError> {
        Ok(vars.get(IMAGE_ROLES_VARIABLE)?.map_or_else(Self::default, |roles| Self::from_image_roles(&roles)))
    }

    /// The policy for an `image_roles` setting (comma separated; blank entries ignored; an
    /// empty setting means nobody may generate images).
    pub fn from_image_roles(setting: &str) -> Self {
        let image_roles = setting.split(',').map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned).collect();
        Self { image_roles }
    }

    /// The roles that may hold `scope`; `None` when every user may (or the scope is not ours).
    pub fn roles_for(&self, scope: &str) -> Option<&[String]> {
        match capability(scope)?.holders {
            Holders::EveryUser => None,
            Holders::ImageRoles => Some(&self.image_roles),
        }
    }

    /// Whether a user with `role` may hold `scope`.
    pub fn role_may_hold(&self, scope: &str, role: Option<&str>) -> bool {
        capability(scope).is_some()
            && match self.roles_for(scope) {
                None => true,
                Some(roles) => role.is_some_and(|role| roles.iter().any(|r| r == role)),
            }
    }

    /// The part of `scopes` (stored form; `mcp` is everything) a user with `role` may hold: what a
    /// token issued to that user carries.
    pub fn for_role(&self, scopes: &[String], role: Option<&str>) -> Vec<String> {
        expand(scopes).into_iter().filter(|s| self.role_may_hold(s, role)).collect()
    }

    /// Whether a user with `role` may call `tool` at all (with some token).
    pub fn role_may_call(&self, tool: &str, role: Option<&str>) -> bool {
        scope_of_tool(tool).is_some_and(|scope| self.role_may_hold(scope, role))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(scopes: &[&str]) -> Vec<String> {
        scopes.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn no_scope_or_the_old_mcp_scope_asks_for_every_scope() {
        let all = owned(&[BASIC, IMAGES]);
        assert_eq!(requested(None), Ok(all.clone()));
        assert_eq!(requested(Some("  ")), Ok(all.clone()));
        assert_eq!(requested(Some("mcp")), Ok(all.clone()));
        assert_eq!(requested(Some("openid mcp offline_access")), Ok(all.clone()));
        assert_eq!(requested(Some("mcp:basic mcp")), Ok(all));
    }

    #[test]
    fn fewer_scopes_asked_are_fewer_scopes_in_table_order_once_each() {
        assert_eq!(requested(Some("mcp:basic")), Ok(owned(&[BASIC])));
        assert_eq!(requested(Some("mcp:images  mcp:basic mcp:images")), Ok(owned(&[BASIC, IMAGES])));
    }

    #[test]
    fn client_added_openid_scopes_are_dropped_but_a_request_of_only_those_is_refused() {
        assert_eq!(requested(Some("openid profile email offline_access mcp:images")), Ok(owned(&[IMAGES])));
        assert_eq!(requested(Some("openid offline_access")), Err(ScopeError::NoneOffered));
    }

    #[test]
    fn an_unknown_scope_is_refused_even_beside_known_ones() {
        assert_eq!(requested(Some("mcp:basic mcp:admin")), Err(ScopeError::Unknown("mcp:admin".into())));
        assert_eq!(requested(Some("mcp admin")), Err(ScopeError::Unknown("admin".into())));
        assert!(requested(Some("mcp:admin")).unwrap_err().to_string().contains("mcp:basic, mcp:images"));
    }

    #[test]
    fn stored_mcp_stands_for_every_scope_and_holds_each() {
        assert_eq!(expand(&owned(&["mcp"])), owned(&[BASIC, IMAGES]));
        assert_eq!(expand(&owned(&[IMAGES, "mcp:gone"])), owned(&[IMAGES]));
        assert!(holds(&owned(&["mcp"]), IMAGES));
        assert!(holds(&owned(&[BASIC]), BASIC) && !holds(&owned(&[BASIC]), IMAGES));
    }

    #[test]
    fn refresh_scope_may_narrow_but_not_widen() {
        let both = owned(&[BASIC, IMAGES]);
        assert_eq!(narrow(&both, None), Ok(both.clone()));
        assert_eq!(narrow(&both, Some("mcp")), Ok(both.clone()));
        assert_eq!(narrow(&both, Some("mcp:basic")), Ok(owned(&[BASIC])));
        assert_eq!(narrow(&owned(&[BASIC]), Some("mcp:basic mcp:images")), Err(ScopeError::Widened(IMAGES.into())));
        assert_eq!(narrow(&owned(&[BASIC]), Some("mcp")), Ok(owned(&[BASIC])), "mcp asks for the whole grant");
        assert_eq!(narrow(&both, Some("mcp:nope")), Err(ScopeError::Unknown("mcp:nope".into())));
        assert_eq!(narrow(&both, Some("mcp nope")), Err(ScopeError::Unknown("nope".into())));
    }

    #[test]
    fn a_grant_of_an_earlier_release_narrows_from_every_scope() {
        assert_eq!(narrow(&owned(&["mcp"]), Some("mcp:images")), Ok(owned(&[IMAGES])));
        assert_eq!(narrow(&owned(&["mcp"]), None), Ok(owned(&[BASIC, IMAGES])));
    }

    #[test]
    fn the_image_scope_goes_only_to_image_roles() {
        let policy = ScopePolicy::default();
        let all = owned(&["mcp"]);
        assert_eq!(policy.for_role(&all, Some("premium")), owned(&[BASIC, IMAGES]));
        assert_eq!(policy.for_role(&all, Some("member")), owned(&[BASIC]));
        assert_eq!(policy.for_role(&all, None), owned(&[BASIC]));
        assert_eq!(policy.for_role(&owned(&[IMAGES]), Some("member")), Vec::<String>::new());
        assert!(policy.role_may_call("generateImage", Some("admin")));
        assert!(!policy.role_may_call("generateImage", Some("member")));
        assert!(policy.role_may_call("add", None));
        assert!(!policy.role_may_call("nonexistent", Some("admin")));
    }

    #[test]
    fn image_roles_come_from_the_setting() {
        let policy = ScopePolicy::from_image_roles(" artist , ,designer");
        assert_eq!(policy.roles_for(IMAGES), Some(&owned(&["artist", "designer"])[..]));
        assert_eq!(policy.roles_for(BASIC), None);
        assert!(!ScopePolicy::from_image_roles("").role_may_hold(IMAGES, Some("admin")));
        let vars = platform::StaticVariables::new([("image_roles", "artist")]);
        assert_eq!(ScopePolicy::from_variables(&vars).unwrap().image_roles, ["artist"]);
        assert_eq!(ScopePolicy::from_variables(&platform::StaticVariables::default()).unwrap(), ScopePolicy::default());
    }

    #[test]
    fn every_tool_is_unlocked_by_exactly_one_scope() {
        let tools: Vec<&str> = CAPABILITIES.iter().flat_map(|c| c.tools.iter().copied()).collect();
        for tool in &tools {
            assert_eq!(tools.iter().filter(|t| *t == tool).count(), 1, "{tool}");
        }
        assert_eq!(scope_of_tool("generateImage"), Some(IMAGES));
        assert_eq!(scope_of_tool("add"), Some(BASIC));
        assert!(!supported().contains(&"offline_access") && !supported().contains(&ALL));
    }
}
