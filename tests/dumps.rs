//! Page, node and space-category dumps (`/m /p`, `/mn [/a]`, `/mc`) and the
//! CSV log dump (`/ml /c`): corpus-free checks on a page crafted byte by
//! byte and on testdata/synth, corpus checks on real databases and logs.

mod common;

use std::path::{Path, PathBuf};

use common::{corpus, run};
use eseutil::checksum::seal_page;
use serde_json::Value;

fn json_of(args: &[&str]) -> (i32, Value) {
    let r = run(args);
    let v = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", r.stdout, r.stderr));
    (r.code, v)
}

fn put16(p: &mut [u8], off: usize, v: u16) {
    p[off..off + 2].copy_from_slice(&v.to_le_bytes());
}

/// A 4 KiB database whose page 2 is a non-root leaf with a 2-byte key
/// prefix and three nodes: plain, compressed + flag-deleted, versioned.
fn crafted_db(dir: &Path) -> PathBuf {
    let spec = eseutil::synth::DbSpec::default();
    let mut f = eseutil::synth::database(&spec, 3, 3);
    let ps = spec.page_size;
    let mut page = vec![0u8; ps];
    page[8..16].copy_from_slice(&0x222u64.to_le_bytes());
    page[24..28].copy_from_slice(&2u32.to_le_bytes());
    page[36..40].copy_from_slice(&(0x2u32 | 0x800 | 0x2000).to_le_bytes());
    // Lines after the 40-byte header: prefix, then the three nodes.
    let lines: [(&[u8], u8); 4] = [
        (&[0xab, 0xcd], 0),
        (&[2, 0, 0x01, 0x02, 0xaa, 0xbb, 0xcc], 0),
        (&[2, 0, 1, 0, 0x03, 0xdd], 0x6),
        (&[0, 0, 0xee, 0xff], 0x1),
    ];
    let mut ib = 0usize;
    for (itag, (l, flags)) in lines.iter().enumerate() {
        page[40 + ib..40 + ib + l.len()].copy_from_slice(l);
        let t = ps - 4 * (itag + 1);
        put16(&mut page, t, l.len() as u16);
        put16(&mut page, t + 2, ib as u16 | (u16::from(*flags) << 13));
        ib += l.len();
    }
    put16(&mut page, 28, (ps - 40 - ib - 16) as u16);
    put16(&mut page, 32, ib as u16);
    put16(&mut page, 34, 4);
    seal_page(&mut page, 2);
    f[3 * ps..4 * ps].copy_from_slice(&page);
    let p = dir.join("crafted.edb");
    std::fs::write(&p, f).unwrap();
    p
}

#[test]
fn page_dump_says_what_the_bytes_say() {
    let d = tempfile::tempdir().unwrap();
    let db = crafted_db(d.path());
    let db = db.to_str().unwrap();
    let (code, v) = json_of(&["page", db, "2", "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["pgno"], 2);
    assert_eq!(v["file_offset"], 3 * 4096);
    assert_eq!(v["header"]["dbtime"], 0x222);
    assert_eq!(v["header"]["objid"], 2);
    assert_eq!(v["header"]["itag_mic_free"], 4);
    assert_eq!(v["class"]["kind"], "data");
    assert_eq!(v["external_header_hex"], "abcd");
    let n = v["nodes"].as_array().unwrap();
    assert_eq!(n.len(), 3);
    assert_eq!(n[0]["key_hex"], "0102");
    assert_eq!(n[0]["data_hex"], "aabbcc");
    assert_eq!(n[0]["offset"], 42);
    assert_eq!(n[1]["key_hex"], "abcd03");
    assert_eq!(n[1]["suffix_hex"], "03");
    assert_eq!(n[1]["prefix_len"], 2);
    assert_eq!(n[1]["data_hex"], "dd");
    assert_eq!(
        n[1]["flag_names"],
        serde_json::json!(["deleted", "compressed"])
    );
    assert_eq!(n[2]["key_hex"], "");
    assert_eq!(n[2]["data_hex"], "eeff");
    assert_eq!(n[2]["flag_names"], serde_json::json!(["versioned"]));
    assert_eq!(v["deleted_nodes"], 1);
    assert_eq!(v["versioned_nodes"], 1);
    let tags = v["tags"].as_array().unwrap();
    assert_eq!(tags[2]["cb"], 6);
    assert_eq!(tags[2]["ib"], 9);
    assert_eq!(tags[2]["flags"], 6);
    // eseutil syntax, hex page number: the same document.
    let (_, w) = json_of(&["/m", db, "/p0x2", "--json"]);
    assert_eq!(v, w);
    // Octal, as wcstol reads a leading 0.
    let (_, w) = json_of(&["/m", db, "/p02", "--json"]);
    assert_eq!(v["nodes"], w["nodes"]);
    // Text: nodes and the hex view of the page's own offset.
    let r = run(&["/m", db, "/p2"]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout
            .contains("[2:2] deleted,compressed cb=6 prefix=2 key=abcd03 data(1)=dd"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("|00003000|"), "{}", r.stdout);
}

#[test]
fn nodes_dump_lists_deleted_only_with_all() {
    let d = tempfile::tempdir().unwrap();
    let db = crafted_db(d.path());
    let db = db.to_str().unwrap();
    let lines = |args: &[&str]| -> Vec<Value> {
        let r = run(args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let all = lines(&["/mn", db, "/a", "--json"]);
    let some = lines(&["nodes", db, "--json"]);
    assert_eq!(all.len(), 4);
    assert_eq!(some.len(), 3);
    assert!(all
        .iter()
        .any(|l| l["itag"] == 2 && l["flag_names"][0] == "deleted"));
    assert!(!some.iter().any(|l| l["itag"] == 2));
    let sum = some.last().unwrap();
    assert_eq!(sum["mode"], "nodes");
    assert_eq!(sum["deleted_nodes"], 1);
    assert_eq!(sum["nodes"], 2);
}

#[test]
fn header_and_shadow_dumps() {
    let db = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/synth/clean-4k.edb");
    let db = db.to_str().unwrap();
    let bytes = std::fs::read(db).unwrap();
    for (p, off) in [("-1", 0usize), ("0", 4096)] {
        let (code, v) = json_of(&["page", db, p, "--json"]);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["file_offset"], off);
        let stored = u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap());
        assert_eq!(v["copy"]["stored_checksum"], stored);
        assert_eq!(v["copy"]["checksum_ok"], true);
        let (_, w) = json_of(&["/m", db, &format!("/p{p}"), "--json"]);
        assert_eq!(v, w);
    }
    let r = run(&["/m", db, "/p0"]);
    assert!(
        r.stdout.contains("DATABASE HEADER (SHADOW):"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("|00001000|"), "{}", r.stdout);
    // /m without /p is the header dump (/mh).
    let r = run(&["/m", db]);
    assert!(r.stdout.contains("DATABASE HEADER:"), "{}", r.stdout);
}

#[test]
fn bad_page_numbers_and_order() {
    let db = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/synth/clean-4k.edb");
    let db = db.to_str().unwrap();
    for p in ["/p7", "/p-2", "/p0x7fffffff"] {
        let r = run(&["/m", db, p]);
        assert_eq!(r.code, 2, "{p}: {}", r.stderr);
        assert!(
            r.stderr.contains("clean-4k.edb") && r.stderr.contains("-1003"),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains("offset"), "{}", r.stderr);
    }
    // /k before /p, /d before /k: eseutil's usage error.
    assert_eq!(run(&["/m", db, "/k01", "/p1"]).code, 2);
    assert_eq!(run(&["/m", db, "/p1", "/d01"]).code, 2);
    // /mc ranges are decimal and ≥ 1.
    assert_eq!(run(&["/mc", db, "/p0:3"]).code, 2);
    assert_eq!(run(&["space-category", db, "x"]).code, 2);
}

/// The corpus folder and `dissect-esedb/basic.edb` in it.
fn basic_edb() -> Option<(PathBuf, String)> {
    let c = corpus()?;
    let b = c.join("dissect-esedb/basic.edb").to_str()?.to_string();
    Some((c, b))
}

#[test]
#[cfg_attr(not(corpus_present), ignore = "needs ../shared/corpus")]
fn real_deleted_nodes_and_torn_pages() {
    let Some((c, b)) = basic_edb() else { return };
    let b = b.as_str();
    let r = run(&["/mn", b, "/a"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("[26:1] deleted "), "{}", r.stdout);
    let r = run(&["/mn", b]);
    assert!(!r.stdout.contains("[26:1]"));
    // The catalog of a Windows Search catalog has flag-deleted nodes.
    let cat = c.join("plaso/Catalog1.edb");
    let r = run(&["nodes", cat.to_str().unwrap(), "--all", "--json"]);
    let sum: Value = serde_json::from_str(r.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(sum["deleted_nodes"], 15);
    // SRUDB.dat pages 143–158 are torn: dumped, exit 1, -1018.
    let sru = c.join("dissect-esedb/SRUDB.dat");
    let (code, v) = json_of(&["page", sru.to_str().unwrap(), "150", "--json"]);
    assert_eq!(code, 1);
    let kind = v["class"]["kind"].as_str().unwrap();
    assert!(kind == "bad_checksum" || kind == "foreign", "{kind}");
    let r = run(&["/m", sru.to_str().unwrap(), "/p150"]);
    assert!(r.stdout.contains("-1018"), "{}", r.stdout);
}

/// `/mn /t<table>` (eseutil.cxx `FEDBUTLParseDump`, esedump.cxx
/// `ErrESEDUMPTables`): only the table's trees; the name is matched
/// case-insensitively; `/t` alone lists nothing; an unknown table fails.
#[test]
#[cfg_attr(not(corpus_present), ignore = "needs ../shared/corpus")]
fn nodes_of_one_table() {
    let Some((_, b)) = basic_edb() else { return };
    let b = b.as_str();
    let sum = |args: &[&str]| -> Value {
        let r = run(args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        serde_json::from_str(r.stdout.lines().last().unwrap()).unwrap()
    };
    let one = sum(&["nodes", b, "--table", "basic", "--json"]);
    assert_eq!(
        (one["nodes"].as_u64(), one["pages_with_nodes"].as_u64()),
        (Some(2), Some(1))
    );
    let r = run(&["/mn", b, "/tBASIC"]);
    assert!(
        r.stdout.contains("[31:1]") && !r.stdout.contains("[4:"),
        "{}",
        r.stdout
    );
    // MSysObjects: its tree and its two secondary indexes (pages 4, 7, 10).
    let cat = sum(&["nodes", b, "--table=MSysObjects", "--json"]);
    assert!(cat["nodes"].as_u64().unwrap() >= 87 * 2, "{cat}");
    assert_eq!(sum(&["nodes", b, "--table", "--json"])["nodes"], 0);
    assert_eq!(run(&["/mn", b, "/tnope"]).code, 2);
}

#[test]
#[cfg_attr(not(corpus_present), ignore = "needs ../shared/corpus")]
fn space_category_of_a_range() {
    let Some(c) = corpus() else { return };
    let basic = c.join("dissect-esedb/basic.edb");
    let b = basic.to_str().unwrap();
    let (code, v) = json_of(&["/mc", b, "/p1:40", "--json"]);
    assert_eq!(code, 0, "{v}");
    let pages = v["pages"].as_array().unwrap();
    assert_eq!(pages.len(), 40);
    for (i, p) in pages.iter().enumerate() {
        assert_eq!(p["pgno"], i + 1);
        assert!(!p["categories"].as_array().unwrap().is_empty(), "{p}");
    }
    let cat = |n: usize| pages[n - 1]["categories"].clone();
    assert_eq!(cat(1), serde_json::json!(["root"]));
    assert_eq!(pages[0]["objid"], 1);
    assert_eq!(cat(2), serde_json::json!(["root", "space-oe"]));
    assert_eq!(cat(3), serde_json::json!(["root", "space-ae"]));
    assert_eq!(cat(4), serde_json::json!(["root"]));
    assert_eq!(pages[3]["objid"], 2);
    // Every tree root the catalog names is a root page of its object.
    for o in v["objects"].as_array().unwrap() {
        let root = o["root"].as_u64().unwrap() as usize;
        if root <= 40 {
            assert_eq!(pages[root - 1]["objid"], o["objid"]);
            assert!(cat(root).as_array().unwrap().contains(&"root".into()));
        }
    }
    // N:max runs to the end; the text is eseutil's CSV.
    let (_, v) = json_of(&["space-category", b, "250:max", "--json"]);
    assert_eq!(v["pages"].as_array().unwrap().len(), 5);
    assert_eq!(v["last"], Value::Null);
    let r = run(&["/mc", b, "/p1:3"]);
    assert!(r.stdout.contains("Pgno,Objid,Unkn,NotOwnedEof,NotOwned,Leaked,Inc,Ind,Avail,SpaceAE,SpaceOE,SmallSpace,SpBuffer,Root,Internal,Leaf\n1,1,"), "{}", r.stdout);
}

/// Splits one RFC 4180 row (no embedded newlines in these rows).
fn csv_cells(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cells.last_mut().unwrap().push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => cells.push(String::new()),
            _ => cells.last_mut().unwrap().push(ch),
        }
    }
    cells
}

#[test]
#[cfg_attr(not(corpus_present), ignore = "needs ../shared/corpus")]
fn log_csv_rows_equal_json_records() {
    let Some(c) = corpus() else { return };
    let log = c.join("secedit-logs-b/edb.log");
    let l = log.to_str().unwrap();
    let d = tempfile::tempdir().unwrap();
    let csv = d.path().join("out.csv");
    let cs = csv.to_str().unwrap();
    let r = run(&["/ml", l, &format!("/c{cs}")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows: Vec<Vec<String>> = std::fs::read_to_string(&csv)
        .unwrap()
        .lines()
        .skip(1)
        .map(csv_cells)
        .collect();
    let recs: Vec<Value> = run(&["ml", l, "--records", "--json"])
        .stdout
        .lines()
        .map(|x| serde_json::from_str(x).unwrap())
        .filter(|v: &Value| v.get("lgpos").is_some())
        .collect();
    assert_eq!(rows.len(), recs.len());
    assert!(rows.len() > 1000);
    for (row, rec) in rows.iter().zip(&recs) {
        assert_eq!(row[0], rec["lgpos"]["eseutil"].as_str().unwrap());
        assert_eq!(row[4], rec["lrtyp"].to_string());
        assert_eq!(row[5], rec["type"].as_str().unwrap());
        assert_eq!(row[6], rec["size"].to_string());
        let mut fields = rec.as_object().unwrap().clone();
        for k in ["lgpos", "lrtyp", "type", "size", "disk_bytes", "fragments"] {
            fields.remove(k);
        }
        let got: Value = serde_json::from_str(&row[9]).unwrap();
        assert_eq!(got, Value::Object(fields));
    }
    // An existing file is kept unless --force.
    let before = std::fs::read(&csv).unwrap();
    let r = run(&["/ml", l, "/c", cs]);
    assert_eq!(r.code, 2);
    assert_eq!(std::fs::read(&csv).unwrap(), before);
    assert_eq!(run(&["ml", l, "--csv", cs, "--force"]).code, 0);
    // A base name with a hex generation range (/r): gen 1 only.
    let base = c.join("secedit-logs-b/edb");
    let csv2 = d.path().join("r.csv");
    let r = run(&[
        "/ml",
        base.to_str().unwrap(),
        "/r1-1",
        "/c",
        csv2.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let n = std::fs::read_to_string(&csv2).unwrap().lines().count();
    assert_eq!(n, rows.len() + 1);
    assert!(std::fs::read_dir(d.path()).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".tmp")));
}

#[test]
#[cfg_attr(not(corpus_present), ignore = "needs ../shared/corpus")]
fn export_deleted_finds_the_flag_deleted_record() {
    let Some(c) = corpus() else { return };
    let db = c.join("dissect-esedb/Windows.edb");
    let db = db.to_str().unwrap();
    let t = "SystemIndex_PropertyStore";
    let r = run(&["export", db, "--table", t, "--deleted"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["found"] == "flag-deleted")
        .collect();
    // One flag-deleted node (the rest of --deleted is carved from slack
    // and freed pages, tests/export.rs).
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row["WorkID"], 1267);
    assert_eq!(row["found"], "flag-deleted");
    assert_eq!(row["confidence"], "high");
    // The node dump of that page says the same: tag 15 is flag-deleted.
    let (_, p) = json_of(&["page", db, &row["pgno"].to_string(), "--json"]);
    let node = &p["nodes"][row["itag"].as_u64().unwrap() as usize - 1];
    assert!(
        node["flag_names"]
            .as_array()
            .unwrap()
            .contains(&"deleted".into()),
        "{node}"
    );
    // Without --deleted the record is not exported.
    let live = run(&["export", db, "--table", t]);
    assert!(!live.stdout.lines().any(|l| l.contains("\"WorkID\":1267,")));
}
