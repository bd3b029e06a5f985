//! Characters that hide or reorder text, and how text from outside is made safe to show or log.
//!
//! Bidi controls are the classic attack: `"Claude Desktop \u{202e}(lanoicifo)"` renders as
//! "Claude Desktop (official)". They are Unicode format characters (general category Cf), as
//! are zero-width spaces and joiners, the byte-order mark and invisible tags. Line and paragraph
//! separators (Zl, Zp: U+2028, U+2029) end a line for many log viewers and JavaScript tools,
//! although they are neither control characters nor escaped by JSON. So:
//! - text a client registers is refused when it has any of them ([`has_hidden_characters`]);
//! - text written to a log (the audit trail, the operator's log) has them escaped
//!   ([`escape_hidden`]), so a caller cannot forge, split or visually reorder a log line.

/// Unicode 15.1 general category Cf (format), as inclusive ranges.
const FORMAT: &[(char, char)] = &[
    ('\u{00AD}', '\u{00AD}'),
    ('\u{0600}', '\u{0605}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{06DD}', '\u{06DD}'),
    ('\u{070F}', '\u{070F}'),
    ('\u{0890}', '\u{0891}'),
    ('\u{08E2}', '\u{08E2}'),
    ('\u{180E}', '\u{180E}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{206F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFF9}', '\u{FFFB}'),
    ('\u{110BD}', '\u{110BD}'),
    ('\u{110CD}', '\u{110CD}'),
    ('\u{13430}', '\u{1343F}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0001}', '\u{E0001}'),
    ('\u{E0020}', '\u{E007F}'),
];

/// True for a format character (bidi controls, zero-width characters, tags) or a line or
/// paragraph separator.
pub fn is_invisible_or_reordering(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}') || FORMAT.iter().any(|&(first, last)| (first..=last).contains(&c))
}

/// True when `text` holds a control character or one of [`is_invisible_or_reordering`].
pub fn has_hidden_characters(text: &str) -> bool {
    text.chars().any(is_hidden)
}

fn is_hidden(c: char) -> bool {
    c.is_control() || is_invisible_or_reordering(c)
}

/// True when every byte of `text` is printable ASCII (space to `~`): no control character, and
/// nothing outside ASCII, where all the format characters and separators are.
pub fn is_printable_ascii(text: &str) -> bool {
    text.bytes().all(|byte| (b' '..=b'~').contains(&byte))
}

/// `text` with every control character escaped as Rust writes it (`\n`, `\u{7f}`) and every
/// line or paragraph separator and format character as `\u{…}`: what is left shows on one
/// line, in the order it was written. Everything else is kept as is.
pub fn escape_hidden(text: &str) -> String {
    // Nearly every logged field (ids, tool names, addresses) is printable ASCII, which holds no
    // hidden character: copied as it is, without the walk through every `char`.
    if is_printable_ascii(text) {
        return text.to_owned();
    }
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            c if c.is_control() => escaped.extend(c.escape_default()),
            c if is_invisible_or_reordering(c) => escaped.extend(c.escape_unicode()),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_ascii_is_kept_as_it_is_and_anything_else_goes_the_long_way() {
        assert!(is_printable_ascii("client_7Hx-2 tool=add 127.0.0.1 ~!"));
        assert_eq!(escape_hidden("user_2abc def"), "user_2abc def");
        for text in ["tab\there", "del\u{7f}", "caf\u{e9}", "\u{202e}x", "line\r\n"] {
            assert!(!is_printable_ascii(text), "{text:?}");
        }
        assert_eq!(escape_hidden("a\tb\u{7f}"), "a\\tb\\u{7f}");
        assert_eq!(escape_hidden("caf\u{e9} \u{202e}"), "caf\u{e9} \\u{202e}");
    }

    #[test]
    fn bidi_controls_zero_width_characters_tags_and_separators_are_hidden_characters() {
        for c in ['\u{202E}', '\u{202A}', '\u{2066}', '\u{2069}', '\u{200F}', '\u{061C}', '\u{200B}', '\u{200D}'] {
            assert!(is_invisible_or_reordering(c), "U+{:04X}", c as u32);
        }
        for c in ['\u{FEFF}', '\u{00AD}', '\u{E0041}', '\u{2028}', '\u{2029}', '\u{2060}'] {
            assert!(is_invisible_or_reordering(c), "U+{:04X}", c as u32);
        }
        assert!(has_hidden_characters("Claude Desktop \u{202e}(lanoicifo)"));
        assert!(has_hidden_characters("tab\there"), "control characters too");
    }

    #[test]
    fn names_in_any_script_have_no_hidden_characters() {
        for name in
            ["Claude Desktop", "Visual Studio Code", "Cursor", "محرر", "עורך", "編集者", "Ærø café 🚀", "a-b_c.d"]
        {
            assert!(!has_hidden_characters(name), "{name}");
            assert_eq!(escape_hidden(name), name, "kept as is");
        }
    }

    #[test]
    fn escaping_leaves_one_line_in_written_order_and_no_hidden_character() {
        let hostile = "a\nb\r\u{7f}c\u{2028}d\u{2029}e\u{202e}f\u{200b}g\u{feff}h\u{e0041}";
        let escaped = escape_hidden(hostile);
        assert_eq!(escaped, r"a\nb\r\u{7f}c\u{2028}d\u{2029}e\u{202e}f\u{200b}g\u{feff}h\u{e0041}");
        assert!(!has_hidden_characters(&escaped));
    }
}
