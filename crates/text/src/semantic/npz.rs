//! Arrays of a NumPy `.npz` archive (a zip of `.npy` files): little-endian `f4`, `f8` and `u1`
//! arrays in C order, which is all the encoders' weight files hold.

use std::collections::HashMap;
use std::io::Read;

use super::SemanticError;

/// One array: its shape and its values widened to `f32` (`u1` arrays keep their bytes).
pub struct Array {
    pub shape: Vec<usize>,
    pub values: Values,
}

pub enum Values {
    F32(Vec<f32>),
    U8(Vec<u8>),
}

fn format(message: impl Into<String>) -> SemanticError {
    SemanticError::Format(message.into())
}

/// The value of `key` in the header's Python dict literal, e.g. `'descr': '<f4'`.
fn header_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}':"))? + key.len() + 3;
    let rest = header[at..].trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')')? + 1
    } else {
        rest.find([',', '}'])?
    };
    Some(rest[..end].trim())
}

/// Parses one `.npy` file.
pub fn parse_npy(data: &[u8]) -> Result<Array, SemanticError> {
    let bad = || format("not a .npy array");
    if data.get(..6) != Some(b"\x93NUMPY") {
        return Err(bad());
    }
    let major = *data.get(6).ok_or_else(bad)?;
    let (len, start) = match major {
        1 => (
            u16::from_le_bytes(
                data.get(8..10)
                    .ok_or_else(bad)?
                    .try_into()
                    .map_err(|_| bad())?,
            ) as usize,
            10,
        ),
        _ => (
            u32::from_le_bytes(
                data.get(8..12)
                    .ok_or_else(bad)?
                    .try_into()
                    .map_err(|_| bad())?,
            ) as usize,
            12,
        ),
    };
    let header =
        std::str::from_utf8(data.get(start..start + len).ok_or_else(bad)?).map_err(|_| bad())?;
    if header_value(header, "fortran_order") != Some("False") {
        return Err(format("Fortran-ordered arrays are not supported"));
    }
    let descr = header_value(header, "descr")
        .ok_or_else(bad)?
        .trim_matches('\'');
    let shape: Vec<usize> = header_value(header, "shape")
        .ok_or_else(bad)?
        .trim_matches(['(', ')'])
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let count: usize = shape.iter().product();
    let body = &data[start + len..];
    let values = match descr {
        "<f4" => Values::F32(
            body.get(..count * 4)
                .ok_or_else(bad)?
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        "<f8" => Values::F32(
            body.get(..count * 8)
                .ok_or_else(bad)?
                .chunks_exact(8)
                .map(|c| {
                    f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32
                })
                .collect(),
        ),
        "|u1" | "|i1" => Values::U8(body.get(..count).ok_or_else(bad)?.to_vec()),
        other => return Err(format(format!("unsupported array type {other}"))),
    };
    Ok(Array { shape, values })
}

/// Every array of an `.npz` archive, by name (without `.npy`).
pub fn read_npz(bytes: &[u8]) -> Result<HashMap<String, Array>, SemanticError> {
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| format(e.to_string()))?;
    let mut arrays = HashMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).map_err(|e| format(e.to_string()))?;
        let name = file
            .name()
            .map_err(|e| format(e.to_string()))?
            .trim_end_matches(".npy")
            .to_owned();
        let mut data = Vec::with_capacity(file.size() as usize);
        file.read_to_end(&mut data)?;
        arrays.insert(name, parse_npy(&data)?);
    }
    Ok(arrays)
}
