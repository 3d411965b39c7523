fn main() {
    let p = std::env::args().nth(1).unwrap();
    let db = eseutil::db::Database::open(std::path::Path::new(&p), None).unwrap();
    let (r, cat) = eseutil::db::check::check(&db);
    for t in &r.trees {
        println!("{:30} {:10} objid {:5} root {:5} depth {} pages {} sp {} rec {} del {} owned {} avail {} me {}", t.name, t.kind, t.objid, t.pgno_fdp, t.depth, t.pages, t.space_tree_pages, t.records, t.deleted, t.owned_pages, t.available_pages, t.multiple_extent);
    }
    println!(
        "in trees {} avail {} unaccounted {:?}",
        r.pages_in_trees, r.pages_available, r.pages_unaccounted
    );
    for v in &r.violations {
        println!("V page {} tree {} {} {}", v.pgno, v.tree, v.jet, v.detail);
    }
    for v in r.warnings.iter().take(5) {
        println!("E page {} tree {} {} {}", v.pgno, v.tree, v.jet, v.detail);
    }
    println!(
        "violations {} explained {} catalog entries {} undecodable {}",
        r.violations.len(),
        r.warnings.len(),
        cat.entries.len(),
        cat.undecodable.len()
    );
}
