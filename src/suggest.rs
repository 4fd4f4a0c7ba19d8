//! "Did you mean ...?" for misspelled names.

/// The edit distance between `a` and `b` (insertions, deletions, substitutions).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = substitute.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The known name closest to `given`, if it is close enough to be a likely typo.
pub fn closest<'a>(given: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (given.chars().count() / 3).max(2);
    known
        .into_iter()
        .map(|k| (edit_distance(given, k), k))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, k)| k)
}

/// ` (did you mean `x`?)` when a known name is close to `given`, else nothing: the suffix
/// every "unknown ..." message uses.
pub fn did_you_mean<'a>(given: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    closest(given, known)
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_names_only() {
        let known = ["naive", "process-payment", "atomic-key"];
        assert_eq!(closest("atomic-keys", known), Some("atomic-key"));
        assert_eq!(closest("naieve", known), Some("naive"));
        assert_eq!(closest("something-else", known), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
