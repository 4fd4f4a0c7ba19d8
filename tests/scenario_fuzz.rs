//! The scenario reader under arbitrary and mutated input, in `cargo test` (the coverage-guided
//! fuzzer in `fuzz/` goes further): never a panic; every error located (line and column from 1,
//! a message); every success written back and read back equal.

mod common;

use idemlab::scenario::{parse, parse_bytes, to_toml};
use proptest::prelude::*;

fn bundled_texts() -> Vec<String> {
    idemlab::scenario::BUNDLED
        .iter()
        .map(|(_, t)| t.to_string())
        .collect()
}

fn assert_sane(result: Result<idemlab::scenario::Scenario, idemlab::scenario::ScenarioError>) {
    match result {
        Ok(s) => {
            let again = parse(&to_toml(&s, ""), "again.toml").expect("to_toml reads back");
            assert_eq!(again, s);
        }
        Err(e) => {
            assert!(e.line >= 1 && e.column >= 1, "{e:?}");
            assert!(!e.message.is_empty());
            assert!(e.to_string().starts_with("fuzz.toml:"), "{e}");
        }
    }
}

/// One edit of a text: where, how much, and what goes in.
#[derive(Clone, Debug)]
enum Edit {
    Insert(usize, String),
    Delete(usize, usize),
    DuplicateLine(usize),
    Number(usize, i64),
}

fn edit() -> impl Strategy<Value = Edit> {
    let tokens = prop::sample::select(vec![
        "=", "[", "]", "[[", "]]", "\"", ",", "{", "}", "\n", "#", ".", "-", "..", "ms", "1e9",
        "ops", "kind", "faults", "expect", "naive", "crash", "after", "nan", "inf", "true", "\\u",
    ]);
    prop_oneof![
        (any::<usize>(), tokens.prop_map(str::to_string)).prop_map(|(i, t)| Edit::Insert(i, t)),
        (any::<usize>(), 0usize..40).prop_map(|(i, n)| Edit::Delete(i, n)),
        any::<usize>().prop_map(Edit::DuplicateLine),
        (any::<usize>(), any::<i64>()).prop_map(|(i, n)| Edit::Number(i, n)),
    ]
}

fn apply(text: &str, e: &Edit) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = |i: usize| {
        if chars.is_empty() {
            0
        } else {
            i % (chars.len() + 1)
        }
    };
    match e {
        Edit::Insert(i, t) => {
            let i = at(*i);
            chars[..i].iter().collect::<String>() + t + &chars[i..].iter().collect::<String>()
        }
        Edit::Delete(i, n) => {
            let i = at(*i);
            let j = (i + n).min(chars.len());
            chars[..i].iter().chain(&chars[j..]).collect()
        }
        Edit::DuplicateLine(i) => {
            let lines: Vec<&str> = text.lines().collect();
            if lines.is_empty() {
                return text.to_string();
            }
            let k = i % lines.len();
            let mut out = lines.clone();
            out.insert(k, lines[k]);
            out.join("\n")
        }
        Edit::Number(i, n) => {
            // Replace the digits of the number nearest to position i.
            let i = at(*i).min(chars.len().saturating_sub(1));
            let Some(start) = (0..chars.len())
                .map(|d| (i + d) % chars.len().max(1))
                .find(|&p| chars[p].is_ascii_digit())
            else {
                return text.to_string();
            };
            let end = (start..chars.len())
                .find(|&p| !chars[p].is_ascii_digit())
                .unwrap_or(chars.len());
            chars[..start].iter().collect::<String>()
                + &n.to_string()
                + &chars[end..].iter().collect::<String>()
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        assert_sane(parse_bytes(&bytes, "fuzz.toml"));
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\\\PC{0,300}") {
        assert_sane(parse(&text, "fuzz.toml"));
    }

    #[test]
    fn mutated_scenarios_never_panic(which in 0usize..4, edits in prop::collection::vec(edit(), 1..6)) {
        let texts = bundled_texts();
        let mut text = texts[which % texts.len()].clone();
        for e in &edits {
            text = apply(&text, e);
        }
        assert_sane(parse(&text, "fuzz.toml"));
    }
}
