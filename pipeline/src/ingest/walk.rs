//! Finding the files of a policy folder: hidden files and `.controlmapignore`d paths are
//! left out, and symlinks are followed only when they stay inside the folder.

use std::path::{Path, PathBuf};

/// A file to read, with its path relative to the folder (always `/`-separated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundFile {
    pub path: PathBuf,
    pub rel: String,
}

/// What the walk found: files to read, and paths it could not enter or chose not to follow.
#[derive(Debug, Default)]
pub struct Walk {
    pub files: Vec<FoundFile>,
    pub skipped: Vec<(String, String)>,
}

/// Walks `root` in a stable (sorted) order.
pub fn walk(root: &Path) -> std::io::Result<Walk> {
    let canon_root = fs_err::canonicalize(root)?;
    let mut out = Walk::default();
    let walker = ignore::WalkBuilder::new(root)
        .hidden(true)
        .follow_links(false)
        .git_ignore(false)
        .git_global(false)
        .git_exclude(false)
        .ignore(false)
        .parents(false)
        .add_custom_ignore_filename(".controlmapignore")
        .sort_by_file_name(|a, b| a.cmp(b))
        .build();
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                out.skipped.push(("?".into(), e.to_string()));
                continue;
            }
        };
        let path = entry.path();
        let rel = rel_path(root, path);
        let Some(ft) = entry.file_type() else {
            continue;
        };
        if ft.is_symlink() {
            match fs_err::canonicalize(path) {
                Ok(target) if target.starts_with(&canon_root) && target.is_file() => {}
                Ok(target) if target.is_dir() => {
                    out.skipped
                        .push((rel, "symbolic link to a folder: not followed".into()));
                    continue;
                }
                Ok(target) if target.starts_with(&canon_root) => {
                    out.skipped.push((
                        rel,
                        "symbolic link to something that is not a regular file: not followed"
                            .into(),
                    ));
                    continue;
                }
                Ok(_) => {
                    out.skipped
                        .push((rel, "symbolic link leaving the folder: not followed".into()));
                    continue;
                }
                Err(_) => {
                    out.skipped.push((rel, "broken symbolic link".into()));
                    continue;
                }
            }
        } else if !ft.is_file() {
            // Reading a pipe could block for ever; devices and sockets hold no documents.
            if !ft.is_dir() {
                out.skipped.push((
                    rel,
                    "not a regular file (a pipe, socket or device): not read".into(),
                ));
            }
            continue;
        }
        out.files.push(FoundFile {
            path: path.to_path_buf(),
            rel,
        });
    }
    Ok(out)
}

/// A file's key: its path relative to the folder, `/`-separated, one [`name_key`] per part.
fn rel_path(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| name_key(c.as_os_str()))
        .collect::<Vec<_>>()
        .join("/")
}

/// A file name as text that stays distinct for distinct names. A name that is valid UTF-8
/// (and holds no U+FFFD) is itself. Otherwise each byte that is not valid UTF-8, and each
/// byte of a U+FFFD, is written as U+FFFD and two hex digits: the name reads as a lossy
/// display would show it, and names that differ only in such bytes keep different keys
/// (the mapping is one-to-one: every U+FFFD of the key starts an escaped byte).
#[cfg(unix)]
pub fn name_key(name: &std::ffi::OsStr) -> String {
    use std::os::unix::ffi::OsStrExt;
    const MARK: char = '\u{FFFD}';
    let bytes = name.as_bytes();
    if let Ok(s) = std::str::from_utf8(bytes)
        && !s.contains(MARK)
    {
        return s.to_string();
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    let escape = |out: &mut String, b: u8| {
        out.push(MARK);
        out.push_str(&format!("{b:02x}"));
    };
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == MARK {
                let mut buf = [0u8; 4];
                for &b in MARK.encode_utf8(&mut buf).as_bytes() {
                    escape(&mut out, b);
                }
            } else {
                out.push(c);
            }
        }
        for &b in chunk.invalid() {
            escape(&mut out, b);
        }
    }
    out
}

/// A file name as text (on this system names are Unicode; unpaired surrogates are shown
/// lossily).
#[cfg(not(unix))]
pub fn name_key(name: &std::ffi::OsStr) -> String {
    name.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn names_that_differ_only_in_invalid_utf8_keep_distinct_keys() {
        use std::{ffi::OsStr, os::unix::ffi::OsStrExt};
        let key = |b: &[u8]| name_key(OsStr::from_bytes(b));
        assert_eq!(key(b"policy.md"), "policy.md");
        assert_eq!(key("café.md".as_bytes()), "café.md");
        let names: [&[u8]; 5] = [
            b"a\xff.md",
            b"a\xfe.md",
            "a\u{FFFD}.md".as_bytes(),
            "a\u{FFFD}ff.md".as_bytes(),
            b"a\xef\xbf\xbd.md",
        ];
        let keys: Vec<String> = names.iter().map(|n| key(n)).collect();
        assert_eq!(keys[0], "a\u{FFFD}ff.md");
        assert_ne!(keys[0], keys[1]);
        assert_ne!(keys[0], keys[3], "a literal U+FFFD is escaped too");
        // The last is the same bytes as the third: the same key.
        assert_eq!(keys[2], keys[4]);
        let distinct: std::collections::HashSet<&String> = keys[..4].iter().collect();
        assert_eq!(distinct.len(), 4);
    }

    #[test]
    fn skips_hidden_and_ignored_and_outside_links() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("policies");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::write(root.join("a.md"), "a").unwrap();
        std::fs::write(root.join("sub/b.txt"), "b").unwrap();
        std::fs::write(root.join("sub/draft.md"), "d").unwrap();
        std::fs::write(root.join(".hidden.md"), "h").unwrap();
        std::fs::write(root.join(".git/config"), "g").unwrap();
        std::fs::write(root.join(".controlmapignore"), "draft.md\n").unwrap();
        std::fs::write(t.path().join("secret.txt"), "s").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(t.path().join("secret.txt"), root.join("escape.txt"))
                .unwrap();
            std::os::unix::fs::symlink(root.join("a.md"), root.join("inside.md")).unwrap();
        }
        let w = walk(&root).unwrap();
        let rels: Vec<&str> = w.files.iter().map(|f| f.rel.as_str()).collect();
        #[cfg(unix)]
        assert_eq!(rels, vec!["a.md", "inside.md", "sub/b.txt"]);
        #[cfg(unix)]
        assert!(
            w.skipped
                .iter()
                .any(|(p, r)| p == "escape.txt" && r.contains("leaving"))
        );
        #[cfg(not(unix))]
        assert_eq!(rels, vec!["a.md", "sub/b.txt"]);
    }

    #[cfg(unix)]
    #[test]
    fn pipes_are_reported_not_read() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("a.md"), "a").unwrap();
        let fifo = t.path().join("queue.txt");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            return; // no mkfifo here; nothing to test
        }
        std::os::unix::fs::symlink(&fifo, t.path().join("link-to-queue.txt")).unwrap();
        let w = walk(t.path()).unwrap();
        let rels: Vec<&str> = w.files.iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(rels, vec!["a.md"]);
        let reasons: Vec<(&str, &str)> = w
            .skipped
            .iter()
            .map(|(p, r)| (p.as_str(), r.as_str()))
            .collect();
        assert!(
            reasons.contains(&(
                "queue.txt",
                "not a regular file (a pipe, socket or device): not read"
            )),
            "{reasons:?}"
        );
        assert!(
            reasons
                .iter()
                .any(|(p, r)| *p == "link-to-queue.txt" && r.contains("not a regular file")),
            "{reasons:?}"
        );
    }
}
