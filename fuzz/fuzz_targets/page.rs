//! Page model on hostile bytes: header, tags, nodes with prefix keys, free
//! space arithmetic, space header and catalog decoding of every node never
//! panic, and every node returned lies inside the page; the page dump
//! (`page DB PGNO`) lists every tag in use and never panics.
#![no_main]
use eseutil::db::page::Page;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    let size = [2048usize, 4096, 8192, 16384, 32768][data[0] as usize % 5];
    let mut page = data[1..].to_vec();
    page.resize(size, 0);
    let class = eseutil::db::classify::classify_data(&page, 7, size > 8192);
    let Ok(p) = Page::new(7, page) else { return };
    let d = eseutil::db::dump::dump_page(&p, class, 0);
    assert!(d.tags.len() <= p.tag_count());
    assert_eq!(d.nodes.len(), d.tags.len().saturating_sub(1));
    let _ = p.space_sum();
    let _ = p.space_header();
    let _ = p.prefix();
    for (a, b) in eseutil::db::slack::slack_regions(&p) {
        assert!(a <= b && b <= size, "slack region {a}..{b} outside the page");
    }
    let large = size > 8192;
    for i in 0..p.tag_count().min(4096) {
        if let Ok(n) = p.node(i.max(1)) {
            assert!(n.data.len() < size);
            let _ = n.child();
            let _ = eseutil::db::catalog::decode_entry(n.data, large, 7);
            let _ = eseutil::parse::page::parse_extent(&n.key, n.data);
        }
    }
});
