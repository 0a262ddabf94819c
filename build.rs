//! Embeds every knowledge-base file (knowledge/*.toml) into the binary, so
//! adding a write-up never means editing a second list.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // Read at run time: a build script compiled in another checkout (a
    // shared or copied target directory) must still embed this one's files.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest_dir).join("knowledge");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("knowledge/ directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut out = String::from("pub(crate) static FILES: &[(&str, &str)] = &[\n");
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .ok();
    }
    out.push_str("];\n");
    let out_path =
        Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("knowledge_files.rs");
    std::fs::write(out_path, out).expect("write knowledge index");
}
