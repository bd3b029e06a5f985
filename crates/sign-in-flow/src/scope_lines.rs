//! What the consent page says about scopes: one line per scope asked, in words from oauth-core's
//! scope table, each marked with who may have it.
//!
//! Before sign-in (the usual consent page) the account, and so its role, is unknown: a scope
//! only some roles may hold says which roles, and that it is left out for others. After sign-in
//! (a consent page shown because the server holds no approval of this user's that covers the
//! request) the role is known: a scope it may not hold is marked as left out, and scopes the
//! user approved before are not asked about again, only listed as already approved.

use oauth_core::rules::scope::{self, ScopePolicy};

/// Who may have a scope, as far as the page can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleNote {
    /// Every account (or this account's role) may have it.
    Granted,
    /// Before sign-in: only accounts with one of these roles get it.
    OnlyFor(Vec<String>),
    /// After sign-in: this account's role may not have it, so it is left out.
    LeftOut,
}

/// One scope on the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeLine {
    pub scope: &'static str,
    /// What it allows, for a person (the scope table's `consent` words).
    pub words: &'static str,
    pub note: RoleNote,
}

/// The scope part of a consent page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScopeLines {
    /// What the page asks about.
    pub asked: Vec<ScopeLine>,
    /// What this user approved for this app before (after sign-in only): not asked again.
    pub approved_before: Vec<ScopeLine>,
}

/// The account a consent page shown after sign-in is for.
#[derive(Debug, Clone, Copy)]
pub struct Account<'a> {
    pub role: Option<&'a str>,
    /// The scopes this user approved for this app before.
    pub approved: &'a [String],
}

/// The lines for a request asking for `asked` (stored form: `mcp` is every scope), before
/// sign-in (`account` `None`) or after it.
pub fn scope_lines(asked: &[String], policy: &ScopePolicy, account: Option<Account<'_>>) -> ScopeLines {
    let mut lines = ScopeLines::default();
    for name in scope::expand(asked) {
        let Some(capability) = scope::capability(&name) else { continue };
        let note = match (account, policy.roles_for(capability.scope)) {
            (Some(account), _) if !policy.role_may_hold(capability.scope, account.role) => RoleNote::LeftOut,
            (None, Some(roles)) => RoleNote::OnlyFor(roles.to_vec()),
            _ => RoleNote::Granted,
        };
        let line = ScopeLine { scope: capability.scope, words: capability.consent, note };
        match account {
            Some(account) if account.approved.iter().any(|a| a == capability.scope) => lines.approved_before.push(line),
            _ => lines.asked.push(line),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<String> {
        scope::everything()
    }

    fn notes(lines: &[ScopeLine]) -> Vec<(&str, RoleNote)> {
        lines.iter().map(|l| (l.scope, l.note.clone())).collect()
    }

    #[test]
    fn before_sign_in_a_role_limited_scope_names_the_roles_that_get_it() {
        let lines = scope_lines(&all(), &ScopePolicy::default(), None);
        let roles = vec!["admin".to_owned(), "premium".into(), "image_generation".into()];
        assert_eq!(notes(&lines.asked), [("mcp:basic", RoleNote::Granted), ("mcp:images", RoleNote::OnlyFor(roles))]);
        assert!(lines.approved_before.is_empty());
        assert!(lines.asked.iter().all(|l| !l.words.is_empty() && !l.words.contains("mcp:")), "words for a person");
    }

    #[test]
    fn after_sign_in_a_scope_the_role_cannot_have_is_marked_left_out() {
        let member = Account { role: Some("member"), approved: &[] };
        let lines = scope_lines(&all(), &ScopePolicy::default(), Some(member));
        assert_eq!(notes(&lines.asked), [("mcp:basic", RoleNote::Granted), ("mcp:images", RoleNote::LeftOut)]);
        let admin = Account { role: Some("admin"), approved: &[] };
        let lines = scope_lines(&all(), &ScopePolicy::default(), Some(admin));
        assert_eq!(notes(&lines.asked), [("mcp:basic", RoleNote::Granted), ("mcp:images", RoleNote::Granted)]);
    }

    #[test]
    fn after_sign_in_only_what_is_new_is_asked() {
        let approved = vec!["mcp:basic".to_owned()];
        let admin = Account { role: Some("admin"), approved: &approved };
        let lines = scope_lines(&all(), &ScopePolicy::default(), Some(admin));
        assert_eq!(notes(&lines.asked), [("mcp:images", RoleNote::Granted)]);
        assert_eq!(notes(&lines.approved_before), [("mcp:basic", RoleNote::Granted)]);
    }

    #[test]
    fn a_request_of_an_earlier_release_for_mcp_lists_every_scope() {
        let lines = scope_lines(&["mcp".to_owned()], &ScopePolicy::default(), None);
        assert_eq!(lines.asked.len(), scope::CAPABILITIES.len());
    }
}
