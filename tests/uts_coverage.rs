//! How much of Ably's universal test specs (`uts/` in ably/specification) the client's tests
//! cover, counted from the repository itself.
//!
//! `tests/uts/items.tsv` lists the spec items that apply to brokerdash: the spec file, the
//! item (its ids first, e.g. `RTN15b/RTN15c6 successful resume`), a status and its evidence:
//! `C` covered by a client test, `P` partly, `H` on the hub's side only, `U` not covered,
//! `N` does not apply (the evidence says why, in one line).
//!
//! An item is covered *by name* when it is marked `C` and its evidence names a test that
//! names one of the item's ids: the test's name starts with the id, lowercased
//! (`rtl13b_detached_while_attaching_…` for `RTL13b …`), or the comment just above the test
//! has a `UTS:` line listing it (`/// UTS: RTB1a, RTC7.`), for a test that covers several.
//! Older `C` rows name their evidence in words; they are counted apart until a test names
//! them. This test prints the counts and the items still to cover, and fails
//! when the list is wrong: an unknown status, an `N` without its reason, or evidence naming a
//! test that does not exist or does not name the item, or an item left neither covered nor
//! argued not to apply. Run
//! `cargo test --test uts_coverage -- --nocapture` for the figures.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

struct Item {
    spec: String,
    text: String,
    status: String,
    evidence: String,
}

impl Item {
    /// The item's ids, lowercased: `RTN15b/RTN15c6 …` gives `rtn15b` and `rtn15c6`.
    fn ids(&self) -> Vec<String> {
        let first = self.text.split_whitespace().next().unwrap_or_default();
        first
            .split('/')
            // `RTN15b`, `TM2a`, or a type's letters alone (`TG`, `TI`).
            .filter(|id| id.len() >= 2 && id.chars().take(2).all(|c| c.is_ascii_uppercase()))
            .map(str::to_ascii_lowercase)
            .collect()
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn items() -> Vec<Item> {
    let text = std::fs::read_to_string(root().join("tests/uts/items.tsv")).unwrap();
    text.lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 4, "four columns: {line}");
            Item {
                spec: fields[0].to_owned(),
                text: fields[1].to_owned(),
                status: fields[2].to_owned(),
                evidence: fields[3].to_owned(),
            }
        })
        .collect()
}

/// Every test function under `src/` and `tests/`, with the ids its `UTS:` comment lists.
fn test_names() -> BTreeMap<String, Vec<String>> {
    let mut names = BTreeMap::new();
    for folder in ["src", "tests"] {
        collect(&root().join(folder), &mut names);
    }
    names
}

fn collect(dir: &Path, names: &mut BTreeMap<String, Vec<String>>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, names);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            let mut attributed = false;
            let mut listed: Vec<String> = Vec::new();
            for line in text.lines() {
                let line = line.trim();
                if let Some(ids) = line
                    .strip_prefix("///")
                    .or_else(|| line.strip_prefix("//"))
                    .and_then(|comment| comment.trim().strip_prefix("UTS:"))
                {
                    listed.extend(
                        ids.split(|c: char| c == ',' || c.is_whitespace() || c == '.')
                            .filter(|id| !id.is_empty())
                            .map(str::to_ascii_lowercase),
                    );
                } else if line.starts_with("#[test]") || line.starts_with("#[tokio::test") {
                    attributed = true;
                } else if attributed && let Some(at) = line.find("fn ") {
                    let name: String = line[at + 3..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    names.insert(name, std::mem::take(&mut listed));
                    attributed = false;
                } else if !line.starts_with("//") && !line.starts_with("#[") {
                    listed.clear();
                }
            }
        }
    }
}

/// The tests the evidence names (words that are test names), and whether one of them names
/// the item by its id.
fn evidence_tests(item: &Item, tests: &BTreeMap<String, Vec<String>>) -> (Vec<String>, bool) {
    let cited: Vec<(&String, &Vec<String>)> = item
        .evidence
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter_map(|word| tests.get_key_value(word))
        .collect();
    let ids = item.ids();
    let named = cited.iter().any(|(test, listed)| {
        ids.iter()
            .any(|id| test.starts_with(&format!("{id}_")) || listed.contains(id))
    });
    (
        cited.into_iter().map(|(test, _)| test.clone()).collect(),
        named,
    )
}

#[test]
fn the_uts_item_list_agrees_with_the_tests_and_the_coverage_is_counted() {
    let items = items();
    let tests = test_names();
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    let mut covered_by_name = 0;
    let mut wrong = Vec::new();
    let mut still_to_cover = Vec::new();
    for item in &items {
        if !["C", "P", "H", "U", "N"].contains(&item.status.as_str()) {
            wrong.push(format!("unknown status {:?}: {}", item.status, item.text));
        }
        *by_status.entry(item.status.as_str()).or_insert(0) += 1;
        if item.status == "N" && item.evidence.trim().is_empty() {
            wrong.push(format!(
                "{}: an item that does not apply says why",
                item.text
            ));
        }
        let (cited, named) = evidence_tests(item, &tests);
        let id_like = item.evidence.split(", ").next().unwrap_or_default();
        let looks_like_a_test_name = item
            .ids()
            .iter()
            .any(|id| id_like.starts_with(&format!("{id}_")));
        if looks_like_a_test_name && cited.is_empty() {
            wrong.push(format!("{}: no test is called {id_like}", item.text));
        }
        match item.status.as_str() {
            "C" if named => covered_by_name += 1,
            "N" => {}
            _ => still_to_cover.push(format!("{}  ({}, {})", item.text, item.spec, item.status)),
        }
    }
    println!(
        "UTS items that apply: {}; covered by a test that names them: {covered_by_name}; by status in the list: {by_status:?}",
        items.len()
    );
    println!(
        "not yet covered by a test that names them ({}):",
        still_to_cover.len()
    );
    for item in &still_to_cover {
        println!("  {item}");
    }
    assert_eq!(items.len(), 340, "the list has every item");
    assert!(wrong.is_empty(), "the list is wrong:\n{}", wrong.join("\n"));
    assert!(
        still_to_cover.is_empty(),
        "every item that applies is covered by a test that names it, or argued not to apply"
    );
    assert!(
        covered_by_name >= 320,
        "at least 320 of the 340 covered by a test"
    );
}
