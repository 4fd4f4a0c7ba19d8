//! What the README quotes is what the program prints. A block introduced by
//! `<!-- output: idemlab ARGS -->` must equal the output of `idemlab ARGS`;
//! `IDEMLAB_BLESS=1` rewrites the blocks from the program (review the diff).

mod common;

#[test]
fn every_quoted_output_in_the_readme_is_current() {
    let root = common::root();
    let path = root.join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (fresh, checked) = common::refresh_quoted_outputs(&root, &readme);
    assert!(checked >= 1, "the README quotes no checked output");
    if std::env::var_os("IDEMLAB_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    assert!(
        fresh == readme,
        "README quotes stale output (IDEMLAB_BLESS=1 cargo test --test readme rewrites it):\n{}",
        common::first_line_difference(&readme, &fresh)
    );
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
