//! Text as Sellsy takes it: whitespace tidied, and cut to the lengths Sellsy enforces.

/// Trims and collapses runs of whitespace (WooCommerce keeps what customers type, double spaces too).
pub(super) fn tidy(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// At most `max` characters, as Sellsy counts them (not bytes); a cut leaves no trailing space.
pub(super) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        s.chars()
            .take(max)
            .collect::<String>()
            .trim_end()
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_is_collapsed_and_cuts_count_characters() {
        assert_eq!(tidy("  30  rue\tde la\nPaix "), "30 rue de la Paix");
        assert_eq!(truncate("Noël", 4), "Noël");
        assert_eq!(truncate("éééé", 2), "éé");
        assert_eq!(truncate("ab cd", 3), "ab");
    }
}
