//! The exercises grade honestly: each shipped design fails with the story of its smallest
//! failure, and a solution passes. The failure stories quoted in the book are generated here
//! (`IDEMLAB_BLESS=1` rewrites `book/src/generated/`).

mod common;

#[path = "../exercises/grade.rs"]
mod grade;

#[path = "../exercises/ex1_lost_response/design.rs"]
mod ex1;
#[path = "../exercises/ex2_race/design.rs"]
mod ex2;
#[path = "../exercises/ex3_crash_window/design.rs"]
mod ex3;
#[path = "../exercises/ex4_key_reuse/design.rs"]
mod ex4;
#[path = "../exercises/ex5_consumer/design.rs"]
mod ex5;

#[path = "../exercises/solutions/ex1.rs"]
mod sol1;
#[path = "../exercises/solutions/ex2.rs"]
mod sol2;
#[path = "../exercises/solutions/ex3.rs"]
mod sol3;
#[path = "../exercises/solutions/ex4.rs"]
mod sol4;
#[path = "../exercises/solutions/ex5.rs"]
mod sol5;

fn check_generated(name: &str, text: &str) {
    let path = common::root().join("book/src/generated").join(name);
    if std::env::var_os("IDEMLAB_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        return;
    }
    let quoted = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        quoted == text,
        "{} is stale (IDEMLAB_BLESS=1 cargo test --test exercises rewrites it):\n{}",
        path.display(),
        common::first_line_difference(&quoted, text)
    );
}

#[test]
fn every_shipped_exercise_fails_with_a_story_and_every_solution_passes() {
    let shipped = [
        grade::run(1, ex1::handle),
        grade::run(2, ex2::handle),
        grade::run(3, ex3::handle),
        grade::run(4, ex4::handle),
        grade::run(5, ex5::handle),
    ];
    for (i, (report, passed)) in shipped.iter().enumerate() {
        let n = i + 1;
        assert!(!passed, "exercise {n} passes as shipped:\n{report}");
        assert!(report.starts_with("FAIL"), "{report}");
        assert!(report.contains("what happened:"), "{report}");
        check_generated(&format!("ex{n}-fail.txt"), &format!("{report}\n"));
    }
    let solved = [
        grade::run(1, sol1::handle),
        grade::run(2, sol2::handle),
        grade::run(3, sol3::handle),
        grade::run(4, sol4::handle),
        grade::run(5, sol5::handle),
    ];
    for (i, (report, passed)) in solved.iter().enumerate() {
        assert!(
            passed,
            "the solution to exercise {} fails:\n{report}",
            i + 1
        );
        assert!(report.starts_with("PASS"), "{report}");
    }
    check_generated("ex1-pass.txt", &format!("{}\n", solved[0].0));
}

/// The grade is a pure function of the design: the same story twice.
#[test]
fn grading_is_deterministic() {
    assert_eq!(grade::run(3, ex3::handle), grade::run(3, ex3::handle));
}
