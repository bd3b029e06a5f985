//! Text that a client registers and the consent page shows to the user (its name, links,
//! contacts): no character may be invisible or change how the text around it reads.
//!
//! Bidi controls are the attack: `"Claude Desktop \u{202e}(lanoicifo)"` renders as
//! "Claude Desktop (official)". They are Unicode format characters (general category Cf), as
//! are zero-width spaces and joiners, the byte-order mark and invisible tags; none belongs in a
//! client's name or a URL. Line and paragraph separators (Zl, Zp) are refused with them.

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
    text.chars().any(|c| c.is_control() || is_invisible_or_reordering(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_controls_zero_width_characters_and_tags_are_refused() {
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
    fn names_in_any_script_pass() {
        for name in
            ["Claude Desktop", "Visual Studio Code", "Cursor", "محرر", "עורך", "編集者", "Ærø café 🚀", "a-b_c.d"]
        {
            assert!(!has_hidden_characters(name), "{name}");
        }
    }
}
