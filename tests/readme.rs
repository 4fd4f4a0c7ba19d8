//! What the README quotes is what the program prints. A block introduced by
//! `<!-- output: idemlab ARGS -->` must equal the output of `idemlab ARGS`.

mod common;

#[test]
fn every_quoted_output_in_the_readme_is_current() {
    let root = common::root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let mut checked = 0;
    let mut rest = readme.as_str();
    while let Some(start) = rest.find("<!-- output: idemlab ") {
        let after = &rest[start + "<!-- output: idemlab ".len()..];
        let end = after.find(" -->").unwrap();
        let args: Vec<&str> = after[..end].split_whitespace().collect();
        let block = after[end..].split_once("```text\n").unwrap().1;
        let quoted = block.split_once("```").unwrap().0;
        let (code, out, err) = common::idemlab(&root, &args);
        assert_eq!(code, 0, "idemlab {args:?}: {err}");
        assert_eq!(
            quoted,
            out,
            "README quotes stale output of `idemlab {}`",
            args.join(" ")
        );
        checked += 1;
        rest = &after[end..];
    }
    assert!(checked >= 1, "the README quotes no checked output");
}

/// The error quoted in the README is the one in the fixture corpus.
#[test]
fn the_quoted_error_is_current() {
    let root = common::root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let expected =
        std::fs::read_to_string(root.join("tests/invalid_scenarios/negative-probability.stderr"))
            .unwrap();
    assert!(readme.contains(&expected), "README's quoted error is stale");
}
