//! `/cm` on restore environments written by the test in the documented
//! Exchange 2007/2010 tagged format (no public sample exists).

mod common;

use common::run;

const ENV: &str = "<DATABASE_RESTORE_ENVIRONMENT>\r\n\
    <VERSION_STAMP>\r\n        1\r\n    <VERSION_STAMP>\r\n\
    <DATABASE_GUID_ORIGINAL>\r\n        {A2CFF078-782F-4BFE-9443-4BFEA1B46055}\r\n    </DATABASE_GUID_ORIGINAL>\r\n\
    <DATABASE_GUID_TARGET>\r\n        {A2CFF078-782F-4BFE-9443-4BFEA1B46055}\r\n    </DATABASE_GUID_TARGET>\r\n\
    <EDB_LOCATION_ORIGINAL>\r\n        D:\\Exchsrvr\\DB1\r\n    </EDB_LOCATION_ORIGINAL>\r\n\
    <EDB_LOCATION_TARGET>\r\n        E:\\Restore\r\n    </EDB_LOCATION_TARGET>\r\n\
    <EDB_FILENAME_ORIGINAL>\r\n        York1.edb\r\n    </EDB_FILENAME_ORIGINAL>\r\n\
    <EDB_FILENAME_TARGET>\r\n        York1.edb\r\n    </EDB_FILENAME_TARGET>\r\n\
    <PRIVATE_MDB>\r\n        1\r\n    </PRIVATE_MDB>\r\n\
    <LOG_SIGNATURE_ID>\r\n        3369478985\r\n    </LOG_SIGNATURE_ID>\r\n\
    <LOG_BASE_NAME>\r\n        E01\r\n    </LOG_BASE_NAME>\r\n\
    <LOG_PATH_TARGET>\r\n        E:\\Restore\r\n    </LOG_PATH_TARGET>\r\n\
    <SYSTEM_PATH_TARGET>\r\n        E:\\Restore\r\n    </SYSTEM_PATH_TARGET>\r\n\
</DATABASE_RESTORE_ENVIRONMENT>\r\n";

#[test]
fn dump_in_exchange_layout() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("E01Restore.env"), ENV).unwrap();
    for g in [0x7Bu32, 0x7C, 0x7D] {
        std::fs::write(d.path().join(format!("E01{g:08X}.log")), b"").unwrap();
    }
    let r = run(&["/cm", d.path().to_str().unwrap(), "/o"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let dir = d.path().display().to_string();
    let f = |w: usize, label: &str, value: &str| format!("{label:>w$} {value}");
    let expect = [
        f(30, "Restore log file:", &dir),
        f(30, "Restore Path:", &dir),
        f(30, "Backup Instance:", "E01"),
        f(30, "Restore Instance Log Path:", "E:\\Restore"),
        f(30, "Databases:", "1 database(s)"),
        f(38, "Database Name:", "York1"),
        f(38, "GUID:", "{A2CFF078-782F-4BFE-9443-4BFEA1B46055}"),
        f(38, "Source Files:", "D:\\Exchsrvr\\DB1\\York1.edb"),
        f(38, "Destination Files:", "E:\\Restore\\York1.edb"),
        f(30, "Log files range:", "E010000007B.log - E010000007D.log"),
        f(30, "Last Restore Time:", "<none>"),
        f(30, "Recover Status:", "recoverNotStarted"),
        f(30, "Recover Error:", "0x00000000"),
    ];
    for line in expect {
        assert!(
            r.stdout.lines().any(|l| l == line),
            "missing line {line:?} in:\n{}",
            r.stdout
        );
    }
    // Label column: 30 characters then a space, as PrintField prints it.
    assert!(r
        .stdout
        .lines()
        .any(|l| l.len() > 31 && &l[..31] == "                 Restore Path: "));
    let j = run(&[
        "cm",
        d.path().join("E01Restore.env").to_str().unwrap(),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    assert_eq!(v["restore_env"]["log_base_name"], "E01");
    assert_eq!(
        v["restored_log_generations"],
        serde_json::json!([0x7B, 0x7D])
    );
}

#[test]
fn no_logs_and_binary_and_missing() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("restore.env"), ENV).unwrap();
    let r = run(&["/cm", d.path().to_str().unwrap()]);
    assert!(r.stdout.contains("Log files range: no log files restored"));
    std::fs::write(
        d.path().join("restore.env"),
        [1u8, 0, 0, 0, 0x10, 0x20, 0x30, 0, 0, 0, 7, 7],
    )
    .unwrap();
    let r = run(&["/cm", d.path().to_str().unwrap()]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("Exchange 2000/2003") && r.stderr.contains("not supported"),
        "{}",
        r.stderr
    );
    let e = tempfile::tempdir().unwrap();
    let r = run(&["/cm", e.path().to_str().unwrap()]);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("no restore.env"));
    std::fs::write(
        e.path().join("restore.env"),
        "<LOG_BASE_NAME>E01</LOG_BASE_NAME><BAD TAG>",
    )
    .unwrap();
    let r = run(&["/cm", e.path().to_str().unwrap()]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("offset 34"), "{}", r.stderr);
}
