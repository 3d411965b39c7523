//! Text rendering of a restore environment in Exchange eseutil's `/cm`
//! layout (`DBUTLIDumpRestoreEnv`, `eseutil/eseutil.cxx` ~3900–4011): every
//! line is `PrintField`, the label right-aligned in 30 columns (38 inside a
//! database block), a space, the value.

use std::fmt::Write;

use crate::parse::restore_env::RestoreEnv;

fn field(s: &mut String, width: usize, label: &str, value: &str) {
    let _ = writeln!(s, "{label:>width$} {value}");
}

fn join_path(dir: &Option<String>, file: &Option<String>) -> String {
    match (dir, file) {
        (Some(d), Some(f)) => format!("{}\\{}", d.trim_end_matches('\\'), f),
        (None, Some(f)) => f.clone(),
        (Some(d), None) => d.clone(),
        (None, None) => String::new(),
    }
}

/// The `/cm` dump. `range` is the restored log generations found in the
/// restore folder. Fields the 2007+ format does not carry (annotation,
/// server, instance names, restore and recover times) print empty or
/// `<none>`, and the recover status as `recoverNotStarted`.
pub fn dump(restore_path: &str, env: &RestoreEnv, range: Option<(u32, u32)>) -> String {
    let mut s = String::new();
    let w = 30;
    field(&mut s, w, "Restore log file:", restore_path);
    field(&mut s, w, "", "");
    field(&mut s, w, "Restore Path:", restore_path);
    field(&mut s, w, "Annotation:", "");
    field(&mut s, w, "Server:", "");
    field(
        &mut s,
        w,
        "Backup Instance:",
        env.log_base_name.as_deref().unwrap_or(""),
    );
    field(&mut s, w, "Target Instance:", "");
    field(
        &mut s,
        w,
        "Restore Instance System Path:",
        env.system_path_target.as_deref().unwrap_or(""),
    );
    field(
        &mut s,
        w,
        "Restore Instance Log Path:",
        env.log_path_target.as_deref().unwrap_or(""),
    );
    field(&mut s, w, "", "");
    field(
        &mut s,
        w,
        "Databases:",
        &format!("{} database(s)", env.databases.len()),
    );
    let dw = w + 8;
    for db in &env.databases {
        let name = db
            .edb_filename_original
            .as_deref()
            .map(|f| {
                f.rsplit(['\\', '/'])
                    .next()
                    .unwrap_or(f)
                    .trim_end_matches(".edb")
                    .to_string()
            })
            .unwrap_or_default();
        field(&mut s, dw, "Database Name:", &name);
        field(
            &mut s,
            dw,
            "GUID:",
            db.guid_original.as_deref().unwrap_or(""),
        );
        field(
            &mut s,
            dw,
            "Source Files:",
            &join_path(&db.edb_location_original, &db.edb_filename_original),
        );
        field(
            &mut s,
            dw,
            "Destination Files:",
            &join_path(
                &db.edb_location_target
                    .clone()
                    .or(db.edb_location_original.clone()),
                &db.edb_filename_target
                    .clone()
                    .or(db.edb_filename_original.clone()),
            ),
        );
        field(&mut s, dw, "", "");
    }
    field(&mut s, w, "", "");
    field(&mut s, w, "", "");
    let base = env.log_base_name.as_deref().unwrap_or("");
    let logs = match range {
        Some((lo, hi)) => format!("{base}{lo:08X}.log - {base}{hi:08X}.log"),
        None => "no log files restored".to_string(),
    };
    field(&mut s, w, "Log files range:", &logs);
    field(&mut s, w, "Last Restore Time:", "<none>");
    field(&mut s, w, "Recover Status:", "recoverNotStarted");
    field(&mut s, w, "Recover Error:", "0x00000000");
    field(&mut s, w, "Recover Time:", "<none>");
    s.push('\n');
    s
}
