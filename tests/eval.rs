//! `tradescreen eval` on the bundled dev queries: the command works end to end and the matcher
//! keeps its accuracy (every positive class at least 0.99, false positives at most 0.5 %).
use std::process::Command;

#[test]
fn eval_reports_every_class_and_the_matcher_meets_its_targets() {
    let queries = concat!(env!("CARGO_MANIFEST_DIR"), "/data/eval/dev-queries.jsonl");
    let out = Command::new(env!("CARGO_BIN_EXE_tradescreen"))
        .args(["eval", queries])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut classes = Vec::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if let [class, queries, correct, fraction, _p50, _p99] = cols.as_slice()
            && let (Ok(queries), Ok(correct), Ok(fraction)) = (
                queries.parse::<usize>(),
                correct.parse::<usize>(),
                fraction.parse::<f64>(),
            )
        {
            assert!(queries > 0 && correct <= queries, "{line}");
            classes.push((class.to_string(), fraction));
        }
    }
    let names: Vec<&str> = classes.iter().map(|(c, _)| c.as_str()).collect();
    for expected in [
        "case_punct",
        "cyrillic",
        "exact",
        "identifier",
        "legal_form",
        "reorder",
        "translit",
        "typo",
        "negatives",
    ] {
        assert!(names.contains(&expected), "{expected} missing from\n{text}");
    }
    for (class, fraction) in &classes {
        assert!(*fraction >= 0.99, "{class}: {fraction}\n{text}");
    }
    let fp_line = text
        .lines()
        .find(|l| l.starts_with("false positives"))
        .unwrap();
    let percent: f64 = fp_line
        .split('(')
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap();
    assert!(percent <= 0.5, "{fp_line}");
    assert!(text.contains("latency per query: p50"), "{text}");
}

#[test]
fn eval_rejects_a_malformed_query_file_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queries.jsonl");
    std::fs::write(
        &path,
        "{\"variant\": \"exact\", \"expect_entity\": \"45851\", \"name\": \"ELEKTROKOM VPK\"}\n{not json}\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tradescreen"))
        .arg("eval")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2"));
}
