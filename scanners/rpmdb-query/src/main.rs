//! `rpmdb-query`: list a root's or an image's installed packages as
//! `rpm --root R -qa --qf '%{NAME} %{EPOCH} %{VERSION} %{RELEASE} %{ARCH}\n'` does.

use atomic_protocol::image::ImageArgs;
use clap::Parser;
use rpmdb::db::Database;
use rpmdb::layers::InstallLayers;
use rpmdb::package::FileTable;
use rpmdb::root::Root;
use rpmdb::InstalledPackages;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// List the installed RPM packages of a root filesystem or an image, without rpm.
///
/// Exit status: 0 listed; 1 listed, but some records could not be read (each is named on
/// stderr); 2 no database could be opened, or the listing could not be written.
///
/// Examples:
///   rpmdb-query --root /mnt/image
///   rpmdb-query --image docker://registry.example.org/team/app:1.4 --layers
///   rpmdb-query --image oci-archive:app.tar --files
///   rpmdb-query --dbfile tests/fixtures/rpmdb/libuuid/Packages --files
#[derive(Parser)]
#[command(version, verbatim_doc_comment)]
struct Args {
    /// Root filesystem to read (the database is found as rpm finds it).
    #[arg(long, conflicts_with_all = ["dbfile", "images"])]
    root: Option<PathBuf>,
    /// A database file to read directly (Packages, rpmdb.sqlite or Packages.db).
    #[arg(long)]
    dbfile: Option<PathBuf>,
    /// Also list each package's files: path mode digest size user group flags.
    #[arg(long)]
    files: bool,
    /// With --image: end each package line with the layer that installed it
    /// (` layer=N sha256:…`, 1 = the bottom layer).
    #[arg(long)]
    layers: bool,
    #[command(flatten)]
    image: ImageArgs,
}

fn main() -> ExitCode {
    atomic_protocol::memory::keep_freed_memory();
    let args = Args::parse();
    // An image's root stays alive while its database (a file in the image's spool) is read.
    let mut image_root: Option<Root> = None;
    let database = match (&args.root, &args.dbfile, args.image.images.as_slice()) {
        (Some(r), None, []) => Root::new(r)
            .map_err(|e| e.to_string())
            .and_then(|root| Database::locate(&root).map_err(|e| e.to_string())),
        (None, Some(f), []) => Database::open_file(f).map_err(|e| e.to_string()),
        (None, None, [reference]) => atomic_protocol::image::open(reference, &args.image, false)
            .map_err(|e| e.to_string())
            .and_then(|opened| {
                let db = Database::locate(&opened.root).map_err(|e| format!("{reference}: {e}"));
                image_root = Some(opened.root);
                db
            }),
        (None, None, [_, _, ..]) => Err("give one --image at a time".to_string()),
        _ => Err("give --root DIR, --image REF or --dbfile FILE".to_string()),
    };
    let database = match database {
        Ok(d) => d,
        Err(e) => {
            eprintln!("rpmdb-query: {e}");
            return ExitCode::from(2);
        }
    };
    let install_layers = match (&image_root, args.layers) {
        (Some(root), true) => InstallLayers::of(root),
        _ => None,
    };
    let tree = image_root.as_ref().and_then(|r| r.image()).cloned();
    let mut failed = false;
    let mut out = Output::new(std::io::stdout().lock());
    let mut installed = InstalledPackages::from_database(database);
    for pkg in installed.iter() {
        let p = match pkg {
            Ok(p) => p,
            Err(e) => {
                eprintln!("rpmdb-query: {e}");
                failed = true;
                continue;
            }
        };
        let line = out.line();
        line.extend_from_slice(p.name.as_bytes());
        line.push(b' ');
        match p.epoch {
            Some(epoch) => line.extend_from_slice(itoa::Buffer::new().format(epoch).as_bytes()),
            None => line.extend_from_slice(b"(none)"),
        }
        for field in [p.version.as_str(), p.release.as_str(), p.arch_or_none()] {
            line.push(b' ');
            line.extend_from_slice(field.as_bytes());
        }
        if let (Some(layers), Some(tree)) = (&install_layers, &tree) {
            match layers.layer_of(&p).and_then(|l| tree.layers().get(l)) {
                Some(l) => {
                    line.extend_from_slice(b" layer=");
                    line.extend_from_slice(itoa::Buffer::new().format(l.index + 1).as_bytes());
                    line.push(b' ');
                    line.extend_from_slice(l.digest.as_bytes());
                }
                None => line.extend_from_slice(b" layer=?"),
            }
        }
        line.push(b'\n');
        if args.files {
            match p.file_table() {
                Ok(files) => {
                    for i in 0..files.len() {
                        write_file_line(out.line(), &files, i);
                    }
                }
                Err(e) => {
                    eprintln!("rpmdb-query: {}: files: {e}", p.nvra());
                    failed = true;
                }
            }
        }
    }
    match out.finish() {
        // The reader went away (`rpmdb-query | head`): nothing more to say to anyone.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => {
            eprintln!("rpmdb-query: cannot write the listing: {e}");
            return ExitCode::from(2);
        }
        Ok(()) => {}
    }
    // An image's private folder is removed before the process ends.
    drop(tree);
    drop(image_root);
    // Exit here, without dropping the database: closing SQLite frees its schema and caches an
    // allocation at a time, work the kernel does at once when the process ends.
    std::process::exit(if failed { 1 } else { 0 })
}

/// Standard output, written in blocks: lines are built straight into the block (a listing
/// with files writes a line per file of the image). The first write error is kept and
/// reported at the end; nothing more is written after it.
struct Output<W: Write> {
    sink: W,
    block: Vec<u8>,
    error: Option<std::io::Error>,
}

impl<W: Write> Output<W> {
    const BLOCK: usize = 64 * 1024;

    fn new(sink: W) -> Self {
        Output {
            sink,
            block: Vec::with_capacity(Self::BLOCK + 4096),
            error: None,
        }
    }

    /// The block to append one line to; written out first when it is nearly full.
    fn line(&mut self) -> &mut Vec<u8> {
        if self.block.len() >= Self::BLOCK {
            self.flush();
        }
        &mut self.block
    }

    fn flush(&mut self) {
        if self.error.is_none() {
            if let Err(e) = self.sink.write_all(&self.block) {
                self.error = Some(e);
            }
        }
        self.block.clear();
    }

    fn finish(mut self) -> std::io::Result<()> {
        self.flush();
        match self.error.take() {
            Some(e) => Err(e),
            None => self.sink.flush(),
        }
    }
}

/// `  path mode(octal) digest|- size user group flags`, built without the formatting machinery:
/// this line is written once per file of the image.
fn write_file_line(line: &mut Vec<u8>, files: &FileTable<'_>, i: usize) {
    let mut numbers = itoa::Buffer::new();
    line.extend_from_slice(b"  ");
    files.write_path(i, line);
    line.push(b' ');
    push_octal(line, files.mode(i) as u32);
    line.push(b' ');
    match files.digest(i) {
        [] => line.push(b'-'),
        digest => line.extend_from_slice(digest),
    }
    line.push(b' ');
    line.extend_from_slice(numbers.format(files.size(i)).as_bytes());
    line.push(b' ');
    line.extend_from_slice(files.user(i));
    line.push(b' ');
    line.extend_from_slice(files.group(i));
    line.push(b' ');
    line.extend_from_slice(numbers.format(files.flags(i).0).as_bytes());
    line.push(b'\n');
}

fn push_octal(line: &mut Vec<u8>, mut value: u32) {
    let mut digits = [0u8; 11];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value & 7) as u8;
        value >>= 3;
        if value == 0 {
            break;
        }
    }
    line.extend_from_slice(&digits[at..]);
}
