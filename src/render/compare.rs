//! Text of a `--compare-with` page comparison (`/r`, `/cc`).

use std::fmt::Write;

use crate::db::compare::CompareReport;

/// Page numbers as ranges: `3-7, 9, 12-13`.
pub fn ranges(pgnos: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < pgnos.len() {
        let mut j = i;
        while j + 1 < pgnos.len() && pgnos[j + 1] == pgnos[j] + 1 {
            j += 1;
        }
        out.push(if i == j {
            pgnos[i].to_string()
        } else {
            format!("{}-{}", pgnos[i], pgnos[j])
        });
        i = j + 1;
    }
    out.join(", ")
}

/// The comparison section of the report.
pub fn compare_text(r: &CompareReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s);
    let _ = writeln!(s, "Comparison with {}:", r.reference.display());
    let Some(c) = &r.result else {
        let _ = writeln!(
            s,
            "  nothing compared: {}",
            r.error.as_deref().unwrap_or("no result")
        );
        return s;
    };
    let _ = writeln!(s, "  Recovered database: {}", c.recovered.display());
    let _ = writeln!(
        s,
        "  Pages: {} recovered, {} in the reference ({} bytes each)",
        c.pages_recovered, c.pages_reference, c.page_size
    );
    if !c.same_signature {
        let _ = writeln!(
            s,
            "  Database signatures differ: the files are different databases"
        );
    }
    let same = |b: bool| if b { "identical" } else { "different" };
    let _ = writeln!(
        s,
        "  Header copies: {}, {}",
        same(c.headers_identical[0]),
        same(c.headers_identical[1])
    );
    let n = &c.counts;
    let _ = writeln!(s, "  {:>6} identical", n.identical);
    let rows = [
        (
            n.flush_type_only,
            "identical except flush-type bits and checksum",
            &c.flush_type_only,
        ),
        (
            n.placement_only,
            "same nodes, other placement or free-space fields",
            &c.placement_only,
        ),
        (n.different, "different", &c.different),
        (
            n.only_in_recovered,
            "only in the recovered file",
            &c.only_in_recovered,
        ),
        (
            n.only_in_reference,
            "only in the reference file",
            &c.only_in_reference,
        ),
    ];
    for (count, what, pages) in rows {
        let list = if pages.is_empty() {
            String::new()
        } else {
            format!(": {}", ranges(pages))
        };
        let _ = writeln!(s, "  {count:>6} {what}{list}");
    }
    if n.only_in_one_file_blank > 0 {
        let _ = writeln!(
            s,
            "         ({} of the pages in one file only are blank)",
            n.only_in_one_file_blank
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_ranges() {
        assert_eq!(ranges(&[]), "");
        assert_eq!(ranges(&[3, 4, 5, 7, 9, 10]), "3-5, 7, 9-10");
    }
}
