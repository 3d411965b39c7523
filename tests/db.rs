//! Database modes `/g`, `/mm`, `/ms` on the real corpus, against the peer
//! reader dissect.esedb, and on mutated temp copies.

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

use common::{corpus, facts, run, run_json as json, sha256_file};

/// Every corpus database with its facts line.
fn databases(c: &Path) -> Vec<(String, Value)> {
    facts(c)
        .into_iter()
        .filter(|f| f["facts"]["page_size"].is_u64() && f["facts"]["pages"].is_object())
        .map(|f| (f["file"].as_str().unwrap().to_string(), f))
        .collect()
}

fn violation_pages(v: &Value) -> Vec<u64> {
    let mut p: Vec<u64> = v["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["pgno"].as_u64().unwrap())
        .collect();
    p.sort();
    p.dedup();
    p
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn g_is_clean_on_clean_corpus_and_finds_known_damage() {
    let Some(c) = corpus() else { return };
    let mut checked = 0;
    for (rel, f) in databases(&c) {
        let path = c.join(&rel);
        let before = sha256_file(&path);
        let (code, v) = json(&["g", "--json", path.to_str().unwrap()]);
        assert_eq!(sha256_file(&path), before, "{rel} changed");
        let bad = f["facts"]["pages"]["status"]["bad"].as_u64().unwrap();
        let pages = violation_pages(&v);
        if bad == 0 {
            assert_eq!(code, 0, "{rel}: {}", v["violations"]);
            assert!(pages.is_empty(), "{rel}: {}", v["violations"]);
        } else {
            // Every bad page of the facts is reported as -1018, and nothing else.
            assert_eq!(code, 1, "{rel}");
            assert_eq!(pages.len() as u64, bad, "{rel}: {pages:?}");
            for p in f["facts"]["pages"]["first_bad_pgnos"].as_array().unwrap() {
                assert!(
                    pages.contains(&p.as_u64().unwrap()),
                    "{rel}: {p} not reported"
                );
            }
            for x in v["violations"].as_array().unwrap() {
                assert_eq!(x["jet"]["code"], -1018, "{rel}: {x}");
            }
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} databases");
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn g_reports_srudb_foreign_pages_143_to_158() {
    let Some(c) = corpus() else { return };
    let p = c.join("dissect-esedb/SRUDB.dat");
    let (code, v) = json(&["g", "--json", p.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(violation_pages(&v), (143..=158).collect::<Vec<u64>>());
    let text = run(&["/g", p.to_str().unwrap()]);
    assert!(text.stdout.contains("page 143"), "{}", text.stdout);
    assert!(text.stdout.contains("-1018 JET_errReadVerifyFailure"));
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn g_on_dirty_databases_runs_and_explains() {
    let Some(c) = corpus() else { return };
    for rel in [
        "dissect-target/webcache-dirty/WebCacheV01.dat",
        "dissect-esedb/Windows.edb",
        "go-ese/Samples/qmgr.db",
        "ravendb-2012/Data",
    ] {
        let p = c.join(rel);
        let (code, v) = json(&["g", "--json", p.to_str().unwrap()]);
        assert!(code == 0 || code == 1, "{rel}: {code}");
        assert_eq!(v["dirty"], true, "{rel}");
        assert!(v["trees"].as_array().unwrap().len() > 3, "{rel}");
    }
    let p = c.join("dissect-target/webcache-dirty/WebCacheV01.dat");
    let (_, v) = json(&["g", "--json", p.to_str().unwrap()]);
    assert_eq!(violation_pages(&v).len(), 36);
    assert!(!v["warnings"].as_array().unwrap().is_empty());
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn mm_and_ms_run_on_every_corpus_database() {
    let Some(c) = corpus() else { return };
    for (rel, _) in databases(&c) {
        let p = c.join(&rel);
        let (_, v) = json(&["mm", "--json", p.to_str().unwrap()]);
        let tables = v["tables"].as_array().unwrap();
        assert!(
            tables.iter().any(|t| t["name"] == "MSysObjects"),
            "{rel}: no MSysObjects"
        );
        let (_, s) = json(&["ms", "--json", p.to_str().unwrap()]);
        let db = &s["objects"][0];
        assert_eq!(db["kind"], "database", "{rel}");
        assert!(db["owned"].as_u64().unwrap() > 0, "{rel}");
    }
}

/// Table names and record counts equal what dissect.esedb reads.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
#[cfg_attr(
    not(peer_present),
    ignore = "needs the peer: python3 with dissect.esedb"
)]
fn mm_counts_match_dissect_esedb() {
    let Some(c) = corpus() else { return };
    let Some(py) = common::peer_python() else {
        return;
    };
    let dbs = databases(&c);
    let paths: Vec<PathBuf> = dbs.iter().map(|(rel, _)| c.join(rel)).collect();
    let paths: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let peer = common::peer_script(&py, "peer_tables.py", &paths);
    let mut compared = 0;
    let mut errors = Vec::new();
    for (rel, _) in &dbs {
        let p = c.join(rel);
        let theirs = &peer[p.to_str().unwrap()];
        let Some(tables) = theirs["tables"].as_object() else {
            eprintln!("note: dissect.esedb cannot read {rel}: {}", theirs["error"]);
            continue;
        };
        let (_, v) = json(&["mm", "--json", p.to_str().unwrap()]);
        let mut ours: Vec<(String, u64)> = v["tables"]
            .as_array()
            .unwrap()
            .iter()
            // dissect.esedb does not skip flag-deleted nodes (fNDDeleted):
            // compare with live + flag-deleted records.
            .map(|t| {
                (
                    t["name"].as_str().unwrap().to_string(),
                    t["records"].as_u64().unwrap() + t["deleted_records"].as_u64().unwrap(),
                )
            })
            .collect();
        ours.sort();
        let mut theirs: Vec<(String, u64)> = tables
            .iter()
            .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
            .collect();
        theirs.sort();
        if ours != theirs {
            errors.push(format!("{rel}:\n ours   {ours:?}\n theirs {theirs:?}"));
        }
        // Columns (id, name, type) and index key columns.
        for t in v["tables"].as_array().unwrap() {
            let name = t["name"].as_str().unwrap();
            let sch = &peer[p.to_str().unwrap()]["schema"][name];
            let mut oc: Vec<(u64, String, u64)> = t["columns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c["id"].as_u64().unwrap(),
                        c["name"].as_str().unwrap().to_string(),
                        c["coltyp"].as_u64().unwrap(),
                    )
                })
                .collect();
            let mut tc: Vec<(u64, String, u64)> = sch["columns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c[0].as_u64().unwrap(),
                        c[1].as_str().unwrap().to_string(),
                        c[2].as_u64().unwrap(),
                    )
                })
                .collect();
            oc.sort();
            tc.sort();
            if oc != tc {
                errors.push(format!(
                    "{rel} {name}: columns\n ours   {oc:?}\n theirs {tc:?}"
                ));
            }
            for ix in t["indexes"].as_array().unwrap() {
                let iname = ix["name"].as_str().unwrap();
                let ok: Vec<u64> = ix["key"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|k| k["column_id"].as_u64().unwrap())
                    .collect();
                let tk: Vec<u64> = sch["indexes"][iname]
                    .as_array()
                    .map(|a| a.iter().map(|x| x.as_u64().unwrap()).collect())
                    .unwrap_or_default();
                if ok != tk {
                    errors.push(format!(
                        "{rel} {name}.{iname}: key ours {ok:?} theirs {tk:?}"
                    ));
                }
            }
        }
        compared += 1;
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(compared >= 25, "only {compared} compared");
}

// ---------------------------------------------------------------------------
// Mutation tests on temp copies.

use eseutil::db::page::Page;
use eseutil::db::Database;

struct Copy {
    _dir: tempfile::TempDir,
    path: PathBuf,
    ps: usize,
    bytes: Vec<u8>,
}

impl Copy {
    fn new(src: &Path) -> Copy {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("copy.edb");
        std::fs::copy(src, &path).unwrap();
        let db = Database::open(&path, None).unwrap();
        let ps = db.page_size;
        Copy {
            _dir: dir,
            bytes: std::fs::read(&path).unwrap(),
            path,
            ps,
        }
    }
    fn page(&self, pgno: u32) -> Page {
        let o = (pgno as usize + 1) * self.ps;
        Page::new(pgno, self.bytes[o..o + self.ps].to_vec()).unwrap()
    }
    /// Applies `f` to page `pgno`, re-seals its checksum and writes the file.
    fn mutate(&mut self, pgno: u32, f: impl FnOnce(&mut [u8])) {
        let o = (pgno as usize + 1) * self.ps;
        let p = &mut self.bytes[o..o + self.ps];
        f(p);
        eseutil::checksum::seal_page(p, pgno);
        std::fs::write(&self.path, &self.bytes).unwrap();
    }
    fn g(&self) -> (i32, Value) {
        json(&["g", "--json", self.path.to_str().unwrap()])
    }
}

/// The catalog of basic.edb: root 4 over two leaves.
fn catalog_leaves(c: &Copy) -> (u32, u32) {
    let root = c.page(4);
    assert!(!root.hdr.is_leaf());
    let kids: Vec<u32> = root
        .nodes()
        .unwrap()
        .iter()
        .map(|n| n.child().unwrap())
        .collect();
    assert!(kids.len() >= 2, "{kids:?}");
    (kids[0], kids[1])
}

fn basic() -> Option<PathBuf> {
    corpus().map(|c| c.join("dissect-esedb/basic.edb"))
}

fn assert_caught(v: &Value, code: i32, pgno: u32, what: &str) {
    assert_eq!(code, 1, "{what}: not caught: {}", v["violations"]);
    assert!(
        v["violations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["pgno"] == pgno && x["jet"]["code"] != -1018),
        "{what}: page {pgno} not named structurally: {}",
        v["violations"]
    );
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn mutation_sibling_link() {
    let Some(src) = basic() else { return };
    let mut c = Copy::new(&src);
    let (a, _) = catalog_leaves(&c);
    c.mutate(a, |p| p[20..24].copy_from_slice(&0u32.to_le_bytes()));
    let (code, v) = c.g();
    assert_caught(&v, code, a, "pgnoNext cleared");
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn mutation_swapped_keys() {
    let Some(src) = basic() else { return };
    let mut c = Copy::new(&src);
    let (a, _) = catalog_leaves(&c);
    let ps = c.ps;
    c.mutate(a, |p| {
        // swap the tags of nodes 1 and 2
        let (t1, t2) = (ps - 8, ps - 12);
        let x: Vec<u8> = p[t1..t1 + 4].to_vec();
        p.copy_within(t2..t2 + 4, t1);
        p[t2..t2 + 4].copy_from_slice(&x);
    });
    let (code, v) = c.g();
    assert_caught(&v, code, a, "swapped keys");
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn mutation_wrong_child() {
    let Some(src) = basic() else { return };
    let mut c = Copy::new(&src);
    let (a, b) = catalog_leaves(&c);
    let root = c.page(4);
    let n = root.node(1).unwrap();
    let t = root.tag(1).unwrap();
    let end = root.hdr.header_size + t.ib as usize + t.cb as usize;
    assert_eq!(n.child(), Some(a));
    c.mutate(4, |p| p[end - 4..end].copy_from_slice(&b.to_le_bytes()));
    let (code, v) = c.g();
    assert_caught(&v, code, 4, "parent points at the wrong child");
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn mutation_zeroed_tag() {
    let Some(src) = basic() else { return };
    let mut c = Copy::new(&src);
    let (_, b) = catalog_leaves(&c);
    let ps = c.ps;
    c.mutate(b, |p| p[ps - 12..ps - 8].fill(0));
    let (code, v) = c.g();
    assert_caught(&v, code, b, "zeroed tag");
}

#[test]
fn hostile_pages_never_panic() {
    // Every page of a synthetic database overwritten with patterns.
    for ps in [4096usize, 8192, 16384, 32768] {
        for fill in [0x00u8, 0xFF, 0x41] {
            let mut page = vec![fill; ps];
            page[34] = 0xFF;
            page[35] = 0x0F;
            eseutil::checksum::seal_page(&mut page, 5);
            if let Ok(p) = Page::new(5, page) {
                let _ = p.nodes();
                let _ = p.space_sum();
                let _ = p.space_header();
            }
        }
    }
}

/// Whole synthetic databases whose pages are sealed garbage: every mode
/// finishes (no panic, no hang) with a documented exit status.
#[test]
fn hostile_databases_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    for (ps, seed) in [(4096usize, 1u32), (8192, 7), (32768, 3)] {
        let spec = eseutil::synth::DbSpec {
            page_size: ps,
            ..Default::default()
        };
        let mut f = eseutil::synth::database(&spec, 40, 40);
        // Scramble the data area of every page with an LCG, keep a
        // plausible header, and re-seal.
        let mut x = seed;
        for pgno in 1..=40u32 {
            let o = (pgno as usize + 1) * ps;
            let p = &mut f[o..o + ps];
            for b in p[40..].iter_mut() {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                *b = (x >> 16) as u8;
            }
            p[24..28].copy_from_slice(&(pgno % 5).to_le_bytes());
            p[16..24].copy_from_slice(&[(x % 45) as u8, 0, 0, 0, (x % 41) as u8, 0, 0, 0]);
            p[34] = (x % 9) as u8;
            eseutil::checksum::seal_page(p, pgno);
        }
        let path = dir.path().join(format!("h{ps}.edb"));
        std::fs::write(&path, &f).unwrap();
        for mode in ["g", "mm", "ms"] {
            let r = run(&[mode, "--json", path.to_str().unwrap()]);
            assert!(
                [0, 1, 5].contains(&r.code),
                "{mode} {ps}: exit {} {}",
                r.code,
                r.stderr
            );
            assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
        }
    }
}
