//! Text that a client registers and the consent page shows to the user (its name, links,
//! contacts): no character may be invisible or change how the text around it reads (bidi
//! controls, zero-width characters, tags, line and paragraph separators, control characters).
//! The rule is `platform::text`'s, which the logs use to escape the same characters.

pub use platform::text::{has_hidden_characters, is_invisible_or_reordering};
