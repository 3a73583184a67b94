//! Icon images: every icon is drawn as a deterministic PNG (a filled rounded square in the
//! icon's colour), so backups can carry real image bytes.

/// Encodes a `size`×`size` RGBA PNG of the icon colour.
pub fn png(rgb: [u8; 3], size: u32) -> Vec<u8> {
    let mut pixels = Vec::with_capacity((size * size * 4) as usize);
    let r = size as i64;
    let corner = (r / 5).max(1);
    for y in 0..r {
        for x in 0..r {
            let dx = (corner - x).max(x - (r - 1 - corner)).max(0);
            let dy = (corner - y).max(y - (r - 1 - corner)).max(0);
            let inside = dx * dx + dy * dy <= corner * corner;
            pixels.extend_from_slice(&[rgb[0], rgb[1], rgb[2], if inside { 255 } else { 0 }]);
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, size, size);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        // Writing into a Vec cannot fail for a well-formed image of this size.
        if let Ok(mut w) = enc.write_header() {
            let _ = w.write_image_data(&pixels);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn draws_a_valid_png() {
        let bytes = super::png([10, 20, 30], 16);
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let dec = png::Decoder::new(std::io::Cursor::new(bytes));
        let reader = dec.read_info().expect("decodes");
        assert_eq!((reader.info().width, reader.info().height), (16, 16));
    }
}
