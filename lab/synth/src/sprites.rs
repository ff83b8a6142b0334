//! Player cut-outs from the Roboflow football frames (CC BY 4.0): crops of labelled boxes with
//! the grass keyed out, grouped by role, and players split into two teams by kit colour.
//!
//! The dataset's frames are 1920x1080 broadcast frames stretched to 1280x1280, so every crop is
//! un-stretched (width x 1.5, height x 0.84375) through its recorded aspect ratio.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Dataset class ids (data.yaml: football, goalkeeper, player, referee).
const CLASS_GOALKEEPER: u32 = 1;
const CLASS_PLAYER: u32 = 2;
const CLASS_REFEREE: u32 = 3;
/// The stretch Roboflow applied: 1920 -> 1280 wide, 1080 -> 1280 high.
const UNSTRETCH_X: f32 = 1920.0 / 1280.0;
const UNSTRETCH_Y: f32 = 1080.0 / 1280.0;

/// One cut-out: RGBA pixels (alpha 0 where grass was), and its true aspect ratio.
#[derive(Clone, Debug)]
pub struct Sprite {
    /// Width in stored pixels.
    pub width: u32,
    /// Height in stored pixels.
    pub height: u32,
    /// RGBA, row-major.
    pub rgba: Vec<u8>,
    /// True width / height of the person (after undoing the dataset's stretch).
    pub aspect: f32,
}

impl Sprite {
    /// Opaque pixels.
    pub fn opaque_pixels(&self) -> usize {
        self.rgba.chunks_exact(4).filter(|p| p[3] > 127).count()
    }

    /// Mean colour of the opaque pixels in the upper part (the shirt).
    fn shirt_colour(&self) -> [f32; 3] {
        let mut sum = [0.0f32; 3];
        let mut n = 0.0f32;
        let rows = (self.height as f32 * 0.55) as u32;
        for y in (self.height / 6)..rows.max(1) {
            for x in 0..self.width {
                let i = ((y * self.width + x) * 4) as usize;
                if self.rgba[i + 3] > 127 {
                    for (c, total) in sum.iter_mut().enumerate() {
                        *total += self.rgba[i + c] as f32;
                    }
                    n += 1.0;
                }
            }
        }
        if n == 0.0 { [0.0; 3] } else { [sum[0] / n, sum[1] / n, sum[2] / n] }
    }
}

/// Cut-outs by role, as the renderer uses them.
#[derive(Clone, Debug, Default)]
pub struct SpriteBank {
    /// Team A outfield kit.
    pub team_a: Vec<Sprite>,
    /// Team B outfield kit.
    pub team_b: Vec<Sprite>,
    /// Goalkeepers.
    pub goalkeepers: Vec<Sprite>,
    /// Referees.
    pub referees: Vec<Sprite>,
    /// The source frames' video id the team kits came from.
    pub kit_source: String,
}

/// Why the sprites could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SpriteError {
    /// The dataset folder is missing or unreadable.
    #[error("cannot read the Roboflow dataset at {path}: {message}")]
    Dataset {
        /// Folder.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// Too few usable cut-outs.
    #[error("too few usable cut-outs in {0} (need two kits of 3 players, a goalkeeper and a referee)")]
    TooFew(PathBuf),
}

/// Whether a pixel is pitch grass (green-dominant) or a white pitch line on grass.
fn is_background(r: u8, g: u8, b: u8) -> bool {
    let (r, g, b) = (r as i32, g as i32, b as i32);
    g > r + 6 && g > b + 6
}

fn decode_jpeg(path: &Path) -> Result<(u32, u32, Vec<u8>), String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut dec = jpeg_decoder::Decoder::new(std::io::BufReader::new(file));
    let pixels = dec.decode().map_err(|e| e.to_string())?;
    let info = dec.info().ok_or("no image info")?;
    if info.pixel_format != jpeg_decoder::PixelFormat::RGB24 {
        return Err(format!("unsupported pixel format {:?}", info.pixel_format));
    }
    Ok((info.width as u32, info.height as u32, pixels))
}

fn crop(img: &(u32, u32, Vec<u8>), cx: f32, cy: f32, w: f32, h: f32) -> Option<Sprite> {
    let (iw, ih, px) = img;
    let x0 = ((cx - w / 2.0) * *iw as f32).floor().max(0.0) as u32;
    let y0 = ((cy - h / 2.0) * *ih as f32).floor().max(0.0) as u32;
    let x1 = (((cx + w / 2.0) * *iw as f32).ceil() as u32).min(*iw);
    let y1 = (((cy + h / 2.0) * *ih as f32).ceil() as u32).min(*ih);
    if x1 <= x0 + 4 || y1 <= y0 + 10 {
        return None;
    }
    let (sw, sh) = (x1 - x0, y1 - y0);
    let mut rgba = Vec::with_capacity((sw * sh * 4) as usize);
    for y in y0..y1 {
        for x in x0..x1 {
            let i = ((y * iw + x) * 3) as usize;
            let (r, g, b) = (px[i], px[i + 1], px[i + 2]);
            rgba.extend_from_slice(&[r, g, b, if is_background(r, g, b) { 0 } else { 255 }]);
        }
    }
    let aspect = (sw as f32 * UNSTRETCH_X) / (sh as f32 * UNSTRETCH_Y);
    let s = Sprite { width: sw, height: sh, rgba, aspect };
    // A cut-out that is mostly grass (the keying ate the player) is useless.
    (s.opaque_pixels() as f32 > 0.25 * (sw * sh) as f32).then_some(s)
}

/// Loads cut-outs from `dataset/train` (images + YOLO labels). Only boxes at least
/// `min_height_px` tall (in the 1280x1280 frames) are used.
pub fn load(dataset: &Path, min_height_px: f32) -> Result<SpriteBank, SpriteError> {
    let images = dataset.join("train/images");
    let labels = dataset.join("train/labels");
    let err = |e: std::io::Error| SpriteError::Dataset { path: images.clone(), message: e.to_string() };
    let mut names: Vec<PathBuf> = std::fs::read_dir(&images).map_err(err)?.flatten().map(|e| e.path()).collect();
    names.sort();
    // Players grouped by source video (the file name prefix) so each team's kit is consistent.
    let mut players: BTreeMap<String, Vec<Sprite>> = BTreeMap::new();
    let mut bank = SpriteBank::default();
    for img_path in names {
        let Some(stem) = img_path.file_stem().and_then(|s| s.to_str()) else { continue };
        let video = stem.split('_').next().unwrap_or("").to_string();
        let Ok(text) = std::fs::read_to_string(labels.join(format!("{stem}.txt"))) else { continue };
        let mut img = None;
        for line in text.lines() {
            let f: Vec<f32> = line.split_whitespace().filter_map(|t| t.parse().ok()).collect();
            if f.len() != 5 || f[4] * 1280.0 < min_height_px {
                continue;
            }
            let class = f[0] as u32;
            if ![CLASS_GOALKEEPER, CLASS_PLAYER, CLASS_REFEREE].contains(&class) {
                continue;
            }
            if img.is_none() {
                img = decode_jpeg(&img_path).ok();
            }
            let Some(image) = &img else { break };
            let Some(sprite) = crop(image, f[1], f[2], f[3], f[4]) else { continue };
            match class {
                CLASS_PLAYER => players.entry(video.clone()).or_default().push(sprite),
                CLASS_GOALKEEPER => bank.goalkeepers.push(sprite),
                _ => bank.referees.push(sprite),
            }
        }
    }
    // The video with the most player crops gives both kits: split by shirt colour (2-means).
    let mut videos: Vec<(String, Vec<Sprite>)> = players.into_iter().collect();
    videos.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    for (video, sprites) in videos {
        let (a, b) = split_kits(sprites);
        if a.len() >= 3 && b.len() >= 3 {
            bank.team_a = a;
            bank.team_b = b;
            bank.kit_source = video;
            break;
        }
    }
    if bank.team_a.is_empty() || bank.goalkeepers.is_empty() || bank.referees.is_empty() {
        return Err(SpriteError::TooFew(dataset.to_path_buf()));
    }
    Ok(bank)
}

/// Splits players into two kits by 2-means clustering of shirt colour; the smaller, odd-coloured
/// remainder (a third kit, a mislabelled referee) is dropped by keeping only tight members.
fn split_kits(sprites: Vec<Sprite>) -> (Vec<Sprite>, Vec<Sprite>) {
    let colours: Vec<[f32; 3]> = sprites.iter().map(|s| s.shirt_colour()).collect();
    let luma = |c: &[f32; 3]| 0.3 * c[0] + 0.59 * c[1] + 0.11 * c[2];
    // Initialise with the darkest and brightest shirts.
    let (mut ca, mut cb) = (colours[0], colours[0]);
    for c in &colours {
        if luma(c) < luma(&ca) {
            ca = *c;
        }
        if luma(c) > luma(&cb) {
            cb = *c;
        }
    }
    let dist = |a: &[f32; 3], b: &[f32; 3]| (0..3).map(|i| (a[i] - b[i]).powi(2)).sum::<f32>();
    let mut assign = vec![0u8; colours.len()];
    for _ in 0..10 {
        for (i, c) in colours.iter().enumerate() {
            assign[i] = if dist(c, &ca) <= dist(c, &cb) { 0 } else { 1 };
        }
        for (k, centre) in [&mut ca, &mut cb].into_iter().enumerate() {
            let members: Vec<&[f32; 3]> =
                colours.iter().zip(&assign).filter(|(_, a)| **a as usize == k).map(|(c, _)| c).collect();
            if !members.is_empty() {
                for ch in 0..3 {
                    centre[ch] = members.iter().map(|m| m[ch]).sum::<f32>() / members.len() as f32;
                }
            }
        }
    }
    let spread = |k: u8, centre: &[f32; 3]| {
        let d: Vec<f32> = colours.iter().zip(&assign).filter(|(_, a)| **a == k).map(|(c, _)| dist(c, centre)).collect();
        let mut s = d.clone();
        s.sort_by(f32::total_cmp);
        s.get(s.len() * 3 / 4).copied().unwrap_or(0.0)
    };
    let (la, lb) = (spread(0, &ca), spread(1, &cb));
    let mut a = Vec::new();
    let mut b = Vec::new();
    for ((s, c), k) in sprites.into_iter().zip(&colours).zip(&assign) {
        if *k == 0 && dist(c, &ca) <= la {
            a.push(s);
        } else if *k == 1 && dist(c, &cb) <= lb {
            b.push(s);
        }
    }
    (a, b)
}
