//! `ACTIGEN_ISA` that is not valid Unicode is an error, never a silent fallback to the best
//! path. The choice is cached per process, so the check runs in a child process (this test
//! binary again, running only the ignored test below) with the variable set.

#[cfg(unix)]
#[test]
fn non_unicode_isa_is_an_error() {
    use std::os::unix::ffi::OsStrExt;
    // Under an emulator (qemu-user for aarch64) this binary cannot run itself as a child.
    let probe = std::process::Command::new(std::env::current_exe().unwrap())
        .arg("--list")
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!(
            "skipping: this test binary cannot run itself as a child here (an emulated target?)"
        );
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "child_reports_the_isa_error",
            "--nocapture",
        ])
        .env("ACTIGEN_ISA", std::ffi::OsStr::from_bytes(b"avx\xff2"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("is not valid Unicode"), "{stdout}");
}

#[test]
#[ignore = "run by non_unicode_isa_is_an_error, in a child process with ACTIGEN_ISA set"]
fn child_reports_the_isa_error() {
    let e = actigen::try_active_isa().unwrap_err();
    assert!(matches!(e, actigen::IsaError::NotUnicode(_)), "{e:?}");
    println!("{e}");
}
