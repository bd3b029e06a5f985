//! A line for the operator's log, decided by a library and written by the component.
//!
//! The libraries answer with `http` responses and have no log of their own; when an answer
//! hides its reason from the caller (an `invalid_client` that must not say why, a page for the
//! user), the library attaches the reason as a response extension, and the component's edge
//! writes it to its log (Spin keeps a component's stderr in the app's log). Extensions never
//! go on the wire.

use crate::web::Response;

/// What the operator should read about this response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic(pub String);

/// The longest diagnostic kept, in characters: it may quote caller-chosen text.
const MAX_CHARS: usize = 600;

/// Attaches `line` to `response`, with hidden characters escaped and the length bounded, so a
/// caller-chosen value cannot forge, split, reorder or flood log lines.
pub fn attach(response: &mut Response, line: &str) {
    response.extensions_mut().insert(Diagnostic(clean(line)));
}

/// `line` made safe for a log: control characters, line and paragraph separators and format
/// (bidi, zero-width) characters escaped ([`crate::text::escape_hidden`]), at most
/// [`MAX_CHARS`] characters.
pub fn clean(line: &str) -> String {
    let escaped = crate::text::escape_hidden(line);
    let mut clean: String = escaped.chars().take(MAX_CHARS).collect();
    if clean.len() < escaped.len() {
        clean.push('…');
    }
    clean
}

/// The diagnostic attached to `response`, if any.
pub fn of(response: &Response) -> Option<&str> {
    response.extensions().get::<Diagnostic>().map(|d| d.0.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_length_is_bounded() {
        let mut response = Response::new(Vec::new());
        attach(&mut response, "refused https://a.example/x\nFAKE LOG LINE");
        assert_eq!(of(&response), Some("refused https://a.example/x\\nFAKE LOG LINE"));
        attach(&mut response, &"x".repeat(10_000));
        assert_eq!(of(&response).map(|d| d.chars().count()), Some(MAX_CHARS + 1));
    }

    #[test]
    fn line_separators_and_bidi_controls_are_escaped_too() {
        let mut response = Response::new(Vec::new());
        attach(&mut response, "client_id https://a.example/\u{2028}FORGED \u{202e}desrever");
        assert_eq!(of(&response), Some(r"client_id https://a.example/\u{2028}FORGED \u{202e}desrever"));
    }

    #[test]
    fn a_response_without_one_has_none() {
        assert_eq!(of(&Response::new(Vec::new())), None);
    }
}
