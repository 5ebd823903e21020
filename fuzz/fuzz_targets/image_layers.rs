//! An image's layers applied in memory: the input is cut into one to three tar streams, built
//! into a tree (whiteouts, hard links, symlinked parents, PAX headers), then every path is
//! looked up, listed and (when regular) read, as scanners would.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rootfs::image::{BuildOptions, ImageTree, LayerInfo, LayerSource, LayerStream};
use rootfs::Root;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

struct Layers(Vec<Vec<u8>>);

impl LayerSource for Layers {
    fn open(&self, index: usize) -> io::Result<LayerStream> {
        Ok(LayerStream::Tar(Box::new(io::Cursor::new(self.0[index].clone()))))
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    let count = usize::from(first % 3) + 1;
    let size = rest.len().div_ceil(count).max(1);
    let layers: Vec<Vec<u8>> = rest.chunks(size).map(<[u8]>::to_vec).collect();
    let infos = (0..layers.len())
        .map(|index| LayerInfo { index, digest: format!("layer{index}"), created_by: None })
        .collect();
    let options = BuildOptions { hash: true, threads: 1, max_nodes: 100_000, ..BuildOptions::default() };
    let Ok(tree) = ImageTree::build("fuzz", infos, Arc::new(Layers(layers)), &options) else { return };
    let root = Root::from_image(Arc::new(tree));
    let mut stack = vec![PathBuf::from("/")];
    let mut visited = 0;
    while let Some(dir) = stack.pop() {
        visited += 1;
        if visited > 10_000 {
            break;
        }
        let Ok(names) = root.read_dir_names(&dir) else { continue };
        for name in names {
            let path = dir.join(name);
            let _ = root.resolve(&path, true);
            let _ = root.read_link(&path);
            let tree = root.image().unwrap();
            let _ = tree.writer_of(&path);
            let _ = tree.remover_of(Path::new(&path));
            if let Ok(meta) = root.symlink_metadata(&path) {
                if meta.is_dir() {
                    stack.push(path);
                } else if meta.is_file() {
                    let _ = root.read_bounded(&path, 1 << 16);
                }
            }
        }
    }
});
