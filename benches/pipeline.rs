// Four compute steps per record, shared by batch.rs and callgrind.rs (`include!`d).

/// One input record.
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    pub sensor: u32,
    pub raw: i64,
}

#[node(compute)]
fn parse(r: &Reading) -> (u32, f64) {
    (r.sensor, r.raw as f64 / 100.0)
}

#[node(compute)]
fn calibrate(p: &(u32, f64)) -> (u32, f64) {
    (p.0, p.1 * 1.8 + 32.0)
}

#[node(compute)]
fn clamp(p: &(u32, f64)) -> (u32, f64) {
    (p.0, p.1.clamp(-40.0, 140.0))
}

#[node(compute)]
fn bucket(p: &(u32, f64)) -> u64 {
    (u64::from(p.0) << 16) | (p.1 + 40.0) as u64
}

workflow! {
    /// Four compute steps per record.
    pub workflow Pipeline(r: Reading) -> u64 {
        parsed = parse(r);
        calibrated = calibrate(parsed);
        clamped = clamp(calibrated);
        key = bucket(clamped);
        return key;
    }
}
