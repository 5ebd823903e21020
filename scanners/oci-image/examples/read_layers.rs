//! Open an image and read every layer to the end (all checks on), printing sizes and the
//! time taken: `cargo run --release -p oci-image --example read_layers -- REF [PLATFORM]`.
use std::io::Read;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let reference = args.next().ok_or("usage: read_layers REF [os/arch]")?;
    let mut options = oci_image::PullOptions::default();
    if let Some(p) = args.next() {
        options.platform = Some(oci_image::Platform::parse(&p)?);
    }
    let start = Instant::now();
    let image = oci_image::open(&reference, &options)?;
    println!(
        "{} {} {} ({} layers)",
        image.manifest_digest,
        image.config_digest,
        image.platform,
        image.layers.len()
    );
    let mut buf = vec![0u8; 256 * 1024];
    for layer in &image.layers {
        let t = Instant::now();
        match image.open_layer(layer.index)? {
            oci_image::LayerContent::Tar(mut r) => {
                let mut n = 0u64;
                loop {
                    let k = r.read(&mut buf)?;
                    if k == 0 {
                        break;
                    }
                    n += k as u64;
                }
                let s = t.elapsed().as_secs_f64();
                println!(
                    "layer {} {} {} -> {n} bytes in {s:.3}s ({:.0} MiB/s)",
                    layer.index,
                    layer.media_type,
                    layer.size.unwrap_or(0),
                    n as f64 / 1048576.0 / s
                );
            }
            oci_image::LayerContent::Dir(d) | oci_image::LayerContent::Snapshot(d) => {
                println!("layer {} dir {}", layer.index, d.display())
            }
        }
    }
    println!("total {:.3}s", start.elapsed().as_secs_f64());
    Ok(())
}
