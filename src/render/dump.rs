//! Text of the page, node and space-category dumps, and the CSV form of
//! the log dump. The page layout follows `CPAGE::DumpHeader` /
//! `CPAGE::DumpTags` (`ese/cpage.cxx`): header fields by name, then the tag
//! array, then the nodes; the raw bytes are shown by `hexyl`.

use std::fmt::Write;

use crate::db::dump::{NodeDump, PageDump};
use crate::db::spacecat::COLUMNS;
use crate::report::dump::{HeaderPageReport, NodeLine, PageReport, SpaceCategoryReport};
use crate::report::log_dump::RecordLine;

/// A hex view of `bytes` whose first byte is at `offset`: hexyl, 16 bytes
/// a line, ASCII in the character panel, runs of identical lines squeezed
/// to a `*` line as hexdump does.
pub fn hex_view(bytes: &[u8], offset: u64, color: bool) -> String {
    let mut out: Vec<u8> = Vec::new();
    let mut p = hexyl::PrinterBuilder::new(&mut out)
        .show_color(color)
        .show_char_panel(true)
        .show_position_panel(true)
        .with_border_style(hexyl::BorderStyle::Ascii)
        .enable_squeezing(true)
        .character_table(hexyl::CharacterTable::Ascii)
        .num_panels(2)
        .group_size(1)
        .build();
    p.display_offset(offset);
    // Writing into a Vec cannot fail.
    let _ = p.print_all(bytes);
    String::from_utf8_lossy(&out).into_owned()
}

fn header_lines(s: &mut String, d: &PageDump) {
    let h = &d.header;
    let _ = writeln!(
        s,
        "        Page: {} (file offset 0x{:X}, {} bytes)",
        d.pgno, d.file_offset, d.page_size
    );
    let _ = writeln!(
        s,
        "       Class: {}{}",
        d.class.kind.describe(),
        d.class.note.map(|n| format!(" ({n})")).unwrap_or_default()
    );
    let _ = writeln!(
        s,
        "    Checksum: {}",
        crate::db::btree::verdict_text(&d.class.checksum)
    );
    let _ = writeln!(s, "\nPage header:");
    let _ = writeln!(s, "             checksum: 0x{:016X}", h.checksum);
    let _ = writeln!(s, "        dbtimeDirtied: {} (0x{:X})", h.dbtime, h.dbtime);
    let _ = writeln!(s, "             pgnoPrev: {}", h.pgno_prev);
    let _ = writeln!(s, "             pgnoNext: {}", h.pgno_next);
    let _ = writeln!(s, "             objidFDP: {}", h.objid);
    let _ = writeln!(s, "               cbFree: {}", h.cb_free);
    let _ = writeln!(s, "    cbUncommittedFree: {}", h.cb_uncommitted_free);
    let _ = writeln!(s, "            ibMicFree: {}", h.ib_mic_free);
    let _ = writeln!(s, "         ctagReserved: {}", h.reserved_tags);
    let _ = writeln!(s, "          itagMicFree: {}", h.itag_mic_free);
    let _ = writeln!(
        s,
        "               fFlags: 0x{:08X} ({})",
        h.flags,
        d.flag_names.join(", ")
    );
    if let Some(p) = h.pgno {
        let _ = writeln!(s, "                 pgno: {p}");
    }
    let _ = writeln!(s, "            tree kind: {}", d.tree_kind);
    if let Some(sp) = &d.space_header {
        let _ = writeln!(
            s,
            "         space header: cpgPrimary {}, pgnoParent {}, {}",
            sp.cpg_primary,
            sp.pgno_parent,
            match sp.pgno_oe() {
                Some(oe) => format!("multiple extent (OE root {oe}, AE root {})", oe + 1),
                None => format!("single extent (avail map 0x{:08X})", sp.avail_or_oe),
            }
        );
    }
}

/// One node, on one line: `[pgno:itag] flags key=… data=…`.
pub fn node_text(n: &NodeDump) -> String {
    let mut s = format!("[{}:{}] ", n.pgno, n.itag);
    if let Some(e) = &n.error {
        let _ = write!(s, "cb={} ERROR: {e}", n.cb);
        return s;
    }
    let flags = if n.flag_names.is_empty() {
        "-".to_string()
    } else {
        n.flag_names.join(",")
    };
    let _ = write!(
        s,
        "{flags} cb={} prefix={} key={} data({})={}",
        n.cb, n.prefix_len, n.key_hex, n.data_len, n.data_hex
    );
    if let Some(c) = n.child {
        let _ = write!(s, " child={c}");
    }
    s
}

/// The `page DB PGNO` text for a data page; `bytes` are the page's own,
/// shown in the hex view.
pub fn page(r: &PageReport, bytes: &[u8], color: bool) -> String {
    let d = &r.page;
    let mut s = String::new();
    if !r.seek_path.is_empty() {
        let path: Vec<String> = r.seek_path.iter().map(u32::to_string).collect();
        let _ = writeln!(s, "   Seek path: {}", path.join(" -> "));
    }
    header_lines(&mut s, d);
    let _ = writeln!(
        s,
        "\nTAG   cb    ib  flags  (tag array at the end of the page)"
    );
    for t in &d.tags {
        let _ = write!(s, "{:3} {:5} {:5}  0x{:X}", t.itag, t.cb, t.ib, t.flags);
        match &t.error {
            Some(e) => {
                let _ = writeln!(s, "  ERROR: {e}");
            }
            None => s.push('\n'),
        }
    }
    let _ = writeln!(
        s,
        "\nExternal header (tag 0): {}",
        if d.external_header_hex.is_empty() {
            "(empty)"
        } else {
            &d.external_header_hex
        }
    );
    let _ = writeln!(
        s,
        "\nNodes: {} ({} flag-deleted, {} versioned)",
        d.nodes.len(),
        d.deleted_nodes,
        d.versioned_nodes
    );
    for n in &d.nodes {
        let _ = writeln!(s, "{}", node_text(n));
    }
    let _ = writeln!(s, "\nRaw dump:");
    s.push_str(&hex_view(bytes, d.file_offset, color));
    s.push('\n');
    s
}

/// The `page DB -1` / `page DB 0` text: the header copy as `/mh` prints
/// it, then its bytes.
pub fn header_page(r: &HeaderPageReport, bytes: &[u8], color: bool) -> String {
    let title = if r.requested == -1 {
        "DATABASE HEADER:"
    } else {
        "DATABASE HEADER (SHADOW):"
    };
    let mut s = super::header::header_copy(title, &r.copy, None, color);
    if let Some(h) = &r.copy.header {
        s.push_str(&super::header::fields(h, color));
    }
    let _ = writeln!(s, "\nRaw dump:");
    s.push_str(&hex_view(bytes, r.file_offset, color));
    s.push('\n');
    s
}

/// One line of `nodes DB` text.
pub fn node_line(l: &NodeLine<'_>) -> String {
    let mut s = node_text(l.node);
    if l.page_empty {
        s.push_str(" (page freed)");
    }
    s
}

/// The `space-category` text: the range, eseutil's verbose CSV
/// (`EseutilDumpSpaceCat`), the objects and the totals.
pub fn space_category(r: &SpaceCategoryReport) -> String {
    let mut s = String::new();
    let last = r.last.map_or("max".to_string(), |l| l.to_string());
    let _ = writeln!(s, "       Page range: {}:{last}\n", r.first);
    let names: Vec<&str> = COLUMNS.iter().map(|(_, n)| *n).collect();
    let _ = writeln!(s, "Pgno,Objid,{}", names.join(","));
    for p in &r.pages {
        let cells: Vec<&str> = COLUMNS
            .iter()
            .map(|(f, _)| if p.flags & f != 0 { "1" } else { "0" })
            .collect();
        let _ = writeln!(s, "{},{},{}", p.pgno, p.objid, cells.join(","));
    }
    let _ = writeln!(s, "\nObjects:");
    for o in &r.objects {
        let _ = writeln!(
            s,
            "  objid {:>6}  root {:>8}  {:<10} {}{}",
            o.objid,
            o.root,
            o.kind,
            o.name,
            if o.table.is_empty() || o.table == o.name {
                String::new()
            } else {
                format!(" ({})", o.table)
            }
        );
    }
    let _ = writeln!(s, "\nPages per category:");
    for (k, v) in &r.totals {
        let _ = writeln!(s, "  {k:<14} {v}");
    }
    if !r.problems.is_empty() {
        let _ = writeln!(s, "\nProblems ({}):", r.problems.len());
        for p in &r.problems {
            let _ = writeln!(s, "  page {}: {} ({})", p.pgno, p.detail, p.jet.code);
        }
    }
    s
}

/// The header row of `/ml … /c FILE`.
pub const ML_CSV_HEADER: &str =
    "lgpos,generation,sector,offset,lrtyp,type,size,disk_bytes,fragments,fields\n";

/// One row of `/ml … /c FILE`: the fields of the `--records --json` line,
/// the decoded ones as one compact JSON object in the last column.
pub fn ml_csv_row(r: &RecordLine) -> String {
    use super::export::csv_field;
    let mut fields = serde_json::to_value(&r.info).unwrap_or_default();
    if fields.as_object().is_some_and(|m| m.is_empty()) {
        fields = serde_json::Value::Object(Default::default());
    }
    let cells = [
        csv_field(&r.lgpos.eseutil_text()),
        r.lgpos.generation.to_string(),
        r.lgpos.sector.to_string(),
        r.lgpos.offset.to_string(),
        r.lrtyp.to_string(),
        csv_field(r.type_name),
        r.size.to_string(),
        r.disk_bytes.to_string(),
        r.fragments.to_string(),
        csv_field(&fields.to_string()),
    ];
    let mut s = cells.join(",");
    s.push('\n');
    s
}
